-- AI API calls (issue 14): one row per `aibom.api.call` record, a process calling a hosted AI
-- API (OpenAI, Anthropic, Gemini...) or a local inference server (Ollama, vLLM...), with the
-- provider, server, model and operation the kernel saw and how many calls the record folds.
-- Kept apart from runtime_events (no file, no artifact): what GET .../api-calls lists, the
-- summary's `api_calls` counts, the AI-BOM's services and the "AI APIs called" panel read.
-- Filled by runtime_api_calls_mv from the collector's logs table (the SELECT the view and the
-- backfill share is runtime_api_calls.select.sql). Retention: --ttl-days, as runtime_events.
CREATE TABLE IF NOT EXISTS {{db}}.runtime_api_calls
(
    project_id LowCardinality(String),
    time DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    event_id UInt64,
    api_provider LowCardinality(String),
    gen_ai_provider_name LowCardinality(String),
    gen_ai_request_model LowCardinality(String),
    gen_ai_response_model LowCardinality(String),
    gen_ai_operation_name LowCardinality(String),
    server_address LowCardinality(String),
    server_port UInt16,
    url_path String CODEC(ZSTD(1)),
    http_request_method LowCardinality(String),
    http_response_status_code UInt16,
    api_seen_by LowCardinality(String),
    api_count UInt64,
    api_tls_library LowCardinality(String),
    gen_ai_usage_input_tokens Nullable(UInt64),
    gen_ai_usage_output_tokens Nullable(UInt64),
    process_pid UInt32,
    process_executable_name LowCardinality(String),
    process_executable_path String CODEC(ZSTD(1)),
    process_command_line String CODEC(ZSTD(3)),
    process_owner LowCardinality(String),
    container_id String CODEC(ZSTD(1)),
    k8s_pod_name String CODEC(ZSTD(1)),
    k8s_namespace_name LowCardinality(String),
    tracer LowCardinality(String),
    scan_id String CODEC(ZSTD(1)),
    host_name LowCardinality(String),
    service_instance_id String CODEC(ZSTD(1))
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (project_id, time, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.runtime_api_calls_mv TO {{db}}.runtime_api_calls AS
{{sql:runtime_api_calls.select}};

-- Backfill from the raw rows still kept (idempotent: empty first, then fill).
TRUNCATE TABLE IF EXISTS {{db}}.runtime_api_calls;

INSERT INTO {{db}}.runtime_api_calls
{{sql:runtime_api_calls.select}};

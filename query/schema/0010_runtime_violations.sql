-- Policy violations (aibomd --policy): one row per `aibom.policy.violation` record, with the
-- attributes of the access it judged and the verdict. Kept apart from runtime_events, so the
-- event list, the summary's counts and runtime_artifacts stay what they were; what
-- GET .../violations lists, the summary counts and the AI-BOM marks. Filled by
-- runtime_violations_mv from the collector's logs table (the SELECT the view and the backfill
-- share is runtime_violations.select.sql). Retention: --ttl-days, as runtime_events.
CREATE TABLE IF NOT EXISTS {{db}}.runtime_violations
(
    project_id LowCardinality(String),
    time DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    event_id UInt64,
    policy_rule LowCardinality(String),
    policy_action LowCardinality(String),
    policy_severity LowCardinality(String),
    policy_enforced Bool,
    artifact_id String CODEC(ZSTD(1)),
    artifact_name String CODEC(ZSTD(1)),
    artifact_type LowCardinality(String),
    artifact_role LowCardinality(String),
    artifact_format LowCardinality(String),
    artifact_provider LowCardinality(String),
    artifact_license LowCardinality(String),
    artifact_revision String CODEC(ZSTD(1)),
    artifact_sha256 String CODEC(ZSTD(1)),
    file_path String CODEC(ZSTD(1)),
    access_mode LowCardinality(String),
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

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.runtime_violations_mv TO {{db}}.runtime_violations AS
{{sql:runtime_violations.select}};

-- Backfill from the raw rows still kept (idempotent: empty first, then fill).
TRUNCATE TABLE IF EXISTS {{db}}.runtime_violations;

INSERT INTO {{db}}.runtime_violations
{{sql:runtime_violations.select}};

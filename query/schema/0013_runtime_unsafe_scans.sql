-- Unsafe serialization: one row per `aibom.artifact.identified` record of a pickle-based
-- file aibomd scanned for dangerous imports (`aibom.artifact.unsafe` set, or the scan
-- stopped early), with its verdict. Kept apart from runtime_events (whose views stay as
-- deployed); what the summary's `unsafe_artifacts`, the AI-BOM marks and the Grafana panel
-- "Unsafe serialized models" read. Filled by runtime_unsafe_scans_mv from the collector's
-- logs table (the SELECT the view and the backfill share is runtime_unsafe_scans.select.sql).
-- artifact_unsafe is NULL when the scan stopped early without finding a dangerous callable
-- (unknown, never "safe"). Retention: --ttl-days, as runtime_events.
CREATE TABLE IF NOT EXISTS {{db}}.runtime_unsafe_scans
(
    project_id LowCardinality(String),
    time DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    event_id UInt64,
    file_path String CODEC(ZSTD(1)),
    artifact_id String CODEC(ZSTD(1)),
    artifact_name String CODEC(ZSTD(1)),
    artifact_type LowCardinality(String),
    artifact_format LowCardinality(String),
    artifact_provider LowCardinality(String),
    artifact_sha256 String CODEC(ZSTD(1)),
    artifact_unsafe Nullable(Bool),
    artifact_unsafe_reason String CODEC(ZSTD(1)),
    artifact_unsafe_scan_error String CODEC(ZSTD(1)),
    process_pid UInt32,
    process_executable_name LowCardinality(String),
    container_id String CODEC(ZSTD(1)),
    host_name LowCardinality(String),
    service_instance_id String CODEC(ZSTD(1))
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (project_id, time, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.runtime_unsafe_scans_mv TO {{db}}.runtime_unsafe_scans AS
{{sql:runtime_unsafe_scans.select}};

-- Backfill from the raw rows still kept (idempotent: empty first, then fill).
TRUNCATE TABLE IF EXISTS {{db}}.runtime_unsafe_scans;

INSERT INTO {{db}}.runtime_unsafe_scans
{{sql:runtime_unsafe_scans.select}};

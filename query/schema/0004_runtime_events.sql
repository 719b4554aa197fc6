-- One row per runtime event of a project: what the sidecar serves. Typed, so queries never
-- depend on the collector's table layout. Absent attributes are '' (or NULL for numbers
-- where 0 is a real value). Filled only by runtime_events_mv. Retention: --ttl-days.
CREATE TABLE IF NOT EXISTS {{db}}.runtime_events
(
    project_id LowCardinality(String),
    time DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    event_id UInt64,
    event_name LowCardinality(String),
    artifact_id String CODEC(ZSTD(1)),
    artifact_name String CODEC(ZSTD(1)),
    artifact_type LowCardinality(String),
    artifact_role LowCardinality(String),
    artifact_format LowCardinality(String),
    artifact_format_mismatch LowCardinality(String),
    artifact_provider LowCardinality(String),
    artifact_license LowCardinality(String),
    artifact_revision String CODEC(ZSTD(1)),
    artifact_sha256 String CODEC(ZSTD(1)),
    file_path String CODEC(ZSTD(1)),
    file_size Nullable(UInt64),
    access_mode LowCardinality(String),
    access_count UInt64,
    process_pid UInt32,
    process_parent_pid Nullable(UInt32),
    process_executable_name LowCardinality(String),
    process_executable_path String CODEC(ZSTD(1)),
    process_owner LowCardinality(String),
    container_id String CODEC(ZSTD(1)),
    k8s_pod_name String CODEC(ZSTD(1)),
    k8s_namespace_name LowCardinality(String),
    tracer LowCardinality(String),
    scan_id String CODEC(ZSTD(1)),
    host_name LowCardinality(String),
    service_instance_id String CODEC(ZSTD(1)),
    INDEX idx_artifact_id artifact_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_artifact_name artifact_name TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_sha256 artifact_sha256 TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_exe process_executable_name TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scan scan_id TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (project_id, time, event_id);

-- ==== 0001_otel_logs.sql
-- The collector's logs table, created exactly as rotel-agent's ClickHouse exporter writes it:
-- rotel never creates tables. Source: streamfold/rotel v0.0.1-alpha25 (the pip wheel
-- rotel 0.0.1a15 ships a build between alpha20 and alpha25 that reports "0.0.1-alpha10":
-- rotel's version string was not bumped from alpha10 to alpha26; the logs columns are the
-- same in all of them), src/bin/clickhouse-ddl/ddl_logs.rs with Map attribute columns (the
-- default, not --clickhouse-exporter-enable-json). rotel inserts
--   INSERT INTO <prefix>_logs (Timestamp, TraceId, SpanId, TraceFlags, SeverityText,
--     SeverityNumber, ServiceName, Body, ResourceSchemaUrl, ResourceAttributes, ScopeSchemaUrl,
--     ScopeName, ScopeVersion, ScopeAttributes, LogAttributes) FORMAT RowBinary
-- TimestampTime is filled by its DEFAULT. EventName is ours: this rotel drops the OTLP event
-- name; newer rotel and otelcol-contrib exporters write it; the default keeps inserts valid.
-- Retention: aibom-query --migrate sets `TTL` from --raw-ttl-days.
CREATE TABLE IF NOT EXISTS `aibom`.`otel_logs`
(
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TimestampTime DateTime DEFAULT toDateTime(Timestamp),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    TraceFlags UInt8,
    SeverityText LowCardinality(String) CODEC(ZSTD(1)),
    SeverityNumber UInt8,
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    Body String CODEC(ZSTD(1)),
    ResourceSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion LowCardinality(String) CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    LogAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    EventName LowCardinality(String) DEFAULT '' CODEC(ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_body Body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
)
ENGINE = MergeTree
PARTITION BY toDate(TimestampTime)
PRIMARY KEY (ServiceName, TimestampTime)
ORDER BY (ServiceName, TimestampTime, Timestamp)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

-- A logs table created earlier by another tool may lack EventName: the view below reads it.
ALTER TABLE `aibom`.`otel_logs` ADD COLUMN IF NOT EXISTS EventName LowCardinality(String) DEFAULT '';

-- ==== 0002_otel_traces.sql
-- The collector's traces table (aibomd's workload and process spans), exactly as rotel-agent's
-- ClickHouse exporter writes it (rotel never creates tables). Source: streamfold/rotel
-- v0.0.1-alpha25, src/bin/clickhouse-ddl/ddl_traces.rs with Map attribute columns; inserted
-- columns (src/exporters/clickhouse/schema.rs get_span_row_col_keys): Timestamp, TraceId,
-- SpanId, ParentSpanId, TraceState, SpanName, SpanKind, ServiceName, ResourceAttributes,
-- ScopeName, ScopeVersion, SpanAttributes, Duration, StatusCode, StatusMessage,
-- Events.Timestamp, Events.Name, Events.Attributes, Links.TraceId, Links.SpanId,
-- Links.TraceState, Links.Attributes. The TTL is set by --migrate (--raw-ttl-days).
CREATE TABLE IF NOT EXISTS `aibom`.`otel_traces` (
    Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1
) ENGINE = MergeTree
PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp))
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

-- ==== 0003_otel_metrics.sql
-- The collector's metrics tables, exactly as rotel-agent's ClickHouse exporter writes them
-- (rotel never creates tables). Source: streamfold/rotel v0.0.1-alpha25,
-- src/bin/clickhouse-ddl/ddl_metrics.rs with Map attribute columns (the exporter's default,
-- not --clickhouse-exporter-enable-json); inserted columns: src/exporters/clickhouse/schema.rs
-- get_metrics_*_row_col_keys. The TTL is set by aibom-query --migrate (--raw-ttl-days).

CREATE TABLE IF NOT EXISTS `aibom`.`otel_metrics_sum` (
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ResourceSchemaUrl String CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeDroppedAttrCount UInt32 CODEC(ZSTD(1)),
    ScopeSchemaUrl String CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    MetricName String CODEC(ZSTD(1)),
    MetricDescription String CODEC(ZSTD(1)),
    MetricUnit String CODEC(ZSTD(1)),
    Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    StartTimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    TimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    Value Float64 CODEC(ZSTD(1)),
    Flags UInt32  CODEC(ZSTD(1)),
    Exemplars Nested (
        FilteredAttributes Map(LowCardinality(String), String),
        TimeUnix DateTime64(9),
        Value Float64,
        SpanId String,
        TraceId String
    ) CODEC(ZSTD(1)),
    AggregationTemporality Int32 CODEC(ZSTD(1)),
    IsMonotonic Boolean CODEC(Delta, ZSTD(1)),
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = MergeTree
PARTITION BY toDate(TimeUnix)
ORDER BY (ServiceName, MetricName  , Attributes  , toUnixTimestamp64Nano(TimeUnix))
SETTINGS index_granularity=8192, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS `aibom`.`otel_metrics_gauge` (
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ResourceSchemaUrl String CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeDroppedAttrCount UInt32 CODEC(ZSTD(1)),
    ScopeSchemaUrl String CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    MetricName String CODEC(ZSTD(1)),
    MetricDescription String CODEC(ZSTD(1)),
    MetricUnit String CODEC(ZSTD(1)),
    Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    StartTimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    TimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    Value Float64 CODEC(ZSTD(1)),
    Flags UInt32 CODEC(ZSTD(1)),
    Exemplars Nested (
        FilteredAttributes Map(LowCardinality(String), String),
        TimeUnix DateTime64(9),
        Value Float64,
        SpanId String,
        TraceId String
    ) CODEC(ZSTD(1)),
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = MergeTree
PARTITION BY toDate(TimeUnix)
ORDER BY (ServiceName, MetricName  , Attributes  , toUnixTimestamp64Nano(TimeUnix))
SETTINGS index_granularity=8192, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS `aibom`.`otel_metrics_histogram` (
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ResourceSchemaUrl String CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeDroppedAttrCount UInt32 CODEC(ZSTD(1)),
    ScopeSchemaUrl String CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    MetricName String CODEC(ZSTD(1)),
    MetricDescription String CODEC(ZSTD(1)),
    MetricUnit String CODEC(ZSTD(1)),
    Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    StartTimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    TimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    Count UInt64 CODEC(Delta, ZSTD(1)),
    Sum Float64 CODEC(ZSTD(1)),
    BucketCounts Array(UInt64) CODEC(ZSTD(1)),
    ExplicitBounds Array(Float64) CODEC(ZSTD(1)),
    Exemplars Nested (
        FilteredAttributes Map(LowCardinality(String), String),
        TimeUnix DateTime64(9),
        Value Float64,
        SpanId String,
        TraceId String
    ) CODEC(ZSTD(1)),
    Flags UInt32 CODEC(ZSTD(1)),
    Min Float64 CODEC(ZSTD(1)),
    Max Float64 CODEC(ZSTD(1)),
        AggregationTemporality Int32 CODEC(ZSTD(1)),
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = MergeTree
PARTITION BY toDate(TimeUnix)
ORDER BY (ServiceName, MetricName  , Attributes  , toUnixTimestamp64Nano(TimeUnix))
SETTINGS index_granularity=8192, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS `aibom`.`otel_metrics_exponential_histogram` (
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ResourceSchemaUrl String CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeDroppedAttrCount UInt32 CODEC(ZSTD(1)),
    ScopeSchemaUrl String CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    MetricName String CODEC(ZSTD(1)),
    MetricDescription String CODEC(ZSTD(1)),
    MetricUnit String CODEC(ZSTD(1)),
    Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    StartTimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    TimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    Count UInt64 CODEC(Delta, ZSTD(1)),
    Sum Float64 CODEC(ZSTD(1)),
    Scale Int32 CODEC(ZSTD(1)),
    ZeroCount UInt64 CODEC(ZSTD(1)),
    PositiveOffset Int32 CODEC(ZSTD(1)),
    PositiveBucketCounts Array(UInt64) CODEC(ZSTD(1)),
    NegativeOffset Int32 CODEC(ZSTD(1)),
    NegativeBucketCounts Array(UInt64) CODEC(ZSTD(1)),
    Exemplars Nested (
        FilteredAttributes Map(LowCardinality(String), String),
        TimeUnix DateTime64(9),
        Value Float64,
        SpanId String,
        TraceId String
    ) CODEC(ZSTD(1)),
    Flags UInt32  CODEC(ZSTD(1)),
    Min Float64 CODEC(ZSTD(1)),
    Max Float64 CODEC(ZSTD(1)),
        AggregationTemporality Int32 CODEC(ZSTD(1)),
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = MergeTree
PARTITION BY toDate(TimeUnix)
ORDER BY (ServiceName, MetricName  , Attributes  , toUnixTimestamp64Nano(TimeUnix))
SETTINGS index_granularity=8192, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS `aibom`.`otel_metrics_summary` (
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ResourceSchemaUrl String CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeDroppedAttrCount UInt32 CODEC(ZSTD(1)),
    ScopeSchemaUrl String CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    MetricName String CODEC(ZSTD(1)),
    MetricDescription String CODEC(ZSTD(1)),
    MetricUnit String CODEC(ZSTD(1)),
    Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    StartTimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    TimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    Count UInt64 CODEC(Delta, ZSTD(1)),
    Sum Float64 CODEC(ZSTD(1)),
    ValueAtQuantiles Nested(
        Quantile Float64,
        Value Float64
    ) CODEC(ZSTD(1)),
    Flags UInt32  CODEC(ZSTD(1)),
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = MergeTree
PARTITION BY toDate(TimeUnix)
ORDER BY (ServiceName, MetricName  , Attributes  , toUnixTimestamp64Nano(TimeUnix))
SETTINGS index_granularity=8192, ttl_only_drop_parts = 1;

-- ==== 0004_runtime_events.sql
-- One row per runtime event of a project: what the sidecar serves. Typed, so queries never
-- depend on the collector's table layout. Absent attributes are '' (or NULL for numbers
-- where 0 is a real value). Filled only by runtime_events_mv. Retention: --ttl-days.
CREATE TABLE IF NOT EXISTS `aibom`.runtime_events
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

-- ==== 0005_runtime_events_mv.sql
-- Fills runtime_events from the collector's logs table as rows arrive. Reads only the
-- attribute maps, Timestamp and EventName, never columns that differ between exporters.
-- Placeholders (in double braces): attr.X, event.X, record.X are aibom-semconv constants,
-- names.X the resource names semconv lacks (query/src/names.rs), either:NAME the log
-- attribute NAME, else the resource attribute NAME (per-event context first).
-- Event name: the OTLP EventName when the exporter stores it, else the `event.name` log
-- attribute, else '' (the installed rotel drops it: see query/README.md on twins).
CREATE MATERIALIZED VIEW IF NOT EXISTS `aibom`.runtime_events_mv TO `aibom`.runtime_events AS
SELECT
    if(LogAttributes['aibom.project.id'] != '', LogAttributes['aibom.project.id'], ResourceAttributes['aibom.project.id']) AS project_id,
    Timestamp AS time,
    rand64() AS event_id,
    if(EventName != '', toString(EventName), LogAttributes['event.name']) AS event_name,
    LogAttributes['aibom.artifact.id'] AS artifact_id,
    LogAttributes['aibom.artifact.name'] AS artifact_name,
    LogAttributes['aibom.artifact.type'] AS artifact_type,
    LogAttributes['aibom.artifact.role'] AS artifact_role,
    LogAttributes['aibom.artifact.format'] AS artifact_format,
    LogAttributes['aibom.artifact.format_mismatch'] AS artifact_format_mismatch,
    LogAttributes['aibom.artifact.provider'] AS artifact_provider,
    LogAttributes['aibom.artifact.license'] AS artifact_license,
    LogAttributes['aibom.artifact.revision'] AS artifact_revision,
    LogAttributes['aibom.artifact.sha256'] AS artifact_sha256,
    if(LogAttributes['file.path'] != '', LogAttributes['file.path'], Body) AS file_path,
    toUInt64OrNull(LogAttributes['file.size']) AS file_size,
    LogAttributes['aibom.access.mode'] AS access_mode,
    ifNull(toUInt64OrNull(LogAttributes['aibom.access.count']), 1) AS access_count,
    toUInt32OrZero(LogAttributes['process.pid']) AS process_pid,
    toUInt32OrNull(LogAttributes['process.parent_pid']) AS process_parent_pid,
    LogAttributes['process.executable.name'] AS process_executable_name,
    LogAttributes['process.executable.path'] AS process_executable_path,
    LogAttributes['process.owner'] AS process_owner,
    if(LogAttributes['container.id'] != '', LogAttributes['container.id'], ResourceAttributes['container.id']) AS container_id,
    if(LogAttributes['k8s.pod.name'] != '', LogAttributes['k8s.pod.name'], ResourceAttributes['k8s.pod.name']) AS k8s_pod_name,
    if(LogAttributes['k8s.namespace.name'] != '', LogAttributes['k8s.namespace.name'], ResourceAttributes['k8s.namespace.name']) AS k8s_namespace_name,
    LogAttributes['aibom.tracer'] AS tracer,
    if(LogAttributes['aibom.scan.id'] != '', LogAttributes['aibom.scan.id'], ResourceAttributes['aibom.scan.id']) AS scan_id,
    if(LogAttributes['host.name'] != '', LogAttributes['host.name'], ResourceAttributes['host.name']) AS host_name,
    if(LogAttributes['service.instance.id'] != '', LogAttributes['service.instance.id'], ResourceAttributes['service.instance.id']) AS service_instance_id
FROM `aibom`.`otel_logs`
WHERE project_id != ''
  AND event_name IN ('aibom.artifact.access', 'aibom.artifact.identified', '');

-- ==== 0006_runtime_events_v2.sql
-- Typed columns for the container runtime and the Kubernetes pod uid, and a view that fills
-- them. Migrations 0004/0005 stay as deployed; this one adds to them. The view is replaced
-- (dropped, then created under a new name) because ClickHouse cannot add columns to a view's
-- SELECT in place: run --migrate before the collector starts writing (scripts/stack does),
-- since rows arriving between the two statements would not reach runtime_events.
ALTER TABLE `aibom`.runtime_events
    ADD COLUMN IF NOT EXISTS container_runtime_name LowCardinality(String) AFTER container_id,
    ADD COLUMN IF NOT EXISTS k8s_pod_uid String CODEC(ZSTD(1)) AFTER k8s_pod_name;

DROP VIEW IF EXISTS `aibom`.runtime_events_mv;

-- As 0005 (see there for the placeholders), plus the two columns above.
CREATE MATERIALIZED VIEW IF NOT EXISTS `aibom`.runtime_events_mv_v2 TO `aibom`.runtime_events AS
SELECT
    if(LogAttributes['aibom.project.id'] != '', LogAttributes['aibom.project.id'], ResourceAttributes['aibom.project.id']) AS project_id,
    Timestamp AS time,
    rand64() AS event_id,
    if(EventName != '', toString(EventName), LogAttributes['event.name']) AS event_name,
    LogAttributes['aibom.artifact.id'] AS artifact_id,
    LogAttributes['aibom.artifact.name'] AS artifact_name,
    LogAttributes['aibom.artifact.type'] AS artifact_type,
    LogAttributes['aibom.artifact.role'] AS artifact_role,
    LogAttributes['aibom.artifact.format'] AS artifact_format,
    LogAttributes['aibom.artifact.format_mismatch'] AS artifact_format_mismatch,
    LogAttributes['aibom.artifact.provider'] AS artifact_provider,
    LogAttributes['aibom.artifact.license'] AS artifact_license,
    LogAttributes['aibom.artifact.revision'] AS artifact_revision,
    LogAttributes['aibom.artifact.sha256'] AS artifact_sha256,
    if(LogAttributes['file.path'] != '', LogAttributes['file.path'], Body) AS file_path,
    toUInt64OrNull(LogAttributes['file.size']) AS file_size,
    LogAttributes['aibom.access.mode'] AS access_mode,
    ifNull(toUInt64OrNull(LogAttributes['aibom.access.count']), 1) AS access_count,
    toUInt32OrZero(LogAttributes['process.pid']) AS process_pid,
    toUInt32OrNull(LogAttributes['process.parent_pid']) AS process_parent_pid,
    LogAttributes['process.executable.name'] AS process_executable_name,
    LogAttributes['process.executable.path'] AS process_executable_path,
    LogAttributes['process.owner'] AS process_owner,
    if(LogAttributes['container.id'] != '', LogAttributes['container.id'], ResourceAttributes['container.id']) AS container_id,
    if(LogAttributes['container.runtime.name'] != '', LogAttributes['container.runtime.name'], ResourceAttributes['container.runtime.name']) AS container_runtime_name,
    if(LogAttributes['k8s.pod.name'] != '', LogAttributes['k8s.pod.name'], ResourceAttributes['k8s.pod.name']) AS k8s_pod_name,
    if(LogAttributes['k8s.pod.uid'] != '', LogAttributes['k8s.pod.uid'], ResourceAttributes['k8s.pod.uid']) AS k8s_pod_uid,
    if(LogAttributes['k8s.namespace.name'] != '', LogAttributes['k8s.namespace.name'], ResourceAttributes['k8s.namespace.name']) AS k8s_namespace_name,
    LogAttributes['aibom.tracer'] AS tracer,
    if(LogAttributes['aibom.scan.id'] != '', LogAttributes['aibom.scan.id'], ResourceAttributes['aibom.scan.id']) AS scan_id,
    if(LogAttributes['host.name'] != '', LogAttributes['host.name'], ResourceAttributes['host.name']) AS host_name,
    if(LogAttributes['service.instance.id'] != '', LogAttributes['service.instance.id'], ResourceAttributes['service.instance.id']) AS service_instance_id
FROM `aibom`.`otel_logs`
WHERE project_id != ''
  AND event_name IN ('aibom.artifact.access', 'aibom.artifact.identified', '');

-- ==== 0007_runtime_artifacts.sql
-- Per (project, file path, month) aggregates of runtime_events: what GET .../summary reads,
-- so its cost follows the number of artifacts, not of events. Filled by runtime_artifacts_mv
-- from every insert into runtime_events; DELETE .../events rebuilds the affected project's
-- months from runtime_events (query/src/routes/events.rs). Retention: a month's row goes
-- --ttl-days after the month ends, with its last events; so the summary may still count
-- events up to a month past their own expiry. Months, not days: a row per day multiplied the
-- per-row process sets the summary merges by 30 (2.4 s instead of 0.2 s at 10 M rows).
-- The SELECT the view, the backfill and the rebuild share is runtime_artifacts.select.sql.
--
-- accesses: sum of aibom.access.count over events named aibom.artifact.access. legacy: for
-- events without a name (old exporters), the set of (time, pid, count): an access and its
-- identified twin share all three, so summing the set counts the access once.
CREATE TABLE IF NOT EXISTS `aibom`.runtime_artifacts
(
    project_id LowCardinality(String),
    file_path String,
    month Date,
    events SimpleAggregateFunction(sum, UInt64),
    accesses SimpleAggregateFunction(sum, UInt64),
    legacy AggregateFunction(groupUniqArrayIf, Tuple(DateTime64(9, 'UTC'), UInt32, UInt64), UInt8),
    first_seen SimpleAggregateFunction(min, DateTime64(9, 'UTC')),
    last_seen SimpleAggregateFunction(max, DateTime64(9, 'UTC')),
    artifact_id AggregateFunction(argMaxIf, String, DateTime64(9, 'UTC'), UInt8),
    artifact_name AggregateFunction(argMaxIf, String, DateTime64(9, 'UTC'), UInt8),
    artifact_type AggregateFunction(argMaxIf, String, DateTime64(9, 'UTC'), UInt8),
    artifact_provider AggregateFunction(argMaxIf, String, DateTime64(9, 'UTC'), UInt8),
    artifact_license AggregateFunction(argMaxIf, String, DateTime64(9, 'UTC'), UInt8),
    artifact_format AggregateFunction(argMaxIf, String, DateTime64(9, 'UTC'), UInt8),
    artifact_format_mismatch AggregateFunction(argMaxIf, String, DateTime64(9, 'UTC'), UInt8),
    artifact_sha256 AggregateFunction(argMaxIf, String, DateTime64(9, 'UTC'), UInt8),
    processes AggregateFunction(groupUniqArray(10), Tuple(String, UInt32)),
    process_set AggregateFunction(uniqExact, String, UInt32)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(month)
ORDER BY (project_id, file_path, month);

CREATE MATERIALIZED VIEW IF NOT EXISTS `aibom`.runtime_artifacts_mv TO `aibom`.runtime_artifacts AS
SELECT
    project_id,
    file_path,
    toStartOfMonth(time) AS month,
    count() AS events,
    sumIf(access_count, event_name = 'aibom.artifact.access') AS accesses,
    groupUniqArrayStateIf((time, process_pid, access_count), event_name = '') AS legacy,
    min(time) AS first_seen,
    max(time) AS last_seen,
    argMaxIfState(toString(artifact_id), time, artifact_id != '') AS artifact_id,
    argMaxIfState(toString(artifact_name), time, artifact_name != '') AS artifact_name,
    argMaxIfState(toString(artifact_type), time, artifact_type != '') AS artifact_type,
    argMaxIfState(toString(artifact_provider), time, artifact_provider != '') AS artifact_provider,
    argMaxIfState(toString(artifact_license), time, artifact_license != '') AS artifact_license,
    argMaxIfState(toString(artifact_format), time, artifact_format != '') AS artifact_format,
    argMaxIfState(toString(artifact_format_mismatch), time, artifact_format_mismatch != '') AS artifact_format_mismatch,
    argMaxIfState(toString(artifact_sha256), time, artifact_sha256 != '') AS artifact_sha256,
    groupUniqArrayState(10)((toString(process_executable_name), process_pid)) AS processes,
    uniqExactState(toString(process_executable_name), process_pid) AS process_set
FROM `aibom`.runtime_events
GROUP BY project_id, file_path, month;

-- Backfill from the events already stored (idempotent: empty first, then rebuild all).
TRUNCATE TABLE IF EXISTS `aibom`.runtime_artifacts;

INSERT INTO `aibom`.runtime_artifacts
SELECT
    project_id,
    file_path,
    toStartOfMonth(time) AS month,
    count() AS events,
    sumIf(access_count, event_name = 'aibom.artifact.access') AS accesses,
    groupUniqArrayStateIf((time, process_pid, access_count), event_name = '') AS legacy,
    min(time) AS first_seen,
    max(time) AS last_seen,
    argMaxIfState(toString(artifact_id), time, artifact_id != '') AS artifact_id,
    argMaxIfState(toString(artifact_name), time, artifact_name != '') AS artifact_name,
    argMaxIfState(toString(artifact_type), time, artifact_type != '') AS artifact_type,
    argMaxIfState(toString(artifact_provider), time, artifact_provider != '') AS artifact_provider,
    argMaxIfState(toString(artifact_license), time, artifact_license != '') AS artifact_license,
    argMaxIfState(toString(artifact_format), time, artifact_format != '') AS artifact_format,
    argMaxIfState(toString(artifact_format_mismatch), time, artifact_format_mismatch != '') AS artifact_format_mismatch,
    argMaxIfState(toString(artifact_sha256), time, artifact_sha256 != '') AS artifact_sha256,
    groupUniqArrayState(10)((toString(process_executable_name), process_pid)) AS processes,
    uniqExactState(toString(process_executable_name), process_pid) AS process_set
FROM `aibom`.runtime_events
GROUP BY project_id, file_path, month;

-- ==== 0008_otel_traces_trace_id.sql
-- rotel's trace id -> time range lookup (TRACES_TABLE_ID_TS_SQL and TRACES_TABLE_ID_TS_MV_SQL
-- of src/bin/clickhouse-ddl/ddl_traces.rs, streamfold/rotel v0.0.1-alpha25, as 0002): the
-- exporter never writes it, its view fills it from the traces table; Grafana's ClickHouse
-- plugin uses it to find a trace. With this, the sidecar's migrations are the only copy of
-- the collector's DDL (scripts/stack applies nothing else).
CREATE TABLE IF NOT EXISTS `aibom`.`otel_traces_trace_id_ts` (
     TraceId String CODEC(ZSTD(1)),
     Start DateTime CODEC(Delta, ZSTD(1)),
     End DateTime CODEC(Delta, ZSTD(1)),
     INDEX idx_trace_id TraceId TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = MergeTree
PARTITION BY toDate(Start)
ORDER BY (TraceId, Start)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS `aibom`.`otel_traces_trace_id_ts_mv`
TO `aibom`.`otel_traces_trace_id_ts`
AS SELECT
	TraceId,
	min(Timestamp) as Start,
	max(Timestamp) as End
FROM
`aibom`.`otel_traces`
WHERE TraceId != ''
GROUP BY TraceId;

-- ==== 0009_runtime_events_v3.sql
-- Scan evidence and attribution: how each access was found (`aibom.access.origin`: a
-- tracer, or a scan's inventory of files held before the scan began), how its project was
-- decided, and the (redacted) command line of its process. Migrations 0001-0008 stay as
-- deployed; the view is replaced as in 0006 (run --migrate before the collector writes).
ALTER TABLE `aibom`.runtime_events
    ADD COLUMN IF NOT EXISTS access_origin LowCardinality(String) AFTER scan_id,
    ADD COLUMN IF NOT EXISTS project_source LowCardinality(String) AFTER access_origin,
    ADD COLUMN IF NOT EXISTS process_command_line String CODEC(ZSTD(3)) AFTER process_owner;

DROP VIEW IF EXISTS `aibom`.runtime_events_mv_v2;

-- As 0006, plus the three columns above.
CREATE MATERIALIZED VIEW IF NOT EXISTS `aibom`.runtime_events_mv_v3 TO `aibom`.runtime_events AS
SELECT
    if(LogAttributes['aibom.project.id'] != '', LogAttributes['aibom.project.id'], ResourceAttributes['aibom.project.id']) AS project_id,
    Timestamp AS time,
    rand64() AS event_id,
    if(EventName != '', toString(EventName), LogAttributes['event.name']) AS event_name,
    LogAttributes['aibom.artifact.id'] AS artifact_id,
    LogAttributes['aibom.artifact.name'] AS artifact_name,
    LogAttributes['aibom.artifact.type'] AS artifact_type,
    LogAttributes['aibom.artifact.role'] AS artifact_role,
    LogAttributes['aibom.artifact.format'] AS artifact_format,
    LogAttributes['aibom.artifact.format_mismatch'] AS artifact_format_mismatch,
    LogAttributes['aibom.artifact.provider'] AS artifact_provider,
    LogAttributes['aibom.artifact.license'] AS artifact_license,
    LogAttributes['aibom.artifact.revision'] AS artifact_revision,
    LogAttributes['aibom.artifact.sha256'] AS artifact_sha256,
    if(LogAttributes['file.path'] != '', LogAttributes['file.path'], Body) AS file_path,
    toUInt64OrNull(LogAttributes['file.size']) AS file_size,
    LogAttributes['aibom.access.mode'] AS access_mode,
    ifNull(toUInt64OrNull(LogAttributes['aibom.access.count']), 1) AS access_count,
    toUInt32OrZero(LogAttributes['process.pid']) AS process_pid,
    toUInt32OrNull(LogAttributes['process.parent_pid']) AS process_parent_pid,
    LogAttributes['process.executable.name'] AS process_executable_name,
    LogAttributes['process.executable.path'] AS process_executable_path,
    LogAttributes['process.owner'] AS process_owner,
    if(LogAttributes['container.id'] != '', LogAttributes['container.id'], ResourceAttributes['container.id']) AS container_id,
    if(LogAttributes['container.runtime.name'] != '', LogAttributes['container.runtime.name'], ResourceAttributes['container.runtime.name']) AS container_runtime_name,
    if(LogAttributes['k8s.pod.name'] != '', LogAttributes['k8s.pod.name'], ResourceAttributes['k8s.pod.name']) AS k8s_pod_name,
    if(LogAttributes['k8s.pod.uid'] != '', LogAttributes['k8s.pod.uid'], ResourceAttributes['k8s.pod.uid']) AS k8s_pod_uid,
    if(LogAttributes['k8s.namespace.name'] != '', LogAttributes['k8s.namespace.name'], ResourceAttributes['k8s.namespace.name']) AS k8s_namespace_name,
    LogAttributes['aibom.tracer'] AS tracer,
    if(LogAttributes['aibom.scan.id'] != '', LogAttributes['aibom.scan.id'], ResourceAttributes['aibom.scan.id']) AS scan_id,
    LogAttributes['aibom.access.origin'] AS access_origin,
    LogAttributes['aibom.project.source'] AS project_source,
    LogAttributes['process.command_line'] AS process_command_line,
    if(LogAttributes['host.name'] != '', LogAttributes['host.name'], ResourceAttributes['host.name']) AS host_name,
    if(LogAttributes['service.instance.id'] != '', LogAttributes['service.instance.id'], ResourceAttributes['service.instance.id']) AS service_instance_id
FROM `aibom`.`otel_logs`
WHERE project_id != ''
  AND event_name IN ('aibom.artifact.access', 'aibom.artifact.identified', '');

-- ==== 0010_runtime_violations.sql
-- Policy violations (aibomd --policy): one row per `aibom.policy.violation` record, with the
-- attributes of the access it judged and the verdict. Kept apart from runtime_events, so the
-- event list, the summary's counts and runtime_artifacts stay what they were; what
-- GET .../violations lists, the summary counts and the AI-BOM marks. Filled by
-- runtime_violations_mv from the collector's logs table (the SELECT the view and the backfill
-- share is runtime_violations.select.sql). Retention: --ttl-days, as runtime_events.
CREATE TABLE IF NOT EXISTS `aibom`.runtime_violations
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

CREATE MATERIALIZED VIEW IF NOT EXISTS `aibom`.runtime_violations_mv TO `aibom`.runtime_violations AS
SELECT
    if(LogAttributes['aibom.project.id'] != '', LogAttributes['aibom.project.id'], ResourceAttributes['aibom.project.id']) AS project_id,
    Timestamp AS time,
    rand64() AS event_id,
    LogAttributes['aibom.policy.rule'] AS policy_rule,
    LogAttributes['aibom.policy.action'] AS policy_action,
    LogAttributes['aibom.policy.severity'] AS policy_severity,
    LogAttributes['aibom.policy.enforced'] = 'true' AS policy_enforced,
    LogAttributes['aibom.artifact.id'] AS artifact_id,
    LogAttributes['aibom.artifact.name'] AS artifact_name,
    LogAttributes['aibom.artifact.type'] AS artifact_type,
    LogAttributes['aibom.artifact.role'] AS artifact_role,
    LogAttributes['aibom.artifact.format'] AS artifact_format,
    LogAttributes['aibom.artifact.provider'] AS artifact_provider,
    LogAttributes['aibom.artifact.license'] AS artifact_license,
    LogAttributes['aibom.artifact.revision'] AS artifact_revision,
    LogAttributes['aibom.artifact.sha256'] AS artifact_sha256,
    if(LogAttributes['file.path'] != '', LogAttributes['file.path'], Body) AS file_path,
    LogAttributes['aibom.access.mode'] AS access_mode,
    toUInt32OrZero(LogAttributes['process.pid']) AS process_pid,
    LogAttributes['process.executable.name'] AS process_executable_name,
    LogAttributes['process.executable.path'] AS process_executable_path,
    LogAttributes['process.command_line'] AS process_command_line,
    LogAttributes['process.owner'] AS process_owner,
    if(LogAttributes['container.id'] != '', LogAttributes['container.id'], ResourceAttributes['container.id']) AS container_id,
    if(LogAttributes['k8s.pod.name'] != '', LogAttributes['k8s.pod.name'], ResourceAttributes['k8s.pod.name']) AS k8s_pod_name,
    if(LogAttributes['k8s.namespace.name'] != '', LogAttributes['k8s.namespace.name'], ResourceAttributes['k8s.namespace.name']) AS k8s_namespace_name,
    LogAttributes['aibom.tracer'] AS tracer,
    if(LogAttributes['aibom.scan.id'] != '', LogAttributes['aibom.scan.id'], ResourceAttributes['aibom.scan.id']) AS scan_id,
    if(LogAttributes['host.name'] != '', LogAttributes['host.name'], ResourceAttributes['host.name']) AS host_name,
    if(LogAttributes['service.instance.id'] != '', LogAttributes['service.instance.id'], ResourceAttributes['service.instance.id']) AS service_instance_id
FROM `aibom`.`otel_logs`
WHERE project_id != ''
  AND if(EventName != '', toString(EventName), LogAttributes['event.name']) = 'aibom.policy.violation';

-- Backfill from the raw rows still kept (idempotent: empty first, then fill).
TRUNCATE TABLE IF EXISTS `aibom`.runtime_violations;

INSERT INTO `aibom`.runtime_violations
SELECT
    if(LogAttributes['aibom.project.id'] != '', LogAttributes['aibom.project.id'], ResourceAttributes['aibom.project.id']) AS project_id,
    Timestamp AS time,
    rand64() AS event_id,
    LogAttributes['aibom.policy.rule'] AS policy_rule,
    LogAttributes['aibom.policy.action'] AS policy_action,
    LogAttributes['aibom.policy.severity'] AS policy_severity,
    LogAttributes['aibom.policy.enforced'] = 'true' AS policy_enforced,
    LogAttributes['aibom.artifact.id'] AS artifact_id,
    LogAttributes['aibom.artifact.name'] AS artifact_name,
    LogAttributes['aibom.artifact.type'] AS artifact_type,
    LogAttributes['aibom.artifact.role'] AS artifact_role,
    LogAttributes['aibom.artifact.format'] AS artifact_format,
    LogAttributes['aibom.artifact.provider'] AS artifact_provider,
    LogAttributes['aibom.artifact.license'] AS artifact_license,
    LogAttributes['aibom.artifact.revision'] AS artifact_revision,
    LogAttributes['aibom.artifact.sha256'] AS artifact_sha256,
    if(LogAttributes['file.path'] != '', LogAttributes['file.path'], Body) AS file_path,
    LogAttributes['aibom.access.mode'] AS access_mode,
    toUInt32OrZero(LogAttributes['process.pid']) AS process_pid,
    LogAttributes['process.executable.name'] AS process_executable_name,
    LogAttributes['process.executable.path'] AS process_executable_path,
    LogAttributes['process.command_line'] AS process_command_line,
    LogAttributes['process.owner'] AS process_owner,
    if(LogAttributes['container.id'] != '', LogAttributes['container.id'], ResourceAttributes['container.id']) AS container_id,
    if(LogAttributes['k8s.pod.name'] != '', LogAttributes['k8s.pod.name'], ResourceAttributes['k8s.pod.name']) AS k8s_pod_name,
    if(LogAttributes['k8s.namespace.name'] != '', LogAttributes['k8s.namespace.name'], ResourceAttributes['k8s.namespace.name']) AS k8s_namespace_name,
    LogAttributes['aibom.tracer'] AS tracer,
    if(LogAttributes['aibom.scan.id'] != '', LogAttributes['aibom.scan.id'], ResourceAttributes['aibom.scan.id']) AS scan_id,
    if(LogAttributes['host.name'] != '', LogAttributes['host.name'], ResourceAttributes['host.name']) AS host_name,
    if(LogAttributes['service.instance.id'] != '', LogAttributes['service.instance.id'], ResourceAttributes['service.instance.id']) AS service_instance_id
FROM `aibom`.`otel_logs`
WHERE project_id != ''
  AND if(EventName != '', toString(EventName), LogAttributes['event.name']) = 'aibom.policy.violation';

-- ==== 0011_runtime_api_calls.sql
-- AI API calls (issue 14): one row per `aibom.api.call` record, a process calling a hosted AI
-- API (OpenAI, Anthropic, Gemini...) or a local inference server (Ollama, vLLM...), with the
-- provider, server, model and operation the kernel saw and how many calls the record folds.
-- Kept apart from runtime_events (no file, no artifact): what GET .../api-calls lists, the
-- summary's `api_calls` counts, the AI-BOM's services and the "AI APIs called" panel read.
-- Filled by runtime_api_calls_mv from the collector's logs table (the SELECT the view and the
-- backfill share is runtime_api_calls.select.sql). Retention: --ttl-days, as runtime_events.
CREATE TABLE IF NOT EXISTS `aibom`.runtime_api_calls
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

CREATE MATERIALIZED VIEW IF NOT EXISTS `aibom`.runtime_api_calls_mv TO `aibom`.runtime_api_calls AS
SELECT
    if(LogAttributes['aibom.project.id'] != '', LogAttributes['aibom.project.id'], ResourceAttributes['aibom.project.id']) AS project_id,
    Timestamp AS time,
    rand64() AS event_id,
    LogAttributes['aibom.api.provider'] AS api_provider,
    LogAttributes['gen_ai.provider.name'] AS gen_ai_provider_name,
    LogAttributes['gen_ai.request.model'] AS gen_ai_request_model,
    LogAttributes['gen_ai.response.model'] AS gen_ai_response_model,
    LogAttributes['gen_ai.operation.name'] AS gen_ai_operation_name,
    LogAttributes['server.address'] AS server_address,
    toUInt16OrZero(LogAttributes['server.port']) AS server_port,
    LogAttributes['url.path'] AS url_path,
    LogAttributes['http.request.method'] AS http_request_method,
    toUInt16OrZero(LogAttributes['http.response.status_code']) AS http_response_status_code,
    LogAttributes['aibom.api.seen_by'] AS api_seen_by,
    greatest(toUInt64OrZero(LogAttributes['aibom.api.count']), 1) AS api_count,
    LogAttributes['aibom.api.tls_library'] AS api_tls_library,
    toUInt64OrNull(LogAttributes['gen_ai.usage.input_tokens']) AS gen_ai_usage_input_tokens,
    toUInt64OrNull(LogAttributes['gen_ai.usage.output_tokens']) AS gen_ai_usage_output_tokens,
    toUInt32OrZero(LogAttributes['process.pid']) AS process_pid,
    LogAttributes['process.executable.name'] AS process_executable_name,
    LogAttributes['process.executable.path'] AS process_executable_path,
    LogAttributes['process.command_line'] AS process_command_line,
    LogAttributes['process.owner'] AS process_owner,
    if(LogAttributes['container.id'] != '', LogAttributes['container.id'], ResourceAttributes['container.id']) AS container_id,
    if(LogAttributes['k8s.pod.name'] != '', LogAttributes['k8s.pod.name'], ResourceAttributes['k8s.pod.name']) AS k8s_pod_name,
    if(LogAttributes['k8s.namespace.name'] != '', LogAttributes['k8s.namespace.name'], ResourceAttributes['k8s.namespace.name']) AS k8s_namespace_name,
    LogAttributes['aibom.tracer'] AS tracer,
    if(LogAttributes['aibom.scan.id'] != '', LogAttributes['aibom.scan.id'], ResourceAttributes['aibom.scan.id']) AS scan_id,
    if(LogAttributes['host.name'] != '', LogAttributes['host.name'], ResourceAttributes['host.name']) AS host_name,
    if(LogAttributes['service.instance.id'] != '', LogAttributes['service.instance.id'], ResourceAttributes['service.instance.id']) AS service_instance_id
FROM `aibom`.`otel_logs`
WHERE project_id != ''
  AND if(EventName != '', toString(EventName), LogAttributes['event.name']) = 'aibom.api.call';

-- Backfill from the raw rows still kept (idempotent: empty first, then fill).
TRUNCATE TABLE IF EXISTS `aibom`.runtime_api_calls;

INSERT INTO `aibom`.runtime_api_calls
SELECT
    if(LogAttributes['aibom.project.id'] != '', LogAttributes['aibom.project.id'], ResourceAttributes['aibom.project.id']) AS project_id,
    Timestamp AS time,
    rand64() AS event_id,
    LogAttributes['aibom.api.provider'] AS api_provider,
    LogAttributes['gen_ai.provider.name'] AS gen_ai_provider_name,
    LogAttributes['gen_ai.request.model'] AS gen_ai_request_model,
    LogAttributes['gen_ai.response.model'] AS gen_ai_response_model,
    LogAttributes['gen_ai.operation.name'] AS gen_ai_operation_name,
    LogAttributes['server.address'] AS server_address,
    toUInt16OrZero(LogAttributes['server.port']) AS server_port,
    LogAttributes['url.path'] AS url_path,
    LogAttributes['http.request.method'] AS http_request_method,
    toUInt16OrZero(LogAttributes['http.response.status_code']) AS http_response_status_code,
    LogAttributes['aibom.api.seen_by'] AS api_seen_by,
    greatest(toUInt64OrZero(LogAttributes['aibom.api.count']), 1) AS api_count,
    LogAttributes['aibom.api.tls_library'] AS api_tls_library,
    toUInt64OrNull(LogAttributes['gen_ai.usage.input_tokens']) AS gen_ai_usage_input_tokens,
    toUInt64OrNull(LogAttributes['gen_ai.usage.output_tokens']) AS gen_ai_usage_output_tokens,
    toUInt32OrZero(LogAttributes['process.pid']) AS process_pid,
    LogAttributes['process.executable.name'] AS process_executable_name,
    LogAttributes['process.executable.path'] AS process_executable_path,
    LogAttributes['process.command_line'] AS process_command_line,
    LogAttributes['process.owner'] AS process_owner,
    if(LogAttributes['container.id'] != '', LogAttributes['container.id'], ResourceAttributes['container.id']) AS container_id,
    if(LogAttributes['k8s.pod.name'] != '', LogAttributes['k8s.pod.name'], ResourceAttributes['k8s.pod.name']) AS k8s_pod_name,
    if(LogAttributes['k8s.namespace.name'] != '', LogAttributes['k8s.namespace.name'], ResourceAttributes['k8s.namespace.name']) AS k8s_namespace_name,
    LogAttributes['aibom.tracer'] AS tracer,
    if(LogAttributes['aibom.scan.id'] != '', LogAttributes['aibom.scan.id'], ResourceAttributes['aibom.scan.id']) AS scan_id,
    if(LogAttributes['host.name'] != '', LogAttributes['host.name'], ResourceAttributes['host.name']) AS host_name,
    if(LogAttributes['service.instance.id'] != '', LogAttributes['service.instance.id'], ResourceAttributes['service.instance.id']) AS service_instance_id
FROM `aibom`.`otel_logs`
WHERE project_id != ''
  AND if(EventName != '', toString(EventName), LogAttributes['event.name']) = 'aibom.api.call';

-- ==== 0012_runtime_events_parts.sql
-- Many files, one artifact (issue 15): typed columns for the parts of a sharded model or a
-- dataset of many files (`aibom.artifact.whole.*`, `aibom.artifact.part.*`) and for artifacts
-- stored inside another file (`aibom.artifact.embedded`: chat templates). An embedded
-- artifact's rows are kept under `PATH#KEY` (`/m/tiny.gguf#tokenizer.chat_template`), so the
-- per-path aggregates (runtime_artifacts, the summary, the AI-BOM) never mix a template's
-- type and hash into its file's. Migrations 0001-0011 stay as deployed; the view is replaced
-- as in 0009 (run --migrate before the collector writes).
ALTER TABLE `aibom`.runtime_events
    ADD COLUMN IF NOT EXISTS artifact_whole_id String CODEC(ZSTD(1)) AFTER process_command_line,
    ADD COLUMN IF NOT EXISTS artifact_part_index Nullable(UInt64) AFTER artifact_whole_id,
    ADD COLUMN IF NOT EXISTS artifact_part_count Nullable(UInt64) AFTER artifact_part_index,
    ADD COLUMN IF NOT EXISTS artifact_whole_files Nullable(UInt64) AFTER artifact_part_count,
    ADD COLUMN IF NOT EXISTS artifact_whole_bytes Nullable(UInt64) AFTER artifact_whole_files,
    ADD COLUMN IF NOT EXISTS artifact_whole_sha256 String CODEC(ZSTD(1)) AFTER artifact_whole_bytes,
    ADD COLUMN IF NOT EXISTS artifact_embedded LowCardinality(String) AFTER artifact_whole_sha256;

DROP VIEW IF EXISTS `aibom`.runtime_events_mv_v3;

-- As 0009, plus the columns above and the `PATH#KEY` of embedded artifacts.
CREATE MATERIALIZED VIEW IF NOT EXISTS `aibom`.runtime_events_mv_v4 TO `aibom`.runtime_events AS
SELECT
    if(LogAttributes['aibom.project.id'] != '', LogAttributes['aibom.project.id'], ResourceAttributes['aibom.project.id']) AS project_id,
    Timestamp AS time,
    rand64() AS event_id,
    if(EventName != '', toString(EventName), LogAttributes['event.name']) AS event_name,
    LogAttributes['aibom.artifact.id'] AS artifact_id,
    LogAttributes['aibom.artifact.name'] AS artifact_name,
    LogAttributes['aibom.artifact.type'] AS artifact_type,
    LogAttributes['aibom.artifact.role'] AS artifact_role,
    LogAttributes['aibom.artifact.format'] AS artifact_format,
    LogAttributes['aibom.artifact.format_mismatch'] AS artifact_format_mismatch,
    LogAttributes['aibom.artifact.provider'] AS artifact_provider,
    LogAttributes['aibom.artifact.license'] AS artifact_license,
    LogAttributes['aibom.artifact.revision'] AS artifact_revision,
    LogAttributes['aibom.artifact.sha256'] AS artifact_sha256,
    concat(
        if(LogAttributes['file.path'] != '', LogAttributes['file.path'], Body),
        if(LogAttributes['aibom.artifact.embedded'] != '', concat('#', LogAttributes['aibom.artifact.embedded']), '')
    ) AS file_path,
    toUInt64OrNull(LogAttributes['file.size']) AS file_size,
    LogAttributes['aibom.access.mode'] AS access_mode,
    ifNull(toUInt64OrNull(LogAttributes['aibom.access.count']), 1) AS access_count,
    toUInt32OrZero(LogAttributes['process.pid']) AS process_pid,
    toUInt32OrNull(LogAttributes['process.parent_pid']) AS process_parent_pid,
    LogAttributes['process.executable.name'] AS process_executable_name,
    LogAttributes['process.executable.path'] AS process_executable_path,
    LogAttributes['process.owner'] AS process_owner,
    if(LogAttributes['container.id'] != '', LogAttributes['container.id'], ResourceAttributes['container.id']) AS container_id,
    if(LogAttributes['container.runtime.name'] != '', LogAttributes['container.runtime.name'], ResourceAttributes['container.runtime.name']) AS container_runtime_name,
    if(LogAttributes['k8s.pod.name'] != '', LogAttributes['k8s.pod.name'], ResourceAttributes['k8s.pod.name']) AS k8s_pod_name,
    if(LogAttributes['k8s.pod.uid'] != '', LogAttributes['k8s.pod.uid'], ResourceAttributes['k8s.pod.uid']) AS k8s_pod_uid,
    if(LogAttributes['k8s.namespace.name'] != '', LogAttributes['k8s.namespace.name'], ResourceAttributes['k8s.namespace.name']) AS k8s_namespace_name,
    LogAttributes['aibom.tracer'] AS tracer,
    if(LogAttributes['aibom.scan.id'] != '', LogAttributes['aibom.scan.id'], ResourceAttributes['aibom.scan.id']) AS scan_id,
    LogAttributes['aibom.access.origin'] AS access_origin,
    LogAttributes['aibom.project.source'] AS project_source,
    LogAttributes['process.command_line'] AS process_command_line,
    LogAttributes['aibom.artifact.whole.id'] AS artifact_whole_id,
    toUInt64OrNull(LogAttributes['aibom.artifact.part.index']) AS artifact_part_index,
    toUInt64OrNull(LogAttributes['aibom.artifact.part.count']) AS artifact_part_count,
    toUInt64OrNull(LogAttributes['aibom.artifact.whole.files']) AS artifact_whole_files,
    toUInt64OrNull(LogAttributes['aibom.artifact.whole.bytes']) AS artifact_whole_bytes,
    LogAttributes['aibom.artifact.whole.sha256'] AS artifact_whole_sha256,
    LogAttributes['aibom.artifact.embedded'] AS artifact_embedded,
    if(LogAttributes['host.name'] != '', LogAttributes['host.name'], ResourceAttributes['host.name']) AS host_name,
    if(LogAttributes['service.instance.id'] != '', LogAttributes['service.instance.id'], ResourceAttributes['service.instance.id']) AS service_instance_id
FROM `aibom`.`otel_logs`
WHERE project_id != ''
  AND event_name IN ('aibom.artifact.access', 'aibom.artifact.identified', '');

-- ==== 0013_runtime_unsafe_scans.sql
-- Unsafe serialization: one row per `aibom.artifact.identified` record of a pickle-based
-- file aibomd scanned for dangerous imports (`aibom.artifact.unsafe` set, or the scan
-- stopped early), with its verdict. Kept apart from runtime_events (whose views stay as
-- deployed); what the summary's `unsafe_artifacts`, the AI-BOM marks and the Grafana panel
-- "Unsafe serialized models" read. Filled by runtime_unsafe_scans_mv from the collector's
-- logs table (the SELECT the view and the backfill share is runtime_unsafe_scans.select.sql).
-- artifact_unsafe is NULL when the scan stopped early without finding a dangerous callable
-- (unknown, never "safe"). Retention: --ttl-days, as runtime_events.
CREATE TABLE IF NOT EXISTS `aibom`.runtime_unsafe_scans
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

CREATE MATERIALIZED VIEW IF NOT EXISTS `aibom`.runtime_unsafe_scans_mv TO `aibom`.runtime_unsafe_scans AS
SELECT
    if(LogAttributes['aibom.project.id'] != '', LogAttributes['aibom.project.id'], ResourceAttributes['aibom.project.id']) AS project_id,
    Timestamp AS time,
    rand64() AS event_id,
    if(LogAttributes['file.path'] != '', LogAttributes['file.path'], Body) AS file_path,
    LogAttributes['aibom.artifact.id'] AS artifact_id,
    LogAttributes['aibom.artifact.name'] AS artifact_name,
    LogAttributes['aibom.artifact.type'] AS artifact_type,
    LogAttributes['aibom.artifact.format'] AS artifact_format,
    LogAttributes['aibom.artifact.provider'] AS artifact_provider,
    LogAttributes['aibom.artifact.sha256'] AS artifact_sha256,
    multiIf(LogAttributes['aibom.artifact.unsafe'] = 'true', true, LogAttributes['aibom.artifact.unsafe'] = 'false', false, NULL) AS artifact_unsafe,
    LogAttributes['aibom.artifact.unsafe_reason'] AS artifact_unsafe_reason,
    LogAttributes['aibom.artifact.unsafe_scan_error'] AS artifact_unsafe_scan_error,
    toUInt32OrZero(LogAttributes['process.pid']) AS process_pid,
    LogAttributes['process.executable.name'] AS process_executable_name,
    if(LogAttributes['container.id'] != '', LogAttributes['container.id'], ResourceAttributes['container.id']) AS container_id,
    if(LogAttributes['host.name'] != '', LogAttributes['host.name'], ResourceAttributes['host.name']) AS host_name,
    if(LogAttributes['service.instance.id'] != '', LogAttributes['service.instance.id'], ResourceAttributes['service.instance.id']) AS service_instance_id
FROM `aibom`.`otel_logs`
WHERE project_id != ''
  AND if(EventName != '', toString(EventName), LogAttributes['event.name']) = 'aibom.artifact.identified'
  AND (mapContains(LogAttributes, 'aibom.artifact.unsafe') OR mapContains(LogAttributes, 'aibom.artifact.unsafe_scan_error'));

-- Backfill from the raw rows still kept (idempotent: empty first, then fill).
TRUNCATE TABLE IF EXISTS `aibom`.runtime_unsafe_scans;

INSERT INTO `aibom`.runtime_unsafe_scans
SELECT
    if(LogAttributes['aibom.project.id'] != '', LogAttributes['aibom.project.id'], ResourceAttributes['aibom.project.id']) AS project_id,
    Timestamp AS time,
    rand64() AS event_id,
    if(LogAttributes['file.path'] != '', LogAttributes['file.path'], Body) AS file_path,
    LogAttributes['aibom.artifact.id'] AS artifact_id,
    LogAttributes['aibom.artifact.name'] AS artifact_name,
    LogAttributes['aibom.artifact.type'] AS artifact_type,
    LogAttributes['aibom.artifact.format'] AS artifact_format,
    LogAttributes['aibom.artifact.provider'] AS artifact_provider,
    LogAttributes['aibom.artifact.sha256'] AS artifact_sha256,
    multiIf(LogAttributes['aibom.artifact.unsafe'] = 'true', true, LogAttributes['aibom.artifact.unsafe'] = 'false', false, NULL) AS artifact_unsafe,
    LogAttributes['aibom.artifact.unsafe_reason'] AS artifact_unsafe_reason,
    LogAttributes['aibom.artifact.unsafe_scan_error'] AS artifact_unsafe_scan_error,
    toUInt32OrZero(LogAttributes['process.pid']) AS process_pid,
    LogAttributes['process.executable.name'] AS process_executable_name,
    if(LogAttributes['container.id'] != '', LogAttributes['container.id'], ResourceAttributes['container.id']) AS container_id,
    if(LogAttributes['host.name'] != '', LogAttributes['host.name'], ResourceAttributes['host.name']) AS host_name,
    if(LogAttributes['service.instance.id'] != '', LogAttributes['service.instance.id'], ResourceAttributes['service.instance.id']) AS service_instance_id
FROM `aibom`.`otel_logs`
WHERE project_id != ''
  AND if(EventName != '', toString(EventName), LogAttributes['event.name']) = 'aibom.artifact.identified'
  AND (mapContains(LogAttributes, 'aibom.artifact.unsafe') OR mapContains(LogAttributes, 'aibom.artifact.unsafe_scan_error'));

-- ==== 0014_record_once.sql
-- Exactly once at the store (issue 20): aibomd puts `aibom.record.id` (a UUID, the same on
-- every delivery of one record: a spooled request sent again after a crash, a timeout or a
-- collector restart) on each log record. The views of the typed tables the API counts now
-- derive event_id from it (cityHash64 of the id; random, as before, without one: older
-- exporters, other sources) and store a row only if its (project_id, time, event_id), the
-- whole primary key, is not stored yet: the `once:T` placeholder (query/src/schema.rs,
-- once_expr) looks it up among T's rows with the (project, time) of a row of the inserted
-- block (inside a view the logs table names the block). LIMIT 1 BY drops an id repeated
-- within the block; rows without an id have random event_ids, so they are kept as before.
-- runtime_artifacts (the summary) is filled from runtime_events, which a repeat never enters.
-- runtime_events also keeps the id itself (record_id, the zero UUID without one). The other
-- tables get no column: the positional backfills of 0010, 0011 and 0013 (re-run when a
-- schema_migrations row is lost) must still fit them.
-- Migrations 0001-0013 stay as deployed; the views are replaced as in 0012 (run --migrate
-- before the collector writes). Rows stored before this migration have random event_ids: a
-- record stored then and delivered again after it is stored twice. query/README.md, "Exactly
-- once", says what else this does not cover.
ALTER TABLE `aibom`.runtime_events
    ADD COLUMN IF NOT EXISTS record_id UUID AFTER event_id;

DROP VIEW IF EXISTS `aibom`.runtime_events_mv_v4;

-- As 0012, plus record_id, event_id from it, and the check.
CREATE MATERIALIZED VIEW IF NOT EXISTS `aibom`.runtime_events_mv_v5 TO `aibom`.runtime_events AS
SELECT
    if(LogAttributes['aibom.project.id'] != '', LogAttributes['aibom.project.id'], ResourceAttributes['aibom.project.id']) AS project_id,
    Timestamp AS time,
    if(LogAttributes['aibom.record.id'] = '', rand64(), cityHash64(LogAttributes['aibom.record.id'])) AS event_id,
    toUUIDOrZero(LogAttributes['aibom.record.id']) AS record_id,
    if(EventName != '', toString(EventName), LogAttributes['event.name']) AS event_name,
    LogAttributes['aibom.artifact.id'] AS artifact_id,
    LogAttributes['aibom.artifact.name'] AS artifact_name,
    LogAttributes['aibom.artifact.type'] AS artifact_type,
    LogAttributes['aibom.artifact.role'] AS artifact_role,
    LogAttributes['aibom.artifact.format'] AS artifact_format,
    LogAttributes['aibom.artifact.format_mismatch'] AS artifact_format_mismatch,
    LogAttributes['aibom.artifact.provider'] AS artifact_provider,
    LogAttributes['aibom.artifact.license'] AS artifact_license,
    LogAttributes['aibom.artifact.revision'] AS artifact_revision,
    LogAttributes['aibom.artifact.sha256'] AS artifact_sha256,
    concat(
        if(LogAttributes['file.path'] != '', LogAttributes['file.path'], Body),
        if(LogAttributes['aibom.artifact.embedded'] != '', concat('#', LogAttributes['aibom.artifact.embedded']), '')
    ) AS file_path,
    toUInt64OrNull(LogAttributes['file.size']) AS file_size,
    LogAttributes['aibom.access.mode'] AS access_mode,
    ifNull(toUInt64OrNull(LogAttributes['aibom.access.count']), 1) AS access_count,
    toUInt32OrZero(LogAttributes['process.pid']) AS process_pid,
    toUInt32OrNull(LogAttributes['process.parent_pid']) AS process_parent_pid,
    LogAttributes['process.executable.name'] AS process_executable_name,
    LogAttributes['process.executable.path'] AS process_executable_path,
    LogAttributes['process.owner'] AS process_owner,
    if(LogAttributes['container.id'] != '', LogAttributes['container.id'], ResourceAttributes['container.id']) AS container_id,
    if(LogAttributes['container.runtime.name'] != '', LogAttributes['container.runtime.name'], ResourceAttributes['container.runtime.name']) AS container_runtime_name,
    if(LogAttributes['k8s.pod.name'] != '', LogAttributes['k8s.pod.name'], ResourceAttributes['k8s.pod.name']) AS k8s_pod_name,
    if(LogAttributes['k8s.pod.uid'] != '', LogAttributes['k8s.pod.uid'], ResourceAttributes['k8s.pod.uid']) AS k8s_pod_uid,
    if(LogAttributes['k8s.namespace.name'] != '', LogAttributes['k8s.namespace.name'], ResourceAttributes['k8s.namespace.name']) AS k8s_namespace_name,
    LogAttributes['aibom.tracer'] AS tracer,
    if(LogAttributes['aibom.scan.id'] != '', LogAttributes['aibom.scan.id'], ResourceAttributes['aibom.scan.id']) AS scan_id,
    LogAttributes['aibom.access.origin'] AS access_origin,
    LogAttributes['aibom.project.source'] AS project_source,
    LogAttributes['process.command_line'] AS process_command_line,
    LogAttributes['aibom.artifact.whole.id'] AS artifact_whole_id,
    toUInt64OrNull(LogAttributes['aibom.artifact.part.index']) AS artifact_part_index,
    toUInt64OrNull(LogAttributes['aibom.artifact.part.count']) AS artifact_part_count,
    toUInt64OrNull(LogAttributes['aibom.artifact.whole.files']) AS artifact_whole_files,
    toUInt64OrNull(LogAttributes['aibom.artifact.whole.bytes']) AS artifact_whole_bytes,
    LogAttributes['aibom.artifact.whole.sha256'] AS artifact_whole_sha256,
    LogAttributes['aibom.artifact.embedded'] AS artifact_embedded,
    if(LogAttributes['host.name'] != '', LogAttributes['host.name'], ResourceAttributes['host.name']) AS host_name,
    if(LogAttributes['service.instance.id'] != '', LogAttributes['service.instance.id'], ResourceAttributes['service.instance.id']) AS service_instance_id
FROM `aibom`.`otel_logs`
WHERE project_id != ''
  AND event_name IN ('aibom.artifact.access', 'aibom.artifact.identified', '')
  AND (LogAttributes['aibom.record.id'] = '' OR (project_id, time, event_id) NOT IN (
        SELECT project_id, time, event_id FROM `aibom`.`runtime_events`
        WHERE (project_id, time) IN (SELECT if(LogAttributes['aibom.project.id'] != '', LogAttributes['aibom.project.id'], ResourceAttributes['aibom.project.id']), Timestamp FROM `aibom`.`otel_logs`)))
LIMIT 1 BY project_id, time, event_id;

DROP VIEW IF EXISTS `aibom`.runtime_violations_mv;

-- As runtime_violations.select.sql (0010), event_id from the record id, and the check.
CREATE MATERIALIZED VIEW IF NOT EXISTS `aibom`.runtime_violations_mv_v2 TO `aibom`.runtime_violations AS
SELECT
    if(LogAttributes['aibom.project.id'] != '', LogAttributes['aibom.project.id'], ResourceAttributes['aibom.project.id']) AS project_id,
    Timestamp AS time,
    if(LogAttributes['aibom.record.id'] = '', rand64(), cityHash64(LogAttributes['aibom.record.id'])) AS event_id,
    LogAttributes['aibom.policy.rule'] AS policy_rule,
    LogAttributes['aibom.policy.action'] AS policy_action,
    LogAttributes['aibom.policy.severity'] AS policy_severity,
    LogAttributes['aibom.policy.enforced'] = 'true' AS policy_enforced,
    LogAttributes['aibom.artifact.id'] AS artifact_id,
    LogAttributes['aibom.artifact.name'] AS artifact_name,
    LogAttributes['aibom.artifact.type'] AS artifact_type,
    LogAttributes['aibom.artifact.role'] AS artifact_role,
    LogAttributes['aibom.artifact.format'] AS artifact_format,
    LogAttributes['aibom.artifact.provider'] AS artifact_provider,
    LogAttributes['aibom.artifact.license'] AS artifact_license,
    LogAttributes['aibom.artifact.revision'] AS artifact_revision,
    LogAttributes['aibom.artifact.sha256'] AS artifact_sha256,
    if(LogAttributes['file.path'] != '', LogAttributes['file.path'], Body) AS file_path,
    LogAttributes['aibom.access.mode'] AS access_mode,
    toUInt32OrZero(LogAttributes['process.pid']) AS process_pid,
    LogAttributes['process.executable.name'] AS process_executable_name,
    LogAttributes['process.executable.path'] AS process_executable_path,
    LogAttributes['process.command_line'] AS process_command_line,
    LogAttributes['process.owner'] AS process_owner,
    if(LogAttributes['container.id'] != '', LogAttributes['container.id'], ResourceAttributes['container.id']) AS container_id,
    if(LogAttributes['k8s.pod.name'] != '', LogAttributes['k8s.pod.name'], ResourceAttributes['k8s.pod.name']) AS k8s_pod_name,
    if(LogAttributes['k8s.namespace.name'] != '', LogAttributes['k8s.namespace.name'], ResourceAttributes['k8s.namespace.name']) AS k8s_namespace_name,
    LogAttributes['aibom.tracer'] AS tracer,
    if(LogAttributes['aibom.scan.id'] != '', LogAttributes['aibom.scan.id'], ResourceAttributes['aibom.scan.id']) AS scan_id,
    if(LogAttributes['host.name'] != '', LogAttributes['host.name'], ResourceAttributes['host.name']) AS host_name,
    if(LogAttributes['service.instance.id'] != '', LogAttributes['service.instance.id'], ResourceAttributes['service.instance.id']) AS service_instance_id
FROM `aibom`.`otel_logs`
WHERE project_id != ''
  AND if(EventName != '', toString(EventName), LogAttributes['event.name']) = 'aibom.policy.violation'
  AND (LogAttributes['aibom.record.id'] = '' OR (project_id, time, event_id) NOT IN (
        SELECT project_id, time, event_id FROM `aibom`.`runtime_violations`
        WHERE (project_id, time) IN (SELECT if(LogAttributes['aibom.project.id'] != '', LogAttributes['aibom.project.id'], ResourceAttributes['aibom.project.id']), Timestamp FROM `aibom`.`otel_logs`)))
LIMIT 1 BY project_id, time, event_id;

DROP VIEW IF EXISTS `aibom`.runtime_api_calls_mv;

-- As runtime_api_calls.select.sql (0011), event_id from the record id, and the check.
CREATE MATERIALIZED VIEW IF NOT EXISTS `aibom`.runtime_api_calls_mv_v2 TO `aibom`.runtime_api_calls AS
SELECT
    if(LogAttributes['aibom.project.id'] != '', LogAttributes['aibom.project.id'], ResourceAttributes['aibom.project.id']) AS project_id,
    Timestamp AS time,
    if(LogAttributes['aibom.record.id'] = '', rand64(), cityHash64(LogAttributes['aibom.record.id'])) AS event_id,
    LogAttributes['aibom.api.provider'] AS api_provider,
    LogAttributes['gen_ai.provider.name'] AS gen_ai_provider_name,
    LogAttributes['gen_ai.request.model'] AS gen_ai_request_model,
    LogAttributes['gen_ai.response.model'] AS gen_ai_response_model,
    LogAttributes['gen_ai.operation.name'] AS gen_ai_operation_name,
    LogAttributes['server.address'] AS server_address,
    toUInt16OrZero(LogAttributes['server.port']) AS server_port,
    LogAttributes['url.path'] AS url_path,
    LogAttributes['http.request.method'] AS http_request_method,
    toUInt16OrZero(LogAttributes['http.response.status_code']) AS http_response_status_code,
    LogAttributes['aibom.api.seen_by'] AS api_seen_by,
    greatest(toUInt64OrZero(LogAttributes['aibom.api.count']), 1) AS api_count,
    LogAttributes['aibom.api.tls_library'] AS api_tls_library,
    toUInt64OrNull(LogAttributes['gen_ai.usage.input_tokens']) AS gen_ai_usage_input_tokens,
    toUInt64OrNull(LogAttributes['gen_ai.usage.output_tokens']) AS gen_ai_usage_output_tokens,
    toUInt32OrZero(LogAttributes['process.pid']) AS process_pid,
    LogAttributes['process.executable.name'] AS process_executable_name,
    LogAttributes['process.executable.path'] AS process_executable_path,
    LogAttributes['process.command_line'] AS process_command_line,
    LogAttributes['process.owner'] AS process_owner,
    if(LogAttributes['container.id'] != '', LogAttributes['container.id'], ResourceAttributes['container.id']) AS container_id,
    if(LogAttributes['k8s.pod.name'] != '', LogAttributes['k8s.pod.name'], ResourceAttributes['k8s.pod.name']) AS k8s_pod_name,
    if(LogAttributes['k8s.namespace.name'] != '', LogAttributes['k8s.namespace.name'], ResourceAttributes['k8s.namespace.name']) AS k8s_namespace_name,
    LogAttributes['aibom.tracer'] AS tracer,
    if(LogAttributes['aibom.scan.id'] != '', LogAttributes['aibom.scan.id'], ResourceAttributes['aibom.scan.id']) AS scan_id,
    if(LogAttributes['host.name'] != '', LogAttributes['host.name'], ResourceAttributes['host.name']) AS host_name,
    if(LogAttributes['service.instance.id'] != '', LogAttributes['service.instance.id'], ResourceAttributes['service.instance.id']) AS service_instance_id
FROM `aibom`.`otel_logs`
WHERE project_id != ''
  AND if(EventName != '', toString(EventName), LogAttributes['event.name']) = 'aibom.api.call'
  AND (LogAttributes['aibom.record.id'] = '' OR (project_id, time, event_id) NOT IN (
        SELECT project_id, time, event_id FROM `aibom`.`runtime_api_calls`
        WHERE (project_id, time) IN (SELECT if(LogAttributes['aibom.project.id'] != '', LogAttributes['aibom.project.id'], ResourceAttributes['aibom.project.id']), Timestamp FROM `aibom`.`otel_logs`)))
LIMIT 1 BY project_id, time, event_id;

DROP VIEW IF EXISTS `aibom`.runtime_unsafe_scans_mv;

-- As runtime_unsafe_scans.select.sql (0013), event_id from the record id, and the check.
CREATE MATERIALIZED VIEW IF NOT EXISTS `aibom`.runtime_unsafe_scans_mv_v2 TO `aibom`.runtime_unsafe_scans AS
SELECT
    if(LogAttributes['aibom.project.id'] != '', LogAttributes['aibom.project.id'], ResourceAttributes['aibom.project.id']) AS project_id,
    Timestamp AS time,
    if(LogAttributes['aibom.record.id'] = '', rand64(), cityHash64(LogAttributes['aibom.record.id'])) AS event_id,
    if(LogAttributes['file.path'] != '', LogAttributes['file.path'], Body) AS file_path,
    LogAttributes['aibom.artifact.id'] AS artifact_id,
    LogAttributes['aibom.artifact.name'] AS artifact_name,
    LogAttributes['aibom.artifact.type'] AS artifact_type,
    LogAttributes['aibom.artifact.format'] AS artifact_format,
    LogAttributes['aibom.artifact.provider'] AS artifact_provider,
    LogAttributes['aibom.artifact.sha256'] AS artifact_sha256,
    multiIf(LogAttributes['aibom.artifact.unsafe'] = 'true', true, LogAttributes['aibom.artifact.unsafe'] = 'false', false, NULL) AS artifact_unsafe,
    LogAttributes['aibom.artifact.unsafe_reason'] AS artifact_unsafe_reason,
    LogAttributes['aibom.artifact.unsafe_scan_error'] AS artifact_unsafe_scan_error,
    toUInt32OrZero(LogAttributes['process.pid']) AS process_pid,
    LogAttributes['process.executable.name'] AS process_executable_name,
    if(LogAttributes['container.id'] != '', LogAttributes['container.id'], ResourceAttributes['container.id']) AS container_id,
    if(LogAttributes['host.name'] != '', LogAttributes['host.name'], ResourceAttributes['host.name']) AS host_name,
    if(LogAttributes['service.instance.id'] != '', LogAttributes['service.instance.id'], ResourceAttributes['service.instance.id']) AS service_instance_id
FROM `aibom`.`otel_logs`
WHERE project_id != ''
  AND if(EventName != '', toString(EventName), LogAttributes['event.name']) = 'aibom.artifact.identified'
  AND (mapContains(LogAttributes, 'aibom.artifact.unsafe') OR mapContains(LogAttributes, 'aibom.artifact.unsafe_scan_error'))
  AND (LogAttributes['aibom.record.id'] = '' OR (project_id, time, event_id) NOT IN (
        SELECT project_id, time, event_id FROM `aibom`.`runtime_unsafe_scans`
        WHERE (project_id, time) IN (SELECT if(LogAttributes['aibom.project.id'] != '', LogAttributes['aibom.project.id'], ResourceAttributes['aibom.project.id']), Timestamp FROM `aibom`.`otel_logs`)))
LIMIT 1 BY project_id, time, event_id;


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
CREATE TABLE IF NOT EXISTS {{db}}.{{t:logs}}
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
ALTER TABLE {{db}}.{{t:logs}} ADD COLUMN IF NOT EXISTS EventName LowCardinality(String) DEFAULT '';

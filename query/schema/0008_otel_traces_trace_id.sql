-- rotel's trace id -> time range lookup (TRACES_TABLE_ID_TS_SQL and TRACES_TABLE_ID_TS_MV_SQL
-- of src/bin/clickhouse-ddl/ddl_traces.rs, streamfold/rotel v0.0.1-alpha25, as 0002): the
-- exporter never writes it, its view fills it from the traces table; Grafana's ClickHouse
-- plugin uses it to find a trace. With this, the sidecar's migrations are the only copy of
-- the collector's DDL (scripts/stack applies nothing else).
CREATE TABLE IF NOT EXISTS {{db}}.{{t:traces_trace_id_ts}} (
     TraceId String CODEC(ZSTD(1)),
     Start DateTime CODEC(Delta, ZSTD(1)),
     End DateTime CODEC(Delta, ZSTD(1)),
     INDEX idx_trace_id TraceId TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = MergeTree
PARTITION BY toDate(Start)
ORDER BY (TraceId, Start)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.{{t:traces_trace_id_ts_mv}}
TO {{db}}.{{t:traces_trace_id_ts}}
AS SELECT
	TraceId,
	min(Timestamp) as Start,
	max(Timestamp) as End
FROM
{{db}}.{{t:traces}}
WHERE TraceId != ''
GROUP BY TraceId;

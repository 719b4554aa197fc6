-- Fills runtime_events from the collector's logs table as rows arrive. Reads only the
-- attribute maps, Timestamp and EventName, never columns that differ between exporters.
-- Placeholders (in double braces): attr.X, event.X, record.X are aibom-semconv constants,
-- names.X the resource names semconv lacks (query/src/names.rs), either:NAME the log
-- attribute NAME, else the resource attribute NAME (per-event context first).
-- Event name: the OTLP EventName when the exporter stores it, else the `event.name` log
-- attribute, else '' (the installed rotel drops it: see query/README.md on twins).
CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.runtime_events_mv TO {{db}}.runtime_events AS
SELECT
    {{either:attr.PROJECT_ID}} AS project_id,
    Timestamp AS time,
    rand64() AS event_id,
    if(EventName != '', toString(EventName), LogAttributes['{{record.EVENT_NAME}}']) AS event_name,
    LogAttributes['{{attr.ARTIFACT_ID}}'] AS artifact_id,
    LogAttributes['{{attr.ARTIFACT_NAME}}'] AS artifact_name,
    LogAttributes['{{attr.ARTIFACT_TYPE}}'] AS artifact_type,
    LogAttributes['{{attr.ARTIFACT_ROLE}}'] AS artifact_role,
    LogAttributes['{{attr.ARTIFACT_FORMAT}}'] AS artifact_format,
    LogAttributes['{{attr.ARTIFACT_FORMAT_MISMATCH}}'] AS artifact_format_mismatch,
    LogAttributes['{{attr.ARTIFACT_PROVIDER}}'] AS artifact_provider,
    LogAttributes['{{attr.ARTIFACT_LICENSE}}'] AS artifact_license,
    LogAttributes['{{attr.ARTIFACT_REVISION}}'] AS artifact_revision,
    LogAttributes['{{attr.ARTIFACT_SHA256}}'] AS artifact_sha256,
    if(LogAttributes['{{attr.FILE_PATH}}'] != '', LogAttributes['{{attr.FILE_PATH}}'], Body) AS file_path,
    toUInt64OrNull(LogAttributes['{{attr.FILE_SIZE}}']) AS file_size,
    LogAttributes['{{attr.ACCESS_MODE}}'] AS access_mode,
    ifNull(toUInt64OrNull(LogAttributes['{{attr.ACCESS_COUNT}}']), 1) AS access_count,
    toUInt32OrZero(LogAttributes['{{attr.PROCESS_PID}}']) AS process_pid,
    toUInt32OrNull(LogAttributes['{{attr.PROCESS_PARENT_PID}}']) AS process_parent_pid,
    LogAttributes['{{attr.PROCESS_EXECUTABLE_NAME}}'] AS process_executable_name,
    LogAttributes['{{attr.PROCESS_EXECUTABLE_PATH}}'] AS process_executable_path,
    LogAttributes['{{attr.PROCESS_OWNER}}'] AS process_owner,
    {{either:names.CONTAINER_ID}} AS container_id,
    {{either:names.K8S_POD_NAME}} AS k8s_pod_name,
    {{either:names.K8S_NAMESPACE_NAME}} AS k8s_namespace_name,
    LogAttributes['{{attr.TRACER}}'] AS tracer,
    {{either:names.SCAN_ID}} AS scan_id,
    {{either:names.HOST_NAME}} AS host_name,
    {{either:names.SERVICE_INSTANCE_ID}} AS service_instance_id
FROM {{db}}.{{t:logs}}
WHERE project_id != ''
  AND event_name IN ('{{event.ARTIFACT_ACCESS}}', '{{event.ARTIFACT_IDENTIFIED}}', '');

-- Scan evidence and attribution: how each access was found (`aibom.access.origin`: a
-- tracer, or a scan's inventory of files held before the scan began), how its project was
-- decided, and the (redacted) command line of its process. Migrations 0001-0008 stay as
-- deployed; the view is replaced as in 0006 (run --migrate before the collector writes).
ALTER TABLE {{db}}.runtime_events
    ADD COLUMN IF NOT EXISTS access_origin LowCardinality(String) AFTER scan_id,
    ADD COLUMN IF NOT EXISTS project_source LowCardinality(String) AFTER access_origin,
    ADD COLUMN IF NOT EXISTS process_command_line String CODEC(ZSTD(3)) AFTER process_owner;

DROP VIEW IF EXISTS {{db}}.runtime_events_mv_v2;

-- As 0006, plus the three columns above.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.runtime_events_mv_v3 TO {{db}}.runtime_events AS
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
    {{either:attr.CONTAINER_ID}} AS container_id,
    {{either:attr.CONTAINER_RUNTIME_NAME}} AS container_runtime_name,
    {{either:attr.K8S_POD_NAME}} AS k8s_pod_name,
    {{either:attr.K8S_POD_UID}} AS k8s_pod_uid,
    {{either:attr.K8S_NAMESPACE_NAME}} AS k8s_namespace_name,
    LogAttributes['{{attr.TRACER}}'] AS tracer,
    {{either:attr.SCAN_ID}} AS scan_id,
    LogAttributes['{{attr.ACCESS_ORIGIN}}'] AS access_origin,
    LogAttributes['{{attr.PROJECT_SOURCE}}'] AS project_source,
    LogAttributes['{{attr.PROCESS_COMMAND_LINE}}'] AS process_command_line,
    {{either:attr.HOST_NAME}} AS host_name,
    {{either:attr.SERVICE_INSTANCE_ID}} AS service_instance_id
FROM {{db}}.{{t:logs}}
WHERE project_id != ''
  AND event_name IN ('{{event.ARTIFACT_ACCESS}}', '{{event.ARTIFACT_IDENTIFIED}}', '');

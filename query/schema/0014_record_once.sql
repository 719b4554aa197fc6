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
ALTER TABLE {{db}}.runtime_events
    ADD COLUMN IF NOT EXISTS record_id UUID AFTER event_id;

DROP VIEW IF EXISTS {{db}}.runtime_events_mv_v4;

-- As 0012, plus record_id, event_id from it, and the check.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.runtime_events_mv_v5 TO {{db}}.runtime_events AS
SELECT
    {{either:attr.PROJECT_ID}} AS project_id,
    Timestamp AS time,
    if(LogAttributes['{{attr.RECORD_ID}}'] = '', rand64(), cityHash64(LogAttributes['{{attr.RECORD_ID}}'])) AS event_id,
    toUUIDOrZero(LogAttributes['{{attr.RECORD_ID}}']) AS record_id,
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
    concat(
        if(LogAttributes['{{attr.FILE_PATH}}'] != '', LogAttributes['{{attr.FILE_PATH}}'], Body),
        if(LogAttributes['{{attr.ARTIFACT_EMBEDDED}}'] != '', concat('#', LogAttributes['{{attr.ARTIFACT_EMBEDDED}}']), '')
    ) AS file_path,
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
    LogAttributes['{{attr.ARTIFACT_WHOLE_ID}}'] AS artifact_whole_id,
    toUInt64OrNull(LogAttributes['{{attr.ARTIFACT_PART_INDEX}}']) AS artifact_part_index,
    toUInt64OrNull(LogAttributes['{{attr.ARTIFACT_PART_COUNT}}']) AS artifact_part_count,
    toUInt64OrNull(LogAttributes['{{attr.ARTIFACT_WHOLE_FILES}}']) AS artifact_whole_files,
    toUInt64OrNull(LogAttributes['{{attr.ARTIFACT_WHOLE_BYTES}}']) AS artifact_whole_bytes,
    LogAttributes['{{attr.ARTIFACT_WHOLE_SHA256}}'] AS artifact_whole_sha256,
    LogAttributes['{{attr.ARTIFACT_EMBEDDED}}'] AS artifact_embedded,
    {{either:attr.HOST_NAME}} AS host_name,
    {{either:attr.SERVICE_INSTANCE_ID}} AS service_instance_id
FROM {{db}}.{{t:logs}}
WHERE project_id != ''
  AND event_name IN ('{{event.ARTIFACT_ACCESS}}', '{{event.ARTIFACT_IDENTIFIED}}', '')
  AND {{once:runtime_events}}
LIMIT 1 BY project_id, time, event_id;

DROP VIEW IF EXISTS {{db}}.runtime_violations_mv;

-- As runtime_violations.select.sql (0010), event_id from the record id, and the check.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.runtime_violations_mv_v2 TO {{db}}.runtime_violations AS
SELECT
    {{either:attr.PROJECT_ID}} AS project_id,
    Timestamp AS time,
    if(LogAttributes['{{attr.RECORD_ID}}'] = '', rand64(), cityHash64(LogAttributes['{{attr.RECORD_ID}}'])) AS event_id,
    LogAttributes['{{attr.POLICY_RULE}}'] AS policy_rule,
    LogAttributes['{{attr.POLICY_ACTION}}'] AS policy_action,
    LogAttributes['{{attr.POLICY_SEVERITY}}'] AS policy_severity,
    LogAttributes['{{attr.POLICY_ENFORCED}}'] = 'true' AS policy_enforced,
    LogAttributes['{{attr.ARTIFACT_ID}}'] AS artifact_id,
    LogAttributes['{{attr.ARTIFACT_NAME}}'] AS artifact_name,
    LogAttributes['{{attr.ARTIFACT_TYPE}}'] AS artifact_type,
    LogAttributes['{{attr.ARTIFACT_ROLE}}'] AS artifact_role,
    LogAttributes['{{attr.ARTIFACT_FORMAT}}'] AS artifact_format,
    LogAttributes['{{attr.ARTIFACT_PROVIDER}}'] AS artifact_provider,
    LogAttributes['{{attr.ARTIFACT_LICENSE}}'] AS artifact_license,
    LogAttributes['{{attr.ARTIFACT_REVISION}}'] AS artifact_revision,
    LogAttributes['{{attr.ARTIFACT_SHA256}}'] AS artifact_sha256,
    if(LogAttributes['{{attr.FILE_PATH}}'] != '', LogAttributes['{{attr.FILE_PATH}}'], Body) AS file_path,
    LogAttributes['{{attr.ACCESS_MODE}}'] AS access_mode,
    toUInt32OrZero(LogAttributes['{{attr.PROCESS_PID}}']) AS process_pid,
    LogAttributes['{{attr.PROCESS_EXECUTABLE_NAME}}'] AS process_executable_name,
    LogAttributes['{{attr.PROCESS_EXECUTABLE_PATH}}'] AS process_executable_path,
    LogAttributes['{{attr.PROCESS_COMMAND_LINE}}'] AS process_command_line,
    LogAttributes['{{attr.PROCESS_OWNER}}'] AS process_owner,
    {{either:attr.CONTAINER_ID}} AS container_id,
    {{either:attr.K8S_POD_NAME}} AS k8s_pod_name,
    {{either:attr.K8S_NAMESPACE_NAME}} AS k8s_namespace_name,
    LogAttributes['{{attr.TRACER}}'] AS tracer,
    {{either:attr.SCAN_ID}} AS scan_id,
    {{either:attr.HOST_NAME}} AS host_name,
    {{either:attr.SERVICE_INSTANCE_ID}} AS service_instance_id
FROM {{db}}.{{t:logs}}
WHERE project_id != ''
  AND if(EventName != '', toString(EventName), LogAttributes['{{record.EVENT_NAME}}']) = '{{event.POLICY_VIOLATION}}'
  AND {{once:runtime_violations}}
LIMIT 1 BY project_id, time, event_id;

DROP VIEW IF EXISTS {{db}}.runtime_api_calls_mv;

-- As runtime_api_calls.select.sql (0011), event_id from the record id, and the check.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.runtime_api_calls_mv_v2 TO {{db}}.runtime_api_calls AS
SELECT
    {{either:attr.PROJECT_ID}} AS project_id,
    Timestamp AS time,
    if(LogAttributes['{{attr.RECORD_ID}}'] = '', rand64(), cityHash64(LogAttributes['{{attr.RECORD_ID}}'])) AS event_id,
    LogAttributes['{{attr.API_PROVIDER}}'] AS api_provider,
    LogAttributes['{{attr.GEN_AI_PROVIDER_NAME}}'] AS gen_ai_provider_name,
    LogAttributes['{{attr.GEN_AI_REQUEST_MODEL}}'] AS gen_ai_request_model,
    LogAttributes['{{attr.GEN_AI_RESPONSE_MODEL}}'] AS gen_ai_response_model,
    LogAttributes['{{attr.GEN_AI_OPERATION_NAME}}'] AS gen_ai_operation_name,
    LogAttributes['{{attr.SERVER_ADDRESS}}'] AS server_address,
    toUInt16OrZero(LogAttributes['{{attr.SERVER_PORT}}']) AS server_port,
    LogAttributes['{{attr.URL_PATH}}'] AS url_path,
    LogAttributes['{{attr.HTTP_REQUEST_METHOD}}'] AS http_request_method,
    toUInt16OrZero(LogAttributes['{{attr.HTTP_RESPONSE_STATUS_CODE}}']) AS http_response_status_code,
    LogAttributes['{{attr.API_SEEN_BY}}'] AS api_seen_by,
    greatest(toUInt64OrZero(LogAttributes['{{attr.API_COUNT}}']), 1) AS api_count,
    LogAttributes['{{attr.API_TLS_LIBRARY}}'] AS api_tls_library,
    toUInt64OrNull(LogAttributes['{{attr.GEN_AI_USAGE_INPUT_TOKENS}}']) AS gen_ai_usage_input_tokens,
    toUInt64OrNull(LogAttributes['{{attr.GEN_AI_USAGE_OUTPUT_TOKENS}}']) AS gen_ai_usage_output_tokens,
    toUInt32OrZero(LogAttributes['{{attr.PROCESS_PID}}']) AS process_pid,
    LogAttributes['{{attr.PROCESS_EXECUTABLE_NAME}}'] AS process_executable_name,
    LogAttributes['{{attr.PROCESS_EXECUTABLE_PATH}}'] AS process_executable_path,
    LogAttributes['{{attr.PROCESS_COMMAND_LINE}}'] AS process_command_line,
    LogAttributes['{{attr.PROCESS_OWNER}}'] AS process_owner,
    {{either:attr.CONTAINER_ID}} AS container_id,
    {{either:attr.K8S_POD_NAME}} AS k8s_pod_name,
    {{either:attr.K8S_NAMESPACE_NAME}} AS k8s_namespace_name,
    LogAttributes['{{attr.TRACER}}'] AS tracer,
    {{either:attr.SCAN_ID}} AS scan_id,
    {{either:attr.HOST_NAME}} AS host_name,
    {{either:attr.SERVICE_INSTANCE_ID}} AS service_instance_id
FROM {{db}}.{{t:logs}}
WHERE project_id != ''
  AND if(EventName != '', toString(EventName), LogAttributes['{{record.EVENT_NAME}}']) = '{{event.API_CALL}}'
  AND {{once:runtime_api_calls}}
LIMIT 1 BY project_id, time, event_id;

DROP VIEW IF EXISTS {{db}}.runtime_unsafe_scans_mv;

-- As runtime_unsafe_scans.select.sql (0013), event_id from the record id, and the check.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.runtime_unsafe_scans_mv_v2 TO {{db}}.runtime_unsafe_scans AS
SELECT
    {{either:attr.PROJECT_ID}} AS project_id,
    Timestamp AS time,
    if(LogAttributes['{{attr.RECORD_ID}}'] = '', rand64(), cityHash64(LogAttributes['{{attr.RECORD_ID}}'])) AS event_id,
    if(LogAttributes['{{attr.FILE_PATH}}'] != '', LogAttributes['{{attr.FILE_PATH}}'], Body) AS file_path,
    LogAttributes['{{attr.ARTIFACT_ID}}'] AS artifact_id,
    LogAttributes['{{attr.ARTIFACT_NAME}}'] AS artifact_name,
    LogAttributes['{{attr.ARTIFACT_TYPE}}'] AS artifact_type,
    LogAttributes['{{attr.ARTIFACT_FORMAT}}'] AS artifact_format,
    LogAttributes['{{attr.ARTIFACT_PROVIDER}}'] AS artifact_provider,
    LogAttributes['{{attr.ARTIFACT_SHA256}}'] AS artifact_sha256,
    multiIf(LogAttributes['{{attr.ARTIFACT_UNSAFE}}'] = 'true', true, LogAttributes['{{attr.ARTIFACT_UNSAFE}}'] = 'false', false, NULL) AS artifact_unsafe,
    LogAttributes['{{attr.ARTIFACT_UNSAFE_REASON}}'] AS artifact_unsafe_reason,
    LogAttributes['{{attr.ARTIFACT_UNSAFE_SCAN_ERROR}}'] AS artifact_unsafe_scan_error,
    toUInt32OrZero(LogAttributes['{{attr.PROCESS_PID}}']) AS process_pid,
    LogAttributes['{{attr.PROCESS_EXECUTABLE_NAME}}'] AS process_executable_name,
    {{either:attr.CONTAINER_ID}} AS container_id,
    {{either:attr.HOST_NAME}} AS host_name,
    {{either:attr.SERVICE_INSTANCE_ID}} AS service_instance_id
FROM {{db}}.{{t:logs}}
WHERE project_id != ''
  AND if(EventName != '', toString(EventName), LogAttributes['{{record.EVENT_NAME}}']) = '{{event.ARTIFACT_IDENTIFIED}}'
  AND (mapContains(LogAttributes, '{{attr.ARTIFACT_UNSAFE}}') OR mapContains(LogAttributes, '{{attr.ARTIFACT_UNSAFE_SCAN_ERROR}}'))
  AND {{once:runtime_unsafe_scans}}
LIMIT 1 BY project_id, time, event_id;

-- Not a migration: the collector's violation records as runtime_violations rows, shared by the
-- view and the backfill of 0010. The event name as in runtime_events (EventName, else the
-- `event.name` attribute); the enforced flag arrives stringified (`true`/`false`).
SELECT
    {{either:attr.PROJECT_ID}} AS project_id,
    Timestamp AS time,
    rand64() AS event_id,
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

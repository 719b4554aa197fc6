-- Not a migration: the collector's scanned `identified` records as runtime_unsafe_scans rows,
-- shared by the view and the backfill of 0012. The verdict arrives stringified
-- (`true`/`false`), absent when unknown.
SELECT
    {{either:attr.PROJECT_ID}} AS project_id,
    Timestamp AS time,
    rand64() AS event_id,
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

-- Many files, one artifact (issue 15): typed columns for the parts of a sharded model or a
-- dataset of many files (`aibom.artifact.whole.*`, `aibom.artifact.part.*`) and for artifacts
-- stored inside another file (`aibom.artifact.embedded`: chat templates). An embedded
-- artifact's rows are kept under `PATH#KEY` (`/m/tiny.gguf#tokenizer.chat_template`), so the
-- per-path aggregates (runtime_artifacts, the summary, the AI-BOM) never mix a template's
-- type and hash into its file's. Migrations 0001-0011 stay as deployed; the view is replaced
-- as in 0009 (run --migrate before the collector writes).
ALTER TABLE {{db}}.runtime_events
    ADD COLUMN IF NOT EXISTS artifact_whole_id String CODEC(ZSTD(1)) AFTER process_command_line,
    ADD COLUMN IF NOT EXISTS artifact_part_index Nullable(UInt64) AFTER artifact_whole_id,
    ADD COLUMN IF NOT EXISTS artifact_part_count Nullable(UInt64) AFTER artifact_part_index,
    ADD COLUMN IF NOT EXISTS artifact_whole_files Nullable(UInt64) AFTER artifact_part_count,
    ADD COLUMN IF NOT EXISTS artifact_whole_bytes Nullable(UInt64) AFTER artifact_whole_files,
    ADD COLUMN IF NOT EXISTS artifact_whole_sha256 String CODEC(ZSTD(1)) AFTER artifact_whole_bytes,
    ADD COLUMN IF NOT EXISTS artifact_embedded LowCardinality(String) AFTER artifact_whole_sha256;

DROP VIEW IF EXISTS {{db}}.runtime_events_mv_v3;

-- As 0009, plus the columns above and the `PATH#KEY` of embedded artifacts.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.runtime_events_mv_v4 TO {{db}}.runtime_events AS
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
  AND event_name IN ('{{event.ARTIFACT_ACCESS}}', '{{event.ARTIFACT_IDENTIFIED}}', '');

-- Not a migration: the aggregation of runtime_events into runtime_artifacts, shared by the
-- view and backfill of 0007 and by the rebuild after a DELETE. Callers append WHERE (optional)
-- and GROUP BY project_id, file_path, month. Columns in runtime_artifacts order.
SELECT
    project_id,
    file_path,
    toStartOfMonth(time) AS month,
    count() AS events,
    sumIf(access_count, event_name = '{{event.ARTIFACT_ACCESS}}') AS accesses,
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
FROM {{db}}.runtime_events

-- Not a migration: the collector's API-call records as runtime_api_calls rows, shared by the
-- view and the backfill of 0011. The event name as in runtime_events (EventName, else the
-- `event.name` attribute). Numbers arrive stringified: an absent port or status is 0, absent
-- token counts are NULL (unknown, not zero), and a record stands for one call at least.
SELECT
    {{either:attr.PROJECT_ID}} AS project_id,
    Timestamp AS time,
    rand64() AS event_id,
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

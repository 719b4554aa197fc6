//! The real collector: rotel-agent (tests/requirements.txt) receives OTLP and writes, with
//! its ClickHouse exporter, into the tables `--migrate` created; the event reaches the API.
mod common;

use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn kv(k: &str, v: Value) -> Value {
    json!({"key": k, "value": v})
}

fn post(url: &str, body: Value) -> u16 {
    block(async {
        reqwest::Client::new()
            .post(url)
            .json(&body)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    })
}

#[test]
fn rotel_writes_what_the_api_serves() {
    let Some(agent) = rotel_agent() else {
        skip("rotel-agent is not in .venv (scripts/setup installs tests/requirements.txt)");
        return;
    };
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    assert!(migrate(&ch).status.success());
    let sc = Sidecar::start(&ch, &[]);
    let (http, grpc) = (free_port(), free_port());
    let _rotel = Killed(rotel_command(&agent, &ch, http, grpc).spawn().unwrap());
    let base = format!("http://127.0.0.1:{http}");
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap();
    let resource = json!({"attributes": [kv(attr::SERVICE_NAME, json!({"stringValue": "aibomd"})), kv(attr::HOST_NAME, json!({"stringValue": "node-9"}))]});
    let log = json!({"resourceLogs": [{"resource": resource, "scopeLogs": [{"scope": {"name": "aibomd"}, "logRecords": [{
    "timeUnixNano": now.to_string(), "eventName": event::ARTIFACT_ACCESS, "severityNumber": 9, "severityText": "INFO",
    "body": {"stringValue": "/models/r.safetensors"},
    "attributes": [
        kv(attr::PROJECT_ID, json!({"stringValue": "rotel-proj"})),
        kv(attr::FILE_PATH, json!({"stringValue": "/models/r.safetensors"})),
        kv(attr::PROCESS_PID, json!({"intValue": "4242"})),
        kv(attr::ACCESS_COUNT, json!({"intValue": "3"})),
        kv(attr::ARTIFACT_TYPE, json!({"stringValue": "model"})),
        kv(attr::FILE_SIZE, json!({"intValue": "1024"})),
    ]}, {
    // A policy violation as aibomd exports it: the access's attributes, the verdict (the
    // enforced flag a boolean), the event name also as an attribute.
    "timeUnixNano": now.to_string(), "eventName": event::POLICY_VIOLATION, "severityNumber": 17, "severityText": "ERROR",
    "body": {"stringValue": "/models/r.safetensors"},
    "attributes": [
        kv(record::EVENT_NAME, json!({"stringValue": event::POLICY_VIOLATION})),
        kv(attr::PROJECT_ID, json!({"stringValue": "rotel-proj"})),
        kv(attr::FILE_PATH, json!({"stringValue": "/models/r.safetensors"})),
        kv(attr::PROCESS_PID, json!({"intValue": "4242"})),
        kv(attr::ARTIFACT_TYPE, json!({"stringValue": "model"})),
        kv(attr::POLICY_RULE, json!({"stringValue": "no-unsigned-models"})),
        kv(attr::POLICY_ACTION, json!({"stringValue": aibom_semconv::policy_action::DENY})),
        kv(attr::POLICY_SEVERITY, json!({"stringValue": aibom_semconv::policy_severity::HIGH})),
        kv(attr::POLICY_ENFORCED, json!({"boolValue": true})),
    ]}, {
    // An AI API call as aibomd exports it: numbers as OTLP ints, no file, the event name also
    // as an attribute.
    "timeUnixNano": now.to_string(), "eventName": event::API_CALL, "severityNumber": 9, "severityText": "INFO",
    "body": {"stringValue": "openai gpt-4o-mini api.openai.com:443"},
    "attributes": [
        kv(record::EVENT_NAME, json!({"stringValue": event::API_CALL})),
        kv(attr::PROJECT_ID, json!({"stringValue": "rotel-proj"})),
        kv(attr::API_PROVIDER, json!({"stringValue": aibom_semconv::api_provider::OPENAI})),
        kv(attr::GEN_AI_PROVIDER_NAME, json!({"stringValue": "openai"})),
        kv(attr::GEN_AI_REQUEST_MODEL, json!({"stringValue": "gpt-4o-mini"})),
        kv(attr::GEN_AI_OPERATION_NAME, json!({"stringValue": "chat"})),
        kv(attr::SERVER_ADDRESS, json!({"stringValue": "api.openai.com"})),
        kv(attr::SERVER_PORT, json!({"intValue": "443"})),
        kv(attr::URL_PATH, json!({"stringValue": "/v1/chat/completions"})),
        kv(attr::HTTP_REQUEST_METHOD, json!({"stringValue": "POST"})),
        kv(attr::HTTP_RESPONSE_STATUS_CODE, json!({"intValue": "200"})),
        kv(attr::GEN_AI_USAGE_INPUT_TOKENS, json!({"intValue": "12"})),
        kv(attr::GEN_AI_USAGE_OUTPUT_TOKENS, json!({"intValue": "34"})),
        kv(attr::API_SEEN_BY, json!({"stringValue": aibom_semconv::api_seen_by::UPROBE})),
        kv(attr::API_COUNT, json!({"intValue": "3"})),
        kv(attr::PROCESS_PID, json!({"intValue": "4243"})),
        kv(attr::PROCESS_EXECUTABLE_NAME, json!({"stringValue": "python3"})),
        kv(attr::PROCESS_COMMAND_LINE, json!({"stringValue": "python3 chat.py"})),
        kv(attr::TRACER, json!({"stringValue": "ebpf"})),
    ]}]}]}]});
    let end = (now + 5_000_000).to_string();
    let span = json!({"resourceSpans": [{"resource": resource, "scopeSpans": [{"scope": {"name": "aibomd"}, "spans": [{
        "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "aibom.process", "kind": 1,
        "startTimeUnixNano": now.to_string(), "endTimeUnixNano": end,
        "events": [{"timeUnixNano": now.to_string(), "name": event::ARTIFACT_ACCESS, "attributes": [kv(attr::FILE_PATH, json!({"stringValue": "/m"}))]}]}]}]}]});
    let metrics = json!({"resourceMetrics": [{"resource": resource, "scopeMetrics": [{"scope": {"name": "aibomd"}, "metrics": [
        {"name": "aibom.tracer.events.seen", "sum": {"dataPoints": [{"asInt": "5", "startTimeUnixNano": now.to_string(), "timeUnixNano": end}], "aggregationTemporality": 2, "isMonotonic": true}},
        {"name": "aibom.pipeline.queue.depth", "gauge": {"dataPoints": [{"asInt": "3", "timeUnixNano": end}]}}]}]}]});
    let start = Instant::now();
    while post(&format!("{base}/v1/logs"), log.clone()) != 200 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "rotel did not accept OTLP"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(post(&format!("{base}/v1/traces"), span), 200);
    assert_eq!(post(&format!("{base}/v1/metrics"), metrics), 200);

    let url = format!("{}/projects/rotel-proj/runtime/events", sc.base);
    let start = Instant::now();
    let ev = loop {
        let r = call("GET", &url, Some(TOKEN), None);
        if let Some(e) = r.json["events"].as_array().and_then(|a| a.first()) {
            break e.clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no event from rotel: {}",
            r.text
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(ev[attr::PROCESS_PID], 4242);
    assert_eq!(ev[attr::ACCESS_COUNT], 3);
    assert_eq!(ev[attr::FILE_SIZE], 1024);
    assert_eq!(ev[attr::HOST_NAME], "node-9");
    assert_eq!(
        ev[record::TIMESTAMP],
        chrono::DateTime::<chrono::Utc>::from_timestamp_nanos(now)
            .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
    );
    let events = call("GET", &url, Some(TOKEN), None);
    assert_eq!(
        events.json["events"].as_array().unwrap().len(),
        1,
        "neither the violation nor the API call is an event: {}",
        events.text
    );
    let v = &call(
        "GET",
        &format!("{}/projects/rotel-proj/runtime/violations", sc.base),
        Some(TOKEN),
        None,
    )
    .json["violations"][0];
    assert_eq!(v[attr::POLICY_RULE], "no-unsigned-models", "{v}");
    assert_eq!(v[attr::POLICY_ACTION], aibom_semconv::policy_action::DENY);
    assert_eq!(
        v[attr::POLICY_SEVERITY],
        aibom_semconv::policy_severity::HIGH
    );
    assert_eq!(
        v[attr::POLICY_ENFORCED],
        json!(true),
        "rotel's stringified bool"
    );
    assert_eq!(v[attr::PROCESS_PID], 4242);
    assert_eq!(v[attr::HOST_NAME], "node-9");
    // The API call: its own typed row (no event, no violation), the ints typed again.
    let row = ch.sql(
        "SELECT project_id, api_provider, gen_ai_provider_name, gen_ai_request_model, \
         gen_ai_operation_name, server_address, server_port, url_path, http_request_method, \
         http_response_status_code, api_seen_by, api_count, gen_ai_usage_input_tokens, \
         gen_ai_usage_output_tokens, process_pid, process_executable_name, \
         process_command_line, host_name, toUnixTimestamp64Nano(time) \
         FROM runtime_api_calls FORMAT TSV",
        "",
    );
    assert_eq!(
        row.trim_end().split('\t').collect::<Vec<_>>(),
        [
            "rotel-proj",
            aibom_semconv::api_provider::OPENAI,
            "openai",
            "gpt-4o-mini",
            "chat",
            "api.openai.com",
            "443",
            "/v1/chat/completions",
            "POST",
            "200",
            aibom_semconv::api_seen_by::UPROBE,
            "3",
            "12",
            "34",
            "4243",
            "python3",
            "python3 chat.py",
            "node-9",
            &now.to_string(),
        ],
        "one typed row: {row}"
    );
    let c = &call(
        "GET",
        &format!("{}/projects/rotel-proj/runtime/api-calls", sc.base),
        Some(TOKEN),
        None,
    )
    .json["api_calls"];
    assert_eq!(c.as_array().map(Vec::len), Some(1), "{c}");
    assert_eq!(c[0][attr::SERVER_PORT], 443);
    assert_eq!(c[0][attr::API_COUNT], 3);
    assert_eq!(c[0][attr::GEN_AI_REQUEST_MODEL], "gpt-4o-mini");
    let violations = call(
        "GET",
        &format!("{}/projects/rotel-proj/runtime/violations", sc.base),
        Some(TOKEN),
        None,
    );
    assert_eq!(
        violations.json["violations"].as_array().unwrap().len(),
        1,
        "the API call is no violation"
    );
    for table in ["otel_traces", "otel_metrics_sum", "otel_metrics_gauge"] {
        let start = Instant::now();
        while ch.sql(&format!("SELECT count() FROM {table}"), "").trim() == "0" {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "rotel wrote nothing into {table}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

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
        "the violation is no event: {}",
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

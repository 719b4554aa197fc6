//! Exactly once at the store (migration 0014): the same OTLP log request delivered three
//! times through the real collector (rotel-agent → chDB), as aibomd's spool sends a request
//! again after a crash, a timeout or a collector restart, is counted once by every route:
//! summary, events, violations, API calls, unsafe files, AI-BOM. A record repeated inside
//! one request is stored once too. Records without `aibom.record.id` (older exporters) are
//! stored as before: once per delivery, nothing tells two deliveries apart.
mod common;

use aibom_semconv::{api_provider, event, policy_action, policy_severity};
use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const ONCE: &str = "once-proj";
const LEGACY: &str = "legacy-proj";

fn kv(k: &str, v: &str) -> Value {
    json!({"key": k, "value": {"stringValue": v}})
}

fn int(k: &str, v: i64) -> Value {
    json!({"key": k, "value": {"intValue": v.to_string()}})
}

/// A record id as aibomd makes them: UUID version 8, 64 random bits per daemon start, then
/// the record's sequence number.
fn record_id(daemon: u64, seq: u64) -> String {
    let hi = (daemon & !0xF000) | 0x8000; // version 8 in the third group
    let lo = 0x8000_0000_0000_0000 | seq; // RFC 9562 variant
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}

/// One OTLP log record of `name` at `t` (ns) with `attrs`, and the event name as aibomd
/// also sends it as an attribute (rotel drops the OTLP event name).
fn rec(t: i64, name: &str, body: &str, mut attrs: Vec<Value>) -> Value {
    attrs.push(kv(record::EVENT_NAME, name));
    json!({"timeUnixNano": t.to_string(), "eventName": name, "severityNumber": 9,
           "severityText": "INFO", "body": {"stringValue": body}, "attributes": attrs})
}

fn file_attrs(project: &str, path: &str, pid: i64, extra: &[Value]) -> Vec<Value> {
    let mut a = vec![
        kv(attr::PROJECT_ID, project),
        kv(attr::FILE_PATH, path),
        int(attr::PROCESS_PID, pid),
        kv(attr::PROCESS_EXECUTABLE_NAME, "python3"),
        kv(attr::ARTIFACT_TYPE, "model"),
        kv(attr::TRACER, "ebpf"),
    ];
    a.extend_from_slice(extra);
    a
}

/// `attrs` plus `aibom.record.id` = `id`.
fn with_id(mut attrs: Vec<Value>, id: &str) -> Vec<Value> {
    attrs.push(kv(attr::RECORD_ID, id));
    attrs
}

fn request(records: Vec<Value>) -> Value {
    json!({"resourceLogs": [{"resource": {"attributes": [kv(attr::SERVICE_NAME, "aibomd"), kv(attr::HOST_NAME, "node-1")]},
        "scopeLogs": [{"scope": {"name": "aibomd"}, "logRecords": records}]}]})
}

/// One spooled request of aibomd: accesses with their identified twins (one an unsafe
/// pickle), a policy violation and an API call, each with its record id; and two identical
/// accesses of an older exporter (no id) in another project.
fn spooled(t: i64, daemon: u64) -> Value {
    let id = |seq| record_id(daemon, seq);
    let gguf = |extra: &[Value]| file_attrs(ONCE, "/m/llama.gguf", 4242, extra);
    let pkl = |extra: &[Value]| file_attrs(ONCE, "/m/evil.pkl", 4242, extra);
    let unsafe_verdict = [
        kv(attr::ARTIFACT_UNSAFE, "true"),
        kv(attr::ARTIFACT_UNSAFE_REASON, "posix.system"),
    ];
    let legacy = rec(
        t + 6,
        event::ARTIFACT_ACCESS,
        "/m/old.onnx",
        file_attrs(LEGACY, "/m/old.onnx", 1, &[int(attr::ACCESS_COUNT, 1)]),
    );
    request(vec![
        rec(
            t,
            event::ARTIFACT_ACCESS,
            "/m/llama.gguf",
            with_id(gguf(&[int(attr::ACCESS_COUNT, 2)]), &id(1)),
        ),
        rec(
            t + 1,
            event::ARTIFACT_IDENTIFIED,
            "/m/llama.gguf",
            with_id(gguf(&[kv(attr::ARTIFACT_FORMAT, "gguf")]), &id(2)),
        ),
        rec(
            t + 2,
            event::ARTIFACT_ACCESS,
            "/m/evil.pkl",
            with_id(pkl(&[int(attr::ACCESS_COUNT, 1)]), &id(3)),
        ),
        rec(
            t + 3,
            event::ARTIFACT_IDENTIFIED,
            "/m/evil.pkl",
            with_id(pkl(&unsafe_verdict), &id(4)),
        ),
        rec(
            t + 4,
            event::POLICY_VIOLATION,
            "/m/evil.pkl",
            with_id(
                pkl(&[
                    kv(attr::POLICY_RULE, "no-unsafe-pickles"),
                    kv(attr::POLICY_ACTION, policy_action::DENY),
                    kv(attr::POLICY_SEVERITY, policy_severity::HIGH),
                ]),
                &id(5),
            ),
        ),
        rec(
            t + 5,
            event::API_CALL,
            "openai api.openai.com:443",
            with_id(
                vec![
                    kv(attr::PROJECT_ID, ONCE),
                    kv(attr::API_PROVIDER, api_provider::OPENAI),
                    kv(attr::SERVER_ADDRESS, "api.openai.com"),
                    int(attr::SERVER_PORT, 443),
                    int(attr::API_COUNT, 3),
                    int(attr::PROCESS_PID, 4242),
                    kv(attr::PROCESS_EXECUTABLE_NAME, "python3"),
                ],
                &id(6),
            ),
        ),
        // an older exporter: no record id; two records alike in every field, both kept
        legacy.clone(),
        legacy,
    ])
}

fn post(url: &str, body: &Value) -> u16 {
    block(async {
        reqwest::Client::new()
            .post(url)
            .json(body)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    })
}

fn raw_rows(ch: &ClickHouse) -> u64 {
    ch.sql("SELECT count() FROM otel_logs", "")
        .trim()
        .parse()
        .unwrap()
}

/// Delivers `body` to rotel and waits until its `n` records are in the logs table: one
/// delivery at a time, as aibomd sends a spool's requests.
fn deliver(url: &str, ch: &ClickHouse, body: &Value, n: u64) {
    let want = raw_rows(ch) + n;
    let start = Instant::now();
    while post(url, body) != 200 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "rotel did not accept OTLP"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    while raw_rows(ch) < want {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "rotel wrote {} of {want} rows",
            raw_rows(ch)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn get(sc: &Sidecar, project: &str, path: &str) -> Value {
    let r = call(
        "GET",
        &format!("{}/projects/{project}/runtime/{path}", sc.base),
        Some(TOKEN),
        None,
    );
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    r.json
}

fn len(v: &Value) -> usize {
    v.as_array().map_or(0, Vec::len)
}

#[test]
fn a_request_delivered_three_times_is_counted_once() {
    let Some(agent) = rotel_agent() else {
        skip("rotel-agent is not in .venv (scripts/setup installs tests/requirements.txt)");
        return;
    };
    let Some(ch) = migrated_clickhouse() else {
        return;
    };
    let sc = Sidecar::start(&ch, &[]);
    let (http, grpc) = (free_port(), free_port());
    let _rotel = Killed(rotel_command(&agent, &ch, http, grpc).spawn().unwrap());
    let url = format!("http://127.0.0.1:{http}/v1/logs");
    let t = chrono::Utc::now().timestamp_nanos_opt().unwrap() - 60_000_000_000;
    let daemon = t as u64 ^ 0x5eed_0000_0000_0000;

    let req = spooled(t, daemon);
    for _ in 0..3 {
        deliver(&url, &ch, &req, 8);
    }
    // one request holding the same record twice (two copies merged into one insert)
    let again = rec(
        t + 7,
        event::ARTIFACT_ACCESS,
        "/m/llama.gguf",
        with_id(
            file_attrs(ONCE, "/m/llama.gguf", 4343, &[int(attr::ACCESS_COUNT, 1)]),
            &record_id(daemon, 7),
        ),
    );
    deliver(&url, &ch, &request(vec![again.clone(), again]), 2);
    assert_eq!(raw_rows(&ch), 26, "the raw table keeps every delivery");

    // summary: 5 records in runtime_events (2 files, accesses 2 + 1 + 1), one violation,
    // one API-call record of 3 calls, one unsafe file
    let s = get(&sc, ONCE, "summary");
    let totals = &s["totals"];
    assert_eq!(
        (
            totals["events"].as_u64(),
            totals["artifacts"].as_u64(),
            totals["accesses"].as_u64(),
            totals["processes"].as_u64()
        ),
        (Some(5), Some(2), Some(4), Some(2)),
        "{s:#}"
    );
    assert_eq!(s["violations"]["total"], 1, "{s:#}");
    assert_eq!(s["api_calls"]["totals"]["calls"], 3, "{s:#}");
    assert_eq!(s["api_calls"]["totals"]["records"], 1, "{s:#}");
    let u = &s["unsafe_artifacts"];
    assert_eq!(
        (u["scanned"].as_u64(), u["unsafe"].as_u64()),
        (Some(1), Some(1))
    );

    // events: each record once, under the id it was sent with
    let events = get(&sc, ONCE, "events?limit=100");
    assert_eq!(len(&events["events"]), 5, "{events:#}");
    let ids = ch.sql(
        &format!(
            "SELECT toString(record_id) FROM runtime_events WHERE project_id = '{ONCE}' ORDER BY time FORMAT TSV"
        ),
        "",
    );
    let want: Vec<String> = [1, 2, 3, 4, 7].map(|n| record_id(daemon, n)).to_vec();
    assert_eq!(ids.lines().collect::<Vec<_>>(), want);
    // the events API gives each event's id, newest first, and finds one by it
    let listed: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[attr::RECORD_ID].as_str().expect("record id"))
        .collect();
    assert_eq!(
        listed,
        want.iter().rev().map(String::as_str).collect::<Vec<_>>()
    );
    let one = get(&sc, ONCE, &format!("events?record={}", want[2]));
    assert_eq!(len(&one["events"]), 1, "{one:#}");
    assert_eq!(one["events"][0][attr::RECORD_ID], want[2].as_str());
    let r = call(
        "GET",
        &format!("{}/projects/{ONCE}/runtime/events?record=12'3", sc.base),
        Some(TOKEN),
        None,
    );
    assert_eq!(r.status, 400, "{}", r.text);

    let v = get(&sc, ONCE, "violations");
    assert_eq!(len(&v["violations"]), 1, "{v:#}");
    let c = get(&sc, ONCE, "api-calls");
    assert_eq!(len(&c["api_calls"]), 1, "{c:#}");
    assert_eq!(c["api_calls"][0][attr::API_COUNT], 3);

    // the AI-BOM: two files, one service called 3 times, the violation and verdict once
    let bom = get(&sc, ONCE, "aibom");
    let comps = bom["components"].as_array().unwrap();
    assert_eq!(comps.len(), 2, "{bom:#}");
    let services = bom["services"].as_array().unwrap();
    assert_eq!(services.len(), 1, "{bom:#}");
    assert_eq!(props(&services[0], "aibom:api.calls"), ["3"], "{bom:#}");
    let pkl = comps.iter().find(|c| c["name"] == "evil.pkl").unwrap();
    assert_eq!(props(pkl, "aibom:unsafe"), ["true"]);
    assert_eq!(props(pkl, "aibom:policy.violation").len(), 1, "{pkl:#}");

    // an older exporter's records have no id: stored once per delivery, as before (even two
    // identical ones in one request)
    let legacy = get(&sc, LEGACY, "events?limit=100");
    assert_eq!(len(&legacy["events"]), 6, "{legacy:#}");
}

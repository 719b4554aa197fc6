//! `GET /projects/{id}/runtime/api-calls` and the `api_calls` section of the summary against a
//! real ClickHouse engine (chDB behind `scripts/chdb-http`) and the real `aibom-query` binary:
//! `aibom.api.call` records shaped as rotel writes them (attributes stringified, the event name
//! in the `event.name` attribute, or in `EventName` for newer exporters).
mod common;

use aibom_semconv::{api_provider, api_seen_by};
use common::*;
use serde_json::{json, Value};
use std::collections::HashSet;

const S: i64 = 1_000_000_000;
const SCAN: &str = "7b0c6c1e-3f1a-4c1e-9a55-0d1f6a8b2c3d";

fn ts(ns: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_nanos(ns)
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// An OpenAI chat call by python3[pid]: the attributes aibomd sets when the TLS plaintext was
/// seen (uprobe), `count` calls folded.
fn openai_chat(
    project: &'static str,
    pid: &'static str,
    count: &'static str,
) -> Vec<(&'static str, &'static str)> {
    vec![
        (attr::PROJECT_ID, project),
        (attr::API_PROVIDER, api_provider::OPENAI),
        (attr::GEN_AI_PROVIDER_NAME, "openai"),
        (attr::GEN_AI_REQUEST_MODEL, "gpt-4o-mini"),
        (attr::GEN_AI_RESPONSE_MODEL, "gpt-4o-mini-2024-07-18"),
        (attr::GEN_AI_OPERATION_NAME, "chat"),
        (attr::SERVER_ADDRESS, "api.openai.com"),
        (attr::SERVER_PORT, "443"),
        (attr::URL_PATH, "/v1/chat/completions"),
        (attr::HTTP_REQUEST_METHOD, "POST"),
        (attr::HTTP_RESPONSE_STATUS_CODE, "200"),
        (attr::API_SEEN_BY, api_seen_by::UPROBE),
        (attr::API_COUNT, count),
        (
            attr::API_TLS_LIBRARY,
            "/usr/lib/x86_64-linux-gnu/libssl.so.3",
        ),
        (attr::PROCESS_PID, pid),
        (attr::PROCESS_EXECUTABLE_NAME, "python3"),
        (attr::PROCESS_COMMAND_LINE, "python3 app.py"),
        (attr::PROCESS_OWNER, "alice"),
        (attr::TRACER, "ebpf"),
    ]
}

/// An `aibom.api.call` log row: `attrs` plus the event name as an attribute (as aibomd sets it).
fn api_call(time_ns: i64, attrs: Vec<(&'static str, &'static str)>) -> Value {
    let mut a = attrs;
    a.push((record::EVENT_NAME, event::API_CALL));
    let mut row = log_row(
        time_ns,
        &a,
        &[(attr::CONTAINER_ID, "c0ffee"), (attr::HOST_NAME, "node-1")],
    );
    row["Body"] = json!("api call");
    row
}

fn with(
    mut attrs: Vec<(&'static str, &'static str)>,
    set: &[(&'static str, &'static str)],
) -> Vec<(&'static str, &'static str)> {
    for (k, v) in set {
        attrs.retain(|(key, _)| key != k);
        attrs.push((k, v));
    }
    attrs
}

fn without(
    mut attrs: Vec<(&'static str, &'static str)>,
    drop: &[&str],
) -> Vec<(&'static str, &'static str)> {
    attrs.retain(|(k, _)| !drop.contains(k));
    attrs
}

/// proj-a: 11 records, 21 calls (see the assertions); one of proj-b; one without a project.
fn fixture(ch: &ClickHouse, base: i64) {
    let t = |s: i64| base + s * S;
    let mut rows = vec![
        // One key (openai, api.openai.com:443, gpt-4o-mini, chat): counts 2, 1, 4 = 7 calls by
        // two processes; tokens on some records only.
        api_call(
            t(1),
            with(
                openai_chat("proj-a", "100", "2"),
                &[
                    (attr::GEN_AI_USAGE_INPUT_TOKENS, "10"),
                    (attr::GEN_AI_USAGE_OUTPUT_TOKENS, "5"),
                ],
            ),
        ),
        api_call(
            t(2),
            with(
                openai_chat("proj-a", "100", "1"),
                &[(attr::GEN_AI_USAGE_INPUT_TOKENS, "20")],
            ),
        ),
        api_call(t(3), openai_chat("proj-a", "101", "4")),
        // Embeddings of the same provider and host.
        api_call(
            t(4),
            with(
                openai_chat("proj-a", "100", "3"),
                &[
                    (attr::GEN_AI_REQUEST_MODEL, "text-embedding-3-small"),
                    (attr::GEN_AI_RESPONSE_MODEL, "text-embedding-3-small"),
                    (attr::GEN_AI_OPERATION_NAME, "embeddings"),
                    (attr::URL_PATH, "/v1/embeddings"),
                    (attr::GEN_AI_USAGE_INPUT_TOKENS, "7"),
                ],
            ),
        ),
        // Only the TLS server name: provider and host, no model, operation or path.
        api_call(
            t(5),
            vec![
                (attr::PROJECT_ID, "proj-a"),
                (attr::API_PROVIDER, api_provider::ANTHROPIC),
                (attr::GEN_AI_PROVIDER_NAME, "anthropic"),
                (attr::SERVER_ADDRESS, "api.anthropic.com"),
                (attr::SERVER_PORT, "443"),
                (attr::API_SEEN_BY, api_seen_by::SNI),
                (attr::API_COUNT, "1"),
                (attr::PROCESS_PID, "200"),
                (attr::PROCESS_EXECUTABLE_NAME, "node"),
            ],
        ),
        api_call(t(8), openai_chat("proj-b", "100", "1")),
    ];
    // Five records at one instant (paging across equal times): another model.
    for _ in 0..5 {
        rows.push(api_call(
            t(7),
            with(
                openai_chat("proj-a", "100", "1"),
                &[
                    (attr::GEN_AI_REQUEST_MODEL, "gpt-4.1"),
                    (attr::GEN_AI_RESPONSE_MODEL, "gpt-4.1"),
                ],
            ),
        ));
    }
    rows.push(api_call(
        t(9),
        without(openai_chat("proj-a", "100", "1"), &[attr::PROJECT_ID]),
    ));
    ch.insert_logs(&rows, false);
    // A newer exporter: the name in EventName. A local Ollama over plain HTTP.
    let mut ollama = api_call(
        t(6),
        vec![
            (attr::PROJECT_ID, "proj-a"),
            (attr::API_PROVIDER, api_provider::OLLAMA),
            (attr::GEN_AI_REQUEST_MODEL, "llama3.2"),
            (attr::GEN_AI_OPERATION_NAME, "chat"),
            (attr::SERVER_ADDRESS, "127.0.0.1"),
            (attr::SERVER_PORT, "11434"),
            (attr::URL_PATH, "/api/chat"),
            (attr::HTTP_REQUEST_METHOD, "POST"),
            (attr::API_SEEN_BY, api_seen_by::HTTP),
            (attr::API_COUNT, "5"),
            (attr::PROCESS_PID, "300"),
            (attr::PROCESS_EXECUTABLE_NAME, "curl"),
            (attr::SCAN_ID, SCAN),
        ],
    );
    ollama["EventName"] = json!(event::API_CALL);
    ch.insert_logs(&[ollama], true);
}

fn get(sc: &Sidecar, path: &str) -> Resp {
    call("GET", &format!("{}{path}", sc.base), Some(TOKEN), None)
}

fn list(sc: &Sidecar, query: &str) -> Vec<Value> {
    let r = get(sc, &format!("/projects/proj-a/runtime/api-calls?{query}"));
    assert_eq!(r.status, 200, "{query}: {}", r.text);
    r.json["api_calls"].as_array().unwrap().clone()
}

fn calls_of(rows: &[Value]) -> u64 {
    rows.iter()
        .map(|r| r[attr::API_COUNT].as_u64().unwrap())
        .sum()
}

#[test]
fn api_calls_are_listed_filtered_paged_summarized_and_deleted() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let out = migrate(&ch);
    assert!(
        out.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let base = chrono::Utc::now().timestamp_nanos_opt().unwrap() - 3600 * S;
    fixture(&ch, base);
    let sc = Sidecar::start(&ch, &[]);

    // Every record of the project, newest first; nothing of proj-b, nothing unowned.
    let all = list(&sc, "");
    assert_eq!(all.len(), 11, "{all:#?}");
    assert_eq!(calls_of(&all), 21);
    let times: Vec<&str> = all
        .iter()
        .map(|v| v[record::TIMESTAMP].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert_eq!(times[0], ts(base + 7 * S));
    let first = all.last().unwrap();
    assert_eq!(first[record::TIMESTAMP], ts(base + S));
    for (k, v) in [
        (attr::API_PROVIDER, json!(api_provider::OPENAI)),
        (attr::GEN_AI_PROVIDER_NAME, json!("openai")),
        (attr::GEN_AI_REQUEST_MODEL, json!("gpt-4o-mini")),
        (attr::GEN_AI_RESPONSE_MODEL, json!("gpt-4o-mini-2024-07-18")),
        (attr::GEN_AI_OPERATION_NAME, json!("chat")),
        (attr::SERVER_ADDRESS, json!("api.openai.com")),
        (attr::SERVER_PORT, json!(443)),
        (attr::URL_PATH, json!("/v1/chat/completions")),
        (attr::HTTP_REQUEST_METHOD, json!("POST")),
        (attr::HTTP_RESPONSE_STATUS_CODE, json!(200)),
        (attr::API_SEEN_BY, json!(api_seen_by::UPROBE)),
        (attr::API_COUNT, json!(2)),
        (
            attr::API_TLS_LIBRARY,
            json!("/usr/lib/x86_64-linux-gnu/libssl.so.3"),
        ),
        (attr::GEN_AI_USAGE_INPUT_TOKENS, json!(10)),
        (attr::GEN_AI_USAGE_OUTPUT_TOKENS, json!(5)),
        (attr::PROCESS_PID, json!(100)),
        (attr::PROCESS_EXECUTABLE_NAME, json!("python3")),
        (attr::PROCESS_COMMAND_LINE, json!("python3 app.py")),
        (attr::PROCESS_OWNER, json!("alice")),
        (attr::CONTAINER_ID, json!("c0ffee")),
        (attr::HOST_NAME, json!("node-1")),
        (attr::PROJECT_ID, json!("proj-a")),
    ] {
        assert_eq!(first[k], v, "{k}: {first:#}");
    }
    let sni = all
        .iter()
        .find(|r| r[attr::API_SEEN_BY] == api_seen_by::SNI)
        .unwrap();
    for absent in [
        attr::GEN_AI_REQUEST_MODEL,
        attr::GEN_AI_OPERATION_NAME,
        attr::URL_PATH,
        attr::HTTP_RESPONSE_STATUS_CODE,
        attr::GEN_AI_USAGE_INPUT_TOKENS,
        attr::SCAN_ID,
    ] {
        assert!(sni.get(absent).is_none(), "{absent} absent: left out");
    }
    let ollama = all
        .iter()
        .find(|r| r[attr::API_PROVIDER] == api_provider::OLLAMA)
        .unwrap();
    assert_eq!(ollama[attr::SCAN_ID], SCAN, "the EventName row");
    assert!(ollama.get(attr::GEN_AI_PROVIDER_NAME).is_none());
    assert_eq!(
        get(&sc, "/projects/proj-b/runtime/api-calls").json["api_calls"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Filters, each alone and combined: (query, records, calls).
    for (q, n, calls) in [
        (format!("provider={}", api_provider::OPENAI), 9, 15),
        (format!("provider={}", api_provider::ANTHROPIC), 1, 1),
        (format!("provider={}", api_provider::VLLM), 0, 0),
        ("model=gpt-4o-mini".into(), 3, 7),
        ("model=gpt-4o-mini-2024-07-18".into(), 3, 7),
        ("model=".into(), 11, 21),
        ("host=api.openai.com".into(), 9, 15),
        ("host=127.0.0.1".into(), 1, 5),
        ("operation=chat".into(), 9, 17),
        ("operation=embeddings".into(), 1, 3),
        ("process=node".into(), 1, 1),
        ("process=100".into(), 8, 11),
        (format!("seen_by={}", api_seen_by::SNI), 1, 1),
        (format!("seen_by={}", api_seen_by::HTTP), 1, 5),
        (format!("seen_by={}", api_seen_by::UPROBE), 9, 15),
        (
            format!("since={}&until={}", ts(base + 2 * S), ts(base + 5 * S)),
            3,
            8,
        ),
        (format!("until={}", ts(base + S)), 0, 0),
        (
            format!(
                "provider={}&operation=chat&process=101",
                api_provider::OPENAI
            ),
            1,
            4,
        ),
    ] {
        let rows = list(&sc, &q);
        assert_eq!((rows.len(), calls_of(&rows)), (n, calls), "{q}");
    }

    // Paging: pages of 3 (across the five equal timestamps) give every record once.
    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut q = "limit=3".to_string();
    loop {
        let r = get(&sc, &format!("/projects/proj-a/runtime/api-calls?{q}"));
        assert_eq!(r.status, 200, "{}", r.text);
        let page = r.json["api_calls"].as_array().unwrap();
        pages.push(page.len());
        seen.extend(page.iter().map(|v| v.to_string()));
        match r.json["next"].as_str() {
            Some(n) => q = format!("limit=3&next={n}"),
            None => break,
        }
    }
    assert_eq!(pages, [3, 3, 3, 2]);
    assert_eq!(seen, all.iter().map(|v| v.to_string()).collect::<Vec<_>>());

    // Malformed parameters: 400 with a JSON error naming the problem; no token: 401.
    let long = "x".repeat(2048);
    for (q, word) in [
        ("provider=OpenAI", "provider"),
        ("provider=", "provider"),
        ("provider=open-ai", "provider"),
        ("seen_by=tls", "seen_by"),
        ("seen_by=", "seen_by"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=many", "limit"),
        ("cursor=garbage", "cursor"),
        ("since=yesterday", "since"),
        ("until=2026-13-01T00:00:00Z", "until"),
        (&format!("model={long}"), "model"),
        (&format!("host={long}"), "host"),
    ] {
        let r = get(&sc, &format!("/projects/proj-a/runtime/api-calls?{q}"));
        assert_eq!(r.status, 400, "{q}: {}", r.text);
        let msg = r.json["error"].as_str().unwrap_or_default();
        assert!(msg.contains(word), "{q}: {}", r.text);
    }
    let r = get(&sc, "/projects/proj-a/runtime/api-calls?provider=OpenAI");
    assert!(
        api_provider::ALL
            .iter()
            .all(|p| r.json["error"].as_str().unwrap().contains(p)),
        "the error lists the accepted providers: {}",
        r.text
    );
    assert_eq!(get(&sc, "/projects/..%2Fx/runtime/api-calls").status, 400);
    let r = call(
        "GET",
        &format!("{}/projects/proj-a/runtime/api-calls", sc.base),
        None,
        None,
    );
    assert_eq!(r.status, 401);

    // API calls are not events; the summary counts them.
    let events = get(&sc, "/projects/proj-a/runtime/events");
    assert!(events.json["events"].as_array().unwrap().is_empty());
    let s = get(&sc, "/projects/proj-a/runtime/summary").json;
    assert_eq!(s["totals"]["events"], 0, "{s}");
    let a = &s["api_calls"];
    assert_eq!(
        a["totals"],
        json!({"calls": 21, "records": 11, "processes": 4, "apis": 5,
               "input_tokens": 37, "output_tokens": 5,
               "first_seen": ts(base + S), "last_seen": ts(base + 7 * S)}),
        "{a:#}"
    );
    let apis = a["apis"].as_array().unwrap();
    let order: Vec<(Value, Value, u64)> = apis
        .iter()
        .map(|r| {
            (
                r[attr::API_PROVIDER].clone(),
                r[attr::GEN_AI_REQUEST_MODEL].clone(),
                r["calls"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            (json!("openai"), json!("gpt-4o-mini"), 7),
            (json!("ollama"), json!("llama3.2"), 5),
            (json!("openai"), json!("gpt-4.1"), 5),
            (json!("openai"), json!("text-embedding-3-small"), 3),
            (json!("anthropic"), Value::Null, 1),
        ],
        "most calls first, then by provider: {a:#}"
    );
    let chat = &apis[0];
    assert_eq!(chat[attr::SERVER_ADDRESS], "api.openai.com");
    assert_eq!(chat[attr::SERVER_PORT], 443);
    assert_eq!(chat[attr::GEN_AI_OPERATION_NAME], "chat");
    assert_eq!(chat[attr::GEN_AI_PROVIDER_NAME], "openai");
    assert_eq!(chat["processes"], 2, "python3[100] and python3[101]");
    assert_eq!(chat["first_seen"], ts(base + S));
    assert_eq!(chat["last_seen"], ts(base + 3 * S));
    assert_eq!(chat[attr::GEN_AI_USAGE_INPUT_TOKENS], 30, "10 + 20");
    assert_eq!(chat[attr::GEN_AI_USAGE_OUTPUT_TOKENS], 5);
    let anthropic = &apis[4];
    assert_eq!(anthropic[attr::SERVER_ADDRESS], "api.anthropic.com");
    for absent in [
        attr::GEN_AI_OPERATION_NAME,
        attr::GEN_AI_USAGE_INPUT_TOKENS,
        attr::GEN_AI_USAGE_OUTPUT_TOKENS,
    ] {
        assert!(anthropic.get(absent).is_none(), "{absent}: {anthropic}");
    }
    assert_eq!(a["truncated"], false);
    let quiet = get(&sc, "/projects/nobody/runtime/summary").json;
    assert_eq!(
        quiet["api_calls"],
        json!({"totals": {"calls": 0, "records": 0, "processes": 0, "apis": 0,
                          "input_tokens": null, "output_tokens": null,
                          "first_seen": null, "last_seen": null},
               "apis": [], "truncated": false})
    );

    // Documented.
    let api = call("GET", &format!("{}/openapi.json", sc.base), None, None);
    let op = &api.json["paths"]["/projects/{id}/runtime/api-calls"]["get"];
    let names: HashSet<&str> = op["parameters"]
        .as_array()
        .unwrap_or_else(|| panic!("not in openapi.json: {}", api.text))
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for p in [
        "id",
        "provider",
        "model",
        "host",
        "operation",
        "process",
        "seen_by",
        "since",
        "until",
        "limit",
        "cursor",
    ] {
        assert!(names.contains(p), "{p} not documented: {names:?}");
    }
    assert!(
        api.json["components"]["schemas"]["Summary"]["properties"]["api_calls"].is_object(),
        "the summary's section is documented"
    );

    // Re-applying the migration's backfill (as after a lost schema_migrations row) does not
    // duplicate: it empties the table, then refills it from the raw rows.
    ch.sql(
        "ALTER TABLE schema_migrations DELETE WHERE version = 11 SETTINGS mutations_sync = 2",
        "",
    );
    let out = migrate(&ch);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = list(&sc, "");
    assert_eq!((again.len(), calls_of(&again)), (11, 21), "backfilled once");

    // DELETE of the project's events takes its API calls along, up to `before` first.
    let r = call(
        "DELETE",
        &format!(
            "{}/projects/proj-a/runtime/events?before={}",
            sc.base,
            ts(base + 4 * S)
        ),
        Some(ADMIN_TOKEN),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let left = list(&sc, "");
    assert_eq!(
        (left.len(), calls_of(&left)),
        (8, 14),
        "the three before t+4s"
    );
    let s = get(&sc, "/projects/proj-a/runtime/summary").json;
    assert_eq!(s["api_calls"]["totals"]["calls"], 14);
    assert_eq!(s["api_calls"]["totals"]["input_tokens"], 7);
    let r = sc.delete_events("proj-a");
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(list(&sc, "").is_empty());
    assert_eq!(
        ch.sql(
            &format!(
                "SELECT count() FROM otel_logs WHERE LogAttributes['{}'] = 'proj-a'",
                attr::PROJECT_ID
            ),
            ""
        )
        .trim(),
        "0",
        "the raw rows too"
    );
    assert_eq!(
        get(&sc, "/projects/proj-b/runtime/api-calls").json["api_calls"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "other projects untouched"
    );
}

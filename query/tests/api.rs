//! The HTTP API against a real ClickHouse engine (chDB behind `scripts/chdb-http`): schema
//! migrations, rows shaped as rotel writes them, events, filters, pagination, summary,
//! delete, scans, authentication, hostile input, and ClickHouse going away and coming back.
mod common;

use aibom_semconv::scan_state;
use common::*;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SHA_M1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const SHA_D1: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const S: i64 = 1_000_000_000;

fn ts(ns: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_nanos(ns)
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// Accepts `POST /v1/scans` as a daemon would, recording (Authorization, body).
type Calls = Arc<Mutex<Vec<(Option<String>, Value)>>>;
fn fake_daemon() -> (String, Calls) {
    use axum::http::{HeaderMap, StatusCode};
    let calls: Calls = Arc::default();
    let rec = calls.clone();
    let listener = block(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().route(
        "/v1/scans",
        axum::routing::post(move |h: HeaderMap, axum::Json(v): axum::Json<Value>| {
            let rec = rec.clone();
            async move {
                let auth = h
                    .get("authorization")
                    .map(|v| v.to_str().unwrap().to_string());
                rec.lock().unwrap().push((auth, v));
                (
                    StatusCode::ACCEPTED,
                    axum::Json(json!({"state": scan_state::RUNNING})),
                )
            }
        }),
    );
    RT.spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://127.0.0.1:{port}"), calls)
}

/// Inserts the fixture: see the expectations in [`runtime_api_end_to_end`].
fn fixture(ch: &ClickHouse, base: i64) {
    let m1 = |t: i64,
              pid: &'static str,
              exe: &'static str,
              n: &'static str,
              sha: Option<&'static str>| {
        let mut a = vec![
            (attr::PROJECT_ID, "proj-a"),
            (attr::FILE_PATH, "/models/m1/model.safetensors"),
            (attr::ACCESS_MODE, "read"),
            (attr::ACCESS_COUNT, n),
            (attr::PROCESS_PID, pid),
            (attr::PROCESS_PARENT_PID, "1"),
            (attr::PROCESS_EXECUTABLE_NAME, exe),
            (attr::TRACER, "ebpf"),
            (attr::ARTIFACT_TYPE, "model"),
            (attr::ARTIFACT_ROLE, "weights"),
            (attr::ARTIFACT_FORMAT, "safetensors"),
            (attr::ARTIFACT_PROVIDER, "huggingface"),
            (attr::ARTIFACT_ID, "pkg:huggingface/org/m1"),
            (attr::ARTIFACT_NAME, "org/m1"),
            (attr::ARTIFACT_LICENSE, "apache-2.0"),
            (attr::FILE_SIZE, "4096"),
        ];
        if let Some(s) = sha {
            a.push((attr::ARTIFACT_SHA256, s));
        }
        log_row(base + t, &a, &[(attr::HOST_NAME, "node-1")])
    };
    // As rotel writes them: no event name. The access (hash pending) and its identified twin.
    let d1 = log_row(
        base + 20 * S,
        &[
            (attr::PROJECT_ID, "proj-a"),
            (attr::FILE_PATH, "/data/d1.parquet"),
            (attr::ACCESS_COUNT, "1"),
            (attr::PROCESS_PID, "100"),
            (attr::PROCESS_EXECUTABLE_NAME, "python3"),
            (attr::ARTIFACT_TYPE, "dataset"),
            (attr::ARTIFACT_PROVIDER, "local"),
            (attr::ARTIFACT_SHA256, SHA_D1),
            (attr::K8S_POD_NAME, "pod-1"),
            (attr::K8S_POD_UID, "0c5f6a51-uid"),
        ],
        &[
            (attr::HOST_NAME, "node-1"),
            (attr::CONTAINER_ID, "c0ffee"),
            (attr::CONTAINER_RUNTIME_NAME, "containerd"),
        ],
    );
    let mut prompts = Vec::new();
    for i in 0..25i64 {
        let id = ["prompt-0", "prompt-1", "prompt-2", "prompt-3", "prompt-4"][(i % 5) as usize];
        let path = ["/p/0.txt", "/p/1.txt", "/p/2.txt", "/p/3.txt", "/p/4.txt"][(i % 5) as usize];
        prompts.push(log_row(
            base + (100 + i) * S,
            &[
                (attr::PROJECT_ID, "proj-a"),
                (attr::FILE_PATH, path),
                (attr::PROCESS_PID, "200"),
                (attr::PROCESS_EXECUTABLE_NAME, "node"),
                (attr::ARTIFACT_TYPE, "prompt"),
                (attr::ARTIFACT_PROVIDER, "local"),
                (attr::ARTIFACT_ID, id),
            ],
            &[],
        ));
    }
    let other = log_row(
        base + 5 * S,
        &[
            (attr::PROJECT_ID, "proj-b"),
            (attr::FILE_PATH, "/m/b.gguf"),
            (attr::ARTIFACT_PROVIDER, "openai"),
        ],
        &[],
    );
    let foreign = log_row(base + 6 * S, &[(attr::FILE_PATH, "/etc/passwd")], &[]);
    let by_resource = log_row(
        base + 7 * S,
        &[(attr::FILE_PATH, "/m/r.gguf")],
        &[(attr::PROJECT_ID, "proj-r")],
    );
    let mut rotel_rows = vec![
        m1(S, "100", "python3", "2", None),
        m1(S, "100", "python3", "2", Some(SHA_M1)),
        d1,
    ];
    rotel_rows.extend(prompts);
    rotel_rows.extend([other, foreign, by_resource]);
    ch.insert_logs(&rotel_rows, false);

    // As newer exporters write them: with EventName.
    let named = |mut v: Value, e: &str| {
        v["EventName"] = json!(e);
        v
    };
    let fake = log_row(
        base + 30 * S,
        &[
            (attr::PROJECT_ID, "proj-a"),
            (attr::FILE_PATH, "/models/fake.gguf"),
            (attr::ACCESS_COUNT, "1"),
            (attr::PROCESS_PID, "100"),
            (attr::PROCESS_EXECUTABLE_NAME, "python3"),
            (attr::ARTIFACT_TYPE, "model"),
            (attr::ARTIFACT_PROVIDER, "local"),
            (attr::ARTIFACT_FORMAT, "safetensors"),
            (attr::ARTIFACT_FORMAT_MISMATCH, "gguf"),
            (attr::ARTIFACT_LICENSE, "mit"),
        ],
        &[],
    );
    ch.insert_logs(
        &[
            named(
                m1(10 * S, "101", "torchrun", "3", Some(SHA_M1)),
                event::ARTIFACT_ACCESS,
            ),
            named(
                m1(10 * S, "101", "torchrun", "3", Some(SHA_M1)),
                event::ARTIFACT_IDENTIFIED,
            ),
            named(fake, event::ARTIFACT_ACCESS),
        ],
        true,
    );
}

fn events(sc: &Sidecar, project: &str, query: &str) -> Resp {
    call(
        "GET",
        &format!("{}/projects/{project}/runtime/events?{query}", sc.base),
        Some(TOKEN),
        None,
    )
}

fn list(sc: &Sidecar, query: &str) -> Vec<Value> {
    let r = events(sc, "proj-a", query);
    assert_eq!(r.status, 200, "{query}: {}", r.text);
    r.json["events"].as_array().unwrap().clone()
}

fn summary(sc: &Sidecar, project: &str) -> Value {
    let r = call(
        "GET",
        &format!("{}/projects/{project}/runtime/summary", sc.base),
        Some(TOKEN),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    r.json
}

fn count_of(counts: &Value, value: Option<&str>) -> (u64, u64) {
    let c = counts
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["value"].as_str() == value)
        .unwrap_or_else(|| panic!("{value:?} in {counts}"));
    (
        c["artifacts"].as_u64().unwrap(),
        c["accesses"].as_u64().unwrap(),
    )
}

#[test]
fn runtime_api_end_to_end() {
    let Some(mut ch) = ClickHouse::start() else {
        return;
    };

    // Migrations: twice, the second a no-op.
    for _ in 0..2 {
        let out = migrate(&ch);
        assert!(
            out.status.success(),
            "migrate: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        ch.sql(
            "SELECT count(), uniqExact(version) FROM schema_migrations FORMAT CSV",
            ""
        )
        .trim(),
        format!("{0},{0}", aibom_query::schema::MIGRATIONS.len())
    );
    assert!(ch
        .sql("SHOW CREATE TABLE runtime_events", "")
        .contains("toIntervalDay(30)"));

    let base = chrono::Utc::now().timestamp_nanos_opt().unwrap() - 2 * 3600 * S;
    fixture(&ch, base);
    let (daemon, calls) = fake_daemon();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let sc = Sidecar::start(&ch, &["--daemon", &daemon, "--daemon", &dead]);

    // Health, OpenAPI, authentication.
    assert_eq!(
        call("GET", &format!("{}/healthz", sc.base), None, None).status,
        200
    );
    let api = call("GET", &format!("{}/openapi.json", sc.base), None, None);
    assert_eq!(api.status, 200);
    for p in [
        "/projects/{id}/runtime/events",
        "/projects/{id}/runtime/summary",
        "/scan/runtime",
        "/scans/{id}",
    ] {
        assert!(
            api.json["paths"][p].is_object(),
            "{p} missing from openapi.json"
        );
    }
    for token in [None, Some("wrong-token-0123456789")] {
        let r = call(
            "GET",
            &format!("{}/projects/proj-a/runtime/events", sc.base),
            token,
            None,
        );
        assert_eq!(r.status, 401);
        assert!(r.json["error"].is_string(), "{}", r.text);
    }

    // Events: every proj-a row, newest first, fields named by the semantic convention.
    let all = list(&sc, "");
    assert_eq!(all.len(), 31);
    let times: Vec<&str> = all
        .iter()
        .map(|e| e[record::TIMESTAMP].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "not newest first");
    assert!(all.iter().all(|e| e[attr::PROJECT_ID] == "proj-a"));
    let ds = list(&sc, "type=dataset");
    assert_eq!(ds.len(), 1);
    let d = &ds[0];
    assert_eq!(d[attr::ARTIFACT_SHA256], SHA_D1);
    assert_eq!(d[attr::PROCESS_PID], 100);
    assert_eq!(d[attr::FILE_PATH], "/data/d1.parquet");
    assert_eq!(d[attr::CONTAINER_ID], "c0ffee");
    assert_eq!(d[attr::K8S_POD_NAME], "pod-1");
    assert_eq!(d[attr::K8S_POD_UID], "0c5f6a51-uid");
    assert_eq!(d[attr::CONTAINER_RUNTIME_NAME], "containerd");
    assert_eq!(d[attr::HOST_NAME], "node-1");
    assert_eq!(d[record::TIMESTAMP], ts(base + 20 * S));
    assert!(
        d.get(attr::ARTIFACT_LICENSE).is_none(),
        "absent attributes are left out"
    );
    let named: Vec<_> = list(&sc, "process=torchrun")
        .iter()
        .map(|e| e[record::EVENT_NAME].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        HashSet::<_>::from_iter(named),
        HashSet::from([
            event::ARTIFACT_ACCESS.to_string(),
            event::ARTIFACT_IDENTIFIED.to_string()
        ])
    );
    let m1 = list(&sc, "artifact=org/m1");
    assert_eq!(m1.len(), 4);
    assert_eq!(m1[0][attr::FILE_SIZE], 4096);
    assert_eq!(m1[0][attr::ACCESS_COUNT], 3);
    for (q, n) in [
        ("provider=huggingface", 4),
        ("license=mit", 1),
        ("artifact=pkg:huggingface/org/m1", 4),
        ("process=101", 2),
        ("process=100", 4),
        ("type=prompt&process=node", 25),
        ("type=nothing", 0),
        (
            &format!("since={}&until={}", ts(base + 15 * S), ts(base + 31 * S)),
            2,
        ),
        (&format!("until={}", ts(base + S)), 0),
    ] {
        assert_eq!(list(&sc, q).len(), n, "{q}");
    }
    assert_eq!(
        events(&sc, "proj-r", "").json["events"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "project from the resource"
    );
    assert_eq!(
        events(&sc, "proj-b", "").json["events"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Pagination: pages of 10, then of 1 across equal timestamps; nothing lost or repeated.
    let mut pages = Vec::new();
    let mut q = "type=prompt&limit=10".to_string();
    loop {
        let r = events(&sc, "proj-a", &q);
        assert_eq!(r.status, 200, "{}", r.text);
        pages.push(r.json["events"].as_array().unwrap().len());
        match r.json["next"].as_str() {
            Some(n) => q = format!("type=prompt&limit=10&cursor={n}"),
            None => break,
        }
    }
    assert_eq!(pages, vec![10, 10, 5]);
    let mut seen = Vec::new();
    let mut q = "limit=1".to_string();
    while let Some(n) = {
        let r = events(&sc, "proj-a", &q);
        seen.extend(
            r.json["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.to_string()),
        );
        r.json["next"].as_str().map(str::to_string)
    } {
        q = format!("limit=1&next={n}");
    }
    assert_eq!(seen, all.iter().map(|e| e.to_string()).collect::<Vec<_>>());

    // Limits and malformed input: 400 with a JSON error.
    assert_eq!(list(&sc, "limit=1000").len(), 31);
    let long = "x".repeat(2048);
    for q in [
        "limit=0",
        "limit=1001",
        "limit=-1",
        "limit=99999999999",
        "limit=abc",
        "cursor=garbage",
        "cursor=djE6MTox%00",
        "since=yesterday",
        &format!("type={long}"),
    ] {
        let r = events(&sc, "proj-a", q);
        assert_eq!(r.status, 400, "{q}: {}", r.text);
        assert!(r.json["error"].is_string(), "{q}: {}", r.text);
    }
    let ten_kb = "a".repeat(10_000);
    for id in [
        "..%2Fx",
        "a'%20OR%201=1%20--",
        "%C3%A9t%C3%A9",
        "a%00b",
        "a%2Fb",
        &ten_kb,
        &"b".repeat(129),
    ] {
        for (m, path) in [("GET", "events"), ("GET", "summary"), ("DELETE", "events")] {
            let r = call(
                m,
                &format!("{}/projects/{id}/runtime/{path}", sc.base),
                Some(if m == "DELETE" { ADMIN_TOKEN } else { TOKEN }),
                None,
            );
            assert_eq!(
                r.status,
                400,
                "{m} {path} {}: {}",
                &id[..id.len().min(40)],
                r.text
            );
            assert!(r.json["error"].is_string());
        }
    }

    // Summary.
    let s = summary(&sc, "proj-a");
    let t = &s["totals"];
    assert_eq!(t["events"], 31);
    assert_eq!(t["artifacts"], 8, "{s}");
    assert_eq!(t["accesses"], 32, "identified twins are not accesses: {s}");
    assert_eq!(t["processes"], 3);
    assert_eq!(t["unknown_license"], 6);
    assert_eq!(t["format_mismatch"], 1);
    assert_eq!(t["first_seen"], ts(base + S));
    assert_eq!(count_of(&s["by_type"], Some("model")), (2, 6));
    assert_eq!(count_of(&s["by_type"], Some("prompt")), (5, 25));
    assert_eq!(count_of(&s["by_license"], None), (6, 26));
    assert_eq!(count_of(&s["by_provider"], Some("huggingface")), (1, 5));
    let arts = s["artifacts"].as_array().unwrap();
    let a = arts
        .iter()
        .find(|a| a["key"] == "pkg:huggingface/org/m1")
        .expect("m1 by id");
    assert_eq!(a[attr::ARTIFACT_SHA256], json!([SHA_M1]));
    assert_eq!(a[attr::ACCESS_COUNT], 5);
    assert_eq!(a[attr::ARTIFACT_LICENSE], "apache-2.0");
    assert_eq!(a["first_seen"], ts(base + S));
    assert_eq!(a["last_seen"], ts(base + 10 * S));
    let procs: HashSet<String> = a["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}/{}",
                p[attr::PROCESS_EXECUTABLE_NAME],
                p[attr::PROCESS_PID]
            )
        })
        .collect();
    assert_eq!(
        procs,
        HashSet::from([
            "\"python3\"/100".to_string(),
            "\"torchrun\"/101".to_string()
        ])
    );
    assert!(
        arts.iter().any(|a| a["key"] == SHA_D1),
        "no id: keyed by sha256"
    );
    let f = arts
        .iter()
        .find(|a| a["key"] == "/models/fake.gguf")
        .expect("no id, no hash: keyed by path");
    assert_eq!(f[attr::ARTIFACT_FORMAT_MISMATCH], "gguf");
    assert_eq!(summary(&sc, "nobody")["totals"]["events"], 0);

    // Scans: the daemon contract, an unreachable daemon, bad requests.
    let r = call(
        "POST",
        &format!("{}/scan/runtime", sc.base),
        Some(TOKEN),
        Some(json!({"project": "proj-a", "duration": 2}).to_string()),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.json["state"], "pending");
    let id = r.json["scan_id"].as_str().unwrap().to_string();
    let scan_url = format!("{}/scans/{id}", sc.base);
    let start = Instant::now();
    let scan = loop {
        let s = call("GET", &scan_url, Some(TOKEN), None).json;
        if s["state"] != "pending" {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "scan stuck: {s}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(scan["state"], scan_state::RUNNING, "{scan}");
    assert_eq!(scan["daemons"][0]["state"], "accepted");
    assert_eq!(scan["daemons"][1]["state"], "unreachable");
    let got = calls.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].1,
        json!({"project": "proj-a", "duration": 2, "scan_id": id})
    );
    ch.insert_logs(
        &[log_row(
            base + 90 * S,
            &[
                (attr::PROJECT_ID, "proj-a"),
                (attr::FILE_PATH, "/s"),
                (attr::SCAN_ID, &id),
            ],
            &[],
        )],
        false,
    );
    assert_eq!(call("GET", &scan_url, Some(TOKEN), None).json["events"], 1);
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(
        call("GET", &scan_url, Some(TOKEN), None).json["state"],
        scan_state::COMPLETED
    );
    for body in [
        json!({"project": "proj-a", "duration": 0}).to_string(),
        json!({"project": "../x", "duration": 5}).to_string(),
        json!({"project": "p", "duration": 5, "extra": 1}).to_string(),
        json!({"project": "p"}).to_string(),
        "{not json".to_string(),
    ] {
        let r = call(
            "POST",
            &format!("{}/scan/runtime", sc.base),
            Some(TOKEN),
            Some(body.clone()),
        );
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert!(r.json["error"].is_string());
    }
    let big = json!({"project": "x".repeat(70 * 1024), "duration": 1}).to_string();
    let r = call(
        "POST",
        &format!("{}/scan/runtime", sc.base),
        Some(TOKEN),
        Some(big),
    );
    assert_eq!(r.status, 413, "{}", r.text);
    assert!(r.json["error"].is_string());
    assert_eq!(
        call(
            "GET",
            &format!("{}/scans/not-a-uuid", sc.base),
            Some(TOKEN),
            None
        )
        .status,
        400
    );
    assert_eq!(
        call(
            "GET",
            &format!("{}/scans/{}", sc.base, uuid::Uuid::new_v4()),
            Some(TOKEN),
            None
        )
        .status,
        404
    );

    // Delete: before a time, then everything; the summary follows at once.
    let r = call(
        "DELETE",
        &format!(
            "{}/projects/proj-a/runtime/events?before={}",
            sc.base,
            ts(base + 50 * S)
        ),
        Some(ADMIN_TOKEN),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["deleted"], 6);
    let s = summary(&sc, "proj-a");
    assert_eq!(
        (
            s["totals"]["events"].as_u64(),
            s["totals"]["accesses"].as_u64()
        ),
        (Some(26), Some(26))
    );
    let r = call(
        "DELETE",
        &format!("{}/projects/proj-a/runtime/events", sc.base),
        Some(ADMIN_TOKEN),
        None,
    );
    assert_eq!(r.json["deleted"], 26);
    let s = summary(&sc, "proj-a");
    assert_eq!(s["totals"]["events"], 0);
    assert_eq!(s["totals"]["artifacts"], 0);
    assert!(s["totals"]["first_seen"].is_null());
    assert_eq!(
        summary(&sc, "proj-b")["totals"]["events"],
        1,
        "other projects untouched"
    );
    let raw = ch.sql(
        &format!(
            "SELECT count() FROM otel_logs WHERE LogAttributes['{}'] = 'proj-a' FORMAT CSV",
            attr::PROJECT_ID
        ),
        "",
    );
    assert_eq!(raw.trim(), "0", "raw rows deleted too");

    // Metrics.
    let m = call("GET", &format!("{}/metrics", sc.base), None, None);
    assert_eq!(m.status, 200);
    assert!(m.text.contains("aibom_query_requests_total{method=\"GET\",route=\"/projects/{id}/runtime/events\",status=\"200\"}"), "{}", m.text);
    assert!(m.text.contains("status=\"401\""));
    assert!(m.text.contains("aibom_query_request_duration_seconds_bucket{method=\"GET\",route=\"/projects/{id}/runtime/summary\",le=\"+Inf\"}"));

    // ClickHouse goes away: 503 with a clear error; it comes back: served again, no restart.
    ch.stop();
    let r = events(&sc, "proj-b", "");
    assert_eq!(r.status, 503, "{}", r.text);
    assert!(
        r.json["error"].as_str().unwrap().contains("ClickHouse"),
        "{}",
        r.text
    );
    assert_eq!(
        call("GET", &format!("{}/healthz", sc.base), None, None).status,
        503
    );
    assert_eq!(summary_status(&sc), 503);
    let m = call("GET", &format!("{}/metrics", sc.base), None, None).text;
    assert!(
        !m.contains("aibom_query_clickhouse_errors_total{kind=\"unavailable\"} 0"),
        "{m}"
    );
    ch.restart();
    let start = Instant::now();
    while events(&sc, "proj-b", "").status != 200 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no recovery after ClickHouse came back"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        events(&sc, "proj-b", "").json["events"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "data survived"
    );
    assert_eq!(
        call("GET", &format!("{}/healthz", sc.base), None, None).status,
        200
    );
}

fn summary_status(sc: &Sidecar) -> u16 {
    call(
        "GET",
        &format!("{}/projects/proj-b/runtime/summary", sc.base),
        Some(TOKEN),
        None,
    )
    .status
}

/// Before `--migrate`, the API says so (503), and health is not ready.
#[test]
fn unmigrated_database_is_503_not_500() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let sc = Sidecar::start(&ch, &[]);
    let r = events(&sc, "p", "");
    assert_eq!(r.status, 503, "{}", r.text);
    assert!(
        r.json["error"].as_str().unwrap().contains("--migrate"),
        "{}",
        r.text
    );
    assert_eq!(
        call("GET", &format!("{}/healthz", sc.base), None, None).status,
        503
    );
}

//! `GET /projects/{id}/runtime/violations` and the violation counts of the summary against a
//! real ClickHouse engine (chDB behind `scripts/chdb-http`) and the real `aibom-query` binary:
//! `aibom.policy.violation` records shaped as rotel writes them (attributes stringified, the
//! event name in the `event.name` attribute, or in `EventName` for newer exporters).
mod common;

use aibom_semconv::{policy_action, policy_severity};
use common::*;
use serde_json::{json, Value};
use std::collections::HashSet;

const S: i64 = 1_000_000_000;
const SHA_M1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const SHA_EVIL: &str = "3333333333333333333333333333333333333333333333333333333333333333";
const SCAN: &str = "7b0c6c1e-3f1a-4c1e-9a55-0d1f6a8b2c3d";

fn ts(ns: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_nanos(ns)
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// The attributes of the access of `/models/m1/model.safetensors` by python3[100].
fn m1(project: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        (attr::PROJECT_ID, project),
        (attr::FILE_PATH, "/models/m1/model.safetensors"),
        (attr::ACCESS_MODE, "read"),
        (attr::ACCESS_COUNT, "1"),
        (attr::PROCESS_PID, "100"),
        (attr::PROCESS_EXECUTABLE_NAME, "python3"),
        (attr::TRACER, "ebpf"),
        (attr::ARTIFACT_TYPE, "model"),
        (attr::ARTIFACT_FORMAT, "safetensors"),
        (attr::ARTIFACT_PROVIDER, "huggingface"),
        (attr::ARTIFACT_ID, "pkg:huggingface/org/m1"),
        (attr::ARTIFACT_NAME, "org/m1"),
        (attr::ARTIFACT_LICENSE, "apache-2.0"),
        (attr::ARTIFACT_SHA256, SHA_M1),
    ]
}

/// The access of a pickle named `.safetensors` by torchrun[101].
fn evil(pid: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        (attr::PROJECT_ID, "proj-v"),
        (attr::FILE_PATH, "/models/evil.safetensors"),
        (attr::ACCESS_MODE, "read"),
        (attr::ACCESS_COUNT, "1"),
        (attr::PROCESS_PID, pid),
        (attr::PROCESS_EXECUTABLE_NAME, "torchrun"),
        (attr::PROCESS_EXECUTABLE_PATH, "/usr/bin/torchrun"),
        (attr::PROCESS_COMMAND_LINE, "torchrun train.py --model evil"),
        (attr::TRACER, "fanotify"),
        (attr::ARTIFACT_TYPE, "model"),
        (attr::ARTIFACT_FORMAT, "pickle"),
        (attr::ARTIFACT_FORMAT_MISMATCH, "safetensors"),
        (attr::ARTIFACT_PROVIDER, "local"),
        (attr::ARTIFACT_SHA256, SHA_EVIL),
        (attr::SCAN_ID, SCAN),
    ]
}

/// A violation record: the access's attributes, the verdict, the event name as an attribute
/// (as aibomd sets it; the installed rotel drops the OTLP event name).
fn violation(
    time_ns: i64,
    access: Vec<(&'static str, &'static str)>,
    rule: &'static str,
    action: &'static str,
    severity: &'static str,
    enforced: bool,
) -> Value {
    let mut a = access;
    a.extend([
        (record::EVENT_NAME, event::POLICY_VIOLATION),
        (attr::POLICY_RULE, rule),
        (attr::POLICY_ACTION, action),
        (attr::POLICY_SEVERITY, severity),
        (
            attr::POLICY_ENFORCED,
            if enforced { "true" } else { "false" },
        ),
    ]);
    let mut row = log_row(time_ns, &a, &[(attr::CONTAINER_ID, "c0ffee")]);
    let (text, number) = match severity {
        policy_severity::LOW | policy_severity::MEDIUM => ("WARN", 13),
        _ => ("ERROR", 17),
    };
    row["SeverityText"] = json!(text);
    row["SeverityNumber"] = json!(number);
    row
}

const NO_PICKLE: &str = "no-pickle";
const APPROVED: &str = "approved-licenses";

/// proj-v: two accesses, then 9 violations (2 of no-pickle, enforced; 7 of approved-licenses,
/// alert only, 5 of them at one instant); one of another project; one without a project.
fn fixture(ch: &ClickHouse, base: i64) {
    let mut rows = vec![
        log_row(base + S, &m1("proj-v"), &[]),
        log_row(base + 2 * S, &evil("101"), &[]),
        violation(
            base + 3 * S,
            evil("101"),
            NO_PICKLE,
            policy_action::DENY,
            policy_severity::CRITICAL,
            true,
        ),
        violation(
            base + 4 * S,
            m1("proj-v"),
            APPROVED,
            policy_action::ALERT,
            policy_severity::LOW,
            false,
        ),
        violation(
            base + 6 * S,
            evil("102"),
            NO_PICKLE,
            policy_action::KILL,
            policy_severity::HIGH,
            true,
        ),
        violation(
            base + 7 * S,
            m1("proj-w"),
            APPROVED,
            policy_action::ALERT,
            policy_severity::LOW,
            false,
        ),
    ];
    for _ in 0..5 {
        rows.push(violation(
            base + 8 * S,
            m1("proj-v"),
            APPROVED,
            policy_action::ALERT,
            policy_severity::MEDIUM,
            false,
        ));
    }
    let mut orphan = m1("proj-v");
    orphan.retain(|(k, _)| *k != attr::PROJECT_ID);
    rows.push(violation(
        base + 9 * S,
        orphan,
        APPROVED,
        policy_action::ALERT,
        policy_severity::LOW,
        false,
    ));
    ch.insert_logs(&rows, false);
    // A newer exporter: the name in EventName as well.
    let mut named = violation(
        base + 5 * S,
        m1("proj-v"),
        APPROVED,
        policy_action::ALERT,
        policy_severity::LOW,
        false,
    );
    named["EventName"] = json!(event::POLICY_VIOLATION);
    ch.insert_logs(&[named], true);
}

fn get(sc: &Sidecar, path: &str) -> Resp {
    call("GET", &format!("{}{path}", sc.base), Some(TOKEN), None)
}

fn list(sc: &Sidecar, query: &str) -> Vec<Value> {
    let r = get(sc, &format!("/projects/proj-v/runtime/violations?{query}"));
    assert_eq!(r.status, 200, "{query}: {}", r.text);
    r.json["violations"].as_array().unwrap().clone()
}

fn count_of(counts: &Value, value: &str) -> (u64, u64) {
    let c = counts
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["value"] == value)
        .unwrap_or_else(|| panic!("{value} in {counts}"));
    (
        c["violations"].as_u64().unwrap(),
        c["enforced"].as_u64().unwrap(),
    )
}

#[test]
fn violations_are_listed_filtered_paged_counted_and_deleted() {
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

    // Every violation of the project, newest first; nothing of proj-w, nothing unowned.
    let all = list(&sc, "");
    assert_eq!(all.len(), 9, "{all:#?}");
    let times: Vec<&str> = all
        .iter()
        .map(|v| v[record::TIMESTAMP].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert_eq!(times[0], ts(base + 8 * S));
    assert_eq!(*times.last().unwrap(), ts(base + 3 * S));
    let denied = all.last().unwrap();
    assert_eq!(denied[attr::POLICY_RULE], NO_PICKLE);
    assert_eq!(denied[attr::POLICY_ACTION], policy_action::DENY);
    assert_eq!(denied[attr::POLICY_SEVERITY], policy_severity::CRITICAL);
    assert_eq!(denied[attr::POLICY_ENFORCED], json!(true), "a JSON boolean");
    assert_eq!(denied[attr::FILE_PATH], "/models/evil.safetensors");
    assert_eq!(denied[attr::ARTIFACT_TYPE], "model");
    assert_eq!(denied[attr::ARTIFACT_FORMAT], "pickle");
    assert_eq!(denied[attr::ARTIFACT_SHA256], SHA_EVIL);
    assert_eq!(denied[attr::PROCESS_PID], 101);
    assert_eq!(denied[attr::PROCESS_EXECUTABLE_NAME], "torchrun");
    assert_eq!(denied[attr::PROCESS_EXECUTABLE_PATH], "/usr/bin/torchrun");
    assert_eq!(
        denied[attr::PROCESS_COMMAND_LINE],
        "torchrun train.py --model evil"
    );
    assert_eq!(denied[attr::CONTAINER_ID], "c0ffee", "from the resource");
    assert_eq!(denied[attr::SCAN_ID], SCAN);
    assert!(
        denied.get(attr::ARTIFACT_LICENSE).is_none(),
        "absent: left out"
    );
    let alert = &all[0];
    assert_eq!(alert[attr::POLICY_ENFORCED], json!(false));
    assert_eq!(alert[attr::ARTIFACT_NAME], "org/m1");
    assert_eq!(alert[attr::ARTIFACT_LICENSE], "apache-2.0");
    assert!(alert.get(attr::SCAN_ID).is_none());
    assert_eq!(
        get(&sc, "/projects/proj-w/runtime/violations").json["violations"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Filters, each alone and combined.
    for (q, n) in [
        (format!("rule={NO_PICKLE}"), 2),
        (format!("rule={APPROVED}"), 7),
        ("rule=nothing".into(), 0),
        ("rule=".into(), 9),
        (format!("action={}", policy_action::DENY), 1),
        (format!("action={}", policy_action::KILL), 1),
        (format!("action={}", policy_action::ALERT), 7),
        (format!("severity={}", policy_severity::MEDIUM), 5),
        (format!("severity={}", policy_severity::LOW), 2),
        (format!("severity={}", policy_severity::CRITICAL), 1),
        ("enforced=true".into(), 2),
        ("enforced=false".into(), 7),
        ("artifact=org/m1".into(), 7),
        ("artifact=pkg:huggingface/org/m1".into(), 7),
        ("path=/models/evil.safetensors".into(), 2),
        ("process=torchrun".into(), 2),
        ("process=102".into(), 1),
        (
            format!("since={}&until={}", ts(base + 4 * S), ts(base + 8 * S)),
            3,
        ),
        (format!("until={}", ts(base + 3 * S)), 0),
        (
            format!(
                "rule={NO_PICKLE}&enforced=true&severity={}",
                policy_severity::HIGH
            ),
            1,
        ),
    ] {
        assert_eq!(list(&sc, &q).len(), n, "{q}");
    }

    // Paging: pages of 2 (across the five equal timestamps) give every violation once.
    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut q = "limit=2".to_string();
    loop {
        let r = get(&sc, &format!("/projects/proj-v/runtime/violations?{q}"));
        assert_eq!(r.status, 200, "{}", r.text);
        let page = r.json["violations"].as_array().unwrap();
        pages.push(page.len());
        seen.extend(page.iter().map(|v| v.to_string()));
        match r.json["next"].as_str() {
            Some(n) => q = format!("limit=2&cursor={n}"),
            None => break,
        }
    }
    assert_eq!(pages, [2, 2, 2, 2, 1]);
    assert_eq!(seen, all.iter().map(|v| v.to_string()).collect::<Vec<_>>());
    let r = get(&sc, "/projects/proj-v/runtime/violations?limit=9");
    assert!(r.json["next"].is_null(), "no further page: {}", r.text);

    // Malformed filters: 400 with a JSON error naming the problem; no token: 401.
    let long = "x".repeat(2048);
    for (q, word) in [
        ("action=block", "action"),
        ("action=", "action"),
        ("action=DENY", "action"),
        ("severity=urgent", "severity"),
        ("severity=", "severity"),
        ("enforced=yes", "enforced"),
        ("enforced=", "enforced"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("cursor=garbage", "cursor"),
        ("since=yesterday", "since"),
        (&format!("rule={long}"), "rule"),
    ] {
        let r = get(&sc, &format!("/projects/proj-v/runtime/violations?{q}"));
        assert_eq!(r.status, 400, "{q}: {}", r.text);
        let msg = r.json["error"].as_str().unwrap_or_default();
        assert!(msg.contains(word), "{q}: {}", r.text);
    }
    let r = get(&sc, "/projects/proj-v/runtime/violations?action=block");
    assert!(
        policy_action::ALL
            .iter()
            .all(|a| r.json["error"].as_str().unwrap().contains(a)),
        "the error lists the accepted actions: {}",
        r.text
    );
    assert_eq!(get(&sc, "/projects/..%2Fx/runtime/violations").status, 400);
    let r = call(
        "GET",
        &format!("{}/projects/proj-v/runtime/violations", sc.base),
        None,
        None,
    );
    assert_eq!(r.status, 401);

    // Violations are not events: the event list and the summary's totals are unchanged.
    let events = get(&sc, "/projects/proj-v/runtime/events");
    assert_eq!(events.json["events"].as_array().unwrap().len(), 2);
    let s = get(&sc, "/projects/proj-v/runtime/summary").json;
    assert_eq!(s["totals"]["events"], 2, "{s}");
    assert_eq!(s["totals"]["artifacts"], 2);
    // ... and the summary counts them.
    let v = &s["violations"];
    assert_eq!(v["total"], 9, "{s}");
    assert_eq!(v["enforced"], 2);
    assert_eq!(v["last_seen"], ts(base + 8 * S));
    assert_eq!(v["by_rule"][0]["value"], APPROVED, "largest first");
    assert_eq!(count_of(&v["by_rule"], APPROVED), (7, 0));
    assert_eq!(count_of(&v["by_rule"], NO_PICKLE), (2, 2));
    assert_eq!(count_of(&v["by_severity"], policy_severity::MEDIUM), (5, 0));
    assert_eq!(count_of(&v["by_severity"], policy_severity::LOW), (2, 0));
    assert_eq!(count_of(&v["by_severity"], policy_severity::HIGH), (1, 1));
    assert_eq!(
        count_of(&v["by_severity"], policy_severity::CRITICAL),
        (1, 1)
    );
    assert_eq!(count_of(&v["by_action"], policy_action::ALERT), (7, 0));
    let quiet = get(&sc, "/projects/nobody/runtime/summary").json;
    assert_eq!(
        quiet["violations"],
        json!({"total": 0, "enforced": 0, "last_seen": null, "by_rule": [],
               "by_severity": [], "by_action": []})
    );

    // Documented.
    let api = call("GET", &format!("{}/openapi.json", sc.base), None, None);
    let op = &api.json["paths"]["/projects/{id}/runtime/violations"]["get"];
    let names: HashSet<&str> = op["parameters"]
        .as_array()
        .unwrap_or_else(|| panic!("not in openapi.json: {}", api.text))
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for p in [
        "id", "rule", "action", "severity", "enforced", "artifact", "path", "since", "until",
        "limit", "cursor",
    ] {
        assert!(names.contains(p), "{p} not documented: {names:?}");
    }

    // Re-applying the migration's backfill (as after a lost schema_migrations row) does not
    // duplicate: it empties the table, then refills it from the raw rows.
    ch.sql(
        "ALTER TABLE schema_migrations DELETE WHERE version = 10 SETTINGS mutations_sync = 2",
        "",
    );
    let out = migrate(&ch);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(list(&sc, "").len(), 9, "backfilled once");

    // DELETE of the project's events takes its violations along, up to `before` first.
    let r = call(
        "DELETE",
        &format!(
            "{}/projects/proj-v/runtime/events?before={}",
            sc.base,
            ts(base + 5 * S)
        ),
        Some(ADMIN_TOKEN),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["deleted"], 2, "events are what it counts");
    let left = list(&sc, "");
    assert_eq!(left.len(), 7, "the two before {}", ts(base + 5 * S));
    assert_eq!(
        get(&sc, "/projects/proj-v/runtime/summary").json["violations"]["total"],
        7
    );
    let r = call(
        "DELETE",
        &format!("{}/projects/proj-v/runtime/events", sc.base),
        Some(ADMIN_TOKEN),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(list(&sc, "").is_empty());
    assert_eq!(
        get(&sc, "/projects/proj-w/runtime/violations").json["violations"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "other projects untouched"
    );
}

//! The Grafana dashboards in `dashboards/`: every panel's and variable's SQL, filled in the way
//! Grafana and grafana-clickhouse-datasource fill it, runs against the real ClickHouse engine
//! over data of a real end-to-end run (`aibomd run` of the example app -> OTLP -> rotel-agent
//! -> ClickHouse tables `aibom-query --migrate-only` made) and returns rows; the dashboard
//! JSON has what Grafana needs; every name the SQL uses is in `aibom-semconv` or the schema.
//!
//! The end-to-end test needs root (eBPF): under `CI=true` it fails without, elsewhere it skips.
mod common;
mod stack_util;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aibom_semconv::{attr, metric};
use chrono::Utc;
use serde_json::{Map, Value};
use stack_util::grafana::{self, TimeRange, Var, Vars};
use stack_util::*;

/// Panel types the dashboards may use (Grafana core panels).
const PANEL_TYPES: &[&str] = &["stat", "table", "timeseries", "barchart", "piechart", "row"];

/// Stat panels whose single value may legitimately be 0 after a healthy short run, and why.
const MAY_BE_ZERO: &[(&str, &str)] = &[
    (
        "Dropped",
        "the ring buffer only overflows under an open storm, not for one small app",
    ),
    (
        "Renamed away",
        "the example app renames no model (tests/kernel.rs counts renames)",
    ),
    (
        "Export failures",
        "rotel is up before aibomd starts, so no OTLP attempt fails",
    ),
    (
        "Export dropped",
        "nothing is dropped when the collector takes everything",
    ),
    (
        "Containers",
        "the example runs as a host process, in no container (checked against the data)",
    ),
];

/// Panels that return no rows after a healthy run without a policy or without AI API calls,
/// the table they read (with the panel's own condition when it has one, ending in `AND`), and
/// why. They must have rows exactly when the run stored some in that
/// table (checked against the data).
const MAY_BE_EMPTY: &[(&str, &str, &str)] = &[
    (
        "Policy violations by rule",
        "runtime_violations",
        "aibomd ran without --policy, so nothing was judged",
    ),
    (
        "Recent policy violations",
        "runtime_violations",
        "aibomd ran without --policy, so nothing was judged",
    ),
    (
        "AI APIs called",
        "runtime_api_calls",
        "the example app calls no AI API",
    ),
    (
        "Unsafe serialized models",
        // only files whose scan found a dangerous import are listed
        "runtime_unsafe_scans WHERE artifact_unsafe = true AND",
        "the example app loads no unsafe pickle (its pickle-based files are scanned: benign)",
    ),
];

fn dashboard_time_range_sample() -> TimeRange {
    let now = Utc::now();
    TimeRange {
        from: now - chrono::Duration::hours(1),
        to: now,
        interval_ms: 5_000,
    }
}

/// Placeholder values for every variable, for static expansion.
fn dummy_vars(d: &Dashboard) -> Vars {
    d.variables()
        .iter()
        .map(|v| {
            let name = v["name"].as_str().unwrap().to_string();
            (name, Var::one("x"))
        })
        .collect()
}

/// Names of the variables a piece of SQL refers to (`$v`, `${v}`, `${v:fmt}`; not `$__macros`).
fn referenced_vars(sql: &str) -> BTreeSet<String> {
    let re = regex::Regex::new(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)").unwrap();
    re.captures_iter(sql)
        .map(|c| c.get(1).or(c.get(2)).unwrap().as_str().to_string())
        .filter(|n| !n.starts_with("__"))
        .collect()
}

#[test]
fn grafana_emulation_expands_as_the_plugin_does() {
    let r = TimeRange {
        from: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        to: chrono::DateTime::from_timestamp(1_700_003_600, 0).unwrap(),
        interval_ms: 30_000,
    };
    let mut vars = Vars::new();
    vars.insert("project".into(), Var::one("o'brien"));
    vars.insert("host".into(), Var::all(vec!["a".into(), "b".into()]));
    let sql = "SELECT $__timeInterval(time) AS t FROM runtime_events WHERE $__timeFilter(time) \
               AND project_id = ${project:singlequote} \
               AND $__conditionalAll(host_name IN (${host:singlequote}), $host)";
    assert_eq!(
        grafana::interpolate(sql, &vars, &r).unwrap(),
        "SELECT toStartOfInterval(toDateTime(time), INTERVAL 30 second) AS t FROM runtime_events \
         WHERE time >= toDateTime(1700000000) AND time <= toDateTime(1700003600) \
         AND project_id = 'o\\'brien' AND 1=1"
    );
    vars.insert(
        "host".into(),
        Var {
            selected: Some(vec!["a".into(), "b".into()]),
            options: vec!["a".into(), "b".into(), "c".into()],
        },
    );
    let s = grafana::interpolate(sql, &vars, &r).unwrap();
    assert!(s.ends_with("AND host_name IN ('a','b')"), "{s}");
    // "All" without conditionalAll expands to every option, as Grafana does
    vars.insert(
        "host".into(),
        Var::all(vec!["a".into(), "b".into(), "c".into()]),
    );
    assert_eq!(
        grafana::interpolate("h IN (${host:singlequote})", &vars, &r).unwrap(),
        "h IN ('a','b','c')"
    );
    assert!(grafana::interpolate("$__notAMacro(x)", &vars, &r).is_err());
    assert!(grafana::interpolate("$nosuchvar", &vars, &r).is_err());
}

/// The JSON files are what `dashboards/generate.py` (where the shared SQL is spelled once)
/// writes: an edit of the JSON alone would be lost at the next generation.
#[test]
fn dashboard_json_is_what_generate_py_writes() {
    let py = python().unwrap_or_else(|| "python3".into());
    let out = Command::new(&py)
        .arg(root().join("dashboards/generate.py"))
        .arg("--check")
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", py.display()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn dashboards_have_what_grafana_needs() {
    let (ds_uid, ds_type) = provisioned_datasource();
    let ds = serde_json::json!({"type": ds_type, "uid": ds_uid});
    let columns = schema_columns();
    assert!(
        columns
            .get("runtime_events")
            .is_some_and(|c| c.contains("artifact_sha256")),
        "schema parse: {columns:?}"
    );
    let boards = dashboards();
    let uids: BTreeSet<&str> = boards.iter().map(|d| d.uid()).collect();
    assert_eq!(uids.len(), boards.len(), "dashboard uids must be unique");
    for want in ["aibom-overview", "aibom-artifact", "aibomd-health"] {
        assert!(uids.contains(want), "missing dashboard {want}: {uids:?}");
    }
    let mut problems = Vec::new();
    for d in &boards {
        let f = &d.file;
        let j = &d.json;
        let uid = d.uid();
        if uid.is_empty()
            || uid.len() > 40
            || !uid
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            problems.push(format!("{f}: bad uid {uid:?}"));
        }
        if j["title"].as_str().is_none_or(str::is_empty) {
            problems.push(format!("{f}: no title"));
        }
        if j["schemaVersion"].as_u64().is_none_or(|v| v < 36) {
            problems.push(format!("{f}: schemaVersion missing or < 36"));
        }
        if j["time"]["from"].as_str().is_none() || j["time"]["to"].as_str().is_none() {
            problems.push(format!("{f}: no default time range"));
        }
        // panels: ids unique, gridPos inside the 24-column grid and not overlapping
        let panels = d.panels();
        if panels.is_empty() {
            problems.push(format!("{f}: no panels"));
        }
        let mut ids = BTreeSet::new();
        let mut titles = BTreeSet::new();
        let mut rects: Vec<(i64, i64, i64, i64, String)> = Vec::new();
        for p in &panels {
            let title = p["title"].as_str().unwrap_or("").to_string();
            let at = format!("{f} panel {title:?}");
            match p["id"].as_u64() {
                Some(id) if ids.insert(id) => {}
                other => problems.push(format!("{at}: id {other:?} missing or repeated")),
            }
            if title.is_empty() || !titles.insert(title.clone()) {
                problems.push(format!("{at}: title empty or repeated"));
            }
            let ty = p["type"].as_str().unwrap_or("");
            if !PANEL_TYPES.contains(&ty) {
                problems.push(format!("{at}: panel type {ty:?}"));
            }
            let g = &p["gridPos"];
            let n = |k: &str| g[k].as_i64();
            match (n("x"), n("y"), n("w"), n("h")) {
                (Some(x), Some(y), Some(w), Some(h))
                    if x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 24 =>
                {
                    for (ox, oy, ow, oh, other) in &rects {
                        if x < ox + ow && *ox < x + w && y < oy + oh && *oy < y + h {
                            problems.push(format!("{at}: overlaps panel {other:?}"));
                        }
                    }
                    rects.push((x, y, w, h, title.clone()));
                }
                _ => problems.push(format!("{at}: bad gridPos {g}")),
            }
            if ty == "row" {
                continue;
            }
            if p["datasource"] != ds {
                problems.push(format!(
                    "{at}: datasource {} is not the provisioned {ds}",
                    p["datasource"]
                ));
            }
            let targets = p["targets"].as_array().cloned().unwrap_or_default();
            if targets.is_empty() {
                problems.push(format!("{at}: no targets"));
            }
            for t in &targets {
                if t["datasource"] != ds {
                    problems.push(format!("{at}: target datasource {}", t["datasource"]));
                }
                if t["refId"].as_str().is_none_or(str::is_empty) {
                    problems.push(format!("{at}: target without refId"));
                }
                if t["editorType"] != "sql" || t["rawSql"].as_str().is_none_or(str::is_empty) {
                    problems.push(format!("{at}: target needs editorType sql and rawSql"));
                }
                // the plugin's Format: 0 time series, 1 table
                let want = if ty == "timeseries" { 0 } else { 1 };
                if t["format"].as_u64() != Some(want) {
                    problems.push(format!("{at}: format {} (want {want})", t["format"]));
                }
            }
        }
        // variables: query variables on the datasource; every referenced one defined, and
        // defined before the variables whose queries use it
        let vars = d.variables();
        let mut defined: Vec<String> = Vec::new();
        for v in &vars {
            let name = v["name"].as_str().unwrap_or("").to_string();
            let at = format!("{f} variable {name:?}");
            if v["type"] != "query" || v["datasource"] != ds {
                problems.push(format!("{at}: must be a query variable on {ds}"));
            }
            let sql = v["query"]["rawSql"].as_str().unwrap_or("");
            if sql.is_empty() || v["definition"].as_str() != Some(sql) {
                problems.push(format!("{at}: query.rawSql missing or != definition"));
            }
            for r in referenced_vars(sql) {
                if !defined.contains(&r) {
                    problems.push(format!("{at}: uses ${r} before it is defined"));
                }
            }
            defined.push(name);
        }
        let all_sql = d.all_sql();
        let mut used = BTreeSet::new();
        for (what, sql) in &all_sql {
            for r in referenced_vars(sql) {
                if !defined.contains(&r) {
                    problems.push(format!("{f} {what}: undefined variable ${r}"));
                }
                used.insert(r);
            }
            // $__conditionalAll only on multi-value variables with "All"
            let cond_vars = grafana::conditional_all_vars(sql).unwrap_or_else(|e| {
                problems.push(format!("{f} {what}: {e}"));
                Vec::new()
            });
            for name in cond_vars {
                let v = vars.iter().find(|v| v["name"] == name.as_str());
                if !v.is_some_and(|v| v["includeAll"] == true && v["multi"] == true) {
                    problems.push(format!(
                        "{f} {what}: $__conditionalAll on ${name} which has no multi/All"
                    ));
                }
            }
            for p in name_problems(sql, &columns) {
                problems.push(format!("{f} {what}: {p}"));
            }
            if let Err(e) =
                grafana::interpolate(sql, &dummy_vars(d), &dashboard_time_range_sample())
            {
                problems.push(format!("{f} {what}: {e}"));
            }
        }
        for name in &defined {
            if !used.contains(name) {
                problems.push(format!("{f}: variable ${name} is used by no query"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The semconv names the health dashboard shows must be what aibomd exports (and a metric
/// without a panel is noticed when it is one of the health ones the issue asks for).
#[test]
fn health_dashboard_covers_the_daemon_metrics() {
    let board = dashboards()
        .into_iter()
        .find(|d| d.uid() == "aibomd-health")
        .unwrap();
    let sql: String = board
        .all_sql()
        .into_iter()
        .map(|(_, s)| s)
        .collect::<Vec<_>>()
        .join("\n");
    for m in [
        metric::EVENTS_SEEN,
        metric::EVENTS_FILTERED,
        metric::EVENTS_DROPPED,
        metric::RENAMED_AWAY,
        metric::EXPORT_FAILURES,
        metric::EXPORT_DROPPED,
        metric::SPOOL_REQUESTS,
        metric::QUEUE_DEPTH,
    ] {
        assert!(sql.contains(&format!("'{m}'")), "no panel reads {m}");
    }
    assert!(sql.contains(&format!("ResourceAttributes['{}']", attr::HOST_NAME)));
}

/// The overview's violation panels, run as Grafana runs them against a real ClickHouse engine
/// holding `aibom.policy.violation` records shaped as rotel writes them: counts per rule over
/// time and the latest violations with their verdict, file and process; host and container
/// selections apply. No root needed (no aibomd run).
#[test]
fn overview_shows_policy_violations_by_rule_and_the_latest_ones() {
    use aibom_semconv::{event, policy_action, policy_severity, record};
    let board = dashboards()
        .into_iter()
        .find(|d| d.uid() == "aibom-overview")
        .unwrap();
    let sql_of = |title: &str| -> String {
        let p = board
            .panels()
            .into_iter()
            .find(|p| p["title"] == title)
            .unwrap_or_else(|| panic!("no panel {title:?}"));
        p["targets"][0]["rawSql"].as_str().unwrap().to_string()
    };
    let by_rule = sql_of("Policy violations by rule");
    let recent = sql_of("Recent policy violations");
    for a in [
        attr::POLICY_RULE,
        attr::POLICY_ACTION,
        attr::POLICY_SEVERITY,
        attr::POLICY_ENFORCED,
        attr::FILE_PATH,
        attr::PROCESS_COMMAND_LINE,
    ] {
        assert!(recent.contains(&column_of(a)), "recent violations lack {a}");
    }
    assert!(by_rule.contains(&column_of(attr::POLICY_RULE)));

    let Some(ch) = common::ClickHouse::start() else {
        return;
    };
    let m = common::migrate(&ch);
    assert!(
        m.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&m.stderr)
    );
    let now = Utc::now();
    let base = now.timestamp_nanos_opt().unwrap() - 600 * 1_000_000_000;
    let violation = |t: i64, rule: &str, action: &str, severity: &str, host: &str| {
        let pid = (100 + t).to_string();
        common::log_row(
            base + t * 1_000_000_000,
            &[
                (record::EVENT_NAME, event::POLICY_VIOLATION),
                (attr::PROJECT_ID, "demo"),
                (attr::FILE_PATH, "/m/evil.safetensors"),
                (attr::PROCESS_PID, &pid),
                (attr::PROCESS_EXECUTABLE_NAME, "python3"),
                (attr::PROCESS_COMMAND_LINE, "python3 app.py"),
                (attr::ARTIFACT_TYPE, "model"),
                (attr::ARTIFACT_NAME, "evil"),
                (attr::POLICY_RULE, rule),
                (attr::POLICY_ACTION, action),
                (attr::POLICY_SEVERITY, severity),
                (
                    attr::POLICY_ENFORCED,
                    if action == policy_action::ALERT {
                        "false"
                    } else {
                        "true"
                    },
                ),
            ],
            &[(attr::HOST_NAME, host)],
        )
    };
    ch.insert_logs(
        &[
            violation(
                1,
                "no-pickle",
                policy_action::DENY,
                policy_severity::CRITICAL,
                "node-1",
            ),
            violation(
                2,
                "no-pickle",
                policy_action::DENY,
                policy_severity::CRITICAL,
                "node-1",
            ),
            violation(
                3,
                "mit-only",
                policy_action::ALERT,
                policy_severity::LOW,
                "node-1",
            ),
            violation(
                4,
                "mit-only",
                policy_action::ALERT,
                policy_severity::LOW,
                "node-2",
            ),
        ],
        false,
    );
    let range = TimeRange {
        from: now - chrono::Duration::hours(1),
        to: now + chrono::Duration::minutes(1),
        interval_ms: 3_600_000,
    };
    let hosts = vec!["node-1".to_string(), "node-2".to_string()];
    let run = |sql: &str, host: Var| {
        let mut vars = Vars::new();
        vars.insert("project".into(), Var::one("demo"));
        vars.insert("host".into(), host);
        vars.insert("container".into(), Var::all(Vec::new()));
        let sql = grafana::interpolate(sql, &vars, &range).unwrap();
        query(&ch, &sql).unwrap_or_else(|e| panic!("{e}\n{sql}"))
    };
    // Two violations of each rule (in one or two hourly buckets).
    let mut counts: BTreeMap<String, f64> = BTreeMap::new();
    for r in run(&by_rule, Var::all(hosts.clone())) {
        *counts
            .entry(r["rule"].as_str().unwrap().to_string())
            .or_default() += num(&r["violations"]);
    }
    assert_eq!(
        counts,
        BTreeMap::from([("mit-only".into(), 2.0), ("no-pickle".into(), 2.0)])
    );
    let rows = run(&recent, Var::all(hosts));
    assert_eq!(rows.len(), 4);
    assert_eq!(cell(&rows, 0, "rule"), "mit-only", "newest first: {rows:?}");
    assert_eq!(cell(&rows, 0, "host"), "node-2");
    let denied = &rows[3];
    assert_eq!(denied["action"], policy_action::DENY);
    assert_eq!(denied["severity"], policy_severity::CRITICAL);
    assert_eq!(denied["enforced"], Value::Bool(true));
    assert_eq!(denied["path"], "/m/evil.safetensors");
    assert_eq!(denied["artifact_label"], "evil");
    assert_eq!(denied["command_line"], "python3 app.py");
    // The host selection applies.
    let one = run(&recent, Var::one("node-2"));
    assert_eq!(one.len(), 1);
    assert!(run(&by_rule, Var::one("no-such-host")).is_empty());
}

/// The overview's "AI APIs called" panel, run as Grafana runs it against a real ClickHouse
/// engine holding `aibom.api.call` records shaped as rotel writes them: calls (the sum of
/// `aibom.api.count`) and distinct processes per provider, server, model and operation, most
/// calls first; the host selection applies. No root needed (no aibomd run).
#[test]
fn overview_shows_the_ai_apis_called() {
    use aibom_semconv::{api_provider, api_seen_by, event, record};
    let sql = overview_panel_sql("AI APIs called");
    for a in [
        attr::API_PROVIDER,
        attr::SERVER_ADDRESS,
        attr::GEN_AI_REQUEST_MODEL,
        attr::API_COUNT,
    ] {
        assert!(sql.contains(&column_of(a)), "the panel lacks {a}");
    }

    let Some(ch) = common::ClickHouse::start() else {
        return;
    };
    let m = common::migrate(&ch);
    assert!(
        m.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&m.stderr)
    );
    let now = Utc::now();
    let base = now.timestamp_nanos_opt().unwrap() - 600 * 1_000_000_000;
    let api_call =
        |t: i64, provider: &str, host: &str, model: &str, count: &str, pid: &str, node: &str| {
            let mut a = vec![
                (record::EVENT_NAME, event::API_CALL),
                (attr::PROJECT_ID, "demo"),
                (attr::API_PROVIDER, provider),
                (attr::SERVER_ADDRESS, host),
                (attr::SERVER_PORT, "443"),
                (attr::API_SEEN_BY, api_seen_by::UPROBE),
                (attr::API_COUNT, count),
                (attr::PROCESS_PID, pid),
                (attr::PROCESS_EXECUTABLE_NAME, "python3"),
                (attr::GEN_AI_OPERATION_NAME, "chat"),
            ];
            if !model.is_empty() {
                a.push((attr::GEN_AI_REQUEST_MODEL, model));
            }
            common::log_row(base + t * 1_000_000_000, &a, &[(attr::HOST_NAME, node)])
        };
    let (openai, anthropic) = (api_provider::OPENAI, api_provider::ANTHROPIC);
    ch.insert_logs(
        &[
            api_call(
                1,
                openai,
                "api.openai.com",
                "gpt-4o-mini",
                "2",
                "100",
                "node-1",
            ),
            api_call(
                2,
                openai,
                "api.openai.com",
                "gpt-4o-mini",
                "1",
                "100",
                "node-1",
            ),
            api_call(
                3,
                openai,
                "api.openai.com",
                "gpt-4o-mini",
                "4",
                "101",
                "node-2",
            ),
            api_call(4, anthropic, "api.anthropic.com", "", "3", "102", "node-1"),
        ],
        false,
    );
    let run = |host: Var| run_for_demo(&ch, &sql, host, now);
    let rows = run(Var::all(vec!["node-1".into(), "node-2".into()]));
    let got: Vec<(String, String, String, f64, f64)> = rows
        .iter()
        .map(|r| {
            (
                r["provider"].as_str().unwrap().to_string(),
                r["api_host"].as_str().unwrap().to_string(),
                r["model"].as_str().unwrap().to_string(),
                num(&r["calls"]),
                num(&r["processes"]),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                openai.into(),
                "api.openai.com".into(),
                "gpt-4o-mini".into(),
                7.0,
                2.0
            ),
            (
                anthropic.into(),
                "api.anthropic.com".into(),
                String::new(),
                3.0,
                1.0
            ),
        ],
        "most calls first: {rows:?}"
    );
    // The host selection applies: node-2 made 4 of the OpenAI calls.
    let one = run(Var::one("node-2"));
    assert_eq!(one.len(), 1, "{one:?}");
    assert_eq!(num(&one[0]["calls"]), 4.0);
    assert!(run(Var::one("no-such-host")).is_empty());
}

/// The overview's "Unsafe serialized models" panel, run as Grafana runs it against a real
/// ClickHouse engine holding `aibom.artifact.identified` records shaped as rotel writes them:
/// only files whose latest scan is unsafe, with the callables; a safe file, a scan that
/// stopped early and an unscanned file are not listed; the host selection applies. No root
/// needed (no aibomd run).
#[test]
fn overview_shows_the_unsafe_serialized_models() {
    use aibom_semconv::{event, record};
    let sql = overview_panel_sql("Unsafe serialized models");
    for a in [attr::ARTIFACT_UNSAFE, attr::ARTIFACT_UNSAFE_REASON] {
        assert!(sql.contains(&column_of(a)), "the panel lacks {a}");
    }
    let Some(ch) = common::migrated_clickhouse() else {
        return;
    };
    let now = Utc::now();
    let base = now.timestamp_nanos_opt().unwrap() - 600 * 1_000_000_000;
    let scanned = |t: i64, path: &str, verdict: &[(&'static str, &'static str)], node: &str| {
        let mut a = vec![
            (record::EVENT_NAME, event::ARTIFACT_IDENTIFIED),
            (attr::PROJECT_ID, "demo"),
            (attr::FILE_PATH, path),
            (attr::ARTIFACT_FORMAT, "pickle"),
            (attr::PROCESS_PID, "100"),
        ];
        a.extend_from_slice(verdict);
        common::log_row(base + t * 1_000_000_000, &a, &[(attr::HOST_NAME, node)])
    };
    let evil = [
        (attr::ARTIFACT_UNSAFE, "true"),
        (attr::ARTIFACT_UNSAFE_REASON, "posix.system"),
    ];
    ch.insert_logs(
        &[
            scanned(1, "/m/evil.pkl", &evil, "node-1"),
            scanned(2, "/m/ok.pt", &[(attr::ARTIFACT_UNSAFE, "false")], "node-1"),
            scanned(
                3,
                "/m/cut.pkl",
                &[(
                    attr::ARTIFACT_UNSAFE_SCAN_ERROR,
                    "truncated pickle: no STOP opcode",
                )],
                "node-1",
            ),
            scanned(4, "/m/plain.safetensors", &[], "node-1"),
            scanned(5, "/m/evil2.pt", &evil, "node-2"),
        ],
        false,
    );
    let run = |host: Var| run_for_demo(&ch, &sql, host, now);
    let rows = run(Var::all(vec!["node-1".into(), "node-2".into()]));
    let files: Vec<&str> = rows.iter().map(|r| r["file"].as_str().unwrap()).collect();
    assert_eq!(
        files,
        ["/m/evil2.pt", "/m/evil.pkl"],
        "latest first: {rows:?}"
    );
    assert!(
        rows.iter()
            .all(|r| r["dangerous_imports"] == "posix.system"),
        "{rows:?}"
    );
    let one = run(Var::one("node-2"));
    assert_eq!(one.len(), 1, "{one:?}");
    assert_eq!(one[0]["file"], "/m/evil2.pt");
}

/// The SQL of the overview's panel titled `title`.
fn overview_panel_sql(title: &str) -> String {
    let board = dashboards()
        .into_iter()
        .find(|d| d.uid() == "aibom-overview")
        .unwrap();
    let panel = board
        .panels()
        .into_iter()
        .find(|p| p["title"] == title)
        .unwrap_or_else(|| panic!("no panel {title:?}"));
    panel["targets"][0]["rawSql"].as_str().unwrap().to_string()
}

/// Runs a panel's SQL as Grafana would for project `demo`, the last hour up to `now`,
/// the `host` selection and every container.
fn run_for_demo(
    ch: &common::ClickHouse,
    sql: &str,
    host: Var,
    now: chrono::DateTime<Utc>,
) -> Vec<Map<String, Value>> {
    let range = TimeRange {
        from: now - chrono::Duration::hours(1),
        to: now + chrono::Duration::minutes(1),
        interval_ms: 3_600_000,
    };
    let mut vars = Vars::new();
    vars.insert("project".into(), Var::one("demo"));
    vars.insert("host".into(), host);
    vars.insert("container".into(), Var::all(Vec::new()));
    let sql = grafana::interpolate(sql, &vars, &range).unwrap();
    query(ch, &sql).unwrap_or_else(|e| panic!("{e}\n{sql}"))
}

// ------------------------------------------------------------------ end to end

/// Runs SQL over ClickHouse's HTTP interface; rows as JSON objects.
fn query(ch: &common::ClickHouse, sql: &str) -> Result<Vec<Map<String, Value>>, String> {
    let url = format!("{}/?database={}", ch.url(), common::DB);
    let body = format!("{sql}\nFORMAT JSON");
    let (status, text) = common::block(async {
        let r = reqwest::Client::new()
            .post(&url)
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let s = r.status().as_u16();
        Ok::<_, String>((s, r.text().await.unwrap_or_default()))
    })?;
    if status != 200 {
        return Err(format!("HTTP {status}: {text}"));
    }
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
    Ok(v["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| r.as_object().cloned())
        .collect())
}

fn count(ch: &common::ClickHouse, sql: &str) -> u64 {
    let rows = query(ch, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    num(rows[0].values().next().unwrap()) as u64
}

/// A ClickHouse JSON number (64-bit integers come quoted).
fn num(v: &Value) -> f64 {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(f64::NAN)
}

fn first_col(rows: &[Map<String, Value>]) -> Vec<String> {
    rows.iter()
        .filter_map(|r| r.values().next())
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
        .collect()
}

/// What the end-to-end run put into ClickHouse.
struct Run {
    _dir: tempfile::TempDir,
    _rotel: Killed,
    ch: common::ClickHouse,
    host: String,
    start: chrono::DateTime<Utc>,
}

/// `aibomd run --project demo` of the example app, then of a pickle named `.safetensors`
/// (so the format-mismatch panels have a row), exporting OTLP to rotel-agent.
fn end_to_end_run() -> Option<Run> {
    if !is_root() {
        common::skip("the end-to-end dashboard test runs aibomd with eBPF, which needs root");
        return None;
    }
    let Some(aibomd) = aibomd_binary() else {
        common::skip(
            "aibomd is not built next to this test (cargo test --workspace builds it; \
             or cargo build -p aibomd with the same profile)",
        );
        return None;
    };
    let Some(py) = python() else {
        common::skip("no Python: set AIBOM_TEST_PYTHON or run scripts/setup (.venv)");
        return None;
    };
    let Some(agent) = rotel_agent() else {
        common::skip("rotel-agent is not in .venv (scripts/setup installs tests/requirements.txt)");
        return None;
    };
    let ch = common::ClickHouse::start()?;
    let m = common::migrate(&ch);
    assert!(
        m.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&m.stderr)
    );
    let dir = tempfile::Builder::new()
        .prefix("aibom-dash-")
        .tempdir_in("/tmp")
        .unwrap();
    let (rotel, grpc, _http) = start_rotel_listening(
        &agent,
        &ch.url(),
        common::DB,
        &dir.path().join("rotel.log"),
        common::free_port,
    );
    let start = Utc::now();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let aibomd_run = |args: &[&str]| {
        let out = Command::new(&aibomd)
            .args([
                "run",
                "-q",
                "--project",
                "demo",
                "--tracer",
                "ebpf",
                "--no-console",
            ])
            .arg("--")
            .args(args)
            .current_dir(&work)
            .env(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{grpc}"),
            )
            .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
            .env("OTEL_METRIC_EXPORT_INTERVAL", "1000")
            .env("AIBOM_EXPORT__OTLP__SPOOL_DIR", dir.path().join("spool"))
            .env("AIBOM_EXAMPLE_DIR", &work)
            .stdin(Stdio::null())
            .output()
            .expect("aibomd runs");
        assert!(
            out.status.success(),
            "aibomd run {args:?}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let py = py.to_string_lossy().into_owned();
    let app = root().join("examples/ml-app/app.py");
    aibomd_run(&[
        &py,
        app.to_str().unwrap(),
        "--workdir",
        work.to_str().unwrap(),
    ]);
    aibomd_run(&[
        &py,
        "-c",
        "import pickle; pickle.dump({'w': 1}, open('evil.safetensors', 'wb'), protocol=4); \
         open('evil.safetensors', 'rb').read()",
    ]);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string();
    let run = Run {
        _dir: dir,
        _rotel: rotel,
        ch,
        host,
        start,
    };
    // rotel exports each request as it comes; wait until every kind of row is there
    let ready = [
        "SELECT count() FROM runtime_events WHERE project_id = 'demo' AND artifact_sha256 != ''"
            .to_string(),
        "SELECT count() FROM runtime_events WHERE project_id = 'demo' \
         AND artifact_format_mismatch != ''"
            .to_string(),
        format!(
            "SELECT count() FROM otel_metrics_sum WHERE MetricName = '{}'",
            metric::EVENTS_SEEN
        ),
        format!(
            "SELECT count() FROM otel_metrics_gauge WHERE MetricName = '{}'",
            metric::SPOOL_REQUESTS
        ),
    ];
    let t0 = Instant::now();
    for q in &ready {
        while count(&run.ch, q) == 0 {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "no rows after 60 s for {q}; rotel log: {}",
                std::fs::read_to_string(run._dir.path().join("rotel.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    Some(run)
}

/// What the run stored, for failure messages.
fn summary(run: &Run) -> String {
    let rows = query(
        &run.ch,
        "SELECT event_name, artifact_id, artifact_type, artifact_license, artifact_format, \
         artifact_format_mismatch, artifact_sha256 != '' AS hashed, count() AS n \
         FROM runtime_events GROUP BY ALL ORDER BY artifact_id",
    )
    .unwrap_or_default();
    rows.iter()
        .map(|r| Value::Object(r.clone()).to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The options a variable's query returns (the first column is the value, as the plugin's
/// `metricFindQuery` takes it).
fn variable_options(run: &Run, v: &Value, vars: &Vars, range: &TimeRange) -> Vec<String> {
    let name = &v["name"];
    let sql = grafana::interpolate(v["query"]["rawSql"].as_str().unwrap(), vars, range)
        .unwrap_or_else(|e| panic!("variable {name}: {e}"));
    let rows = query(&run.ch, &sql).unwrap_or_else(|e| panic!("variable {name}: {e}\n{sql}"));
    first_col(&rows)
}

/// Runs every panel of `d` with `vars`; rows per panel title.
fn run_panels(
    run: &Run,
    d: &Dashboard,
    vars: &Vars,
    range: &TimeRange,
) -> BTreeMap<String, Vec<Map<String, Value>>> {
    let mut out = BTreeMap::new();
    for p in d.panels() {
        let title = p["title"].as_str().unwrap().to_string();
        for t in p["targets"].as_array().into_iter().flatten() {
            let raw = t["rawSql"].as_str().unwrap();
            let sql = grafana::interpolate(raw, vars, range)
                .unwrap_or_else(|e| panic!("{} {title:?}: {e}", d.file));
            let rows =
                query(&run.ch, &sql).unwrap_or_else(|e| panic!("{} {title:?}: {e}\n{sql}", d.file));
            out.insert(title.clone(), rows);
        }
    }
    out
}

fn cell<'a>(rows: &'a [Map<String, Value>], i: usize, col: &str) -> &'a str {
    rows[i][col]
        .as_str()
        .unwrap_or_else(|| panic!("no {col} in {:?}", rows[i]))
}

/// What a user reads in some panels after the example ran: the numbers agree with each other
/// and name what the app loaded.
fn check_content(run: &Run, d: &Dashboard, rows: &BTreeMap<String, Vec<Map<String, Value>>>) {
    let stat = |t: &str| num(rows[t][0].values().next().unwrap());
    match d.uid() {
        "aibom-overview" => {
            let inv = &rows["Artifact inventory"];
            assert_eq!(
                stat("Artifacts"),
                inv.len() as f64,
                "Artifacts vs inventory"
            );
            let hub = (0..inv.len())
                .find(|&i| {
                    cell(inv, i, "artifact").starts_with("pkg:huggingface/aibom-demo/tiny-bert@")
                })
                .unwrap_or_else(|| panic!("the example's hub model is not in {inv:?}"));
            assert_eq!(cell(inv, hub, "license_name"), "Apache-2.0");
            assert_eq!(cell(inv, hub, "artifact_kind"), "model");
            let unknown = &rows["Artifacts without a license"];
            assert_eq!(stat("Unknown licenses"), unknown.len() as f64);
            let mm = &rows["Files whose format does not match their name"];
            assert!(cell(mm, 0, "path").ends_with("/evil.safetensors"), "{mm:?}");
            assert_eq!(
                (cell(mm, 0, "claimed"), cell(mm, 0, "actual")),
                ("safetensors", "pickle")
            );
            assert_eq!(cell(mm, 0, "host"), run.host);
        }
        "aibom-artifact" => {
            let p = &rows["Processes that loaded it"];
            assert!(cell(p, 0, "executable").starts_with("python"), "{p:?}");
            assert_eq!(cell(p, 0, "host"), run.host);
            assert_eq!(cell(&rows["Artifact"], 0, "type"), "model");
        }
        "aibomd-health" => {
            assert!(stat("Events seen") >= stat("Filtered"));
            let r = stat("Filter ratio");
            assert!((0.0..=1.0).contains(&r), "filter ratio {r}");
        }
        other => panic!("no content check for dashboard {other}"),
    }
}

#[test]
fn every_panel_and_variable_returns_rows_from_an_end_to_end_run() {
    let Some(run) = end_to_end_run() else {
        return;
    };
    let range = TimeRange {
        from: run.start - chrono::Duration::minutes(10),
        to: Utc::now() + chrono::Duration::minutes(1),
        interval_ms: 5_000,
    };
    let containers = count(
        &run.ch,
        "SELECT uniqExact(container_id) FROM runtime_events \
         WHERE project_id = 'demo' AND container_id != ''",
    );
    let stored = |table: &str| {
        count(
            &run.ch,
            &match table.strip_suffix(" AND") {
                Some(cond) => format!("SELECT count() FROM {cond} AND project_id = 'demo'"),
                None => format!("SELECT count() FROM {table} WHERE project_id = 'demo'"),
            },
        )
    };
    let mut report = Vec::new();
    for d in dashboards() {
        // variables in order, each query filled with the ones before it
        let mut vars = Vars::new();
        for v in d.variables() {
            let name = v["name"].as_str().unwrap().to_string();
            let opts = variable_options(&run, v, &vars, &range);
            report.push(format!("{} ${name}: {} options", d.file, opts.len()));
            let var = match name.as_str() {
                "project" => {
                    assert!(opts.contains(&"demo".to_string()), "$project: {opts:?}");
                    Var::one("demo")
                }
                "host" => {
                    assert_eq!(opts, vec![run.host.clone()], "{} $host", d.file);
                    Var::all(opts)
                }
                "container" => {
                    // Legitimately empty: the example ran as a host process, so no event
                    // carries a container id; then "All" (1=1) is what Grafana selects.
                    assert_eq!(opts.len() as u64, containers, "$container: {opts:?}");
                    Var::all(opts)
                }
                "sha256" => {
                    assert!(!opts.is_empty(), "$sha256 has no options");
                    assert!(opts.iter().all(|o| o.len() == 64), "$sha256: {opts:?}");
                    // the first option is a model (the query orders models first)
                    let model = count(
                        &run.ch,
                        &format!(
                            "SELECT countIf(artifact_type = 'model') FROM runtime_events \
                             WHERE artifact_sha256 = '{}'",
                            opts[0]
                        ),
                    );
                    assert!(model > 0, "first $sha256 option {} is no model", opts[0]);
                    Var::one(&opts[0])
                }
                other => panic!("{}: no expectation for variable ${other}", d.file),
            };
            vars.insert(name, var);
        }
        let all = run_panels(&run, &d, &vars, &range);
        for (title, rows) in &all {
            let at = format!("{} {title:?}", d.file);
            if let Some((_, table, why)) = MAY_BE_EMPTY.iter().find(|(t, _, _)| t == title) {
                let n = stored(table);
                assert_eq!(
                    rows.is_empty(),
                    n == 0,
                    "{at}: {} rows, {n} rows stored in {table}",
                    rows.len()
                );
                report.push(format!("{at}: {} rows (may be empty: {why})", rows.len()));
                continue;
            }
            assert!(
                !rows.is_empty(),
                "{at}: no rows; the data: {}",
                summary(&run)
            );
            report.push(format!("{at}: {} rows", rows.len()));
            let panel = d
                .panels()
                .into_iter()
                .find(|p| p["title"] == *title)
                .unwrap();
            if panel["type"] == "stat" {
                let v = num(rows[0].values().next().unwrap());
                assert!(v.is_finite(), "{at}: {:?}", rows[0]);
                match MAY_BE_ZERO.iter().find(|(t, _)| t == title) {
                    Some((_, why)) => {
                        assert!(v >= 0.0, "{at}: {v}");
                        if *title == "Containers" && containers == 0 {
                            assert_eq!(v, 0.0, "{at}: no event has a container id");
                        }
                        report.push(format!("{at}: {v} (may be 0: {why})"));
                    }
                    None => assert!(v > 0.0, "{at}: 0 after the run: {:?}", rows[0]),
                }
            }
        }
        check_content(&run, &d, &all);
        // The same with the one host selected explicitly: one host ran everything, so the
        // rows must be the same as with "All"; an unknown host must empty the event panels.
        if vars.contains_key("host") {
            let mut one = vars.clone();
            one.insert("host".into(), Var::one(&run.host));
            let picked = run_panels(&run, &d, &one, &range);
            for (title, rows) in &all {
                assert_eq!(
                    picked[title].len(),
                    rows.len(),
                    "{} {title:?} with $host={}",
                    d.file,
                    run.host
                );
            }
            one.insert("host".into(), Var::one("no-such-host"));
            let none = run_panels(&run, &d, &one, &range);
            let total: f64 = none
                .values()
                .flatten()
                .filter_map(|r| r.values().next_back().map(num))
                .filter(|v| v.is_finite())
                .sum();
            assert_eq!(
                total, 0.0,
                "{}: $host=no-such-host still shows data: {none:?}",
                d.file
            );
        }
    }
    eprintln!("{}", report.join("\n"));
}

//! `--cluster` DDL on a real ClickHouse engine (chDB): the cluster rendering builds the same
//! tables, columns and views as the single-node one, and rows written through the
//! `Distributed` logs table reach every typed table through the local views.
//!
//! chDB has no Keeper, so `ON CLUSTER` (distributed DDL) and `Replicated*` engines cannot run
//! here ("Replicated DDL queries are disabled", "Can't create replicated table without
//! ZooKeeper"): the test drops `ON CLUSTER` and runs the plain engine of each replicated
//! table; everything else (the `_local` tables, the `Distributed` tables over them with their
//! sharding keys, the views on the local tables, the backfills through `Distributed`, column
//! ALTERs on both) runs as rendered, on a one-shard `remote_servers` cluster whose replica
//! is this process (`tcp_port` = its port makes it local). Then the sidecar, unchanged, is
//! run against that schema (chdb-http started in a directory whose `config.xml` chDB reads)
//! and answers summary, events, violations and API calls exactly as on a single node.
mod common;

use aibom_query::cluster::{delete_from, LOCAL_SUFFIX};
use aibom_query::schema::{self, migration_statements, MIGRATIONS};
use aibom_query::tables::Target;
use common::{attr, call, event, log_row, record, ClickHouse, Sidecar, TOKEN};
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};

const DB: &str = common::DB;
const CLUSTER: &str = "fleet";

const CONFIG: &str = "<clickhouse>
  <tcp_port>19000</tcp_port>
  <remote_servers><fleet><shard><internal_replication>true</internal_replication><replica><host>localhost</host><port>19000</port></replica></shard></fleet></remote_servers>
  <macros><shard>01</shard><replica>r1</replica></macros>
</clickhouse>";

fn target() -> Target {
    Target {
        database: DB.into(),
        prefix: "otel".into(),
    }
}

/// A cluster statement as a Keeper-less single process can run it.
fn keeperless(stmt: &str) -> String {
    let mut s = stmt.replace(&format!(" ON CLUSTER `{CLUSTER}`"), "");
    let re = regex::Regex::new(r"Replicated(\w*MergeTree)\('[^']*', '\{replica\}'(, )?").unwrap();
    s = re
        .replace_all(&s, |c: &regex::Captures| {
            // `X(path, replica)` -> `X()`, `X(path, replica, args)` -> `X(args)`
            format!("{}(", &c[1])
        })
        .into_owned();
    s.replace("MergeTree()", "MergeTree")
}

fn python() -> Option<String> {
    let py = std::env::var("AIBOM_TEST_PYTHON").unwrap_or_else(|_| {
        common::repo_root()
            .join(".venv/bin/python")
            .to_string_lossy()
            .into_owned()
    });
    let ok = Command::new(&py)
        .args(["-c", "import chdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(py)
}

fn log_rows() -> Vec<Value> {
    // recent: the cluster run sets a 30-day TTL
    let t0 = (chrono::Utc::now().timestamp() - 3600) * 1_000_000_000;
    let s = 1_000_000_000i64;
    let mut rows = Vec::new();
    for (i, (project, path)) in [
        ("proj-a", "/m/a.gguf"),
        ("proj-a", "/m/a.gguf"),
        ("proj-a", "/d/a.parquet"),
        ("proj-b", "/m/b.safetensors"),
        ("proj-c", "/m/c.onnx"),
    ]
    .iter()
    .enumerate()
    {
        let pid = (100 + i).to_string();
        rows.push(log_row(
            t0 + i as i64 * s,
            &[
                (record::EVENT_NAME, event::ARTIFACT_ACCESS),
                (attr::FILE_PATH, path),
                (attr::ACCESS_COUNT, "1"),
                (attr::PROCESS_PID, &pid),
                (attr::PROCESS_EXECUTABLE_NAME, "python3"),
                (attr::ARTIFACT_TYPE, "model"),
            ],
            // the project as a resource attribute: the logs' sharding key reads both
            &[(attr::PROJECT_ID, project), (attr::HOST_NAME, "node-1")],
        ));
    }
    rows.push(log_row(
        t0 + 10 * s,
        &[
            (record::EVENT_NAME, event::POLICY_VIOLATION),
            (attr::PROJECT_ID, "proj-b"),
            (attr::FILE_PATH, "/m/b.safetensors"),
            (attr::POLICY_RULE, "no-unlicensed"),
            (attr::POLICY_ACTION, "alert"),
            (attr::POLICY_SEVERITY, "high"),
        ],
        &[],
    ));
    rows.push(log_row(
        t0 + 11 * s,
        &[
            (record::EVENT_NAME, event::API_CALL),
            (attr::PROJECT_ID, "proj-c"),
            (attr::API_PROVIDER, "openai"),
            (attr::SERVER_ADDRESS, "api.openai.com"),
            (attr::SERVER_PORT, "443"),
        ],
        &[],
    ));
    rows
}

fn logs() -> String {
    let body: Vec<String> = log_rows().iter().map(Value::to_string).collect();
    format!(
        "INSERT INTO `{DB}`.otel_logs (Timestamp, TraceId, SpanId, TraceFlags, SeverityText, \
         SeverityNumber, ServiceName, Body, ResourceSchemaUrl, ResourceAttributes, \
         ScopeSchemaUrl, ScopeName, ScopeVersion, ScopeAttributes, LogAttributes) \
         SETTINGS date_time_input_format = 'best_effort' FORMAT JSONEachRow\n{}",
        body.join("\n")
    )
}

fn run(py: &str, config: Option<&str>, statements: &[String], tables: &[String]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let reads = json!({
        "runtime_events": format!("SELECT project_id, event_name, file_path, count() FROM `{DB}`.runtime_events GROUP BY ALL ORDER BY ALL"),
        "runtime_artifacts": format!("SELECT project_id, file_path, uniqExactMerge(process_set) FROM `{DB}`.runtime_artifacts GROUP BY ALL ORDER BY ALL"),
        "runtime_violations": format!("SELECT project_id, policy_rule, count() FROM `{DB}`.runtime_violations GROUP BY ALL ORDER BY ALL"),
        "runtime_api_calls": format!("SELECT project_id, api_provider, server_port, count() FROM `{DB}`.runtime_api_calls GROUP BY ALL ORDER BY ALL"),
        "otel_logs": format!("SELECT count() FROM `{DB}`.otel_logs"),
    });
    let req = json!({
        "data": dir.path(), "config": config, "statements": statements, "logs": logs(),
        "tables": tables, "reads": reads, "database": DB,
    });
    let mut child = Command::new(py)
        .arg(common::repo_root().join("query/tests/cluster_chdb.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(req.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "chDB: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn cluster_ddl_builds_the_single_node_schema_over_distributed_tables() {
    let Some(py) = python() else {
        common::skip("no Python with chdb: set AIBOM_TEST_PYTHON or run scripts/setup (.venv)");
        return;
    };
    let t = target();
    let c = schema::cluster(&t, CLUSTER).unwrap();
    let tables: Vec<String> = c.tables.iter().cloned().collect();

    let mut single = vec![format!("CREATE DATABASE IF NOT EXISTS `{DB}`")];
    let mut clustered = vec![c.create_database(), c.schema_migrations()];
    for (_, _, tpl) in MIGRATIONS {
        single.extend(migration_statements(tpl, &t, None).unwrap().0);
        clustered.extend(migration_statements(tpl, &t, Some(&c)).unwrap().0);
    }
    clustered.push(c.alter_ttl("runtime_events", "toDateTime(time) + toIntervalDay(30)"));
    let clustered: Vec<String> = clustered.iter().map(|s| keeperless(s)).collect();
    let mut all_tables = tables.clone();
    all_tables.extend(tables.iter().map(|t| format!("{t}{LOCAL_SUFFIX}")));

    let one = run(&py, None, &single, &tables);
    let many = run(&py, Some(CONFIG), &clustered, &all_tables);

    for t in &tables {
        let want = &one["columns"][t];
        assert!(want.as_array().is_some_and(|a| !a.is_empty()), "{t}");
        assert_eq!(&many["columns"][t], want, "distributed {t}");
        assert_eq!(
            &many["columns"][format!("{t}{LOCAL_SUFFIX}")],
            want,
            "local {t}"
        );
    }
    // the same rows, read through the Distributed tables
    assert_eq!(many["rows"], one["rows"]);
    let rows = &one["rows"];
    assert_eq!(rows["otel_logs"], json!([["7"]]));
    assert_eq!(
        rows["runtime_artifacts"],
        json!([
            ["proj-a", "/d/a.parquet", "1"],
            ["proj-a", "/m/a.gguf", "2"],
            ["proj-b", "/m/b.safetensors", "1"],
            ["proj-c", "/m/c.onnx", "1"]
        ])
    );
    assert_eq!(
        rows["runtime_violations"],
        json!([["proj-b", "no-unlicensed", "1"]])
    );
    assert_eq!(
        rows["runtime_api_calls"],
        json!([["proj-c", "openai", "443", "1"]])
    );
    // engines: Distributed over (here plain, with Keeper Replicated) MergeTree locals
    let engines: Vec<(String, String)> = serde_json::from_value(many["engines"].clone()).unwrap();
    for t in &tables {
        assert!(engines.contains(&(t.clone(), "Distributed".into())), "{t}");
        assert!(engines
            .iter()
            .any(|(n, e)| *n == format!("{t}{LOCAL_SUFFIX}") && e.ends_with("MergeTree")));
    }
}

/// The cluster statements for `db` as this test can run them (see the file's comment).
fn cluster_statements(target: &Target) -> Vec<String> {
    let c = schema::cluster(target, CLUSTER).unwrap();
    let mut out = vec![c.create_database(), c.schema_migrations()];
    for (_, _, tpl) in MIGRATIONS {
        out.extend(migration_statements(tpl, target, Some(&c)).unwrap().0);
    }
    out.iter().map(|s| keeperless(s)).collect()
}

/// Held by the tests that start [`clustered_chdb`]: it changes the working directory and
/// its config takes a fixed TCP port.
static CLUSTERED: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// chDB with the cluster layout of [`cluster_statements`] (on the one-shard cluster of
/// [`CONFIG`]) and the collector rows `rows` inserted through `Distributed`.
/// Callers hold [`CLUSTERED`].
fn clustered_chdb(rows: &[Value]) -> Option<ClickHouse> {
    // chDB reads ./config.xml: start the engine with the cluster's remote_servers there
    let conf = tempfile::tempdir().unwrap();
    std::fs::write(conf.path().join("config.xml"), CONFIG).unwrap();
    let cwd = std::env::current_dir().unwrap();
    std::env::set_current_dir(conf.path()).unwrap();
    let many = ClickHouse::start();
    std::env::set_current_dir(cwd).unwrap();
    let many = many?;
    for stmt in cluster_statements(&target()) {
        let r = call(
            "POST",
            &format!("{}/", many.url()),
            None,
            Some(stmt.clone()),
        );
        assert_eq!(r.status, 200, "{}\n-- in: {stmt}", r.text);
    }
    assert_eq!(
        many.sql(
            "SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = 'runtime_events'",
            ""
        )
        .trim(),
        "Distributed"
    );
    many.insert_logs(rows, false);
    Some(many)
}

/// The sidecar, unchanged, reads through the `Distributed` tables: same summary and events
/// for every project as on a single node with the same collector rows.
#[test]
fn the_sidecar_answers_the_same_through_distributed_tables() {
    let _one_at_a_time = CLUSTERED.lock().unwrap_or_else(|e| e.into_inner());
    let Some(one) = ClickHouse::start() else {
        return;
    };
    let m = common::migrate(&one);
    assert!(m.status.success(), "{}", String::from_utf8_lossy(&m.stderr));
    let rows = log_rows();
    one.insert_logs(&rows, false);
    let Some(many) = clustered_chdb(&rows) else {
        return;
    };

    let a = Sidecar::start(&one, &[]);
    let b = Sidecar::start(&many, &[]);
    for project in ["proj-a", "proj-b", "proj-c"] {
        for path in ["summary", "events?limit=100", "violations", "api-calls"] {
            let get = |sc: &Sidecar| {
                let r = call(
                    "GET",
                    &format!("{}/projects/{project}/runtime/{path}", sc.base),
                    Some(TOKEN),
                    None,
                );
                assert_eq!(r.status, 200, "{project} {path}: {}", r.text);
                r.json
            };
            let (x, y) = (get(&a), get(&b));
            assert_eq!(x, y, "{project} {path}");
            if path == "summary" {
                assert!(x.to_string().contains("/m/"), "{project}: {x}");
            }
        }
    }
}

fn count(ch: &ClickHouse, table: &str, project: &str) -> u64 {
    ch.sql(
        &format!("SELECT count() FROM {table} WHERE project_id = '{project}'"),
        "",
    )
    .trim()
    .parse()
    .unwrap()
}

/// `DELETE .../runtime/events` on a cluster: a lightweight `DELETE` on a `Distributed`
/// table is refused, so the sidecar started with `--cluster` deletes from the local
/// tables `ON CLUSTER`. chDB runs no distributed DDL (no Keeper): the `ON CLUSTER`
/// statement fails here with ClickHouse's own error and nothing is deleted; the same
/// statement without `ON CLUSTER` (what each node runs) deletes exactly the project's rows.
#[test]
fn deletes_on_a_cluster_go_to_the_local_tables() {
    let _one_at_a_time = CLUSTERED.lock().unwrap_or_else(|e| e.into_inner());
    let Some(many) = clustered_chdb(&log_rows()) else {
        return;
    };
    let before = count(&many, "runtime_events", "proj-a");
    assert!(before > 0);
    let post = |sql: &str| {
        let url = format!("{}/?database={DB}", many.url());
        call("POST", &url, None, Some(sql.into()))
    };
    let cond = " WHERE project_id = 'proj-a'";

    // why: ClickHouse refuses a lightweight DELETE through the Distributed table
    let r = post(&format!(
        "{}{cond}",
        delete_from(DB, "runtime_events", None)
    ));
    assert_ne!(r.status, 200, "{}", r.text);
    // "DELETE query is not supported for table aibom_test.runtime_events. (BAD_ARGUMENTS)"
    assert!(
        r.text.contains("DELETE query is not supported"),
        "{}",
        r.text
    );

    // the sidecar with --cluster: DELETE goes ON CLUSTER, which chDB cannot run
    let sc = Sidecar::start(&many, &["--cluster", CLUSTER]);
    let r = sc.delete_events("proj-a");
    // chDB's answer to distributed DDL: it got ON CLUSTER, not the Distributed table
    // "Code: 392. DB::Exception: Replicated DDL queries are disabled. (QUERY_IS_PROHIBITED)"
    const NO_DDL: &str = "Replicated DDL queries are disabled";
    assert_eq!(r.status, 500, "{}", r.text);
    assert!(r.text.contains(NO_DDL), "{}", r.text);
    assert_eq!(count(&many, "runtime_events", "proj-a"), before);
    let on_cluster = delete_from(DB, "runtime_events", Some(CLUSTER));
    let r = post(&format!("{on_cluster}{cond}"));
    assert!(r.status != 200 && r.text.contains(NO_DDL), "{}", r.text);

    // each node's part of it: the local table, every table the route deletes from
    for t in [
        "runtime_events",
        "runtime_violations",
        "runtime_api_calls",
        "runtime_artifacts",
    ] {
        let others: u64 = ["proj-b", "proj-c"]
            .iter()
            .map(|p| count(&many, t, p))
            .sum();
        let r = post(&format!(
            "{}{cond}",
            keeperless(&delete_from(DB, t, Some(CLUSTER)))
        ));
        assert_eq!(r.status, 200, "{t}: {}", r.text);
        assert_eq!(count(&many, t, "proj-a"), 0, "{t}");
        let left: u64 = ["proj-b", "proj-c"]
            .iter()
            .map(|p| count(&many, t, p))
            .sum();
        assert_eq!(left, others, "{t}: other projects untouched");
    }
    // and the single-node sidecar's DELETE is unchanged: it works on one node
    let one = ClickHouse::start().unwrap();
    assert!(common::migrate(&one).status.success());
    one.insert_logs(&log_rows(), false);
    let n = count(&one, "runtime_events", "proj-a");
    let sc = Sidecar::start(&one, &[]);
    let r = sc.delete_events("proj-a");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["deleted"], n);
    assert_eq!(count(&one, "runtime_events", "proj-a"), 0);
}

/// Exactly once on a cluster: the views read the shard's local tables, and a record's
/// project (the sharding key of the logs and typed tables) sends every delivery of it to the
/// same shard, so a repeat inserted through the `Distributed` logs table is dropped there.
/// Rows without a record id are kept per delivery, as before.
#[test]
fn repeats_through_distributed_tables_are_stored_once() {
    let _one_at_a_time = CLUSTERED.lock().unwrap_or_else(|e| e.into_inner());
    let mut rows = log_rows();
    for (i, r) in rows.iter_mut().enumerate().skip(1) {
        let id = format!("018f0000-0000-8000-8000-{:012x}", i);
        r["LogAttributes"][attr::RECORD_ID] = json!(id);
    }
    let Some(many) = clustered_chdb(&rows) else {
        return;
    };
    let totals = |t: &str| -> Vec<u64> {
        ["proj-a", "proj-b", "proj-c"]
            .iter()
            .map(|p| count(&many, t, p))
            .collect()
    };
    let once = [
        totals("runtime_events"),
        totals("runtime_violations"),
        totals("runtime_api_calls"),
    ];
    assert_eq!(once[0], [3, 1, 1]);
    many.insert_logs(&rows, false);
    many.insert_logs(&rows, false);
    // proj-a's first row has no id: one more per delivery; every other row once
    assert_eq!(totals("runtime_events"), [5, 1, 1]);
    assert_eq!(totals("runtime_violations"), once[1]);
    assert_eq!(totals("runtime_api_calls"), once[2]);
    assert_eq!(
        many.sql("SELECT count() FROM otel_logs", "").trim(),
        (3 * rows.len()).to_string()
    );
}

//! Helpers of the dashboards and deployment tests: the dashboards as Grafana loads them, the
//! schema's columns, name checks against `aibom-semconv`, and the real collector (rotel-agent)
//! and `aibomd` binaries.
#![allow(dead_code)]

pub mod grafana;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Reads a repository file as text.
pub fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Parses a YAML file of the repository (one document).
pub fn yaml(rel: &str) -> Value {
    serde_norway::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every document of a multi-document YAML file.
pub fn yaml_docs(rel: &str) -> Vec<Value> {
    use serde::Deserialize;
    serde_norway::Deserializer::from_str(&read(rel))
        .map(|d| Value::deserialize(d).unwrap_or_else(|e| panic!("{rel}: {e}")))
        .filter(|v| !v.is_null())
        .collect()
}

/// Runs a program of the repository's Python venv (`.venv/bin/NAME`), `None` when absent.
pub fn venv_tool(name: &str) -> Option<PathBuf> {
    let p = root().join(".venv/bin").join(name);
    p.exists().then_some(p)
}

/// The provisioned datasource: `(uid, type)`.
pub fn provisioned_datasource() -> (String, String) {
    let y = yaml("dashboards/provisioning/datasources/clickhouse.yaml");
    let ds = &y["datasources"][0];
    (
        ds["uid"].as_str().unwrap().to_string(),
        ds["type"].as_str().unwrap().to_string(),
    )
}

/// One dashboard file.
pub struct Dashboard {
    pub file: String,
    pub json: Value,
}

impl Dashboard {
    pub fn uid(&self) -> &str {
        self.json["uid"].as_str().unwrap_or("")
    }

    /// Every panel, rows' nested panels included.
    pub fn panels(&self) -> Vec<&Value> {
        let mut out = Vec::new();
        for p in self.json["panels"].as_array().into_iter().flatten() {
            out.push(p);
            out.extend(p["panels"].as_array().into_iter().flatten());
        }
        out
    }

    /// The template variables, in order.
    pub fn variables(&self) -> Vec<&Value> {
        self.json["templating"]["list"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    }

    /// `(what, sql)` of every panel target and every query variable.
    pub fn all_sql(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for v in self.variables() {
            if let Some(s) = v["query"]["rawSql"].as_str() {
                out.push((format!("variable {}", v["name"]), s.to_string()));
            }
        }
        for p in self.panels() {
            for t in p["targets"].as_array().into_iter().flatten() {
                if let Some(s) = t["rawSql"].as_str() {
                    out.push((format!("panel {:?}", p["title"]), s.to_string()));
                }
            }
        }
        out
    }
}

/// The dashboards in `dashboards/json`, sorted by file name.
pub fn dashboards() -> Vec<Dashboard> {
    let dir = root().join("dashboards/json");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| Dashboard {
            file: f.file_name().unwrap().to_string_lossy().into_owned(),
            json: serde_json::from_str(&std::fs::read_to_string(&f).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", f.display())),
        })
        .collect()
}

/// Columns of every table `query/schema/*.sql` creates or adds columns to, by table name (`{{t:logs}}` and
/// friends are the collector's tables: `otel_logs`, ...).
pub fn schema_columns() -> BTreeMap<String, BTreeSet<String>> {
    let table =
        regex::Regex::new(r"(?i)CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+\{\{db\}\}\.(\S+)").unwrap();
    let column = regex::Regex::new(r"^\s{4}([A-Za-z_][A-Za-z0-9_]*)\s+[A-Z]").unwrap();
    let nested = regex::Regex::new(r"^\s{8}([A-Za-z_][A-Za-z0-9_]*)\s+[A-Z]").unwrap();
    let alter = regex::Regex::new(r"(?i)ALTER\s+TABLE\s+\{\{db\}\}\.(\w+)").unwrap();
    let add = regex::Regex::new(r"(?i)ADD\s+COLUMN\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)").unwrap();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("query/schema"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        // ALTER TABLE {{db}}.t ADD COLUMN [IF NOT EXISTS] c ...
        for stmt in text.split(';') {
            if let Some(c) = alter.captures(stmt) {
                let cols = out.entry(c[1].to_string()).or_default();
                cols.extend(add.captures_iter(stmt).map(|a| a[1].to_string()));
            }
        }
        let mut current: Option<String> = None;
        let mut parent = String::new();
        for line in text.lines() {
            if let Some(c) = table.captures(line) {
                let name = c[1].trim_end_matches(['(', ' ']).to_string();
                let name = name
                    .strip_prefix("{{t:")
                    .map(|t| format!("otel_{}", t.trim_end_matches("}}")))
                    .unwrap_or(name);
                out.entry(name.clone()).or_default();
                current = Some(name);
                continue;
            }
            let Some(t) = &current else { continue };
            if line.starts_with(')') {
                current = None;
                continue;
            }
            if let Some(c) = column.captures(line) {
                let col = c[1].to_string();
                if ["INDEX", "PROJECTION", "CONSTRAINT"].contains(&col.as_str()) {
                    continue;
                }
                parent = col.clone();
                out.get_mut(t).unwrap().insert(col);
            } else if let Some(c) = nested.captures(line) {
                out.get_mut(t)
                    .unwrap()
                    .insert(format!("{parent}.{}", &c[1]));
            }
        }
    }
    out
}

/// The typed column of the runtime table an attribute lands in: `aibom.` dropped, dots to
/// underscores (`aibom.artifact.type` -> `artifact_type`, `host.name` -> `host_name`), as the
/// materialized view names them.
pub fn column_of(attribute: &str) -> String {
    attribute
        .strip_prefix("aibom.")
        .unwrap_or(attribute)
        .replace('.', "_")
}

/// Problems with the names a dashboard query uses: a dotted string literal must be a semconv
/// attribute, metric or event; a snake_case identifier must be a column of a schema table (or
/// an alias the query defines); a literal compared with an enum column (or its per-artifact
/// alias without `artifact_`) must be one of the enum's values.
pub fn name_problems(sql: &str, columns: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut problems = Vec::new();
    let known: BTreeSet<&str> = aibom_semconv::ALL_ATTRIBUTES
        .iter()
        .chain(aibom_semconv::METRICS)
        .chain(aibom_semconv::EVENTS)
        .copied()
        .collect();
    let dotted = regex::Regex::new(r"'([a-z0-9_]+(?:\.[a-z0-9_]+)+)'").unwrap();
    for c in dotted.captures_iter(sql) {
        if !known.contains(&c[1]) {
            problems.push(format!(
                "'{}' is no aibom-semconv attribute, metric or event",
                &c[1]
            ));
        }
    }
    // identifiers: drop Grafana variables, macros and string literals first
    let vars = regex::Regex::new(r"\$\{[^}]*\}|\$\w+|'(?:[^'\\]|\\.)*'").unwrap();
    let bare = vars.replace_all(sql, " ");
    let alias = regex::Regex::new(r"(?i)\bAS\s+([A-Za-z_][A-Za-z0-9_]*)").unwrap();
    let aliases: BTreeSet<String> = alias
        .captures_iter(&bare)
        .map(|c| c[1].to_string())
        .collect();
    let all_cols: BTreeSet<&str> = columns
        .values()
        .flatten()
        .chain(columns.keys())
        .map(String::as_str)
        .collect();
    let snake = regex::Regex::new(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b").unwrap();
    for m in snake.find_iter(&bare) {
        let id = m.as_str();
        if !all_cols.contains(id) && !aliases.contains(id) {
            problems.push(format!(
                "`{id}` is neither a column of query/schema nor an alias"
            ));
        }
    }
    // enum values compared with typed columns
    let cmp = regex::Regex::new(r"\b([a-z][a-z0-9_]*)\s*(?:=|!=)\s*'([^']*)'").unwrap();
    for c in cmp.captures_iter(sql) {
        let (col, val) = (&c[1], &c[2]);
        // a typed column, or the per-artifact alias dashboards give it (`type` for
        // `artifact_type`)
        let def = aibom_semconv::ATTRIBUTE_DEFS.iter().find(|d| {
            let c = column_of(d.name);
            c == col || c == format!("artifact_{col}")
        });
        if let Some(d) = def.filter(|d| !d.values.is_empty()) {
            if !val.is_empty() && !d.values.contains(&val) {
                problems.push(format!(
                    "{col} = '{val}': not a value of {} ({:?})",
                    d.name, d.values
                ));
            }
        }
    }
    problems
}

/// The `aibomd` binary next to this test's `target/<profile>/` (cargo builds it for the
/// workspace's tests), if there.
pub fn aibomd_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?; // target/<profile>/deps/<test> -> target/<profile>
    let p = profile_dir.join("aibomd");
    p.exists().then_some(p)
}

/// The Python that runs the example (`AIBOM_TEST_PYTHON`, else the repository's venv).
pub fn python() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("AIBOM_TEST_PYTHON") {
        return Some(PathBuf::from(p));
    }
    venv_tool("python")
}

/// rotel-agent from the venv (tests/requirements.txt).
pub fn rotel_agent() -> Option<PathBuf> {
    std::fs::read_dir(root().join(".venv/lib"))
        .ok()?
        .flatten()
        .map(|d| d.path().join("site-packages/rotel/rotel-agent"))
        .find(|p| p.exists())
}

/// True when this process runs as root (eBPF needs it).
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A child process killed and reaped on drop.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts rotel-agent on free ports and waits until its OTLP gRPC port accepts; returns
/// it and its (gRPC, HTTP) ports. A start that dies or does not listen within 20 s (its
/// log is printed) is retried on fresh ports, three times at most: a port found free can
/// be taken by another test before rotel binds it.
pub fn start_rotel_listening(
    agent: &Path,
    ch_url: &str,
    db: &str,
    log: &Path,
    free_port: fn() -> u16,
) -> (Killed, u16, u16) {
    for attempt in 1..=3 {
        let (grpc, http) = (free_port(), free_port());
        let mut r = start_rotel(agent, grpc, http, ch_url, db, log);
        let t0 = std::time::Instant::now();
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", grpc)).is_ok() {
                return (r, grpc, http);
            }
            let exited = r.0.try_wait().ok().flatten().is_some();
            if exited || t0.elapsed() > std::time::Duration::from_secs(20) {
                eprintln!(
                    "rotel start {attempt} failed (exited: {exited}); log:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    panic!("rotel-agent did not listen in 3 starts");
}

/// Starts rotel-agent: OTLP in on `grpc`/`http` ports, ClickHouse (`ch_url`, `db`) out.
pub fn start_rotel(
    agent: &Path,
    grpc: u16,
    http: u16,
    ch_url: &str,
    db: &str,
    log: &Path,
) -> Killed {
    let log = std::fs::File::create(log).unwrap();
    Killed(
        Command::new(agent)
            .args(["start", "--exporter", "clickhouse", "--disable-batching"])
            .args(["--otlp-grpc-endpoint", &format!("127.0.0.1:{grpc}")])
            .args(["--otlp-http-endpoint", &format!("127.0.0.1:{http}")])
            .args(["--clickhouse-exporter-endpoint", ch_url])
            .args(["--clickhouse-exporter-database", db])
            .args(["--clickhouse-exporter-table-prefix", "otel"])
            .args(["--clickhouse-exporter-compression", "none"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("rotel-agent starts"),
    )
}

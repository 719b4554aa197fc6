//! Test harness: a real ClickHouse engine behind its HTTP interface (`scripts/chdb-http` over
//! chDB), the real `aibom-query` binary, and rows inserted as the collector writes them.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[allow(unused_imports)]
pub use aibom_semconv::{attr, event, record};
use serde_json::{json, Map, Value};

/// The token every test server uses.
pub const TOKEN: &str = "test-token-0123456789abcdef";
/// The admin token (DELETE) every test server uses.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";
/// The database the tests migrate.
pub const DB: &str = "aibom_test";

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Skips (prints why) or, under `CI=true`, fails.
pub fn skip(why: &str) {
    if ci() {
        panic!("CI=true but {why}");
    }
    eprintln!("SKIP: {why}");
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `scripts/chdb-http` on a free port with its own data directory.
pub struct ClickHouse {
    child: Option<Child>,
    pub port: u16,
    pub dir: tempfile::TempDir,
    script: PathBuf,
}

impl ClickHouse {
    /// Starts it, or returns `None` (after [`skip`]) when the front or chDB is missing.
    pub fn start() -> Option<Self> {
        let script = repo_root().join("scripts/chdb-http");
        if !script.exists() {
            skip("scripts/chdb-http is missing: no ClickHouse to test against");
            return None;
        }
        let mut ch = ClickHouse {
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            script,
        };
        if let Err(e) = ch.spawn() {
            skip(&format!(
                "chdb-http did not start ({e}); install chdb: .venv/bin/pip install chdb"
            ));
            return None;
        }
        Some(ch)
    }

    fn spawn(&mut self) -> Result<(), String> {
        let mut child = Command::new(&self.script)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--insecure-no-auth",
                "--path",
            ])
            .arg(self.dir.path().join("data"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                if let Some(mut s) = child.stderr.take() {
                    use std::io::Read;
                    let _ = s.read_to_string(&mut err);
                }
                return Err(format!("exited {status}: {}", err.trim()));
            }
            if ping(self.port) {
                break;
            }
            if start.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                return Err("no answer on /ping within 60 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // Drain stderr so the pipe never fills.
        if let Some(mut s) = child.stderr.take() {
            std::thread::spawn(move || std::io::copy(&mut s, &mut std::io::sink()));
        }
        self.child = Some(child);
        Ok(())
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the engine (the data directory stays).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and data.
    pub fn restart(&mut self) {
        self.spawn().expect("chdb-http restart");
    }

    /// Runs SQL over the HTTP interface, panicking on a ClickHouse error.
    pub fn sql(&self, query: &str, body: &str) -> String {
        let url = format!(
            "{}/?database={DB}&date_time_input_format=best_effort",
            self.url()
        );
        let r = post_sql(&url, query, body);
        assert!(r.0 == 200, "ClickHouse error {}: {}", r.0, r.1);
        r.1
    }

    /// Inserts rows into the logs table exactly as rotel's exporter does (its 15 columns),
    /// in JSONEachRow; `with_event_name` adds the EventName column newer exporters write.
    pub fn insert_logs(&self, rows: &[Value], with_event_name: bool) {
        let body: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
        let extra = if with_event_name { ", EventName" } else { "" };
        self.sql(
            &format!(
                "INSERT INTO otel_logs (Timestamp, TraceId, SpanId, TraceFlags, SeverityText, \
                 SeverityNumber, ServiceName, Body, ResourceSchemaUrl, ResourceAttributes, \
                 ScopeSchemaUrl, ScopeName, ScopeVersion, ScopeAttributes, LogAttributes{extra}) \
                 FORMAT JSONEachRow"
            ),
            &body.join("\n"),
        );
    }
}

impl Drop for ClickHouse {
    fn drop(&mut self) {
        self.stop();
    }
}

fn ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.write_all(b"GET /ping HTTP/1.0\r\nHost: x\r\n\r\n");
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.contains("Ok.")
}

/// The runtime the tests' HTTP calls (and fake daemons) run on; tests themselves are sync.
pub static RT: std::sync::LazyLock<tokio::runtime::Runtime> = std::sync::LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
});

/// Runs a future to completion on [`RT`].
pub fn block<F: std::future::Future>(f: F) -> F::Output {
    RT.block_on(f)
}

fn post_sql(url: &str, query: &str, body: &str) -> (u16, String) {
    block(async {
        let full = if body.is_empty() {
            query.to_string()
        } else {
            format!("{query}\n{body}")
        };
        let r = reqwest::Client::new()
            .post(url)
            .body(full)
            .send()
            .await
            .expect("ClickHouse reachable");
        let status = r.status().as_u16();
        (status, r.text().await.unwrap_or_default())
    })
}

/// An API answer: status and JSON body (`Value::Null` when not JSON).
pub struct Resp {
    pub status: u16,
    pub json: Value,
    pub text: String,
}

/// Calls the API with the test token (or `token`), blocking.
pub fn call(method: &str, url: &str, token: Option<&str>, body: Option<String>) -> Resp {
    block(async {
        let c = reqwest::Client::new();
        let mut r = c.request(method.parse().unwrap(), url);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.header("content-type", "application/json").body(b);
        }
        let resp = r.send().await.expect("aibom-query reachable");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        Resp {
            status,
            json: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    })
}

/// One log row as rotel writes it for an aibomd event: attributes stringified, and no event
/// name (rotel drops it). Add `EventName` to the value for newer exporters.
pub fn log_row(time_ns: i64, attrs: &[(&str, &str)], resource: &[(&str, &str)]) -> Value {
    let t = chrono::DateTime::<chrono::Utc>::from_timestamp_nanos(time_ns)
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let la: Map<String, Value> = attrs
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let mut ra: Map<String, Value> = resource
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    ra.insert("service.name".into(), json!("aibomd"));
    let path = attrs
        .iter()
        .find(|(k, _)| *k == attr::FILE_PATH)
        .map(|(_, v)| *v)
        .unwrap_or("");
    json!({
        "Timestamp": t, "TraceId": "", "SpanId": "", "TraceFlags": 0, "SeverityText": "INFO",
        "SeverityNumber": 9, "ServiceName": "aibomd", "Body": path, "ResourceSchemaUrl": "",
        "ResourceAttributes": ra, "ScopeSchemaUrl": "", "ScopeName": "aibomd", "ScopeVersion": "",
        "ScopeAttributes": {}, "LogAttributes": la,
    })
}

/// The values of the CycloneDX property `name` of component or service `c`.
pub fn props(c: &Value, name: &str) -> Vec<String> {
    c["properties"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"] == name)
        .map(|p| p["value"].as_str().unwrap().to_string())
        .collect()
}

/// The `aibom-query` binary.
pub fn aibom_query() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aibom-query"));
    for v in [
        "AIBOM_QUERY_TOKEN",
        "AIBOM_QUERY_ADMIN_TOKEN",
        "AIBOM_QUERY_MAX_EXECUTION_TIME",
        "AIBOM_QUERY_LISTEN",
        "AIBOM_CLICKHOUSE_URL",
        "AIBOM_CLICKHOUSE_DATABASE",
        "AIBOM_CLICKHOUSE_USER",
        "AIBOM_CLICKHOUSE_PASSWORD",
        "AIBOM_DAEMON_TOKEN",
    ] {
        c.env_remove(v);
    }
    c
}

/// Runs `aibom-query --migrate-only` against `ch`.
/// A started ClickHouse with the schema migrated (`None`: skipped, see [`ClickHouse::start`]).
pub fn migrated_clickhouse() -> Option<ClickHouse> {
    let ch = ClickHouse::start()?;
    let out = migrate(&ch);
    assert!(
        out.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(ch)
}

pub fn migrate(ch: &ClickHouse) -> std::process::Output {
    aibom_query()
        .args([
            "--migrate-only",
            "--clickhouse-url",
            &ch.url(),
            "--database",
            DB,
            "--ttl-days",
            "30",
        ])
        .output()
        .unwrap()
}

/// A running sidecar; killed on drop.
pub struct Sidecar {
    child: Child,
    pub base: String,
}

impl Sidecar {
    pub fn start(ch: &ClickHouse, extra: &[&str]) -> Self {
        let port = free_port();
        let child = aibom_query()
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--clickhouse-url",
                &ch.url(),
                "--database",
                DB,
                "--query-timeout",
                "10",
            ])
            .args(extra)
            .env("AIBOM_QUERY_TOKEN", TOKEN)
            .env("AIBOM_QUERY_ADMIN_TOKEN", ADMIN_TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        wait_until("aibom-query to listen", Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Sidecar { child, base }
    }
}

impl Sidecar {
    /// `DELETE /projects/{project}/runtime/events` with the admin token.
    pub fn delete_events(&self, project: &str) -> Resp {
        let url = format!("{}/projects/{project}/runtime/events", self.base);
        call("DELETE", &url, Some(ADMIN_TOKEN), None)
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// rotel-agent from the project's venv (`pip install rotel`, tests/requirements.txt).
pub fn rotel_agent() -> Option<PathBuf> {
    let lib = repo_root().join(".venv/lib");
    std::fs::read_dir(lib)
        .ok()?
        .flatten()
        .map(|d| d.path().join("site-packages/rotel/rotel-agent"))
        .find(|p| p.exists())
}

/// rotel-agent receiving OTLP on loopback `http`/`grpc` ports and writing into `ch`'s
/// database with its ClickHouse exporter (unbatched: see the otel-clickhouse notes).
pub fn rotel_command(agent: &Path, ch: &ClickHouse, http: u16, grpc: u16) -> Command {
    rotel_command_on(agent, ch, "127.0.0.1", http, grpc)
}

/// [`rotel_command`] receiving on address `addr`.
pub fn rotel_command_on(
    agent: &Path,
    ch: &ClickHouse,
    addr: &str,
    http: u16,
    grpc: u16,
) -> Command {
    let mut c = Command::new(agent);
    c.args([
        "start",
        "--otlp-http-endpoint",
        &format!("{addr}:{http}"),
        "--otlp-grpc-endpoint",
        &format!("{addr}:{grpc}"),
    ])
    .args([
        "--exporter",
        "clickhouse",
        "--clickhouse-exporter-endpoint",
        &ch.url(),
        "--clickhouse-exporter-database",
        DB,
    ])
    .arg("--disable-batching")
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    c
}

/// A child process killed (and reaped) when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until something listens on loopback `port`.
pub fn wait_for_port(port: u16, timeout: Duration) {
    wait_until(&format!("a listener on port {port}"), timeout, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
}

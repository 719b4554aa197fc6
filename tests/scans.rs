//! Scans through the daemon's control API, end to end: the real `aibomd daemon` (eBPF,
//! root), real Python workloads holding a safetensors model mapped before the scan starts,
//! and raw HTTP over the control socket (raw so that hostile clients can be played too).
mod common;
#[path = "common/otlp.rs"]
mod otlp;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use aibom_semconv::{access_origin, event, scan_state};
use common::{aibomd, attr, kernel_tests_possible, python, record};
use serde_json::{json, Value};

const TOKEN: &str = "s3cret-control-token";

/// Holds a model (mapped by safetensors) from before the scan, then reads a dataset when
/// told to on stdin, then exits.
const WORKER: &str = r#"
import sys, numpy as np
from safetensors.numpy import save_file
from safetensors import safe_open
d, name = sys.argv[1], sys.argv[2]
save_file({"w": np.zeros((8, 8), dtype=np.float32)}, f"{d}/{name}.safetensors",
          metadata={"license": "apache-2.0"})
held = safe_open(f"{d}/{name}.safetensors", "np")
print("held", flush=True)
sys.stdin.readline()
with open(f"{d}/{name}-live.jsonl") as f:
    f.read()
print("done", flush=True)
"#;

struct Worker {
    child: Child,
    stdin: ChildStdin,
    out: BufReader<ChildStdout>,
}

impl Worker {
    fn start(dir: &Path, name: &str, project: &str) -> Self {
        std::fs::write(dir.join(format!("{name}-live.jsonl")), "{\"q\": 1}\n").unwrap();
        let mut child = Command::new(python())
            .args(["-c", WORKER])
            .arg(dir)
            .arg(name)
            .env("AIBOM_PROJECT", project)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "held", "worker {name} did not start");
        Self { child, stdin, out }
    }

    /// Reads the dataset and exits.
    fn go(mut self) {
        self.stdin.write_all(b"go\n").unwrap();
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "done");
        assert!(self.child.wait().unwrap().success());
    }
}

/// One HTTP/1.1 exchange over the control socket; returns (status, JSON body).
fn http(
    sock: &Path,
    method: &str,
    path: &str,
    body: Option<&Value>,
    token: Option<&str>,
) -> (u16, Value) {
    let mut s = UnixStream::connect(sock).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: aibomd\r\nConnection: close\r\n");
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    send_raw(&mut s, &req);
    read_response(&mut s)
}

/// Sends a whole raw request in one write. The daemon may answer (and close)
/// as soon as it has read the headers, before the body arrives: a broken pipe
/// here is the daemon's right, and its answer is still there to read.
fn send_raw(s: &mut impl Write, req: &str) {
    match s.write_all(req.as_bytes()) {
        Ok(()) => {}
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            ) => {}
        Err(e) => panic!("sending the request: {e}"),
    }
}

fn read_response(s: &mut impl Read) -> (u16, Value) {
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let body = text.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

struct Daemon {
    child: Child,
    sock: PathBuf,
    events: PathBuf,
}

impl Daemon {
    fn start(dir: &Path, http_port: u16, otlp: Option<&str>) -> Self {
        let sock = dir.join("control.sock");
        let events = dir.join("events.jsonl");
        let mut child = aibomd()
            .args(["daemon", "--no-console", "--tracer", "ebpf", "--events"])
            .arg(&events)
            .arg("--control-socket")
            .arg(&sock)
            .args(["--control-listen", &format!("127.0.0.1:{http_port}")])
            .env("AIBOM_DAEMON_TOKEN", TOKEN)
            .env("AIBOM_PROJECT", "must-not-leak")
            .envs(otlp.map(|e| ("OTEL_EXPORTER_OTLP_ENDPOINT", e.to_string())))
            .env("AIBOM_EXPORT__OTLP__SPOOL_DIR", dir.join("spool"))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (line, mut err) = common::wait_ready(&mut child);
        assert!(
            line.contains(sock.to_str().unwrap()),
            "ready line names the socket: {line}"
        );
        // keep draining stderr so the daemon never blocks on it
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = err.read_to_string(&mut rest);
            eprintln!("--- daemon stderr ---\n{rest}");
        });
        Self {
            child,
            sock,
            events,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        http(&self.sock, method, path, body, Some(TOKEN))
    }

    fn wait_state(&self, id: &str, state: &str) -> Value {
        let start = Instant::now();
        loop {
            let (code, s) = self.call("GET", &format!("/v1/scans/{id}"), None);
            assert_eq!(code, 200, "{s}");
            if s["state"] == state {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "scan {id} not {state}: {s}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// SIGTERM, then the JSON Lines written.
    fn stop(&mut self) -> Vec<Value> {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let st = self.child.wait().unwrap();
        assert!(st.success(), "daemon exit {st:?}");
        assert!(!self.sock.exists(), "control socket removed at exit");
        std::fs::read_to_string(&self.events)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for Daemon {
    /// A failed assertion must not leave a host-wide daemon running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn scan_records<'a>(evs: &'a [Value], scan: &str, file_suffix: &str) -> Vec<&'a Value> {
    evs.iter()
        .filter(|e| e[record::EVENT_NAME] == event::ARTIFACT_ACCESS)
        .filter(|e| e[attr::SCAN_ID] == scan)
        .filter(|e| {
            e[attr::FILE_PATH]
                .as_str()
                .is_some_and(|p| p.ends_with(file_suffix))
        })
        .collect()
}

#[test]
fn scans_find_held_models_and_live_accesses_per_project() {
    if !kernel_tests_possible("scans_find_held_models_and_live_accesses_per_project") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let rx = otlp::Receiver::fresh();
    let mut d = Daemon::start(dir, free_port(), Some(&rx.endpoint()));

    // Models loaded before any scan exists.
    let demo = Worker::start(dir, "demo", "demo");
    let other = Worker::start(dir, "other", "other");

    let (code, a) = d.call(
        "POST",
        "/v1/scans",
        Some(&json!({"project": "demo", "duration": 4, "scan_id": "scan-a"})),
    );
    assert_eq!(code, 202, "{a}");
    assert_eq!(a["state"], scan_state::RUNNING);
    let (code, c) = d.call(
        "POST",
        "/v1/scans",
        Some(&json!({"project": "other", "duration": 3})),
    );
    assert_eq!(code, 202, "{c}");
    let c_id = c["scan_id"].as_str().unwrap().to_string();
    // Overlapping scan of the same project.
    let (code, b) = d.call(
        "POST",
        "/v1/scans",
        Some(&json!({"project": "demo", "duration": 4, "scan_id": "scan-b"})),
    );
    assert_eq!(code, 202, "{b}");
    let (code, dup) = d.call(
        "POST",
        "/v1/scans",
        Some(&json!({"project": "demo", "duration": 4, "scan_id": "scan-b"})),
    );
    assert_eq!(code, 409, "{dup}");

    d.wait_state("scan-a", scan_state::RUNNING);
    std::thread::sleep(Duration::from_millis(500));
    // The demo worker reads its dataset and exits mid-scan; the other one reads later.
    demo.go();
    let (code, list) = d.call("GET", "/v1/scans", None);
    assert_eq!(code, 200);
    assert_eq!(list["scans"].as_array().unwrap().len(), 3, "{list}");

    let a = d.wait_state("scan-a", scan_state::COMPLETED);
    let b = d.wait_state("scan-b", scan_state::COMPLETED);
    let c = d.wait_state(&c_id, scan_state::COMPLETED);
    other.go(); // after its scan ended: not in it
    for s in [&a, &b] {
        assert!(s["inventory_done"].as_bool().unwrap(), "{s}");
        assert!(
            s["inventory_records"].as_u64().unwrap() >= 1,
            "held model found: {s}"
        );
        assert!(s["records"].as_u64().unwrap() >= 2, "{s}");
        assert!(s["processes"].as_u64().unwrap() >= 1, "{s}");
    }
    assert!(c["inventory_records"].as_u64().unwrap() >= 1, "{c}");

    // Early stop of a long scan.
    let (code, _) = d.call(
        "POST",
        "/v1/scans",
        Some(&json!({"project": "demo", "duration": 3600, "scan_id": "long"})),
    );
    assert_eq!(code, 202);
    let (code, s) = d.call("POST", "/v1/scans/long/stop", None);
    assert_eq!(code, 200, "{s}");
    d.wait_state("long", scan_state::STOPPED);
    let (code, s) = d.call("POST", "/v1/scans/long/stop", None);
    assert_eq!(code, 409, "{s}");
    let (code, s) = d.call("GET", "/v1/scans/nope", None);
    assert_eq!((code, s["error"].is_string()), (404, true), "{s}");

    let evs = d.stop();
    for scan in ["scan-a", "scan-b"] {
        let held = scan_records(&evs, scan, "/demo.safetensors");
        assert!(
            held.iter()
                .any(|e| e[attr::ACCESS_ORIGIN] == access_origin::INVENTORY),
            "{scan}: the model loaded before the scan is in its inventory: {held:#?}"
        );
        assert!(held.iter().all(|e| e[attr::PROJECT_ID] == "demo"));
        let live = scan_records(&evs, scan, "/demo-live.jsonl");
        assert!(
            live.iter()
                .any(|e| e[attr::ACCESS_ORIGIN] == access_origin::TRACE),
            "{scan}: the live read is tagged: {live:#?}"
        );
        assert!(
            scan_records(&evs, scan, "/other.safetensors").is_empty(),
            "{scan} has another project's file"
        );
        let summary: Vec<_> = evs
            .iter()
            .filter(|e| e[record::EVENT_NAME] == event::SCAN_SUMMARY && e[attr::SCAN_ID] == scan)
            .collect();
        assert_eq!(summary.len(), 1, "one summary for {scan}");
        assert_eq!(summary[0][attr::SCAN_STATE], scan_state::COMPLETED);
        assert!(summary[0][attr::SCAN_INVENTORY_RECORDS].as_i64().unwrap() >= 1);
    }
    // Over OTLP: one `aibom.scan` span per scan, and its summary log record in its trace.
    let spans = rx.spans();
    let logs = rx.log_records();
    for scan in ["scan-a", "scan-b", c_id.as_str()] {
        let span: Vec<_> = spans
            .iter()
            .filter(|s| s.name == aibom_semconv::span::SCAN)
            .filter(|s| otlp::attr_str(&s.attributes, attr::SCAN_ID).as_deref() == Some(scan))
            .collect();
        assert_eq!(span.len(), 1, "one aibom.scan span for {scan}");
        assert_eq!(
            otlp::attr_str(&span[0].attributes, attr::SCAN_STATE).as_deref(),
            Some(scan_state::COMPLETED)
        );
        let summary: Vec<_> = logs
            .iter()
            .filter(|l| l.event_name == event::SCAN_SUMMARY)
            .filter(|l| otlp::attr_str(&l.attributes, attr::SCAN_ID).as_deref() == Some(scan))
            .collect();
        assert_eq!(summary.len(), 1, "one summary record for {scan}");
        assert_eq!(
            summary[0].trace_id, span[0].trace_id,
            "summary in the scan's trace"
        );
        assert!(otlp::attr_int(&summary[0].attributes, attr::SCAN_RECORDS).unwrap() >= 1);
    }
    let tagged = logs
        .iter()
        .filter(|l| otlp::attr_str(&l.attributes, attr::SCAN_ID).as_deref() == Some("scan-a"))
        .filter(|l| l.event_name == event::ARTIFACT_ACCESS)
        .count();
    assert!(tagged >= 2, "scan-a's records reach the collector tagged");
    let other_held = scan_records(&evs, &c_id, "/other.safetensors");
    assert!(
        !other_held.is_empty(),
        "the other project's scan found its model"
    );
    assert!(scan_records(&evs, &c_id, "/demo.safetensors").is_empty());
    assert!(
        scan_records(&evs, &c_id, "/other-live.jsonl").is_empty(),
        "read after the scan ended"
    );
    // Outside scans, records are still exported (continuous mode), untagged.
    let untagged_other_live: Vec<_> = evs
        .iter()
        .filter(|e| {
            e[attr::FILE_PATH]
                .as_str()
                .is_some_and(|p| p.ends_with("/other-live.jsonl"))
        })
        .filter(|e| e.get(attr::SCAN_ID).is_none())
        .collect();
    assert!(
        !untagged_other_live.is_empty(),
        "continuous mode between scans"
    );
}

#[test]
fn control_api_refuses_bad_clients_and_keeps_running() {
    if !kernel_tests_possible("control_api_refuses_bad_clients_and_keeps_running") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut d = Daemon::start(tmp.path(), port, None);
    let ok = |d: &Daemon| assert_eq!(d.call("GET", "/v1/healthz", None).0, 200);

    // No token, wrong token.
    assert_eq!(http(&d.sock, "GET", "/v1/scans", None, None).0, 401);
    assert_eq!(http(&d.sock, "GET", "/v1/scans", None, Some("nope")).0, 401);
    // Bad bodies: each a 4xx with a JSON error naming the problem.
    for (body, want) in [
        (json!({"project": "../x", "duration": 5}), "project"),
        (json!({"project": "a' OR 1=1 --", "duration": 5}), "project"),
        (
            json!({"project": "x".repeat(10_000), "duration": 5}),
            "project",
        ),
        (json!({"project": "demo", "duration": 0}), "duration"),
        (
            json!({"project": "demo", "duration": 10_000_000}),
            "duration",
        ),
        (json!({"project": "demo"}), "duration"),
        (
            json!({"project": "demo", "duration": 5, "scan_id": "a/b"}),
            "scan_id",
        ),
    ] {
        let (code, e) = d.call("POST", "/v1/scans", Some(&body));
        assert!((400..500).contains(&code), "{body} -> {code} {e}");
        assert!(e["error"].as_str().unwrap().contains(want), "{body} -> {e}");
    }
    // Garbage instead of HTTP.
    let mut s = UnixStream::connect(&d.sock).unwrap();
    send_raw(&mut s, "\x00\x01GARBAGE\r\n\r\n{{{{");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    ok(&d);
    // Not JSON, and JSON without its content type.
    let mut s = UnixStream::connect(&d.sock).unwrap();
    let body = "{not json";
    send_raw(&mut s, &format!("POST /v1/scans HTTP/1.1\r\nHost: a\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()));
    let (code, e) = read_response(&mut s);
    assert_eq!(code, 400, "{e}");
    let mut s = UnixStream::connect(&d.sock).unwrap();
    let body = r#"{"project":"demo","duration":1}"#;
    send_raw(&mut s, &format!("POST /v1/scans HTTP/1.1\r\nHost: a\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {}\r\n\r\n{body}", body.len()));
    assert_eq!(read_response(&mut s).0, 415);
    // A client announcing a 1 GB body: refused without reading it all.
    let mut s = UnixStream::connect(&d.sock).unwrap();
    send_raw(&mut s, &format!("POST /v1/scans HTTP/1.1\r\nHost: a\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n"));
    let chunk = vec![b' '; 1 << 20];
    let started = Instant::now();
    for _ in 0..8 {
        if s.write_all(&chunk).is_err() {
            break; // the daemon may close as soon as it has answered
        }
    }
    let mut text = Vec::new();
    let _ = s.read_to_end(&mut text);
    let text = String::from_utf8_lossy(&text);
    assert!(text.starts_with("HTTP/1.1 413"), "1 GB body: {text}");
    assert!(started.elapsed() < Duration::from_secs(10));
    ok(&d);
    // The loopback HTTP listener needs the token too.
    let mut t = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    t.write_all(b"GET /v1/scans HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut t).0, 401);
    let mut t = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    send_raw(&mut t, &format!("GET /v1/scans HTTP/1.1\r\nHost: a\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"));
    let (code, v) = read_response(&mut t);
    assert_eq!(code, 200, "{v}");
    assert!(v["scans"].as_array().unwrap().is_empty());
    ok(&d);
    d.stop();
}

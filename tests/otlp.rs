//! OTLP export: `aibomd` → a real collector (rotel-agent, from PyPI) over gRPC and
//! HTTP/protobuf → checked field by field; and fault tests against a receiver built on
//! the official opentelemetry-proto types (down at start, down mid-run, UNAVAILABLE, slow).
mod common;

#[path = "common/otlp.rs"]
mod otlp;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aibom_semconv::{attr, event, metric, span as span_name};
use common::*;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use otlp::{attr_int, attr_str, free_port, Mode, Receiver};

macro_rules! need_root {
    () => {
        if !kernel_tests_possible(module_path!()) {
            return;
        }
    };
}

/// `aibomd run` with OTLP settings, in `dir`, spooling under `dir/spool`.
fn run_otlp(dir: &Path, env: &[(&str, String)], cmd: &[&str]) -> std::process::Output {
    let mut c = aibomd();
    c.args(["run", "--tracer", "ebpf", "--"])
        .args(cmd)
        .current_dir(dir);
    c.env("AIBOM_EXPORT__OTLP__SPOOL_DIR", dir.join("spool"));
    c.env("OTEL_METRIC_EXPORT_INTERVAL", "500");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run aibomd")
}

/// Waits until `f` is true (or panics after `secs`).
fn wait_for(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(secs),
            "timed out after {secs} s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn records_for<'a>(
    recs: &'a [LogRecord],
    event_name: &str,
    path_suffix: &str,
) -> Vec<&'a LogRecord> {
    recs.iter()
        .filter(|r| r.event_name == event_name)
        .filter(|r| {
            attr_str(&r.attributes, attr::FILE_PATH).is_some_and(|p| p.ends_with(path_suffix))
        })
        .collect()
}

/// The rotel-agent binary of the test venv.
fn rotel_agent() -> Option<PathBuf> {
    let out = Command::new(python())
        .args([
            "-c",
            "import rotel, os; print(os.path.join(os.path.dirname(rotel.__file__), 'rotel-agent'))",
        ])
        .output()
        .ok()?;
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    p.exists().then_some(p)
}

struct Rotel {
    child: Child,
    grpc: u16,
    http: u16,
}

impl Drop for Rotel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// rotel-agent receiving OTLP on two free ports and exporting to `downstream` over gRPC.
fn start_rotel(downstream: &str) -> Option<Rotel> {
    let Some(bin) = rotel_agent() else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but rotel-agent is missing (pip install rotel, see tests/requirements.txt)");
        }
        eprintln!("SKIP: rotel-agent not installed (pip install rotel)");
        return None;
    };
    let (grpc, http) = (free_port(), free_port());
    let mut child = Command::new(bin)
        .args([
            "start",
            "--otlp-grpc-endpoint",
            &format!("127.0.0.1:{grpc}"),
        ])
        .args(["--otlp-http-endpoint", &format!("127.0.0.1:{http}")])
        .args(["--exporter", "otlp", "--otlp-exporter-endpoint", downstream])
        .args(["--otlp-exporter-protocol", "grpc"])
        // the released wheel's batcher drops resource attributes when it splits a batch
        .arg("--disable-batching")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rotel-agent");
    // rotel's log goes to the test output (shown when a test fails)
    let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    for r in [
        Box::new(out) as Box<dyn std::io::Read + Send>,
        Box::new(err),
    ] {
        std::thread::spawn(move || {
            for l in BufReader::new(r).lines().map_while(Result::ok) {
                eprintln!("rotel: {l}");
            }
        });
    }
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", grpc)).is_err()
        || std::net::TcpStream::connect(("127.0.0.1", http)).is_err()
    {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "rotel-agent did not listen"
        );
        if let Ok(Some(st)) = child.try_wait() {
            panic!("rotel-agent exited: {st}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Rotel { child, grpc, http })
}

fn through_rotel(protocol: &str) {
    let rx = Receiver::fresh();
    let Some(rotel) = start_rotel(&rx.endpoint()) else {
        return;
    };
    let (_g, dir) = tempdir();
    touch(&dir.join("m.safetensors"), 100);
    let endpoint = match protocol {
        "grpc" => format!("http://127.0.0.1:{}", rotel.grpc),
        _ => format!("http://127.0.0.1:{}", rotel.http),
    };
    let py = python();
    let out = run_otlp(
        &dir,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.into()),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment.name=test".into(),
            ),
        ],
        &[
            &py,
            "-c",
            "import os; print(os.getpid()); open('m.safetensors','rb').read()",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pid: i64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();

    wait_for(
        30,
        "the access and identified records through rotel",
        || {
            let recs = rx.log_records();
            !records_for(&recs, event::ARTIFACT_ACCESS, "/m.safetensors").is_empty()
                && !records_for(&recs, event::ARTIFACT_IDENTIFIED, "/m.safetensors").is_empty()
        },
    );
    wait_for(30, "spans and metrics through rotel", || {
        rx.spans().len() >= 2 && rx.metric_names().iter().any(|m| m == metric::EVENTS_SEEN)
    });

    let recs = rx.log_records();
    let acc = records_for(&recs, event::ARTIFACT_ACCESS, "/m.safetensors");
    assert_eq!(acc.len(), 1, "one access record: {acc:#?}");
    let r = acc[0];
    assert_eq!(r.severity_text, "INFO");
    assert!(r.time_unix_nano > 0 && r.observed_time_unix_nano >= r.time_unix_nano);
    assert_eq!(
        attr_str(&r.attributes, attr::FILE_PATH).unwrap(),
        dir.join("m.safetensors").to_str().unwrap()
    );
    assert_eq!(attr_int(&r.attributes, attr::PROCESS_PID), Some(pid));
    assert_eq!(attr_int(&r.attributes, attr::FILE_SIZE), Some(100));
    assert_eq!(
        attr_str(&r.attributes, attr::TRACER).as_deref(),
        Some("ebpf")
    );
    assert_eq!(
        attr_str(&r.attributes, attr::ACCESS_MODE).as_deref(),
        Some("read")
    );
    assert_eq!(
        attr_str(&r.attributes, attr::ARTIFACT_TYPE).as_deref(),
        Some("model")
    );
    let idf = records_for(&recs, event::ARTIFACT_IDENTIFIED, "/m.safetensors");
    let sha =
        attr_str(&idf[0].attributes, attr::ARTIFACT_SHA256).expect("identified carries sha256");
    assert_eq!(sha.len(), 64);

    let res = rx.log_resource();
    assert_eq!(attr_str(&res, "service.name").as_deref(), Some("aibomd"));
    assert_eq!(
        attr_str(&res, "service.version").as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(attr_str(&res, "os.type").as_deref(), Some("linux"));
    assert!(attr_str(&res, "host.name").is_some());
    assert_eq!(
        attr_str(&res, "deployment.environment.name").as_deref(),
        Some("test")
    );

    // spans: the workload is the root, the python process its child, and the log record
    // carries the process span's context
    let spans = rx.spans();
    let wl = spans
        .iter()
        .find(|s| s.name == span_name::WORKLOAD)
        .expect("workload span");
    let pr = spans
        .iter()
        .find(|s| {
            s.name == span_name::PROCESS && attr_int(&s.attributes, attr::PROCESS_PID) == Some(pid)
        })
        .expect("process span");
    assert!(wl.parent_span_id.is_empty());
    assert_eq!(pr.parent_span_id, wl.span_id);
    assert_eq!(pr.trace_id, wl.trace_id);
    assert_eq!(r.trace_id, pr.trace_id);
    assert_eq!(r.span_id, pr.span_id);
    assert!(
        pr.end_time_unix_nano >= pr.start_time_unix_nano
            && wl.end_time_unix_nano >= pr.end_time_unix_nano
    );
    assert!(pr.events.iter().any(|e| e.name == event::ARTIFACT_ACCESS));

    // everything emitted is in the registry (the test's own OTEL_RESOURCE_ATTRIBUTES aside)
    let registered = |k: &str| aibom_semconv::ALL_ATTRIBUTES.contains(&k);
    for r in &recs {
        for kv in &r.attributes {
            assert!(
                registered(&kv.key) || kv.key == aibom_semconv::record::EVENT_NAME,
                "log attribute {} not registered",
                kv.key
            );
        }
    }
    for kv in &res {
        assert!(
            registered(&kv.key) || kv.key == "deployment.environment.name",
            "resource attribute {} not registered",
            kv.key
        );
    }
    for sp in &spans {
        assert!(
            aibom_semconv::SPANS.contains(&sp.name.as_str()),
            "span {} not registered",
            sp.name
        );
        for kv in &sp.attributes {
            assert!(
                registered(&kv.key),
                "span attribute {} not registered",
                kv.key
            );
        }
    }
    let names = rx.metric_names();
    for n in &names {
        assert!(
            aibom_semconv::METRICS.contains(&n.as_str()),
            "metric {n} not registered"
        );
    }
    for m in [
        metric::EVENTS_SEEN,
        metric::EVENTS_FILTERED,
        metric::EVENTS_DROPPED,
        metric::RECORDS_EXPORTED,
        metric::SPOOL_REQUESTS,
    ] {
        assert!(
            names.iter().any(|n| n == m),
            "metric {m} missing from {names:?}"
        );
    }
}

#[test]
fn logs_spans_metrics_reach_rotel_over_grpc() {
    need_root!();
    through_rotel("grpc");
}

#[test]
fn logs_spans_metrics_reach_rotel_over_http_protobuf() {
    need_root!();
    through_rotel("http/protobuf");
}

/// Opens `n` numbered files in order; returns the command.
fn opener(py: &str, n: usize) -> Vec<String> {
    vec![
        py.to_string(),
        "-c".into(),
        format!("import time\nt=time.monotonic()\nfor i in range({n}):\n    open(f'f{{i:04}}.gguf','wb').close()\nprint(time.monotonic()-t)"),
    ]
}

/// Names of the numbered files of `dir` in the order their access records arrived
/// (a daemon sees other tests' files too: only `dir` counts).
fn access_order(rx: &Receiver, dir: &Path) -> Vec<String> {
    rx.log_records()
        .iter()
        .filter(|r| r.event_name == event::ARTIFACT_ACCESS)
        .filter_map(|r| attr_str(&r.attributes, attr::FILE_PATH))
        .filter(|p| Path::new(p).parent() == Some(dir))
        .filter_map(|p| {
            Path::new(&p)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .filter(|n| n.starts_with('f') && n.ends_with(".gguf"))
        .collect()
}

fn expected(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("f{i:04}.gguf")).collect()
}

#[test]
fn collector_down_at_start_loses_nothing_and_the_next_start_replays() {
    need_root!();
    let (_g, dir) = tempdir();
    let port = free_port();
    let py = python();
    let cmd = opener(&py, 40);
    let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let env = [
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{port}"),
        ),
        ("AIBOM_EXPORT__OTLP__SHUTDOWN_TIMEOUT_MS", "1500".into()),
    ];
    let out = run_otlp(&dir, &env, &cmd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let spooled = std::fs::read_dir(dir.join("spool"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "pb")
        })
        .count();
    assert!(spooled > 0, "nothing was kept in the spool");
    // the collector comes up; the next aibomd start sends the old data first
    let rx = Receiver::start(
        format!("127.0.0.1:{port}").parse().unwrap(),
        Receiver::fresh().stop(),
    );
    let out = run_otlp(&dir, &env, &["true"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for(20, "replayed records", || {
        access_order(&rx, &dir).len() >= 40
    });
    assert_eq!(
        access_order(&rx, &dir),
        expected(40),
        "every record once, in order"
    );
    let left = std::fs::read_dir(dir.join("spool"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "pb")
        })
        .count();
    assert_eq!(left, 0, "spool emptied");
}

#[test]
fn unavailable_collector_is_retried_until_it_accepts() {
    need_root!();
    let (_g, dir) = tempdir();
    let rx = Receiver::fresh();
    let flip = refuse_for(&rx, Mode::Unavailable, 3);
    let py = python();
    let cmd = opener(&py, 30);
    let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let out = run_otlp(
        &dir,
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint())],
        &cmd,
    );
    flip.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(rx.refused() > 0, "the receiver never refused anything");
    wait_for(20, "records after UNAVAILABLE", || {
        access_order(&rx, &dir).len() >= 30
    });
    assert_eq!(access_order(&rx, &dir), expected(30));
}

/// [`run_otlp`] of `cmd` exporting to `rx`, with `env` besides.
fn run_to(
    rx: &Receiver,
    dir: &Path,
    env: &[(&str, String)],
    cmd: Vec<String>,
) -> std::process::Output {
    let mut all = vec![("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint())];
    all.extend(env.iter().cloned());
    let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
    run_otlp(dir, &all, &cmd)
}

/// Puts `rx` in `mode` now and back to accepting after `secs` (on a thread to join).
fn refuse_for(rx: &Receiver, mode: Mode, secs: u64) -> std::thread::JoinHandle<()> {
    rx.set_mode(mode);
    let state = rx.state.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(secs));
        *state.mode.lock().unwrap() = Mode::Accept;
    })
}

/// Opens `n` numbered files, one every `ms` milliseconds (several spooled requests).
fn slow_opener(py: &str, n: usize, ms: u64) -> Vec<String> {
    vec![
        py.to_string(),
        "-c".into(),
        format!("import time\nfor i in range({n}):\n    open(f'f{{i:04}}.gguf','wb').close()\n    time.sleep({ms}/1000)"),
    ]
}

/// A token rotation (the collector refuses our credentials for a while) loses nothing:
/// the data stays spooled, the refusals are counted, and everything arrives in order once
/// the collector takes the token again. (The test receiver: a real collector cannot be
/// told to refuse on cue.)
#[test]
fn refused_credentials_keep_the_spool_until_the_collector_takes_them() {
    need_root!();
    let (_g, dir) = tempdir();
    let rx = Receiver::fresh();
    let flip = refuse_for(&rx, Mode::Unauthenticated, 3);
    let out = run_to(&rx, &dir, &[], slow_opener(&python(), 30, 50));
    flip.join().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(rx.refused() > 0, "the receiver never refused anything");
    assert!(err.contains("refused our credentials"), "{err}");
    wait_for(20, "records after UNAUTHENTICATED", || {
        access_order(&rx, &dir).len() >= 30
    });
    assert_eq!(access_order(&rx, &dir), expected(30));
    wait_for(10, "the auth failure counter", || {
        rx.counter(metric::EXPORT_AUTH_FAILURES).unwrap_or(0) > 0
    });
}

/// Items a collector refuses inside an accepted request (`partial_success`) are counted
/// and said, not taken as delivered in silence. (The test receiver: rotel never answers
/// with a partial success.)
#[test]
fn a_partial_success_is_counted_as_rejected() {
    need_root!();
    let (_g, dir) = tempdir();
    let rx = Receiver::fresh();
    rx.set_mode(Mode::RejectOne);
    // requests leave while it runs, so a metrics export after them carries the count
    let out = run_to(&rx, &dir, &[], slow_opener(&python(), 10, 300));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("rejected some of its items") && err.contains("one record rejected"),
        "{err}"
    );
    wait_for(10, "the rejected counter", || {
        rx.counter(metric::EXPORT_REJECTED).unwrap_or(0) >= 1
    });
}

/// A collector with a small receive limit (tonic's own, as a real gRPC collector has):
/// a backlog merged past it is split until each part passes, nothing is dropped and the
/// order is kept. (The test receiver: rotel's limit cannot be set this low.)
#[test]
fn a_backlog_over_the_collectors_size_limit_is_split_not_blocked() {
    need_root!();
    let (_g, dir) = tempdir();
    let rx = Receiver::fresh_limited(16 << 10);
    let flip = refuse_for(&rx, Mode::Unavailable, 5);
    // one request at a time: strict arrival order (README: max_in_flight)
    let env = [("AIBOM_EXPORT__OTLP__MAX_IN_FLIGHT", "1".to_string())];
    let out = run_to(&rx, &dir, &env, slow_opener(&python(), 40, 150));
    flip.join().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("over the collector's size limit: split"),
        "{err}"
    );
    wait_for(20, "every record after the split", || {
        access_order(&rx, &dir).len() >= 40
    });
    assert_eq!(access_order(&rx, &dir), expected(40));
}

/// One request alone over the collector's limit (200 records sealed together) is split
/// item by item until each part passes: nothing is dropped. (The test receiver, with
/// tonic's real limit: rotel's cannot be set this low.)
#[test]
fn a_single_request_over_the_collectors_size_limit_is_split_item_by_item() {
    need_root!();
    let (_g, dir) = tempdir();
    let rx = Receiver::fresh_limited(16 << 10);
    let out = run_to(&rx, &dir, &[], opener(&python(), 200));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("split in two"), "{err}");
    assert!(!err.contains("ERROR"), "{err}");
    wait_for(20, "every record after the splits", || {
        access_order(&rx, &dir).len() >= 200
    });
    let mut got = access_order(&rx, &dir);
    got.sort();
    assert_eq!(got, expected(200), "each record once");
}

#[test]
fn slow_collector_does_not_slow_the_traced_app() {
    need_root!();
    let (_g, dir) = tempdir();
    let rx = Receiver::fresh();
    rx.set_mode(Mode::Slow(Duration::from_secs(5)));
    let py = python();
    let cmd = opener(&py, 200);
    let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let out = run_otlp(
        &dir,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint()),
            ("AIBOM_EXPORT__OTLP__SHUTDOWN_TIMEOUT_MS", "60000".into()),
        ],
        &cmd,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let app_secs: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(
        app_secs < 2.0,
        "200 opens took {app_secs} s under a 5 s/request collector"
    );
    // aibomd waited for the slow collector before exiting: everything is there
    assert_eq!(access_order(&rx, &dir), expected(200));
}

#[test]
fn collector_down_mid_run_loses_nothing_and_keeps_order() {
    need_root!();
    let outage: u64 = std::env::var("AIBOM_TEST_OUTAGE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let (_g, dir) = tempdir();
    let rx = Receiver::fresh();
    let addr = rx.addr;
    let mut d = aibomd()
        .args(["daemon", "--tracer", "ebpf", "--no-console"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint())
        .env("AIBOM_EXPORT__OTLP__SPOOL_DIR", dir.join("spool"))
        .env("AIBOM_PIPELINE__DEDUP_WINDOW_MS", "100")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (_, mut err) = common::wait_ready(&mut d);
    let open = |i: usize| {
        std::fs::File::create(dir.join(format!("f{i:04}.gguf"))).unwrap();
    };
    for i in 0..10 {
        open(i);
    }
    wait_for(20, "records before the outage", || {
        access_order(&rx, &dir).len() >= 10
    });
    let state = rx.stop();
    let t = Instant::now();
    let mut i = 10;
    while t.elapsed() < Duration::from_secs(outage) {
        open(i);
        i += 1;
        std::thread::sleep(Duration::from_millis(500));
    }
    let rx = Receiver::start(addr, state);
    for j in i..i + 10 {
        open(j);
    }
    let n = i + 10;
    wait_for(60, "records after the outage", || {
        access_order(&rx, &dir).len() >= n
    });
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(d.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    assert!(d.wait().unwrap().success(), "{rest}");
    assert_eq!(
        access_order(&rx, &dir),
        expected(n),
        "0 lost, none twice, order kept"
    );
}

// ---------------------------------------------------------------------------------------
// The library's OTLP sink driven directly with synthetic records: no eBPF, no root.

mod direct {
    use std::collections::{HashMap, HashSet};
    use std::path::{Path, PathBuf};
    use std::sync::Arc;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use aibom_semconv::{attr, event, record, span as span_name};
    use aibomd::export::jsonl::JsonlSink;
    use aibomd::export::otel::config::{Compression, OtlpConfig, Protocol};
    use aibomd::export::otel::{OtelHandle, OtelSink};
    use aibomd::export::{rfc3339, Sink};
    use aibomd::model::{AccessMode, AccessRecord, Artifact, Attribution, RecordKind};
    use aibomd::stats::Stats;
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
    use opentelemetry_proto::tonic::logs::v1::LogRecord;

    use super::otlp::{attr_int, attr_str, Receiver};
    use super::{start_rotel, wait_for};

    /// `n` distinct access records (`/data/{tag}/m-{i}.safetensors`) of 10 processes, with
    /// full process and artifact attributes.
    fn records(tag: &str, n: usize) -> Vec<AccessRecord> {
        let now = SystemTime::now();
        let procs: Vec<Arc<Attribution>> = (0..10u32)
            .map(|i| {
                Arc::new(Attribution {
                    pid: 70_000 + i,
                    ppid: Some(1),
                    uid: Some(1000),
                    owner: Some("ml".into()),
                    comm: Some("python3".into()),
                    exe: Some("/usr/bin/python3".into()),
                    command_line: Some("python3 serve.py --token=***".into()),
                    start_time: Some(now),
                    working_directory: Some("/srv".into()),
                    cgroup: None,
                    cgroup_id: Some(42),
                    container: None,
                    pod_uid: None,
                    pod: None,
                    project: "direct".into(),
                    project_source: aibom_semconv::project_source::DEFAULT,
                    vpid: None,
                    foreign_root: false,
                    from_proc: true,
                    environment: Default::default(),
                })
            })
            .collect();
        (0..n)
            .map(|i| {
                let path = PathBuf::from(format!("/data/{tag}/m-{i:06}.safetensors"));
                AccessRecord {
                    id: Default::default(),
                    kind: if i % 7 == 0 {
                        RecordKind::Identified
                    } else {
                        RecordKind::Access
                    },
                    artifact: Some(std::sync::Arc::new(Artifact {
                        artifact_type: "model",
                        role: Some("weights"),
                        format: "safetensors",
                        provider: "local",
                        name: Some(format!("m-{i}")),
                        sha256: Some(format!("{i:064x}")),
                        ..Default::default()
                    })),
                    time: now + Duration::from_micros(i as u64),
                    file_path: path.clone().into(),
                    access_path: path.as_os_str().as_encoded_bytes().to_vec(),
                    absolute_path: path.into(),
                    version: None,
                    resolution: aibom_semconv::path_resolution::ABSOLUTE,
                    size: Some(1000 + i as u64),
                    modified: Some(now),
                    inode: Some(i as u64),
                    mode: AccessMode::Read,
                    syscall: Some("openat"),
                    flags: Some(0),
                    count: 1,
                    tracer: "ebpf",
                    origin: aibom_semconv::access_origin::TRACE,
                    scan_id: None,
                    process: procs[i % procs.len()].clone(),
                    refused: false,
                    violation: None,
                    api: None,
                    opened: None,
                }
            })
            .collect()
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    fn config(endpoint: String, spool: &Path) -> OtlpConfig {
        OtlpConfig {
            endpoint: Some(endpoint),
            spool_dir: spool.to_path_buf(),
            shutdown_timeout_ms: 60_000,
            metrics_interval_ms: 3_600_000,
            ..Default::default()
        }
    }

    fn start(rt: &tokio::runtime::Runtime, cfg: &OtlpConfig) -> (OtelSink, OtelHandle, Arc<Stats>) {
        let stats = Arc::new(Stats::default());
        let _g = rt.enter();
        let (sink, handle) = OtelSink::start(cfg, None, stats.clone(), None, "direct").unwrap();
        (sink, handle, stats)
    }

    /// Spooled requests left under `dir` (a private spool is a subdirectory).
    fn spooled(dir: &Path) -> usize {
        walk(dir)
            .iter()
            .filter(|p| p.extension().is_some_and(|x| x == "pb"))
            .count()
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .flat_map(|e| {
                        let p = e.path();
                        if p.is_dir() {
                            walk(&p)
                        } else {
                            vec![p]
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `file.path`s of the log records received, with how often each came.
    fn paths(recs: &[LogRecord], tag: &str) -> HashMap<String, usize> {
        let mut m = HashMap::new();
        for r in recs {
            if let Some(p) = attr_str(&r.attributes, attr::FILE_PATH) {
                if p.starts_with(&format!("/data/{tag}/")) {
                    *m.entry(p).or_insert(0) += 1;
                }
            }
        }
        m
    }

    /// The open process spans hold at most `spans_max_bytes` (their events carry paths):
    /// past it the spans holding the most are ended early and the process's next record
    /// starts a new span, so 1,000 records of 10 processes give more, smaller spans with
    /// every record still an event; with the default each process has one span.
    #[test]
    fn open_process_spans_stay_within_their_bytes() {
        let spans_for = |limit: Option<u64>| {
            let (_g, dir) = crate::common::tempdir();
            let rx = Receiver::fresh();
            let rt = runtime();
            let mut cfg = config(rx.endpoint(), &dir.join("spool"));
            if let Some(l) = limit {
                cfg.spans_max_bytes = l;
            }
            let (mut sink, handle, _) = start(&rt, &cfg);
            for r in &records("spans", 1000) {
                sink.emit(r).unwrap();
            }
            sink.close().unwrap();
            assert_eq!(rt.block_on(handle.shutdown()), 0);
            rx.spans()
                .into_iter()
                .filter(|s| s.name == span_name::PROCESS)
                .map(|s| (s.events.len(), s.dropped_events_count))
                .collect::<Vec<_>>()
        };
        let all = spans_for(None);
        assert_eq!(all.len(), 10, "one span per process: {all:?}");
        assert!(all.iter().all(|s| *s == (100, 0)), "{all:?}");

        let small = spans_for(Some(16 << 10));
        assert!(small.len() > 10, "{small:?}");
        let events: usize = small.iter().map(|s| s.0).sum();
        assert_eq!(
            events, 1000,
            "every record is an event of some span: {small:?}"
        );
        assert!(small.iter().all(|s| s.1 == 0), "none dropped: {small:?}");
        // ~300 bytes an event (256 estimated + its path): at most 16 KiB in all open spans
        let most = small.iter().map(|s| s.0).max().unwrap();
        assert!(most <= 60, "{most} events in one span: {small:?}");
        eprintln!(
            "16 KiB: {} spans, at most {most} events each; default: 10 spans of 100",
            small.len()
        );
    }

    /// NVML is impossible here (no GPU): the samples its sampler would send are handed to
    /// the sink directly, as the pipeline does.
    #[test]
    fn the_process_span_says_which_accelerators_it_held_and_its_most_memory() {
        let (_g, dir) = crate::common::tempdir();
        let rx = Receiver::fresh();
        let rt = runtime();
        let (mut sink, handle, _) = start(&rt, &config(rx.endpoint(), &dir.join("spool")));
        let mut recs = records("accel", 2);
        let pid = recs[0].pid();
        recs[1].process = recs[0].process.clone();
        recs[1].artifact = Some(Arc::new(Artifact {
            artifact_type: aibom_semconv::artifact_type::ACCELERATOR,
            accelerator: Some(aibomd::model::Accelerator {
                vendor: aibom_semconv::accelerator_vendor::NVIDIA,
                kind: aibom_semconv::accelerator_kind::GPU,
                index: Some(1),
            }),
            ..Default::default()
        }));
        for r in &recs {
            sink.emit(r).unwrap();
        }
        let gib = 1u64 << 30;
        sink.accelerator_memory(pid, 2 * gib);
        sink.accelerator_memory(pid, 3 * gib);
        sink.accelerator_memory(pid, gib);
        sink.accelerator_memory(pid + 1_000_000, 9 * gib); // no span: ignored
        sink.process_exit(pid);
        sink.close().unwrap();
        assert_eq!(rt.block_on(handle.shutdown()), 0);
        let spans = rx.spans();
        let sp = spans
            .iter()
            .find(|s| attr_int(&s.attributes, attr::PROCESS_PID) == Some(pid as i64))
            .expect("the process span");
        assert_eq!(
            attr_int(&sp.attributes, attr::ACCELERATOR_MEMORY_MAX),
            Some(3 * gib as i64)
        );
        let devices = sp
            .attributes
            .iter()
            .find(|kv| kv.key == attr::ACCELERATOR_DEVICES)
            .and_then(|kv| kv.value.clone()?.value);
        let Some(Any::ArrayValue(list)) = devices else {
            panic!("{:?}", sp.attributes)
        };
        let names: Vec<_> = list
            .values
            .iter()
            .filter_map(|v| match &v.value {
                Some(Any::StringValue(s)) => Some(s.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(names, ["nvidia/gpu/1"]);
        assert!(
            spans.iter().all(|s| s
                .attributes
                .iter()
                .all(|kv| kv.key != attr::ACCELERATOR_MEMORY_MAX
                    || attr_int(&s.attributes, attr::PROCESS_PID) == Some(pid as i64))),
            "no span for a process never traced"
        );
    }

    #[test]
    fn gzip_over_grpc_and_http_delivers_every_record() {
        const N: usize = 3_000;
        // straight to the official-proto receiver: it sees the gzip encoding
        let (_g, dir) = crate::common::tempdir();
        let rx = Receiver::fresh();
        let rt = runtime();
        let mut cfg = config(rx.endpoint(), &dir.join("spool-direct"));
        cfg.compression = Compression::Gzip;
        let (mut sink, handle, stats) = start(&rt, &cfg);
        for r in &records("direct", N) {
            sink.emit(r).unwrap();
        }
        sink.close().unwrap();
        assert_eq!(rt.block_on(handle.shutdown()), 0, "spool not emptied");
        assert_eq!(paths(&rx.log_records(), "direct").len(), N);
        assert!(rx.log_requests() > 0);
        assert!(
            rx.gzip_requests() >= rx.log_requests(),
            "{} of {} log requests came gzip-compressed",
            rx.gzip_requests(),
            rx.log_requests()
        );
        assert_eq!(Stats::get(&stats.export_dropped), 0);

        // through rotel, over both protocols
        let Some(rotel) = start_rotel(&rx.endpoint()) else {
            return;
        };
        for (protocol, port, tag) in [
            (Protocol::Grpc, rotel.grpc, "grpc"),
            (Protocol::HttpProtobuf, rotel.http, "http"),
        ] {
            let mut cfg = config(format!("http://127.0.0.1:{port}"), &dir.join(tag));
            cfg.protocol = protocol;
            cfg.compression = Compression::Gzip;
            let (mut sink, handle, stats) = start(&rt, &cfg);
            for r in &records(tag, N) {
                sink.emit(r).unwrap();
            }
            sink.close().unwrap();
            assert_eq!(
                rt.block_on(handle.shutdown()),
                0,
                "{tag}: spool not emptied"
            );
            assert_eq!(Stats::get(&stats.export_dropped), 0, "{tag}: dropped");
            assert_eq!(Stats::get(&stats.export_failures), 0, "{tag}: failed sends");
            wait_for(30, "every record through rotel", || {
                paths(&rx.log_records(), tag).len() >= N
            });
            let got = paths(&rx.log_records(), tag);
            assert_eq!(got.len(), N, "{tag}: distinct records");
            assert_eq!(spooled(&dir.join(tag)), 0);
        }
    }

    #[test]
    fn several_in_flight_through_an_outage_lose_nothing() {
        const N: usize = 40_000;
        let (_g, dir) = crate::common::tempdir();
        let rx = Receiver::fresh();
        let addr = rx.addr;
        let rt = runtime();
        let mut cfg = config(rx.endpoint(), &dir.join("spool"));
        cfg.max_in_flight = 4;
        let (mut sink, handle, stats) = start(&rt, &cfg);
        let recs = records("outage", N);
        let mut rx = Some(rx);
        let mut state = None;
        for (i, r) in recs.iter().enumerate() {
            sink.emit(r).unwrap();
            if i % 2_000 == 0 {
                sink.flush().unwrap();
                std::thread::sleep(Duration::from_millis(20));
            }
            if i == N / 3 {
                // the collector goes away with requests in flight
                state = Some(rx.take().unwrap().stop());
            }
            if i == 2 * N / 3 {
                std::thread::sleep(Duration::from_secs(1));
                rx = Some(Receiver::start(addr, state.take().unwrap()));
            }
        }
        sink.close().unwrap();
        let left = rt.block_on(handle.shutdown());
        let rx = rx.unwrap();
        assert_eq!(left, 0, "spool not emptied");
        assert_eq!(spooled(&dir.join("spool")), 0, "spool files left");
        assert!(
            Stats::get(&stats.export_failures) > 0,
            "the outage was not noticed"
        );
        assert_eq!(Stats::get(&stats.export_dropped), 0);
        let got = paths(&rx.log_records(), "outage");
        assert_eq!(got.len(), N, "every record arrived");
        let twice = got.values().filter(|&&c| c > 1).count();
        // at-least-once: only requests in flight when the collector went away may come
        // twice (4 in flight, at most 64 × 512 records each)
        assert!(twice <= 4 * 64 * 512, "{twice} records came more than once");
        eprintln!("{twice} of {N} records came twice");
    }

    #[test]
    fn a_log_record_on_the_wire_carries_what_the_jsonl_sink_writes() {
        let (_g, dir) = crate::common::tempdir();
        let rx = Receiver::fresh();
        let rt = runtime();
        let recs = records("wire", 50);
        let jsonl = dir.join("events.jsonl");
        let mut j = JsonlSink::open(&jsonl).unwrap();
        let (mut sink, handle, _) = start(&rt, &config(rx.endpoint(), &dir.join("spool")));
        for r in &recs {
            j.emit(r).unwrap();
            sink.emit(r).unwrap();
        }
        j.close().unwrap();
        sink.close().unwrap();
        assert_eq!(rt.block_on(handle.shutdown()), 0);

        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&jsonl)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let wire = rx.log_records();
        let spans = rx.spans();
        assert_eq!(wire.len(), recs.len());
        let scope = {
            let g = rx.state.got.lock().unwrap();
            g.logs[0].resource_logs[0].scope_logs[0]
                .scope
                .clone()
                .unwrap()
        };
        assert_eq!(scope.name, "aibomd");
        for (want, got) in lines.iter().zip(&wire) {
            let obj = want.as_object().unwrap();
            assert_eq!(got.event_name, obj[record::EVENT_NAME].as_str().unwrap());
            assert_eq!(got.severity_number, 9);
            assert_eq!(got.severity_text, "INFO");
            let body = match got.body.as_ref().and_then(|b| b.value.as_ref()) {
                Some(Any::StringValue(s)) => s.clone(),
                other => panic!("body {other:?}"),
            };
            assert_eq!(body, obj[attr::FILE_PATH].as_str().unwrap());
            let t = UNIX_EPOCH + Duration::from_nanos(got.time_unix_nano);
            assert_eq!(rfc3339(t), obj[record::TIMESTAMP].as_str().unwrap());
            assert!(got.observed_time_unix_nano >= got.time_unix_nano);
            // the same attributes, the same values: JSON Lines' keys are the attributes,
            // plus its timestamp
            let keys: HashSet<&str> = got.attributes.iter().map(|kv| kv.key.as_str()).collect();
            let json_keys: HashSet<&str> = obj
                .keys()
                .map(String::as_str)
                .filter(|k| *k != record::TIMESTAMP)
                .collect();
            assert_eq!(keys, json_keys);
            assert_eq!(keys.len(), got.attributes.len(), "no attribute twice");
            for (k, v) in obj.iter().filter(|(k, _)| *k != record::TIMESTAMP) {
                match v {
                    serde_json::Value::String(s) => {
                        assert_eq!(attr_str(&got.attributes, k).as_ref(), Some(s), "{k}")
                    }
                    serde_json::Value::Number(n) => {
                        assert_eq!(attr_int(&got.attributes, k), n.as_i64(), "{k}")
                    }
                    other => panic!("{k}: {other}"),
                }
            }
            // the trace context of its process span
            let pid = obj[attr::PROCESS_PID].as_i64().unwrap();
            let span = spans
                .iter()
                .find(|s| {
                    s.name == span_name::PROCESS
                        && attr_int(&s.attributes, attr::PROCESS_PID) == Some(pid)
                })
                .expect("process span");
            assert_eq!(got.trace_id, span.trace_id);
            assert_eq!(got.span_id, span.span_id);
            assert_eq!(got.flags, 1, "sampled");
            // and the span shows the access as an event
            assert!(span.events.iter().any(|e| {
                (e.name == event::ARTIFACT_ACCESS || e.name == event::ARTIFACT_IDENTIFIED)
                    && attr_str(&e.attributes, attr::FILE_PATH).as_deref() == Some(body.as_str())
            }));
        }
    }
}

//! Shared helpers of the integration tests: run the real `aibomd` binary and read what it
//! wrote.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

#[allow(unused_imports)]
pub use aibom_semconv::{attr, record};

/// The `aibomd` binary cargo built for these tests.
pub fn aibomd() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aibomd"));
    c.env_remove("AIBOM_PROJECT").env_remove("AIBOM_TRACER");
    // tests started through sudo still run their commands as root unless they ask
    for k in ["SUDO_UID", "SUDO_GID", "SUDO_USER"] {
        c.env_remove(k);
    }
    c
}

/// Waits (at most 60 s) for the `aibomd: ready` line on the daemon's piped stderr; returns
/// that line and the reader of the rest.
pub fn wait_ready(daemon: &mut Child) -> (String, BufReader<ChildStderr>) {
    let mut err = BufReader::new(daemon.stderr.take().expect("daemon stderr is piped"));
    let start = Instant::now();
    let mut line = String::new();
    while !line.contains("aibomd: ready") {
        line.clear();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "daemon exited before ready"
        );
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "daemon not ready in 60 s"
        );
    }
    (line, err)
}

/// Sends SIGTERM to a daemon started with [`wait_ready`], reads the rest of its stderr
/// (`err`) and checks it exited cleanly; returns that stderr.
pub fn stop_daemon(mut d: Child, mut err: impl std::io::Read) -> String {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(d.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    let status = d.wait().unwrap();
    assert!(status.success(), "daemon exit {status:?}: {rest}");
    rest
}

/// True when this test may use kernel features (root). Outside CI a test without them
/// skips with a message; under `CI=true` it fails: kernel tests must really run in CI.
pub fn kernel_tests_possible(what: &str) -> bool {
    let root = nix::unistd::geteuid().is_root();
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    if root {
        return true;
    }
    if ci {
        panic!("CI=true but `{what}` needs root; kernel tests must not skip in CI");
    }
    eprintln!("SKIP {what}: needs root (run the tests as root, as scripts/test does under CI)");
    false
}

/// A Python interpreter (the repo's venv when set up, else python3 on PATH).
pub fn python() -> String {
    std::env::var("AIBOM_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Result of one `aibomd run`.
pub struct Traced {
    pub out: Output,
    pub events: Vec<Value>,
}

impl Traced {
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    /// Access events (not `identified` ones) whose `file.path` ends with `suffix`.
    pub fn for_file(&self, suffix: &str) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| e[record::EVENT_NAME] == aibom_semconv::event::ARTIFACT_ACCESS)
            .filter(|e| {
                e[attr::FILE_PATH]
                    .as_str()
                    .is_some_and(|p| p.ends_with(suffix))
            })
            .collect()
    }

    /// The single event for a file; panics with the full event list otherwise.
    pub fn one(&self, suffix: &str) -> &Value {
        let m = self.for_file(suffix);
        assert_eq!(
            m.len(),
            1,
            "expected one event for *{suffix}, got {}: {:#?}\nstderr: {}",
            m.len(),
            self.events,
            self.stderr()
        );
        m[0]
    }
}

/// `aibomd run --events FILE --tracer TRACER [extra] -- cmd...` in `dir`.
pub fn run_traced(dir: &Path, tracer: &str, extra: &[&str], cmd: &[&str]) -> Traced {
    let events = dir.join(format!("events-{tracer}-{}.jsonl", rand_suffix()));
    let out = aibomd()
        .arg("run")
        .arg("--events")
        .arg(&events)
        .args(["--tracer", tracer])
        .args(extra)
        .arg("--")
        .args(cmd)
        .current_dir(dir)
        .output()
        .expect("run aibomd");
    let text = std::fs::read_to_string(&events).unwrap_or_default();
    let events = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect();
    Traced { out, events }
}

/// A Python one-liner run under `aibomd run`.
pub fn run_python(dir: &Path, tracer: &str, script: &str) -> Traced {
    let py = python();
    run_traced(dir, tracer, &[], &[&py, "-c", script])
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh directory under /tmp, with the canonical path (no symlinks).
pub fn tempdir() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::Builder::new()
        .prefix("aibomd-test-")
        .tempdir_in("/tmp")
        .unwrap();
    let p = std::fs::canonicalize(d.path()).unwrap();
    (d, p)
}

/// Creates `path` (and parents) with `len` bytes.
pub fn touch(path: &Path, len: usize) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap();
    }
    std::fs::write(path, vec![b'x'; len]).unwrap();
}

pub fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing or not a string in {v:#}"))
}

pub fn i(v: &Value, key: &str) -> i64 {
    v[key]
        .as_i64()
        .unwrap_or_else(|| panic!("{key} missing or not an integer in {v:#}"))
}

/// Checks `file` with the official validators (`bom/tests/validate_bom.py`: CycloneDX 1.6
/// via cyclonedx-python-lib, SPDX 3.0.1 via spdx-python-model); `kind` is `cyclonedx` or
/// `spdx3`.
pub fn validate_bom(kind: &str, file: &Path) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../bom/tests/validate_bom.py");
    let out = Command::new(python())
        .arg(script)
        .arg(kind)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{kind} validator rejected {}:\n{}{}",
        file.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `cmd`, failing with its stderr unless it succeeds; its output.
pub fn succeed(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

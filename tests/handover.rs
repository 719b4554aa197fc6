//! Two observers, one store: the host daemon leaves the process tree of an `aibomd run`
//! that exports OTLP to that run (so the store gets its records once), and takes it back
//! when the run ends. Every record carries its `aibom.record.id`, the same in every sink.
//! Needs root and eBPF; under `CI=true` it fails instead of skipping.
mod common;
#[path = "common/otlp.rs"]
mod otlp;

use std::collections::HashSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use aibom_semconv::event;
use common::*;
use otlp::{attr_str, Receiver};
use serde_json::Value;

/// Where the daemon pins its hand-over map (the default `[ebpf] defer_pin`).
const PIN: &str = "/sys/fs/bpf/aibomd/deferred";

fn read_jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Access records of `name` in JSONL events whose process name passes `by`.
fn accesses_by<'a>(evs: &'a [Value], name: &str, by: impl Fn(&str) -> bool) -> Vec<&'a Value> {
    evs.iter()
        .filter(|e| e[record::EVENT_NAME] == event::ARTIFACT_ACCESS)
        .filter(|e| by(e[attr::PROCESS_EXECUTABLE_NAME].as_str().unwrap_or("")))
        .filter(|e| {
            e[attr::FILE_PATH]
                .as_str()
                .is_some_and(|p| p.ends_with(name))
        })
        .collect()
}

/// Access records of `name` by the test's `cat`s (not the run's own reads of the file it
/// identifies, which a daemon sees unless the run handed itself over).
fn accesses<'a>(evs: &'a [Value], name: &str) -> Vec<&'a Value> {
    accesses_by(evs, name, |p| p == "cat")
}

/// Access records of `name` by anything but the test's commands: an `aibomd run`'s own
/// reads of the file it identifies.
fn not_by_the_workload<'a>(evs: &'a [Value], name: &str) -> Vec<&'a Value> {
    accesses_by(evs, name, |p| !["cat", "sh", "sleep"].contains(&p))
}

/// `aibomd run --events EVENTS -- sh -c SCRIPT` in `dir`, exporting OTLP to `otlp` if given.
fn run(
    dir: &Path,
    events: &Path,
    otlp: Option<&str>,
    env: &[(&str, &str)],
    script: &str,
) -> Output {
    let mut c = aibomd();
    c.args(["run", "--tracer", "ebpf", "--events"])
        .arg(events)
        .args(["--", "sh", "-c", script])
        .current_dir(dir)
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT");
    if let Some(e) = otlp {
        c.env("OTEL_EXPORTER_OTLP_ENDPOINT", e);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn a_run_that_exports_takes_its_tree_over_from_the_host_daemon() {
    if !kernel_tests_possible(module_path!()) {
        return;
    }
    let (_g, dir) = tempdir();
    for f in [
        "run.safetensors",
        "late.gguf",
        "both.safetensors",
        "local.onnx",
    ] {
        touch(&dir.join(f), 64);
    }
    let daemon_events = dir.join("daemon.jsonl");
    let mut d = aibomd()
        .args(["daemon", "--no-console", "--tracer", "ebpf", "--events"])
        .arg(&daemon_events)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (_, err) = wait_ready(&mut d);
    let mode = std::fs::metadata(PIN)
        .unwrap_or_else(|e| panic!("the daemon pinned no hand-over map at {PIN}: {e}"))
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the pin is root's only");
    // a second daemon on the host leaves the first one's pin alone (it used to replace
    // it as stale, and remove it when it stopped)
    let ino = std::fs::metadata(PIN).unwrap().ino();
    let mut d2 = aibomd()
        .args([
            "daemon",
            "--no-console",
            "--tracer",
            "ebpf",
            "--events",
            "/dev/null",
        ])
        .args(["--control-socket", ""])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (_, err2) = wait_ready(&mut d2);
    stop_daemon(d2, err2);
    let after = std::fs::metadata(PIN).map(|m| m.ino()).ok();
    assert_eq!(
        after,
        Some(ino),
        "the running daemon's pin was replaced or removed"
    );

    let rx = Receiver::fresh();
    let endpoint = rx.endpoint();
    // 1. exports OTLP: the run reports its command (and a grandchild that outlives it), the
    //    daemon does not while the run lives; the grandchild opens late.gguf after the run
    //    ended, which the daemon sees again
    let run_events = dir.join("run.jsonl");
    let started = Instant::now();
    run(
        &dir,
        &run_events,
        Some(&endpoint),
        &[],
        "cat run.safetensors >/dev/null; (sleep 2; cat late.gguf >/dev/null) </dev/null >/dev/null 2>&1 &",
    );
    // 2. hand-over turned off on the run: both report it
    run(
        &dir,
        &dir.join("run2.jsonl"),
        Some(&endpoint),
        &[("AIBOM_EBPF__DEFER_PIN", "")],
        "cat both.safetensors >/dev/null",
    );
    // 3. a run that exports nothing to a store keeps the daemon reporting it
    run(
        &dir,
        &dir.join("run3.jsonl"),
        None,
        &[],
        "cat local.onnx >/dev/null",
    );
    // the grandchild's open, 2 s after the first run started
    std::thread::sleep(Duration::from_secs(4).saturating_sub(started.elapsed()));
    stop_daemon(d, err);
    assert!(!Path::new(PIN).exists(), "the pin outlived the daemon");

    let daemon = read_jsonl(&daemon_events);
    let runs = read_jsonl(&run_events);
    let only = |evs: &[Value], name: &str, n: usize, who: &str| {
        let got = accesses(evs, name);
        assert_eq!(
            got.len(),
            n,
            "{who}: {n} access(es) of {name} expected: {got:#?}"
        );
    };
    only(&runs, "run.safetensors", 1, "run");
    only(&daemon, "run.safetensors", 0, "daemon (left to the run)");
    only(&daemon, "late.gguf", 1, "daemon (the run had ended)");
    only(&daemon, "both.safetensors", 1, "daemon (no hand-over)");
    only(&daemon, "local.onnx", 1, "daemon (the run exports no OTLP)");
    // the runs' own reads of what they identify: the daemon leaves them to the run (also
    // when the run exports nothing), except where the run's hand-over is turned off
    for f in ["run.safetensors", "local.onnx"] {
        let got = not_by_the_workload(&daemon, f);
        assert!(
            got.is_empty(),
            "daemon reported a run's own read of {f}: {got:#?}"
        );
    }
    assert!(
        !not_by_the_workload(&daemon, "both.safetensors").is_empty(),
        "with defer_pin = \"\" the daemon sees the run's own reads (what the check above looks for)"
    );

    // the run's records reached the collector with the ids its JSONL shows, each id once
    let logs = rx.log_records();
    let otlp_ids: Vec<String> = logs
        .iter()
        .filter_map(|l| attr_str(&l.attributes, attr::RECORD_ID))
        .collect();
    assert_eq!(otlp_ids.len(), logs.len(), "every log record has an id");
    let unique: HashSet<&String> = otlp_ids.iter().collect();
    assert_eq!(unique.len(), otlp_ids.len(), "ids are unique: {otlp_ids:?}");
    let access = accesses(&runs, "run.safetensors")[0];
    let id = access[attr::RECORD_ID].as_str().expect("JSONL record id");
    assert!(uuid_v8(id), "{id}");
    assert!(
        unique.contains(&id.to_string()),
        "{id} not exported: {otlp_ids:?}"
    );
}

/// `8-4-4-4-12` lower-case hex with version 8 and the RFC 9562 variant.
fn uuid_v8(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && s.chars()
            .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c))
        && parts[2].starts_with('8')
        && matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b')
}

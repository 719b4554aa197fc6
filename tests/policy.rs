//! Policy: alerts, `deny` (fanotify permission events), `kill`, reload on SIGHUP, and the
//! `aibomd policy check` command, with real processes on the real kernel. The models are
//! GGUF files written by the `gguf` library.
mod common;

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const POLICY: &str = r#"
[[rules]]
name = "approved-model-licenses"
match = { "aibom.artifact.type" = ["model"] }
allow = { "aibom.artifact.license" = ["Apache-2.0", "MIT"] }
action = "ACTION"
severity = "high"
"#;

/// Writes `apache.gguf` (Apache-2.0) and `gpl.gguf` (GPL-3.0) under `dir/models` with
/// the `gguf` library, untraced.
fn models(dir: &Path) -> PathBuf {
    let m = dir.join("models");
    std::fs::create_dir_all(&m).unwrap();
    let script = r#"
import sys, gguf, numpy as np
for name, lic in (("apache", "apache-2.0"), ("gpl", "gpl-3.0")):
    w = gguf.GGUFWriter(f"{sys.argv[1]}/{name}.gguf", arch="llama")
    w.add_name(f"{name}-demo")
    w.add_license(lic)
    w.add_tensor("token_embd.weight", np.ones((4, 8), dtype=np.float32))
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
"#;
    let out = Command::new(python())
        .args(["-c", script])
        .arg(&m)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    m
}

fn policy(dir: &Path, action: &str, extra: &str) -> PathBuf {
    let p = dir.join(format!("policy-{action}.toml"));
    std::fs::write(&p, format!("{extra}{}", POLICY.replace("ACTION", action))).unwrap();
    p
}

fn violations(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e[record::EVENT_NAME] == aibom_semconv::event::POLICY_VIOLATION)
        .collect()
}

/// Loads both models: reads the first bytes of each, as a loader would.
const LOAD_BOTH: &str = r#"
import sys
for n in ("apache", "gpl"):
    try:
        with open(f"models/{n}.gguf", "rb") as f:
            f.read(16)
        print("loaded", n)
    except PermissionError:
        print("denied", n)
"#;

#[test]
fn policy_check_explains_a_valid_file_and_names_line_and_rule_of_a_bad_one() {
    let (_t, dir) = tempdir();
    let good = policy(&dir, "alert", "enforce_roots = [\"/srv/models\"]\n");
    let out = aibomd()
        .args(["policy", "check"])
        .arg(&good)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("1 rule(s)") && text.contains("approved-model-licenses"),
        "{text}"
    );
    assert!(
        text.contains("violated unless aibom.artifact.license is Apache-2.0 or MIT"),
        "{text}"
    );

    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[[rules]]\nname = \"ok\"\n\n[[rules]]\nname = \"typo\"\nallow = { \"aibom.artifact.licence\" = [\"MIT\"] }\n",
    )
    .unwrap();
    let out = aibomd()
        .args(["policy", "check"])
        .arg(&bad)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("bad.toml:4"), "line of the rule: {err}");
    assert!(
        err.contains("\"typo\"") && err.contains("aibom.artifact.license"),
        "{err}"
    );
    // a run with a bad policy does not start the command
    let out = aibomd()
        .args(["run", "--tracer", "procfs", "--policy"])
        .arg(&bad)
        .args(["--", "touch"])
        .arg(dir.join("ran"))
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(
        !dir.join("ran").exists(),
        "the command ran despite an invalid policy"
    );
}

#[test]
fn alert_reports_exactly_one_violation_for_the_gpl_model_and_fails_the_run() {
    if !kernel_tests_possible("policy alert") {
        return;
    }
    let (_t, dir) = tempdir();
    models(&dir);
    let p = policy(&dir, "alert", "");
    let py = python();
    let t = run_traced(
        &dir,
        "ebpf",
        &["--policy", p.to_str().unwrap(), "--fail-on-violation"],
        &[&py, "-c", LOAD_BOTH],
    );
    let stdout = String::from_utf8_lossy(&t.out.stdout);
    assert!(
        stdout.contains("loaded apache") && stdout.contains("loaded gpl"),
        "{stdout}"
    );
    let v = violations(&t.events);
    assert_eq!(
        v.len(),
        1,
        "one violation, for the GPL model: {v:#?}\n{}",
        t.stderr()
    );
    let v = v[0];
    assert!(s(v, attr::FILE_PATH).ends_with("/gpl.gguf"), "{v:#}");
    assert_eq!(s(v, attr::POLICY_RULE), "approved-model-licenses");
    assert_eq!(s(v, attr::POLICY_ACTION), "alert");
    assert_eq!(s(v, attr::POLICY_SEVERITY), "high");
    assert_eq!(v[attr::POLICY_ENFORCED], Value::Bool(false));
    assert!(s(v, attr::ARTIFACT_LICENSE).starts_with("GPL-3.0"), "{v:#}");
    assert_eq!(s(v, attr::ARTIFACT_NAME), "gpl-demo");
    // the run fails for CI jobs, and the table says why
    assert_eq!(t.out.status.code(), Some(3), "{}", t.stderr());
    assert!(
        t.stderr().contains("violates \"approved-model-licenses\""),
        "{}",
        t.stderr()
    );
    // without --fail-on-violation the command's own code
    let t = run_traced(
        &dir,
        "ebpf",
        &["--policy", p.to_str().unwrap()],
        &[&py, "-c", LOAD_BOTH],
    );
    assert_eq!(t.out.status.code(), Some(0), "{}", t.stderr());
}

#[test]
fn deny_refuses_the_gpl_model_before_a_byte_is_read_and_lets_the_other_load() {
    if !kernel_tests_possible("policy deny") {
        return;
    }
    let (_t, dir) = tempdir();
    let m = models(&dir);
    let p = policy(
        &dir,
        "deny",
        &format!("enforce_roots = [{:?}]\n", m.to_str().unwrap()),
    );
    let py = python();
    // 1,000 opens of the allowed model, timed, while aibomd identifies and hashes it
    let script = format!(
        "{LOAD_BOTH}\nimport time\nworst = 0\nfor i in range(1000):\n    t = time.monotonic()\n    open('models/apache.gguf', 'rb').close()\n    worst = max(worst, time.monotonic() - t)\nprint('worst_ms', int(worst * 1000))\n"
    );
    let t = run_traced(
        &dir,
        "ebpf",
        &["--policy", p.to_str().unwrap()],
        &[&py, "-c", &script],
    );
    let stdout = String::from_utf8_lossy(&t.out.stdout);
    assert!(stdout.contains("loaded apache"), "{stdout}\n{}", t.stderr());
    assert!(
        stdout.contains("denied gpl"),
        "the GPL model must be refused: {stdout}\n{}",
        t.stderr()
    );
    let worst: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("worst_ms "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no timing: {stdout}"));
    assert!(worst < 1000, "an allowed open waited {worst} ms");
    let v = violations(&t.events);
    assert_eq!(v.len(), 1, "{v:#?}");
    assert!(s(v[0], attr::FILE_PATH).ends_with("/gpl.gguf"));
    assert_eq!(s(v[0], attr::POLICY_ACTION), "deny");
    assert_eq!(v[0][attr::POLICY_ENFORCED], Value::Bool(true), "{:#}", v[0]);
    // the allowed model was identified and hashed all the same
    let ident = t
        .events
        .iter()
        .find(|e| {
            e[record::EVENT_NAME] == aibom_semconv::event::ARTIFACT_IDENTIFIED
                && e[attr::FILE_PATH]
                    .as_str()
                    .is_some_and(|p| p.ends_with("/apache.gguf"))
        })
        .unwrap_or_else(|| panic!("apache.gguf identified: {}", t.stderr()));
    assert_eq!(s(ident, attr::ARTIFACT_SHA256).len(), 64);
    // once aibomd is gone nothing stays blocked
    let out = Command::new(&py)
        .args(["-c", "open('models/gpl.gguf','rb').read(4); print('ok')"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
}

#[test]
fn kill_ends_the_process_with_sigkill_and_run_says_why() {
    if !kernel_tests_possible("policy kill") {
        return;
    }
    let (_t, dir) = tempdir();
    models(&dir);
    let p = policy(&dir, "kill", "");
    let py = python();
    let script =
        "import time\nopen('models/gpl.gguf','rb').read(16)\ntime.sleep(10)\nprint('survived')\n";
    let started = Instant::now();
    let t = run_traced(
        &dir,
        "ebpf",
        &["--policy", p.to_str().unwrap()],
        &[&py, "-c", script],
    );
    assert_eq!(t.out.status.code(), Some(137), "{}", t.stderr());
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "killed, not timed out"
    );
    assert!(!String::from_utf8_lossy(&t.out.stdout).contains("survived"));
    assert!(
        t.stderr()
            .contains("killed (SIGKILL) by policy rule approved-model-licenses"),
        "{}",
        t.stderr()
    );
    let v = violations(&t.events);
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_eq!(s(v[0], attr::POLICY_ACTION), "kill");
    assert_eq!(v[0][attr::POLICY_ENFORCED], Value::Bool(true));
}

/// Kills a daemon left running by a failed assertion.
struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0 as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// Waits up to `within` for a line of `events` matching `pred`.
fn wait_for(events: &Path, within: Duration, pred: impl Fn(&Value) -> bool) -> Option<Value> {
    let start = Instant::now();
    while start.elapsed() < within {
        let text = std::fs::read_to_string(events).unwrap_or_default();
        if let Some(v) = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| pred(v))
        {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn daemon_alerts_within_a_second_and_reloads_on_sighup_keeping_good_rules() {
    if !kernel_tests_possible("policy daemon") {
        return;
    }
    let (_t, dir) = tempdir();
    models(&dir);
    let p = policy(&dir, "alert", "");
    let events = dir.join("events.jsonl");
    let mut d = aibomd()
        .args([
            "daemon",
            "--no-console",
            "--tracer",
            "ebpf",
            "--control-socket",
            "",
            "--policy",
        ])
        .arg(&p)
        .arg("--events")
        .arg(&events)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (_, mut err) = wait_ready(&mut d);
    let guard = KillOnDrop(d.id());
    let py = python();
    let open_gpl = |tag: &str| {
        let out = Command::new(&py)
            .args([
                "-c",
                &format!("open('models/gpl.gguf','rb').read(16)  # {tag}"),
            ])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(out.status.success());
        Instant::now()
    };
    let gpl = dir.join("models/gpl.gguf");
    let is_violation = |v: &Value| {
        v[record::EVENT_NAME] == aibom_semconv::event::POLICY_VIOLATION
            && v[attr::FILE_PATH].as_str() == gpl.to_str()
    };
    let opened = open_gpl("first");
    let v = wait_for(&events, Duration::from_secs(10), is_violation).expect("a violation");
    let latency = opened.elapsed();
    assert!(
        latency < Duration::from_secs(1),
        "violation after {latency:?}"
    );
    assert_eq!(s(&v, attr::POLICY_RULE), "approved-model-licenses");

    let hup = |d: &std::process::Child| {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(d.id() as i32),
            nix::sys::signal::Signal::SIGHUP,
        )
        .unwrap();
    };
    let next_line = |err: &mut std::io::BufReader<std::process::ChildStderr>, what: &str| {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(err.read_line(&mut line).unwrap() > 0, "daemon exited");
            if line.contains(what) {
                return line;
            }
        }
    };
    // an invalid file: the old rules stay
    std::fs::write(&p, "[[rules]]\nname = \"x\"\naction = \"explode\"\n").unwrap();
    hup(&d);
    let l = next_line(&mut err, "aibomd: policy");
    assert!(l.contains("not reloaded") && l.contains("explode"), "{l}");
    // a valid one that allows GPL: a new process opening it is no violation
    std::fs::write(
        &p,
        POLICY
            .replace("ACTION", "alert")
            .replace("\"MIT\"]", "\"MIT\", \"GPL-*\"]"),
    )
    .unwrap();
    hup(&d);
    let l = next_line(&mut err, "aibomd: policy");
    assert!(l.contains("policy reloaded (1 rule(s))"), "{l}");
    open_gpl("second");
    std::thread::sleep(Duration::from_millis(1500));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(d.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let mut rest = String::new();
    let _ = err.read_to_string(&mut rest);
    assert!(d.wait().unwrap().success(), "{rest}");
    std::mem::forget(guard);
    let text = std::fs::read_to_string(&events).unwrap();
    // the daemon sees the whole host: only this test's files count
    let ours = dir.join("models/gpl.gguf");
    let all: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e[attr::FILE_PATH].as_str() == ours.to_str())
        .collect();
    let gpl_accesses = all
        .iter()
        .filter(|e| e[record::EVENT_NAME] == aibom_semconv::event::ARTIFACT_ACCESS)
        .count();
    assert!(gpl_accesses >= 2, "both opens seen: {gpl_accesses}");
    assert_eq!(
        violations(&all).len(),
        1,
        "only the first open broke the rules"
    );
}

#[test]
fn once_a_file_is_killed_on_the_kernel_kills_later_openers_before_they_read() {
    if !kernel_tests_possible("policy kill in kernel") {
        return;
    }
    let (_t, dir) = tempdir();
    models(&dir);
    let p = policy(&dir, "kill", "");
    let py = python();
    let first = format!("{py} -c \"import time; open('models/gpl.gguf','rb'); time.sleep(10)\"");
    // the second opener prints as soon as open() returns: the kernel must not let it
    let second = format!(
        "{py} -c \"import sys; f = open('models/gpl.gguf','rb'); print('after-open', flush=True); f.read(1)\""
    );
    let script = format!("{first}; sleep 1; {second}; echo done");
    let t = run_traced(
        &dir,
        "ebpf",
        &["--policy", p.to_str().unwrap()],
        &["sh", "-c", &script],
    );
    let stdout = String::from_utf8_lossy(&t.out.stdout);
    assert!(stdout.contains("done"), "{stdout}\n{}", t.stderr());
    assert!(
        !stdout.contains("after-open"),
        "the second opener ran past its open: {stdout}\n{}",
        t.stderr()
    );
    let v = violations(&t.events);
    assert_eq!(v.len(), 2, "one per process: {v:#?}");
    assert!(
        v.iter()
            .all(|v| v[attr::POLICY_ENFORCED] == Value::Bool(true)),
        "{v:#?}"
    );
}

//! Least privilege of the running daemon: once tracing is set up, every thread of
//! `aibomd daemon` / `aibomd run` holds only the capabilities it still uses, has
//! no-new-privileges and a seccomp filter, read from `/proc/PID/task/*/status` as an
//! administrator would; and it still traces. Needs root; under `CI=true` it fails
//! instead of skipping.
mod common;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

macro_rules! need_root {
    () => {
        if !kernel_tests_possible(module_path!()) {
            return;
        }
    };
}

// capability numbers (linux/capability.h)
const CAP_DAC_OVERRIDE: u32 = 1;
const CAP_DAC_READ_SEARCH: u32 = 2;
const CAP_KILL: u32 = 5;
const CAP_SYS_PTRACE: u32 = 19;
const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

fn mask(caps: &[u32]) -> u64 {
    caps.iter().fold(0, |m, c| m | 1 << c)
}

/// The status fields of every thread of `pid` (`CapEff`, `NoNewPrivs`, …), by thread id.
fn threads(pid: u32) -> BTreeMap<u32, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for t in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let tid: u32 = t.file_name().to_str().unwrap().parse().unwrap();
        let Ok(text) = std::fs::read_to_string(t.path().join("status")) else {
            continue; // exited meanwhile
        };
        let fields = text
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_string(), v.trim().to_string()))
            .collect();
        out.insert(tid, fields);
    }
    out
}

fn hex(v: &str) -> u64 {
    u64::from_str_radix(v, 16).unwrap()
}

/// Checks every thread of `pid`: effective, permitted and bounding sets are `want`,
/// no-new-privileges is set and a seccomp filter is in force.
fn assert_locked(pid: u32, want: u64) {
    let ts = threads(pid);
    assert!(ts.len() > 2, "the daemon runs several threads: {ts:?}");
    for (tid, f) in &ts {
        for k in ["CapEff", "CapPrm", "CapBnd"] {
            assert_eq!(
                hex(&f[k]),
                want,
                "thread {tid} ({}) {k}={} want {want:x}",
                f["Name"],
                f[k]
            );
        }
        assert_eq!(hex(&f["CapAmb"]), 0, "thread {tid} CapAmb");
        assert_eq!(f["NoNewPrivs"], "1", "thread {tid}");
        assert_eq!(f["Seccomp"], "2", "thread {tid}: 2 is filter mode");
    }
}

/// Starts `aibomd daemon` with `args`; returns it and its stderr after `ready`.
fn daemon(
    args: &[&str],
    events: &std::path::Path,
) -> (Child, std::io::BufReader<std::process::ChildStderr>) {
    let mut d = aibomd()
        .args(["daemon", "--no-console", "--control-socket", "", "--events"])
        .arg(events)
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (_, err) = wait_ready(&mut d);
    (d, err)
}

/// Writes `path`, has `cat` read it, and waits until `events` has a record of it (the
/// daemon still traces after the drop).
fn cat_and_expect(path: &std::path::Path, events: &std::path::Path) {
    touch(path, 64);
    Command::new("cat")
        .arg(path)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    let start = Instant::now();
    let want = path.to_str().unwrap();
    loop {
        let text = std::fs::read_to_string(events).unwrap_or_default();
        if text.lines().any(|l| l.contains(want)) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no record of {want} in {text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_ebpf_daemon_keeps_only_ptrace_dac_read_search_bpf_and_perfmon() {
    need_root!();
    let (_g, dir) = tempdir();
    let events = dir.join("events.jsonl");
    let (d, err) = daemon(&["--tracer", "ebpf"], &events);
    assert_locked(
        d.id(),
        mask(&[CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_BPF, CAP_PERFMON]),
    );
    // and it still sees, reads and identifies what other processes open
    cat_and_expect(&dir.join("after-drop.gguf"), &events);
    let rest = stop_daemon(d, err);
    assert!(rest.contains("dropped=0"), "{rest}");
}

#[test]
fn the_fanotify_daemon_with_a_policy_keeps_sys_admin_and_kill() {
    need_root!();
    let (_g, dir) = tempdir();
    let policy = dir.join("policy.toml");
    std::fs::write(
        &policy,
        "[[rules]]\nname = \"x\"\nmatch = { \"file.path\" = [\"*/nothing-matches-this\"] }\naction = \"alert\"\n",
    )
    .unwrap();
    let events = dir.join("events.jsonl");
    let p = policy.to_str().unwrap();
    let (d, err) = daemon(&["--tracer", "fanotify", "--policy", p], &events);
    assert_locked(
        d.id(),
        mask(&[CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_SYS_ADMIN, CAP_KILL]),
    );
    cat_and_expect(&dir.join("fan.onnx"), &events);
    stop_daemon(d, err);
}

#[test]
fn no_sandbox_leaves_the_daemon_as_it_started() {
    need_root!();
    let (_g, dir) = tempdir();
    let events = dir.join("events.jsonl");
    let (d, err) = daemon(&["--tracer", "procfs", "--no-sandbox"], &events);
    let mine = &threads(std::process::id())[&std::process::id()];
    for (tid, f) in threads(d.id()) {
        assert_eq!(f["CapEff"], mine["CapEff"], "thread {tid}");
        assert_eq!(f["Seccomp"], mine["Seccomp"], "thread {tid}");
    }
    stop_daemon(d, err);
}

#[test]
fn run_locks_itself_down_but_not_the_command_and_keeps_kill_for_it() {
    need_root!();
    let (_g, dir) = tempdir();
    let bom = dir.join("bom.json");
    let mut r = aibomd()
        .args(["run", "-q", "--tracer", "ebpf", "--bom"])
        .arg(&bom)
        .args(["--", "sleep", "30"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // the command runs under aibomd: wait for aibomd's filter, then read both
    let start = Instant::now();
    let child = loop {
        let kids = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", r.id()))
            .unwrap_or_default();
        let locked = threads(r.id()).values().all(|f| f["Seccomp"] == "2");
        if let (Some(k), true) = (kids.split_whitespace().next(), locked) {
            break k.parse::<u32>().unwrap();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "run never locked down"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_locked(
        r.id(),
        mask(&[
            CAP_SYS_PTRACE,
            CAP_DAC_READ_SEARCH,
            CAP_BPF,
            CAP_PERFMON,
            CAP_KILL,
            CAP_DAC_OVERRIDE,
        ]),
    );
    // the command was started before: it runs as the user asked (root here), unfiltered
    let mine = &threads(std::process::id())[&std::process::id()];
    let cmd = &threads(child)[&child];
    assert_eq!(cmd["CapEff"], mine["CapEff"]);
    assert_eq!(cmd["Seccomp"], mine["Seccomp"]);
    // signals are still passed on to it, and the BOM is written where asked
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(r.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = r.wait().unwrap();
    assert_eq!(status.code(), Some(128 + 15), "the command got SIGTERM");
    assert!(bom.exists());
}

/// `curl --unix-socket SOCK http://aibomd/v1/healthz` as uid/gid 65534 (nobody/nogroup):
/// the HTTP status, or 0 when it could not connect.
fn healthz_as_nobody(sock: &std::path::Path) -> String {
    use std::os::unix::process::CommandExt;
    let mut c = Command::new("curl");
    c.args([
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--unix-socket",
    ])
    .arg(sock)
    .arg("http://aibomd/v1/healthz");
    // SAFETY: setgroups/setgid/setuid between fork and exec.
    unsafe {
        c.pre_exec(|| {
            nix::unistd::setgroups(&[])?;
            nix::unistd::setgid(nix::unistd::Gid::from_raw(65534))?;
            nix::unistd::setuid(nix::unistd::Uid::from_raw(65534))?;
            Ok(())
        });
    }
    String::from_utf8(c.output().unwrap().stdout).unwrap()
}

#[test]
fn a_non_root_sidecar_in_the_control_group_reaches_the_socket_others_do_not() {
    need_root!();
    for (group, want) in [(Some("65534"), "200"), (None, "000")] {
        let (_g, dir) = tempdir();
        let sock = dir.join("control.sock");
        let mut args = vec![
            "--tracer",
            "procfs",
            "--control-socket",
            sock.to_str().unwrap(),
        ];
        if let Some(g) = group {
            args.extend(["--control-group", g]);
        }
        let mut d = aibomd()
            .args(["daemon", "--no-console"])
            .args(&args)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (_, err) = wait_ready(&mut d);
        assert_eq!(healthz_as_nobody(&sock), want, "group {group:?}");
        stop_daemon(d, err);
    }
}

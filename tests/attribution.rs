//! Attribution end to end: the real `aibomd` (eBPF tracer, root) traces real processes
//! placed in real cgroups shaped like docker / containerd / cri-o / podman / kubepods
//! ones (created in the cgroup v2 hierarchy by the test and removed after), processes in
//! fresh pid + mount namespaces (`unshare`), `AIBOM_PROJECT` inherited by a child that
//! cleared its environment, and a project rule by working directory. The JSON Lines
//! output (`--events FILE`) is checked. Needs root and cgroup v2; under `CI=true` their
//! absence is a failure.
mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use aibom_semconv::{access_mode, event, project_source, tracer};
use common::*;
use serde_json::Value;

/// The cgroup v2 hierarchy (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on a hybrid
/// host), or `None` (skip) outside CI; panics under CI when the test cannot run.
fn cgroup_root(what: &str) -> Option<PathBuf> {
    if !kernel_tests_possible(what) {
        return None;
    }
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let root = info.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        (post.split_whitespace().next()? == "cgroup2")
            .then(|| PathBuf::from(pre.split_whitespace().nth(4).unwrap()))
    });
    if root.is_none() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        assert!(!ci, "CI=true but {what} needs a cgroup v2 hierarchy");
        eprintln!("SKIP {what}: no cgroup v2 hierarchy mounted");
    }
    root
}

/// Cgroups created for one test, removed (deepest first) on drop.
struct Cgroups {
    top: PathBuf,
}

impl Cgroups {
    fn new(root: &Path, name: &str) -> Self {
        let top = root.join(format!("aibomd-test-{name}-{}", std::process::id()));
        let _ = std::fs::create_dir(&top);
        Self { top }
    }

    /// Creates `rel` below the test's top cgroup; returns its absolute directory and the
    /// path a process in it shows in `/proc/PID/cgroup`.
    fn make(&self, rel: &str, root: &Path) -> (PathBuf, String) {
        let dir = self.top.join(rel);
        std::fs::create_dir_all(&dir).unwrap();
        let shown = format!("/{}", dir.strip_prefix(root).unwrap().display());
        (dir, shown)
    }
}

impl Drop for Cgroups {
    fn drop(&mut self) {
        let mut dirs = Vec::new();
        let mut stack = vec![self.top.clone()];
        while let Some(d) = stack.pop() {
            if let Ok(rd) = std::fs::read_dir(&d) {
                for e in rd.flatten() {
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        stack.push(e.path());
                    }
                }
            }
            dirs.push(d);
        }
        for d in dirs.iter().rev() {
            // a cgroup is removable once its processes are gone: they exited already
            for _ in 0..50 {
                if std::fs::remove_dir(d).is_ok() || !d.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

fn read_events(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON {l:?}: {e}")))
        .collect()
}

/// The read accesses of files ending with `suffix` by the test's workloads. A daemon sees
/// the whole host: files created by the test itself, and other aibomd instances of
/// concurrently running tests hashing them, are left out.
fn accesses<'a>(evs: &'a [Value], suffix: &str) -> Vec<&'a Value> {
    evs.iter()
        .filter(|e| e[record::EVENT_NAME] == event::ARTIFACT_ACCESS)
        .filter(|e| e[attr::ACCESS_MODE] == aibom_semconv::access_mode::READ)
        .filter(|e| {
            let aibomd = |k: &str| e[k].as_str().is_some_and(|p| p.contains("aibomd "));
            !e[attr::PROCESS_EXECUTABLE_PATH]
                .as_str()
                .is_some_and(|p| p.ends_with("/aibomd"))
                && !aibomd(attr::PROCESS_COMMAND_LINE)
        })
        .filter(|e| {
            e[attr::FILE_PATH]
                .as_str()
                .is_some_and(|p| p.ends_with(suffix))
        })
        .collect()
}

fn only<'a>(evs: &'a [Value], suffix: &str, ctx: &str) -> &'a Value {
    let m = accesses(evs, suffix);
    assert_eq!(
        m.len(),
        1,
        "one access of *{suffix} expected: {evs:#?}\n{ctx}"
    );
    m[0]
}

const C_DOCKER: &str = "0d0c4e2f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f";
const C_DOCKER_SYSTEMD: &str = "1d0c4e2f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f";
const C_CONTAINERD: &str = "2c0c4e2f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f";
const C_CRIO: &str = "3c0c4e2f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f";
const C_PODMAN: &str = "4b0c4e2f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f";
const POD_A: &str = "7f3e2d1c-0b9a-4876-9543-210fedcba987";
const POD_B: &str = "0a1b2c3d-4e5f-4061-8293-a4b5c6d7e8f9";

/// A one-route HTTP server standing in for the kubelet's `/pods` (no kubelet exists in
/// the test environment). Answers only requests with the bearer `token`.
fn fake_kubelet(body: String, token: &'static str) -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/pods", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { return };
            let mut r = BufReader::new(c.try_clone().unwrap());
            let mut authed = false;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                authed |= line.eq_ignore_ascii_case(&format!("authorization: bearer {token}\r\n"));
            }
            let (status, body) = if authed {
                ("200 OK", body.as_str())
            } else {
                ("401 Unauthorized", "{}")
            };
            let _ = write!(
                c,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// (file stem, cgroup below the test's top, container id, runtime, pod uid)
type Shape<'a> = (&'a str, String, &'a str, Option<&'a str>, Option<&'a str>);

/// Each process moves itself into its cgroup, then execs Python to read a model whose
/// name tells the shape; the command line carries a secret that must be redacted.
#[test]
fn containers_and_pods_come_from_real_cgroups() {
    let Some(root) = cgroup_root(module_path!()) else {
        return;
    };
    let (_g, dir) = tempdir();
    let cg = Cgroups::new(&root, "shapes");
    let pod_a = POD_A.replace('-', "_");
    let shapes: Vec<Shape> = vec![
        // (file stem, cgroup below the test's top, container id, runtime, pod uid)
        ("docker", format!("docker/{C_DOCKER}"), C_DOCKER, Some("docker"), None),
        (
            "docker-systemd",
            format!("system.slice/docker-{C_DOCKER_SYSTEMD}.scope"),
            C_DOCKER_SYSTEMD,
            Some("docker"),
            None,
        ),
        (
            "containerd",
            format!("kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{pod_a}.slice/cri-containerd-{C_CONTAINERD}.scope"),
            C_CONTAINERD,
            Some("containerd"),
            Some(POD_A),
        ),
        (
            "crio",
            format!("kubepods/burstable/pod{POD_B}/crio-{C_CRIO}"),
            C_CRIO,
            Some("cri-o"),
            Some(POD_B),
        ),
        (
            "podman",
            format!("machine.slice/libpod-{C_PODMAN}.scope/container"),
            C_PODMAN,
            Some("podman"),
            None,
        ),
    ];
    let mut script = String::from("set -e\n");
    let py = python();
    for (stem, rel, ..) in &shapes {
        let (cgdir, _) = cg.make(rel, &root);
        touch(&dir.join(format!("{stem}.gguf")), 11);
        script.push_str(&format!(
            "sh -c 'echo $$ > {procs} && exec {py} -c \"import sys, time; open(sys.argv[1], \\\"rb\\\").read(); time.sleep(0.5)\" {file} --api-key=s3cr3t-{stem}'\n",
            procs = cgdir.join("cgroup.procs").display(),
            file = dir.join(format!("{stem}.gguf")).display(),
        ));
    }
    let body = format!(
        r#"{{"kind":"PodList","items":[{{"metadata":{{"name":"llm-0","namespace":"ml","uid":"{POD_A}"}}}},{{"metadata":{{"name":"embed-1","namespace":"search","uid":"{POD_B}"}}}}]}}"#
    );
    let url = fake_kubelet(body, "kube-token");
    std::fs::write(dir.join("token"), "kube-token\n").unwrap();
    let config = dir.join("aibomd.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[attribute.kubelet]
enabled = true
url = "{url}"
token_file = "{token}"

[[attribute.rules]]
project = "podman-things"
container_runtime = "podman"

[[attribute.rules]]
project = "search-team"
namespace = "search"
"#,
            token = dir.join("token").display()
        ),
    )
    .unwrap();
    let t = run_traced(
        &dir,
        tracer::EBPF,
        &["-c", config.to_str().unwrap()],
        &["sh", "-c", &script],
    );
    assert!(t.out.status.success(), "{}", t.stderr());
    for (stem, rel, id, runtime, pod) in &shapes {
        let e = only(&t.events, &format!("/{stem}.gguf"), &t.stderr());
        let ctx = format!("{stem}: {e:#}");
        assert_eq!(s(e, attr::CONTAINER_ID), *id, "{ctx}");
        assert_eq!(e[attr::CONTAINER_RUNTIME_NAME].as_str(), *runtime, "{ctx}");
        assert_eq!(e[attr::K8S_POD_UID].as_str(), *pod, "{ctx}");
        let line = s(e, attr::PROCESS_COMMAND_LINE);
        assert!(
            line.ends_with(&format!("{stem}.gguf --api-key=***")) && !line.contains("s3cr3t"),
            "{ctx}"
        );
        assert!(rel.len() > 1);
        assert!(!s(e, attr::PROCESS_CREATION_TIME).is_empty(), "{ctx}");
        assert_eq!(s(e, attr::PROCESS_WORKING_DIRECTORY), dir.to_str().unwrap());
    }
    let pod_of = |stem: &str| {
        let e = only(&t.events, &format!("/{stem}.gguf"), "");
        (
            e[attr::K8S_POD_NAME].as_str().map(str::to_string),
            e[attr::K8S_NAMESPACE_NAME].as_str().map(str::to_string),
            s(e, attr::PROJECT_ID).to_string(),
            s(e, attr::PROJECT_SOURCE).to_string(),
        )
    };
    let rule = project_source::RULE.to_string();
    let default = project_source::DEFAULT.to_string();
    assert_eq!(
        pod_of("containerd"),
        (
            Some("llm-0".into()),
            Some("ml".into()),
            "default".into(),
            default.clone()
        )
    );
    assert_eq!(
        pod_of("crio"),
        (
            Some("embed-1".into()),
            Some("search".into()),
            "search-team".into(),
            rule.clone()
        )
    );
    assert_eq!(pod_of("podman").2, "podman-things");
    assert_eq!(pod_of("podman").3, rule);
    assert_eq!(pod_of("docker").3, default);
}

/// A process in fresh pid + mount namespaces reads a model that exists only in its own
/// mount namespace (a tmpfs mounted there): aibomd reports the host pid, the path as the
/// process sees it, and the size read through `/proc/PID/root`. `run --project` wins over
/// the process's `AIBOM_PROJECT`.
#[test]
fn namespaced_process_is_attributed_and_its_file_is_found() {
    if !kernel_tests_possible(module_path!()) {
        return;
    }
    let (_g, dir) = tempdir();
    let inner = dir.join("inner");
    std::fs::create_dir(&inner).unwrap();
    let script = format!(
        r#"
import os, subprocess, time
subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "{inner}"], check=True)
with open("{inner}/ns.gguf", "wb") as f:
    f.write(b"x" * 4321)
print(os.getpid(), flush=True)
open("{inner}/ns.gguf", "rb").read()
time.sleep(1.0)
"#,
        inner = inner.display()
    );
    let py = python();
    let t = run_traced(
        &dir,
        tracer::EBPF,
        &["--project", "cli-wins"],
        &[
            "env",
            "AIBOM_PROJECT=from-env",
            "unshare",
            "--pid",
            "--fork",
            "--mount-proc",
            "--mount",
            &py,
            "-c",
            &script,
        ],
    );
    assert!(t.out.status.success(), "{}", t.stderr());
    let inside: i64 = String::from_utf8_lossy(&t.out.stdout)
        .trim()
        .parse()
        .unwrap();
    assert_eq!(inside, 1, "python is pid 1 of its namespace");
    assert!(
        !inner.join("ns.gguf").exists(),
        "the tmpfs leaked into our mount namespace"
    );
    let reads: Vec<&Value> = accesses(&t.events, "/ns.gguf")
        .into_iter()
        .filter(|e| e[attr::ACCESS_MODE] == access_mode::READ)
        .collect();
    assert!(!reads.is_empty(), "{:#?}\n{}", t.events, t.stderr());
    for e in reads {
        assert_ne!(i(e, attr::PROCESS_PID), 1, "host pid expected: {e:#}");
        assert_eq!(
            s(e, attr::FILE_PATH),
            inner.join("ns.gguf").to_str().unwrap()
        );
        assert_eq!(i(e, attr::FILE_SIZE), 4321, "{e:#}");
        assert_eq!(s(e, attr::PROJECT_ID), "cli-wins");
        assert_eq!(s(e, attr::PROJECT_SOURCE), project_source::CLI);
        assert!(s(e, attr::PROCESS_COMMAND_LINE).contains("-c"), "{e:#}");
    }
}

/// Starts `aibomd daemon` with `config`; returns it once ready.
fn start_daemon(config: &Path, events: &Path) -> std::process::Child {
    let mut d = aibomd()
        .args(["daemon", "--no-console", "--tracer", "ebpf", "-c"])
        .arg(config)
        .arg("--events")
        .arg(events)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (_, mut err) = common::wait_ready(&mut d);
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut rest);
        eprint!("{rest}");
    });
    d
}

/// `aibomd daemon` on the host: `AIBOM_PROJECT` of a parent reaches its child that ran
/// with an empty environment (`env -i`), a rule matches a working directory, and
/// everything else falls to the default project.
#[test]
fn daemon_projects_from_environment_rules_and_default() {
    if !kernel_tests_possible(module_path!()) {
        return;
    }
    let (_g, dir) = tempdir();
    let ruled = dir.join("ruled-work");
    std::fs::create_dir(&ruled).unwrap();
    for f in ["inherited.gguf", "ruled.gguf", "plain.gguf"] {
        touch(&dir.join(f), 5);
    }
    let config = dir.join("aibomd.toml");
    std::fs::write(
        &config,
        format!(
            "project = \"fallback-proj\"\n\n[[attribute.rules]]\nproject = \"wd-rule\"\nworking_directory = \"{}/ruled*\"\n",
            dir.display()
        ),
    )
    .unwrap();
    let events = dir.join("daemon.jsonl");
    let mut d = start_daemon(&config, &events);
    // the interpreter itself (not a pyenv shim, which needs its environment)
    let out = Command::new(python())
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    let py = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let read = |f: &str| {
        format!(
            "import time; open('{}', 'rb').read(); time.sleep(0.3)",
            dir.join(f).display()
        )
    };
    // the parent shell has the variable; its child (not exec'd: `; true`) has none
    let st = Command::new("sh")
        .args([
            "-c",
            &format!(
                "env -i {} -c \"{}\"; true",
                py.display(),
                read("inherited.gguf")
            ),
        ])
        .env("AIBOM_PROJECT", "team-a")
        .status()
        .unwrap();
    assert!(st.success());
    let st = Command::new(&py)
        .args(["-c", &read("ruled.gguf")])
        .env_remove("AIBOM_PROJECT")
        .current_dir(&ruled)
        .status()
        .unwrap();
    assert!(st.success());
    let st = Command::new(&py)
        .args(["-c", &read("plain.gguf")])
        .env_remove("AIBOM_PROJECT")
        .current_dir(&dir)
        .status()
        .unwrap();
    assert!(st.success());
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(d.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(d.wait().unwrap().success());
    let evs = read_events(&events);
    let proj = |f: &str| {
        let e = only(&evs, &format!("/{f}"), "");
        (
            s(e, attr::PROJECT_ID).to_string(),
            s(e, attr::PROJECT_SOURCE).to_string(),
        )
    };
    assert_eq!(
        proj("inherited.gguf"),
        ("team-a".into(), project_source::ENVIRONMENT.into())
    );
    assert_eq!(
        proj("ruled.gguf"),
        ("wd-rule".into(), project_source::RULE.into())
    );
    assert_eq!(
        proj("plain.gguf"),
        ("fallback-proj".into(), project_source::DEFAULT.into())
    );
    let e = only(&evs, "/ruled.gguf", "");
    assert_eq!(
        s(e, attr::PROCESS_WORKING_DIRECTORY),
        ruled.to_str().unwrap()
    );
    assert_eq!(s(e, attr::PROCESS_OWNER), "root");
}

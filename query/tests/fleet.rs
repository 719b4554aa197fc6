//! The fleet on one machine, no mocks: four "hosts", each a network, UTS, pid and mount
//! namespace made here (`unshare`, a veth on a bridge of this test, a host name of its own),
//! each running the real `aibomd daemon` (eBPF) and a rotel-agent configured by
//! `collector-config/rotel-agent.env` (receiving on the host's own 127.0.0.1:4317),
//! forwarding to one rotel gateway on the bridge, which writes into ClickHouse (chDB);
//! the unchanged sidecar serves the result. A project per host. Each host's workload opens
//! model files made by the real `gguf` and `safetensors` libraries in two rounds; the
//! gateway is killed (SIGKILL) after the first and restarted after the second. Every
//! host's project then shows exactly its accesses (nothing lost, nothing doubled), under
//! its host name, with the pids its processes had in their own namespace.
//!
//! All daemons share one kernel, so each sees every open on the machine: this is also the
//! test of the tracer's pid-namespace scoping (a daemon whose /proc is a nested pid
//! namespace's traces only that namespace's processes, numbered as it numbers them).
//!
//! Needs root, the release `aibomd`, the venv (rotel, gguf, safetensors), chDB and
//! iproute2/util-linux; under `CI=true` anything missing fails the test.
mod common;
mod stack_util;

use common::{attr, event, record, ClickHouse, Killed, Sidecar, TOKEN};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const HOSTS: usize = 4;

/// Runs `cmd`, failing the test with its output unless it succeeds.
fn must(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ip(args: &[&str]) {
    must(Command::new("ip").args(args));
}

/// The test network: a bridge with the gateway's address; deleted on drop (the hosts'
/// veths go with their namespaces).
struct Bridge {
    name: String,
    /// `10.213.N.`: the subnet's first three octets.
    net: String,
}

impl Bridge {
    fn up() -> Self {
        let id = std::process::id();
        let b = Bridge {
            name: format!("afb{}", id % 100_000),
            net: format!("10.213.{}.", id % 250),
        };
        ip(&["link", "add", &b.name, "type", "bridge"]);
        ip(&["addr", "add", &format!("{}1/24", b.net), "dev", &b.name]);
        ip(&["link", "set", &b.name, "up"]);
        b
    }

    fn gateway(&self) -> String {
        format!("{}1", self.net)
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.name])
            .status();
    }
}

/// The init of a host: waits for its network, starts its rotel-agent and `aibomd daemon`
/// (both configured by the environment), stops the daemon (SIGTERM: drain and flush) when
/// `stop` appears and keeps the agent running until the namespace is torn down.
const INIT: &str = r#"
set -eu
D="$1"
hostname "$2"
while [ ! -e "$D/net" ]; do sleep 0.05; done
"$FLEET_AGENT" start > "$D/agent.log" 2>&1 &
"$FLEET_AIBOMD" daemon --tracer ebpf --project "$3" > "$D/daemon.out" 2> "$D/daemon.err" &
echo $! > "$D/daemon.pid"
while [ ! -e "$D/stop" ]; do sleep 0.1; done
set +e
kill -TERM "$(cat "$D/daemon.pid")"
wait "$(cat "$D/daemon.pid")"
echo $? > "$D/daemon.rc"
exec sleep 3600
"#;

/// The workload: prints its pid (in its namespace), then one process (`cat`) opens each file.
const WORKLOAD: &str = r#"echo $$; exec cat "$@" > /dev/null"#;

/// One simulated host: its namespaces (held by `unshare`, which kills them all when it
/// dies), the host pid of their init, and a directory for its files.
struct Host {
    name: String,
    project: String,
    dir: PathBuf,
    init_pid: u32,
    _unshare: Killed,
}

impl Host {
    fn start(
        i: usize,
        bridge: &Bridge,
        gw_grpc: u16,
        tmp: &Path,
        env: &[(String, String)],
    ) -> Self {
        let name = format!("fleet-host-{i}");
        let project = format!("fleet-{i}");
        let dir = tmp.join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        let agent_env = stack_util::read("collector-config/rotel-agent.env");
        let mut c = Command::new("unshare");
        c.args([
            "--net",
            "--uts",
            "--pid",
            "--mount",
            "--fork",
            "--mount-proc",
            "--kill-child",
            "sh",
            "-c",
            INIT,
            "init",
        ])
        .arg(&dir)
        .args([&name, &project]);
        for l in agent_env.lines() {
            if let Some((k, v)) = l.split_once('=').filter(|_| !l.starts_with('#')) {
                c.env(k.trim(), v.trim());
            }
        }
        c.envs(env.iter().map(|(k, v)| (k, v)))
            .env(
                "ROTEL_OTLP_EXPORTER_ENDPOINT",
                format!("http://{}:{gw_grpc}", bridge.gateway()),
            )
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
            .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
            .env("AIBOM_EXPORT__OTLP__SPOOL_DIR", dir.join("spool"))
            .env("AIBOM_CONTROL__SOCKET", dir.join("control.sock"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let unshare = Killed(c.spawn().unwrap());
        let upid = unshare.0.id();
        let init_pid: u32 = wait_for(&format!("{name}: the namespace's init"), 10, || {
            std::fs::read_to_string(format!("/proc/{upid}/task/{upid}/children"))
                .ok()?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        });
        // veth: one end on the bridge, the other (eth0) in the host's network namespace
        let veth = format!("{}h{i}", bridge.name);
        let ns = init_pid.to_string();
        ip(&[
            "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
        ]);
        ip(&["link", "set", &veth, "master", &bridge.name]);
        ip(&["link", "set", &veth, "up"]);
        let host = Host {
            name,
            project,
            dir,
            init_pid,
            _unshare: unshare,
        };
        let addr = format!("{}{}/24", bridge.net, 10 + i);
        host.nsenter(&["ip", "link", "set", "lo", "up"]);
        host.nsenter(&["ip", "addr", "add", &addr, "dev", "eth0"]);
        host.nsenter(&["ip", "link", "set", "eth0", "up"]);
        std::fs::write(host.dir.join("net"), "").unwrap();
        host
    }

    /// Runs `args` inside all of the host's namespaces (a child of its pid namespace).
    fn nsenter(&self, args: &[&str]) -> Output {
        must(
            Command::new("nsenter")
                .args(["--target", &self.init_pid.to_string()])
                .args(["--net", "--uts", "--pid", "--mount", "--"])
                .args(args),
        )
    }

    fn daemon_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("daemon.err")).unwrap_or_default()
    }

    /// The workload opens `files`; returns its pid as its own namespace numbers it.
    fn open(&self, files: &[&Path]) -> u32 {
        let mut args = vec!["sh", "-c", WORKLOAD, "workload"];
        args.extend(files.iter().map(|f| f.to_str().unwrap()));
        let out = self.nsenter(&args);
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }
}

/// Polls `f` every 100 ms until it gives a value; fails after `secs`.
fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The model files: one every host opens, and two of each host's own, made by the real
/// libraries.
fn fixtures(py: &Path, dir: &Path) {
    let script = r#"
import sys, numpy as np, gguf
from safetensors.numpy import save_file
d, n = sys.argv[1], int(sys.argv[2])
def g(path, name):
    w = gguf.GGUFWriter(path, arch="llama")
    w.add_name(name)
    w.add_tensor("token_embd.weight", np.ones((4, 8), dtype=np.float32))
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
g(f"{d}/shared.gguf", "fleet-shared")
for i in range(n):
    save_file({"w": np.full((4, 4), i, dtype=np.float32)}, f"{d}/host-{i}-a.safetensors")
    g(f"{d}/host-{i}-b.gguf", f"fleet-host-{i}")
"#;
    must(
        Command::new(py)
            .args(["-c", script])
            .arg(dir)
            .arg(HOSTS.to_string()),
    );
}

fn get(sc: &Sidecar, path: &str) -> Value {
    let r = common::call("GET", &format!("{}{path}", sc.base), Some(TOKEN), None);
    assert_eq!(r.status, 200, "GET {path}: {}", r.text);
    r.json
}

/// A project's access events: (host name, pid, path).
fn accesses(sc: &Sidecar, project: &str) -> Vec<(String, u64, String)> {
    let page = get(
        sc,
        &format!("/projects/{project}/runtime/events?limit=1000"),
    );
    assert!(page["next"].is_null(), "more than one page");
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e[record::EVENT_NAME] == event::ARTIFACT_ACCESS)
        .map(|e| {
            (
                e[attr::HOST_NAME].as_str().unwrap_or_default().to_string(),
                e[attr::PROCESS_PID].as_u64().unwrap_or_default(),
                e[attr::FILE_PATH].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The summary's totals of every project (accesses, artifacts, processes).
fn totals(sc: &Sidecar, hosts: &[Host]) -> BTreeMap<String, (u64, u64, u64)> {
    hosts
        .iter()
        .map(|h| {
            let s = get(sc, &format!("/projects/{}/runtime/summary", h.project));
            let t = &s["totals"];
            let n = |k: &str| t[k].as_u64().unwrap_or_default();
            (
                h.project.clone(),
                (n("accesses"), n("artifacts"), n("processes")),
            )
        })
        .collect()
}

/// Waits until every project has `accesses` (60 s at most), then 2 s more for anything
/// doubled to arrive too; returns the totals.
fn settle(sc: &Sidecar, hosts: &[Host], accesses: u64) -> BTreeMap<String, (u64, u64, u64)> {
    let end = Instant::now() + Duration::from_secs(60);
    while Instant::now() < end && totals(sc, hosts).values().any(|t| t.0 < accesses) {
        std::thread::sleep(Duration::from_millis(300));
    }
    std::thread::sleep(Duration::from_secs(2));
    totals(sc, hosts)
}

/// Everything the test needs, or why not.
fn missing() -> Option<String> {
    if !stack_util::is_root() {
        return Some("the fleet test needs root (namespaces, eBPF)".into());
    }
    if stack_util::aibomd_binary().is_none() {
        return Some("no release aibomd (cargo build --release -p aibomd)".into());
    }
    if common::rotel_agent().is_none() {
        return Some("rotel-agent is missing (scripts/setup installs the rotel wheel)".into());
    }
    let py = stack_util::python()?;
    let ok = Command::new(py)
        .args(["-c", "import gguf, safetensors"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        return Some("no Python with gguf and safetensors (scripts/setup)".into());
    }
    for tool in ["ip", "unshare", "nsenter"] {
        if Command::new(tool).arg("-V").output().is_err() {
            return Some(format!("{tool} is missing (iproute2, util-linux)"));
        }
    }
    None
}

#[test]
fn four_namespaced_hosts_through_a_gateway_restart() {
    if let Some(why) = missing() {
        common::skip(&why);
        return;
    }
    let t0 = Instant::now();
    let aibomd = stack_util::aibomd_binary().unwrap();
    let agent = common::rotel_agent().unwrap();
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    assert!(common::migrate(&ch).status.success());
    let sc = Sidecar::start(&ch, &[]);
    let bridge = Bridge::up();
    let (gw_http, gw_grpc) = (common::free_port(), common::free_port());
    let gateway = || {
        let mut c = common::rotel_command_on(&agent, &ch, &bridge.gateway(), gw_http, gw_grpc);
        let k = Killed(c.spawn().unwrap());
        let addr = format!("{}:{gw_grpc}", bridge.gateway());
        wait_for("the gateway", 30, || {
            std::net::TcpStream::connect(&addr).ok()
        });
        k
    };
    let mut gw = gateway();

    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");
    std::fs::create_dir(&models).unwrap();
    fixtures(&stack_util::python().unwrap(), &models);
    let env = vec![
        (
            "FLEET_AGENT".to_string(),
            agent.to_string_lossy().into_owned(),
        ),
        (
            "FLEET_AIBOMD".to_string(),
            aibomd.to_string_lossy().into_owned(),
        ),
    ];
    let hosts: Vec<Host> = (0..HOSTS)
        .map(|i| Host::start(i, &bridge, gw_grpc, tmp.path(), &env))
        .collect();
    for h in &hosts {
        wait_for(&format!("{}: aibomd ready", h.name), 120, || {
            let log = h.daemon_log();
            assert!(
                !h.dir.join("daemon.rc").exists(),
                "{}: aibomd exited:\n{log}",
                h.name
            );
            log.contains("aibomd: ready").then_some(())
        });
    }
    let started = t0.elapsed();

    // (host, project) -> expected (host name, pid, path) of every access
    let mut want: BTreeMap<String, BTreeSet<(String, u64, String)>> = BTreeMap::new();
    let shared = models.join("shared.gguf");
    let round = |want: &mut BTreeMap<_, BTreeSet<_>>, suffix: &str| {
        for (i, h) in hosts.iter().enumerate() {
            let own = models.join(format!("host-{i}-{suffix}"));
            let pid = h.open(&[&shared, &own]) as u64;
            let w: &mut BTreeSet<_> = want.entry(h.project.clone()).or_default();
            for f in [&shared, &own] {
                w.insert((h.name.clone(), pid, f.to_string_lossy().into_owned()));
            }
        }
    };
    round(&mut want, "a.safetensors");
    let first = settle(&sc, &hosts, 2);
    // the gateway killed; the second round while it is down; then restarted
    drop(gw);
    round(&mut want, "b.gguf");
    std::thread::sleep(Duration::from_secs(3));
    gw = gateway();
    let second = settle(&sc, &hosts, 4);
    // the daemons stop (drain and flush): nothing more may arrive
    for h in &hosts {
        std::fs::write(h.dir.join("stop"), "").unwrap();
    }
    for h in &hosts {
        let rc = wait_for(&format!("{}: aibomd to stop", h.name), 60, || {
            std::fs::read_to_string(h.dir.join("daemon.rc")).ok()
        });
        assert_eq!(
            rc.trim(),
            "0",
            "{}: aibomd failed:\n{}",
            h.name,
            h.daemon_log()
        );
    }
    let last = settle(&sc, &hosts, 4);
    drop(gw);
    eprintln!(
        "fleet: {HOSTS} hosts up in {started:?}; totals (accesses, artifacts, processes) \
         after round 1 {first:?}, after the restart {second:?}, after the daemons stopped \
         {last:?}; {:?} in all",
        t0.elapsed()
    );

    for (i, h) in hosts.iter().enumerate() {
        assert_eq!(
            first[&h.project],
            (2, 2, 1),
            "{}: round 1 before the restart",
            h.name
        );
        // 4 opens by 2 processes of 3 files: exactly, not more (nothing doubled by a retry,
        // nothing of the other hosts' processes), not less (nothing lost in the outage)
        assert_eq!(last[&h.project], (4, 3, 2), "{}: totals", h.name);
        let got = accesses(&sc, &h.project);
        assert_eq!(got.len(), 4, "{}: {got:?}", h.name);
        let got: BTreeSet<_> = got.into_iter().collect();
        assert_eq!(got, want[&h.project], "{}: host name, pid, path", h.name);
        let s = get(&sc, &format!("/projects/{}/runtime/summary", h.project));
        let paths: BTreeSet<String> = s["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|a| a[attr::FILE_PATH].as_array().cloned().unwrap_or_default())
            .map(|p| p.as_str().unwrap().to_string())
            .collect();
        let own = |s: &str| {
            models
                .join(format!("host-{i}-{s}"))
                .to_string_lossy()
                .into_owned()
        };
        assert_eq!(
            paths,
            BTreeSet::from([
                shared.to_string_lossy().into_owned(),
                own("a.safetensors"),
                own("b.gguf")
            ]),
            "{}: artifacts",
            h.name
        );
    }
    // the fleet's projects, and nothing else: no daemon reported another host's process
    let listed: BTreeSet<String> = get(&sc, "/projects")["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    let projects: BTreeSet<String> = hosts.iter().map(|h| h.project.clone()).collect();
    assert_eq!(listed, projects);
}

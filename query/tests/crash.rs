//! Crashes and a flapping collector, end to end, no mocks: the real `aibomd daemon` (eBPF)
//! is SIGKILLed 2 s after every start for a minute while rotel-agent (OTLP → ClickHouse on
//! chDB) is stopped and started again every few seconds; a workload opens a new model file
//! every 100 ms throughout. Each daemon restarts on the same spool and sends what the dead
//! one left; a last one stops cleanly. Then, in ClickHouse:
//!
//! - no record is stored twice (`runtime_events` holds each `aibom.record.id` once, the
//!   summary counts each access once), though the collector may have been sent some twice;
//! - every stored record is one a daemon emitted (its JSON Lines file), and every record a
//!   daemon emitted is stored unless that daemon was killed less than [`UNSPOOLED`] after
//!   emitting it (a record is spooled at most a second after it is emitted: before that it
//!   lives only in the killed process's memory). Everything the clean daemon emitted is
//!   stored.
//!
//! `AIBOM_TEST_CRASH_SECS` shortens the minute when run by hand. Needs root, the release
//! `aibomd`, rotel and chDB; under `CI=true` anything missing fails the test.
mod common;
mod stack_util;

use common::{attr, event, record, ClickHouse, Killed, Sidecar, TOKEN};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const PROJECT: &str = "crash-test";

/// How long after its emission a record may still be only in the daemon's memory (the OTLP
/// sink seals a batch into the spool at most 1 s after a record; the rest is slack for a
/// loaded machine).
const UNSPOOLED: Duration = Duration::from_secs(3);

/// One daemon start: its JSON Lines file, and when it was killed (None: stopped cleanly).
struct Life {
    events: PathBuf,
    killed_at: Option<SystemTime>,
}

fn daemon(aibomd: &Path, dir: &Path, n: usize, grpc: u16) -> (Child, PathBuf, PathBuf) {
    let events = dir.join(format!("events-{n}.jsonl"));
    let log = dir.join(format!("daemon-{n}.log"));
    let child = Command::new(aibomd)
        .args(["daemon", "--tracer", "ebpf", "--no-console", "--events"])
        .arg(&events)
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{grpc}"),
        )
        .env("AIBOM_EXPORT__OTLP__SPOOL_DIR", dir.join("spool"))
        .env("AIBOM_PIPELINE__DEDUP_WINDOW_MS", "0")
        .env("AIBOM_CONTROL__SOCKET", "")
        .env_remove("AIBOM_PROJECT")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("aibomd starts");
    (child, events, log)
}

/// rotel-agent on loopback `http`/`grpc` into the test database, once it listens (again
/// on the same ports after a restart; each start rewrites its log `log`).
fn start_rotel(agent: &Path, ch_url: &str, http: u16, grpc: u16, log: &Path) -> stack_util::Killed {
    let k = stack_util::start_rotel(agent, grpc, http, ch_url, common::DB, log);
    common::wait_for_port(grpc, Duration::from_secs(30));
    k
}

/// SIGTERM to `c`, then waits for it to exit.
fn term(c: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &c.id().to_string()])
        .status();
    let _ = c.wait();
}

fn wait_ready(child: &mut Child, log: &Path) {
    let t = Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains("aibomd: ready") {
            return;
        }
        if let Ok(Some(st)) = child.try_wait() {
            panic!("aibomd exited {st} before ready:\n{text}");
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "aibomd not ready in 60 s:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The workload's access records in a daemon's JSON Lines file: (record id, time).
fn emitted(events: &Path, files: &Path) -> Vec<(String, SystemTime)> {
    let text = std::fs::read_to_string(events).unwrap_or_default();
    text.lines()
        // a SIGKILL may cut the last line
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e[record::EVENT_NAME] == event::ARTIFACT_ACCESS)
        .filter(|e| {
            e[attr::FILE_PATH]
                .as_str()
                .is_some_and(|p| Path::new(p).starts_with(files))
        })
        .map(|e| {
            let id = e[attr::RECORD_ID].as_str().expect("record id").to_string();
            let t = chrono_ns(e["timestamp"].as_str().unwrap());
            (id, t)
        })
        .collect()
}

/// An RFC 3339 UTC timestamp (`2026-12-04T17:48:15.883107890Z`) as a time.
fn chrono_ns(s: &str) -> SystemTime {
    let t = chrono::DateTime::parse_from_rfc3339(s).expect("RFC 3339 timestamp");
    UNIX_EPOCH + Duration::from_nanos(t.timestamp_nanos_opt().unwrap() as u64)
}

fn missing() -> Option<String> {
    if !stack_util::is_root() {
        return Some("the crash test needs root (eBPF)".into());
    }
    if stack_util::aibomd_binary().is_none() {
        return Some("no release aibomd (cargo build --release -p aibomd)".into());
    }
    if common::rotel_agent().is_none() {
        return Some("rotel-agent is missing (scripts/setup installs the rotel wheel)".into());
    }
    stack_util::python()
        .is_none()
        .then(|| "no Python (scripts/setup)".into())
}

#[test]
fn kill_9_every_2_s_while_the_collector_flaps_stores_each_record_once() {
    if let Some(why) = missing() {
        common::skip(&why);
        return;
    }
    let secs: u64 = std::env::var("AIBOM_TEST_CRASH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let aibomd = stack_util::aibomd_binary().unwrap();
    let agent = common::rotel_agent().unwrap();
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    assert!(common::migrate(&ch).status.success());
    let sc = Sidecar::start(&ch, &[]);
    let (http, grpc) = (common::free_port(), common::free_port());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let files = dir.join("models");
    std::fs::create_dir(&files).unwrap();

    // the collector: up ~3 s, down ~2 s (SIGTERM: rotel finishes what it took)
    let stop = Arc::new(AtomicBool::new(false));
    let flaps = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let flapper = {
        let (stop, flaps) = (stop.clone(), flaps.clone());
        let (agent, ch_url, log) = (agent.clone(), ch.url(), dir.join("rotel.log"));
        let mut r = start_rotel(&agent, &ch_url, http, grpc, &log);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(3));
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                term(&mut r.0);
                flaps.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_secs(2));
                r = start_rotel(&agent, &ch_url, http, grpc, &log);
            }
            r
        })
    };

    // the workload: a new file every 100 ms, in the test's project
    let py = stack_util::python().unwrap();
    let stop_file = dir.join("stop");
    let workload = Killed(
        Command::new(&py)
            .args(["-c", WORKLOAD])
            .arg(&files)
            .arg(&stop_file)
            .env("AIBOM_PROJECT", PROJECT)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );

    // the daemons: each SIGKILLed 2 s after it is ready
    let mut lives: Vec<Life> = Vec::new();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(secs) {
        let (mut d, events, log) = daemon(&aibomd, &dir, lives.len(), grpc);
        wait_ready(&mut d, &log);
        std::thread::sleep(Duration::from_secs(2));
        d.kill().unwrap();
        let killed_at = SystemTime::now();
        d.wait().unwrap();
        lives.push(Life {
            events,
            killed_at: Some(killed_at),
        });
    }
    // a last daemon sees the workload's last files and stops cleanly with the collector up
    let (mut d, events, log) = daemon(&aibomd, &dir, lives.len(), grpc);
    wait_ready(&mut d, &log);
    std::thread::sleep(Duration::from_secs(2));
    std::fs::write(&stop_file, "").unwrap();
    stop.store(true, Ordering::Relaxed);
    let rotel_up = flapper.join().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    term(&mut d);
    let st = d.wait().unwrap();
    assert!(st.success(), "{}", std::fs::read_to_string(&log).unwrap());
    lives.push(Life {
        events,
        killed_at: None,
    });
    drop(workload);

    // what the daemons emitted, and when each was killed
    let mut emitted_all: BTreeMap<String, (SystemTime, Option<SystemTime>)> = BTreeMap::new();
    for l in &lives {
        for (id, t) in emitted(&l.events, &files) {
            assert!(
                emitted_all.insert(id.clone(), (t, l.killed_at)).is_none(),
                "two daemons gave out id {id}"
            );
        }
    }
    // ClickHouse settles: nothing new for 5 s
    let count = || -> (u64, u64, u64) {
        let out = ch.sql(
            &format!(
                "SELECT count(), uniqExact(record_id), countIf(record_id = toUUID('00000000-0000-0000-0000-000000000000')) \
                 FROM runtime_events WHERE project_id = '{PROJECT}' AND event_name = '{}' FORMAT TSV",
                event::ARTIFACT_ACCESS
            ),
            "",
        );
        let v: Vec<u64> = out.split_whitespace().map(|x| x.parse().unwrap()).collect();
        (v[0], v[1], v[2])
    };
    let mut last = (u64::MAX, 0, 0);
    let mut still = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        let c = count();
        if c != last {
            last = c;
            still = Instant::now();
        } else if still.elapsed() > Duration::from_secs(5) {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(rotel_up);
    let (rows, ids, zero) = last;
    let stored: BTreeSet<String> = ch
        .sql(
            &format!(
                "SELECT toString(record_id) FROM runtime_events WHERE project_id = '{PROJECT}' \
                 AND event_name = '{}' FORMAT TSV",
                event::ARTIFACT_ACCESS
            ),
            "",
        )
        .lines()
        .map(str::to_string)
        .collect();
    let raw: u64 = ch
        .sql(
            &format!(
                "SELECT count() FROM otel_logs WHERE LogAttributes['{}'] = '{PROJECT}' \
                 AND LogAttributes['{}'] = '{}' FORMAT TSV",
                attr::PROJECT_ID,
                record::EVENT_NAME,
                event::ARTIFACT_ACCESS
            ),
            "",
        )
        .trim()
        .parse()
        .unwrap();
    let summary = common::call(
        "GET",
        &format!("{}/projects/{PROJECT}/runtime/summary", sc.base),
        Some(TOKEN),
        None,
    );
    assert_eq!(summary.status, 200, "{}", summary.text);
    let accesses = summary.json["totals"]["accesses"].as_u64().unwrap();

    let lost: Vec<&String> = emitted_all
        .keys()
        .filter(|id| !stored.contains(*id))
        .collect();
    let kills = lives.iter().filter(|l| l.killed_at.is_some()).count();
    eprintln!(
        "crash: {kills} daemons SIGKILLed, {} collector restarts in {secs} s; emitted {} \
         access records, collector got {raw} (with repeats), stored {rows} rows with {ids} ids; \
         summary accesses {accesses}; lost before the spool: {}",
        flaps.load(Ordering::Relaxed),
        emitted_all.len(),
        lost.len()
    );
    assert!(kills >= 3, "the test killed only {kills} daemons");
    assert_eq!(zero, 0, "every record has an id");
    assert_eq!(rows, ids, "no record stored twice");
    assert_eq!(accesses, rows, "the summary counts each access once");
    for id in &stored {
        assert!(
            emitted_all.contains_key(id),
            "{id} stored but never emitted"
        );
    }
    for id in lost {
        let (t, killed) = emitted_all[id];
        let killed = killed.unwrap_or_else(|| panic!("{id}: the clean daemon's record was lost"));
        let before_kill = killed.duration_since(t).unwrap_or_default();
        assert!(
            before_kill <= UNSPOOLED,
            "{id} was lost though emitted {before_kill:?} before its daemon was killed (spooled by then)"
        );
    }
    assert!(
        emitted_all.len() as u64 >= 10 * secs / 2,
        "the daemons saw too little: {}",
        emitted_all.len()
    );
}

/// Opens `DIR/fNNNNN.safetensors` (made just before) every 100 ms until `STOP` exists.
const WORKLOAD: &str = r#"
import os, sys, time
d, stop = sys.argv[1], sys.argv[2]
i = 0
while not os.path.exists(stop):
    p = os.path.join(d, "f%05d.safetensors" % i)
    with open(p, "wb") as f:
        f.write(b"x" * 8)
    time.sleep(0.01)
    with open(p, "rb") as f:
        f.read()
    i += 1
    time.sleep(0.1)
"#;

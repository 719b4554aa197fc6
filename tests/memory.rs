//! Memory under a storm of distinct long paths (issue 20): the real `aibomd daemon` (eBPF),
//! with folding off, while 64 processes open distinct ~4,000-byte paths for 60 s
//! (`AIBOM_TEST_STORM_SECS` shortens it by hand). Its resident memory must stay under a cap
//! computed from its configured byte limits, and every open must be accounted for: each one
//! the workers issued is an exported access record or a counted drop.
//!
//! The daemon runs in its own pid namespace (`unshare`), so it traces the workers and
//! nothing else on the machine: the accounting is exact. Needs root; under `CI=true` it
//! fails instead of skipping.
mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;

/// Processes opening files at once.
const WORKERS: usize = 64;
/// Length of every opened path, in bytes.
const PATH_LEN: usize = 4000;
/// Links each worker keeps on disk (older ones are unlinked: the paths stay distinct while
/// the temp dir stays small). The daemon lags seconds behind the storm (what waits in the
/// ring buffer was opened then); a name unlinked before the daemon got to it is resolved
/// through the process's descriptor, which may name a newer link of the same file.
const KEEP: usize = 4096;

// The daemon's byte limits in this test (the defaults, written out so the cap is computed
// from what the daemon was given).
const RING_BUFFER_BYTES: u64 = 16 << 20;
const QUEUE_BYTES: u64 = 8 << 20;
const NORMALIZE_CACHE_BYTES: u64 = 4 << 20;
const IDENTIFY_CACHE_BYTES: u64 = 8 << 20;
const ANNOUNCE_BYTES: u64 = 8 << 20;
/// The eBPF reader stops a batch once it holds an eighth of `queue_bytes` (plus the one
/// event, up to two 4 KiB paths, that crossed it) before it waits for room in the queue.
const READER_BATCH_BYTES: u64 = QUEUE_BYTES / 8 + 2 * 4096 + 256;
/// Results of the hash pool (32,768 results of ~250 bytes: bounded in entries of a fixed
/// size).
const HASH_RESULTS_BYTES: u64 = 8 << 20;
/// What the allocator keeps beyond the live bytes (freed chunks not given back) and the
/// records in flight in the pipeline (one batch's records, the JSONL line).
const ALLOCATOR_SLACK: u64 = 16 << 20;

/// The daemon's configuration: folding off (every open is a record of its own), the
/// limits above, no control socket.
fn config() -> String {
    format!(
        r#"
[pipeline]
dedup_window_ms = 0
queue_bytes = {QUEUE_BYTES}

[normalize]
cache_bytes = {NORMALIZE_CACHE_BYTES}

[identify]
cache_bytes = {IDENTIFY_CACHE_BYTES}
announce_bytes = {ANNOUNCE_BYTES}

[ebpf]
ring_buffer_bytes = {RING_BUFFER_BYTES}

[control]
socket = ""
"#
    )
}

/// What may be resident on top of the daemon's memory once it is ready: every byte bound
/// the storm can fill — the kernel ring buffer (mapped into the daemon, resident once
/// written), the queue and the batch the reader fills for it, the normalize and identify
/// caches, the announcer, the hash results — plus the allocator's slack. Folding is off,
/// so the dedup table (`pipeline.dedup_max_bytes`) holds nothing, and 64 processes are a
/// sliver of the attribution cache (`attribute.cache_bytes`): neither is counted.
fn allowance() -> u64 {
    RING_BUFFER_BYTES
        + QUEUE_BYTES
        + READER_BATCH_BYTES
        + NORMALIZE_CACHE_BYTES
        + IDENTIFY_CACHE_BYTES
        + ANNOUNCE_BYTES
        + HASH_RESULTS_BYTES
        + ALLOCATOR_SLACK
}

/// The workers: forked by one Python process, each waits for `go`, then links its copy of
/// the model under a new name in its own folder at the end of the long chain (a file has
/// at most 65,000 links on ext4) and opens it by its full path until the time is up; the total of opens is written to `opens`, then they
/// wait for `release` before exiting (so no exit event competes with the storm's opens
/// for the ring buffer). They run at nice 19: the daemon, not the storm, decides how much
/// it handles; the kernel drops (and counts) what does not fit.
const STORM: &str = r#"
import os, sys, time
chain, ctl = os.environ["STORM_CHAIN"], os.environ["STORM_CTL"]
n, secs, keep = int(os.environ["STORM_WORKERS"]), float(os.environ["STORM_SECS"]), int(os.environ["STORM_KEEP"])

def wait_for(name):
    while not os.path.exists(os.path.join(ctl, name)):
        time.sleep(0.02)

counts, kids = [], []
for i in range(n):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.nice(19)
        leaf = f"{chain}/w{i:02}"
        d = os.open(leaf, os.O_RDONLY | os.O_DIRECTORY)
        wait_for("go")
        end, k = time.monotonic() + secs, 0
        try:
            while time.monotonic() < end:
                name = f"{k:07}.safetensors"
                os.link("model.safetensors", name, src_dir_fd=d, dst_dir_fd=d)
                os.close(os.open(f"{leaf}/{name}", os.O_RDONLY))
                if k >= keep:
                    os.unlink(f"{k - keep:07}.safetensors", dir_fd=d)
                k += 1
            os.write(w, f"{k}\n".encode())
        except Exception as e:
            os.write(w, f"worker {i} failed after {k} opens: {e!r}\n".encode())
        os.close(w)
        wait_for("release")
        os._exit(0)
    os.close(w)
    counts.append(r)
    kids.append(pid)
said = [os.read(r, 256).decode().strip() for r in counts]
failed = [s for s in said if not s.isdigit()]
with open(os.path.join(ctl, "opens.tmp"), "w") as f:
    f.write("\n".join(failed) if failed else str(sum(map(int, said))))
os.rename(os.path.join(ctl, "opens.tmp"), os.path.join(ctl, "opens"))
for p in kids:
    os.waitpid(p, 0)
"#;

/// The daemon (JSONL records on stdout), then the storm, inside the namespace; `stop`
/// ends the daemon.
const SCRIPT: &str = r#"
"$0" daemon -c config.toml --tracer ebpf --no-console --events - 2> daemon.err &
D=$!
while ! grep -qs 'aibomd: ready' daemon.err; do
  kill -0 $D 2>/dev/null || exit 1
  sleep 0.05
done
touch ready
"$1" -S storm.py > storm.out 2>&1
while [ ! -e stop ]; do sleep 0.05; done
kill -TERM $D
wait $D
"#;

fn storm_secs() -> u64 {
    std::env::var("AIBOM_TEST_STORM_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60)
}

/// Folders `dir/storm/<long names…>/wNN`: the chain is sized so that
/// `chain/wNN/NNNNNNN.safetensors` is exactly [`PATH_LEN`] bytes.
fn make_chain(dir: &Path) -> PathBuf {
    let tail = "/w00/0000000.safetensors".len();
    let mut chain = dir.join("storm");
    let mut i = 0;
    while chain.as_os_str().len() + tail < PATH_LEN {
        let room = PATH_LEN - tail - chain.as_os_str().len() - 1; // the '/'
        let len = room.min(200);
        let mut name = format!("level{i:02}-");
        name.push_str(&"x".repeat(len.saturating_sub(name.len())));
        name.truncate(len);
        chain.push(name);
        i += 1;
    }
    assert_eq!(chain.as_os_str().len() + tail, PATH_LEN);
    std::fs::create_dir_all(&chain).unwrap();
    chain
}

/// A real (tiny) safetensors model, written by the `safetensors` library.
fn make_model(path: &Path) {
    let out = Command::new(python())
        .args([
            "-c",
            "import sys, numpy as np; from safetensors.numpy import save_file; \
             save_file({'w': np.zeros((4, 4), np.float32)}, sys.argv[1])",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The host pid of the `aibomd` process below `ancestor` (the namespace's daemon).
fn daemon_pid(ancestor: u32) -> u32 {
    let bin = std::fs::canonicalize(env!("CARGO_BIN_EXE_aibomd")).unwrap();
    let parent = |pid: u32| -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if std::fs::read_link(e.path().join("exe")).ok().as_deref() != Some(bin.as_path()) {
            continue;
        }
        let mut p = pid;
        for _ in 0..4 {
            match parent(p) {
                Some(q) if q == ancestor => return pid,
                Some(q) if q > 1 => p = q,
                _ => break,
            }
        }
    }
    panic!("no aibomd process below pid {ancestor}");
}

/// (VmRSS, VmHWM) of `pid` in bytes; `None` once it is gone.
fn rss(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = |key: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
    };
    Some((kb("VmRSS:")?, kb("VmHWM:")?))
}

/// Records read from the daemon's JSONL stream.
#[derive(Default)]
struct Counted {
    lines: AtomicU64,
    access: AtomicU64,
    identified: AtomicU64,
}

/// Counts the daemon's records by kind; every 1,000th access record is parsed and its path
/// as the worker passed it checked to be one of the storm's, whole.
fn count_records(out: impl Read, chain: String, c: Arc<Counted>) -> Vec<String> {
    let access = format!(
        "\"{}\":\"{}\"",
        record::EVENT_NAME,
        aibom_semconv::event::ARTIFACT_ACCESS
    );
    let identified = format!(
        "\"{}\":\"{}\"",
        record::EVENT_NAME,
        aibom_semconv::event::ARTIFACT_IDENTIFIED
    );
    let mut sampled = Vec::new();
    let mut r = BufReader::with_capacity(1 << 20, out);
    let mut line = Vec::new();
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line).unwrap() == 0 {
            return sampled;
        }
        // the event name comes second, after the timestamp
        let head = String::from_utf8_lossy(&line[..line.len().min(160)]);
        if head.contains(&access) {
            let n = c.access.fetch_add(1, Relaxed);
            if n.is_multiple_of(1000) {
                let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
                let p = s(&v, attr::ACCESS_PATH).to_string();
                assert!(p.starts_with(&chain) && p.len() == PATH_LEN, "{p}");
                sampled.push(p);
            }
        } else if head.contains(&identified) {
            c.identified.fetch_add(1, Relaxed);
        }
        c.lines.fetch_add(1, Relaxed);
    }
}

/// The value of `key=N` in the daemon's exit line.
fn stat(line: &str, key: &str) -> u64 {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key}= in {line:?}"))
}

/// Waits for the file `name` in `dir` while the namespace `ns` runs.
fn wait_file(dir: &Path, name: &str, limit: Duration, ns: &mut std::process::Child) {
    let start = Instant::now();
    while !dir.join(name).exists() {
        if let Some(st) = ns.try_wait().unwrap() {
            let err = std::fs::read_to_string(dir.join("daemon.err")).unwrap_or_default();
            let out = std::fs::read_to_string(dir.join("storm.out")).unwrap_or_default();
            panic!("the namespace ended ({st}) before `{name}`: {err}\n{out}");
        }
        assert!(start.elapsed() < limit, "no `{name}` within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until the daemon wrote no record for 2 s (it caught up with the kernel).
fn wait_idle(c: &Counted) {
    let mut last = (c.lines.load(Relaxed), Instant::now());
    let start = Instant::now();
    while last.1.elapsed() < Duration::from_secs(2) {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "daemon never idle"
        );
        std::thread::sleep(Duration::from_millis(200));
        let n = c.lines.load(Relaxed);
        if n != last.0 {
            last = (n, Instant::now());
        }
    }
}

#[test]
fn a_storm_of_long_distinct_paths_stays_under_the_memory_cap_and_loses_nothing_uncounted() {
    if !kernel_tests_possible(module_path!()) {
        return;
    }
    let secs = storm_secs();
    let (_g, dir) = tempdir();
    let chain = make_chain(&dir);
    make_model(&chain.join("model.safetensors"));
    for w in 0..WORKERS {
        let leaf = chain.join(format!("w{w:02}"));
        std::fs::create_dir(&leaf).unwrap();
        std::fs::copy(
            chain.join("model.safetensors"),
            leaf.join("model.safetensors"),
        )
        .unwrap();
    }
    std::fs::write(dir.join("config.toml"), config()).unwrap();
    std::fs::write(dir.join("storm.py"), STORM).unwrap();

    let mut ns = Command::new("unshare")
        .args([
            "--pid",
            "--fork",
            "--mount",
            "--mount-proc",
            "sh",
            "-c",
            SCRIPT,
        ])
        .arg(env!("CARGO_BIN_EXE_aibomd"))
        .arg(python())
        .current_dir(&dir)
        .env_remove("MALLOC_ARENA_MAX") // the daemon sets one arena itself (main.rs)
        .env("STORM_CHAIN", &chain)
        .env("STORM_CTL", &dir)
        .env("STORM_WORKERS", WORKERS.to_string())
        .env("STORM_SECS", secs.to_string())
        .env("STORM_KEEP", KEEP.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("unshare (util-linux) runs the daemon in its own pid namespace");
    let counted = Arc::new(Counted::default());
    let reader = {
        let (out, c) = (ns.stdout.take().unwrap(), counted.clone());
        let chain = chain.to_str().unwrap().to_string();
        std::thread::spawn(move || count_records(out, chain, c))
    };
    wait_file(&dir, "ready", Duration::from_secs(120), &mut ns);
    let pid = daemon_pid(ns.id());

    // the baseline: the ready daemon, settled, before any storm
    std::thread::sleep(Duration::from_secs(2));
    let (baseline, hwm_at_start) = rss(pid).expect("daemon alive");
    let cap = baseline + allowance();
    let peak = Arc::new(AtomicU64::new(baseline));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        std::thread::spawn(move || {
            while sampling.load(Relaxed) {
                match rss(pid) {
                    Some((now, _)) => peak.fetch_max(now, Relaxed),
                    None => break,
                };
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    std::fs::write(dir.join("go"), "").unwrap();
    wait_file(&dir, "opens", Duration::from_secs(secs + 120), &mut ns);
    wait_idle(&counted);
    std::fs::write(dir.join("release"), "").unwrap();
    wait_idle(&counted);
    let (_, hwm) = rss(pid).expect("daemon alive");
    sampling.store(false, Relaxed);
    sampler.join().unwrap();
    std::fs::write(dir.join("stop"), "").unwrap();
    let status = ns.wait().unwrap();
    let sampled = reader.join().unwrap();
    let err = std::fs::read_to_string(dir.join("daemon.err")).unwrap();
    assert!(status.success(), "namespace exit {status:?}: {err}");
    let line = err
        .lines()
        .rfind(|l| l.starts_with("aibomd: tracer="))
        .unwrap_or_else(|| panic!("no exit line: {err}"));

    let opens = std::fs::read_to_string(dir.join("opens")).unwrap();
    let issued: u64 = opens.trim().parse().unwrap_or_else(|_| {
        let out = std::fs::read_to_string(dir.join("storm.out")).unwrap_or_default();
        panic!("the storm failed: {opens}\n{out}")
    });
    let (events, dropped, folded, exported) = (
        stat(line, "events"),
        stat(line, "dropped"),
        stat(line, "folded"),
        stat(line, "exported"),
    );
    let access = counted.access.load(Relaxed);
    let identified = counted.identified.load(Relaxed);
    let lines = counted.lines.load(Relaxed);
    let peak = peak.load(Relaxed);
    let mib = |b: u64| format!("{:.1} MiB", b as f64 / (1 << 20) as f64);
    eprintln!(
        "\nstorm: {WORKERS} workers × {secs} s, {PATH_LEN}-byte paths, dedup off\n\
         | baseline RSS (ready)        | {:>14} |\n\
         | allowance (limits + slack)  | {:>14} |\n\
         | cap                         | {:>14} |\n\
         | peak RSS (sampled, 100 ms)  | {:>14} |\n\
         | VmHWM at ready / at end     | {:>6} / {:>6} |\n\
         | opens issued by the workers | {issued:>14} |\n\
         | seen by the pipeline        | {events:>14} |\n\
         | dropped: kernel ring buffer | {dropped:>14} |\n\
         | folded                      | {folded:>14} |\n\
         | exported records            | {exported:>14} |\n\
         |   access (written)          | {access:>14} |\n\
         |   identified (written)      | {identified:>14} |\n\
         {line}",
        mib(baseline),
        mib(allowance()),
        mib(cap),
        mib(peak),
        mib(hwm_at_start),
        mib(hwm),
    );

    // the storm was one: distinct paths, many more than the caches hold
    let distinct: std::collections::HashSet<_> = sampled.iter().collect();
    assert_eq!(distinct.len(), sampled.len(), "a path was opened twice");
    // more paths than every path-keyed bound together could keep: they all had to evict
    let fill = (NORMALIZE_CACHE_BYTES + IDENTIFY_CACHE_BYTES + ANNOUNCE_BYTES) / PATH_LEN as u64;
    assert!(
        access > fill,
        "only {access} records, not over {fill}: the bounds were never reached"
    );
    // nothing lost uncounted: every open issued is an access record or a kernel drop, and
    // every record the daemon exported was written
    assert_eq!(folded, 0, "folding is off");
    assert_eq!(issued, events + dropped, "opens issued = events + drops");
    assert_eq!(events, access, "every event became an access record");
    assert_eq!(exported, lines, "every exported record was written");
    assert_eq!(lines, access + identified);
    // memory: the peak stays under the cap, between samples too (VmHWM, when the storm
    // raised it above the start-up's)
    assert!(
        peak <= cap,
        "peak RSS {} over the cap {} (baseline {} + limits and slack {})",
        mib(peak),
        mib(cap),
        mib(baseline),
        mib(allowance())
    );
    assert!(
        hwm <= hwm_at_start.max(cap),
        "VmHWM {} over the cap {}",
        mib(hwm),
        mib(cap)
    );
}

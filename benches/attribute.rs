//! # `attribute`: what does attributing an access to its process cost?
//!
//! A plain `harness = false` benchmark printing a Markdown report on stdout (progress on
//! stderr). No tracing: it drives `aibomd::attribute::Attributor` directly with real
//! processes it starts, so it needs no root.
//!
//! 1. **Cost per event.** [`PROCS`] real `sleep` processes (command lines with secrets to
//!    redact, half with `AIBOM_PROJECT`) are looked up:
//!    - *cache hit*: the baseline, every process already cached;
//!    - *cache miss, live*: a fresh attributor per round, every lookup reads `/proc/PID`
//!      (stat, exe, cwd, cmdline, cgroup, environ, root and mount namespace);
//!    - *cache miss, gone*: pids that do not exist, with the tracer's hints (the cgroup
//!      path found from the cgroup id).
//!
//!    Medians of [`ROUNDS`] rounds, interleaved; ratios against the hit.
//! 2. **Memory per tracked process.** Bytes held by the attributor (a counting global
//!    allocator: allocations minus frees) after caching the [`PROCS`] processes, divided
//!    by their number.
//! 3. **10,000 short-lived processes.** Real fork/exec of `cat` (stdin piped, so it lives
//!    until we close it), in waves of [`WAVE`]: `on_exec` + a lookup while it lives, then
//!    it exits and `on_exit` is fed. The cache size is sampled after every wave; it must
//!    come back to where it started. A second run loses one exit in ten (as a lossy tracer
//!    would) with a 512-entry cache: the size stays at the cap and evictions are counted.
//!
//! ## Running
//!
//! ```sh
//! cargo bench -p aibomd --bench attribute
//! AIBOM_BENCH_SHORT_LIVED=2000 cargo bench -p aibomd --bench attribute
//! ```
//!
//! Started without `--bench` (e.g. by `cargo test --all-targets`) it does nothing.

#[path = "report.rs"]
mod report;
use report::{group, median, parse_count, print_table, ratio};

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::time::{Instant, SystemTime};

use aibomd::attribute::{AttributeConfig, Attributor, Hints};
use aibomd::model::ExecInfo;
use anyhow::{Context, Result};

/// Long-lived processes looked up in sections 1 and 2.
const PROCS: usize = 200;
/// Rounds of section 1.
const ROUNDS: usize = 7;
/// Lookups of each cached process per hit round.
const HIT_REPEAT: usize = 50;
/// Processes alive at once in section 3.
const WAVE: usize = 50;
/// Default number of short-lived processes of section 3.
const DEFAULT_SHORT_LIVED: u64 = 10_000;

/// Counts bytes live on the heap.
struct Counting;

static LIVE: AtomicI64 = AtomicI64::new(0);

// SAFETY: forwards to the system allocator, only counting sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as i64, Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as i64, Relaxed);
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as i64 - l.size() as i64, Relaxed);
        System.realloc(p, l, new)
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn main() -> Result<()> {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("attribute: skipped; run it with `cargo bench -p aibomd --bench attribute`");
        return Ok(());
    }
    let short_lived = match std::env::var("AIBOM_BENCH_SHORT_LIVED") {
        Ok(v) => parse_count(&v)?,
        Err(_) => DEFAULT_SHORT_LIVED,
    };
    let started = Instant::now();
    println!("# attribute bench\n");
    println!(
        "Host: {} CPUs, load average at start: {}\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load()
    );
    let procs = Sleepers::start(PROCS)?;
    cost_per_event(&procs.pids)?;
    memory_per_process(&procs.pids)?;
    drop(procs);
    short_lived_processes(short_lived)?;
    println!(
        "\nBench wall time: {:.1} s; load average at end: {}",
        started.elapsed().as_secs_f64(),
        load()
    );
    Ok(())
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn attributor(cap: usize) -> Result<Attributor> {
    let cfg = AttributeConfig {
        cache_capacity: cap,
        ..Default::default()
    };
    Attributor::new(&cfg, "bench", None)
}

/// Real processes sleeping until dropped.
struct Sleepers {
    children: Vec<Child>,
    pids: Vec<u32>,
}

impl Sleepers {
    fn start(n: usize) -> Result<Self> {
        let mut children = Vec::with_capacity(n);
        for i in 0..n {
            // `sleep` rejects extra arguments: a shell carries them as positional ones
            let mut c = Command::new("/bin/sh");
            c.args([
                "-c",
                "sleep 600; exit 0",
                "sh",
                "--model=/srv/models/llama-3-8b-instruct.Q4_K_M.gguf",
                "--token=hf_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                "OPENAI_API_KEY=sk-bbbbbbbbbbbbbbbbbbbbbbbb",
            ]);
            if i % 2 == 0 {
                c.env("AIBOM_PROJECT", "bench-env");
            }
            children.push(c.stdout(Stdio::null()).spawn().context("spawn sleep")?);
        }
        let pids: Vec<u32> = children.iter().map(Child::id).collect();
        // wait until every one has exec'd
        for &p in &pids {
            while std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default() != "sh\n" {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        Ok(Self { children, pids })
    }
}

impl Drop for Sleepers {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn cost_per_event(pids: &[u32]) -> Result<()> {
    eprintln!("section 1: cost per event");
    let cgroup_id = own_cgroup_id();
    let gone: Vec<u32> = (0..pids.len() as u32)
        .map(|i| u32::MAX - 1000 - i)
        .collect();
    let (mut hit, mut miss, mut miss_gone) = (Vec::new(), Vec::new(), Vec::new());
    let mut warm = attributor(65_536)?;
    for &p in pids {
        warm.lookup(p, Hints::default());
    }
    for _ in 0..ROUNDS {
        let t = Instant::now();
        for _ in 0..HIT_REPEAT {
            for &p in pids {
                black_box(warm.lookup(p, Hints::default()));
            }
        }
        hit.push(t.elapsed().as_nanos() as f64 / (HIT_REPEAT * pids.len()) as f64);

        let mut a = attributor(65_536)?;
        let t = Instant::now();
        for &p in pids {
            black_box(a.lookup(p, Hints::default()));
        }
        miss.push(t.elapsed().as_nanos() as f64 / pids.len() as f64);

        let mut a = attributor(65_536)?;
        let hints = Hints {
            comm: Some("python3"),
            uid: Some(1000),
            ppid: Some(1),
            cgroup_id,
        };
        // the cgroup walk is cached per attributor: warm it as a running daemon would be
        a.lookup(u32::MAX, hints);
        let t = Instant::now();
        for &p in &gone {
            black_box(a.lookup(p, hints));
        }
        miss_gone.push(t.elapsed().as_nanos() as f64 / gone.len() as f64);
    }
    let base = median(&hit);
    let row = |name: &str, v: &[f64]| {
        vec![
            name.to_string(),
            format!("{:.0}", median(v)),
            format!("{:.0}", v.iter().cloned().fold(f64::INFINITY, f64::min)),
            ratio(median(v), base),
        ]
    };
    println!(
        "## 1. Cost per event ({} processes, median of {ROUNDS} rounds)\n",
        pids.len()
    );
    print_table(
        &["lookup", "ns/event (median)", "ns/event (best)", "vs hit"],
        &[
            row("cache hit", &hit),
            row("cache miss, live process (/proc reads)", &miss),
            row("cache miss, process gone (tracer hints)", &miss_gone),
        ],
    );
    Ok(())
}

fn own_cgroup_id() -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    let root = aibomd::attribute::cgroups::v2_mount()?;
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = aibomd::attribute::container::path_from_proc(&text)?;
    std::fs::metadata(format!("{}{rel}", root.display()))
        .ok()
        .map(|m| m.ino())
}

fn memory_per_process(pids: &[u32]) -> Result<()> {
    eprintln!("section 2: memory per process");
    let mut a = attributor(65_536)?;
    // warm the user-name cache and lazily built statics first
    a.lookup(pids[0], Hints::default());
    a.on_exit(pids[0]);
    let before = LIVE.load(Relaxed);
    for &p in pids {
        a.lookup(p, Hints::default());
    }
    let after = LIVE.load(Relaxed);
    let cmdline = a.lookup(pids[0], Hints::default()).command_line.clone();
    let per = (after - before) as f64 / pids.len() as f64;
    println!("\n## 2. Memory per tracked process\n");
    print_table(
        &["processes cached", "heap bytes held", "bytes per process"],
        &[vec![
            group(a.len() as u64),
            group((after - before) as u64),
            format!("{per:.0}"),
        ]],
    );
    println!(
        "\nEach process here has a {}-byte command line after redaction: {:?}",
        cmdline.as_deref().map_or(0, str::len),
        cmdline.unwrap_or_default()
    );
    Ok(())
}

/// One wave: spawn `WAVE` `cat`s, feed exec + lookup, let them exit, feed exits (all but
/// those `lose` says).
fn wave(a: &mut Attributor, n: usize, lose: &mut impl FnMut() -> bool) -> Result<usize> {
    let mut kids = Vec::with_capacity(n);
    for _ in 0..n {
        let c = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .context("spawn cat")?;
        let pid = c.id();
        a.on_exec(&ExecInfo {
            time: SystemTime::now(),
            pid,
            ppid: Some(std::process::id()),
            comm: Some("cat".into()),
            path: "/usr/bin/cat".into(),
        });
        black_box(a.lookup(pid, Hints::default()));
        kids.push(c);
    }
    let alive = a.len();
    for mut c in kids {
        drop(c.stdin.take());
        c.wait()?;
        if !lose() {
            a.on_exit(c.id());
        }
    }
    Ok(alive)
}

fn short_lived_processes(total: u64) -> Result<()> {
    eprintln!("section 3: {total} short-lived processes");
    let mut rows = Vec::new();
    for (label, cap, lose_every) in [
        ("every exit seen", 16_384usize, 0u64),
        ("1 exit in 10 lost, cap 512", 512, 10),
    ] {
        let mut a = attributor(cap)?;
        let start_len = a.len();
        let mut max_len = 0;
        let mut n = 0u64;
        let mut k = 0u64;
        let mut lose = || {
            k += 1;
            lose_every > 0 && k.is_multiple_of(lose_every)
        };
        let heap_before = LIVE.load(Relaxed);
        let t = Instant::now();
        while n < total {
            let w = WAVE.min((total - n) as usize);
            max_len = max_len.max(wave(&mut a, w, &mut lose)?);
            n += w as u64;
        }
        let secs = t.elapsed().as_secs_f64();
        let heap = LIVE.load(Relaxed) - heap_before;
        rows.push(vec![
            label.to_string(),
            group(n),
            group(start_len as u64),
            group(max_len as u64),
            group(a.len() as u64),
            group(a.evictions()),
            group(heap.max(0) as u64),
            format!("{:.0}", n as f64 / secs),
        ]);
    }
    println!("\n## 3. Short-lived processes (real fork/exec, waves of {WAVE})\n");
    print_table(
        &[
            "run",
            "processes",
            "cache at start",
            "cache max",
            "cache at end",
            "evictions",
            "heap held at end (bytes)",
            "processes/s",
        ],
        &rows,
    );
    Ok(())
}

//! # `policy`: what do policy rules cost an open, and how fast is an alert?
//!
//! A `harness = false` benchmark printing Markdown tables (progress on stderr); every
//! ratio is against a baseline measured in the same run, configurations interleaved.
//!
//! 1. **Open cost.** `open`+`close` of a `.gguf` file, [`OPENS`] times, timed one by one
//!    in this process: in a directory marked for `deny` (every open waits for the
//!    daemon's verdict; the file is allowed) and in an unmarked one, each without aibomd
//!    and under `aibomd daemon --policy` with a `deny` rule. Median and p99 per open.
//! 2. **Alert latency.** Under `aibomd daemon --policy` with an `alert` rule, [`ALERTS`]
//!    fresh files that break it are opened one at a time; the latency is from the open
//!    to the `aibom.policy.violation` line in the daemon's JSON Lines output.
//!
//! ```sh
//! cargo bench -p aibomd --bench policy      # needs root
//! ```
//! Started without `--bench` (e.g. by `cargo test --all-targets`) it does nothing.

#[path = "report.rs"]
mod report;
use report::{median, print_table, ratio};

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Opens timed per configuration and repetition.
const OPENS: usize = 2000;
/// Repetitions (interleaved).
const REPS: usize = 5;
/// Violating files opened for the latency table.
const ALERTS: usize = 30;

fn main() -> Result<()> {
    if !report::root_bench("policy", "eBPF and fanotify permission events")? {
        return Ok(());
    }
    let tmp = tempfile::Builder::new()
        .prefix("aibomd-bench-policy-")
        .tempdir_in("/tmp")?;
    let dir = std::fs::canonicalize(tmp.path())?;
    let marked = dir.join("marked");
    let unmarked = dir.join("unmarked");
    for d in [&marked, &unmarked] {
        std::fs::create_dir_all(d)?;
        std::fs::write(d.join("model.gguf"), gguf_bytes())?;
    }
    println!("# policy bench\n");
    open_cost(&dir, &marked, &unmarked)?;
    alert_latency(&dir)?;
    Ok(())
}

/// A GGUF header (version 3, no tensors, no metadata): enough to be sniffed as GGUF.
fn gguf_bytes() -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend(0u64.to_le_bytes());
    b.extend(0u64.to_le_bytes());
    b
}

/// A running `aibomd daemon`, stopped (SIGTERM, drained) on drop.
struct Daemon(Child);

impl Daemon {
    fn start(policy: &Path, events: &Path) -> Result<Self> {
        let mut c = Command::new(env!("CARGO_BIN_EXE_aibomd"))
            .args([
                "daemon",
                "--no-console",
                "--tracer",
                "ebpf",
                "--control-socket",
                "",
            ])
            .arg("--policy")
            .arg(policy)
            .arg("--events")
            .arg(events)
            .env("AIBOM_LOG", "error")
            .stderr(Stdio::piped())
            .spawn()?;
        let mut err = BufReader::new(c.stderr.take().context("stderr")?);
        let mut line = String::new();
        while !line.contains("aibomd: ready") {
            line.clear();
            if err.read_line(&mut line)? == 0 {
                bail!("aibomd daemon exited before it was ready");
            }
        }
        std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
        Ok(Self(c))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.0.wait();
    }
}

/// Nanoseconds of each open+close of `path`.
fn time_opens(path: &Path) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(OPENS);
    for _ in 0..OPENS {
        let t = Instant::now();
        drop(std::fs::File::open(path)?);
        out.push(t.elapsed().as_nanos() as f64);
    }
    Ok(out)
}

fn p99(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[(v.len() * 99 / 100).min(v.len() - 1)]
}

fn open_cost(dir: &Path, marked: &Path, unmarked: &Path) -> Result<()> {
    let policy = dir.join("deny.toml");
    std::fs::write(
        &policy,
        format!(
            "enforce_roots = [{:?}]\n[[rules]]\nname = \"no-pickles\"\nmatch = {{ \"aibom.artifact.format\" = [\"pickle\"] }}\naction = \"deny\"\n",
            marked.to_str().context("utf-8 path")?
        ),
    )?;
    // (label, daemon?, dir) -> medians and p99s over the repetitions
    let cases: [(&str, bool, &Path); 4] = [
        ("unmarked, no aibomd", false, unmarked),
        ("marked dir, no aibomd", false, marked),
        ("unmarked, aibomd deny policy", true, unmarked),
        ("marked dir, aibomd deny policy", true, marked),
    ];
    let mut med = vec![Vec::new(); cases.len()];
    let mut tail = vec![Vec::new(); cases.len()];
    for rep in 0..REPS {
        eprintln!("policy bench: open cost, repetition {}/{REPS}", rep + 1);
        for (i, (_, with_daemon, d)) in cases.iter().enumerate() {
            let daemon = if *with_daemon {
                Some(Daemon::start(&policy, Path::new("/dev/null"))?)
            } else {
                None
            };
            let mut v = time_opens(&d.join("model.gguf"))?;
            drop(daemon);
            med[i].push(median(&v));
            tail[i].push(p99(&mut v));
        }
    }
    println!("## Open cost ({OPENS} opens × {REPS} repetitions, allowed file)\n");
    let base = median(&med[0]);
    let rows: Vec<Vec<String>> = cases
        .iter()
        .enumerate()
        .map(|(i, (label, _, _))| {
            let m = median(&med[i]);
            vec![
                label.to_string(),
                format!("{:.1}", m / 1000.0),
                format!("{:.1}", median(&tail[i]) / 1000.0),
                ratio(m, base),
            ]
        })
        .collect();
    print_table(
        &[
            "configuration",
            "median µs/open",
            "p99 µs/open",
            "vs unmarked, no aibomd",
        ],
        &rows,
    );
    println!();
    Ok(())
}

fn alert_latency(dir: &Path) -> Result<()> {
    let policy = dir.join("alert.toml");
    std::fs::write(
        &policy,
        "[[rules]]\nname = \"no-gguf-here\"\ndeny = { \"aibom.artifact.format\" = [\"gguf\"] }\naction = \"alert\"\n",
    )?;
    let events = dir.join("alerts.jsonl");
    let files: Vec<PathBuf> = (0..ALERTS)
        .map(|i| dir.join(format!("alerts/m{i}.gguf")))
        .collect();
    std::fs::create_dir_all(dir.join("alerts"))?;
    for f in &files {
        std::fs::write(f, gguf_bytes())?;
    }
    let daemon = Daemon::start(&policy, &events)?;
    let mut lat = Vec::new();
    for f in &files {
        let t = Instant::now();
        drop(std::fs::File::open(f)?);
        let name = f.to_str().context("utf-8")?;
        loop {
            let text = std::fs::read_to_string(&events).unwrap_or_default();
            if text
                .lines()
                .any(|l| l.contains(aibom_semconv::event::POLICY_VIOLATION) && l.contains(name))
            {
                break;
            }
            if t.elapsed() > Duration::from_secs(10) {
                bail!("no violation for {name} within 10 s");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    drop(daemon);
    let m = median(&lat);
    let worst = lat.iter().copied().fold(0.0, f64::max);
    println!("## Alert latency (open → `aibom.policy.violation` in JSON Lines, {ALERTS} files)\n");
    print_table(
        &["median ms", "max ms"],
        &[vec![format!("{m:.0}"), format!("{worst:.0}")]],
    );
    Ok(())
}

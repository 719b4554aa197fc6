//! The cost of tracing io_uring opens (`ebpf/indirect.bpf.h`) to a program that uses io_uring.
//!
//! `tests/indirect/uring_open.c -t N PATH` (built with clang) times N io_uring opens of PATH
//! (each closed with close(2)) and N no-op requests, per request. It runs untraced and under
//! `aibomd daemon --events /dev/null` (the whole host traced: the io_uring programs see every
//! request), by turns, REPS times; medians. PATH is an irrelevant file (dropped by the
//! in-kernel filter at submission) and a model file (an event per open). No-op requests pay
//! the submit program's opcode test and the completion program's lookup; `getppid(2)` is the
//! floor every syscall pays once the daemon's syscall tracepoints are on (io_uring_enter(2)
//! included).
//!
//! ```sh
//! cargo bench -p aibomd --bench uring      # needs root
//! AIBOM_BENCH_URING_OPS=50000 cargo bench -p aibomd --bench uring
//! ```
#[path = "host_daemon.rs"]
mod host_daemon;
#[path = "report.rs"]
mod report;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

const REPS: usize = 5;

fn main() -> Result<()> {
    if !report::root_bench("uring", "eBPF")? {
        return Ok(());
    }
    let n = report::count_from_env("AIBOM_BENCH_URING_OPS", 200_000)?;
    let tmp = tempfile::Builder::new()
        .prefix("aibomd-bench-uring-")
        .tempdir_in("/tmp")?;
    let dir = std::fs::canonicalize(tmp.path())?;
    let bin = build(&dir)?;
    let files = [
        ("irrelevant.txt", "open, irrelevant file"),
        ("model.safetensors", "open, model file"),
    ];
    for (f, _) in &files {
        std::fs::write(dir.join(f), b"0123456789")?;
    }
    // (open ns, nop ns) per file, untraced and traced
    let mut samples = vec![[Vec::new(), Vec::new()]; files.len()];
    let mut nops = [Vec::new(), Vec::new()];
    let mut syscalls = [Vec::new(), Vec::new()];
    for rep in 0..REPS {
        eprintln!("uring bench: repetition {}/{REPS}", rep + 1);
        for traced in [false, true] {
            let daemon = traced
                .then(|| host_daemon::Daemon::start(&[]))
                .transpose()?;
            for (i, (f, _)) in files.iter().enumerate() {
                let (open, nop, sys) = time(&bin, n, &dir.join(f))?;
                samples[i][traced as usize].push(open);
                nops[traced as usize].push(nop);
                syscalls[traced as usize].push(sys);
            }
            drop(daemon);
        }
    }
    println!("# uring bench\n");
    println!("## Per io_uring request ({REPS} repetitions, medians; N = {n})\n");
    let row = |label: &str, s: &[Vec<f64>; 2]| {
        let (a, b) = (report::median(&s[0]), report::median(&s[1]));
        vec![
            label.to_string(),
            format!("{:.2}", a / 1000.0),
            format!("{:.2}", b / 1000.0),
            format!("{:+.2}", (b - a) / 1000.0),
            report::ratio(b, a),
        ]
    };
    let mut rows: Vec<Vec<String>> = files
        .iter()
        .zip(&samples)
        .map(|((_, label), s)| row(label, s))
        .collect();
    rows.push(row("no-op request", &nops));
    rows.push(row("getppid(2), for scale", &syscalls));
    report::print_table(
        &[
            "request",
            "µs, no aibomd",
            "µs, aibomd daemon",
            "Δ µs",
            "ratio",
        ],
        &rows,
    );
    Ok(())
}

/// Builds the timing client into `dir`.
fn build(dir: &Path) -> Result<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/indirect/uring_open.c");
    let bin = dir.join("uring_open");
    let st = Command::new(std::env::var("CLANG").unwrap_or_else(|_| "clang".into()))
        .args(["-O2", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .context("running clang")?;
    if !st.success() {
        bail!("clang failed on {}", src.display());
    }
    Ok(bin)
}

/// One timed run: (ns per open, ns per no-op, ns per getppid).
fn time(bin: &Path, n: u64, file: &Path) -> Result<(f64, f64, f64)> {
    let out = Command::new(bin)
        .arg("-t")
        .arg(n.to_string())
        .arg(file)
        .output()?;
    if !out.status.success() {
        bail!(
            "{}: {}",
            bin.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |k: &str| -> Result<f64> {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .with_context(|| format!("no {k} in {text:?}"))?
            .parse()
            .context("not a number")
    };
    Ok((field("open_ns=")?, field("nop_ns=")?, field("syscall_ns=")?))
}

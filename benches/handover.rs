//! What the hand-over to `aibomd run` (README "Once at the store") costs every process on
//! the host: with the map pinned, each traced event's `is_traced` check looks the process
//! up in `DEFERRED` (empty unless a run holds something), and forks and exits look too.
//!
//! N opens (and closes) of an irrelevant file, timed in this process: untraced, under
//! `aibomd daemon` with `[ebpf] defer_pin = ""` (no hand-over: the lookups are skipped), and
//! under the default daemon; by turns, REPS times; medians.
//!
//! ```sh
//! cargo bench -p aibomd --bench handover      # needs root
//! AIBOM_BENCH_HANDOVER_OPS=200000 cargo bench -p aibomd --bench handover
//! ```
#[path = "host_daemon.rs"]
mod host_daemon;
#[path = "report.rs"]
mod report;

use std::ffi::CString;
use std::time::Instant;

use anyhow::{bail, Result};

const REPS: usize = 5;

/// Variables the daemon starts with (`None`: no daemon).
type DaemonEnv<'a> = Option<&'a [(&'a str, &'a str)]>;

fn main() -> Result<()> {
    if !report::root_bench("handover", "eBPF")? {
        return Ok(());
    }
    let n = report::count_from_env("AIBOM_BENCH_HANDOVER_OPS", 1_000_000)?;
    let tmp = tempfile::Builder::new()
        .prefix("aibomd-bench-handover-")
        .tempdir_in("/tmp")?;
    let file = tmp.path().join("irrelevant.txt");
    std::fs::write(&file, b"0123456789")?;
    let path = CString::new(file.as_os_str().as_encoded_bytes())?;
    let modes: [(&str, DaemonEnv); 3] = [
        ("no aibomd", None),
        (
            "daemon, defer_pin = \"\"",
            Some(&[("AIBOM_EBPF__DEFER_PIN", "")]),
        ),
        ("daemon, hand-over map pinned", Some(&[])),
    ];
    let mut samples = vec![Vec::new(); modes.len()];
    for rep in 0..REPS {
        eprintln!("handover bench: repetition {}/{REPS}", rep + 1);
        for (i, (_, env)) in modes.iter().enumerate() {
            let daemon = env.map(host_daemon::Daemon::start).transpose()?;
            samples[i].push(time_opens(&path, n)?);
            drop(daemon);
        }
    }
    println!("# handover bench\n");
    println!(
        "## open(2) + close(2) of an irrelevant file ({REPS} repetitions, medians; N = {n})\n"
    );
    let base = report::median(&samples[1]);
    let rows: Vec<Vec<String>> = modes
        .iter()
        .zip(&samples)
        .map(|((label, _), s)| {
            let m = report::median(s);
            vec![label.to_string(), format!("{m:.0}"), report::ratio(m, base)]
        })
        .collect();
    report::print_table(
        &["host", "ns per open", "ratio to the daemon without"],
        &rows,
    );
    Ok(())
}

/// ns per open+close of `path`, over `n`.
fn time_opens(path: &CString, n: u64) -> Result<f64> {
    let t = Instant::now();
    for _ in 0..n {
        // SAFETY: a valid NUL-terminated path; the descriptor is closed at once.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };
        if fd < 0 {
            bail!("open: {}", std::io::Error::last_os_error());
        }
        unsafe { libc::close(fd) };
    }
    Ok(t.elapsed().as_nanos() as f64 / n as f64)
}

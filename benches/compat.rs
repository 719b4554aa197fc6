//! The cost of tracing 32-bit compat opens (`ebpf/compat.bpf.h`) to every system call.
//!
//! The compat programs sit on the raw `sys_enter`/`sys_exit` tracepoints, so every system
//! call on the host runs them: a number compare at the enter (plus a read of the task's
//! compat bit for the few native calls that share a compat open's number: `fstat`,
//! `lseek`, `munmap`, `preadv`, `openat2`) and a read of the compat bit at the exit. This
//! bench times, in this process, `getppid(2)` (no number match), `fstat(2)` (a number
//! match) and `openat(2)`+`close(2)` of an irrelevant file, N times each: untraced, under
//! `aibomd daemon` with `[ebpf] compat_syscalls = false`, and with it on (the default), by
//! turns, REPS times; medians. The second column is the baseline of the ratio: what the
//! compat programs add to a daemon that already traces opens.
//!
//! ```sh
//! cargo bench -p aibomd --bench compat      # needs root
//! AIBOM_BENCH_COMPAT_OPS=2000000 cargo bench -p aibomd --bench compat
//! ```
#[path = "host_daemon.rs"]
mod host_daemon;
#[path = "report.rs"]
mod report;

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Result};

const REPS: usize = 5;
const CALLS: [&str; 3] = [
    "getppid(2)",
    "fstat(2)",
    "openat(2)+close(2), irrelevant file",
];

fn main() -> Result<()> {
    if !report::root_bench("compat", "eBPF")? {
        return Ok(());
    }
    let n = report::count_from_env("AIBOM_BENCH_COMPAT_OPS", 1_000_000)?;
    let tmp = tempfile::Builder::new()
        .prefix("aibomd-bench-compat-")
        .tempdir_in("/tmp")?;
    let file = tmp.path().join("irrelevant.txt");
    std::fs::write(&file, b"0123456789")?;
    let modes: [(&str, Option<&str>); 3] = [
        ("no aibomd", None),
        ("daemon, compat off", Some("false")),
        ("daemon, compat on", Some("true")),
    ];
    // samples[call][mode]
    let mut samples = vec![vec![Vec::new(); modes.len()]; CALLS.len()];
    for rep in 0..REPS {
        eprintln!("compat bench: repetition {}/{REPS}", rep + 1);
        for (m, (_, compat)) in modes.iter().enumerate() {
            let daemon = compat
                .map(|c| host_daemon::Daemon::start(&[("AIBOM_EBPF__COMPAT_SYSCALLS", c)]))
                .transpose()?;
            for (c, ns) in time(n, &file)?.into_iter().enumerate() {
                samples[c][m].push(ns);
            }
            drop(daemon);
        }
    }
    println!("# compat bench\n");
    println!("## ns per system call ({REPS} repetitions, medians; N = {n})\n");
    let rows: Vec<Vec<String>> = CALLS
        .iter()
        .zip(&samples)
        .map(|(label, s)| {
            let [a, off, on] = [0, 1, 2].map(|m| report::median(&s[m]));
            vec![
                label.to_string(),
                format!("{a:.0}"),
                format!("{off:.0}"),
                format!("{on:.0}"),
                format!("{:+.0}", on - off),
                report::ratio(on, off),
            ]
        })
        .collect();
    let heads: Vec<&str> = modes.iter().map(|(h, _)| *h).collect();
    report::print_table(
        &[
            "call",
            heads[0],
            heads[1],
            heads[2],
            "Δ ns (on − off)",
            "ratio (on/off)",
        ],
        &rows,
    );
    Ok(())
}

/// ns per call of each of [`CALLS`], `n` calls each.
fn time(n: u64, file: &Path) -> Result<[f64; 3]> {
    let path = CString::new(file.as_os_str().as_bytes())?;
    let fd = std::fs::File::open(file)?;
    let fd = std::os::fd::AsRawFd::as_raw_fd(&fd);
    let per = |start: Instant| start.elapsed().as_nanos() as f64 / n as f64;
    let t = Instant::now();
    for _ in 0..n {
        // SAFETY: getppid has no arguments and cannot fail
        std::hint::black_box(unsafe { libc::getppid() });
    }
    let getppid = per(t);
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let t = Instant::now();
    for _ in 0..n {
        // SAFETY: fd is open for the whole loop and st is a valid stat buffer
        if unsafe { libc::fstat(fd, &mut st) } != 0 {
            bail!("fstat: {}", std::io::Error::last_os_error());
        }
    }
    let fstat = per(t);
    let t = Instant::now();
    for _ in 0..n {
        // SAFETY: path is a NUL-terminated string; the descriptor is closed at once
        let f = unsafe { libc::openat(libc::AT_FDCWD, path.as_ptr(), libc::O_RDONLY) };
        if f < 0 {
            bail!("openat: {}", std::io::Error::last_os_error());
        }
        unsafe { libc::close(f) };
    }
    Ok([getppid, fstat, per(t)])
}

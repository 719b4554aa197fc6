//! # `unsafe_scan`: how fast is the scan for dangerous pickle imports, next to hashing?
//!
//! A plain `harness = false` benchmark that prints a Markdown table on stdout. Python's
//! real `pickle` (`AIBOM_TEST_PYTHON`, default `.venv/bin/python`) writes the files, in
//! the page cache: *opcode-dense* (`pickle.dumps(list(range(N)))` plus short strings: every
//! byte is an opcode or argument, the scanner's worst case) and *tensor payload* (a legacy
//! PyTorch-style state dict whose 256 MiB of weights are one `BINBYTES8`, skipped by
//! seeking). Each file is scanned by `unsafe_scan::scan` and hashed by `sha256_file` (the
//! baseline: what the hash workers do to every artifact anyway), interleaved over
//! [`REPS`] repetitions; the table gives medians, MB/s of the file's size and the ratio
//! of scan time to hash time.
//!
//! ```sh
//! cargo bench -p aibomd --bench unsafe_scan
//! ```
//!
//! Started without `--bench` (e.g. by `cargo test --all-targets`) it does nothing.

#[path = "report.rs"]
mod report;
use report::{median, print_table, ratio};

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use aibomd::identify::hash::sha256_file;
use aibomd::identify::unsafe_scan::{scan, DEFAULT_MAX_BYTES};
use anyhow::{ensure, Context, Result};

const REPS: usize = 5;

const MAKE: &str = r#"
import os, pickle, sys
out = sys.argv[1]
with open(os.path.join(out, "dense.pkl"), "wb") as f:
    pickle.dump([list(range(6_000_000)), [str(i) for i in range(1_000_000)]], f, protocol=4)
with open(os.path.join(out, "payload.pt"), "wb") as f:
    for part in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
        pickle.dump(part, f, protocol=2)
    pickle.dump({"weight": os.urandom(256 << 20)}, f, protocol=4)
    pickle.dump(["0"], f, protocol=2)
"#;

fn python() -> PathBuf {
    std::env::var_os("AIBOM_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"))
}

fn main() -> Result<()> {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("unsafe_scan: skipped; run it with `cargo bench -p aibomd --bench unsafe_scan`");
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let out = Command::new(python())
        .args(["-c", MAKE])
        .arg(dir.path())
        .output()
        .context("run python")?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rows = Vec::new();
    for (label, name) in [
        ("opcode-dense pickle", "dense.pkl"),
        ("tensor payload (legacy .pt)", "payload.pt"),
    ] {
        let p = dir.path().join(name);
        let size = std::fs::metadata(&p)?.len();
        let _ = sha256_file(&p, None); // into the page cache
        let (mut scans, mut hashes) = (Vec::new(), Vec::new());
        for _ in 0..REPS {
            let f = File::open(&p)?;
            let t = Instant::now();
            let v = scan(&f, size, name, DEFAULT_MAX_BYTES);
            scans.push(t.elapsed().as_secs_f64());
            ensure!(v.error.is_none() && v.callables.is_empty(), "{name}: {v:?}");
            let t = Instant::now();
            sha256_file(&p, None).map_err(anyhow::Error::msg)?;
            hashes.push(t.elapsed().as_secs_f64());
        }
        let (s, h) = (median(&scans), median(&hashes));
        let mbs = |secs: f64| format!("{:.0}", size as f64 / secs / 1e6);
        rows.push(vec![
            label.to_string(),
            format!("{:.1}", size as f64 / 1e6),
            format!("{:.1}", s * 1e3),
            mbs(s),
            format!("{:.1}", h * 1e3),
            mbs(h),
            ratio(s, h),
        ]);
    }
    println!("## Unsafe-import scan vs sha256 (page cache, median of {REPS})\n");
    print_table(
        &[
            "file",
            "MB",
            "scan ms",
            "scan MB/s",
            "sha256 ms",
            "sha256 MB/s",
            "scan / sha256",
        ],
        &rows,
    );
    Ok(())
}

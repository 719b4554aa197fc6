//! # `identify`: how fast does aibomd normalize, identify and hash?
//!
//! A plain `harness = false` benchmark that prints a Markdown report on stdout
//! (progress goes to stderr). Every ratio is against a baseline measured in the
//! same run, and the configurations are interleaved repetition by repetition,
//! so slow drift of the host hits all of them alike. No tracing is involved:
//! the bench feeds synthetic tracer events (for its own pid, on real files it
//! writes to a temporary directory) straight into the library, so it needs no
//! root.
//!
//! 1. **Normalization throughput.** `Pipeline::handle` with dedup off
//!    (`dedup_window_ms = 0`, so every access goes through normalize →
//!    identify → sinks), a counting sink, and `Pipeline::tick` every 200 ms as
//!    `pipeline::run` does:
//!    - *cache hit*: the same 100 files (half safetensors, half GGUF, with
//!      real headers) accessed [`HIT_ROUNDS`] times each, after a warm-up
//!      access that identified and hashed them;
//!    - *cache miss*: [`DEFAULT_MISS_FILES`] distinct files (100 per
//!      directory) accessed once each: every access sniffs a header, resolves
//!      provider, class and license, and queues a hash. Reported for `handle`
//!      alone, for `handle` + `finish` (every hash done and every
//!      `identified` record out), and for the first quarter of the files
//!      alone (does the cost per miss grow with the artifacts known?).
//!
//!    The baseline is `normalize()` alone on the cache-hit accesses. CPU time
//!    of all threads is reported next to wall time, and a second table times
//!    each stage of a cache-miss identification alone.
//! 2. **sha256 throughput.** A 1 GiB file of pseudo-random bytes, hashed by
//!    aibomd's `sha256_file` (in this process), by `sha256sum` and by
//!    `openssl dgst -sha256` (when installed), with the file in the page cache
//!    (CPU speed) and evicted from it before every run (`posix_fadvise
//!    DONTNEED`, checked with `mincore`; disk + CPU).
//! 3. **RSS while hashing.** A child process (this binary, started as
//!    `identify --hash-child PATH`) hashes a 4 GiB file with `sha256_file`;
//!    the parent samples its `VmRSS` every 50 ms. Streaming hashing must keep
//!    it flat.
//!
//! The big files are deleted after their section.
//!
//! ## Running
//!
//! ```sh
//! cargo bench -p aibomd --bench identify
//! AIBOM_BENCH_MISS_FILES=50000 cargo bench -p aibomd --bench identify
//! ```
//!
//! Needs about 5 GiB free in the temporary directory. Started without
//! `--bench` (e.g. by `cargo test --all-targets`) it does nothing.

#[path = "report.rs"]
mod report;
use report::{group, median, parse_count, print_table, ratio};

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::hint::black_box;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use aibomd::attribute::Attributor;
use aibomd::export::Sink;
use aibomd::identify::hash::sha256_file;
use aibomd::identify::provider::{self, HubEnv};
use aibomd::identify::{classify, format, license};
use aibomd::model::{AccessMode, AccessRecord, FileVersion, RawAccess, RecordKind, TraceEvent};
use aibomd::normalize::Normalizer;
use aibomd::pipeline::Pipeline;
use aibomd::pipeline::PipelineConfig;
use aibomd::stats::Stats;
use aibomd::tracer::Batch;
use anyhow::{bail, ensure, Context, Result};

/// Repetitions of every timed measurement; tables show the median.
const REPS: usize = 3;
/// Files of the cache-hit set.
const HIT_FILES: usize = 100;
/// Accesses of each cache-hit file per run (100 × 1,000 = 100,000 accesses).
const HIT_ROUNDS: usize = 1_000;
/// Distinct files of the cache-miss set unless `AIBOM_BENCH_MISS_FILES` says otherwise.
const DEFAULT_MISS_FILES: usize = 10_000;
/// Cache-miss files per directory.
const FILES_PER_DIR: usize = 100;
/// Events per batch handed to the pipeline (the eBPF reader sends what it drained).
const BATCH: usize = 1024;
/// `pipeline::run` ticks this often.
const TICK: Duration = Duration::from_millis(200);
/// Tensor bytes in each small artifact.
const TENSOR_BYTES: usize = 4096;
const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;
/// Size of the file of section 2.
const HASH_FILE_BYTES: u64 = GIB;
/// Size of the file of section 3.
const RSS_FILE_BYTES: u64 = 4 * GIB;
/// VmRSS sampling period of section 3.
const RSS_SAMPLE: Duration = Duration::from_millis(50);

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--hash-child") {
        return hash_child(&args[2..]);
    }
    // `cargo bench` passes --bench; `cargo test --all-targets` does not.
    if !args.iter().any(|a| a == "--bench") {
        eprintln!("identify: skipped; run it with `cargo bench -p aibomd --bench identify`");
        return Ok(());
    }
    let started = Instant::now();
    let bench = Bench::new()?;
    bench.print_header();
    bench.normalization()?;
    bench.sha256_throughput()?;
    bench.rss_while_hashing()?;
    println!(
        "\nBench wall time: {:.1} s; load average at end: {}",
        started.elapsed().as_secs_f64(),
        fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Child side: hash one big file while the parent watches the RSS.
// ---------------------------------------------------------------------------

/// `--hash-child PATH`: prints `ready`, waits 200 ms (the parent samples the
/// idle RSS), prints `start`, hashes PATH with `sha256_file`, prints
/// `done <sha256> <ns>`, then waits for stdin to close (the parent samples the
/// RSS after hashing).
fn hash_child(args: &[String]) -> Result<()> {
    let [path] = args else {
        bail!("usage: identify --hash-child PATH");
    };
    let path = Path::new(path);
    let mut out = std::io::stdout();
    writeln!(out, "ready")?;
    out.flush()?;
    thread::sleep(Duration::from_millis(200));
    writeln!(out, "start")?;
    out.flush()?;
    let t = Instant::now();
    let sha = sha256_file(path, Some(FileVersion::of(path)?)).map_err(anyhow::Error::msg)?;
    writeln!(out, "done {sha} {}", t.elapsed().as_nanos())?;
    out.flush()?;
    let mut rest = Vec::new();
    std::io::stdin().read_to_end(&mut rest)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Parent side.
// ---------------------------------------------------------------------------

/// Paths and settings shared by all sections.
struct Bench {
    /// This binary, re-run as the hashing child.
    exe: PathBuf,
    /// Keeps the scratch directory alive; removed on drop.
    tmp: tempfile::TempDir,
    miss_files: usize,
}

impl Bench {
    fn new() -> Result<Self> {
        let miss_files = match std::env::var("AIBOM_BENCH_MISS_FILES") {
            Ok(v) => parse_count(&v).context("AIBOM_BENCH_MISS_FILES")? as usize,
            Err(_) => DEFAULT_MISS_FILES,
        };
        ensure!(miss_files > 0, "AIBOM_BENCH_MISS_FILES must be positive");
        let exe = std::env::current_exe()?;
        let tmp = tempfile::Builder::new().prefix("identify").tempdir()?;
        Ok(Bench {
            exe,
            tmp,
            miss_files,
        })
    }

    fn print_header(&self) {
        let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let cpus = thread::available_parallelism().map_or(0, |n| n.get());
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|s| s.trim_start_matches([' ', '\t', ':']).to_owned())
            .unwrap_or_else(|| "unknown".into());
        let sha_ni = cpuinfo
            .lines()
            .find(|l| l.starts_with("flags"))
            .is_some_and(|l| l.split_whitespace().any(|f| f == "sha_ni"));
        let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let fs_type = fs_type(self.tmp.path());

        println!("# aibomd identify benchmark\n");
        println!(
            "- date: {}",
            chrono::Local::now().format("%Y-%m-%d %H:%M:%S %z")
        );
        println!("- kernel: {}", kernel.trim());
        println!(
            "- CPUs: {cpus} ({model}), SHA extensions (sha_ni): {}",
            if sha_ni { "yes" } else { "no" }
        );
        println!("- load average at start: {}", load.trim());
        println!(
            "- scratch directory: {} ({fs_type})",
            self.tmp.path().display()
        );
        println!("- median of {REPS} runs unless stated, min–max in parentheses");
    }

    /// Section 1: accesses per second through the userspace pipeline.
    fn normalization(&self) -> Result<()> {
        progress(format_args!(
            "writing {HIT_FILES} + {} small artifacts",
            group(self.miss_files as u64)
        ));
        let hit_dir = self.tmp.path().join("hit");
        fs::create_dir_all(&hit_dir)?;
        let hit: Vec<PathBuf> = (0..HIT_FILES)
            .map(|i| write_artifact(&hit_dir, i))
            .collect::<Result<_>>()?;
        let miss: Vec<PathBuf> = (0..self.miss_files)
            .map(|i| {
                let dir = self
                    .tmp
                    .path()
                    .join("miss")
                    .join(format!("d{:04}", i / FILES_PER_DIR));
                fs::create_dir_all(&dir)?;
                write_artifact(&dir, i)
            })
            .collect::<Result<_>>()?;
        let hit_raw: Vec<RawAccess> = hit.iter().map(|p| raw_access(p)).collect::<Result<_>>()?;
        let miss_raw: Vec<RawAccess> = miss.iter().map(|p| raw_access(p)).collect::<Result<_>>()?;
        let hit_n = HIT_FILES * HIT_ROUNDS;

        // Untimed: page in the code paths, the dentry and inode caches.
        progress(format_args!("normalization warm-up"));
        run_miss(&miss_raw)?;

        // Per-access seconds, wall and CPU (all threads of this process).
        let mut wall: [Vec<f64>; 5] = Default::default();
        let mut cpu: [Vec<f64>; 5] = Default::default();
        // A quarter of the cache-miss set: does the cost per miss grow with the
        // number of artifacts known?
        let quarter = &miss_raw[..miss_raw.len().div_ceil(4)];
        let mut stages: Vec<(&'static str, Vec<f64>)> = Vec::new();
        let mut miss_counts = Vec::new();
        let mut hit_formats = BTreeMap::new();
        let n_miss = miss_raw.len() as f64;
        for rep in 1..=REPS {
            progress(format_args!("normalization rep {rep}/{REPS}"));
            let t = run_normalize_only(&hit_raw, HIT_ROUNDS);
            t.push_per(&mut wall[0], &mut cpu[0], hit_n as f64);
            let (t, counts) = run_hit(&hit_raw)?;
            t.push_per(&mut wall[1], &mut cpu[1], hit_n as f64);
            hit_formats = counts.formats();
            let (handle, finish, counts) = run_miss(&miss_raw)?;
            handle.push_per(&mut wall[2], &mut cpu[2], n_miss);
            handle
                .plus(finish)
                .push_per(&mut wall[3], &mut cpu[3], n_miss);
            miss_counts.push(counts);
            let (handle, _, _) = run_miss(quarter)?;
            handle.push_per(&mut wall[4], &mut cpu[4], quarter.len() as f64);
            progress(format_args!("cache-miss stages rep {rep}/{REPS}"));
            for (i, (label, secs)) in miss_stages(&miss_raw)?.into_iter().enumerate() {
                if stages.len() <= i {
                    stages.push((label, Vec::new()));
                }
                stages[i].1.push(secs / n_miss);
            }
        }

        println!("\n## 1. Normalization throughput (dedup off, one access = one record)\n");
        let b = median(&wall[0]);
        let labels = [
            "`normalize()` only, cache-hit files (baseline)".to_owned(),
            format!("`Pipeline::handle`, cache hit ({HIT_FILES} files × {HIT_ROUNDS})"),
            format!(
                "`Pipeline::handle`, cache miss ({} distinct files)",
                group(miss_raw.len() as u64)
            ),
            "  … + `finish()` (all hashes and `identified` records)".to_owned(),
            format!(
                "`Pipeline::handle`, cache miss, first {} files only",
                group(quarter.len() as u64)
            ),
        ];
        let counts = [hit_n, hit_n, miss_raw.len(), miss_raw.len(), quarter.len()];
        let rows: Vec<Vec<String>> = (0..labels.len())
            .map(|i| {
                let m = median(&wall[i]);
                vec![
                    labels[i].clone(),
                    group(counts[i] as u64),
                    range_prec(&wall[i], 1e6, 2),
                    group((1.0 / m).round() as u64),
                    ratio(m, b),
                    range_prec(&cpu[i], 1e6, 2),
                ]
            })
            .collect();
        print_table(
            &[
                "configuration",
                "accesses",
                "µs/access (min–max)",
                "accesses/s",
                "vs normalize() only",
                "CPU µs/access, all threads (min–max)",
            ],
            &rows,
        );

        println!(
            "\nWhere a cache miss goes: each stage of `Identifier::identify` alone, on the \
             same {} files, one thread, µs per file:\n",
            group(miss_raw.len() as u64)
        );
        let total: f64 = stages.iter().map(|(_, s)| median(s)).sum();
        let miss_b = median(&wall[2]);
        let mut rows: Vec<Vec<String>> = stages
            .iter()
            .map(|(label, s)| {
                vec![
                    (*label).to_owned(),
                    range_prec(s, 1e6, 2),
                    format!("{:.0}%", 100.0 * median(s) / total),
                ]
            })
            .collect();
        rows.push(vec![
            "sum of the stages".into(),
            format!("{:.2}", total * 1e6),
            "100%".into(),
        ]);
        rows.push(vec![
            "`Pipeline::handle`, cache miss (from the table above)".into(),
            format!("{:.2}", miss_b * 1e6),
            format!("{:.0}%", 100.0 * miss_b / total),
        ]);
        print_table(&["stage", "µs/file (min–max)", "share of sum"], &rows);

        let c = miss_counts.last().expect("REPS > 0");
        println!(
            "\nCache-miss run (last rep): {} access records, {} `identified` records ({} with \
             sha256, {} with sha256_error), {} format errors; formats {:?}. Cache-hit formats: \
             {:?}, hashes done in the warm-up.",
            group(Counts::get(&c.access)),
            group(Counts::get(&c.identified)),
            group(Counts::get(&c.sha)),
            group(Counts::get(&c.sha_error)),
            group(Counts::get(&c.format_error)),
            c.formats(),
            hit_formats
        );
        if let Some(e) = c.first_sha_error.lock().expect("lock").as_deref() {
            println!("\nFirst sha256_error: {e:?}");
        }
        println!(
            "\nEvery run uses a new `Pipeline` (empty aibomd caches); the OS caches are warm \
             (one untimed cache-miss run first). Events are synthetic `RawAccess`es as the eBPF \
             tracer makes them (absolute path, dev+ino, the bench's own pid), {BATCH} per batch; \
             the pipeline ticks every {} ms as `pipeline::run` does. Files are safetensors and \
             GGUF files with real headers and {TENSOR_BYTES} B of tensor data.",
            TICK.as_millis()
        );
        fs::remove_dir_all(self.tmp.path().join("miss"))?;
        fs::remove_dir_all(&hit_dir)?;
        Ok(())
    }

    /// Section 2: sha256 GB/s, aibomd vs sha256sum (and openssl), warm and cold cache.
    fn sha256_throughput(&self) -> Result<()> {
        let path = self.tmp.path().join("big-1g.bin");
        progress(format_args!("writing {}", path.display()));
        write_big_file(&path, HASH_FILE_BYTES)?;
        let openssl = Command::new("openssl")
            .arg("version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
        let mut tools = vec![Tool::Aibomd, Tool::Sha256sum];
        if openssl.is_some() {
            tools.push(Tool::Openssl);
        }

        // [cache][tool] wall and CPU seconds; cache 0 = warm, 1 = cold.
        let mut secs: [Vec<Vec<f64>>; 2] = Default::default();
        let mut cpu: [Vec<Vec<f64>>; 2] = Default::default();
        for s in secs.iter_mut().chain(&mut cpu) {
            s.resize(tools.len(), Vec::new());
        }
        let mut digests = BTreeMap::new();
        let mut cold_resident = Vec::new();
        read_through(&path)?; // into the page cache
        for rep in 1..=REPS {
            for (ti, tool) in tools.iter().enumerate() {
                progress(format_args!(
                    "sha256 rep {rep}/{REPS}: {} warm",
                    tool.label()
                ));
                let resident = resident_fraction(&path)?;
                if resident < 0.99 {
                    read_through(&path)?;
                }
                let (took, used, sha) = tool.hash(&path)?;
                secs[0][ti].push(took.as_secs_f64());
                cpu[0][ti].push(used.as_secs_f64());
                digests.insert(sha, tool.label());

                progress(format_args!(
                    "sha256 rep {rep}/{REPS}: {} cold",
                    tool.label()
                ));
                evict(&path)?;
                cold_resident.push(resident_fraction(&path)?);
                let (took, used, sha) = tool.hash(&path)?;
                secs[1][ti].push(took.as_secs_f64());
                cpu[1][ti].push(used.as_secs_f64());
                digests.insert(sha, tool.label());
            }
        }
        fs::remove_file(&path)?;
        ensure!(
            digests.len() == 1,
            "the tools disagree on the digest: {digests:?}"
        );

        println!(
            "\n## 2. sha256 throughput: {} GiB file\n",
            HASH_FILE_BYTES / GIB
        );
        let gbps = |s: &[f64]| -> Vec<f64> {
            s.iter().map(|s| HASH_FILE_BYTES as f64 / s / 1e9).collect()
        };
        let mut rows = Vec::new();
        for (ci, cache) in ["warm (in page cache)", "cold (evicted)"]
            .iter()
            .enumerate()
        {
            let base = median(&gbps(&secs[ci][0]));
            for (ti, tool) in tools.iter().enumerate() {
                let g = gbps(&secs[ci][ti]);
                rows.push(vec![
                    tool.label().to_owned(),
                    (*cache).to_owned(),
                    range_prec(&g, 1.0, 2),
                    range_prec(&secs[ci][ti], 1e3, 0),
                    ratio(median(&g), base),
                    range_prec(&gbps(&cpu[ci][ti]), 1.0, 2),
                    format!(
                        "{:.0}%",
                        100.0 * median(&cpu[ci][ti]) / median(&secs[ci][ti])
                    ),
                ]);
            }
        }
        print_table(
            &[
                "hasher",
                "page cache",
                "GB/s (min–max)",
                "ms (min–max)",
                "GB/s vs aibomd",
                "GB per CPU-s (min–max)",
                "CPU / wall",
            ],
            &rows,
        );
        println!(
            "\nGB = 10^9 bytes. aibomd = `identify::hash::sha256_file` (1 MiB `read`s, `sha2` \
             crate) in this process; the others are child processes (start-up included, ~1 ms). \
             GB per CPU-s divides by the user+system CPU time of the hashing thread (aibomd) \
             or child (`getrusage`), so it does not depend on how much CPU the host left us; \
             CPU / wall below 100% means waiting for the disk or for a CPU. Warm: the file is fully in the page cache, so this compares CPU speed. Cold: \
             evicted with `posix_fadvise(DONTNEED)` before each run (resident after eviction: \
             max {:.1}%), so disk read speed counts too. All digests agreed{}.",
            cold_resident.iter().copied().fold(0.0, f64::max) * 100.0,
            openssl
                .map(|v| format!("; openssl is {v}"))
                .unwrap_or_default()
        );
        Ok(())
    }

    /// Section 3: the RSS of a process hashing a 4 GiB file.
    fn rss_while_hashing(&self) -> Result<()> {
        let path = self.tmp.path().join("big-4g.bin");
        progress(format_args!("writing {}", path.display()));
        write_big_file(&path, RSS_FILE_BYTES)?;
        let mut rows = Vec::new();
        let mut digests = Vec::new();
        for rep in 1..=REPS {
            progress(format_args!("rss rep {rep}/{REPS}"));
            let r = self.rss_run(&path)?;
            digests.push(r.sha.clone());
            rows.push(vec![
                rep.to_string(),
                format!("{:.1}", r.start_kib as f64 / 1024.0),
                format!("{:.1}", r.peak_kib as f64 / 1024.0),
                format!("{:.1}", r.end_kib as f64 / 1024.0),
                format!("{:.1}", r.hwm_kib as f64 / 1024.0),
                r.samples.to_string(),
                format!("{:.2}", r.hash.as_secs_f64()),
                format!("{:.2}", RSS_FILE_BYTES as f64 / r.hash.as_secs_f64() / 1e9),
            ]);
        }
        fs::remove_file(&path)?;
        ensure!(
            digests.windows(2).all(|w| w[0] == w[1]),
            "digests differ between runs: {digests:?}"
        );
        println!(
            "\n## 3. RSS while hashing a {} GiB file (`sha256_file` in a child process)\n",
            RSS_FILE_BYTES / GIB
        );
        print_table(
            &[
                "run",
                "RSS before MiB",
                "peak sampled RSS MiB",
                "RSS after MiB",
                "VmHWM MiB",
                "samples",
                "hash s",
                "GB/s",
            ],
            &rows,
        );
        println!(
            "\nVmRSS sampled from /proc/PID/status every {} ms: before = idle child before \
             hashing, peak = highest sample while hashing, after = last sample once the hash \
             is done. VmHWM is the kernel's peak over the child's whole life. The file was just \
             written, so part of it may be in the page cache (page cache is not RSS).",
            RSS_SAMPLE.as_millis()
        );
        Ok(())
    }

    fn rss_run(&self, path: &Path) -> Result<RssRun> {
        let mut child = Command::new(&self.exe)
            .arg("--hash-child")
            .arg(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("spawning the hashing child")?;
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let pid = child.id();
        let deadline = Instant::now() + Duration::from_secs(600);
        enum Phase {
            Spawned,
            Ready,
            Hashing,
            Done(Instant),
        }
        let mut phase = Phase::Spawned;
        let (mut start_kib, mut peak_kib, mut samples) = (0, 0, 0);
        let mut end_kib;
        let mut result = None;
        loop {
            for line in rx.try_iter() {
                match line.split_whitespace().collect::<Vec<_>>()[..] {
                    ["ready"] => phase = Phase::Ready,
                    ["start"] => phase = Phase::Hashing,
                    ["done", sha, ns] => {
                        result = Some((sha.to_owned(), Duration::from_nanos(ns.parse()?)));
                        phase = Phase::Done(Instant::now());
                    }
                    _ => bail!("hashing child said {line:?}"),
                }
            }
            if let Ok(Some(st)) = child.try_wait() {
                bail!("hashing child exited early: {st}");
            }
            let kib = proc_status_kib(pid, "VmRSS:");
            samples += 1;
            match phase {
                Phase::Spawned => {}
                Phase::Ready => start_kib = start_kib.max(kib),
                Phase::Hashing => peak_kib = peak_kib.max(kib),
                Phase::Done(t) => {
                    end_kib = kib;
                    if t.elapsed() >= Duration::from_millis(200) {
                        break;
                    }
                }
            }
            ensure!(Instant::now() < deadline, "hashing child took too long");
            thread::sleep(RSS_SAMPLE);
        }
        let hwm_kib = proc_status_kib(pid, "VmHWM:");
        drop(child.stdin.take()); // the child exits at EOF
        let st = child.wait()?;
        ensure!(st.success(), "hashing child failed: {st}");
        let (sha, hash) = result.context("no digest")?;
        Ok(RssRun {
            start_kib,
            peak_kib: peak_kib.max(end_kib),
            end_kib,
            hwm_kib,
            samples,
            hash,
            sha,
        })
    }
}

/// What one RSS run saw.
struct RssRun {
    start_kib: u64,
    peak_kib: u64,
    end_kib: u64,
    hwm_kib: u64,
    samples: usize,
    hash: Duration,
    sha: String,
}

// ---------------------------------------------------------------------------
// Section 1 helpers.
// ---------------------------------------------------------------------------

/// What the counting sink saw.
#[derive(Default)]
struct Counts {
    access: AtomicU64,
    identified: AtomicU64,
    sha: AtomicU64,
    sha_error: AtomicU64,
    format_error: AtomicU64,
    formats: Mutex<BTreeMap<&'static str, u64>>,
    first_sha_error: Mutex<Option<String>>,
}

impl Counts {
    fn get(c: &AtomicU64) -> u64 {
        c.load(Relaxed)
    }

    fn formats(&self) -> BTreeMap<&'static str, u64> {
        self.formats.lock().expect("lock").clone()
    }
}

/// A sink that only counts, so the pipeline is measured, not an output format.
struct CountSink(Arc<Counts>);

impl Sink for CountSink {
    fn name(&self) -> &'static str {
        "count"
    }

    fn emit(&mut self, rec: &AccessRecord) -> Result<()> {
        let c = &self.0;
        let a = rec.artifact.as_ref();
        if rec.kind == RecordKind::Identified {
            c.identified.fetch_add(1, Relaxed);
            if a.is_some_and(|a| a.sha256.is_some()) {
                c.sha.fetch_add(1, Relaxed);
            }
            if let Some(e) = a.and_then(|a| a.sha256_error.as_ref()) {
                c.sha_error.fetch_add(1, Relaxed);
                c.first_sha_error
                    .lock()
                    .expect("lock")
                    .get_or_insert_with(|| e.clone());
            }
        } else {
            c.access.fetch_add(1, Relaxed);
            if a.is_some_and(|a| a.format_error.is_some()) {
                c.format_error.fetch_add(1, Relaxed);
            }
            *c.formats
                .lock()
                .expect("lock")
                .entry(a.map_or("none", |a| a.format))
                .or_default() += 1;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

fn pipeline(counts: &Arc<Counts>) -> Pipeline {
    let cfg = PipelineConfig {
        dedup_window_ms: 0,
        ..Default::default()
    };
    Pipeline::new(
        "bench".into(),
        &cfg,
        vec![Box::new(CountSink(counts.clone()))],
        Arc::new(Stats::default()),
    )
}

/// Hands `batches` to the pipeline, ticking as `pipeline::run` does.
fn feed(p: &mut Pipeline, batches: Vec<Batch>) -> Timed {
    let clock = Clock::start();
    let mut last_tick = Instant::now();
    for b in batches {
        p.handle(b);
        if last_tick.elapsed() >= TICK {
            p.tick();
            last_tick = Instant::now();
        }
    }
    clock.stop()
}

/// `rounds` passes over `raws`, in batches of [`BATCH`].
fn batches(raws: &[RawAccess], rounds: usize) -> Vec<Batch> {
    let all: Vec<TraceEvent> = (0..rounds)
        .flat_map(|_| raws.iter().cloned().map(TraceEvent::Access))
        .collect();
    let mut out = Vec::with_capacity(all.len().div_ceil(BATCH));
    let mut it = all.into_iter().peekable();
    while it.peek().is_some() {
        out.push(it.by_ref().take(BATCH).collect());
    }
    out
}

/// The baseline: `normalize()` alone.
fn run_normalize_only(raws: &[RawAccess], rounds: usize) -> Timed {
    let mut procs = Attributor::new(&Default::default(), "bench", None).expect("defaults");
    let mut norm = Normalizer::new(&Default::default());
    let clock = Clock::start();
    for _ in 0..rounds {
        for raw in raws {
            black_box(norm.normalize(black_box(raw), 1, &mut procs));
        }
    }
    clock.stop()
}

/// Each stage of a cache-miss identification alone over every file of `raws`, in
/// order: seconds per stage (whole pass).
fn miss_stages(raws: &[RawAccess]) -> Result<Vec<(&'static str, f64)>> {
    let mut procs = Attributor::new(&Default::default(), "bench", None)
        .expect("defaults")
        .with_env_keys(provider::ENV_KEYS);
    let mut norm = Normalizer::new(&Default::default());
    let paths: Vec<&Path> = raws
        .iter()
        .map(|r| Path::new(std::ffi::OsStr::from_bytes(&r.path)))
        .collect();
    let mut out = Vec::new();
    let mut time = |label: &'static str, f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        out.push((label, t.elapsed().as_secs_f64()));
    };
    time("`normalize()` (resolve, stat, process facts)", &mut || {
        for raw in raws {
            black_box(norm.normalize(raw, 1, &mut procs));
        }
    });
    time("`FileVersion::of` (stat)", &mut || {
        for p in &paths {
            let _ = black_box(FileVersion::of(p));
        }
    });
    let mut sniffed = Vec::with_capacity(paths.len());
    time(
        "`format::sniff` (open, read and parse the header)",
        &mut || {
            sniffed = paths.iter().map(|p| format::sniff(p)).collect();
        },
    );
    let me = procs.lookup(std::process::id(), Default::default());
    let env = HubEnv::from_process_env(&me.environment, me.working_directory.as_deref());
    let mut origins = Vec::with_capacity(paths.len());
    time("`provider::origin`", &mut || {
        origins = paths
            .iter()
            .zip(&sniffed)
            .map(|(p, s)| provider::origin(p, p, &s.fields, &env))
            .collect();
    });
    time("`classify::classify`", &mut || {
        for (p, s) in paths.iter().zip(&sniffed) {
            black_box(classify::classify(p, s.format, &s.fields));
        }
    });
    time("`license::license`", &mut || {
        for ((p, s), o) in paths.iter().zip(&sniffed).zip(&origins) {
            black_box(license::license(p, &s.fields, o.repo_root.as_deref()));
        }
    });
    let mut failed = 0;
    time(
        "`sha256_file` (runs on the hash workers, off the pipeline)",
        &mut || {
            for p in &paths {
                failed += usize::from(sha256_file(p, None).is_err());
            }
        },
    );
    ensure!(failed == 0, "{failed} hashes failed");
    Ok(out)
}

/// Wall and CPU time of this process (every thread).
struct Clock {
    wall: Instant,
    cpu: Duration,
}

impl Clock {
    fn start() -> Self {
        Clock {
            wall: Instant::now(),
            cpu: cpu_time(libc::RUSAGE_SELF),
        }
    }

    fn stop(self) -> Timed {
        Timed {
            wall: self.wall.elapsed(),
            cpu: cpu_time(libc::RUSAGE_SELF).saturating_sub(self.cpu),
        }
    }
}

/// What a [`Clock`] measured.
#[derive(Clone, Copy)]
struct Timed {
    wall: Duration,
    cpu: Duration,
}

impl Timed {
    fn plus(self, o: Timed) -> Timed {
        Timed {
            wall: self.wall + o.wall,
            cpu: self.cpu + o.cpu,
        }
    }

    /// Pushes wall and CPU seconds per item.
    fn push_per(self, wall: &mut Vec<f64>, cpu: &mut Vec<f64>, items: f64) {
        wall.push(self.wall.as_secs_f64() / items);
        cpu.push(self.cpu.as_secs_f64() / items);
    }
}

/// User + system CPU time of `who` (`RUSAGE_SELF`, `RUSAGE_THREAD`, `RUSAGE_CHILDREN`).
fn cpu_time(who: libc::c_int) -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let ru = unsafe {
        let mut ru = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(who, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Cache hit: a warm-up access per file (identified and hashed), then
/// [`HIT_ROUNDS`] timed passes.
fn run_hit(raws: &[RawAccess]) -> Result<(Timed, Arc<Counts>)> {
    let counts = Arc::new(Counts::default());
    let mut p = pipeline(&counts);
    p.handle(raws.iter().cloned().map(TraceEvent::Access).collect());
    let deadline = Instant::now() + Duration::from_secs(60);
    while Counts::get(&counts.identified) < raws.len() as u64 {
        ensure!(
            Instant::now() < deadline,
            "cache-hit warm-up: hashes not done"
        );
        thread::sleep(Duration::from_millis(5));
        p.tick();
    }
    let before = Counts::get(&counts.access);
    let took = feed(&mut p, batches(raws, HIT_ROUNDS));
    let exported = Counts::get(&counts.access) - before;
    p.finish();
    ensure!(
        exported == (raws.len() * HIT_ROUNDS) as u64,
        "cache hit: {exported} records for {} accesses",
        raws.len() * HIT_ROUNDS
    );
    Ok((took, counts))
}

/// Cache miss: every file once. Returns the time in `handle` (and ticks), and in
/// `finish` (remaining hashes and `identified` records).
fn run_miss(raws: &[RawAccess]) -> Result<(Timed, Timed, Arc<Counts>)> {
    let counts = Arc::new(Counts::default());
    let mut p = pipeline(&counts);
    let handle = feed(&mut p, batches(raws, 1));
    let clock = Clock::start();
    p.finish();
    let finish = clock.stop();
    ensure!(
        Counts::get(&counts.access) == raws.len() as u64,
        "cache miss: {} records for {} accesses",
        Counts::get(&counts.access),
        raws.len()
    );
    Ok((handle, finish, counts))
}

/// A `RawAccess` for an `openat(AT_FDCWD, path, O_RDONLY)` by this process, as the
/// eBPF tracer reports it (the fd is closed by the time the pipeline sees it).
fn raw_access(path: &Path) -> Result<RawAccess> {
    let m = fs::metadata(path)?;
    // SAFETY: getuid and getppid cannot fail.
    let (uid, ppid) = unsafe { (libc::getuid(), libc::getppid()) };
    Ok(RawAccess {
        time: SystemTime::now(),
        pid: std::process::id(),
        ppid: Some(ppid as u32),
        uid: Some(uid),
        cgroup_id: Some(1),
        comm: Some("identify".into()),
        path: path.as_os_str().as_bytes().to_vec(),
        kernel_path: None,
        dirfd: Some(libc::AT_FDCWD),
        fd: Some(1000),
        flags: Some(libc::O_RDONLY as u64),
        mode: AccessMode::Read,
        syscall: Some("openat"),
        file_id: Some((m.dev(), m.ino())),
        file_meta: None,
        tracer: "ebpf",
    })
}

/// Writes artifact `i` to `dir`: even `i` a safetensors file, odd a GGUF file,
/// both with real headers and [`TENSOR_BYTES`] of tensor data.
fn write_artifact(dir: &Path, i: usize) -> Result<PathBuf> {
    let (name, bytes) = if i % 2 == 1 {
        (format!("model-{i:05}.gguf"), gguf_bytes(i))
    } else {
        (format!("model-{i:05}.safetensors"), safetensors_bytes(i))
    };
    let path = dir.join(name);
    fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// A safetensors file: one F32 tensor of 32×32, plus `__metadata__`.
fn safetensors_bytes(i: usize) -> Vec<u8> {
    let mut header = format!(
        r#"{{"__metadata__":{{"format":"pt","license":"apache-2.0","bench":"{i}"}},"weight":{{"dtype":"F32","shape":[32,32],"data_offsets":[0,{TENSOR_BYTES}]}}}}"#
    )
    .into_bytes();
    header.resize(header.len().next_multiple_of(8), b' ');
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&header);
    out.extend(tensor_data(i));
    out
}

/// A GGUF v3 file: three `general.*` keys and one F32 tensor of 1024 elements.
fn gguf_bytes(i: usize) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    const STRING: u32 = 8;
    const UINT32: u32 = 4;
    let mut out = b"GGUF".to_vec();
    out.extend_from_slice(&3u32.to_le_bytes()); // version
    out.extend_from_slice(&1u64.to_le_bytes()); // tensors
    out.extend_from_slice(&4u64.to_le_bytes()); // key/values
    for (k, v) in [
        ("general.architecture", "llama"),
        ("general.name", &format!("bench-{i}")),
        ("general.license", "mit"),
    ] {
        string(&mut out, k);
        out.extend_from_slice(&STRING.to_le_bytes());
        string(&mut out, v);
    }
    string(&mut out, "general.alignment");
    out.extend_from_slice(&UINT32.to_le_bytes());
    out.extend_from_slice(&32u32.to_le_bytes());
    // tensor info: name, n_dims, dims, type (0 = F32), offset
    string(&mut out, "weight");
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&((TENSOR_BYTES / 4) as u64).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    out.resize(out.len().next_multiple_of(32), 0);
    out.extend(tensor_data(i));
    out
}

/// Tensor bytes that differ per file.
fn tensor_data(i: usize) -> Vec<u8> {
    let mut rng = XorShift::new(i as u64 + 1);
    let mut v = vec![0u8; TENSOR_BYTES];
    rng.fill(&mut v);
    v
}

// ---------------------------------------------------------------------------
// Sections 2 and 3 helpers.
// ---------------------------------------------------------------------------

/// A hasher of section 2.
#[derive(Clone, Copy, Debug)]
enum Tool {
    Aibomd,
    Sha256sum,
    Openssl,
}

impl Tool {
    fn label(self) -> &'static str {
        match self {
            Tool::Aibomd => "aibomd `sha256_file`",
            Tool::Sha256sum => "`sha256sum` (coreutils)",
            Tool::Openssl => "`openssl dgst -sha256`",
        }
    }

    /// Hashes `path`; returns the wall time, the CPU time of the hashing thread
    /// (this one, or the child process) and the hex digest.
    fn hash(self, path: &Path) -> Result<(Duration, Duration, String)> {
        let who = match self {
            Tool::Aibomd => libc::RUSAGE_THREAD,
            _ => libc::RUSAGE_CHILDREN,
        };
        let cpu = cpu_time(who);
        let start = Instant::now();
        let sha = match self {
            Tool::Aibomd => {
                sha256_file(path, Some(FileVersion::of(path)?)).map_err(anyhow::Error::msg)?
            }
            Tool::Sha256sum | Tool::Openssl => {
                let mut cmd = match self {
                    Tool::Sha256sum => Command::new("sha256sum"),
                    _ => {
                        let mut c = Command::new("openssl");
                        c.args(["dgst", "-sha256", "-r"]);
                        c
                    }
                };
                let out = cmd
                    .arg(path)
                    .stdin(Stdio::null())
                    .output()
                    .with_context(|| format!("running {}", self.label()))?;
                ensure!(out.status.success(), "{} failed", self.label());
                // both print `<hex> <path>` (`openssl -r` in coreutils format)
                String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .next()
                    .context("no digest")?
                    .to_ascii_lowercase()
            }
        };
        let wall = start.elapsed();
        Ok((wall, cpu_time(who).saturating_sub(cpu), sha))
    }
}

/// Writes `size` pseudo-random bytes to `path` and syncs them to disk.
fn write_big_file(path: &Path, size: u64) -> Result<()> {
    let mut f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut rng = XorShift::new(0x5eed);
    let mut buf = vec![0u8; MIB as usize];
    let mut left = size;
    while left > 0 {
        rng.fill(&mut buf);
        let n = left.min(MIB) as usize;
        f.write_all(&buf[..n])?;
        left -= n as u64;
    }
    f.sync_all()?;
    Ok(())
}

/// Reads `path` to the end (pulls it into the page cache).
fn read_through(path: &Path) -> Result<()> {
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; MIB as usize];
    while f.read(&mut buf)? > 0 {}
    Ok(())
}

/// Drops `path` from the page cache (the file is clean: it was synced).
fn evict(path: &Path) -> Result<()> {
    let f = File::open(path)?;
    f.sync_all()?;
    // SAFETY: plain syscall on an open fd.
    let r = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    ensure!(
        r == 0,
        "posix_fadvise: {}",
        std::io::Error::from_raw_os_error(r)
    );
    Ok(())
}

/// Share of `path`'s pages in the page cache (`mincore`).
fn resident_fraction(path: &Path) -> Result<f64> {
    let f = File::open(path)?;
    let len = f.metadata()?.len() as usize;
    if len == 0 {
        return Ok(1.0);
    }
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
    // SAFETY: a fresh read-only shared mapping of an open file, unmapped below;
    // nothing reads through it (mincore only looks at the page tables).
    let addr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            0,
        )
    };
    ensure!(
        addr != libc::MAP_FAILED,
        "mmap: {}",
        std::io::Error::last_os_error()
    );
    let mut vec = vec![0u8; len.div_ceil(page)];
    // SAFETY: `vec` has one byte per page of the mapping.
    let r = unsafe { libc::mincore(addr, len, vec.as_mut_ptr()) };
    let err = std::io::Error::last_os_error();
    // SAFETY: `addr`/`len` is the mapping made above.
    unsafe { libc::munmap(addr, len) };
    ensure!(r == 0, "mincore: {err}");
    Ok(vec.iter().filter(|b| *b & 1 == 1).count() as f64 / vec.len() as f64)
}

/// A `/proc/PID/status` field in KiB (`VmRSS:`, `VmHWM:`), 0 if unknown.
fn proc_status_kib(pid: u32, key: &str) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The file system type of the mount holding `path` (longest matching mount point).
fn fs_type(path: &Path) -> String {
    let mounts = fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_dev, dir, ty) = (f.next()?, f.next()?, f.next()?);
            path.starts_with(dir).then(|| (dir.len(), ty.to_owned()))
        })
        .max()
        .map_or_else(|| "unknown fs".into(), |(_, ty)| ty)
}

/// xorshift64*: fast pseudo-random filler (the bytes only need to differ).
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        XorShift(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

// ---------------------------------------------------------------------------
// Report helpers.
// ---------------------------------------------------------------------------

/// `median (min–max)` of the samples times `scale`, with `prec` decimals.
fn range_prec(samples: &[f64], scale: f64, prec: usize) -> String {
    let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
    let max = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!(
        "{:.prec$} ({:.prec$}–{:.prec$})",
        median(samples) * scale,
        min * scale,
        max * scale
    )
}

fn progress(what: std::fmt::Arguments) {
    eprintln!("[identify] {what}");
}

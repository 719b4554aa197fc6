//! # `export`: how fast does aibomd's OTLP export go, and what does it cost the app?
//!
//! A plain `harness = false` benchmark that prints a Markdown report on stdout
//! (progress goes to stderr). Every ratio is against a baseline measured in the
//! same run, and the configurations are interleaved repetition by repetition,
//! so slow drift of the host hits all of them alike. The collector is a real
//! one: `rotel-agent` from the Python venv (`pip install rotel`), with its
//! `blackhole` exporter, so its own downstream costs nothing.
//!
//! 1. **Export throughput.** N synthetic access records (a pool of 1,000
//!    realistic ones: Hugging Face hub paths, full artifact identity, 100
//!    processes) through `OtelSink::emit`, then `close`, then
//!    `OtelHandle::shutdown`, which returns once the collector accepted the
//!    whole spool. Over gRPC and over HTTP/protobuf; the baseline is the same
//!    records through the JSON Lines sink (`--events FILE`). A fourth row sends
//!    to a closed port: only the producer side (batch, encode, spool to disk).
//!    The CPU time of this process and of rotel is reported per record.
//!    **1b. Per core.** The same N records over gRPC (and HTTP with gzip) with
//!    `max_in_flight` 1 and the default, gzip off and on, reported as records per
//!    CPU-second of this process; against a plain generator that sends the bytes of the
//!    request aibomd builds for these records in a loop (aibomd's own `Transport`, same
//!    in-flight count): the collector's ceiling. With `AIBOM_BENCH_PREVIOUS=<export bench
//!    binary of an earlier build>` that bench is run once first (all its sections, same N)
//!    and its section 1 gRPC row is shown as the previous implementation.
//! 2. **Spool write and replay.** M requests of 512 log records (the request
//!    aibomd itself builds, captured from its spool) pushed with
//!    `Spool::push`, against a baseline of writing the same encoded bytes with
//!    `fs::write`, one file each (plus `Request::encode` and `Spool::read`
//!    alone); then that full spool replayed: an `OtelSink`
//!    started on it delivers it to rotel (gRPC, HTTP), timed until
//!    `OtelHandle::shutdown` returns with nothing left.
//! 3. **Added latency when the collector is down.** A Python app times 2,000
//!    `open()`s of `x.safetensors` (a traced, matching file) under
//!    `aibomd run` with (a) no OTLP endpoint, (b) the endpoint on a closed port,
//!    (c) the endpoint on rotel. Reported: the app's own loop time, and the
//!    wall time of `aibomd run` (including its start-up and the bounded wait for
//!    the collector at exit: `AIBOM_EXPORT__OTLP__SHUTDOWN_TIMEOUT_MS=1000`).
//!    Needs root (eBPF); skipped otherwise.
//!
//! ## Running
//!
//! ```sh
//! cargo bench -p aibomd --bench export                    # N = 200,000
//! AIBOM_BENCH_RECORDS=50000 cargo bench -p aibomd --bench export
//! ```
//!
//! `AIBOM_BENCH_RECORDS` sets N (and M = N / 512); `AIBOM_BENCH_SECTIONS=1b,2` runs only
//! the sections listed (all by default). Started without `--bench`
//! (e.g. by `cargo test --all-targets`) it does nothing.

#[path = "report.rs"]
mod report;
use report::{group, median, parse_count, print_table, ratio};

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use aibom_semconv::{hash_source, path_resolution};
use aibomd::export::jsonl::JsonlSink;
use aibomd::export::otel::config::{Compression, OtlpConfig, Protocol};
use aibomd::export::otel::request::{Request, Signal};
use aibomd::export::otel::spool::Spool;
use aibomd::export::otel::transport::Transport;
use aibomd::export::otel::OtelSink;
use aibomd::export::Sink;
use aibomd::model::{AccessMode, AccessRecord, Artifact, Attribution, RecordKind};
use aibomd::stats::Stats;
use anyhow::{bail, ensure, Context, Result};
use bytes::Bytes;
use tokio::runtime::Runtime;

/// Records per export run unless `AIBOM_BENCH_RECORDS` says otherwise.
const DEFAULT_RECORDS: u64 = 200_000;
/// Repetitions of every timed measurement of sections 1 and 2; tables show the median.
const REPS: usize = 3;
/// Repetitions of section 3 (short runs, noisier).
const APP_REPS: usize = 5;
/// Distinct records emitted round robin.
const POOL: usize = 1_000;
/// Processes the records belong to.
const PIDS: u32 = 100;
/// Log records per sealed OTLP request (aibomd's `processor::BATCH`).
const REQUEST_RECORDS: u64 = 512;
/// `open()`s timed by the app of section 3.
const APP_OPENS: u32 = 2_000;
/// How long shutdown may wait for the collector, when it is up (sections 1, 2).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(600);

/// The app of section 3: times `n` open+close of `path` and prints the loop time.
const APP_PY: &str = r#"import sys, time
path, n = sys.argv[1], int(sys.argv[2])
for _ in range(100):
    open(path, "rb").close()
t = time.perf_counter_ns()
for _ in range(n):
    open(path, "rb").close()
print(f"loop_ns={time.perf_counter_ns() - t}")
"#;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` passes --bench; `cargo test --all-targets` does not.
    if !args.iter().any(|a| a == "--bench") {
        eprintln!("export: skipped; run it with `cargo bench -p aibomd --bench export`");
        return Ok(());
    }
    let started = Instant::now();
    let bench = Bench::new()?;
    bench.print_header();
    let rotel = Rotel::start(&bench.rotel, bench.tmp.path())?;
    // AIBOM_BENCH_SECTIONS=1b (comma-separated: 1, 1b, 2, 3) runs only those sections
    let sections = std::env::var("AIBOM_BENCH_SECTIONS").unwrap_or_default();
    let run = |s: &str| sections.is_empty() || sections.split(',').any(|x| x.trim() == s);
    if run("1") {
        bench.throughput(&rotel)?;
    }
    if run("1b") {
        bench.per_core(&rotel)?;
    }
    if run("2") {
        bench.spool(&rotel)?;
    }
    if run("3") {
        bench.app_latency(&rotel)?;
    }
    drop(rotel);
    println!(
        "\nBench wall time: {:.1} s; load average at end: {}",
        started.elapsed().as_secs_f64(),
        fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    Ok(())
}

/// Paths and settings shared by all sections.
struct Bench {
    aibomd: PathBuf,
    repo: PathBuf,
    rotel: PathBuf,
    /// Keeps the scratch directory alive; removed on drop.
    tmp: tempfile::TempDir,
    rt: Runtime,
    records: Vec<AccessRecord>,
    n: u64,
}

impl Bench {
    fn new() -> Result<Self> {
        let n = match std::env::var("AIBOM_BENCH_RECORDS") {
            Ok(v) => parse_count(&v).context("AIBOM_BENCH_RECORDS")?,
            Err(_) => DEFAULT_RECORDS,
        };
        ensure!(
            n >= REQUEST_RECORDS,
            "AIBOM_BENCH_RECORDS must be at least {REQUEST_RECORDS}"
        );
        let aibomd = PathBuf::from(env!("CARGO_BIN_EXE_aibomd"));
        ensure!(aibomd.exists(), "{} does not exist", aibomd.display());
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("CARGO_MANIFEST_DIR has no parent")?
            .to_path_buf();
        let rotel = rotel_agent(&repo).context(
            "rotel-agent not found: create .venv and `pip install -r tests/requirements.txt`",
        )?;
        let tmp = tempfile::Builder::new().prefix("export").tempdir()?;
        // As in `aibomd`'s main: two workers; delivery runs on them.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        Ok(Bench {
            aibomd,
            repo,
            rotel,
            tmp,
            rt,
            records: record_pool(),
            n,
        })
    }

    fn print_header(&self) {
        let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let cpus = thread::available_parallelism().map_or(0, |n| n.get());
        let model = fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("model name").map(str::to_owned))
            })
            .map(|s| s.trim_start_matches([' ', '\t', ':']).to_owned())
            .unwrap_or_else(|| "unknown".into());
        let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let rotel = Command::new(&self.rotel)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|e| format!("not runnable: {e}"));
        let avg = self
            .records
            .iter()
            .map(|r| {
                let mut v = Vec::new();
                aibomd::export::jsonl::write_record(&mut v, r);
                v.push(b'\n');
                v.len()
            })
            .sum::<usize>()
            / self.records.len();

        println!("# aibomd OTLP export benchmark\n");
        println!(
            "- date: {}",
            chrono::Local::now().format("%Y-%m-%d %H:%M:%S %z")
        );
        println!("- kernel: {}", kernel.trim());
        println!("- CPUs: {cpus} ({model})");
        println!("- load average at start: {}", load.trim());
        println!(
            "- N = {} records per export run ({} distinct, {} processes, {avg} B each as JSON \
             Lines), median of {REPS} runs, min–max in parentheses",
            group(self.n),
            group(POOL as u64),
            PIDS
        );
        println!(
            "- collector: {} (`{rotel}`), `--exporter blackhole --disable-batching`",
            self.rotel.display()
        );
        println!("- aibomd: {}", self.aibomd.display());
    }

    /// Section 1: records/s to rotel over gRPC and HTTP, vs JSON Lines.
    fn throughput(&self, rotel: &Rotel) -> Result<()> {
        let closed = format!("http://127.0.0.1:{}", free_port()?);
        let targets = [
            Target::Jsonl,
            Target::Otlp(Protocol::Grpc, rotel.grpc_url()),
            Target::Otlp(Protocol::HttpProtobuf, rotel.http_url()),
            Target::Down(closed),
        ];
        // [target] → (producer secs, total secs)
        let mut produce: Vec<Vec<f64>> = vec![Vec::new(); targets.len()];
        let mut total: Vec<Vec<f64>> = vec![Vec::new(); targets.len()];
        let mut notes: Vec<String> = vec![String::new(); targets.len()];
        // [target] → (aibomd CPU µs/record, collector CPU µs/record)
        let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); targets.len()];
        let mut cpu_rotel: Vec<Vec<f64>> = vec![Vec::new(); targets.len()];
        let n = self.n as f64;
        for rep in 1..=REPS {
            for (ti, target) in targets.iter().enumerate() {
                progress(format_args!(
                    "throughput rep {rep}/{REPS}: {}",
                    target.label()
                ));
                let dir = self.tmp.path().join(format!("throughput-{rep}-{ti}"));
                fs::create_dir_all(&dir)?;
                let (c0, r0) = (cpu_time(), rotel.cpu_time());
                let run = self.export_run(target, &dir)?;
                cpu[ti].push(cpu_time().saturating_sub(c0).as_secs_f64() * 1e6 / n);
                cpu_rotel[ti].push(rotel.cpu_time().saturating_sub(r0).as_secs_f64() * 1e6 / n);
                produce[ti].push(run.produce.as_secs_f64());
                total[ti].push(run.total.as_secs_f64());
                notes[ti] = run.note;
                fs::remove_dir_all(&dir)?;
            }
        }

        let base = n / median(&total[0]);
        let rows: Vec<Vec<String>> = targets
            .iter()
            .enumerate()
            .map(|(ti, t)| {
                let rate: Vec<f64> = total[ti].iter().map(|s| n / s).collect();
                let delivered = !matches!(t, Target::Down(_));
                vec![
                    t.label(),
                    range_prec(&produce[ti], 1e3, 0),
                    if delivered {
                        range_prec(&total[ti], 1e3, 0)
                    } else {
                        "—".into()
                    },
                    if delivered {
                        range_prec(&rate, 1.0, 0)
                    } else {
                        format!(
                            "{} (emit only)",
                            range_prec(
                                &produce[ti].iter().map(|s| n / s).collect::<Vec<_>>(),
                                1.0,
                                0
                            )
                        )
                    },
                    if delivered {
                        format!("{:.2}", 1e6 / median(&rate))
                    } else {
                        format!("{:.2}", median(&produce[ti]) * 1e6 / n)
                    },
                    if delivered {
                        ratio(median(&rate), base)
                    } else {
                        "—".into()
                    },
                    range_prec(&cpu[ti], 1.0, 1),
                    range_prec(&cpu_rotel[ti], 1.0, 1),
                    notes[ti].clone(),
                ]
            })
            .collect();
        println!(
            "\n## 1. Export throughput: {} records, emit → close → delivered\n",
            group(self.n)
        );
        print_table(
            &[
                "sink",
                "emit+close ms (min–max)",
                "until delivered ms (min–max)",
                "records/s (min–max)",
                "µs/record",
                "records/s vs JSONL",
                "bench CPU µs/record",
                "rotel CPU µs/record",
                "last run",
            ],
            &rows,
        );
        println!(
            "\n\"emit+close\" is the producer side (the pipeline thread: encode the log \
             record's protobuf, batch {REQUEST_RECORDS} per request, write the request to the \
             on-disk spool); \"until delivered\" adds `OtelHandle::shutdown`, which returns once \
             the collector accepted every spooled request (delivery runs concurrently on two \
             tokio workers, concatenates up to 64 spooled requests / 4 MiB per send and keeps \
             up to `max_in_flight` (default 4) sends outstanding). records/s is N / the \
             last column measured. The closed-port row never delivers: its rate is the \
             producer alone. CPU columns: user+system time of this bench process (producer and \
             delivery threads; `getrusage`) and of rotel-agent (`/proc/PID/stat`) during the \
             run, per record: on 2 CPUs the collector competes with aibomd."
        );
        Ok(())
    }

    /// Section 1b: records per CPU-second of aibomd over gRPC to rotel: in-flight 1 vs the
    /// default, gzip on/off, against a plain generator (the collector's ceiling) and,
    /// when `AIBOM_BENCH_PREVIOUS` names the export bench of an earlier build, its figure.
    fn per_core(&self, rotel: &Rotel) -> Result<()> {
        let default_in_flight = OtlpConfig::default().max_in_flight;
        let grpc = Target::Otlp(Protocol::Grpc, rotel.grpc_url());
        let http = Target::Otlp(Protocol::HttpProtobuf, rotel.http_url());
        let knobs = |n: usize, gzip| Knobs {
            in_flight: Some(n),
            gzip,
        };
        let n_label = format!("in-flight {default_in_flight} (default)");
        let configs: Vec<(String, Option<(&Target, Knobs)>)> = vec![
            (
                "gRPC, in-flight 1, no gzip".into(),
                Some((&grpc, knobs(1, false))),
            ),
            (
                format!("gRPC, {n_label}, no gzip"),
                Some((&grpc, knobs(default_in_flight, false))),
            ),
            (
                "gRPC, in-flight 1, gzip".into(),
                Some((&grpc, knobs(1, true))),
            ),
            (
                format!("gRPC, {n_label}, gzip"),
                Some((&grpc, knobs(default_in_flight, true))),
            ),
            (
                format!("HTTP/protobuf, {n_label}, gzip"),
                Some((&http, knobs(default_in_flight, true))),
            ),
            (
                format!(
                    "plain generator: the same {REQUEST_RECORDS}-record request's bytes in a \
                     loop, {default_in_flight} in flight (collector ceiling)"
                ),
                None,
            ),
        ];
        let req = Bytes::from(self.captured_request()?.encode());
        let n = self.n as f64;
        let (mut wall, mut cpu, mut cpu_rotel) = (
            vec![Vec::new(); configs.len()],
            vec![Vec::new(); configs.len()],
            vec![Vec::new(); configs.len()],
        );
        let mut previous = None;
        for rep in 1..=REPS {
            if rep == 1 {
                if let Ok(bin) = std::env::var("AIBOM_BENCH_PREVIOUS") {
                    progress(format_args!("previous implementation: {bin}"));
                    previous = Some(self.previous(&bin)?);
                }
            }
            for (ci, (label, run)) in configs.iter().enumerate() {
                progress(format_args!("per-core rep {rep}/{REPS}: {label}"));
                let dir = self.tmp.path().join(format!("per-core-{rep}-{ci}"));
                fs::create_dir_all(&dir)?;
                let (c0, r0, t0) = (cpu_time(), rotel.cpu_time(), Instant::now());
                match run {
                    Some((target, k)) => {
                        self.export_run_with(target, &dir, *k)?;
                    }
                    None => self.generate(&rotel.grpc_url(), &req, default_in_flight)?,
                }
                wall[ci].push(t0.elapsed().as_secs_f64());
                cpu[ci].push(cpu_time().saturating_sub(c0).as_secs_f64());
                cpu_rotel[ci].push(rotel.cpu_time().saturating_sub(r0).as_secs_f64());
                fs::remove_dir_all(&dir)?;
            }
        }
        let per_core = |ci: usize| n / median(&cpu[ci]);
        let (base, ceiling) = (per_core(0), per_core(configs.len() - 1));
        let mut rows: Vec<Vec<String>> = Vec::new();
        if let Some(p) = &previous {
            rows.push(vec![
                "previous implementation (SDK LogRecord → proto, 1 in flight): \
                 `AIBOM_BENCH_PREVIOUS`, its section 1 gRPC row"
                    .into(),
                format!("{:.0}", p.rate),
                "—".into(),
                format!("{:.0}", p.per_core),
                format!("{:.1}", p.rotel_us),
                ratio(p.per_core, base),
                ratio(p.per_core, ceiling),
            ]);
        }
        for (ci, (label, _)) in configs.iter().enumerate() {
            let rate: Vec<f64> = wall[ci].iter().map(|s| n / s).collect();
            rows.push(vec![
                label.clone(),
                range_prec(&rate, 1.0, 0),
                format!("{:.2}", median(&cpu[ci])),
                format!("{:.0}", per_core(ci)),
                format!("{:.1}", median(&cpu_rotel[ci]) * 1e6 / n),
                ratio(per_core(ci), base),
                ratio(per_core(ci), ceiling),
            ]);
        }
        println!(
            "\n## 1b. Per core: {} records over OTLP to rotel, until delivered\n",
            group(self.n)
        );
        print_table(
            &[
                "configuration",
                "records/s wall (min–max)",
                "sender CPU s",
                "records per sender CPU-s",
                "rotel CPU µs/record",
                "per CPU-s vs in-flight 1",
                "per CPU-s vs ceiling",
            ],
            &rows,
        );
        println!(
            "\n\"records per sender CPU-s\" is N / the user+system CPU time of this bench \
             process (aibomd's producer and delivery threads; for the generator, tonic alone) \
             from the first record to `OtelHandle::shutdown` returning with the spool empty. \
             The generator sends the {REQUEST_RECORDS}-record request aibomd builds for these \
             records (captured from its spool, {:.0} KB), N / {REQUEST_RECORDS} times through \
             aibomd's own `Transport` (tonic, no gzip) with {default_in_flight} in flight: \
             what rotel can take of these bytes here. Wall-clock rates on 2 CPUs include \
             rotel's own CPU time.{}",
            req.len() as f64 / 1e3,
            if previous.is_some() {
                " The previous implementation's row comes from running that bench binary once \
                 (all its sections) in this run, before the measurements above; its per-core \
                 figure is 1e6 / its \"bench CPU µs/record\"."
            } else {
                ""
            }
        );
        Ok(())
    }

    /// Sends `req` N / [`REQUEST_RECORDS`] times to `url` over gRPC, `in_flight` at once.
    fn generate(&self, url: &str, req: &Bytes, in_flight: usize) -> Result<()> {
        let cfg = otlp_config(
            url,
            Protocol::Grpc,
            &self.tmp.path().join("unused"),
            DRAIN_TIMEOUT,
        );
        let transport = {
            let _rt = self.rt.enter(); // tonic's lazy channel needs the reactor
            Arc::new(Transport::new(&cfg)?)
        };
        let sends = self.n / REQUEST_RECORDS;
        self.rt.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..sends {
                if set.len() >= in_flight {
                    set.join_next().await.expect("non-empty")??;
                }
                let (t, r) = (transport.clone(), req.clone());
                set.spawn(async move {
                    t.send(Signal::Logs, r)
                        .await
                        .map_err(|e| anyhow::anyhow!("generator: {}", e.message))
                });
            }
            while let Some(r) = set.join_next().await {
                r??;
            }
            Ok(())
        })
    }

    /// Runs the export bench binary `bin` of an earlier build with the same N and reads
    /// its section 1 gRPC row.
    fn previous(&self, bin: &str) -> Result<Previous> {
        let out = Command::new(bin)
            .arg("--bench")
            .env("AIBOM_BENCH_RECORDS", self.n.to_string())
            .stderr(Stdio::inherit())
            .output()
            .with_context(|| format!("running {bin}"))?;
        ensure!(out.status.success(), "{bin} failed: {}", out.status);
        let text = String::from_utf8_lossy(&out.stdout);
        let row = text
            .lines()
            .find(|l| l.starts_with("| OTLP gRPC → rotel"))
            .with_context(|| format!("no gRPC row in the output of {bin}"))?;
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let first = |c: &str| -> Result<f64> {
            Ok(c.split_whitespace()
                .next()
                .unwrap_or("")
                .replace(',', "")
                .parse()?)
        };
        // | sink | emit+close | until delivered | records/s | µs/record | vs JSONL | bench CPU µs/record | rotel CPU µs/record | last run |
        let cpu_us = first(cells[7])?;
        Ok(Previous {
            rate: first(cells[4])?,
            per_core: 1e6 / cpu_us,
            rotel_us: first(cells[8])?,
        })
    }

    /// One export of N records to `target`, from a fresh sink, spooling in `dir`.
    fn export_run(&self, target: &Target, dir: &Path) -> Result<ExportRun> {
        self.export_run_with(target, dir, Knobs::default())
    }

    /// [`Bench::export_run`] with delivery settings other than the defaults.
    fn export_run_with(&self, target: &Target, dir: &Path, knobs: Knobs) -> Result<ExportRun> {
        let n = self.n as usize;
        let start = Instant::now();
        match target {
            Target::Jsonl => {
                let path = dir.join("events.jsonl");
                let mut sink = JsonlSink::open(&path)?;
                for i in 0..n {
                    sink.emit(&self.records[i % POOL])?;
                }
                sink.close()?;
                let took = start.elapsed();
                let bytes = fs::metadata(&path)?.len();
                Ok(ExportRun {
                    produce: took,
                    total: took,
                    note: format!("{:.0} MB written", bytes as f64 / 1e6),
                })
            }
            Target::Otlp(_, url) | Target::Down(url) => {
                let up = matches!(target, Target::Otlp(..));
                let protocol = match target {
                    Target::Otlp(p, _) => *p,
                    _ => Protocol::Grpc,
                };
                let drain = if up { DRAIN_TIMEOUT } else { Duration::ZERO };
                let mut cfg = otlp_config(url, protocol, &dir.join("spool"), drain);
                if let Some(n) = knobs.in_flight {
                    cfg.max_in_flight = n;
                }
                if knobs.gzip {
                    cfg.compression = Compression::Gzip;
                }
                let stats = Arc::new(Stats::default());
                let (mut sink, handle) = {
                    let _rt = self.rt.enter();
                    OtelSink::start(&cfg, None, stats.clone(), None, "bench")?
                };
                for i in 0..n {
                    sink.emit(&self.records[i % POOL])?;
                }
                sink.close()?;
                let produce = start.elapsed();
                let left = self.rt.block_on(handle.shutdown());
                let total = start.elapsed();
                drop(sink);
                let failures = Stats::get(&stats.export_failures);
                let dropped = Stats::get(&stats.export_dropped);
                ensure!(dropped == 0, "{}: {dropped} items dropped", target.label());
                if up {
                    ensure!(
                        left == 0,
                        "{}: {left} requests not delivered",
                        target.label()
                    );
                }
                let spooled = spool_bytes(&dir.join("spool"));
                Ok(ExportRun {
                    produce,
                    total,
                    note: if up {
                        format!("{failures} failed sends")
                    } else {
                        format!(
                            "{left} requests ({:.0} MB) left in the spool",
                            spooled as f64 / 1e6
                        )
                    },
                })
            }
        }
    }

    /// Section 2: `Spool::push` rate, and replay of a full spool to rotel.
    fn spool(&self, rotel: &Rotel) -> Result<()> {
        let req = self.captured_request()?;
        ensure!(
            req.items() == REQUEST_RECORDS,
            "captured request has {} records",
            req.items()
        );
        let m = self.n / REQUEST_RECORDS;
        let body = req.encode();
        let records = m * REQUEST_RECORDS;

        // Samples per operation: (wall s, bench CPU s, rotel CPU s).
        let mut ops: [Samples; 6] = Default::default();
        let (write, encode, push, read, grpc, http) = (0, 1, 2, 3, 4, 5);
        let mut push_bytes = 0;
        let mut replay_notes = [String::new(), String::new()];
        let replay_targets = [
            (grpc, Protocol::Grpc, rotel.grpc_url()),
            (http, Protocol::HttpProtobuf, rotel.http_url()),
        ];
        let measure = |f: &mut dyn FnMut() -> Result<()>| -> Result<(f64, f64, f64)> {
            let (c0, r0, t) = (cpu_time(), rotel.cpu_time(), Instant::now());
            f()?;
            Ok((
                t.elapsed().as_secs_f64(),
                cpu_time().saturating_sub(c0).as_secs_f64(),
                rotel.cpu_time().saturating_sub(r0).as_secs_f64(),
            ))
        };
        for rep in 1..=REPS {
            progress(format_args!(
                "spool rep {rep}/{REPS}: fs::write and encode baselines"
            ));
            let dir = self.tmp.path().join(format!("plain-{rep}"));
            fs::create_dir_all(&dir)?;
            ops[write].push(measure(&mut || {
                for i in 0..m {
                    fs::write(dir.join(format!("{i:020}.pb")), &body)?;
                }
                Ok(())
            })?);
            fs::remove_dir_all(&dir)?;
            ops[encode].push(measure(&mut || {
                for _ in 0..m {
                    std::hint::black_box(req.encode());
                }
                Ok(())
            })?);

            for (op, protocol, url) in &replay_targets {
                progress(format_args!(
                    "spool rep {rep}/{REPS}: push {m} requests, replay over {}",
                    protocol_name(*protocol)
                ));
                let dir = self.tmp.path().join(format!("spool-{rep}-{op}"));
                let mut spool = Spool::open(&dir, u64::MAX)?;
                ops[push].push(measure(&mut || {
                    for _ in 0..m {
                        spool.push(&req)?;
                    }
                    Ok(())
                })?);
                push_bytes = spool.bytes();
                ensure!(
                    spool.len() as u64 == m,
                    "spool holds {} requests",
                    spool.len()
                );
                if *op == grpc {
                    // what delivery does to each spooled request before sending it
                    let entries = spool.front_run(usize::MAX, u64::MAX);
                    ensure!(entries.len() as u64 == m, "front_run: {}", entries.len());
                    ops[read].push(measure(&mut || {
                        for e in &entries {
                            std::hint::black_box(Spool::read(e)?);
                        }
                        Ok(())
                    })?);
                }
                drop(spool); // releases the lock for the sink below

                let cfg = otlp_config(url, *protocol, &dir, DRAIN_TIMEOUT);
                let stats = Arc::new(Stats::default());
                let mut left = usize::MAX;
                ops[*op].push(measure(&mut || {
                    let (mut sink, handle) = {
                        let _rt = self.rt.enter();
                        OtelSink::start(&cfg, None, stats.clone(), None, "bench")?
                    };
                    sink.close()?;
                    left = self.rt.block_on(handle.shutdown());
                    drop(sink);
                    Ok(())
                })?);
                ensure!(left == 0, "replay: {left} requests not delivered");
                ensure!(
                    Stats::get(&stats.export_dropped) == 0,
                    "replay: items dropped"
                );
                replay_notes[*op - grpc] =
                    format!("{} failed sends", Stats::get(&stats.export_failures));
                fs::remove_dir_all(&dir)?;
            }
        }

        let mb = push_bytes as f64 / 1e6;
        let base = records as f64 / median(&ops[write].wall);
        let labels = [
            "`fs::write` of the encoded bytes, one file each (baseline)",
            "`Request::encode` only (no I/O)",
            "`Spool::push` (encode, write temp file, fsync, rename, fsync dir)",
            "`Spool::read` of each request (read file, protobuf decode)",
            "replay the full spool to rotel, gRPC",
            "replay the full spool to rotel, HTTP/protobuf",
        ];
        let rows: Vec<Vec<String>> = ops
            .iter()
            .zip(labels)
            .enumerate()
            .map(|(i, (o, label))| {
                let rate: Vec<f64> = o.wall.iter().map(|s| records as f64 / s).collect();
                let mbps: Vec<f64> = o.wall.iter().map(|s| mb / s).collect();
                vec![
                    label.to_owned(),
                    range_prec(&o.wall, 1e3, 0),
                    range_prec(&rate, 1.0, 0),
                    range_prec(&mbps, 1.0, 0),
                    ratio(median(&rate), base),
                    format!("{:.0}", median(&o.cpu) * 1e3),
                    format!("{:.0}", median(&o.rotel) * 1e3),
                    match i {
                        4 | 5 => replay_notes[i - grpc].clone(),
                        _ => format!("{} runs", o.wall.len()),
                    },
                ]
            })
            .collect();
        println!(
            "\n## 2. Spool: {m} requests × {REQUEST_RECORDS} log records ({} records, {mb:.0} MB \
             on disk)\n",
            group(records)
        );
        print_table(
            &[
                "operation",
                "ms (min–max)",
                "records/s (min–max)",
                "MB/s (min–max)",
                "records/s vs fs::write",
                "bench CPU ms",
                "rotel CPU ms",
                "note",
            ],
            &rows,
        );
        println!(
            "\nThe request is the one aibomd builds for {REQUEST_RECORDS} of the section 1 \
             records ({:.0} KB encoded), captured from its spool. No fsync anywhere (the spool \
             does not sync). Replay: `OtelSink::start` on the full spool, `close`, then \
             `OtelHandle::shutdown` until the spool is empty (it polls every 20 ms); delivery \
             reads each spooled request's bytes and concatenates up to 64 / 4 MiB of them into \
             one send (protobuf's merge), without decoding; `Spool::read` is shown for \
             reference. CPU columns: medians of the user+system time of \
             this bench process and of rotel-agent during the operation.",
            body.len() as f64 / 1e3
        );
        Ok(())
    }

    /// The logs request aibomd seals for [`REQUEST_RECORDS`] records, taken from the
    /// spool of a sink whose collector is down.
    fn captured_request(&self) -> Result<Request> {
        let dir = self.tmp.path().join("capture");
        let url = format!("http://127.0.0.1:{}", free_port()?);
        let cfg = otlp_config(&url, Protocol::Grpc, &dir, Duration::ZERO);
        let (mut sink, handle) = {
            let _rt = self.rt.enter();
            OtelSink::start(&cfg, None, Arc::new(Stats::default()), None, "bench")?
        };
        for r in self.records.iter().take(REQUEST_RECORDS as usize) {
            sink.emit(r)?;
        }
        sink.close()?;
        self.rt.block_on(handle.shutdown());
        drop(sink);
        // the metrics reader thread seals its last request (fsync'd) as the sink is
        // dropped, and holds the spool's lock until then: wait for it
        let t = Instant::now();
        let mut spool = loop {
            let s = Spool::open(&dir, u64::MAX)?;
            if s.dir() == dir || t.elapsed() > Duration::from_secs(10) {
                break s;
            }
            let own = s.dir().to_path_buf();
            drop(s);
            fs::remove_dir_all(own)?;
            std::thread::sleep(Duration::from_millis(20));
        };
        while let Some(e) = spool.front_run(1, u64::MAX).pop() {
            if e.signal == Signal::Logs && e.items == REQUEST_RECORDS {
                let r = Spool::read(&e)?;
                drop(spool);
                fs::remove_dir_all(&dir)?;
                return Ok(r);
            }
            spool.remove(e.seq);
        }
        bail!("no logs request of {REQUEST_RECORDS} records in the capture spool")
    }

    /// Section 3: the app's open() loop under `aibomd run`, collector up and down.
    fn app_latency(&self, rotel: &Rotel) -> Result<()> {
        println!(
            "\n## 3. Added latency for the traced app: {APP_OPENS} open()s under `aibomd run`\n"
        );
        if !nix::unistd::geteuid().is_root() {
            println!("Skipped: needs root (eBPF tracing).");
            return Ok(());
        }
        let venv = self.repo.join(".venv/bin/python");
        let python = if venv.exists() {
            venv
        } else {
            PathBuf::from("python3")
        };
        let app = self.tmp.path().join("app.py");
        fs::write(&app, APP_PY)?;
        let file = self.tmp.path().join("x.safetensors");
        // a valid, empty safetensors file: header length 8, `{}` padded
        let mut st = 8u64.to_le_bytes().to_vec();
        st.extend_from_slice(b"{}      ");
        fs::write(&file, st)?;
        let closed = format!("http://127.0.0.1:{}", free_port()?);
        let configs = [
            ("untraced (reference)".to_owned(), AppMode::Untraced, None),
            (
                "(a) `aibomd run`, no OTLP endpoint (baseline)".to_owned(),
                AppMode::Run,
                None,
            ),
            (
                format!("(b) `aibomd run`, endpoint on a closed port ({closed})"),
                AppMode::Run,
                Some(closed.clone()),
            ),
            (
                "(c) `aibomd run`, endpoint on rotel (gRPC)".to_owned(),
                AppMode::Run,
                Some(rotel.grpc_url()),
            ),
        ];
        let opens = APP_OPENS.to_string();
        let app_cmd = [
            python.as_os_str(),
            app.as_os_str(),
            file.as_os_str(),
            std::ffi::OsStr::new(&opens),
        ]
        .map(|s| s.to_os_string());
        progress(format_args!("app warm-up"));
        self.run_app(&app_cmd, AppMode::Untraced, None, 0)?;

        let mut loop_s: Vec<Vec<f64>> = vec![Vec::new(); configs.len()];
        let mut wall_s: Vec<Vec<f64>> = vec![Vec::new(); configs.len()];
        let mut left: Vec<Vec<usize>> = vec![Vec::new(); configs.len()];
        for rep in 1..=APP_REPS {
            for (ci, (label, mode, endpoint)) in configs.iter().enumerate() {
                progress(format_args!("app rep {rep}/{APP_REPS}: {label}"));
                let r = self.run_app(&app_cmd, *mode, endpoint.as_deref(), rep * 10 + ci)?;
                loop_s[ci].push(r.loop_time.as_secs_f64());
                wall_s[ci].push(r.wall.as_secs_f64());
                left[ci].push(r.spool_left);
            }
        }

        let (base_loop, base_wall) = (median(&loop_s[1]), median(&wall_s[1]));
        let rows: Vec<Vec<String>> = configs
            .iter()
            .enumerate()
            .map(|(ci, (label, mode, _))| {
                let per_open: Vec<f64> = loop_s[ci]
                    .iter()
                    .map(|s| s / f64::from(APP_OPENS))
                    .collect();
                let traced = matches!(mode, AppMode::Run);
                vec![
                    label.clone(),
                    range_prec(&loop_s[ci], 1e3, 2),
                    range_prec(&per_open, 1e6, 2),
                    ratio(median(&loop_s[ci]), base_loop),
                    range_prec(&wall_s[ci], 1e3, 0),
                    ratio(median(&wall_s[ci]), base_wall),
                    if traced {
                        left[ci]
                            .iter()
                            .map(usize::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    } else {
                        "—".into()
                    },
                ]
            })
            .collect();
        print_table(
            &[
                "configuration",
                "app loop ms (min–max)",
                "µs/open (min–max)",
                "loop vs (a)",
                "wall ms (min–max)",
                "wall vs (a)",
                "spool files left per run",
            ],
            &rows,
        );
        println!(
            "\nMedian of {APP_REPS} runs. \"app loop\" is measured by the app itself \
             (`time.perf_counter_ns` around the {APP_OPENS} `open(...).close()` calls, after \
             100 untimed ones); \"wall\" is the whole `aibomd run -q --no-console -- python ...` \
             (tracer start-up, app, drain, and up to 1 s waiting for the collector at exit: \
             `AIBOM_EXPORT__OTLP__SHUTDOWN_TIMEOUT_MS=1000`). Each run spools to its own fresh \
             `AIBOM_EXPORT__OTLP__SPOOL_DIR`; the last column counts the requests still in it \
             after exit (kept for the next start). Default dedup window (1000 ms)."
        );
        Ok(())
    }

    /// Runs the app once, untraced or under `aibomd run`.
    fn run_app(
        &self,
        app: &[std::ffi::OsString],
        mode: AppMode,
        endpoint: Option<&str>,
        id: usize,
    ) -> Result<AppRun> {
        let spool = self.tmp.path().join(format!("app-spool-{id}"));
        let mut cmd = match mode {
            AppMode::Untraced => Command::new(&app[0]),
            AppMode::Run => {
                let mut c = Command::new(&self.aibomd);
                c.args(["run", "-q", "--no-console", "--"]).arg(&app[0]);
                c
            }
        };
        cmd.args(&app[1..]);
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy();
            if k.starts_with("OTEL_") || k.starts_with("AIBOM_") {
                cmd.env_remove(k.as_ref());
            }
        }
        cmd.env("AIBOM_EXPORT__OTLP__SPOOL_DIR", &spool)
            .env("AIBOM_EXPORT__OTLP__SHUTDOWN_TIMEOUT_MS", "1000");
        if let Some(e) = endpoint {
            cmd.env("OTEL_EXPORTER_OTLP_ENDPOINT", e);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let start = Instant::now();
        let out = cmd.output().context("running the app")?;
        let wall = start.elapsed();
        let stdout = String::from_utf8_lossy(&out.stdout);
        ensure!(
            out.status.success(),
            "app failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let ns: u64 = kv(&stdout, "loop_ns")
            .with_context(|| format!("no loop_ns in the app's output: {stdout:?}"))?
            .parse()?;
        let spool_left = count_pb(&spool);
        let _ = fs::remove_dir_all(&spool);
        Ok(AppRun {
            loop_time: Duration::from_nanos(ns),
            wall,
            spool_left,
        })
    }
}

/// The previous implementation's figures, read from its own bench.
struct Previous {
    rate: f64,
    per_core: f64,
    rotel_us: f64,
}

/// Delivery settings of one run (None: aibomd's default).
#[derive(Clone, Copy, Default)]
struct Knobs {
    in_flight: Option<usize>,
    gzip: bool,
}

/// Where section 1 sends records.
enum Target {
    Jsonl,
    Otlp(Protocol, String),
    Down(String),
}

impl Target {
    fn label(&self) -> String {
        match self {
            Target::Jsonl => "JSON Lines file (baseline)".into(),
            Target::Otlp(p, _) => format!("OTLP {} → rotel", protocol_name(*p)),
            Target::Down(_) => "OTLP gRPC → closed port (spool only)".into(),
        }
    }
}

/// Timings of one operation of section 2, in seconds.
#[derive(Default)]
struct Samples {
    wall: Vec<f64>,
    cpu: Vec<f64>,
    rotel: Vec<f64>,
}

impl Samples {
    fn push(&mut self, (wall, cpu, rotel): (f64, f64, f64)) {
        self.wall.push(wall);
        self.cpu.push(cpu);
        self.rotel.push(rotel);
    }
}

struct ExportRun {
    produce: Duration,
    total: Duration,
    note: String,
}

#[derive(Clone, Copy)]
enum AppMode {
    Untraced,
    Run,
}

struct AppRun {
    loop_time: Duration,
    wall: Duration,
    spool_left: usize,
}

fn protocol_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Grpc => "gRPC",
        Protocol::HttpProtobuf => "HTTP/protobuf",
    }
}

/// OTLP settings for one run: `url`, spooling in `spool`, waiting at most
/// `drain` for the collector at shutdown, no metrics beyond the final flush.
fn otlp_config(url: &str, protocol: Protocol, spool: &Path, drain: Duration) -> OtlpConfig {
    OtlpConfig {
        endpoint: Some(url.to_owned()),
        protocol,
        spool_dir: spool.to_path_buf(),
        spool_max_bytes: u64::MAX,
        shutdown_timeout_ms: drain.as_millis() as u64,
        metrics_interval_ms: 3_600_000,
        ..Default::default()
    }
}

/// The records of section 1: model shards in a Hugging Face hub cache, read by
/// [`PIDS`] Python processes, one in ten an `identified` record.
fn record_pool() -> Vec<AccessRecord> {
    let now = SystemTime::now();
    let processes: Vec<Arc<Attribution>> = (0..PIDS)
        .map(|i| {
            let pid = 40_000 + i;
            Arc::new(Attribution {
                pid,
                ppid: Some(pid - 1),
                uid: Some(1000),
                owner: Some("ml".into()),
                comm: Some("python3".into()),
                exe: Some("/usr/bin/python3.11".into()),
                command_line: None,
                start_time: None,
                working_directory: None,
                cgroup: None,
                cgroup_id: Some(4242),
                container: None,
                pod_uid: None,
                pod: None,
                project: "bench".into(),
                project_source: aibom_semconv::project_source::DEFAULT,
                vpid: None,
                foreign_root: false,
                from_proc: false,
                environment: Default::default(),
            })
        })
        .collect();
    (0..POOL)
        .map(|i| {
            let model = i % 50;
            let rev = format!("{:040x}", 0x5eed_0000 + model);
            let blob = format!("{:064x}", 0xb10b_0000_u64 + i as u64);
            let hub = PathBuf::from(format!(
                "/home/ml/.cache/huggingface/hub/models--example-org--model-{model}"
            ));
            let abs = hub.join(format!(
                "snapshots/{rev}/model-{:05}-of-00020.safetensors",
                i % 20
            ));
            let pid = 40_000 + (i as u32 % PIDS);
            AccessRecord {
                // as the fanout gives them: every exported record has one
                id: aibomd::model::RecordId(0x3f2a_9c1e_5b7d_8e01_8000_0000_0000_0000 + i as u128),
                kind: if i % 10 == 0 {
                    RecordKind::Identified
                } else {
                    RecordKind::Access
                },
                artifact: Some(Arc::new(Artifact {
                    artifact_type: "model",
                    role: Some("weights"),
                    format: "safetensors",
                    provider: "huggingface",
                    id: Some(format!("example-org/model-{model}")),
                    name: Some(format!("model-{model}")),
                    revision: Some(rev.clone()),
                    source_url: Some(format!("https://huggingface.co/example-org/model-{model}")),
                    license: Some("apache-2.0".into()),
                    license_source: Some("metadata"),
                    sha256: Some(blob.clone()),
                    sha256_source: Some(hash_source::HF_BLOB_NAME),
                    ..Default::default()
                })),
                time: now,
                file_path: hub.join("blobs").join(&blob).into(),
                access_path: abs.as_os_str().as_bytes().to_vec(),
                absolute_path: abs.into(),
                resolution: path_resolution::ABSOLUTE,
                size: Some(4_976_698_672),
                modified: Some(now),
                inode: Some(1_000_000 + i as u64),
                version: None,
                mode: AccessMode::Read,
                syscall: Some("openat"),
                flags: Some(0o2_000_000),
                count: 1,
                tracer: "ebpf",
                origin: aibom_semconv::access_origin::TRACE,
                scan_id: None,
                process: processes[(pid - 40_000) as usize].clone(),
                refused: false,
                violation: None,
                api: None,
                opened: None,
            }
        })
        .collect()
}

/// A rotel-agent receiving OTLP on two free ports, exporting to its blackhole.
struct Rotel {
    child: Child,
    grpc: u16,
    http: u16,
}

impl Rotel {
    fn start(bin: &Path, tmp: &Path) -> Result<Self> {
        let (grpc, http) = (free_port()?, free_port()?);
        let log = fs::File::create(tmp.join("rotel.log"))?;
        let mut child = Command::new(bin)
            .args([
                "start",
                "--otlp-grpc-endpoint",
                &format!("127.0.0.1:{grpc}"),
            ])
            .args(["--otlp-http-endpoint", &format!("127.0.0.1:{http}")])
            .args(["--exporter", "blackhole", "--disable-batching"])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting rotel-agent")?;
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", grpc)).is_err()
            || std::net::TcpStream::connect(("127.0.0.1", http)).is_err()
        {
            if let Some(st) = child.try_wait()? {
                bail!(
                    "rotel-agent exited ({st}):\n{}",
                    fs::read_to_string(tmp.join("rotel.log")).unwrap_or_default()
                );
            }
            if t.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                let _ = child.wait();
                bail!("rotel-agent did not listen within 30 s");
            }
            thread::sleep(Duration::from_millis(50));
        }
        Ok(Rotel { child, grpc, http })
    }

    /// User + system CPU time rotel-agent used so far.
    fn cpu_time(&self) -> Duration {
        let stat =
            fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // fields after the `(comm)`: state is the 1st, utime the 12th, stime the 13th
        let ticks: u64 = stat
            .rsplit_once(')')
            .map(|(_, rest)| {
                rest.split_whitespace()
                    .skip(11)
                    .take(2)
                    .filter_map(|v| v.parse::<u64>().ok())
                    .sum()
            })
            .unwrap_or(0);
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        Duration::from_nanos(ticks * 1_000_000_000 / hz)
    }

    fn grpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc)
    }

    fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http)
    }
}

impl Drop for Rotel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The rotel-agent binary of the repository's venv.
fn rotel_agent(repo: &Path) -> Option<PathBuf> {
    let python = repo.join(".venv/bin/python");
    let out = Command::new(&python)
        .args([
            "-c",
            "import rotel, os; print(os.path.join(os.path.dirname(rotel.__file__), 'rotel-agent'))",
        ])
        .output()
        .ok()?;
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    p.exists().then_some(p)
}

/// User + system CPU time of this process, every thread.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let ru = unsafe {
        let mut ru = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// A TCP port nothing listens on (right now).
fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Bytes of the spooled requests under `dir` (recursively: a private spool is a subdirectory).
fn spool_bytes(dir: &Path) -> u64 {
    walk_pb(dir).iter().map(|(_, b)| b).sum()
}

/// Spooled requests under `dir`.
fn count_pb(dir: &Path) -> usize {
    walk_pb(dir).len()
}

fn walk_pb(dir: &Path) -> Vec<(PathBuf, u64)> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let p = e.path();
        match e.metadata() {
            Ok(m) if m.is_dir() => out.extend(walk_pb(&p)),
            Ok(m) if p.extension().is_some_and(|x| x == "pb") => out.push((p, m.len())),
            _ => {}
        }
    }
    out
}

/// The value of `key=value` in whitespace-separated text.
fn kv<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.split_whitespace()
        .filter_map(|t| t.split_once('='))
        .find_map(|(k, v)| (k == key).then_some(v))
}

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
    eprintln!("[export] {what}");
}

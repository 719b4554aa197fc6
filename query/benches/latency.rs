//! Latency of the runtime API at 1 M and 10 M rows in `runtime_events` (chDB behind
//! `scripts/chdb-http`, the real ClickHouse engine). Prints Markdown tables.
//!
//! `cargo bench -p aibom-query --bench latency` (a plain `main`, no harness). Env:
//! `AIBOM_BENCH_ROWS` (default `1000000,10000000`: cumulative sizes measured in turn),
//! `AIBOM_BENCH_REQUESTS` (sequential requests per endpoint, default 50),
//! `AIBOM_BENCH_BUDGET_S` (stop an endpoint early, after >= 10 requests, once it has used this
//! many seconds; default 240). Without chdb-http/chDB it prints why and exits 0.
//!
//! Rows are generated server-side (`INSERT INTO runtime_events SELECT ... FROM numbers(N)`):
//! 5 projects, 2,000 artifacts (400 per project), realistic types/providers/licenses, pids,
//! times spread over the last 30 days. Note chdb-http runs one statement at a time, so the
//! summary's four concurrent queries are serialized there (a real server runs them in parallel).
#[path = "../tests/common/mod.rs"]
mod common;

use common::{ClickHouse, DB, TOKEN};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const PROJECTS: u64 = 5;
const ARTIFACTS: u64 = 2_000;
const THIRTY_DAYS_NS: u64 = 30 * 86_400 * 1_000_000_000;

fn main() {
    // `cargo test` also builds benches with --test-ish flags; only run under `--bench`.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("latency bench: run with `cargo bench -p aibom-query --bench latency`");
        return;
    }
    let wall = Instant::now();
    let sizes: Vec<u64> = std::env::var("AIBOM_BENCH_ROWS")
        .unwrap_or_else(|_| "1000000,10000000".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("AIBOM_BENCH_ROWS: comma-separated row counts")
        })
        .collect();
    let requests: usize = env_num("AIBOM_BENCH_REQUESTS", 50);
    let budget = Duration::from_secs(env_num("AIBOM_BENCH_BUDGET_S", 240) as u64);

    let Some(ch) = ClickHouse::start() else {
        return;
    };
    // Not common::migrate: that pins --ttl-days 30, which would expire the oldest generated rows.
    let out = common::aibom_query()
        .args([
            "--migrate-only",
            "--clickhouse-url",
            &ch.url(),
            "--database",
            DB,
        ])
        .args(["--ttl-days", "90"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "migrate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sidecar = Sidecar::start(&ch);
    let client = reqwest::Client::new();

    println!("# aibom-query latency (chdb-http, sequential requests)\n");
    println!(
        "host: {} CPUs; load average at start: {}\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );

    let now_ns = chrono::Utc::now().timestamp_nanos_opt().unwrap() as u64;
    let mut loaded = 0u64;
    let mut ingest = Vec::new();
    let mut results = Vec::new();
    for &target in &sizes {
        if target > loaded {
            let n = target - loaded;
            let t = Instant::now();
            ch.sql(&insert_sql(loaded, n, now_ns), "");
            let secs = t.elapsed().as_secs_f64();
            eprintln!("inserted {n} rows in {secs:.1} s");
            ingest.push((loaded, n, secs));
            loaded = target;
        }
        let count: u64 = ch
            .sql("SELECT count() FROM runtime_events", "")
            .trim()
            .parse()
            .unwrap();
        assert_eq!(count, loaded, "rows in runtime_events");
        // Let background merges settle a little so the measurement is not of a burst of parts.
        let parts = ch.sql(
            "SELECT count() FROM system.parts WHERE database = currentDatabase() \
             AND table = 'runtime_events' AND active",
            "",
        );
        let project = "proj-0";
        let base = format!("{}/projects/{project}/runtime", sidecar.base);
        let endpoints = [
            ("summary", format!("{base}/summary")),
            ("events ?limit=100", format!("{base}/events?limit=100")),
            (
                "events ?type=model&provider=huggingface&limit=100",
                format!("{base}/events?type=model&provider=huggingface&limit=100"),
            ),
        ];
        for (name, url) in endpoints {
            let s = measure(&client, &url, requests, budget);
            eprintln!(
                "{loaded} rows, {name}: p50 {:.1} ms, p99 {:.1} ms",
                s.p50, s.p99
            );
            results.push((loaded, name, s, parts.trim().to_string()));
        }
        // The summary's dominant inner aggregation, run directly (one statement).
        let t = Instant::now();
        let groups = ch.sql(
            &format!(
                "SELECT count() FROM (SELECT file_path, time, process_pid, count() \
                 FROM runtime_events WHERE project_id = '{project}' \
                 GROUP BY file_path, time, process_pid)"
            ),
            "",
        );
        results.push((
            loaded,
            "direct SQL: GROUP BY file_path, time, process_pid (1 project)",
            Stats::single(t.elapsed(), groups.trim()),
            parts.trim().to_string(),
        ));
    }

    println!("## Ingest (`INSERT INTO runtime_events SELECT ... FROM numbers(N)`, server-side)\n");
    println!("| rows before | rows inserted | seconds | rows/s |");
    println!("| ---: | ---: | ---: | ---: |");
    for (before, n, secs) in &ingest {
        println!(
            "| {before} | {n} | {secs:.1} | {:.0} |",
            *n as f64 / secs.max(1e-9)
        );
    }
    println!("\n## Latency (ms; project `proj-0` = 1/5 of the rows)\n");
    println!("| rows | endpoint | n | p50 | p99 | min | max | status | active parts |");
    println!("| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |");
    for (rows, name, s, parts) in &results {
        println!(
            "| {rows} | {name} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {parts} |",
            s.n, s.p50, s.p99, s.min, s.max, s.status
        );
    }
    let target = results
        .iter()
        .find(|(rows, name, _, _)| *rows >= 10_000_000 && *name == "summary");
    if let Some((_, _, s, _)) = target {
        println!(
            "\nTarget (summary <= 150 ms at 10 M rows): p50 {:.0} ms, p99 {:.0} ms -> {}",
            s.p50,
            s.p99,
            if s.p99 <= 150.0 {
                "met"
            } else if s.p50 <= 150.0 {
                "met at p50 only"
            } else {
                "NOT met"
            }
        );
    }
    println!("\nwall time: {:.0} s", wall.elapsed().as_secs_f64());
    drop(sidecar);
    drop(ch);
}

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `n` rows numbered from `from`: row k belongs to artifact `a = hash(k) % 2000`, and artifact a
/// to project `a % 5`, so each project has 400 artifacts with stable attributes.
fn insert_sql(from: u64, n: u64, now_ns: u64) -> String {
    format!(
        "INSERT INTO runtime_events
        (project_id, time, event_id, event_name, artifact_id, artifact_name, artifact_type,
         artifact_role, artifact_format, artifact_format_mismatch, artifact_provider,
         artifact_license, artifact_revision, artifact_sha256, file_path, file_size, access_mode,
         access_count, process_pid, process_parent_pid, process_executable_name,
         process_executable_path, process_owner, container_id, k8s_pod_name, k8s_namespace_name,
         tracer, scan_id, host_name, service_instance_id)
        SELECT
            concat('proj-', toString(a % {PROJECTS})) AS project_id,
            fromUnixTimestamp64Nano(toInt64({now_ns} - cityHash64(number, 1) % {THIRTY_DAYS_NS}), 'UTC'),
            sipHash64(number),
            '',
            if(prov = 'local', '', concat('pkg:', prov, '/org', toString(a % 37), '/', atype, '-', toString(a))),
            concat('org', toString(a % 37), '/', atype, '-', toString(a)),
            atype,
            ['weights', 'tokenizer', 'config', 'card', 'adapter'][1 + intDiv(cityHash64(number, 2) % 100, 20)],
            ['safetensors', 'gguf', 'pytorch', 'onnx', 'json'][1 + a % 5],
            if(a % 97 = 0, 'pickle', ''),
            prov,
            ['apache-2.0', 'mit', 'llama3.1', 'cc-by-4.0', 'gemma', ''][1 + intDiv(a, 7) % 6],
            lower(hex(substring(SHA1(toString(a)), 1, 20))),
            if(a % 11 = 0, '', lower(hex(SHA256(toString(a))))),
            concat('/models/', prov, '/', toString(a), '/model.safetensors'),
            toNullable(toUInt64(1048576 + a * 4096)),
            'read',
            1 + cityHash64(number, 3) % 4,
            toUInt32(1000 + cityHash64(number, 4) % 200) AS pid,
            toNullable(toUInt32(1)),
            ['python3', 'python', 'ollama', 'vllm'][1 + pid % 4],
            ['/usr/bin/python3', '/usr/bin/python', '/usr/local/bin/ollama', '/opt/vllm/bin/vllm'][1 + pid % 4],
            'app',
            lower(hex(substring(SHA256(toString(pid)), 1, 32))),
            concat('inference-', toString(pid % 20)),
            'ml',
            'ebpf',
            if(number % 1000 = 0, '4f1c2b1e-2a55-4b77-9a4e-0c1f3e1d2b3a', ''),
            concat('node-', toString(pid % 3)),
            concat('aibomd-', toString(pid % 3))
        FROM (
            SELECT number, cityHash64(number) % {ARTIFACTS} AS a,
                ['model', 'model', 'model', 'model', 'dataset', 'dataset', 'prompt', 'tool', 'config', 'config'][1 + intDiv(a, 5) % 10] AS atype,
                ['huggingface', 'huggingface', 'huggingface', 'openai', 'google', 'local', 'unknown'][1 + intDiv(a, 3) % 7] AS prov
            FROM numbers({from}, {n})
        )"
    )
}

struct Stats {
    n: usize,
    p50: f64,
    p99: f64,
    min: f64,
    max: f64,
    status: String,
}

impl Stats {
    fn single(d: Duration, note: &str) -> Self {
        let ms = d.as_secs_f64() * 1e3;
        Stats {
            n: 1,
            p50: ms,
            p99: ms,
            min: ms,
            max: ms,
            status: format!("{note} groups"),
        }
    }
}

fn measure(client: &reqwest::Client, url: &str, n: usize, budget: Duration) -> Stats {
    common::block(async {
        // Warm-up (marks, caches), not counted.
        for _ in 0..2 {
            let r = client.get(url).bearer_auth(TOKEN).send().await.unwrap();
            let st = r.status();
            let body = r.text().await.unwrap();
            assert!(st.is_success(), "{url}: {st} {body}");
        }
        let mut ms = Vec::with_capacity(n);
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        let started = Instant::now();
        for _ in 0..n {
            let t = Instant::now();
            let r = client.get(url).bearer_auth(TOKEN).send().await.unwrap();
            let st = r.status().as_u16();
            let _ = r.bytes().await.unwrap();
            ms.push(t.elapsed().as_secs_f64() * 1e3);
            *statuses.entry(st).or_default() += 1;
            if ms.len() >= 10 && started.elapsed() > budget {
                break;
            }
        }
        ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let pct = |p: f64| {
            let i = ((p / 100.0) * ms.len() as f64).ceil() as usize;
            ms[i.clamp(1, ms.len()) - 1]
        };
        Stats {
            n: ms.len(),
            p50: pct(50.0),
            p99: pct(99.0),
            min: ms[0],
            max: ms[ms.len() - 1],
            status: statuses
                .iter()
                .map(|(s, c)| format!("{s}x{c}"))
                .collect::<Vec<_>>()
                .join(" "),
        }
    })
}

/// The sidecar with a generous query timeout (the tests' helper pins 10 s).
struct Sidecar {
    child: Child,
    base: String,
}

impl Sidecar {
    fn start(ch: &ClickHouse) -> Self {
        let port = common::free_port();
        let child = common::aibom_query()
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--clickhouse-url",
                &ch.url(),
                "--database",
                DB,
                "--query-timeout",
                "300",
            ])
            .env("AIBOM_QUERY_TOKEN", TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "aibom-query did not listen"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Sidecar {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

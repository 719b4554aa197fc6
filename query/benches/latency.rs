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
//! times spread over the last 30 days; 99 % of rows named `aibom.artifact.access` as aibomd
//! sends them, 1 % unnamed (old exporters: the twin-folding path). Inserting into
//! `runtime_events` also fills the `runtime_artifacts` aggregate through its view, as in
//! production. Note chdb-http runs one statement at a time.
//!
//! Also measured: the old summary (its four statements over `runtime_events`, before the
//! aggregate; `AIBOM_BENCH_OLD_REPS` runs, default 3, 0 to skip), and ingest through the real
//! collector: OTLP/HTTP log records shaped like aibomd's into rotel-agent -> ClickHouse
//! (`AIBOM_BENCH_ROTEL_ROWS`, default 200000, 0 to skip), timed until the rows are in
//! `runtime_events`. `AIBOM_BENCH_BODY_OUT=FILE` writes one such request body (OTLP JSON) to
//! FILE for `query/benches/wire_bytes.py`. Also printed: bytes per row of every table
//! (`system.parts`, compressed and not) after each step.
#[path = "../tests/common/mod.rs"]
mod common;

use aibom_semconv::{attr, event};
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
    let old_reps: usize = env_num("AIBOM_BENCH_OLD_REPS", 3);
    let rotel_rows: usize = env_num("AIBOM_BENCH_ROTEL_ROWS", 200_000);
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
    let mut storage: Vec<(u64, String)> = Vec::new();
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
        storage.push((loaded, parts_bytes(&ch)));
        let agg_rows = ch.sql(
            &format!("SELECT count() FROM runtime_artifacts WHERE project_id = '{project}'"),
            "",
        );
        eprintln!(
            "{loaded} rows: runtime_artifacts rows of {project}: {}",
            agg_rows.trim()
        );
        // Steady state: the aggregate's parts merged (right after a bulk load each path and
        // month still has a row per inserted block; background merges fold them over time).
        ch.sql("OPTIMIZE TABLE runtime_artifacts FINAL", "");
        let s = measure(&client, &format!("{base}/summary"), requests, budget);
        eprintln!(
            "{loaded} rows, summary (aggregate merged): p50 {:.1} ms, p99 {:.1} ms",
            s.p50, s.p99
        );
        results.push((
            loaded,
            "summary, runtime_artifacts merged",
            s,
            parts.trim().to_string(),
        ));
        if old_reps > 0 {
            let s = old_summary(&ch, project, old_reps);
            eprintln!(
                "{loaded} rows, old summary: p50 {:.1} ms, max {:.1} ms",
                s.p50, s.max
            );
            results.push((
                loaded,
                "old summary (4 statements, before 0007)",
                s,
                parts.trim().to_string(),
            ));
        }
    }
    let rotel = if rotel_rows > 0 {
        rotel_ingest(&ch, rotel_rows)
    } else {
        None
    };
    if rotel.is_some() {
        // otel_logs holds only the collector's rows: its bytes per row are a log record's
        storage.push((loaded, parts_bytes(&ch)));
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
    if let Some((n, secs, batch, wire)) = rotel {
        println!(
            "\nThrough the collector (OTLP/HTTP JSON, {batch} records per request, 4 in flight \
             -> rotel-agent --disable-batching -> chdb-http -> otel_logs -> views): {n} rows in \
             {secs:.1} s = {:.0} rows/s; request bodies {:.0} bytes per record (uncompressed \
             OTLP JSON)",
            n as f64 / secs.max(1e-9),
            wire as f64 / n as f64
        );
    }
    println!("\n## Storage (`system.parts`, active parts, after each step)\n");
    println!("| runtime_events rows | table | rows | compressed bytes | uncompressed bytes | bytes/row compressed | bytes/row uncompressed | ratio |");
    println!("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (rows, tsv) in &storage {
        for line in tsv.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            let (n, c, u): (f64, f64, f64) = (
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            );
            println!(
                "| {rows} | {} | {} | {} | {} | {:.1} | {:.1} | {:.1} |",
                f[0],
                f[1],
                f[2],
                f[3],
                c / n.max(1.0),
                u / n.max(1.0),
                u / c.max(1.0)
            );
        }
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
    for (rows, _, s, _) in results.iter().filter(|r| r.1.starts_with("old summary")) {
        if let Some((_, _, new, _)) = results.iter().find(|r| r.0 == *rows && r.1 == "summary") {
            println!(
                "\nsummary at {rows} rows: old p50 {:.0} ms -> new p50 {:.1} ms ({:.0}x faster)",
                s.p50,
                new.p50,
                s.p50 / new.p50.max(1e-9)
            );
        }
    }
    for label in ["summary", "summary, runtime_artifacts merged"] {
        let target = results
            .iter()
            .find(|(rows, name, _, _)| *rows >= 10_000_000 && *name == label);
        if let Some((_, _, s, _)) = target {
            println!(
                "\nTarget (summary <= 150 ms at 10 M rows), {label}: p50 {:.0} ms, p99 {:.0} ms -> {}",
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
    let access = event::ARTIFACT_ACCESS;
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
            if(number % 100 = 0, '', '{access}'),
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

/// The old summary endpoint's statements, run one after another as chdb-http serialized them:
/// the artifact list, the counts and the totals (each embedding the per-row aggregation), and
/// the event totals. Trusted constants only are formatted in (no user input in a bench).
fn old_summary(ch: &ClickHouse, project: &str, reps: usize) -> Stats {
    let per = old_artifacts_sql()
        .replace("{project:String}", &format!("'{project}'"))
        .replace(
            "{identified:String}",
            &format!("'{}'", event::ARTIFACT_IDENTIFIED),
        );
    let stmts = [
        format!("{per}\n    ORDER BY last_ns DESC, key LIMIT 1001 FORMAT Null"),
        format!(
            "SELECT tupleElement(d, 1) AS dim, tupleElement(d, 2) AS value, count() AS artifacts, \
             sum(accesses) AS accesses FROM ({per}) \
             ARRAY JOIN [('type', atype), ('provider', provider), ('license', license)] AS d \
             GROUP BY dim, value ORDER BY dim, artifacts DESC, value FORMAT Null"
        ),
        format!(
            "SELECT count() AS artifacts, sum(accesses) AS accesses, \
             countIf(license = '') AS unknown_license, countIf(mismatch != '') AS format_mismatch \
             FROM ({per}) FORMAT Null"
        ),
        format!(
            "SELECT count(), uniqExact(process_executable_name, process_pid), min(time), max(time) \
             FROM runtime_events WHERE project_id = '{project}' FORMAT Null"
        ),
    ];
    let mut ms = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        for q in &stmts {
            ch.sql(q, "");
        }
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Stats {
        n: ms.len(),
        p50: ms[(ms.len() - 1) / 2],
        p99: ms[ms.len() - 1],
        min: ms[0],
        max: ms[ms.len() - 1],
        status: "direct SQL".into(),
    }
}

/// Sends `n` aibomd-shaped log records (project `ingest`) to a real rotel-agent writing into
/// `ch`, and times them until all are rows of `runtime_events`: (rows, seconds, batch size).
fn rotel_ingest(ch: &ClickHouse, n: usize) -> Option<(usize, f64, usize, usize)> {
    const BATCH: usize = 1000;
    let Some(agent) = common::rotel_agent() else {
        eprintln!("rotel-agent is not in .venv: ingest through the collector not measured");
        return None;
    };
    let (http, grpc) = (common::free_port(), common::free_port());
    let _rotel = common::Killed(
        common::rotel_command(&agent, ch, http, grpc)
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{http}/v1/logs");
    common::wait_for_port(http, Duration::from_secs(30));
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap();
    let kv = |k: &str, v: String| serde_json::json!({"key": k, "value": {"stringValue": v}});
    let body = |b: usize| {
        let records: Vec<_> = (0..BATCH)
            .map(|i| {
                let k = b * BATCH + i;
                serde_json::json!({
                    "timeUnixNano": (now - (k as i64) * 1000).to_string(),
                    "eventName": event::ARTIFACT_ACCESS,
                    "body": {"stringValue": format!("/models/m{}/model.safetensors", k % 50)},
                    "attributes": [
                        kv(aibom_semconv::record::EVENT_NAME, event::ARTIFACT_ACCESS.into()),
                        kv(attr::FILE_PATH, format!("/models/m{}/model.safetensors", k % 50)),
                        kv(attr::ACCESS_MODE, "read".into()),
                        kv(attr::ACCESS_COUNT, "1".into()),
                        kv(attr::PROCESS_PID, (1000 + k % 7).to_string()),
                        kv(attr::PROCESS_EXECUTABLE_NAME, "python3".into()),
                        kv(attr::TRACER, "ebpf".into()),
                        kv(attr::ARTIFACT_TYPE, "model".into()),
                        kv(attr::ARTIFACT_FORMAT, "safetensors".into()),
                        kv(attr::ARTIFACT_PROVIDER, "huggingface".into()),
                        kv(attr::ARTIFACT_ID, format!("pkg:huggingface/org/m{}", k % 50)),
                        kv(attr::ARTIFACT_LICENSE, "apache-2.0".into()),
                        kv(attr::ARTIFACT_SHA256, format!("{:064x}", k % 50)),
                    ],
                })
            })
            .collect();
        serde_json::json!({"resourceLogs": [{
            "resource": {"attributes": [
                kv(attr::SERVICE_NAME, "aibomd".into()),
                kv(attr::PROJECT_ID, "ingest".into()),
                kv(attr::HOST_NAME, "bench".into()),
            ]},
            "scopeLogs": [{"scope": {"name": "aibomd"}, "logRecords": records}],
        }]})
    };
    let batches = n.div_ceil(BATCH);
    let bodies: Vec<String> = (0..batches).map(|b| body(b).to_string()).collect();
    let wire: usize = bodies.iter().map(String::len).sum();
    if let Ok(path) = std::env::var("AIBOM_BENCH_BODY_OUT") {
        // one request body, for query/benches/wire_bytes.py (protobuf and gzip sizes)
        std::fs::write(&path, &bodies[0]).unwrap();
    }
    let client = reqwest::Client::new();
    let count = || -> usize {
        ch.sql(
            "SELECT count() FROM runtime_events WHERE project_id = 'ingest'",
            "",
        )
        .trim()
        .parse()
        .unwrap()
    };
    let t = Instant::now();
    common::block(async {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let next = std::sync::Arc::new(AtomicUsize::new(0));
        let bodies = std::sync::Arc::new(bodies);
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (next, bodies, client, url) =
                    (next.clone(), bodies.clone(), client.clone(), url.clone());
                tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(b) = bodies.get(i) else { break };
                        let r = client
                            .post(&url)
                            .header("content-type", "application/json")
                            .body(b.clone())
                            .send()
                            .await
                            .unwrap();
                        assert!(r.status().is_success(), "rotel: {}", r.status());
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let sent = t.elapsed();
    let total = batches * BATCH;
    let deadline = Instant::now() + Duration::from_secs(600);
    while count() < total {
        assert!(Instant::now() < deadline, "rotel: rows never all arrived");
        std::thread::sleep(Duration::from_millis(200));
    }
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "rotel ingest: {total} rows sent in {:.1} s, all in runtime_events after {secs:.1} s",
        sent.as_secs_f64()
    );
    Some((total, secs, BATCH, wire))
}

/// Per table of the bench database: rows, compressed and uncompressed bytes of its active
/// parts (TSV lines).
fn parts_bytes(ch: &ClickHouse) -> String {
    ch.sql(
        "SELECT table, sum(rows), sum(data_compressed_bytes), sum(data_uncompressed_bytes) \
         FROM system.parts WHERE database = currentDatabase() AND active AND rows > 0 \
         GROUP BY table ORDER BY table FORMAT TSV",
        "",
    )
}

/// The summary's per-artifact query before `runtime_artifacts` existed (commit ce6cf16),
/// kept to measure the old endpoint against the new one in the same run.
fn old_artifacts_sql() -> String {
    const LIST_CAP: u32 = 100;
    const EVENTS_TABLE: &str = "runtime_events";
    let a = |col: &str, alias: &str| format!("toString(anyIf({col}, {col} != '')) AS {alias}");
    let b = |col: &str, alias: &str| format!("argMaxIf({col}, a_time, {col} != '') AS {alias}");
    let c = |col: &str, alias: &str| format!("anyIf({col}, {col} != '') AS {alias}");
    let cols = [
        ("artifact_id", "a_id", "b_id", "id"),
        ("artifact_name", "a_name", "b_name", "name"),
        ("artifact_type", "a_type", "b_type", "atype"),
        ("artifact_provider", "a_provider", "b_provider", "provider"),
        ("artifact_license", "a_license", "b_license", "license"),
        ("artifact_format", "a_format", "b_format", "format"),
        (
            "artifact_format_mismatch",
            "a_mismatch",
            "b_mismatch",
            "mismatch",
        ),
    ];
    let join = |v: Vec<String>| v.join(",\n        ");
    let level_a = join(cols.iter().map(|x| a(x.0, x.1)).collect());
    let level_b = join(cols.iter().map(|x| b(x.1, x.2)).collect());
    let level_c = join(cols.iter().map(|x| c(x.2, x.3)).collect());
    format!(
        "SELECT
        if(b_id != '', b_id, if(b_sha != '', b_sha, b_path)) AS key,
        {level_c},
        groupUniqArrayIf({LIST_CAP})(b_sha, b_sha != '') AS sha256,
        groupUniqArray({LIST_CAP})(b_path) AS paths,
        toUnixTimestamp64Nano(min(b_first)) AS first_ns,
        toUnixTimestamp64Nano(max(b_last)) AS last_ns,
        sum(b_n) AS accesses,
        arraySlice(arrayDistinct(arrayFlatten(groupArray(b_procs))), 1, {LIST_CAP}) AS processes
    FROM (
        SELECT
        a_path AS b_path,
        {level_b},
        argMaxIf(a_sha, a_time, a_sha != '') AS b_sha,
        min(a_time) AS b_first,
        max(a_time) AS b_last,
        sum(a_n) AS b_n,
        groupUniqArray({LIST_CAP})(tuple(a_exe, a_pid)) AS b_procs
        FROM (
            SELECT
            file_path AS a_path,
            time AS a_time,
            process_pid AS a_pid,
            maxIf(access_count, event_name != {{identified:String}}) AS a_n,
            {level_a},
            anyIf(artifact_sha256, artifact_sha256 != '') AS a_sha,
            toString(any(process_executable_name)) AS a_exe
            FROM {EVENTS_TABLE}
            WHERE project_id = {{project:String}}
            GROUP BY file_path, time, process_pid
        )
        GROUP BY a_path
    )
    GROUP BY key"
    )
}

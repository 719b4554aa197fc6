//! Prometheus metrics of the sidecar itself, served as text on `/metrics`.
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Registry {
    /// (method, route, status) -> requests.
    requests: BTreeMap<(String, String, u16), u64>,
    /// (method, route) -> latency.
    latency: BTreeMap<(String, String), Histogram>,
    /// kind -> ClickHouse errors.
    ch_errors: BTreeMap<String, u64>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    requests: BTreeMap::new(),
    latency: BTreeMap::new(),
    ch_errors: BTreeMap::new(),
});

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

/// Live streams open now, slow ones dropped, and ones refused at the cap.
static STREAMS: [std::sync::atomic::AtomicI64; 3] = [
    std::sync::atomic::AtomicI64::new(0),
    std::sync::atomic::AtomicI64::new(0),
    std::sync::atomic::AtomicI64::new(0),
];

/// A live stream opened (`+1`) or closed (`-1`).
pub fn stream_clients(delta: i64) {
    STREAMS[0].fetch_add(delta, std::sync::atomic::Ordering::Relaxed);
}

/// A live stream was disconnected for reading too slowly.
pub fn stream_dropped() {
    STREAMS[1].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// A live stream was refused (all slots taken).
pub fn stream_rejected() {
    STREAMS[2].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Counts a failed ClickHouse request (`unavailable`, `timeout`, `schema`, `query`).
pub fn clickhouse_error(kind: &str) {
    *registry().ch_errors.entry(kind.to_string()).or_default() += 1;
}

/// Middleware: counts requests and their latency by route template (never the raw path, so
/// hostile ids cannot blow up label cardinality).
pub async fn track(req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let start = Instant::now();
    let resp = next.run(req).await;
    let secs = start.elapsed().as_secs_f64();
    let mut r = registry();
    *r.requests
        .entry((method.clone(), route.clone(), resp.status().as_u16()))
        .or_default() += 1;
    let h = r.latency.entry((method, route)).or_default();
    for (i, b) in BUCKETS.iter().enumerate() {
        if secs <= *b {
            h.counts[i] += 1;
        }
    }
    h.sum += secs;
    h.count += 1;
    resp
}

fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The Prometheus text exposition of every metric.
pub fn render() -> String {
    let r = registry();
    let mut s = String::new();
    s.push_str(
        "# HELP aibom_query_requests_total HTTP requests served, by route template and status.\n",
    );
    s.push_str("# TYPE aibom_query_requests_total counter\n");
    for ((m, route, st), n) in &r.requests {
        let _ = writeln!(
            s,
            "aibom_query_requests_total{{method=\"{}\",route=\"{}\",status=\"{st}\"}} {n}",
            esc(m),
            esc(route)
        );
    }
    s.push_str("# HELP aibom_query_request_duration_seconds HTTP request latency.\n");
    s.push_str("# TYPE aibom_query_request_duration_seconds histogram\n");
    for ((m, route), h) in &r.latency {
        let l = format!("method=\"{}\",route=\"{}\"", esc(m), esc(route));
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                s,
                "aibom_query_request_duration_seconds_bucket{{{l},le=\"{b}\"}} {}",
                h.counts[i]
            );
        }
        let _ = writeln!(
            s,
            "aibom_query_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(
            s,
            "aibom_query_request_duration_seconds_sum{{{l}}} {}",
            h.sum
        );
        let _ = writeln!(
            s,
            "aibom_query_request_duration_seconds_count{{{l}}} {}",
            h.count
        );
    }
    s.push_str("# HELP aibom_query_clickhouse_errors_total Failed ClickHouse requests, by kind.\n");
    s.push_str("# TYPE aibom_query_clickhouse_errors_total counter\n");
    for kind in ["unavailable", "timeout", "schema", "query"] {
        let n = r.ch_errors.get(kind).copied().unwrap_or(0);
        let _ = writeln!(
            s,
            "aibom_query_clickhouse_errors_total{{kind=\"{kind}\"}} {n}"
        );
    }
    let load = |i: usize| STREAMS[i].load(std::sync::atomic::Ordering::Relaxed);
    for (i, name, kind, help) in [
        (
            0,
            "aibom_query_stream_clients",
            "gauge",
            "Live streams open.",
        ),
        (
            1,
            "aibom_query_stream_dropped_total",
            "counter",
            "Live streams disconnected for reading too slowly.",
        ),
        (
            2,
            "aibom_query_stream_rejected_total",
            "counter",
            "Live streams refused: --stream-max-clients reached.",
        ),
    ] {
        let _ = writeln!(
            s,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}",
            load(i)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_error_counters() {
        super::clickhouse_error("timeout");
        let t = super::render();
        assert!(t.contains("# TYPE aibom_query_clickhouse_errors_total counter"));
        assert!(t.lines().any(|l| l
            .starts_with("aibom_query_clickhouse_errors_total{kind=\"timeout\"} ")
            && !l.ends_with(" 0")));
    }
}

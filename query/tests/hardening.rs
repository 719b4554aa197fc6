//! Stack defaults of the sidecar (issue 20): `/healthz` tells no ClickHouse error text,
//! DELETE needs an admin token distinct from the read token, and every ClickHouse query
//! carries `max_execution_time`, a query ClickHouse stops being a 504.
mod common;

use common::*;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Text a ClickHouse error may carry that must never reach an open route.
const SECRET: &str = "ch-secret-host.internal:9000 user aibom_rw";

/// A fake ClickHouse HTTP interface: records every request's query string and answers
/// every query with `status` and `body` (`/ping` is `Ok.`).
fn fake_clickhouse(status: u16, body: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
    use axum::extract::RawQuery;
    use axum::http::StatusCode;
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let rec = seen.clone();
    let listener = block(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new()
        .route("/ping", axum::routing::get(|| async { "Ok.\n" }))
        .fallback(move |RawQuery(q): RawQuery| {
            let rec = rec.clone();
            async move {
                rec.lock().unwrap().push(q.unwrap_or_default());
                (
                    StatusCode::from_u16(status).unwrap(),
                    [("X-ClickHouse-Exception-Code", "159")],
                    body,
                )
            }
        });
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async { axum::serve(listener, app).await.unwrap() })
    });
    (format!("http://127.0.0.1:{port}"), seen)
}

/// A sidecar on a free port against `url`, with `env` set (tokens) and `extra` flags.
struct Proc {
    child: std::process::Child,
    base: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sidecar(url: &str, env: &[(&str, &str)], extra: &[&str]) -> Proc {
    let port = free_port();
    let mut c = aibom_query();
    c.args([
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--clickhouse-url",
        url,
        "--database",
        DB,
    ])
    .args(extra)
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let child = c.spawn().unwrap();
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "sidecar did not listen"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Proc {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

#[test]
fn healthz_tells_no_clickhouse_error_text() {
    let body: &'static str = Box::leak(
        format!(
            "Code: 516. DB::Exception: {SECRET}: Authentication failed. (AUTHENTICATION_FAILED)\n"
        )
        .into_boxed_str(),
    );
    let (url, _) = fake_clickhouse(500, body);
    let sc = sidecar(&url, &[("AIBOM_QUERY_TOKEN", TOKEN)], &[]);
    let r = call("GET", &format!("{}/healthz", sc.base), None, None);
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.json["status"], "unavailable");
    assert_eq!(
        r.json["error"],
        aibom_query::routes::HEALTH_UNAVAILABLE,
        "a fixed message: {}",
        r.text
    );
    assert!(!r.text.contains("ch-secret-host"), "{}", r.text);
    assert!(!r.text.contains("Code: "), "{}", r.text);

    // Unreachable ClickHouse: the same fixed answer, no socket error text.
    let sc = sidecar(
        &format!("http://127.0.0.1:{}", free_port()),
        &[("AIBOM_QUERY_TOKEN", TOKEN)],
        &[],
    );
    let r = call("GET", &format!("{}/healthz", sc.base), None, None);
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.json["error"], aibom_query::routes::HEALTH_UNAVAILABLE);
}

#[test]
fn queries_carry_max_execution_time_and_a_stopped_query_is_504() {
    let (url, seen) = fake_clickhouse(
        500,
        "Code: 159. DB::Exception: Timeout exceeded: elapsed 2.0 seconds, maximum: 2. (TIMEOUT_EXCEEDED) (version 25.8.1.1)\n",
    );
    // The default: 30 s.
    let sc = sidecar(&url, &[("AIBOM_QUERY_TOKEN", TOKEN)], &[]);
    let r = call(
        "GET",
        &format!("{}/projects/p/runtime/events", sc.base),
        Some(TOKEN),
        None,
    );
    assert_eq!(r.status, 504, "{}", r.text);
    assert!(
        r.json["error"]
            .as_str()
            .unwrap()
            .contains("max_execution_time"),
        "{}",
        r.text
    );
    let q = seen.lock().unwrap().last().cloned().unwrap();
    assert!(q.contains("max_execution_time=30"), "{q}");
    drop(sc);

    // Configurable.
    let sc = sidecar(
        &url,
        &[
            ("AIBOM_QUERY_TOKEN", TOKEN),
            ("AIBOM_QUERY_MAX_EXECUTION_TIME", "2"),
        ],
        &[],
    );
    let r = call(
        "GET",
        &format!("{}/projects/p/runtime/summary", sc.base),
        Some(TOKEN),
        None,
    );
    assert_eq!(r.status, 504, "{}", r.text);
    let q = seen.lock().unwrap().last().cloned().unwrap();
    assert!(q.contains("max_execution_time=2"), "{q}");
    assert!(!q.contains("max_execution_time=30"), "{q}");
}

#[test]
fn delete_needs_the_admin_token() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let out = migrate(&ch);
    assert!(
        out.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = |sc: &Proc| format!("{}/projects/proj-a/runtime/events", sc.base);

    // No admin token configured: DELETE is refused, saying how to enable it; reads work.
    let sc = sidecar(&ch.url(), &[("AIBOM_QUERY_TOKEN", TOKEN)], &[]);
    let r = call("DELETE", &url(&sc), Some(TOKEN), None);
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(
        r.json["error"]
            .as_str()
            .unwrap()
            .contains("AIBOM_QUERY_ADMIN_TOKEN"),
        "{}",
        r.text
    );
    assert_eq!(call("GET", &url(&sc), Some(TOKEN), None).status, 200);
    assert_eq!(call("DELETE", &url(&sc), None, None).status, 401);
    drop(sc);

    // With one: the read token may read but not delete; the admin token may do both.
    let sc = sidecar(
        &ch.url(),
        &[
            ("AIBOM_QUERY_TOKEN", TOKEN),
            ("AIBOM_QUERY_ADMIN_TOKEN", ADMIN_TOKEN),
        ],
        &[],
    );
    let r = call("DELETE", &url(&sc), Some(TOKEN), None);
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.json["error"].as_str().unwrap().contains("admin token"));
    assert_eq!(
        call("DELETE", &url(&sc), Some("wrong-token-0123456789"), None).status,
        401
    );
    let r = call("DELETE", &url(&sc), Some(ADMIN_TOKEN), None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["deleted"], 0);
    assert_eq!(call("GET", &url(&sc), Some(TOKEN), None).status, 200);
    assert_eq!(call("GET", &url(&sc), Some(ADMIN_TOKEN), None).status, 200);
    drop(sc);

    // From a file too; equal to the read token: refused at startup.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("admin-token");
    std::fs::write(&f, format!("{TOKEN}\n")).unwrap();
    let out = aibom_query()
        .args(["--clickhouse-url", &ch.url(), "--database", DB])
        .arg("--admin-token-file")
        .arg(&f)
        .env("AIBOM_QUERY_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("must differ"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `scripts/chdb-http` with a token: every query needs it, in any of the forms ClickHouse
/// clients send; bodies are capped (413); without a token it does not start.
#[test]
fn chdb_http_requires_the_token_and_caps_bodies() {
    let script = repo_root().join("scripts/chdb-http");
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(&script)
        .args(["--port", "1", "--path"])
        .arg(dir.path().join("x"))
        .env_remove("CHDB_HTTP_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success(), "started without a token");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no token"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let token = "chdb-token-0123456789abcdef";
    let tf = dir.path().join("token");
    std::fs::write(&tf, format!("{token}\n")).unwrap();
    let port = free_port();
    let mut child = std::process::Command::new(&script)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .arg("--path")
        .arg(dir.path().join("data"))
        .arg("--token-file")
        .arg(&tf)
        .args(["--max-body-bytes", "100000"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    struct Kill<'a>(&'a mut std::process::Child);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _k = Kill(&mut child);
    let base = format!("http://127.0.0.1:{port}");
    let c = reqwest::Client::new();
    let start = Instant::now();
    while block(c.get(format!("{base}/ping")).send()).is_err() {
        if start.elapsed() > Duration::from_secs(60) {
            skip("chdb-http did not start (is chdb installed in .venv?)");
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let q = |rb: reqwest::RequestBuilder| {
        let r = block(rb.send()).unwrap();
        let s = r.status().as_u16();
        (s, block(r.text()).unwrap_or_default())
    };
    let sel = || c.post(format!("{base}/")).body("SELECT 41 + 1");
    // /ping stays open (as in ClickHouse).
    assert_eq!(q(c.get(format!("{base}/ping"))).0, 200);
    let (s, t) = q(sel());
    assert_eq!(s, 401, "no credentials: {t}");
    assert!(t.contains("REQUIRED_PASSWORD"), "{t}");
    assert_eq!(q(sel().bearer_auth("wrong-token-0123456789abcd")).0, 403);
    assert_eq!(q(sel().bearer_auth(&token[..token.len() - 1])).0, 403);
    assert_eq!(q(sel().basic_auth("default", Some("nope"))).0, 403);
    for (how, rb) in [
        ("bearer", sel().bearer_auth(token)),
        (
            "basic (rotel, Grafana)",
            sel().basic_auth("default", Some(token)),
        ),
        (
            "X-ClickHouse-User/Key (the clickhouse crate)",
            sel()
                .header("X-ClickHouse-User", "default")
                .header("X-ClickHouse-Key", token),
        ),
        (
            "password= parameter",
            c.post(format!("{base}/?user=default&password={token}"))
                .body("SELECT 41 + 1"),
        ),
    ] {
        let (s, t) = q(rb);
        assert_eq!((s, t.trim()), (200, "42"), "{how}");
    }
    // The cap: a declared length over it is refused unread; one under it runs.
    let big = format!("SELECT length('{}')", "a".repeat(100_001));
    let (s, t) = q(sel().bearer_auth(token).body(big));
    assert_eq!(s, 413, "{t}");
    assert!(t.contains("max-body-bytes"), "{t}");
    let ok = format!("SELECT length('{}')", "a".repeat(90_000));
    let (s, t) = q(sel().bearer_auth(token).body(ok));
    assert_eq!((s, t.trim()), (200, "90000"));

    // The sidecar's ClickHouse user/password (X-ClickHouse-User/Key) gets it in.
    let out = aibom_query()
        .args([
            "--migrate-only",
            "--clickhouse-url",
            &base,
            "--database",
            DB,
        ])
        .env("AIBOM_CLICKHOUSE_USER", "default")
        .env("AIBOM_CLICKHOUSE_PASSWORD", token)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "migrate with the token: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = aibom_query()
        .args([
            "--migrate-only",
            "--clickhouse-url",
            &base,
            "--database",
            DB,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success(), "migrate without the token succeeded");
}

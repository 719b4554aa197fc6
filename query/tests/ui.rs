//! The runtime UI (`/ui/`) in a real browser, and the endpoints it adds.
//!
//! `runtime_ui_in_a_browser`: `scripts/stack up` (as `e2e.rs`), the example app holding its
//! model under project `ui-<pid>`, then `ui_browser.py` drives Debian's headless Chromium with
//! Playwright for Python (no browser download): sign in with the token, the Runtime tab, a
//! 10 s scan started from the form by keyboard, the live feed moving while the example loads,
//! the held model with license and sha256 in the scan's results, the artifact's page and its
//! CycloneDX BOM (validated here with cyclonedx-python-lib), a scan stopped early; no console
//! error. Screenshots land in `target/ui-shots/`, or in `docs/ui/` (the README's) with
//! `AIBOM_UI_SCREENSHOTS=docs`: a test run leaves the committed files alone.
//!
//! Needs root (eBPF), the release `aibomd`, the venv's Python with the example's libraries and
//! `playwright`, rotel, chDB and `chromium` (scripts/setup installs them all). Under `CI=true`
//! anything missing fails; otherwise the test skips and says why.
//!
//! `stream_cap_ui_headers_and_projects`: the sidecar alone on chDB: the live stream's cap
//! (503 beyond it), its `ready` event, `/ui/` security headers, `GET /projects`, the OpenAPI
//! document.
mod common;

use common::*;
use serde_json::{json, Value};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The sidecar under test: `AIBOM_TEST_QUERY` (a copy, when several worktrees share one
/// target dir and rebuild it in turn), else this package's binary.
fn query_bin() -> String {
    std::env::var("AIBOM_TEST_QUERY").unwrap_or_else(|_| env!("CARGO_BIN_EXE_aibom-query").into())
}

/// The sidecar on `ch` with `extra` flags; killed on drop.
fn sidecar(ch: &ClickHouse, extra: &[&str]) -> (Killed, String) {
    let port = free_port();
    let child = Command::new(query_bin())
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--clickhouse-url", &ch.url(), "--database", DB])
        .args(extra)
        .env_remove("AIBOM_QUERY_LISTEN")
        .env_remove("AIBOM_CLICKHOUSE_DATABASE")
        .env("AIBOM_QUERY_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let k = Killed(child);
    wait_for_port(port, Duration::from_secs(30));
    (k, format!("http://127.0.0.1:{port}"))
}

fn project() -> String {
    format!("ui-{}", std::process::id())
}

/// Same lookup as e2e.rs: `<target>/<profile>/aibomd`, else the release one.
fn aibomd_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let profile = exe.parent()?.parent()?;
    [
        profile.join("aibomd"),
        profile.parent()?.join("release/aibomd"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

fn python() -> String {
    std::env::var("AIBOM_TEST_PYTHON").unwrap_or_else(|_| {
        repo_root()
            .join(".venv/bin/python")
            .to_string_lossy()
            .into_owned()
    })
}

fn python_has(py: &str, modules: &str) -> bool {
    Command::new(py)
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The system Chromium (`AIBOM_TEST_CHROMIUM`, else Debian's `chromium`).
fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("AIBOM_TEST_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `scripts/stack` in a temporary dir on free ports; `down` on drop.
struct Stack {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    api: String,
}

impl Stack {
    fn script(&self, arg: &str) -> std::process::Output {
        let mut c = Command::new(repo_root().join("scripts/stack"));
        c.arg(arg).current_dir(repo_root());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c.output().expect("running scripts/stack")
    }

    fn up(aibomd: &Path) -> Stack {
        let dir = tempfile::tempdir().unwrap();
        let (ch, grpc, http, api) = (free_port(), free_port(), free_port(), free_port());
        let env = [
            ("AIBOM_STACK_DIR", dir.path().to_string_lossy().into_owned()),
            ("AIBOM_CH_HTTP_PORT", ch.to_string()),
            ("AIBOM_OTLP_GRPC_PORT", grpc.to_string()),
            ("AIBOM_OTLP_HTTP_PORT", http.to_string()),
            ("AIBOM_QUERY_PORT", api.to_string()),
            ("AIBOM_QUERY_TOKEN", TOKEN.to_string()),
            ("AIBOM_STACK_CLICKHOUSE", "chdb".to_string()),
            ("AIBOM_STACK_QUERY", query_bin()),
            ("AIBOM_STACK_AIBOMD", aibomd.to_string_lossy().into_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let st = Stack {
            dir,
            env,
            api: format!("http://127.0.0.1:{api}"),
        };
        let out = st.script("up");
        if !out.status.success() {
            let logs = st.script("logs");
            panic!(
                "scripts/stack up failed:\n{}{}\nlogs:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&logs.stdout)
            );
        }
        let printed = String::from_utf8_lossy(&out.stdout);
        assert!(
            printed.contains(&format!("{}/ui/", st.api)),
            "stack up prints the UI's URL:\n{printed}"
        );
        st
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.script("down");
    }
}

#[test]
fn runtime_ui_in_a_browser() {
    if !is_root() {
        skip("the browser test needs root (aibomd's eBPF tracer)");
        return;
    }
    let Some(aibomd) = aibomd_binary() else {
        skip("no aibomd binary (cargo build --release -p aibomd, same CARGO_TARGET_DIR)");
        return;
    };
    let py = python();
    if !python_has(&py, "safetensors, tokenizers, pyarrow, onnx, gguf, jinja2") {
        skip("no Python with the example's libraries (scripts/setup, or AIBOM_TEST_PYTHON)");
        return;
    }
    if !python_has(&py, "playwright.sync_api, cyclonedx.validation.json") {
        skip("the test Python lacks playwright or cyclonedx-python-lib (scripts/setup installs tests/requirements.txt)");
        return;
    }
    let Some(chromium) = chromium() else {
        skip("no chromium (scripts/setup installs Debian's chromium; or set AIBOM_TEST_CHROMIUM)");
        return;
    };
    if rotel_agent().is_none() {
        skip("rotel-agent is not in .venv (scripts/setup installs tests/requirements.txt)");
        return;
    }
    let st = Stack::up(&aibomd);

    // The example holds its model mapped for the whole test: the scan's inventory finds it.
    let app = repo_root().join("examples/ml-app/app.py");
    let work_dir = tempfile::tempdir().unwrap();
    let work = work_dir.path().join("work");
    let mut holder = Killed(
        Command::new(&py)
            .arg(&app)
            .arg("--workdir")
            .arg(&work)
            .args(["--phase", "all", "--hold", "300"])
            .env("AIBOM_PROJECT", project())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut out = std::io::BufReader::new(holder.0.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("holding") {
        line.clear();
        let n = out.read_line(&mut line).unwrap();
        assert!(n > 0, "the example app exited before holding its model");
    }

    let shots = shots_dir();
    let bom = work_dir.path().join("bom.cdx.json");
    let cfg = json!({
        "url": st.api,
        "token": TOKEN,
        "project": project(),
        "python": py,
        "app": app,
        "workdir": work,
        "shots": shots,
        "bom": bom,
        "chromium": chromium,
    });
    let run = Command::new(&py)
        .arg(repo_root().join("query/tests/ui_browser.py"))
        .arg(cfg.to_string())
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    if !run.status.success() {
        let logs = st.script("logs");
        panic!(
            "the browser run failed:\n{stdout}\n{stderr}\nstack logs:\n{}",
            String::from_utf8_lossy(&logs.stdout)
        );
    }
    assert!(stdout.contains("UI OK"), "{stdout}\n{stderr}");
    eprintln!("{stdout}");

    // The BOM the browser downloaded is valid CycloneDX 1.6.
    let v = Command::new(&py)
        .arg(repo_root().join("bom/tests/validate_bom.py"))
        .arg("cyclonedx")
        .arg(&bom)
        .output()
        .unwrap();
    assert!(
        v.status.success(),
        "the downloaded BOM: {}",
        String::from_utf8_lossy(&v.stderr)
    );
    for name in [
        "sign-in",
        "projects",
        "runtime",
        "scans",
        "scan-running",
        "scan",
        "artifact",
    ] {
        assert!(shots.join(format!("{name}.png")).is_file(), "{name}.png");
    }
    drop(holder);
    let _ = st.dir.path();
}

#[test]
fn stream_cap_ui_headers_and_projects() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let out = migrate(&ch);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = chrono::Utc::now().timestamp_nanos_opt().unwrap() - 10_000_000_000;
    ch.insert_logs(
        &[log_row(
            t,
            &[
                (attr::FILE_PATH, "/m/a.safetensors"),
                (attr::ARTIFACT_TYPE, "model"),
                (attr::PROJECT_ID, "p1"),
                (attr::ACCESS_COUNT, "1"),
                (attr::PROCESS_PID, "100"),
                (attr::PROCESS_EXECUTABLE_NAME, "python3"),
            ],
            &[],
        )],
        false,
    );
    let (_sidecar, base) = sidecar(&ch, &["--stream-max-clients", "1"]);
    let sc = Base { base };

    // /ui: the page and its headers, open; assets embedded.
    let page = block(reqwest::get(format!("{}/ui/", sc.base))).unwrap();
    assert_eq!(page.status(), 200);
    let h = page.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'self'")
            && csp.contains("script-src 'self'")
            && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    for f in ["app.js", "app.css", "vendor/uPlot.iife.min.js"] {
        let r = block(reqwest::get(format!("{}/ui/{f}", sc.base))).unwrap();
        assert_eq!(r.status(), 200, "{f}");
    }
    let r = block(reqwest::get(format!("{}/ui/nope.js", sc.base))).unwrap();
    assert_eq!(r.status(), 404);

    // GET /projects (token needed).
    assert_eq!(
        call("GET", &format!("{}/projects", sc.base), None, None).status,
        401
    );
    let r = call("GET", &format!("{}/projects", sc.base), Some(TOKEN), None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["projects"][0]["id"], "p1", "{}", r.json);

    // The stream: token needed; one client at most here, the second is a 503.
    let url = format!("{}/projects/p1/runtime/stream", sc.base);
    assert_eq!(call("GET", &url, None, None).status, 401);
    block(async {
        let c = reqwest::Client::new();
        let mut first = c.get(&url).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(first.status(), 200);
        assert!(first.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        // `ready`, then the project's recent event (the backlog)
        let mut text = String::new();
        while !text.contains("event: runtime") {
            let chunk = tokio::time::timeout(Duration::from_secs(10), first.chunk())
                .await
                .unwrap_or_else(|_| panic!("no runtime event within 10 s: {text}"))
                .unwrap()
                .expect("a chunk");
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        assert!(text.starts_with("event: ready"), "{text}");
        assert!(text.contains("/m/a.safetensors"), "{text}");
        assert!(!text.contains("event: error"), "{text}");
        let second = c.get(&url).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(second.status(), 503);
        drop(first);
        // The slot comes back once the first client is gone (its poller notices).
        let mut ok = false;
        for _ in 0..50 {
            let r = c.get(&url).bearer_auth(TOKEN).send().await.unwrap();
            if r.status() == 200 {
                ok = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ok, "the slot was not released");
    });
    let m = call("GET", &format!("{}/metrics", sc.base), None, None).text;
    // at least the refused second client (the retries above may add some)
    let rejected: u64 = m
        .lines()
        .find_map(|l| l.strip_prefix("aibom_query_stream_rejected_total "))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(rejected >= 1, "{m}");

    // The document names the new routes.
    let doc: Value = call("GET", &format!("{}/openapi.json", sc.base), None, None).json;
    for (path, method) in [
        ("/projects/{id}/runtime/stream", "get"),
        ("/projects", "get"),
        ("/scans/{id}/stop", "post"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{path}");
    }
    // ClickHouse down: the UI says 503 plainly (in the browser, when there is one).
    let py = python();
    match chromium() {
        Some(chromium) if python_has(&py, "playwright.sync_api") => {
            let mut ch = ch;
            ch.stop();
            let cfg = json!({
                "mode": "clickhouse-down",
                "url": sc.base,
                "token": TOKEN,
                "project": "p1",
                "shots": shots_dir(),
                "chromium": chromium,
            });
            let run = Command::new(&py)
                .arg(repo_root().join("query/tests/ui_browser.py"))
                .arg(cfg.to_string())
                .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
                .output()
                .unwrap();
            assert!(
                run.status.success(),
                "{}\n{}",
                String::from_utf8_lossy(&run.stdout),
                String::from_utf8_lossy(&run.stderr)
            );
        }
        _ => skip("no chromium or no playwright: the ClickHouse-down page is not checked"),
    }
}

#[test]
fn stopping_an_unknown_scan_is_a_404() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let (_sidecar, base) = sidecar(&ch, &[]);
    let sc = Base { base };
    // Stopping an unknown scan is a 404.
    let r = call(
        "POST",
        &format!(
            "{}/scans/00000000-0000-4000-8000-000000000000/stop",
            sc.base
        ),
        Some(TOKEN),
        None,
    );
    assert_eq!(r.status, 404, "{}", r.text);
}

struct Base {
    base: String,
}

/// Where the browser test saves its screenshots (see the module docs).
fn shots_dir() -> std::path::PathBuf {
    let d = if std::env::var("AIBOM_UI_SCREENSHOTS").is_ok_and(|v| v == "docs") {
        repo_root().join("docs/ui")
    } else {
        repo_root().join("target/ui-shots")
    };
    std::fs::create_dir_all(&d).unwrap();
    d
}

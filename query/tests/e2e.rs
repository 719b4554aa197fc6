//! End to end, no mocks: `scripts/stack up` (ClickHouse via chdb-http, rotel-agent,
//! aibom-query, `aibomd daemon`) in a temporary `AIBOM_STACK_DIR` on free ports; the real
//! `aibomd run --project demo` traces the example app (examples/ml-app, real ML libraries)
//! and exports OTLP to the stack's rotel; then the API, over HTTP with the token, must show
//! the example's artifacts with their licenses, and events, filters, pagination and delete
//! must work on that real data. `scripts/stack down` must leave none of its processes alive.
//!
//! Needs root (eBPF), the release `aibomd` next to this test's profile dir (`cargo test
//! --workspace --release` builds it; or `cargo build --release -p aibomd` with the same
//! target dir), the venv's Python with the example's libraries, chDB and rotel. Under
//! `CI=true` any of them missing fails the test; otherwise it skips with the reason.
mod common;

use aibom_semconv::scan_state;
use common::*;
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// `demo`, made unique: the stack's `aibomd daemon` traces the whole machine, and other
/// tests here run the same example as project `demo`.
fn project() -> String {
    format!("demo-e2e-{}", std::process::id())
}

/// The `aibomd` binary: `<target>/<profile>/aibomd` next to this test's `deps/`, else the
/// release build of the same target dir.
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

/// The example's Python: `AIBOM_TEST_PYTHON`, else the repo's venv; it must import the
/// libraries the example uses.
fn example_python() -> Option<String> {
    let py = std::env::var("AIBOM_TEST_PYTHON").unwrap_or_else(|_| {
        repo_root()
            .join(".venv/bin/python")
            .to_string_lossy()
            .into_owned()
    });
    let ok = Command::new(&py)
        .args([
            "-c",
            "import safetensors, tokenizers, pyarrow, onnx, gguf, jinja2",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(py)
}

/// Effective uid 0 (from /proc/self/status: `Uid: real effective saved fs`).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        .unwrap_or(false)
}

/// The stack in a temporary dir; `down` runs on drop too (a failing test leaves nothing).
struct Stack {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    down_done: bool,
    api: String,
    grpc: u16,
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
        let env: Vec<(String, String)> = [
            ("AIBOM_STACK_DIR", dir.path().to_string_lossy().into_owned()),
            ("AIBOM_CH_HTTP_PORT", ch.to_string()),
            ("AIBOM_OTLP_GRPC_PORT", grpc.to_string()),
            ("AIBOM_OTLP_HTTP_PORT", http.to_string()),
            ("AIBOM_QUERY_PORT", api.to_string()),
            ("AIBOM_QUERY_TOKEN", TOKEN.to_string()),
            ("AIBOM_QUERY_ADMIN_TOKEN", ADMIN_TOKEN.to_string()),
            ("AIBOM_STACK_CLICKHOUSE", "chdb".to_string()),
            (
                "AIBOM_STACK_QUERY",
                env!("CARGO_BIN_EXE_aibom-query").to_string(),
            ),
            ("AIBOM_STACK_AIBOMD", aibomd.to_string_lossy().into_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let mut st = Stack {
            dir,
            env,
            down_done: false,
            api: format!("http://127.0.0.1:{api}"),
            grpc,
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
        st.down_done = false;
        st
    }

    /// PIDs recorded by `up`, by component.
    fn pids(&self) -> Vec<(String, u32)> {
        let mut v = Vec::new();
        for e in std::fs::read_dir(self.dir.path().join("pids")).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let pid = std::fs::read_to_string(&p).unwrap().trim().parse().unwrap();
            v.push((name, pid));
        }
        v.sort();
        v
    }

    fn down(&mut self) -> std::process::Output {
        self.down_done = true;
        self.script("down")
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if !self.down_done {
            let _ = self.down();
        }
    }
}

fn get(st: &Stack, path: &str) -> Value {
    let r = call("GET", &format!("{}{path}", st.api), Some(TOKEN), None);
    assert_eq!(r.status, 200, "GET {path}: {}", r.text);
    r.json
}

fn events(st: &Stack, query: &str) -> Vec<Value> {
    get(
        st,
        &format!("/projects/{}/runtime/events?{query}", project()),
    )["events"]
        .as_array()
        .unwrap()
        .clone()
}

/// The summary's artifact whose key starts with `key`, or whose paths include one ending in it.
fn artifact<'a>(summary: &'a Value, key_or_suffix: &str) -> Option<&'a Value> {
    summary["artifacts"].as_array()?.iter().find(|a| {
        a["key"]
            .as_str()
            .is_some_and(|k| k.starts_with(key_or_suffix))
            || a[attr::FILE_PATH].as_array().is_some_and(|ps| {
                ps.iter()
                    .any(|p| p.as_str().is_some_and(|p| p.ends_with(key_or_suffix)))
            })
    })
}

/// The example's Hugging Face repo: one artifact (its files are content-addressed blobs).
const HF_KEY: &str = "pkg:huggingface/aibom-demo/tiny-bert@";

const EXPECTED: &[&str] = &[
    HF_KEY,
    "/models/tiny.gguf",
    "/models/classifier.onnx",
    "/data/train.parquet",
    "/data/eval.jsonl",
    "/prompts/chat.jinja",
];

fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

#[test]
fn example_app_through_the_stack() {
    if !is_root() {
        skip("the end-to-end test needs root (aibomd's eBPF tracer)");
        return;
    }
    let Some(aibomd) = aibomd_binary() else {
        skip(
            "no aibomd binary next to this test (build it: cargo build --release -p aibomd, \
             same CARGO_TARGET_DIR; cargo test --workspace --release builds it)",
        );
        return;
    };
    let Some(py) = example_python() else {
        skip("no Python with the example's libraries (scripts/setup, or AIBOM_TEST_PYTHON)");
        return;
    };
    if rotel_agent().is_none() {
        skip("rotel-agent is not in .venv (scripts/setup installs tests/requirements.txt)");
        return;
    }
    let mut st = Stack::up(&aibomd);
    let components: BTreeSet<String> = st.pids().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        components,
        BTreeSet::from(["aibom-query", "aibomd", "clickhouse", "rotel"].map(String::from)),
        "stack up starts the four parts"
    );

    // The example app under the real aibomd, exporting OTLP to the stack's rotel.
    let work = st.dir.path().join("work");
    let out = Command::new(&aibomd)
        .args(["run", "--project", &project(), "--policy"])
        .arg(repo_root().join("examples/policy.toml"))
        .arg("--")
        .arg(&py)
        .arg(repo_root().join("examples/ml-app/app.py"))
        .arg("--workdir")
        .arg(&work)
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{}", st.grpc),
        )
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .env(
            "AIBOM_EXPORT__OTLP__SPOOL_DIR",
            st.dir.path().join("run-spool"),
        )
        .env_remove("AIBOM_PROJECT")
        .env_remove("SUDO_UID")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "aibomd run: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The records travel aibomd -> rotel -> ClickHouse -> views: wait for them.
    let start = Instant::now();
    let summary_path = format!("/projects/{}/runtime/summary", project());
    let summary = loop {
        let s = get(&st, &summary_path);
        let missing: Vec<&&str> = EXPECTED
            .iter()
            .filter(|x| artifact(&s, x).is_none_or(|a| a[attr::ARTIFACT_TYPE].is_null()))
            .collect();
        if missing.is_empty() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "after 90 s the summary still lacks {missing:?}: {s:#}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    // Then until nothing more arrives (both aibomd run and the stack's daemon export it).
    // Stable = unchanged over two polls 3 s apart.
    let mut summary = summary;
    let mut same = 0;
    while same < 2 {
        std::thread::sleep(Duration::from_secs(3));
        let s = get(&st, &summary_path);
        same = if s["totals"] == summary["totals"] {
            same + 1
        } else {
            0
        };
        summary = s;
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "events keep coming"
        );
    }

    // The summary: the example's artifacts, typed and with the licenses the files declare.
    let st_model = artifact(&summary, HF_KEY).unwrap();
    assert_eq!(st_model[attr::ARTIFACT_TYPE], "model");
    assert_eq!(st_model[attr::ARTIFACT_PROVIDER], "huggingface");
    assert_eq!(
        st_model[attr::ARTIFACT_LICENSE],
        "Apache-2.0",
        "{st_model:#}"
    );
    // model.safetensors, tokenizer.json, config.json, README.md: four blobs, four hashes.
    assert_eq!(
        st_model[attr::ARTIFACT_SHA256].as_array().unwrap().len(),
        4,
        "{st_model:#}"
    );
    assert!(st_model[attr::ACCESS_COUNT].as_u64().unwrap() >= 4);
    for (suffix, license) in [
        ("/models/tiny.gguf", "MIT"),
        ("/models/classifier.onnx", "MIT"),
    ] {
        let a = artifact(&summary, suffix).unwrap();
        assert_eq!(a[attr::ARTIFACT_LICENSE], license, "{suffix}: {a:#}");
        assert_eq!(a[attr::ARTIFACT_TYPE], "model", "{suffix}: {a:#}");
    }
    assert_eq!(
        artifact(&summary, "/data/train.parquet").unwrap()[attr::ARTIFACT_TYPE],
        "dataset"
    );
    assert_eq!(
        artifact(&summary, "/prompts/chat.jinja").unwrap()[attr::ARTIFACT_TYPE],
        "prompt"
    );
    let licenses: HashSet<&str> = summary["by_license"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["value"].as_str())
        .collect();
    assert!(
        licenses.contains("Apache-2.0") && licenses.contains("MIT"),
        "{licenses:?}"
    );
    let totals = &summary["totals"];
    assert!(totals["processes"].as_u64().unwrap() >= 1);
    let procs = st_model["processes"].as_array().unwrap();
    assert!(!procs.is_empty(), "{st_model:#}");

    // The README's policy (Apache-2.0 models only, alert): its three violations reached the
    // collector, ClickHouse, the summary and the violations endpoint.
    let v = loop {
        let v = get(&st, &format!("/projects/{}/runtime/violations", project()));
        let n = v["violations"].as_array().map_or(0, Vec::len);
        if n >= 3 || start.elapsed() > Duration::from_secs(90) {
            break v;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let mut paths: Vec<&str> = v["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            assert_eq!(x[attr::POLICY_RULE], "approved-model-licenses", "{x:#}");
            assert_eq!(x[attr::POLICY_SEVERITY], "high", "{x:#}");
            assert_eq!(x[attr::POLICY_ENFORCED], false, "{x:#}");
            x[attr::FILE_PATH].as_str().unwrap()
        })
        .map(|p| p.rsplit('/').next().unwrap())
        .collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        ["classifier.onnx", "embeddings.npy", "tiny.gguf"],
        "{v:#}"
    );
    let s = get(&st, &summary_path);
    assert_eq!(s["violations"]["total"], 3, "{:#}", s["violations"]);

    // An AI API call through the stack (issue 14's "done when"): the official `ollama`
    // client calls a local stand-in over plain HTTP under `aibomd run`; the call reaches
    // the API-calls endpoint, the summary's `api_calls` and the BOM's services.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut standin = Command::new(&py)
        .arg(repo_root().join("tests/api/standin.py"))
        .args(["-", "-", "0", &port.to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(standin.stdout.take().unwrap()),
        &mut ready,
    )
    .unwrap();
    assert!(ready.contains("ready"), "stand-in: {ready:?}");
    let client = format!(
        "import ollama; c = ollama.Client(host='http://127.0.0.1:{port}'); \
         c.chat(model='llama3.2', messages=[{{'role': 'user', 'content': 'hi'}}]); \
         c.generate(model='llama3.2', prompt='hi')"
    );
    let out = Command::new(&aibomd)
        .args(["run", "--project", &project(), "--"])
        .arg(&py)
        .args(["-c", &client])
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{}", st.grpc),
        )
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .env(
            "AIBOM_EXPORT__OTLP__SPOOL_DIR",
            st.dir.path().join("api-spool"),
        )
        .env_remove("AIBOM_PROJECT")
        .env_remove("SUDO_UID")
        .output()
        .unwrap();
    let _ = standin.kill();
    let _ = standin.wait();
    assert!(
        out.status.success(),
        "aibomd run (ollama): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let start = Instant::now();
    let calls = loop {
        let r = get(&st, &format!("/projects/{}/runtime/api-calls", project()));
        let calls = r["api_calls"].as_array().cloned().unwrap_or_default();
        let ops: BTreeSet<String> = calls
            .iter()
            .filter_map(|c| c[attr::GEN_AI_OPERATION_NAME].as_str().map(str::to_string))
            .collect();
        if ops.contains("chat") && ops.contains("text_completion") {
            break calls;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "after 90 s the API calls are {calls:#?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    for c in &calls {
        assert_eq!(c[attr::API_PROVIDER], "ollama", "{c:#}");
        assert_eq!(c[attr::GEN_AI_REQUEST_MODEL], "llama3.2", "{c:#}");
        assert_eq!(c[attr::SERVER_PORT], port, "{c:#}");
    }
    let s = get(&st, &summary_path);
    assert!(
        s["api_calls"]["totals"]["calls"].as_u64().unwrap_or(0) >= 2,
        "{:#}",
        s["api_calls"]
    );
    let bom = get(&st, &format!("/projects/{}/runtime/aibom", project()));
    let services = bom["services"].as_array().cloned().unwrap_or_default();
    let ollama = services
        .iter()
        .find(|s| s["name"] == "ollama")
        .unwrap_or_else(|| panic!("no ollama service in {services:#?}"));
    assert!(
        ollama
            .to_string()
            .contains(&format!("http://127.0.0.1:{port}/api/chat")),
        "{ollama:#}"
    );

    // Events: everything, unpaged, newest first.
    let all = events(&st, "limit=1000");
    let total = totals["events"].as_u64().unwrap() as usize;
    assert!(total >= EXPECTED.len() && total < 1000, "{total}");
    assert_eq!(all.len(), total, "the event list and the summary agree");
    let times: Vec<&str> = all
        .iter()
        .map(|e| e[record::TIMESTAMP].as_str().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    for e in &all {
        assert_eq!(e[attr::PROJECT_ID], project().as_str());
        assert!(e[attr::PROCESS_PID].as_u64().is_some(), "{e:#}");
    }
    // Per file, the events carry the format the file's content shows; the Hugging Face files
    // are one artifact with the repo's id.
    let hf_formats: BTreeSet<&str> = all
        .iter()
        .filter(|e| {
            e[attr::ARTIFACT_ID]
                .as_str()
                .is_some_and(|i| i.starts_with(HF_KEY))
        })
        .filter_map(|e| e[attr::ARTIFACT_FORMAT].as_str())
        .collect();
    assert!(
        hf_formats.contains("safetensors") && hf_formats.contains("tokenizer.json"),
        "{hf_formats:?}"
    );
    let format_of = |suffix: &str| -> BTreeSet<&str> {
        all.iter()
            .filter(|e| {
                e[attr::FILE_PATH]
                    .as_str()
                    .is_some_and(|p| p.ends_with(suffix))
            })
            .filter_map(|e| e[attr::ARTIFACT_FORMAT].as_str())
            .collect()
    };
    assert_eq!(format_of("/data/eval.jsonl"), BTreeSet::from(["jsonl"]));
    assert_eq!(format_of("/models/tiny.gguf"), BTreeSet::from(["gguf"]));
    assert_eq!(
        format_of("/models/classifier.onnx"),
        BTreeSet::from(["onnx"])
    );

    // Filters on the real data: each returns exactly the matching events.
    let check = |query: &str, pred: &dyn Fn(&Value) -> bool| {
        let got = events(&st, &format!("{query}&limit=1000"));
        let want = all.iter().filter(|e| pred(e)).count();
        assert!(want > 0, "{query}: the fixture has matching events");
        assert_eq!(got.len(), want, "{query}");
        assert!(got.iter().all(pred), "{query}: {got:#?}");
    };
    check("type=model", &|e| e[attr::ARTIFACT_TYPE] == "model");
    check("type=dataset", &|e| e[attr::ARTIFACT_TYPE] == "dataset");
    check("provider=huggingface", &|e| {
        e[attr::ARTIFACT_PROVIDER] == "huggingface"
    });
    check("license=MIT", &|e| e[attr::ARTIFACT_LICENSE] == "MIT");
    let model_id = st_model["key"].as_str().unwrap().to_string();
    check(&format!("artifact={}", urlencode(&model_id)), &|e| {
        e[attr::ARTIFACT_ID] == model_id.as_str()
    });
    let pid = all[0][attr::PROCESS_PID].as_u64().unwrap();
    check(&format!("process={pid}"), &|e| {
        e[attr::PROCESS_PID].as_u64() == Some(pid)
    });
    let mid = times[times.len() / 2];
    check(&format!("since={}", urlencode(mid)), &|e| {
        e[record::TIMESTAMP].as_str().unwrap() >= mid
    });
    check(&format!("until={}", urlencode(times[0])), &|e| {
        e[record::TIMESTAMP].as_str().unwrap() < times[0]
    });

    // Pagination: pages of 3 cover the list exactly, in order, nothing repeated.
    let mut paged = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let q = match &next {
            Some(c) => format!("limit=3&cursor={c}"),
            None => "limit=3".into(),
        };
        let page = get(&st, &format!("/projects/{}/runtime/events?{q}", project()));
        let evs = page["events"].as_array().unwrap();
        assert!(evs.len() <= 3);
        paged.extend(evs.iter().cloned());
        match page["next"].as_str() {
            Some(c) => next = Some(c.to_string()),
            None => break,
        }
        assert!(paged.len() <= total, "pagination does not end");
    }
    assert_eq!(paged, all, "pages of 3 = the whole list");

    // Delete the older half: exactly those go, and the summary follows at once.
    let cut = times[total / 2];
    let older = all
        .iter()
        .filter(|e| e[record::TIMESTAMP].as_str().unwrap() < cut)
        .count();
    let r = call(
        "DELETE",
        &format!(
            "{}/projects/{}/runtime/events?before={}",
            st.api,
            project(),
            urlencode(cut)
        ),
        Some(ADMIN_TOKEN),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["deleted"].as_u64(), Some(older as u64));
    let s = get(&st, &summary_path);
    assert_eq!(
        s["totals"]["events"].as_u64(),
        Some((total - older) as u64),
        "{s:#}"
    );
    assert_eq!(events(&st, "limit=1000").len(), total - older);
    let r = call(
        "DELETE",
        &format!("{}/projects/{}/runtime/events", st.api, project()),
        Some(ADMIN_TOKEN),
        None,
    );
    assert_eq!(r.json["deleted"].as_u64(), Some((total - older) as u64));
    let s = get(&st, &summary_path);
    assert_eq!(s["totals"]["events"], 0, "{s:#}");
    assert_eq!(s["artifacts"].as_array().unwrap().len(), 0);

    // A scan through the sidecar (issue 7's "done when"): the example app holds its model
    // mapped (`--hold`) before the scan starts; a second run loads everything during the
    // scan. The scan's status lists both: the held model found by the daemon's inventory,
    // the rest seen live, each with its process and project.
    let scan_project = format!("scan-e2e-{}", std::process::id());
    let app = repo_root().join("examples/ml-app/app.py");
    // Outside the stack dir: the stack's daemon does not trace its own data dir.
    let scan_dir = tempfile::tempdir().unwrap();
    let work = scan_dir.path().join("work");
    let mut holder = Command::new(&py)
        .arg(&app)
        .arg("--workdir")
        .arg(&work)
        .args(["--phase", "all", "--hold", "60"])
        .env("AIBOM_PROJECT", &scan_project)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let holder_pid = holder.id();
    let mut out = std::io::BufReader::new(holder.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("holding") {
        line.clear();
        let n = std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        assert!(n > 0, "the example app exited before holding its model");
    }
    let r = call(
        "POST",
        &format!("{}/scan/runtime", st.api),
        Some(TOKEN),
        Some(format!(r#"{{"project": "{scan_project}", "duration": 8}}"#)),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.json["scan_id"].as_str().unwrap().to_string();
    let start = Instant::now();
    loop {
        let s = get(&st, &format!("/scans/{id}"));
        if s["state"] == scan_state::RUNNING {
            break;
        }
        assert_ne!(s["state"], "failed", "{s:#}");
        assert!(start.elapsed() < Duration::from_secs(30), "{s:#}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let live = Command::new(&py)
        .arg(&app)
        .arg("--workdir")
        .arg(&work)
        .args(["--phase", "load"])
        .env("AIBOM_PROJECT", &scan_project)
        .output()
        .unwrap();
    assert!(
        live.status.success(),
        "{}",
        String::from_utf8_lossy(&live.stderr)
    );
    let start = Instant::now();
    let scan = loop {
        let s = get(&st, &format!("/scans/{id}"));
        let n = s["artifacts"].as_array().map_or(0, |a| a.len());
        let has_inventory = s["artifacts"].as_array().is_some_and(|a| {
            a.iter().any(|f| {
                f[attr::ACCESS_ORIGIN].as_array().is_some_and(|o| {
                    o.iter()
                        .any(|x| x == aibom_semconv::access_origin::INVENTORY)
                })
            })
        });
        if s["state"] == scan_state::COMPLETED && has_inventory && n >= EXPECTED.len() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "scan never complete: {s:#}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let files = scan["artifacts"].as_array().unwrap();
    let file = |suffix: &str| {
        files
            .iter()
            .find(|f| {
                f[attr::FILE_PATH]
                    .as_str()
                    .is_some_and(|p| p.ends_with(suffix))
            })
            .unwrap_or_else(|| panic!("scan lists no *{suffix}: {scan:#}"))
    };
    // The model loaded before the scan began: found by the inventory, identified, licensed,
    // attributed to the holding process and the project from its environment.
    let held = files
        .iter()
        .find(|f| {
            f[attr::ARTIFACT_FORMAT] == "safetensors"
                && f[attr::ACCESS_ORIGIN]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x == aibom_semconv::access_origin::INVENTORY)
        })
        .unwrap_or_else(|| panic!("the held model is not in the scan: {scan:#}"));
    assert_eq!(held[attr::ARTIFACT_TYPE], "model", "{held:#}");
    assert!(held[attr::ARTIFACT_LICENSE].is_string(), "{held:#}");
    assert!(
        held[attr::ARTIFACT_SHA256]
            .as_str()
            .is_some_and(|h| h.len() == 64),
        "{held:#}"
    );
    assert!(
        held["processes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p[attr::PROCESS_PID] == holder_pid),
        "held by pid {holder_pid}: {held:#}"
    );
    // Loaded live during the scan by the second run.
    for suffix in [
        "/models/tiny.gguf",
        "/models/classifier.onnx",
        "/data/train.parquet",
    ] {
        let f = file(suffix);
        assert!(
            f[attr::ACCESS_ORIGIN]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x == aibom_semconv::access_origin::TRACE),
            "{f:#}"
        );
        assert!(
            f[attr::ARTIFACT_LICENSE].is_string() || suffix.ends_with(".parquet"),
            "{f:#}"
        );
        assert!(
            f["processes"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p[attr::PROCESS_COMMAND_LINE]
                    .as_str()
                    .is_some_and(|c| c.contains("app.py"))),
            "{f:#}"
        );
    }
    for f in files {
        assert_eq!(
            f[attr::PROJECT_ID].as_str(),
            Some(scan_project.as_str()),
            "{f:#}"
        );
    }
    assert!(files.len() >= EXPECTED.len(), "{scan:#}");
    let _ = holder.kill();
    let _ = holder.wait();

    // Down: every process the stack started is gone.
    let pids = st.pids();
    let out = st.down();
    assert!(
        out.status.success(),
        "stack down: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    for (name, pid) in &pids {
        while pid_alive(*pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(!pid_alive(*pid), "{name} (pid {pid}) still runs after down");
    }
    assert!(st.pids().is_empty(), "pid files removed");
}

/// The env value `k` of the stack.
fn env_of(st: &Stack, k: &str) -> String {
    st.env.iter().find(|(n, _)| n == k).unwrap().1.clone()
}

/// `down` returns once every process it started has exited and its ports are free, so `up`
/// right after works; `up` against a held port names the port and the process holding it.
/// The stack generates its admin token and chdb-http's token and says where they are.
#[test]
fn stack_down_frees_the_ports_and_up_names_a_held_one() {
    let Some(aibomd) = aibomd_binary() else {
        skip("no aibomd binary next to this test (cargo build --release -p aibomd)");
        return;
    };
    let mut st = Stack::up(&aibomd);
    let ports: Vec<u16> = [
        "AIBOM_CH_HTTP_PORT",
        "AIBOM_OTLP_GRPC_PORT",
        "AIBOM_OTLP_HTTP_PORT",
        "AIBOM_QUERY_PORT",
    ]
    .iter()
    .map(|k| env_of(&st, k).parse().unwrap())
    .collect();
    // chdb-http requires its token: the stack made one, and the sidecar got in with it.
    let ch_token = std::fs::read_to_string(st.dir.path().join("clickhouse-token")).unwrap();
    assert!(ch_token.trim().len() >= 16);
    let ch = format!("http://127.0.0.1:{}/?query=SELECT%201", ports[0]);
    let anon = block(reqwest::get(&ch)).unwrap();
    assert_eq!(
        anon.status().as_u16(),
        401,
        "chdb-http answered without a token"
    );
    let r = call("GET", &format!("{}/projects", st.api), Some(TOKEN), None);
    assert_eq!(r.status, 200, "{}", r.text);

    for round in 0..2 {
        let out = st.down();
        assert!(
            out.status.success(),
            "down: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Immediately free: nothing of the stack listens any more.
        for p in &ports {
            let l = std::net::TcpListener::bind(("127.0.0.1", *p));
            assert!(l.is_ok(), "round {round}: port {p} still held after down");
        }
        if round == 0 {
            let out = st.script("up");
            st.down_done = false;
            assert!(
                out.status.success(),
                "up right after down failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("admin token"), "{text}");
        }
    }

    // A held port: up fails naming the port and this process.
    let held = ports[3];
    let _listener = std::net::TcpListener::bind(("127.0.0.1", held)).unwrap();
    let out = st.script("up");
    st.down_done = false;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "up with port {held} held succeeded");
    assert!(err.contains(&format!("port {held}")), "{err}");
    assert!(
        err.contains(&format!("pid {}", std::process::id())),
        "the holder is not named: {err}"
    );
    let out = st.down();
    assert!(
        out.status.success(),
        "down after a failed up: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Percent-encodes a query value.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

//! Property-based API testing: schemathesis (tests/requirements.txt) generates requests from
//! `GET /openapi.json` against the real sidecar over a real ClickHouse engine (chDB behind
//! `scripts/chdb-http`) holding a few rows, with every check (`-c all`): no server error,
//! every status and body as documented, schema-valid requests accepted and schema-violating
//! ones rejected (so the document states every constraint the handlers enforce).
//!
//! schemathesis is found next to `$AIBOM_TEST_PYTHON` (default `<workspace>/.venv/bin/python`):
//! its `st` or `schemathesis` script. Missing: skip, or fail under `CI=true`.
//! `AIBOM_SCHEMATHESIS_EXAMPLES` (default 25 per operation) and `AIBOM_SCHEMATHESIS_SEED`
//! (default 1, reproducible) tune the run; `AIBOM_SCHEMATHESIS_CHECKS` (default `all`) takes
//! schemathesis' `-c` list. Operations matching `AIBOM_SCHEMATHESIS_LENIENT` (a path regex,
//! default: none) are checked in a second run for server errors only.
mod common;

use common::*;
use std::path::PathBuf;
use std::process::Command;

fn schemathesis() -> Option<PathBuf> {
    let python = std::env::var_os("AIBOM_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv/bin/python"));
    let bin = python.parent()?;
    ["st", "schemathesis"]
        .iter()
        .map(|n| bin.join(n))
        .find(|p| p.exists())
}

#[test]
fn openapi_fuzz_has_no_server_errors() {
    let Some(st) = schemathesis() else {
        skip(
            "schemathesis is not installed next to $AIBOM_TEST_PYTHON (default .venv/bin/python): \
             .venv/bin/pip install -r tests/requirements.txt",
        );
        return;
    };
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let out = migrate(&ch);
    assert!(
        out.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sidecar = Sidecar::start(&ch, &[]);

    // A few rows, so list/summary paths run over data (and a DELETE has something to remove).
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap();
    let rows: Vec<_> = (0..6)
        .map(|i| {
            let path = format!("/models/m{i}/model.safetensors");
            let pid = (100 + i).to_string();
            log_row(
                now - (i as i64) * 1_000_000_000,
                &[
                    (attr::PROJECT_ID, if i % 2 == 0 { "proj-a" } else { "b" }),
                    (attr::FILE_PATH, &path),
                    (attr::ACCESS_MODE, "read"),
                    (attr::ACCESS_COUNT, "2"),
                    (attr::PROCESS_PID, &pid),
                    (attr::PROCESS_EXECUTABLE_NAME, "python3"),
                    (attr::TRACER, "ebpf"),
                    (attr::ARTIFACT_TYPE, "model"),
                    (attr::ARTIFACT_PROVIDER, "huggingface"),
                    (attr::ARTIFACT_ID, "pkg:huggingface/org/m"),
                    (attr::ARTIFACT_LICENSE, "apache-2.0"),
                ],
                &[],
            )
        })
        .collect();
    ch.insert_logs(&rows, false);
    // And two policy violations of those accesses, so the violation list pages over data.
    let violations: Vec<_> = [
        (aibom_semconv::policy_action::DENY, "true"),
        (aibom_semconv::policy_action::ALERT, "false"),
    ]
    .iter()
    .enumerate()
    .map(|(i, (action, enforced))| {
        log_row(
            now - (i as i64) * 1_000_000_000,
            &[
                (record::EVENT_NAME, event::POLICY_VIOLATION),
                (attr::PROJECT_ID, "proj-a"),
                (attr::FILE_PATH, "/models/m0/model.safetensors"),
                (attr::PROCESS_PID, "100"),
                (attr::ARTIFACT_TYPE, "model"),
                (attr::POLICY_RULE, "approved-licenses"),
                (attr::POLICY_ACTION, action),
                (attr::POLICY_SEVERITY, aibom_semconv::policy_severity::HIGH),
                (attr::POLICY_ENFORCED, enforced),
            ],
            &[],
        )
    })
    .collect();
    ch.insert_logs(&violations, false);
    let api_calls: Vec<_> = [
        (
            aibom_semconv::api_provider::OPENAI,
            "api.openai.com",
            "443",
            aibom_semconv::api_seen_by::UPROBE,
        ),
        (
            aibom_semconv::api_provider::OLLAMA,
            "127.0.0.1",
            "11434",
            aibom_semconv::api_seen_by::HTTP,
        ),
    ]
    .iter()
    .enumerate()
    .map(|(i, (provider, host, port, seen_by))| {
        log_row(
            now - (i as i64) * 1_000_000_000,
            &[
                (record::EVENT_NAME, event::API_CALL),
                (attr::PROJECT_ID, "proj-a"),
                (attr::API_PROVIDER, provider),
                (attr::GEN_AI_REQUEST_MODEL, "gpt-4o-mini"),
                (attr::GEN_AI_OPERATION_NAME, "chat"),
                (attr::SERVER_ADDRESS, host),
                (attr::SERVER_PORT, port),
                (attr::API_SEEN_BY, seen_by),
                (attr::API_COUNT, "2"),
                (attr::GEN_AI_USAGE_INPUT_TOKENS, "12"),
                (attr::PROCESS_PID, "100"),
                (attr::PROCESS_EXECUTABLE_NAME, "python3"),
            ],
            &[],
        )
    })
    .collect();
    ch.insert_logs(&api_calls, false);
    let r = call(
        "GET",
        &format!("{}/projects/proj-a/runtime/events", sidecar.base),
        Some(TOKEN),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["events"].as_array().unwrap().len(), 3, "{}", r.text);

    let examples = std::env::var("AIBOM_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "25".into());
    let checks = std::env::var("AIBOM_SCHEMATHESIS_CHECKS").unwrap_or_else(|_| "all".into());
    let lenient = std::env::var("AIBOM_SCHEMATHESIS_LENIENT").unwrap_or_default();
    let seed = std::env::var("AIBOM_SCHEMATHESIS_SEED").unwrap_or_else(|_| "1".into());
    let work = tempfile::tempdir().unwrap();
    let run = |checks: &str, filter: &[&str]| {
        let out = Command::new(&st)
            .current_dir(work.path())
            .args(["--no-color", "run"])
            .arg(format!("{}/openapi.json", sidecar.base))
            .args(["-H", &format!("Authorization: Bearer {TOKEN}")])
            .args(["-c", checks])
            // The live stream never ends by design (tests/ui.rs tests it).
            .args(["--exclude-path", "/projects/{id}/runtime/stream"])
            .args(filter)
            .args(["--phases", "examples,coverage,fuzzing"])
            .args(["-n", &examples, "--seed", &seed])
            .args(["--workers", "1", "--request-timeout", "30"])
            .args(["--generation-database", "none", "--max-failures", "20"])
            .output()
            .expect("run schemathesis");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprintln!("{stdout}");
        assert!(
            out.status.success(),
            "schemathesis -c {checks} found problems (exit {}):\n{stdout}\n{stderr}",
            out.status
        );
        stdout
    };
    let filter = ["--exclude-path-regex", lenient.as_str()];
    let strict = run(&checks, if lenient.is_empty() { &[] } else { &filter });
    // The run really tested the operations (not, e.g., an empty schema).
    let number_after = |label: &str| {
        strict.split(label).nth(1).and_then(|r| {
            r.split_whitespace()
                .next()
                .and_then(|n| n.parse::<usize>().ok())
        })
    };
    let selected = number_after("Operations:");
    assert!(
        selected.is_some_and(|n| n >= 9) && number_after("Tested:") == selected,
        "every selected operation tested: {selected:?} selected\n{strict}"
    );
    if !lenient.is_empty() {
        run(
            "not_a_server_error",
            &["--include-path-regex", lenient.as_str()],
        );
    }

    // The sidecar survived and still answers.
    let r = call(
        "GET",
        &format!("{}/healthz", sidecar.base),
        Some(TOKEN),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
}

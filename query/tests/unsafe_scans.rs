//! Unsafe serialized models in the sidecar, against a real ClickHouse engine (chDB behind
//! `scripts/chdb-http`) and the real `aibom-query` binary: `aibom.artifact.identified`
//! records of scanned pickle-based files shaped as rotel writes them (the verdict
//! stringified) land in `runtime_unsafe_scans` (migration 0013); the summary counts and
//! lists the unsafe files, the AI-BOM marks their components, DELETE takes them along.
mod common;

use aibom_semconv::event;
use common::*;
use serde_json::Value;

const S: i64 = 1_000_000_000;

/// One access and its identified twin of a pickle-based file with `verdict` attributes.
fn file(
    base: i64,
    t: i64,
    path: &str,
    sha: &str,
    verdict: &[(&'static str, &'static str)],
) -> Vec<Value> {
    let mut a = vec![
        (attr::PROJECT_ID, "proj-u"),
        (attr::FILE_PATH, path),
        (attr::ACCESS_MODE, "read"),
        (attr::ACCESS_COUNT, "1"),
        (attr::PROCESS_PID, "100"),
        (attr::PROCESS_EXECUTABLE_NAME, "python3"),
        (attr::TRACER, "ebpf"),
        (attr::ARTIFACT_TYPE, "model"),
        (attr::ARTIFACT_ROLE, "weights"),
        (attr::ARTIFACT_FORMAT, "pickle"),
        (attr::ARTIFACT_PROVIDER, "local"),
        (attr::ARTIFACT_SHA256, sha),
    ];
    let mut access = a.clone();
    access.push((record::EVENT_NAME, event::ARTIFACT_ACCESS));
    a.push((record::EVENT_NAME, event::ARTIFACT_IDENTIFIED));
    a.extend_from_slice(verdict);
    let res = [(attr::HOST_NAME, "node-1")];
    vec![
        log_row(base + t * S, &access, &res),
        log_row(base + t * S + 1000, &a, &res),
    ]
}

#[test]
fn unsafe_files_are_counted_listed_marked_in_the_bom_and_deleted() {
    let Some(ch) = migrated_clickhouse() else {
        return;
    };
    let base = chrono::Utc::now().timestamp_nanos_opt().unwrap() - 3600 * S;
    let sha = |c: char| c.to_string().repeat(64);
    let mut rows = Vec::new();
    rows.extend(file(
        base,
        1,
        "/m/evil.pkl",
        &sha('a'),
        &[
            (attr::ARTIFACT_UNSAFE, "true"),
            (attr::ARTIFACT_UNSAFE_REASON, "builtins.exec, posix.system"),
        ],
    ));
    rows.extend(file(
        base,
        2,
        "/m/ok.pt",
        &sha('b'),
        &[(attr::ARTIFACT_UNSAFE, "false")],
    ));
    rows.extend(file(
        base,
        3,
        "/m/cut.pkl",
        &sha('c'),
        &[(
            attr::ARTIFACT_UNSAFE_SCAN_ERROR,
            "scan stopped at the limit of 64 bytes",
        )],
    ));
    ch.insert_logs(&rows, false);
    let sc = Sidecar::start(&ch, &[]);

    let s = call(
        "GET",
        &format!("{}/projects/proj-u/runtime/summary", sc.base),
        Some(TOKEN),
        None,
    );
    assert_eq!(s.status, 200, "{}", s.text);
    let u = &s.json["unsafe_artifacts"];
    assert_eq!(
        (
            u["scanned"].as_u64(),
            u["unsafe"].as_u64(),
            u["unknown"].as_u64()
        ),
        (Some(3), Some(1), Some(1)),
        "{u:#}"
    );
    let listed = u["artifacts"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{u:#}");
    assert_eq!(listed[0]["path"], "/m/evil.pkl");
    assert_eq!(listed[0]["reason"], "builtins.exec, posix.system");
    assert_eq!(listed[0]["sha256"], sha('a'));
    // scans are not events: the event totals count the two records per file as before
    assert_eq!(s.json["totals"]["artifacts"], 3);

    // the AI-BOM: the unsafe file's component says so, the others do not
    let bom = call(
        "GET",
        &format!("{}/projects/proj-u/runtime/aibom", sc.base),
        Some(TOKEN),
        None,
    );
    assert_eq!(bom.status, 200, "{}", bom.text);
    let comps = bom.json["components"].as_array().unwrap();
    let by_name = |n: &str| {
        comps
            .iter()
            .find(|c| c["name"] == n)
            .unwrap_or_else(|| panic!("{n}: {:#}", bom.json))
    };
    assert_eq!(props(by_name("evil.pkl"), "aibom:unsafe"), ["true"]);
    assert_eq!(
        props(by_name("evil.pkl"), "aibom:unsafe_reason"),
        ["builtins.exec, posix.system"]
    );
    for n in ["ok.pt", "cut.pkl"] {
        assert!(props(by_name(n), "aibom:unsafe").is_empty(), "{n}");
    }
    let spdx = call(
        "GET",
        &format!(
            "{}/projects/proj-u/runtime/aibom?format=spdx3-json",
            sc.base
        ),
        Some(TOKEN),
        None,
    );
    assert!(
        spdx.text.contains(&format!(
            "{}: builtins.exec, posix.system",
            attr::ARTIFACT_UNSAFE_REASON
        )),
        "{}",
        spdx.text
    );

    // migrating again backfills once; DELETE of the project's events takes the scans along
    assert!(migrate(&ch).status.success());
    let again = call(
        "GET",
        &format!("{}/projects/proj-u/runtime/summary", sc.base),
        Some(TOKEN),
        None,
    );
    assert_eq!(again.json["unsafe_artifacts"]["scanned"], 3);
    let r = call(
        "DELETE",
        &format!("{}/projects/proj-u/runtime/events", sc.base),
        Some(ADMIN_TOKEN),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let gone = call(
        "GET",
        &format!("{}/projects/proj-u/runtime/summary", sc.base),
        Some(TOKEN),
        None,
    );
    assert_eq!(gone.json["unsafe_artifacts"]["scanned"], 0, "{}", gone.text);
}

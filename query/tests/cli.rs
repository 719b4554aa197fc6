//! The binary's startup rules; no ClickHouse needed.
mod common;

use common::*;

#[test]
fn refuses_to_start_without_a_token() {
    let out = aibom_query()
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("AIBOM_QUERY_TOKEN") && err.contains("--insecure-no-auth"),
        "{err}"
    );
}

#[test]
fn refuses_a_short_token_and_a_bad_database_name() {
    let out = aibom_query()
        .args(["--listen", "127.0.0.1:0"])
        .env("AIBOM_QUERY_TOKEN", "short")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 16"));
    let out = aibom_query()
        .args(["--database", "x;DROP"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn token_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("token");
    std::fs::write(&f, "short\n").unwrap();
    let out = aibom_query()
        .args(["--listen", "127.0.0.1:0", "--token-file"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 16"));
}

#[test]
fn help_teaches() {
    let out = aibom_query().arg("--help").output().unwrap();
    assert!(out.status.success());
    let h = String::from_utf8_lossy(&out.stdout);
    for s in [
        "--migrate",
        "AIBOM_QUERY_TOKEN",
        "AIBOM_CLICKHOUSE_URL",
        "/projects/{id}/runtime/events",
        "rotel",
        "--daemon",
    ] {
        assert!(h.contains(s), "--help lacks {s}");
    }
}

//! Command-line behaviour that needs no kernel privileges.
mod common;

use common::*;

#[test]
fn help_teaches_the_commands_and_flags() {
    let out = aibomd().arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for w in [
        "run",
        "daemon",
        "config",
        "aibomd run -- python app.py",
        "AIBOM_",
    ] {
        assert!(text.contains(w), "--help lacks {w:?}:\n{text}");
    }
    let out = aibomd().args(["run", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for w in [
        "--events",
        "--project",
        "--tracer",
        "auto",
        "ebpf",
        "fanotify",
        "procfs",
        "exit code",
    ] {
        assert!(text.contains(w), "run --help lacks {w:?}:\n{text}");
    }
}

#[test]
fn run_without_a_command_is_a_usage_error() {
    let out = aibomd().arg("run").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CMD"));
}

#[test]
fn config_prints_defaults_and_env_overrides() {
    let out = aibomd()
        .arg("config")
        .env("AIBOM_TRACER", "procfs")
        .env("AIBOM_EBPF__WAKEUP_BYTES", "4096")
        .env("AIBOM_FILTER__ALLOW_SUFFIXES", ".gguf,.onnx")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("tracer = \"procfs\""), "{text}");
    assert!(text.contains("wakeup_bytes = 4096"), "{text}");
    assert!(
        text.contains("allow_suffixes = [\n    \".gguf\",\n    \".onnx\",\n]"),
        "{text}"
    );
}

#[test]
fn config_file_is_read_and_bad_ones_are_named() {
    let (_g, dir) = tempdir();
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        "project = \"from-file\"\n[pipeline]\ndedup_window_ms = 5\n",
    )
    .unwrap();
    let out = aibomd()
        .args(["config", "--config"])
        .arg(&good)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("project = \"from-file\"") && text.contains("dedup_window_ms = 5"),
        "{text}"
    );

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[filter]\nallow_suffixes = [\"\"]\n").unwrap();
    let out = aibomd()
        .args(["config", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("allow_suffixes") && err.lines().count() == 1,
        "{err}"
    );

    let out = aibomd()
        .args(["config", "--config", "/nonexistent/aibomd.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/aibomd.toml"));
}

#[test]
fn procfs_run_keeps_the_exit_code_without_privileges() {
    let (_g, dir) = tempdir();
    let t = run_traced(&dir, "procfs", &[], &["sh", "-c", "exit 7"]);
    assert_eq!(t.out.status.code(), Some(7), "{}", t.stderr());
    let t = run_traced(&dir, "procfs", &[], &["sh", "-c", "kill -TERM $$"]);
    assert_eq!(t.out.status.code(), Some(128 + 15), "{}", t.stderr());
}

#[test]
fn missing_command_is_a_clear_error() {
    let (_g, dir) = tempdir();
    let t = run_traced(&dir, "procfs", &[], &["/nonexistent/cmd"]);
    assert!(!t.out.status.success());
    assert!(
        t.stderr().contains("cannot start `/nonexistent/cmd`"),
        "{}",
        t.stderr()
    );
}

/// Without root, asking for eBPF gives one line naming what is missing and the fallback.
#[test]
fn ebpf_without_root_names_the_problem_and_the_fallback() {
    if !nix::unistd::geteuid().is_root() {
        let out = aibomd()
            .args(["run", "--tracer", "ebpf", "--", "true"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("not running as root") && err.contains("--tracer procfs"),
            "{err}"
        );
        return;
    }
    // As root: drop to `nobody` with setpriv to see the unprivileged behaviour.
    let bin = env!("CARGO_BIN_EXE_aibomd");
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            bin,
            "run",
            "--tracer",
            "ebpf",
            "--",
            "true",
        ])
        .output();
    let Ok(out) = out else {
        eprintln!("SKIP: setpriv not available");
        return;
    };
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("Permission denied") && err.contains(bin) {
        eprintln!("SKIP: the test binary is not readable by nobody: {err}");
        return;
    }
    assert_eq!(out.status.code(), Some(70), "{err}");
    assert!(
        err.contains("not running as root") && err.contains("--tracer procfs"),
        "{err}"
    );
    assert_eq!(
        err.trim().lines().count(),
        1,
        "one clear line expected: {err}"
    );
}

#[test]
fn a_typo_in_the_config_file_is_an_error_naming_key_and_file() {
    let (_d, dir) = tempdir();
    let f = dir.join("aibomd.toml");
    std::fs::write(&f, "[ebpf]\nwakeup_byte = 4096\n").unwrap();
    let out = aibomd()
        .args(["config", "--config"])
        .arg(&f)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a typo was accepted: {err}");
    assert!(err.contains("ebpf.wakeup_byte"), "{err}");
    assert!(err.contains(&*f.to_string_lossy()), "{err}");
    // the same key spelled right is taken, and `aibomd config` prints a file it accepts
    std::fs::write(&f, "[ebpf]\nwakeup_bytes = 4096\n").unwrap();
    let out = aibomd()
        .args(["config", "--config"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&f, &out.stdout).unwrap();
    let again = aibomd()
        .args(["config", "--config"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(
        again.stdout, out.stdout,
        "`aibomd config` output does not load back"
    );
}

#[test]
fn an_empty_control_socket_turns_the_control_api_off() {
    // procfs needs no privileges, so this runs anywhere
    let mut d = aibomd()
        .args([
            "daemon",
            "--tracer",
            "procfs",
            "--no-console",
            "--control-socket",
            "",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (line, _rest) = wait_ready(&mut d);
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(d.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let status = d.wait().unwrap();
    assert!(
        line.contains("tracer=procfs") && !line.contains("control="),
        "{line}"
    );
    assert!(status.success(), "daemon did not stop cleanly: {status:?}");
}

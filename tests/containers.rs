//! Real containers (issue 17): a model that exists only inside a podman container's image,
//! or only in a private mount namespace, is identified by `aibomd daemon` on the host
//! through the file the process opened: container-relative `file.path`, `container.id`,
//! `container.runtime.name`, the right sha256 and format.
//!
//! Needs root, the eBPF tracer and podman with the local image `scripts/container-image`
//! builds (`localhost/aibom-py:bookworm`, made from a debootstrapped rootfs; no registry).
//! Outside CI a missing piece skips with a message; under `CI=true` it fails.
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::*;
use serde_json::Value;

/// The flags this kind of machine needs (see README, "Containers"): runc (crun refuses
/// hybrid cgroups), cgroupfs (no systemd), ulimits the sandbox allows.
const PODMAN: &[&str] = &["--runtime", "runc", "--cgroup-manager=cgroupfs"];
const RUN_LIMITS: &[&str] = &[
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=1024:1024",
];
const BASE_IMAGE: &str = "localhost/aibom-py:bookworm";

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Skips (outside CI) or fails (under CI) with `why`.
fn unavailable(why: &str) -> bool {
    if ci() {
        panic!("CI=true but {why}; the container tests must not skip in CI");
    }
    eprintln!("SKIP {why}");
    false
}

fn podman() -> Command {
    let mut c = Command::new("podman");
    c.args(PODMAN);
    c
}

/// True when podman runs and the base image exists (built by `scripts/container-image`
/// when missing).
fn podman_possible() -> bool {
    if !kernel_tests_possible("containers") {
        return false;
    }
    match podman().arg("--version").output() {
        Ok(o) if o.status.success() => {}
        _ => return unavailable("podman is not installed (scripts/setup installs it)"),
    }
    let exists = || {
        podman()
            .args(["image", "exists", BASE_IMAGE])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !exists() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/container-image");
        let out = Command::new(script)
            .output()
            .expect("run scripts/container-image");
        if !out.status.success() || !exists() {
            return unavailable(&format!(
                "the image {BASE_IMAGE} could not be built: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    true
}

/// Writes `name` (a GGUF with the real `gguf` library) in `dir`; returns its sha256.
fn gguf(dir: &Path, name: &str) -> String {
    let script = r#"
import sys, gguf, numpy as np
w = gguf.GGUFWriter(sys.argv[1], arch="llama")
w.add_name("tiny-in-a-container")
w.add_license("apache-2.0")
w.add_tensor("token_embd.weight", np.ones((4, 8), dtype=np.float32))
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
"#;
    let out = Command::new(python())
        .args(["-c", script])
        .arg(dir.join(name))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(dir.join(name)).unwrap()))
}

/// `aibomd daemon` tracing the whole host into `events`.
fn daemon(events: &Path) -> (Child, std::io::BufReader<std::process::ChildStderr>) {
    let mut d = aibomd()
        .args(["daemon", "--no-console", "--tracer", "ebpf", "--events"])
        .arg(events)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (_, err) = wait_ready(&mut d);
    (d, err)
}

/// Stops the daemon and returns its events.
fn stop(d: Child, err: std::io::BufReader<std::process::ChildStderr>, events: &Path) -> Vec<Value> {
    stop_daemon(d, err);
    std::fs::read_to_string(events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The events of `event_name` whose `file.path` is `path`.
fn of<'a>(evs: &'a [Value], event_name: &str, path: &str) -> Vec<&'a Value> {
    evs.iter()
        .filter(|e| e[record::EVENT_NAME] == event_name && e[attr::FILE_PATH] == path)
        .collect()
}

#[test]
fn a_model_only_in_a_podman_image_is_identified_from_the_host() {
    if !podman_possible() {
        return;
    }
    let (_g, dir) = tempdir();
    let ctx = dir.join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    let sha = gguf(&ctx, "tiny.gguf");
    // a safetensors file whose license only its folder's card tells
    let header = br#"{"__metadata__":{"format":"pt"}}  "#;
    let mut st = (header.len() as u64).to_le_bytes().to_vec();
    st.extend_from_slice(header);
    std::fs::write(ctx.join("plain.safetensors"), st).unwrap();
    std::fs::write(ctx.join("README.md"), "---\nlicense: mit\n---\n# plain\n").unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        format!("FROM {BASE_IMAGE}\nCOPY tiny.gguf plain.safetensors README.md /models/\n"),
    )
    .unwrap();
    let image = format!("localhost/aibom-test-model:{}", std::process::id());
    let out = podman()
        .args(["build", "--quiet", "-t", &image, "-f"])
        .arg(ctx.join("Containerfile"))
        .arg(&ctx)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "podman build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !Path::new("/models/tiny.gguf").exists(),
        "the host must not have it"
    );
    let events = dir.join("daemon.jsonl");
    let (d, err) = daemon(&events);
    let name = format!("aibom-test-{}", std::process::id());
    let run = podman()
        .args(["run", "--rm", "--name", &name])
        .args(RUN_LIMITS)
        .arg(&image)
        .args([
            "python3",
            "-c",
            "import time; f = open('/models/tiny.gguf', 'rb'); f.read(); \
             g = open('/models/plain.safetensors', 'rb'); g.read(); time.sleep(2)",
        ])
        .output()
        .unwrap();
    let _ = podman().args(["rmi", "-f", &image]).output();
    let evs = stop(d, err, &events);
    assert!(
        run.status.success(),
        "podman run: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let acc = of(
        &evs,
        aibom_semconv::event::ARTIFACT_ACCESS,
        "/models/tiny.gguf",
    );
    assert!(!acc.is_empty(), "no access of /models/tiny.gguf: {evs:#?}");
    let e = acc[0];
    let id = s(e, attr::CONTAINER_ID);
    assert!(
        id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "container.id {id:?}"
    );
    assert_eq!(s(e, attr::CONTAINER_RUNTIME_NAME), "podman", "{e:#}");
    let ident = of(
        &evs,
        aibom_semconv::event::ARTIFACT_IDENTIFIED,
        "/models/tiny.gguf",
    );
    assert!(!ident.is_empty(), "not identified: {evs:#?}");
    let e = ident[0];
    assert_eq!(s(e, attr::ARTIFACT_FORMAT), "gguf", "{e:#}");
    assert_eq!(s(e, attr::ARTIFACT_SHA256), sha, "{e:#}");
    assert!(e[attr::ARTIFACT_IDENTITY_ERROR].is_null(), "{e:#}");
    eprintln!("{e:#}");
    // the card beside it is read in the container's root, not the host's
    let plain = of(
        &evs,
        aibom_semconv::event::ARTIFACT_IDENTIFIED,
        "/models/plain.safetensors",
    );
    assert!(!plain.is_empty(), "not identified: {evs:#?}");
    assert_eq!(
        s(plain[0], attr::ARTIFACT_FORMAT),
        "safetensors",
        "{:#}",
        plain[0]
    );
    assert_eq!(s(plain[0], attr::ARTIFACT_LICENSE), "MIT", "{:#}", plain[0]);
}

#[test]
fn a_model_only_in_a_private_mount_namespace_is_identified() {
    if !kernel_tests_possible("mount namespaces") {
        return;
    }
    let (_g, dir) = tempdir();
    let src = dir.join("src");
    std::fs::create_dir(&src).unwrap();
    let sha = gguf(&src, "ns.gguf");
    let mnt: PathBuf = dir.join("ns");
    std::fs::create_dir(&mnt).unwrap();
    let events = dir.join("daemon.jsonl");
    let (d, err) = daemon(&events);
    // a tmpfs only this namespace sees, the model copied into it, then read
    let script = r#"set -e
mount -t tmpfs tmpfs "$1"
cp "$2" "$1/ns.gguf"
exec python3 -c 'import sys, time; f = open(sys.argv[1], "rb"); f.read(); time.sleep(2)' "$1/ns.gguf""#;
    let out = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .arg(&mnt)
        .arg(src.join("ns.gguf"))
        .output()
        .unwrap();
    let evs = stop(d, err, &events);
    assert!(
        out.status.success(),
        "unshare: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!mnt.join("ns.gguf").exists(), "the host must not see it");
    let path = mnt.join("ns.gguf");
    let ident = of(
        &evs,
        aibom_semconv::event::ARTIFACT_IDENTIFIED,
        path.to_str().unwrap(),
    );
    assert!(!ident.is_empty(), "not identified: {evs:#?}");
    let e = ident[0];
    assert_eq!(s(e, attr::ARTIFACT_FORMAT), "gguf", "{e:#}");
    assert_eq!(s(e, attr::ARTIFACT_SHA256), sha, "{e:#}");
}

#[test]
fn image_name_id_and_labels_come_from_podmans_api_socket() {
    if !podman_possible() {
        return;
    }
    let (_g, dir) = tempdir();
    let sock = dir.join("podman.sock");
    let mut service = podman()
        .args(["system", "service", "--time=0"])
        .arg(format!("unix://{}", sock.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("podman system service");
    let name = format!("aibom-engine-{}", std::process::id());
    let run = podman()
        .args([
            "run",
            "-d",
            "--name",
            &name,
            "--label",
            "aibom.project=demo",
        ])
        .args(RUN_LIMITS)
        .args([BASE_IMAGE, "sleep", "30"])
        .output()
        .unwrap();
    let id = String::from_utf8_lossy(&run.stdout).trim().to_string();
    let mut got = None;
    for _ in 0..100 {
        match aibomd::attribute::engine::inspect(&sock, &id, std::time::Duration::from_secs(5)) {
            Ok(i) => {
                got = Some(i);
                break;
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(100)),
        }
    }
    let _ = podman().args(["rm", "-f", "-t", "0", &name]).output();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(service.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = service.wait();
    assert!(
        run.status.success(),
        "podman run: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let i = got.expect("the API socket never answered");
    assert_eq!(i.name.as_deref(), Some(BASE_IMAGE), "{i:?}");
    let image_id = i.id.clone().unwrap_or_default();
    assert!(
        image_id.len() == 64 && image_id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{i:?}"
    );
    assert!(
        i.labels
            .contains(&("aibom.project".to_string(), "demo".to_string())),
        "{i:?}"
    );
}

/// `aibomd daemon` as a privileged container sharing the host's pid namespace (as compose
/// and the DaemonSet run it) traces host processes with host paths and pids, and reads
/// their files through them (the held descriptor, or the host's root once they are gone).
#[test]
fn the_daemon_in_a_privileged_container_traces_host_processes() {
    if !podman_possible() {
        return;
    }
    let (_g, dir) = tempdir();
    let held_sha = gguf(&dir, "held.gguf");
    let quick_sha = gguf(&dir, "quick.gguf");
    let name = format!("aibomd-in-podman-{}", std::process::id());
    let bin = env!("CARGO_BIN_EXE_aibomd");
    let out = podman()
        .args(["run", "-d", "--name", &name, "--privileged", "--pid=host"])
        .args(RUN_LIMITS)
        .arg("-v")
        .arg(format!("{bin}:/usr/local/bin/aibomd:ro"))
        .arg("-v")
        .arg(format!("{}:/out", dir.display()))
        .arg(BASE_IMAGE)
        .args(["aibomd", "daemon", "--no-console", "--tracer", "ebpf"])
        .args(["--events", "/out/events.jsonl"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "podman run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let logs = || {
        let o = podman().args(["logs", &name]).output().unwrap();
        String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout)
    };
    let start = std::time::Instant::now();
    while !logs().contains("aibomd: ready") {
        if start.elapsed() > std::time::Duration::from_secs(60) {
            let l = logs();
            let _ = podman().args(["rm", "-f", "-t", "0", &name]).output();
            panic!("the daemon in the container is not ready in 60 s: {l}");
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let py = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import sys, time; f = open(sys.argv[1], 'rb'); f.read(); time.sleep(2)",
        ])
        .arg(dir.join("held.gguf"))
        .spawn()
        .unwrap();
    let py_pid = py.id() as i64;
    let quick = Command::new("cat")
        .arg(dir.join("quick.gguf"))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(quick.success());
    py.wait_with_output().unwrap();
    let stop = podman().args(["stop", "-t", "20", &name]).output().unwrap();
    let l = logs();
    let _ = podman().args(["rm", "-f", "-t", "0", &name]).output();
    assert!(
        stop.status.success(),
        "podman stop: {}",
        String::from_utf8_lossy(&stop.stderr)
    );
    let evs: Vec<Value> = std::fs::read_to_string(dir.join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let held = dir.join("held.gguf");
    let ident = of(
        &evs,
        aibom_semconv::event::ARTIFACT_IDENTIFIED,
        held.to_str().unwrap(),
    );
    assert!(!ident.is_empty(), "held.gguf not identified: {evs:#?}\n{l}");
    let e = ident[0];
    assert_eq!(i(e, attr::PROCESS_PID), py_pid, "host pid: {e:#}");
    assert_eq!(s(e, attr::ARTIFACT_SHA256), held_sha, "{e:#}");
    assert!(e[attr::CONTAINER_ID].is_null(), "a host process: {e:#}");
    let quick = dir.join("quick.gguf");
    let ident = of(
        &evs,
        aibom_semconv::event::ARTIFACT_IDENTIFIED,
        quick.to_str().unwrap(),
    );
    assert!(
        !ident.is_empty(),
        "quick.gguf not identified: {evs:#?}\n{l}"
    );
    assert_eq!(
        s(ident[0], attr::ARTIFACT_SHA256),
        quick_sha,
        "{:#}",
        ident[0]
    );
}

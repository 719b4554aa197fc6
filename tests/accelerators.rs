//! Accelerators: a real process opening an accelerator's device node is reported as an
//! accelerator use, not as a file. The node is a test-only character device named like an
//! accelerator (`/dev/null`'s numbers) on a tmpfs over `/dev/accel` in a private mount
//! namespace, where `aibomd` runs too. Device nodes are only visible to the eBPF tracer.
//! Needs root; under `CI=true` it fails instead of skipping.
mod common;

use std::path::Path;
use std::process::Command;

use aibom_semconv::{accelerator_kind, accelerator_vendor, artifact_type, event};
use common::*;

/// Removes `/dev/accel` at the end when the test had to create it (an empty folder: the
/// node itself lives on a tmpfs in the test's own mount namespace).
struct CreatedDir(Option<&'static Path>);

impl Drop for CreatedDir {
    fn drop(&mut self) {
        if let Some(p) = self.0 {
            let _ = std::fs::remove_dir(p);
        }
    }
}

#[test]
fn opening_an_accelerator_node_is_an_accelerator_use() {
    if !kernel_tests_possible(module_path!()) {
        return;
    }
    let accel = Path::new("/dev/accel");
    let _created = CreatedDir((!accel.exists()).then(|| {
        std::fs::create_dir(accel).expect("create /dev/accel");
        accel
    }));
    let (_g, dir) = tempdir();
    let events = dir.join("events.jsonl");
    let script = "f = open('/dev/accel/accel0', 'rb'); f.read(1); open('/dev/null', 'rb').close()";
    let inner = format!(
        "mount -t tmpfs aibomd-test /dev/accel && mknod /dev/accel/accel0 c 1 3 && exec {} run --events {} --tracer ebpf -- {} -c \"{script}\"",
        env!("CARGO_BIN_EXE_aibomd"),
        events.display(),
        python(),
    );
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &inner])
        .env_remove("AIBOM_PROJECT")
        .env_remove("AIBOM_TRACER")
        .current_dir(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !Path::new("/dev/accel/accel0").exists(),
        "the node stays in the test's namespace"
    );
    let text = std::fs::read_to_string(&events).unwrap();
    let all: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |p: &str| -> Vec<&serde_json::Value> {
        all.iter().filter(|e| e[attr::FILE_PATH] == p).collect()
    };
    let acc = of("/dev/accel/accel0");
    assert_eq!(acc.len(), 1, "{all:#?}\n{stderr}");
    let e = acc[0];
    assert_eq!(s(e, record::EVENT_NAME), event::ARTIFACT_ACCESS);
    assert_eq!(
        s(e, attr::ARTIFACT_TYPE),
        artifact_type::ACCELERATOR,
        "{e:#}"
    );
    assert_eq!(s(e, attr::ACCELERATOR_KIND), accelerator_kind::ACCEL);
    assert_eq!(i(e, attr::ACCELERATOR_INDEX), 0);
    // 1:3 is no PCI device, and /dev/accel serves every vendor
    assert_eq!(s(e, attr::ACCELERATOR_VENDOR), accelerator_vendor::UNKNOWN);
    // never sniffed nor hashed: no format, no hash, no provider
    for k in [
        attr::ARTIFACT_FORMAT,
        attr::ARTIFACT_FORMAT_ERROR,
        attr::ARTIFACT_SHA256,
        attr::ARTIFACT_SHA256_ERROR,
        attr::ARTIFACT_PROVIDER,
    ] {
        assert!(e.get(k).is_none(), "{k} in {e:#}");
    }
    assert!(of("/dev/null").is_empty(), "other devices stay filtered");
    assert!(
        stderr.contains("unknown accel 0") && stderr.contains("accelerator"),
        "{stderr}"
    );
}

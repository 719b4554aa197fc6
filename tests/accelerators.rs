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
    let otlp = dir.join("otlp.jsonl");
    let bom = dir.join("bom.json");
    // a model made by `safetensors`, loaded by the process that also opens the accelerator
    let script = "import numpy as np; from safetensors.numpy import save_file, load_file; \
        save_file({'w': np.zeros((4, 4), np.float32)}, 'model.safetensors'); \
        load_file('model.safetensors'); \
        f = open('/dev/accel/accel0', 'rb'); f.read(1); open('/dev/null', 'rb').close()";
    let inner = format!(
        "mount -t tmpfs aibomd-test /dev/accel && mknod /dev/accel/accel0 c 1 3 && exec {} run --events {} --otlp-file {} --bom {} --tracer ebpf -- {} -c \"{script}\"",
        env!("CARGO_BIN_EXE_aibomd"),
        events.display(),
        otlp.display(),
        bom.display(),
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
    assert_eq!(s(e, attr::ARTIFACT_NAME), "unknown/accel/0");

    // The process's span says it held the accelerator, beside the model it loaded.
    let pid = i(e, attr::PROCESS_PID);
    let spans: Vec<serde_json::Value> = std::fs::read_to_string(&otlp)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter_map(|v| v.get("resourceSpans").cloned())
        .flat_map(|rs| rs.as_array().cloned().unwrap_or_default())
        .flat_map(|r| r["scopeSpans"].as_array().cloned().unwrap_or_default())
        .flat_map(|s| s["spans"].as_array().cloned().unwrap_or_default())
        .collect();
    let span_attr = |sp: &serde_json::Value, k: &str| -> Option<serde_json::Value> {
        sp["attributes"]
            .as_array()?
            .iter()
            .find(|a| a["key"] == k)
            .map(|a| a["value"].clone())
    };
    let proc_span = spans
        .iter()
        .find(|sp| {
            sp["name"] == aibom_semconv::span::PROCESS
                && span_attr(sp, attr::PROCESS_PID)
                    // OTLP JSON writes 64-bit integers as strings
                    .is_some_and(|v| {
                        v["intValue"].as_str() == Some(&pid.to_string()) || v["intValue"] == pid
                    })
        })
        .unwrap_or_else(|| panic!("no process span of {pid}: {spans:#?}"));
    let devices = span_attr(proc_span, attr::ACCELERATOR_DEVICES).expect("devices on the span");
    assert_eq!(
        devices["arrayValue"]["values"],
        serde_json::json!([{"stringValue": "unknown/accel/0"}]),
        "{proc_span:#}"
    );
    let loaded: Vec<&str> = proc_span["events"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|ev| ev["attributes"].as_array().unwrap())
        .filter(|a| a["key"] == attr::FILE_PATH)
        .filter_map(|a| a["value"]["stringValue"].as_str())
        .collect();
    assert!(
        loaded.iter().any(|p| p.ends_with("/model.safetensors")),
        "{loaded:?}"
    );
    assert!(
        span_attr(proc_span, attr::ACCELERATOR_MEMORY_MAX).is_none(),
        "no NVML here: no memory sample"
    );

    // The AI-BOM: the model ran with the accelerator; the node itself is no component.
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bom).unwrap()).unwrap();
    let comps = doc["components"].as_array().unwrap();
    assert_eq!(comps.len(), 1, "{doc:#}");
    let devices: Vec<&str> = comps[0]["properties"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == aibom_bom::prop::accelerator())
        .filter_map(|p| p["value"].as_str())
        .collect();
    assert_eq!(devices, ["unknown/accel/0"], "{:#}", comps[0]);
    assert!(
        stderr.contains("unknown accel 0") && stderr.contains("accelerator"),
        "{stderr}"
    );
}

//! The `normalize` stage: from a raw access to a record with an absolute, resolved path,
//! size and mtime, attributed (see [`crate::attribute`]) to its process, container and
//! project.
//!
//! A process in another mount namespace (a container) reports paths relative to its own
//! root: its files are looked at through `/proc/PID/root` (see [`path::resolve_in`]).
//!
//! Artifact identification (type, format, provider, hashes) is added by later stages.
pub mod path;

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use crate::attribute::{Attributor, Hints};
use crate::model::{AccessRecord, RawAccess, RecordKind};
pub use path::{resolve, resolve_in, Resolved};

/// Normalizes and attributes one raw access. `count` is the number of folded repeats
/// (see `dedup`).
pub fn normalize(raw: &RawAccess, count: u64, attributor: &mut Attributor) -> AccessRecord {
    let proc = attributor.lookup(
        raw.pid,
        Hints {
            comm: raw.comm.as_deref(),
            uid: raw.uid,
            ppid: raw.ppid,
            cgroup_id: raw.cgroup_id,
        },
    );
    let root = proc
        .foreign_root
        .then(|| PathBuf::from(format!("/proc/{}/root", raw.pid)));
    let r = resolve_in(raw, root.as_deref());
    let meta = std::fs::metadata(path::in_root(root.as_deref(), &r.file_path)).ok();
    AccessRecord {
        kind: RecordKind::Access,
        artifact: None,
        time: raw.time,
        file_path: r.file_path,
        absolute_path: r.absolute_path,
        access_path: raw.path.clone(),
        resolution: r.resolution,
        size: meta.as_ref().map(|m| m.len()),
        modified: meta.as_ref().and_then(|m| m.modified().ok()),
        inode: raw
            .file_id
            .map(|(_, ino)| ino)
            .or(meta.as_ref().map(|m| m.ino())),
        mode: raw.mode,
        syscall: raw.syscall,
        flags: raw.flags,
        count,
        tracer: raw.tracer,
        origin: aibom_semconv::access_origin::TRACE,
        scan_id: None,
        process: proc,
    }
}

/// Model-card names that only count when they sit beside a model.
const CARD_NAMES: &[&str] = &["readme.md"];
/// Files whose presence marks a folder as a model folder.
const MODEL_MARKERS: &[&str] = &[
    "config.json",
    "model_index.json",
    ".safetensors",
    ".gguf",
    ".onnx",
    ".bin",
    ".pt",
    ".pth",
    ".h5",
    ".keras",
    ".tflite",
];

/// False for records that passed the path filter but are not artifacts: directories,
/// and READMEs outside model folders.
pub fn is_artifact(rec: &AccessRecord) -> bool {
    let root = rec
        .process
        .foreign_root
        .then(|| PathBuf::from(format!("/proc/{}/root", rec.process.pid)));
    if path::in_root(root.as_deref(), &rec.file_path).is_dir() {
        return false;
    }
    let name = |p: &std::path::Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default()
    };
    let file = name(&rec.absolute_path);
    if file.ends_with(".pth") && is_python_site_dir(&rec.absolute_path) {
        return false; // a Python path-configuration file, not PyTorch weights
    }
    if !CARD_NAMES.contains(&file.as_str()) {
        return true;
    }
    let Some(dir) = rec.absolute_path.parent() else {
        return false;
    };
    let Ok(entries) = std::fs::read_dir(path::in_root(root.as_deref(), dir)) else {
        return false;
    };
    entries.flatten().take(4096).any(|e| {
        let n = name(&e.path());
        MODEL_MARKERS
            .iter()
            .any(|m| n == *m || (m.starts_with('.') && n.ends_with(m)))
    })
}

fn is_python_site_dir(p: &std::path::Path) -> bool {
    p.parent()
        .and_then(|d| d.file_name())
        .is_some_and(|d| d == "site-packages" || d == "dist-packages")
}

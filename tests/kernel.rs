//! Kernel integration tests: the real `aibomd` binary traces real processes opening real
//! files. They need root; under `CI=true` they fail instead of skipping.
mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use aibom_semconv::{access_mode, path_resolution, tracer};
use common::*;

macro_rules! need_root {
    () => {
        if !kernel_tests_possible(module_path!()) {
            return;
        }
    };
}

/// pid printed by the Python workload on its first stdout line.
fn printed_pid(t: &Traced) -> i64 {
    String::from_utf8_lossy(&t.out.stdout)
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("workload printed no pid; stderr: {}", t.stderr()))
}

fn allowed_and_denied(tracer_name: &str, hold: f64) {
    let (_g, dir) = tempdir();
    for (f, n) in [
        ("a.safetensors", 10),
        ("B.GGUF", 20),
        ("config.json", 30),
        ("notes.txt", 1),
        ("libx.so", 1),
    ] {
        touch(&dir.join(f), n);
    }
    let script = format!(
        r#"
import os, time
print(os.getpid(), flush=True)
fs = [open(f, 'rb') for f in ['a.safetensors', 'B.GGUF', 'config.json', 'notes.txt', 'libx.so']]
time.sleep({hold})
"#
    );
    let t = run_python(&dir, tracer_name, &script);
    assert!(t.out.status.success(), "{}", t.stderr());
    let pid = printed_pid(&t);
    for (f, size) in [("a.safetensors", 10), ("B.GGUF", 20), ("config.json", 30)] {
        let e = t.one(&format!("/{f}"));
        assert_eq!(
            s(e, record::EVENT_NAME),
            aibom_semconv::event::ARTIFACT_ACCESS
        );
        assert_eq!(s(e, attr::FILE_PATH), dir.join(f).to_str().unwrap());
        assert_eq!(i(e, attr::FILE_SIZE), size);
        assert_eq!(i(e, attr::PROCESS_PID), pid);
        assert_eq!(s(e, attr::TRACER), tracer_name);
        assert_eq!(s(e, attr::PROJECT_ID), "default");
        assert!(
            s(e, attr::PROCESS_EXECUTABLE_NAME).starts_with("python"),
            "{e:#}"
        );
        assert!(!s(e, record::TIMESTAMP).is_empty());
    }
    assert!(
        t.for_file("notes.txt").is_empty() && t.for_file("libx.so").is_empty(),
        "{:#?}",
        t.events
    );
    // the table on stderr names the artifacts
    assert!(t.stderr().contains("a.safetensors"), "{}", t.stderr());
}

#[test]
fn ebpf_reports_allowed_suffixes_only() {
    need_root!();
    allowed_and_denied(tracer::EBPF, 0.0);
}

#[test]
fn fanotify_reports_allowed_suffixes_only() {
    need_root!();
    allowed_and_denied(tracer::FANOTIFY, 0.3);
}

#[test]
fn procfs_reports_files_held_open() {
    need_root!();
    // procfs polls: the files must stay open for a few poll intervals
    allowed_and_denied(tracer::PROCFS, 1.0);
}

#[test]
fn procfs_reports_memory_mapped_models() {
    need_root!();
    let (_g, dir) = tempdir();
    touch(&dir.join("w.npy"), 8192);
    let script = "import mmap, os, time\nf = open('w.npy', 'rb')\nm = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)\nf.close()\ntime.sleep(1.0)\n";
    let t = run_python(&dir, tracer::PROCFS, script);
    assert!(t.out.status.success(), "{}", t.stderr());
    let modes: Vec<_> = t
        .for_file("/w.npy")
        .iter()
        .map(|e| s(e, attr::ACCESS_MODE).to_string())
        .collect();
    assert!(
        modes.iter().any(|m| m == access_mode::MMAP),
        "{modes:?} {:#?}",
        t.events
    );
}

#[test]
fn relative_paths_resolve_against_cwd_and_dirfd() {
    need_root!();
    let (_g, dir) = tempdir();
    touch(&dir.join("sub/rel.onnx"), 5);
    touch(&dir.join("other/viadirfd.gguf"), 6);
    // Both opens happen and the process moves away at once, so only a race-free
    // resolution gets them right.
    let script = r#"
import os
os.chdir('sub'); open('rel.onnx', 'rb').close()
d = os.open('../other', os.O_RDONLY)
os.close(os.open('viadirfd.gguf', os.O_RDONLY, dir_fd=d))
os.chdir('/')
"#;
    let t = run_python(&dir, tracer::EBPF, script);
    assert!(t.out.status.success(), "{}", t.stderr());
    let e = t.one("/rel.onnx");
    assert_eq!(
        s(e, attr::FILE_PATH),
        dir.join("sub/rel.onnx").to_str().unwrap()
    );
    assert_eq!(s(e, attr::ACCESS_PATH), "rel.onnx");
    assert!(
        [path_resolution::CWD, path_resolution::KERNEL].contains(&s(e, attr::ACCESS_RESOLUTION))
    );
    let e = t.one("/viadirfd.gguf");
    assert_eq!(
        s(e, attr::FILE_PATH),
        dir.join("other/viadirfd.gguf").to_str().unwrap()
    );
    assert_eq!(s(e, attr::ACCESS_PATH), "viadirfd.gguf");
    assert!(i(e, attr::ACCESS_FLAGS) >= 0);
}

#[test]
fn hf_snapshot_symlink_keeps_both_paths() {
    need_root!();
    let (_g, dir) = tempdir();
    let repo = dir.join("hub/models--org--tiny");
    let sha = "a".repeat(64);
    touch(&repo.join("blobs").join(&sha), 42);
    let snap = repo.join("snapshots/0123456789abcdef0123456789abcdef01234567");
    std::fs::create_dir_all(&snap).unwrap();
    std::os::unix::fs::symlink(format!("../../blobs/{sha}"), snap.join("model.safetensors"))
        .unwrap();
    let link = snap.join("model.safetensors");
    let script = format!("open({:?}, 'rb').read()", link.to_str().unwrap());
    let t = run_python(&dir, tracer::EBPF, &script);
    assert!(t.out.status.success(), "{}", t.stderr());
    let by_blob = t.one(&sha);
    assert_eq!(
        s(by_blob, attr::FILE_PATH),
        repo.join("blobs").join(&sha).to_str().unwrap()
    );
    assert_eq!(
        s(by_blob, attr::ACCESS_ABSOLUTE_PATH),
        link.to_str().unwrap()
    );
    assert_eq!(s(by_blob, attr::ACCESS_PATH), link.to_str().unwrap());
    assert_eq!(i(by_blob, attr::FILE_SIZE), 42);
}

/// A model renamed, hard-linked or symlinked to a name the filter does not keep is then
/// opened unseen (the filter judges names): each such rename or link is counted
/// (`renamed_away` in the run's counters, the metric `aibom.tracer.renamed_away`).
/// Kept → kept and not kept → kept are no blind spot and not counted.
#[test]
fn renames_that_hide_a_model_from_the_filter_are_counted() {
    need_root!();
    let (_g, dir) = tempdir();
    for f in ["a.gguf", "b.gguf", "c.gguf", "d.gguf", "notes.txt"] {
        std::fs::write(dir.join(f), b"GGUF").unwrap();
    }
    let script = "import os\n\
        os.rename('a.gguf', 'a.dat')\n\
        os.link('b.gguf', 'b.data')\n\
        os.symlink('c.gguf', 'c.link')\n\
        os.rename('d.gguf', 'e.gguf')\n\
        os.rename('notes.txt', 'notes.gguf')\n\
        for f in ['a.dat', 'b.data', 'c.link', 'e.gguf']:\n    open(f, 'rb').read()\n";
    let t = run_python(&dir, tracer::EBPF, script);
    assert!(t.out.status.success(), "{}", t.stderr());
    for hidden in ["a.dat", "b.data", "c.link"] {
        assert!(t.for_file(hidden).is_empty(), "{hidden}: {:#?}", t.events);
    }
    assert_eq!(t.for_file("/e.gguf").len(), 1, "{:#?}", t.events);
    assert!(
        t.stderr().contains(" renamed_away=3"),
        "rename, link and symlink counted, not the other two: {}",
        t.stderr()
    );
}

#[test]
fn failed_opens_are_dropped_and_counted() {
    need_root!();
    let (_g, dir) = tempdir();
    let script =
        "try:\n    open('missing.safetensors', 'rb')\nexcept FileNotFoundError:\n    pass\n";
    let t = run_python(&dir, tracer::EBPF, script);
    assert!(t.out.status.success(), "{}", t.stderr());
    assert!(
        t.for_file("missing.safetensors").is_empty(),
        "{:#?}",
        t.events
    );
    assert!(t.stderr().contains("failed_opens=1"), "{}", t.stderr());
}

#[test]
fn grandchildren_and_instant_exits_are_traced_and_exit_code_kept() {
    need_root!();
    let (_g, dir) = tempdir();
    touch(&dir.join("deep.gguf"), 3);
    let t = run_traced(
        &dir,
        tracer::EBPF,
        &[],
        &["sh", "-c", "sh -c 'cat deep.gguf > /dev/null'; exit 3"],
    );
    assert_eq!(t.out.status.code(), Some(3), "{}", t.stderr());
    let e = t.one("/deep.gguf");
    assert_eq!(s(e, attr::PROCESS_EXECUTABLE_NAME), "cat");
    assert_eq!(
        s(e, attr::PROCESS_EXECUTABLE_PATH),
        std::fs::canonicalize("/bin/cat").unwrap().to_str().unwrap()
    );
    assert!(i(e, attr::PROCESS_PARENT_PID) > 0);
    assert_eq!(
        s(e, attr::FILE_PATH),
        dir.join("deep.gguf").to_str().unwrap()
    );
}

#[test]
fn processes_outside_the_command_are_not_traced() {
    need_root!();
    let (_g, dir) = tempdir();
    touch(&dir.join("outside.safetensors"), 1);
    touch(&dir.join("inside.safetensors"), 1);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let bg = {
        let (stop, f) = (stop.clone(), dir.join("outside.safetensors"));
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = Command::new("cat").arg(&f).stdout(Stdio::null()).status();
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let t = run_traced(
        &dir,
        tracer::EBPF,
        &[],
        &["sh", "-c", "sleep 0.5; cat inside.safetensors >/dev/null"],
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    bg.join().unwrap();
    assert!(t.out.status.success(), "{}", t.stderr());
    t.one("/inside.safetensors");
    assert!(
        t.for_file("outside.safetensors").is_empty(),
        "{:#?}",
        t.events
    );
}

#[test]
fn paths_at_the_kernel_limit_are_reported_whole() {
    need_root!();
    let (_g, dir) = tempdir();
    // Build a directory chain so that the full path is exactly 4095 bytes (PATH_MAX - 1),
    // and try one of 4200 bytes, which the kernel refuses (ENAMETOOLONG).
    let script = format!(
        r#"
import os
base = {base:?}
target = 4095
comp = 'd' * 200
path = base
fd = os.open(base, os.O_RDONLY)
while len(path) + 1 + 200 + 1 + 16 < target:
    os.mkdir(comp, dir_fd=fd)
    nfd = os.open(comp, os.O_RDONLY, dir_fd=fd); os.close(fd); fd = nfd
    path += '/' + comp
name = 'm' * (target - len(path) - 1 - len('.safetensors')) + '.safetensors'
os.close(os.open(name, os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd))
full = path + '/' + name
assert len(full) == target, len(full)
open(full, 'rb').close()
try:
    open(full + 'x' * 105 + '.gguf', 'rb')
except OSError as e:
    assert e.errno == 36, e
print(len(full))
"#,
        base = dir.to_str().unwrap()
    );
    let t = run_python(&dir, tracer::EBPF, &script);
    assert!(t.out.status.success(), "{}", t.stderr());
    let reads: Vec<_> = t
        .for_file(".safetensors")
        .into_iter()
        .filter(|e| s(e, attr::ACCESS_MODE) == access_mode::READ)
        .collect();
    assert_eq!(reads.len(), 1, "{:#?}", t.events);
    assert_eq!(s(reads[0], attr::FILE_PATH).len(), 4095);
    assert_eq!(s(reads[0], attr::ACCESS_PATH).len(), 4095);
}

#[test]
fn newlines_and_invalid_utf8_in_names_are_reported_escaped() {
    need_root!();
    let (_g, dir) = tempdir();
    let script =
        "import os\nn = b'bad\\nname\\xff.gguf'\nopen(n, 'wb').close()\nopen(n, 'rb').close()\n";
    let t = run_python(&dir, tracer::EBPF, script);
    assert!(t.out.status.success(), "{}", t.stderr());
    let want = format!("{}/bad\nname\\xff.gguf", dir.to_str().unwrap());
    let evs: Vec<_> = t
        .events
        .iter()
        .filter(|e| s(e, attr::FILE_PATH) == want)
        .filter(|e| e[record::EVENT_NAME] == aibom_semconv::event::ARTIFACT_ACCESS)
        .collect();
    // one write, one read; the table on stderr never prints a raw newline inside a path
    assert_eq!(evs.len(), 2, "{:#?}", t.events);
    assert!(
        t.stderr().contains("bad\\nname\\xff.gguf"),
        "{}",
        t.stderr()
    );
}

#[test]
fn repeated_opens_fold_into_one_counted_event() {
    need_root!();
    let (_g, dir) = tempdir();
    touch(&dir.join("r.safetensors"), 1);
    let t = run_python(
        &dir,
        tracer::EBPF,
        "for _ in range(50):\n    open('r.safetensors', 'rb').close()\n",
    );
    assert!(t.out.status.success(), "{}", t.stderr());
    let e = t.one("/r.safetensors");
    assert_eq!(i(e, attr::ACCESS_COUNT), 50);
    assert_eq!(s(e, attr::ACCESS_MODE), access_mode::READ);
}

#[test]
fn writes_are_reported_as_write_mode() {
    need_root!();
    let (_g, dir) = tempdir();
    let t = run_python(
        &dir,
        tracer::EBPF,
        "open('out.parquet', 'wb').write(b'PAR1')\n",
    );
    assert!(t.out.status.success(), "{}", t.stderr());
    let e = t.one("/out.parquet");
    assert_eq!(s(e, attr::ACCESS_MODE), access_mode::WRITE);
}

#[test]
fn project_flag_tags_every_event() {
    need_root!();
    let (_g, dir) = tempdir();
    touch(&dir.join("p.onnx"), 1);
    let t = run_traced(
        &dir,
        tracer::EBPF,
        &["--project", "demo-42"],
        &["cat", "p.onnx"],
    );
    assert!(t.out.status.success(), "{}", t.stderr());
    assert_eq!(s(t.one("/p.onnx"), attr::PROJECT_ID), "demo-42");
}

/// A model staged in shared memory (`/dev/shm`) is seen though `/dev/` is denied; other
/// device files stay filtered.
#[test]
fn models_in_shared_memory_are_seen() {
    need_root!();
    let shm = tempfile::Builder::new()
        .prefix("aibomd-test-")
        .tempdir_in("/dev/shm")
        .unwrap();
    let model = shm.path().join("staged.gguf");
    touch(&model, 32);
    let (_g, dir) = tempdir();
    let t = run_traced(
        &dir,
        tracer::EBPF,
        &[],
        &[
            "sh",
            "-c",
            &format!("cat {} /dev/null >/dev/null", model.display()),
        ],
    );
    assert!(t.out.status.success(), "{}", t.stderr());
    assert_eq!(
        s(t.one("/staged.gguf"), attr::FILE_PATH),
        model.to_str().unwrap()
    );
    assert!(t.for_file("/dev/null").is_empty(), "{:#?}", t.events);
}

#[test]
fn daemon_traces_the_host_and_flushes_on_sigterm() {
    need_root!();
    let (_g, dir) = tempdir();
    touch(&dir.join("host.gguf"), 7);
    let events = dir.join("daemon.jsonl");
    let mut d = aibomd()
        .args(["daemon", "--no-console", "--tracer", "ebpf", "--events"])
        .arg(&events)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (_, mut err) = common::wait_ready(&mut d);
    let cat = Command::new("cat")
        .arg(dir.join("host.gguf"))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let cat_pid = cat.id() as i64;
    let mut cat = cat;
    cat.wait().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(d.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let status = d.wait().unwrap();
    assert!(status.success(), "daemon exit {status:?}: {rest}");
    assert!(
        rest.contains("tracer=ebpf") && rest.contains("dropped=0"),
        "{rest}"
    );
    let text = std::fs::read_to_string(&events).unwrap();
    let evs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mine: Vec<_> = evs
        .iter()
        .filter(|e| e[attr::FILE_PATH].as_str() == dir.join("host.gguf").to_str())
        .filter(|e| e[record::EVENT_NAME] == aibom_semconv::event::ARTIFACT_ACCESS)
        .collect();
    assert_eq!(mine.len(), 1, "{evs:#?}");
    assert_eq!(i(mine[0], attr::PROCESS_PID), cat_pid);
}

/// The example app's artifacts come out identified: type, format, provider, canonical id,
/// license and sha256, each checked against the files the real libraries wrote.
#[test]
fn example_app_artifacts_are_identified() {
    need_root!();
    let (_g, dir) = tempdir();
    let app = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/ml-app/app.py");
    let work = dir.join("work");
    let py = python();
    let t = run_traced(
        &dir,
        tracer::EBPF,
        &[],
        &[&py, app, "--workdir", work.to_str().unwrap()],
    );
    assert!(t.out.status.success(), "{}", t.stderr());
    let find = |suffix: &str| -> serde_json::Value {
        t.events
            .iter()
            .find(|e| {
                e[record::EVENT_NAME] == aibom_semconv::event::ARTIFACT_IDENTIFIED
                    && e[attr::ACCESS_ABSOLUTE_PATH]
                        .as_str()
                        .is_some_and(|p| p.ends_with(suffix))
            })
            .unwrap_or_else(|| panic!("no identified event for {suffix}: {:#?}", t.events))
            .clone()
    };
    let sha_of = |p: &str| {
        let out = std::process::Command::new("sha256sum")
            .arg(p)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    let st = find("/model.safetensors");
    assert_eq!(s(&st, attr::ARTIFACT_TYPE), "model");
    assert_eq!(s(&st, attr::ARTIFACT_ROLE), "weights");
    assert_eq!(s(&st, attr::ARTIFACT_FORMAT), "safetensors");
    assert_eq!(s(&st, attr::ARTIFACT_PROVIDER), "huggingface");
    assert_eq!(s(&st, attr::ARTIFACT_NAME), "aibom-demo/tiny-bert");
    let rev = s(&st, attr::ARTIFACT_REVISION).to_string();
    assert_eq!(
        s(&st, attr::ARTIFACT_ID),
        format!("pkg:huggingface/aibom-demo/tiny-bert@{rev}")
    );
    assert_eq!(s(&st, attr::ARTIFACT_LICENSE), "Apache-2.0");
    assert_eq!(
        s(&st, attr::ARTIFACT_SHA256),
        sha_of(s(&st, attr::FILE_PATH))
    );
    assert_eq!(
        s(&st, attr::ARTIFACT_SHA256_SOURCE),
        aibom_semconv::hash_source::HF_BLOB_NAME
    );
    assert!(st.get(attr::ARTIFACT_FORMAT_MISMATCH).is_none());

    let tok = find("/tokenizer.json");
    assert_eq!(s(&tok, attr::ARTIFACT_ROLE), "tokenizer");
    assert_eq!(s(&tok, attr::ARTIFACT_FORMAT), "tokenizer.json");

    let gguf = find("/models/tiny.gguf");
    assert_eq!(s(&gguf, attr::ARTIFACT_FORMAT), "gguf");
    assert_eq!(s(&gguf, attr::ARTIFACT_NAME), "tiny-llama-demo");
    assert_eq!(s(&gguf, attr::ARTIFACT_LICENSE), "MIT");
    assert_eq!(
        s(&gguf, attr::ARTIFACT_SHA256),
        sha_of(s(&gguf, attr::FILE_PATH))
    );
    assert_eq!(
        s(&gguf, attr::ARTIFACT_SHA256_SOURCE),
        aibom_semconv::hash_source::COMPUTED
    );

    let onnx = find("/models/classifier.onnx");
    assert_eq!(s(&onnx, attr::ARTIFACT_FORMAT), "onnx");
    assert_eq!(s(&onnx, attr::ARTIFACT_LICENSE), "MIT");

    assert_eq!(
        s(&find("/data/train.parquet"), attr::ARTIFACT_TYPE),
        "dataset"
    );
    assert_eq!(s(&find("/data/eval.jsonl"), attr::ARTIFACT_FORMAT), "jsonl");
    assert_eq!(
        s(&find("/prompts/chat.jinja"), attr::ARTIFACT_TYPE),
        "prompt"
    );

    // every key aibomd wrote is a registered attribute (or one of the two record keys)
    for e in &t.events {
        for k in e.as_object().unwrap().keys() {
            assert!(
                aibom_semconv::ALL_ATTRIBUTES.contains(&k.as_str())
                    || k == record::TIMESTAMP
                    || k == record::EVENT_NAME,
                "{k} is not in the semconv registry"
            );
        }
    }
}

/// A pickle renamed `.safetensors` is flagged, and hostile files never crash the daemon.
#[test]
fn format_mismatch_and_hostile_files_are_reported() {
    need_root!();
    let (_g, dir) = tempdir();
    let script = r#"
import os, pickle
pickle.dump({'a': 1}, open('evil.safetensors', 'wb'), protocol=4)
open('empty.gguf', 'wb').close()
# a safetensors header claiming 2^63 bytes of JSON
open('huge.safetensors', 'wb').write((2**63).to_bytes(8, 'little') + b'{}')
# truncated GGUF claiming 10^9 metadata entries
open('kv.gguf', 'wb').write(b'GGUF' + (3).to_bytes(4, 'little') + (0).to_bytes(8, 'little') + (10**9).to_bytes(8, 'little'))
for f in ['evil.safetensors', 'empty.gguf', 'huge.safetensors', 'kv.gguf']:
    open(f, 'rb').read()
# a pickle in a Hugging Face blob, linked from the snapshot as model.safetensors
import hashlib
data = pickle.dumps({'b': 2}, protocol=4)
sha = hashlib.sha256(data).hexdigest()
os.makedirs('hub/models--o--m/blobs'); os.makedirs('hub/models--o--m/snapshots/' + 'a' * 40)
open('hub/models--o--m/blobs/' + sha, 'wb').write(data)
os.symlink('../../blobs/' + sha, 'hub/models--o--m/snapshots/' + 'a' * 40 + '/model.safetensors')
open('hub/models--o--m/snapshots/' + 'a' * 40 + '/model.safetensors', 'rb').read()
"#;
    let t = run_python(&dir, tracer::EBPF, script);
    assert!(t.out.status.success(), "{}", t.stderr());
    let ident = |suffix: &str| -> serde_json::Value {
        t.events
            .iter()
            .find(|e| {
                e[record::EVENT_NAME] == aibom_semconv::event::ARTIFACT_IDENTIFIED
                    && e[attr::FILE_PATH]
                        .as_str()
                        .is_some_and(|p| p.ends_with(suffix))
            })
            .unwrap_or_else(|| panic!("no identified event for {suffix}: {:#?}", t.events))
            .clone()
    };
    let evil = ident("/evil.safetensors");
    assert_eq!(s(&evil, attr::ARTIFACT_FORMAT), "pickle");
    assert_eq!(s(&evil, attr::ARTIFACT_FORMAT_MISMATCH), "safetensors");
    assert!(s(&ident("/empty.gguf"), attr::ARTIFACT_FORMAT_ERROR).contains("empty"));
    assert!(!s(&ident("/huge.safetensors"), attr::ARTIFACT_FORMAT_ERROR).is_empty());
    assert!(!s(&ident("/kv.gguf"), attr::ARTIFACT_FORMAT_ERROR).is_empty());
    let blob = t
        .events
        .iter()
        .find(|e| {
            e[record::EVENT_NAME] == aibom_semconv::event::ARTIFACT_IDENTIFIED
                && e[attr::ACCESS_PATH]
                    .as_str()
                    .is_some_and(|p| p.ends_with("/model.safetensors"))
        })
        .expect("identified event of the blob");
    assert_eq!(s(blob, attr::ARTIFACT_FORMAT), "pickle");
    assert_eq!(s(blob, attr::ARTIFACT_FORMAT_MISMATCH), "safetensors");
    assert_eq!(s(blob, attr::ARTIFACT_PROVIDER), "huggingface");
}

/// `sudo aibomd run -- CMD` runs CMD as the user who ran sudo (a hostile model file must
/// not run as root), still traced; `--as-root` keeps root.
#[test]
fn under_sudo_the_command_runs_as_the_invoking_user_and_is_still_traced() {
    if !kernel_tests_possible("run as the sudo user") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let (_t, dir) = tempdir();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    touch(&dir.join("user.gguf"), 5);
    let run = |extra: &[&str]| {
        let events = dir.join(format!("events{}.jsonl", extra.len()));
        let out = aibomd()
            .args(["run", "--tracer", "ebpf", "--events"])
            .arg(&events)
            .args(extra)
            .args(["--", "sh", "-c", "id -u; id -g; cat user.gguf > /dev/null"])
            .current_dir(&dir)
            .env("SUDO_UID", "65534")
            .env("SUDO_GID", "65534")
            .env("SUDO_USER", "nobody")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&events).unwrap();
        // traced, with the uid the kernel saw (even though `cat` is gone before /proc is read)
        let traced = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|e| {
                e[attr::FILE_PATH]
                    .as_str()
                    .is_some_and(|p| p.ends_with("/user.gguf"))
            })
            .and_then(|e| e[attr::PROCESS_UID].as_i64());
        (String::from_utf8_lossy(&out.stdout).into_owned(), traced)
    };
    let (ids, traced) = run(&[]);
    assert_eq!(
        ids, "65534\n65534\n",
        "the command ran as SUDO_UID/SUDO_GID"
    );
    assert_eq!(traced, Some(65534), "and was traced as that user");
    let (ids, traced) = run(&["--as-root"]);
    assert_eq!(ids, "0\n0\n");
    assert_eq!(traced, Some(0));
}

/// aibomd in a pid namespace with its own /proc (a container without the host's pids, one
/// node of a nested setup): the eBPF tracer numbers processes as that /proc does and traces
/// only the namespace's processes; the kernel sees every process on the machine.
#[test]
fn ebpf_in_a_pid_namespace_traces_that_namespace_with_its_pids() {
    need_root!();
    let (_g, dir) = tempdir();
    touch(&dir.join("inside.gguf"), 11);
    touch(&dir.join("outside.gguf"), 12);
    let bin = env!("CARGO_BIN_EXE_aibomd");
    // `aibomd run` inside: its command is followed by the pid the namespace gives it
    let out = Command::new("unshare")
        .args(["--pid", "--fork", "--mount", "--mount-proc", bin, "run"])
        .args(["--tracer", "ebpf", "--events"])
        .arg(dir.join("run.jsonl"))
        .args([
            "--",
            "sh",
            "-c",
            "echo $$; exec cat inside.gguf > /dev/null",
        ])
        .current_dir(&dir)
        .output()
        .expect("unshare");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pid: i64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let events = read_events(&dir.join("run.jsonl"));
    let e = only_access(&events, "inside.gguf");
    assert_eq!(i(e, attr::PROCESS_PID), pid);

    // `aibomd daemon` inside: an open outside the namespace is not its host's
    let script = r#"
"$0" daemon --tracer ebpf --events daemon.jsonl 2> daemon.err &
D=$!
while ! grep -q 'aibomd: ready' daemon.err; do sleep 0.05; done
sh -c 'echo $$ > inside.pid; exec cat inside.gguf > /dev/null'
touch opened-inside
while [ ! -e opened-outside ]; do sleep 0.05; done
kill -TERM $D; wait $D
"#;
    let mut ns = Command::new("unshare")
        .args([
            "--pid",
            "--fork",
            "--mount",
            "--mount-proc",
            "sh",
            "-c",
            script,
            bin,
        ])
        .current_dir(&dir)
        .env("AIBOM_CONTROL__SOCKET", "")
        .stderr(Stdio::inherit())
        .spawn()
        .expect("unshare");
    let start = std::time::Instant::now();
    while !dir.join("opened-inside").exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "daemon not ready"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let st = Command::new("cat")
        .arg(dir.join("outside.gguf"))
        .output()
        .unwrap();
    assert!(st.status.success());
    std::fs::write(dir.join("opened-outside"), "").unwrap();
    assert!(ns.wait().unwrap().success());
    let pid: i64 = std::fs::read_to_string(dir.join("inside.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let events = read_events(&dir.join("daemon.jsonl"));
    let e = only_access(&events, "inside.gguf");
    assert_eq!(i(e, attr::PROCESS_PID), pid);
    assert!(
        !events
            .iter()
            .any(|e| s(e, attr::FILE_PATH).ends_with("outside.gguf")),
        "{events:#?}"
    );
}

fn read_events(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The one access event of the file ending in `suffix`.
fn only_access<'a>(events: &'a [serde_json::Value], suffix: &str) -> &'a serde_json::Value {
    let m: Vec<_> = events
        .iter()
        .filter(|e| {
            s(e, record::EVENT_NAME) == aibom_semconv::event::ARTIFACT_ACCESS
                && s(e, attr::FILE_PATH).ends_with(suffix)
        })
        .collect();
    assert_eq!(m.len(), 1, "{events:#?}");
    m[0]
}

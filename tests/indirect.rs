//! Opens that never pass a path to an open system call: io_uring `IORING_OP_OPENAT(2)` and
//! `open_by_handle_at(2)`. The real `aibomd` traces a real process making each; a GGUF made
//! by `gguf` must be reported with its path, hash and the way it was opened, and a file the
//! filter does not keep must stay unreported. Needs root (eBPF, and `open_by_handle_at`
//! needs CAP_DAC_READ_SEARCH); under `CI=true` it fails instead of skipping.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use aibom_semconv::tracer;
use common::*;

/// Writes `model.gguf` with `gguf` and a `notes.txt` in `dir` (before tracing starts).
fn fixtures(dir: &Path) {
    let script = "import sys, numpy as np, gguf\n\
        w = gguf.GGUFWriter(sys.argv[1] + '/model.gguf', 'llama')\n\
        w.add_name('indirect')\n\
        w.add_tensor('w', np.zeros((4, 4), np.float32))\n\
        w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()\n\
        open(sys.argv[1] + '/notes.txt', 'w').write('not a model')\n";
    let st = Command::new(python())
        .args(["-c", script])
        .arg(dir)
        .status()
        .unwrap();
    assert!(st.success());
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// Builds tests/indirect/`name`.c into `dir` with clang and `flags`.
fn build_c(dir: &Path, name: &str, flags: &[&str]) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../tests/indirect/{name}.c"));
    let bin = dir.join(name);
    let cc = std::env::var("CLANG").unwrap_or_else(|_| "clang".into());
    let st = Command::new(&cc)
        .args(["-O2", "-Wall", "-Werror"])
        .args(flags)
        .arg("-o")
        .arg(&bin)
        .arg(&src)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cc}: {e}"));
    assert!(st.success(), "{cc} failed on {}", src.display());
    bin
}

/// Builds tests/indirect/uring_open.c (raw io_uring syscalls) into `dir`.
fn uring_open(dir: &Path) -> PathBuf {
    build_c(dir, "uring_open", &[])
}

/// The single access record of `file`, checked for what every indirect open must carry.
fn reported<'a>(t: &'a Traced, file: &Path, syscall: &str, comm: &str) -> &'a serde_json::Value {
    let name = file.file_name().unwrap().to_str().unwrap();
    let recs = t.for_file(&format!("/{name}"));
    assert_eq!(recs.len(), 1, "{syscall}: {:#?}\n{}", t.events, t.stderr());
    let e = recs[0];
    assert_eq!(s(e, attr::FILE_PATH), file.to_str().unwrap(), "{e:#}");
    assert_eq!(s(e, attr::ACCESS_SYSCALL), syscall, "{e:#}");
    assert_eq!(s(e, attr::PROCESS_EXECUTABLE_NAME), comm, "{e:#}");
    assert_eq!(s(e, attr::ARTIFACT_FORMAT), "gguf", "{e:#}");
    let identified: Vec<_> = t
        .events
        .iter()
        .filter(|x| x[attr::FILE_PATH] == file.to_str().unwrap())
        .filter_map(|x| x[attr::ARTIFACT_SHA256].as_str())
        .collect();
    assert!(
        identified.contains(&sha256(file).as_str()),
        "hashed through the opened file: {identified:?}"
    );
    e
}

#[test]
fn io_uring_opens_are_reported_with_their_path() {
    if !kernel_tests_possible(module_path!()) {
        return;
    }
    let (_g, dir) = tempdir();
    fixtures(&dir);
    let bin = uring_open(&dir);
    let bin = bin.to_str().unwrap();
    // OPENAT with an absolute path, OPENAT2 with a relative one (resolved by the kernel's
    // dentries, as for open(2)), and a file the filter drops
    let model = dir.join("model.gguf");
    let t = run_traced(
        &dir,
        tracer::EBPF,
        &[],
        &[
            "sh",
            "-c",
            &format!("{bin} {} && {bin} -2 model.gguf notes.txt", model.display()),
        ],
    );
    assert!(t.out.status.success(), "{}", t.stderr());
    let out = String::from_utf8_lossy(&t.out.stdout);
    assert!(out.contains("opened model.gguf"), "{out}");
    let name = model.file_name().unwrap().to_str().unwrap();
    let all = t.for_file(&format!("/{name}"));
    let syscalls: Vec<&str> = all.iter().map(|e| s(e, attr::ACCESS_SYSCALL)).collect();
    assert!(
        syscalls.contains(&"io_uring_openat") && syscalls.contains(&"io_uring_openat2"),
        "{syscalls:?}\n{}",
        t.stderr()
    );
    for e in &all {
        assert_eq!(s(e, attr::FILE_PATH), model.to_str().unwrap(), "{e:#}");
        assert_eq!(s(e, attr::PROCESS_EXECUTABLE_NAME), "uring_open");
        assert_eq!(s(e, attr::ARTIFACT_FORMAT), "gguf", "{e:#}");
    }
    assert!(
        t.for_file("/notes.txt").is_empty(),
        "filtered like any open"
    );
    assert!(
        t.events
            .iter()
            .any(|x| x[attr::ARTIFACT_SHA256].as_str() == Some(&sha256(&model))),
        "hashed: {:#?}",
        t.events
    );

    // `[ebpf] io_uring = false`: not attached, not seen
    let events = dir.join("off.jsonl");
    let out = aibomd()
        .env("AIBOM_EBPF__IO_URING", "false")
        .args(["run", "--tracer", tracer::EBPF, "--events"])
        .arg(&events)
        .arg("--")
        .arg(bin)
        .arg(&model)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&events).unwrap_or_default();
    assert!(!text.contains("model.gguf"), "{text}");
}

#[test]
fn open_by_handle_at_is_reported_with_the_files_path() {
    if !kernel_tests_possible(module_path!()) {
        return;
    }
    let (_g, dir) = tempdir();
    fixtures(&dir);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/indirect/open_by_handle.py");
    let model = dir.join("model.gguf");
    let notes = dir.join("notes.txt");
    let py = python();
    let t = run_traced(
        &dir,
        tracer::EBPF,
        &[],
        &[
            &py,
            script.to_str().unwrap(),
            model.to_str().unwrap(),
            notes.to_str().unwrap(),
        ],
    );
    assert!(t.out.status.success(), "{}", t.stderr());
    // comm is the name the interpreter was started by
    let comm = Path::new(&py).file_name().unwrap().to_str().unwrap();
    reported(&t, &model, "open_by_handle_at", comm);
    assert!(
        t.for_file("/notes.txt").is_empty(),
        "filtered like any open"
    );
}

/// Opens of the process's own magic links (`/proc/self/fd/N`, `/proc/self/root/…`) are
/// reported under the opened file's path; a file the filter does not keep stays
/// unreported though its link was opened.
#[test]
fn opens_through_proc_self_links_are_reported_with_the_files_path() {
    // the shell opens model and notes as fds 3 and 4; Python opens them only by link
    opens_through_links(
        "exec 3<\"$1\" 4<\"$2\"; \"$3\" -c \"$4\" \"$5\"",
        "import sys\n\
        open('/proc/self/fd/3', 'rb').read(1)\n\
        open('/proc/self/fd/4').read()\n\
        open('/proc/self/root' + sys.argv[1], 'rb').read(1)\n",
    );
}

/// `sh -c SHELL sh model.gguf notes.txt PYTHON SCRIPT copy.gguf` traced: Python opens
/// model and copy through links only, and notes (a `.txt`) through one too. Each of model
/// and copy must be reported once by Python under its own path, notes not at all, and no
/// record may name a `/proc` link.
fn opens_through_links(shell: &str, script: &str) {
    if !kernel_tests_possible(module_path!()) {
        return;
    }
    let (_g, dir) = tempdir();
    fixtures(&dir);
    let (model, notes, copy) = (
        dir.join("model.gguf"),
        dir.join("notes.txt"),
        dir.join("copy.gguf"),
    );
    std::fs::copy(&model, &copy).unwrap();
    let py = python();
    let t = run_traced(
        &dir,
        tracer::EBPF,
        &[],
        &[
            "sh",
            "-c",
            shell,
            "sh",
            model.to_str().unwrap(),
            notes.to_str().unwrap(),
            &py,
            script,
            copy.to_str().unwrap(),
        ],
    );
    reported_by_link(&t, &py, &[&model, &copy], &notes);
}

/// Each of `files` reported once by the Python process under its own path (the link was
/// opened), `filtered` (behind a link too) not at all, and no record names a `/proc` link.
fn reported_by_link(t: &Traced, py: &str, files: &[&Path], filtered: &Path) {
    assert!(t.out.status.success(), "{}", t.stderr());
    let comm = Path::new(py).file_name().unwrap().to_str().unwrap();
    for file in files {
        let name = file.file_name().unwrap().to_str().unwrap();
        let by_python: Vec<_> = t
            .for_file(&format!("/{name}"))
            .into_iter()
            .filter(|e| e[attr::PROCESS_EXECUTABLE_NAME] == comm)
            .collect();
        assert_eq!(
            by_python.len(),
            1,
            "{name}: {:#?}\n{}",
            t.events,
            t.stderr()
        );
        assert_eq!(s(by_python[0], attr::FILE_PATH), file.to_str().unwrap());
        assert_eq!(s(by_python[0], attr::ARTIFACT_FORMAT), "gguf");
    }
    let name = filtered.file_name().unwrap().to_str().unwrap();
    assert!(
        t.for_file(&format!("/{name}")).is_empty(),
        "filtered like any open"
    );
    assert!(
        !t.events.iter().any(|e| e[attr::FILE_PATH]
            .as_str()
            .is_some_and(|p| p.starts_with("/proc/"))),
        "no record names the link: {:#?}",
        t.events
    );
}

/// Opens of another process's magic links (`/proc/PID/fd/N`, and its thread's
/// `/proc/PID/task/TID/fd/N`, `…/root/…`) are judged like one's own: reported under the
/// opened file's path, filtered by that path.
#[test]
fn opens_through_another_process_links_are_reported_with_the_files_path() {
    // `sleep` holds model and notes as fds 3 and 4; Python (which has neither) opens them
    // through sleep's links (notes through its thread's), and copy through its thread's root
    opens_through_links(
        "sleep 60 3<\"$1\" 4<\"$2\" & h=$!; \"$3\" -c \"$4\" $h \"$5\"; r=$?; kill $h; exit $r",
        "import os, sys, time\n\
        pid = sys.argv[1]\n\
        while not os.path.exists(f'/proc/{pid}/fd/4'): time.sleep(0.01)\n\
        open(f'/proc/{pid}/fd/3', 'rb').read(1)\n\
        open(f'/proc/{pid}/task/{pid}/fd/4').read()\n\
        open(f'/proc/{pid}/task/{pid}/root' + sys.argv[2], 'rb').read(1)\n",
    );
}

/// Opens and execs through the 32-bit compat syscall table, which no syscall tracepoint
/// sees: a real 32-bit program (openat, open, then execve of a 64-bit `cat`) and a 64-bit
/// one using `int $0x80`. Each open is reported as `ia32_<call>` with its path and hash;
/// a `.txt` stays filtered; with `[ebpf] compat_syscalls = false` none is seen (as on a
/// daemon without these programs).
#[test]
fn opens_through_the_32_bit_compat_table_are_reported() {
    if !kernel_tests_possible(module_path!()) {
        return;
    }
    if std::env::consts::ARCH != "x86_64" {
        eprintln!("{}: skipped: the compat table is x86-64's", module_path!());
        return;
    }
    let (_g, dir) = tempdir();
    fixtures(&dir);
    let files = ["model.gguf", "copy.gguf", "after_exec.gguf", "int80.gguf"].map(|f| dir.join(f));
    for f in &files[1..] {
        std::fs::copy(&files[0], f).unwrap();
    }
    let ia32 = build_c(
        &dir,
        "ia32_open",
        &["-m32", "-ffreestanding", "-nostdlib", "-static", "-fno-pic"],
    );
    let int80 = build_c(&dir, "int80_open", &[]);
    let notes = dir.join("notes.txt");
    let script =
        "\"$1\" \"$2\" \"$3\" /bin/cat \"$4\" >/dev/null && \"$5\" \"$6\" && \"$5\" \"$7\"";
    let p = |f: &Path| f.to_str().unwrap().to_string();
    let args = [
        p(&ia32),
        p(&files[0]),
        p(&files[1]),
        p(&files[2]),
        p(&int80),
        p(&files[3]),
        p(&notes),
    ];
    let mut cmd = vec!["sh", "-c", script, "sh"];
    cmd.extend(args.iter().map(String::as_str));

    let t = run_traced(&dir, tracer::EBPF, &[], &cmd);
    assert!(t.out.status.success(), "{}", t.stderr());
    for (file, syscall, comm) in [
        (&files[0], "ia32_openat", "ia32_open"),
        (&files[1], "ia32_open", "ia32_open"),
        (&files[2], "openat", "cat"),
        (&files[3], "ia32_open", "int80_open"),
    ] {
        reported(&t, file, syscall, comm);
    }
    assert!(
        t.for_file("/notes.txt").is_empty(),
        "filtered like any open"
    );

    let off = dir.join("compat-off.toml");
    std::fs::write(&off, "[ebpf]\ncompat_syscalls = false\n").unwrap();
    let t = run_traced(
        &dir,
        tracer::EBPF,
        &["--config", off.to_str().unwrap()],
        &cmd,
    );
    assert!(t.out.status.success(), "{}", t.stderr());
    for f in [&files[0], &files[1], &files[3]] {
        let name = f.file_name().unwrap().to_str().unwrap();
        assert!(
            t.for_file(&format!("/{name}")).is_empty(),
            "{name} unseen when off"
        );
    }
    reported(&t, &files[2], "openat", "cat");
}

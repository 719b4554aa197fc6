//! Unsafe serialization: the real `aibomd` traces a real process opening pickle-based
//! files made by the real `pickle`, `zipfile` and `numpy` (`tests/unsafe/corpus.py`:
//! plain pickles of every protocol, legacy and zip PyTorch layouts, joblib, object
//! `.npy`; malicious and benign), and its verdicts must agree file by file with the real
//! `picklescan` run on the same files. Needs root; under `CI=true` it fails, not skips.
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use aibom_semconv::{event, metric, record, tracer};
use common::*;
use serde_json::Value;

macro_rules! need_root {
    () => {
        if !kernel_tests_possible(module_path!()) {
            return;
        }
    };
}

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Runs a script of `tests/unsafe` with the test Python; its stdout as JSON.
fn py_json(script: &str, args: &[&str]) -> Value {
    let out = Command::new(python())
        .arg(repo().join("tests/unsafe").join(script))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The `identified` record of the file whose path as opened ends with `suffix`.
fn identified<'a>(t: &'a Traced, suffix: &str) -> &'a Value {
    let m: Vec<_> = t
        .events
        .iter()
        .filter(|e| e[record::EVENT_NAME] == event::ARTIFACT_IDENTIFIED)
        .filter(|e| {
            [attr::FILE_PATH, attr::ACCESS_PATH]
                .iter()
                .any(|k| e[*k].as_str().is_some_and(|p| p.ends_with(suffix)))
        })
        .collect();
    assert_eq!(m.len(), 1, "identified *{suffix}: {m:#?}\n{}", t.stderr());
    m[0]
}

/// Opens and reads each file named on the command line, as a loader would.
const OPEN_ALL: &str = "import sys\nfor p in sys.argv[1:]:\n    open(p, 'rb').read()\n";

#[test]
fn unsafe_pickles_are_flagged_as_picklescan_flags_them() {
    need_root!();
    let (_g, dir) = tempdir();
    let corpus = dir.join("corpus");
    let names: Vec<String> =
        serde_json::from_value(py_json("corpus.py", &[corpus.to_str().unwrap()])).unwrap();
    // a malicious legacy checkpoint in a Hugging Face cache: its sha256 is free (the blob
    // name), yet the scan still runs and the record waits for it
    let evil = std::fs::read(corpus.join("legacy_evil.pt")).unwrap();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&evil))
    };
    let repo_dir = dir.join("hub/models--acme--evil");
    std::fs::create_dir_all(repo_dir.join("blobs")).unwrap();
    std::fs::create_dir_all(repo_dir.join("snapshots/0123abcd")).unwrap();
    std::fs::write(repo_dir.join("blobs").join(&sha), &evil).unwrap();
    std::os::unix::fs::symlink(
        format!("../../blobs/{sha}"),
        repo_dir.join("snapshots/0123abcd/pytorch_model.bin"),
    )
    .unwrap();

    let paths: Vec<String> = names
        .iter()
        .map(|n| corpus.join(n).to_str().unwrap().to_string())
        .collect();
    let hf = repo_dir.join("snapshots/0123abcd/pytorch_model.bin");
    let py = python();
    let policy = repo().join("examples/policy.toml");
    let bom = dir.join("bom.cdx.json");
    let mut cmd = vec![py.as_str(), "-c", OPEN_ALL];
    cmd.extend(paths.iter().map(String::as_str));
    cmd.push(hf.to_str().unwrap());
    let t = run_traced(
        &dir,
        tracer::EBPF,
        &[
            "--policy",
            policy.to_str().unwrap(),
            "--bom",
            bom.to_str().unwrap(),
        ],
        &cmd,
    );
    assert!(t.out.status.success(), "{}", t.stderr());

    // the real picklescan on the same files
    let mut args: Vec<&str> = paths.iter().map(String::as_str).collect();
    args.push(hf.to_str().unwrap());
    let theirs: BTreeMap<String, Value> =
        serde_json::from_value(py_json("picklescan_verdicts.py", &args)).unwrap();
    let mut flagged = Vec::new();
    for name in names
        .iter()
        .chain(std::iter::once(&"pytorch_model.bin".to_string()))
    {
        let t_v = &theirs[name.as_str()];
        let dangerous: Vec<String> = serde_json::from_value(t_v["dangerous"].clone()).unwrap();
        let e = identified(&t, &format!("/{name}"));
        let is_unsafe = !dangerous.is_empty();
        assert_eq!(
            e[attr::ARTIFACT_UNSAFE].as_bool(),
            Some(is_unsafe),
            "{name}: aibomd {e:#}\npicklescan {t_v}"
        );
        assert_eq!(
            e[attr::ARTIFACT_UNSAFE_REASON].as_str(),
            is_unsafe.then(|| dangerous.join(", ")).as_deref(),
            "{name}: the same callables"
        );
        assert_eq!(
            e[attr::ARTIFACT_UNSAFE_SCAN_ERROR].is_string(),
            t_v["scan_err"].as_bool().unwrap(),
            "{name}: a cut file is said to be cut: {e:#}"
        );
        if is_unsafe {
            flagged.push(s(e, attr::FILE_PATH).to_string());
        }
    }
    assert!(flagged.len() >= 10, "{flagged:?}");
    assert_eq!(
        s(
            identified(&t, "/pytorch_model.bin"),
            attr::ARTIFACT_SHA256_SOURCE
        ),
        aibom_semconv::hash_source::HF_BLOB_NAME
    );

    // the README policy's rule fires on exactly the unsafe files
    let mut violated: Vec<String> = t
        .events
        .iter()
        .filter(|e| e[attr::POLICY_RULE] == "no-unsafe-pickles")
        .map(|e| s(e, attr::FILE_PATH).to_string())
        .collect();
    violated.sort();
    flagged.sort();
    assert_eq!(violated, flagged);

    // the run table says so, and so does the BOM
    let table = t.stderr() + &String::from_utf8_lossy(&t.out.stdout);
    assert!(
        table.contains("UNSAFE: loading it calls posix.system"),
        "{table}"
    );
    let bom: Value = serde_json::from_slice(&std::fs::read(&bom).unwrap()).unwrap();
    let prop = |c: &Value, k: &str| {
        c["properties"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == k)
            .map(|p| p["value"].as_str().unwrap().to_string())
    };
    let comps = bom["components"].as_array().unwrap();
    let by_name = |n: &str| {
        comps
            .iter()
            .find(|c| c["name"] == n)
            .unwrap_or_else(|| panic!("no component {n} in {bom:#}"))
    };
    let c = by_name("exec_memo_p5");
    assert_eq!(prop(c, "aibom:unsafe").as_deref(), Some("true"));
    assert_eq!(
        prop(c, "aibom:unsafe_reason").as_deref(),
        Some("builtins.exec")
    );
    assert_eq!(prop(by_name("zip_benign"), "aibom:unsafe"), None);
}

/// The sum of a counter in an OTLP JSON-lines file.
fn counter(otlp: &str, name: &str) -> i64 {
    fn walk(v: &Value, name: &str, out: &mut i64) {
        match v {
            Value::Object(o) if o.get("name").is_some_and(|n| n == name) => {
                for p in v["sum"]["dataPoints"].as_array().into_iter().flatten() {
                    let x = &p["asInt"];
                    *out = (*out).max(x.as_i64().or_else(|| x.as_str()?.parse().ok()).unwrap_or(0));
                }
            }
            Value::Object(o) => o.values().for_each(|x| walk(x, name, out)),
            Value::Array(a) => a.iter().for_each(|x| walk(x, name, out)),
            _ => {}
        }
    }
    let mut n = 0;
    for l in otlp.lines() {
        walk(&serde_json::from_str(l).unwrap(), name, &mut n);
    }
    n
}

#[test]
fn a_scan_stopped_by_the_byte_limit_says_so_and_is_counted() {
    need_root!();
    let (_g, dir) = tempdir();
    let corpus = dir.join("corpus");
    py_json("corpus.py", &[corpus.to_str().unwrap()]);
    let evil = corpus.join("legacy_evil.pt");
    let otlp = dir.join("otlp.jsonl");
    let config = dir.join("aibomd.toml");
    std::fs::write(&config, "[identify]\nunsafe_scan_max_bytes = 64\n").unwrap();
    let py = python();
    let t = run_traced(
        &dir,
        tracer::EBPF,
        &[
            "-c",
            config.to_str().unwrap(),
            "--otlp-file",
            otlp.to_str().unwrap(),
        ],
        &[&py, "-c", OPEN_ALL, evil.to_str().unwrap()],
    );
    assert!(t.out.status.success(), "{}", t.stderr());
    let e = identified(&t, "/legacy_evil.pt");
    // the import lies past the limit: no verdict, never a false "safe"
    assert_eq!(e[attr::ARTIFACT_UNSAFE], Value::Null, "{e:#}");
    assert_eq!(
        s(e, attr::ARTIFACT_UNSAFE_SCAN_ERROR),
        "scan stopped at the limit of 64 bytes"
    );
    assert!(
        t.stderr().contains("unsafe-import scan incomplete"),
        "{}",
        t.stderr()
    );
    let text = std::fs::read_to_string(&otlp).unwrap();
    assert_eq!(counter(&text, metric::IDENTIFY_UNSAFE_SCAN_STOPPED), 1);
}

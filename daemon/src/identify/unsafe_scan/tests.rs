//! The scanner against the real `picklescan` on a corpus made by the real `pickle`,
//! `zipfile` and `numpy` (`tests/unsafe/corpus.py`), plus the limits.
//!
//! Python comes from `AIBOM_TEST_PYTHON` (default: the workspace's `.venv`). Under
//! `CI=true` a missing Python or library fails; elsewhere the test is skipped.
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

fn python() -> PathBuf {
    std::env::var_os("AIBOM_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"))
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/unsafe")
        .join(name)
}

/// Runs a corpus script; `None` (skipped, failing under CI) when Python cannot.
fn run(args: &[&std::ffi::OsStr]) -> Option<serde_json::Value> {
    let out = Command::new(python()).args(args).output();
    let why = match out {
        Ok(o) if o.status.success() => return Some(serde_json::from_slice(&o.stdout).unwrap()),
        Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
        Err(e) => e.to_string(),
    };
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(!ci, "unsafe corpus: {why} (required under CI=true)");
    eprintln!("skipping: {why}");
    None
}

/// Writes the corpus into `dir`; its file names.
fn corpus(dir: &Path) -> Option<Vec<String>> {
    let v = run(&[script("corpus.py").as_os_str(), dir.as_os_str()])?;
    Some(serde_json::from_value(v).unwrap())
}

fn scan_path(p: &Path, limit: u64) -> UnsafeScan {
    let f = File::open(p).unwrap();
    let size = f.metadata().unwrap().len();
    scan(&f, size, &p.file_name().unwrap().to_string_lossy(), limit)
}

#[test]
fn verdicts_agree_with_picklescan_file_by_file() {
    let d = tempfile::tempdir().unwrap();
    let Some(names) = corpus(d.path()) else {
        return;
    };
    let mut args = vec![script("picklescan_verdicts.py").into_os_string()];
    args.extend(names.iter().map(|n| d.path().join(n).into_os_string()));
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let Some(theirs) = run(&refs) else { return };
    let theirs: BTreeMap<String, serde_json::Value> = serde_json::from_value(theirs).unwrap();
    let mut flagged = 0;
    for name in &names {
        let ours = scan_path(&d.path().join(name), DEFAULT_MAX_BYTES);
        let t = &theirs[name];
        let want: Vec<String> = serde_json::from_value(t["dangerous"].clone()).unwrap();
        assert_eq!(
            ours.callables, want,
            "{name}: ours {ours:?}, picklescan {t}"
        );
        assert_eq!(
            ours.error.is_some(),
            t["scan_err"].as_bool().unwrap(),
            "{name}: ours {ours:?}, picklescan {t}"
        );
        assert_eq!(ours.verdict(), Some(!want.is_empty()), "{name}: {ours:?}");
        flagged += usize::from(!want.is_empty());
    }
    // the corpus holds both kinds (a picklescan that flags nothing would agree vacuously)
    assert!(
        flagged >= 10 && names.len() - flagged >= 6,
        "{flagged} of {}",
        names.len()
    );
}

#[test]
fn cut_corrupt_and_limited_files_are_errors_never_safe() {
    let d = tempfile::tempdir().unwrap();
    let Some(_) = corpus(d.path()) else { return };
    let whole = std::fs::read(d.path().join("legacy_benign.bin")).unwrap();
    // cut inside the pickles: an error and no verdict, never "safe"
    for cut in [1, 20, whole.len() / 3] {
        let p = d.path().join(format!("cut{cut}.pt"));
        std::fs::write(&p, &whole[..cut]).unwrap();
        let s = scan_path(&p, DEFAULT_MAX_BYTES);
        assert!(
            s.error.as_deref().unwrap().contains("truncated"),
            "{cut}: {s:?}"
        );
        assert_eq!(s.verdict(), None, "{cut}: {s:?}");
    }
    // random bytes named .pkl: a corrupt pickle
    let p = d.path().join("noise.pkl");
    std::fs::write(&p, b"\x80\x04\xfe\xfd garbage").unwrap();
    let s = scan_path(&p, DEFAULT_MAX_BYTES);
    assert!(s.error.as_deref().unwrap().contains("corrupt"), "{s:?}");
    assert_eq!(s.verdict(), None);
    // the byte limit: the import lies past it in the legacy file (the fourth pickle)
    let evil = d.path().join("legacy_evil.pt");
    let s = scan_path(&evil, 64);
    assert_eq!(
        s.error.as_deref(),
        Some("scan stopped at the limit of 64 bytes")
    );
    assert_eq!(s.verdict(), None);
    assert_eq!(scan_path(&evil, DEFAULT_MAX_BYTES).verdict(), Some(true));
    // in a zip too (the member's name says where)
    let s = scan_path(&d.path().join("zip_evil.pth"), 16);
    assert!(
        s.error
            .as_deref()
            .unwrap()
            .starts_with("archive/data.pkl: scan stopped"),
        "{s:?}"
    );
    // an empty file holds no pickle
    let p = d.path().join("empty.pkl");
    std::fs::write(&p, b"").unwrap();
    assert!(scan_path(&p, 100).error.is_some());
}

#[test]
fn which_files_are_scanned() {
    assert!(wanted(Format::Pickle, "x"));
    assert!(wanted(Format::PytorchZip, "x.pt"));
    assert!(wanted(Format::Npy, "x.npy"));
    assert!(wanted(Format::Unknown, "old_protocol0.pkl"));
    assert!(wanted(Format::Unknown, "m.ckpt"));
    assert!(!wanted(Format::Safetensors, "m.pkl"));
    assert!(!wanted(Format::Gguf, "m.gguf"));
    assert!(!wanted(Format::Unknown, "notes.txt"));
    assert!(object_dtype("|O"));
    assert!(object_dtype("[('a', '<i4'), ('b', '|O')]"));
    assert!(!object_dtype("<f4"));
}

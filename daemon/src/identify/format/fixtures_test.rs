//! Fixture-driven test: `tests/fixtures/make_fixtures.py` writes one file per format
//! with the real Python libraries, and every file is sniffed and checked.
//!
//! Python comes from `AIBOM_TEST_PYTHON` (default: the workspace's `.venv`). Under
//! `CI=true` a missing Python or library fails the test; elsewhere it is skipped with a
//! message.
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{sniff, Format};

/// (fixture name, format, mismatch, fields that must be present with these values).
type Expect = (
    &'static str,
    Format,
    Option<Format>,
    &'static [(&'static str, &'static str)],
);

const EXPECT: &[Expect] = &[
    (
        "model.safetensors",
        Format::Safetensors,
        None,
        &[
            ("metadata.license", "apache-2.0"),
            ("tensors", "2"),
            ("dtypes", "F16,F32"),
        ],
    ),
    (
        "model.gguf",
        Format::Gguf,
        None,
        &[
            ("general.name", "Tiny Llama Fixture"),
            ("general.organization", "aibomd"),
            ("general.license", "mit"),
            ("general.source.huggingface.repository", "aibomd/tiny-llama"),
            ("general.architecture", "llama"),
            ("version", "3"),
            ("tensors", "1"),
        ],
    ),
    (
        "model.onnx",
        Format::Onnx,
        None,
        &[
            ("opset", "17"),
            ("producer", "aibomd-fixtures"),
            ("producer_version", "1.0"),
            ("metadata.license", "mit"),
            ("metadata.author", "aibomd"),
        ],
    ),
    (
        "pytorch_model.bin",
        Format::PytorchZip,
        None,
        &[("archive_root", "archive"), ("version", "3")],
    ),
    ("legacy.pkl", Format::Pickle, None, &[("protocol", "2")]),
    (
        "evil.safetensors",
        Format::Pickle,
        Some(Format::Safetensors),
        &[("protocol", "4")],
    ),
    ("model.h5", Format::Hdf5, None, &[]),
    ("model.keras", Format::KerasZip, None, &[]),
    (
        "model.tflite",
        Format::Tflite,
        None,
        &[
            ("version", "3"),
            ("description", "aibomd fixture"),
            ("min_runtime_version", "1.5.0"),
        ],
    ),
    (
        "array.npy",
        Format::Npy,
        None,
        &[
            ("dtype", "<f4"),
            ("shape", "[3,4]"),
            ("fortran_order", "false"),
        ],
    ),
    ("arrays.npz", Format::Npz, None, &[("arrays", "2")]),
    ("data.parquet", Format::Parquet, None, &[]),
    ("data.arrow", Format::Arrow, None, &[("kind", "file")]),
    ("data.feather", Format::Arrow, None, &[("kind", "file")]),
    ("stream.ipc", Format::Arrow, None, &[("kind", "stream")]),
    ("data.jsonl", Format::Jsonl, None, &[]),
    (
        "data.csv",
        Format::Csv,
        None,
        &[("delimiter", "comma"), ("columns", "3")],
    ),
    (
        "data.tsv",
        Format::Csv,
        None,
        &[("delimiter", "tab"), ("columns", "3")],
    ),
    ("chat_template.jinja", Format::Jinja, None, &[]),
    ("prompts/system.prompt", Format::Prompt, None, &[]),
    ("prompts/user.txt", Format::Prompt, None, &[]),
    (
        "tokenizer.json",
        Format::TokenizerJson,
        None,
        &[("tokenizer_model", "BPE")],
    ),
    ("big/tokenizer.json", Format::TokenizerJson, None, &[]),
    (
        "config.json",
        Format::Json,
        None,
        &[
            ("model_type", "llama"),
            ("architectures", "LlamaForCausalLM"),
            ("_name_or_path", "aibomd/tiny-llama"),
        ],
    ),
    ("mcp.json", Format::Json, None, &[("mcp_servers", "2")]),
];

fn python() -> PathBuf {
    std::env::var_os("AIBOM_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"))
}

/// Fails under CI, otherwise prints why the check is skipped.
fn skip(why: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(!ci, "fixtures: {why} (required under CI=true)");
    eprintln!("skipping fixture check: {why}");
}

#[test]
fn fixtures_sniff_as_made() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/make_fixtures.py");
    let dir = tempfile::tempdir().unwrap();
    let py = python();
    let out = match Command::new(&py).arg(&script).arg(dir.path()).output() {
        Ok(o) => o,
        Err(e) => return skip(&format!("cannot run {}: {e}", py.display())),
    };
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return skip(&format!("make_fixtures.py failed: {err}"));
    }
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = manifest["files"].as_object().unwrap();
    let skipped = manifest["skipped"].as_object().unwrap();
    for (name, reason) in skipped {
        skip(&format!("{name}: {reason}"));
    }
    for name in files.keys() {
        assert!(
            EXPECT.iter().any(|e| e.0 == name),
            "fixture {name} has no expectation"
        );
    }
    for &(name, format, mismatch, fields) in EXPECT {
        let Some(entry) = files.get(name) else {
            assert!(skipped.contains_key(name), "fixture {name} was not written");
            continue;
        };
        let path = entry["path"].as_str().unwrap();
        let s = sniff(Path::new(path));
        assert_eq!(s.format, format, "{name}: {s:?}");
        assert_eq!(s.mismatch, mismatch, "{name}: {s:?}");
        assert_eq!(s.error, None, "{name}: {s:?}");
        for (k, v) in fields {
            assert_eq!(
                s.fields.get(*k).map(String::as_str),
                Some(*v),
                "{name}: field {k} in {:?}",
                s.fields
            );
        }
    }
}

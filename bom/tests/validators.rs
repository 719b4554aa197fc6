//! Every document this crate writes passes the official validators: CycloneDX 1.6 JSON
//! schema (cyclonedx-python-lib) and the SPDX 3.0.1 model bindings (spdx-python-model).
//! Python with those packages comes from `AIBOM_TEST_PYTHON` (the repo's venv, see
//! tests/requirements.txt); without it the tests skip, except under `CI=true` where they fail.
use std::path::Path;
use std::process::Command;

use aibom_bom::{merge, render, ApiService, Evidence, FileObservation, Format, Process, Workload};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/validate_bom.py");

fn python() -> Option<String> {
    let py = std::env::var("AIBOM_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", "import cyclonedx.validation.json, spdx_python_model"])
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(py);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "CI=true but {py} lacks cyclonedx-python-lib/spdx-python-model (tests/requirements.txt)"
    );
    eprintln!("SKIP: {py} lacks cyclonedx-python-lib[validation] and spdx-python-model");
    None
}

/// Runs the validator of `kind` over `files` (one Python start: loading the schemas is slow).
fn validate(py: &str, kind: &str, files: &[&Path]) {
    let out = Command::new(py)
        .arg(SCRIPT)
        .arg(kind)
        .args(files)
        .output()
        .unwrap();
    let docs: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    assert!(
        out.status.success(),
        "{kind} validation of {files:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        docs.join("\n")
    );
}

/// Every kind of component, odd names and licenses included.
fn evidence() -> Evidence {
    let obs = |path: &str, ty: &str, role: &str, format: &str| FileObservation {
        path: path.into(),
        artifact_type: ty.into(),
        role: Some(role.into()),
        format: Some(format.into()),
        provider: Some("local".into()),
        sha256: Some(format!("{:064x}", path.len())),
        sha256_source: Some("computed".into()),
        size: Some(10),
        processes: vec![Process {
            exe: "python".into(),
            pid: Some(7),
        }],
        tracers: vec!["ebpf".into()],
        project: "p".into(),
        ..Default::default()
    };
    let rev = "0123456789abcdef0123456789abcdef01234567";
    let files = vec![
        FileObservation {
            via: vec![format!("/h/models--o--m/snapshots/{rev}/model.safetensors")],
            provider: Some("huggingface".into()),
            id: Some(format!("pkg:huggingface/o/m@{rev}")),
            name: Some("o/m".into()),
            revision: Some(rev.into()),
            source_url: Some("https://huggingface.co/o/m".into()),
            license: Some("MIT OR Apache-2.0".into()),
            sha256_source: Some("hf_blob_name".into()),
            ..obs(
                "/h/models--o--m/blobs/abc",
                "model",
                "weights",
                "safetensors",
            )
        },
        FileObservation {
            license: Some("llama2 community license".into()),
            ..obs("/m/a b/é.gguf", "model", "weights", "gguf")
        },
        obs("/d/train.parquet", "dataset", "split", "parquet"),
        obs("/p/chat.jinja", "prompt", "template", "jinja"),
        obs("/t/tools.json", "tool", "manifest", "json"),
        FileObservation {
            sha256: None,
            ..obs("/c/generation_config.json", "config", "config", "json")
        },
    ];
    let mut ev = Evidence::build(
        Workload {
            name: "python".into(),
            command: vec!["python".into(), "app.py".into()],
            project: "p".into(),
        },
        files,
        "0.1.0",
    );
    ev.components[0].card = Some(aibom_bom::model::ModelCard {
        task: Some("text-classification".into()),
        architecture_family: Some("bert".into()),
        architecture: Some("BertModel".into()),
    });
    // AI APIs called: hosted over TLS, a server name only (IPv6, no path, no model), local
    // over plain HTTP.
    ev.services = vec![
        ApiService {
            provider: "openai".into(),
            gen_ai_provider: Some("openai".into()),
            host: "api.openai.com".into(),
            port: Some(443),
            paths: vec!["/v1/chat/completions".into()],
            models: vec!["gpt-4o-mini".into()],
            operations: vec!["chat".into()],
            seen_by: vec!["uprobe".into()],
            calls: 7,
            input_tokens: Some(12),
            output_tokens: Some(34),
            processes: vec![Process {
                exe: "python".into(),
                pid: Some(7),
            }],
        },
        ApiService {
            provider: "openai-compatible".into(),
            host: "fd00::1".into(),
            port: Some(8443),
            seen_by: vec!["sni".into()],
            calls: 1,
            ..Default::default()
        },
        ApiService {
            provider: "ollama".into(),
            host: "127.0.0.1".into(),
            port: Some(11434),
            paths: vec!["/api/chat".into(), "/api/embed".into()],
            models: vec!["llama3.2".into(), "nomic-embed-text".into()],
            operations: vec!["chat".into(), "embeddings".into()],
            seen_by: vec!["http".into()],
            calls: 3,
            ..Default::default()
        },
    ];
    ev
}

#[test]
fn cyclonedx_and_spdx3_documents_pass_the_official_validators() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ev = evidence();
    // an empty run is a valid document too
    let empty = Evidence::build(Workload::default(), Vec::new(), "0.1.0");
    for (format, kind) in [
        (Format::CycloneDxJson, "cyclonedx"),
        (Format::Spdx3Json, "spdx3"),
    ] {
        let full = dir.path().join(kind);
        std::fs::write(&full, render(&ev, format)).unwrap();
        let none = dir.path().join(format!("empty-{kind}"));
        std::fs::write(&none, render(&empty, format)).unwrap();
        validate(&py, kind, &[&full, &none]);
    }
}

#[test]
fn merge_with_a_static_bom_written_by_cyclonedx_python_lib_stays_valid() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ev = evidence();
    let model = &ev.components[0];
    let static_path = dir.path().join("static.cdx.json");
    let st = Command::new(&py)
        .arg(SCRIPT)
        .arg("static")
        .arg(&static_path)
        .args([
            "declared-name",
            model.purl.as_deref().unwrap(),
            model.sha256.as_deref().unwrap(),
            "MIT",
        ])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let static_bom: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&static_path).unwrap()).unwrap();
    let runtime: serde_json::Value =
        serde_json::from_str(&render(&ev, Format::CycloneDxJson)).unwrap();
    let (merged, report) = merge::merge(&static_bom, &runtime).unwrap();
    assert_eq!(report.declared, 2);
    assert_eq!(report.loaded, 1);
    assert_eq!(report.undeclared, ev.components.len() - 1);
    let out = dir.path().join("merged.cdx.json");
    std::fs::write(&out, serde_json::to_string_pretty(&merged).unwrap()).unwrap();
    validate(&py, "cyclonedx", &[&out]);
}

//! `aibomd run --bom` and `aibomd bom merge`: the real binary traces the example app
//! (real models, datasets and prompts written by the real libraries) and writes AI-BOMs,
//! which the official validators must accept (CycloneDX 1.6 JSON schema via
//! cyclonedx-python-lib, SPDX 3.0.1 via spdx-python-model; bom/tests/validate_bom.py) and
//! whose content is checked field by field against the files on disk. Tracing needs root;
//! under `CI=true` these tests fail instead of skipping.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use aibom_semconv::{attr, span, tracer};
use common::*;
use serde_json::Value;

const APP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/ml-app/app.py");
const VALIDATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../bom/tests/validate_bom.py");
const REPO: &str = "aibom-demo/tiny-bert";

macro_rules! need_root {
    () => {
        if !kernel_tests_possible(module_path!()) {
            return;
        }
    };
}

/// The `aibom:` property named after a semconv name (as `aibom_bom::prop::name` does).
fn prop_name(semconv: &str) -> String {
    aibom_bom::prop::name(semconv)
}

fn sha256sum(p: &Path) -> String {
    let out = Command::new("sha256sum").arg(p).output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn validate(kind: &str, file: &Path) {
    validate_bom(kind, file)
}

/// The example app's hub snapshot, its revision, and where its files are.
struct Example {
    _guard: tempfile::TempDir,
    dir: PathBuf,
    work: PathBuf,
}

impl Example {
    fn new() -> Self {
        let (g, dir) = tempdir();
        let work = dir.join("work");
        Example {
            _guard: g,
            dir,
            work,
        }
    }

    fn revision(&self) -> String {
        std::fs::read_to_string(self.repo().join("refs/main")).unwrap()
    }

    fn repo(&self) -> PathBuf {
        self.work.join("hf/hub/models--aibom-demo--tiny-bert")
    }

    fn snapshot(&self, name: &str) -> PathBuf {
        self.repo()
            .join("snapshots")
            .join(self.revision())
            .join(name)
    }

    /// `aibomd run --bom FILE [--bom-format F] -- python app.py`; the parsed document.
    fn run(&self, format: Option<&str>) -> (PathBuf, Value) {
        let bom = self
            .dir
            .join(format!("bom-{}.json", format.unwrap_or("default")));
        let mut c = aibomd();
        c.args(["run", "--tracer", tracer::EBPF, "--bom"]).arg(&bom);
        if let Some(f) = format {
            c.args(["--bom-format", f]);
        }
        let out = c
            .arg("--")
            .args([&python(), APP, "--workdir", self.work.to_str().unwrap()])
            .current_dir(&self.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&bom).unwrap_or_else(|e| {
            panic!(
                "no BOM at {}: {e}\n{}",
                bom.display(),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (bom, serde_json::from_str(&text).unwrap())
    }
}

fn props<'a>(c: &'a Value, name: &str) -> Vec<&'a str> {
    c["properties"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"] == name)
        .map(|p| p["value"].as_str().unwrap())
        .collect()
}

fn component<'a>(bom: &'a Value, name: &str) -> &'a Value {
    bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no component {name} in {bom:#}"))
}

#[test]
fn run_bom_lists_the_example_model_with_hash_license_purl_and_validates() {
    need_root!();
    let ex = Example::new();
    let (path, bom) = ex.run(None);
    validate("cyclonedx", &path);
    let rev = ex.revision();
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.6");
    assert_eq!(bom["metadata"]["tools"]["components"][0]["name"], "aibomd");
    let workload = &bom["metadata"]["component"];
    assert!(
        workload["name"].as_str().unwrap().starts_with("python"),
        "{workload:#}"
    );

    // the Hugging Face model: one component for the repository, led by its weights
    let m = component(&bom, REPO);
    assert_eq!(m["type"], "machine-learning-model");
    assert_eq!(m["version"], rev.as_str());
    assert_eq!(m["purl"], format!("pkg:huggingface/{REPO}@{rev}"));
    assert_eq!(m["hashes"][0]["alg"], "SHA-256");
    assert_eq!(
        m["hashes"][0]["content"],
        sha256sum(&ex.snapshot("model.safetensors"))
    );
    assert_eq!(m["licenses"][0]["license"]["id"], "Apache-2.0");
    assert_eq!(
        m["externalReferences"][0]["url"],
        format!("https://huggingface.co/{REPO}")
    );
    // model card facts from the config.json the app loaded
    let mp = &m["modelCard"]["modelParameters"];
    assert_eq!(mp["architectureFamily"], "bert");
    assert_eq!(mp["modelArchitecture"], "BertModel");
    // its other files, with their own hashes
    let tok = m["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "tokenizer.json")
        .unwrap_or_else(|| panic!("no tokenizer part in {m:#}"));
    assert_eq!(
        tok["hashes"][0]["content"],
        sha256sum(&ex.snapshot("tokenizer.json"))
    );
    assert_eq!(props(tok, &prop_name(attr::ARTIFACT_ROLE)), ["tokenizer"]);
    // evidence: the paths it was loaded from and how it was identified
    let locs: Vec<_> = m["evidence"]["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["location"].as_str().unwrap())
        .collect();
    let snap = ex.snapshot("model.safetensors");
    assert!(locs.contains(&snap.to_str().unwrap()), "{locs:?}");
    let ident = m["evidence"]["identity"].as_array().unwrap();
    let purl_ev = ident.iter().find(|i| i["field"] == "purl").unwrap();
    assert!(
        purl_ev["methods"][0]["value"]
            .as_str()
            .unwrap()
            .starts_with("hub cache layout"),
        "{purl_ev:#}"
    );
    let hash_ev = ident.iter().find(|i| i["field"] == "hash").unwrap();
    assert_eq!(hash_ev["concludedValue"], m["hashes"][0]["content"]);
    assert!(ident.iter().any(|i| i["methods"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["value"] == "header sniffing: safetensors")));
    assert_eq!(
        props(m, &prop_name(attr::ARTIFACT_PROVIDER)),
        ["huggingface"]
    );
    assert_eq!(props(m, &prop_name(attr::TRACER)), [tracer::EBPF]);
    assert_eq!(props(m, &prop_name(attr::PROJECT_ID)), ["default"]);
    let procs = props(m, &prop_name(span::PROCESS));
    assert!(
        procs.len() == 1 && procs[0].starts_with("python["),
        "{procs:?}"
    );

    // the local GGUF model: named by its metadata, hashed from its bytes
    let gguf = component(&bom, "tiny-llama-demo");
    assert_eq!(gguf["type"], "machine-learning-model");
    assert_eq!(
        gguf["hashes"][0]["content"],
        sha256sum(&ex.work.join("models/tiny.gguf"))
    );
    assert_eq!(gguf["licenses"][0]["license"]["id"], "MIT");
    assert!(gguf.get("purl").is_none(), "a local file has no purl");

    // datasets and prompts are data components with data entries and their role
    let train = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["data"][0]["name"] == "train.parquet")
        .unwrap_or_else(|| panic!("no train.parquet dataset in {bom:#}"));
    assert_eq!(train["type"], "data");
    assert_eq!(train["data"][0]["type"], "dataset");
    assert_eq!(
        train["data"][0]["contents"]["url"],
        format!("file://{}", ex.work.join("data/train.parquet").display())
    );
    let prompt = component(&bom, "chat");
    assert_eq!(prompt["type"], "data");
    assert_eq!(props(prompt, &prop_name(attr::ARTIFACT_TYPE)), ["prompt"]);
    assert_eq!(props(prompt, &prop_name(attr::ARTIFACT_ROLE)), ["template"]);

    // the workload depends on everything loaded, and nothing else is listed
    let refs: Vec<&Value> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["bom-ref"])
        .collect();
    assert_eq!(bom["dependencies"][0]["ref"], workload["bom-ref"]);
    let deps: Vec<&Value> = bom["dependencies"][0]["dependsOn"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(deps, refs);
    // ten files loaded: the repo's four, two datasets, a prompt, ONNX, GGUF, npy
    assert_eq!(refs.len(), 7, "{bom:#}");

    // merge with a static BOM written by cyclonedx-python-lib that declares the model
    // (by purl and hash, under another name) and a dataset that is never loaded
    let st = ex.dir.join("static.cdx.json");
    let out = Command::new(python())
        .arg(VALIDATE)
        .arg("static")
        .arg(&st)
        .args([
            "declared-tiny-bert",
            m["purl"].as_str().unwrap(),
            m["hashes"][0]["content"].as_str().unwrap(),
            "Apache-2.0",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let merged_path = ex.dir.join("merged.cdx.json");
    let out = aibomd()
        .args(["bom", "merge"])
        .arg(&st)
        .arg(&path)
        .arg("-o")
        .arg(&merged_path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("2 declared AI component(s), 1 loaded at run time, 1 not loaded; 6 loaded but undeclared"),
        "{stderr}"
    );
    validate("cyclonedx", &merged_path);
    let merged: Value =
        serde_json::from_str(&std::fs::read_to_string(&merged_path).unwrap()).unwrap();
    let loaded = aibom_bom::prop::RUNTIME_LOADED;
    let undeclared = aibom_bom::prop::RUNTIME_UNDECLARED;
    assert_eq!(
        props(component(&merged, "declared-tiny-bert"), loaded),
        ["true"]
    );
    assert_eq!(props(component(&merged, "never-loaded"), loaded), ["false"]);
    let g = component(&merged, "tiny-llama-demo");
    assert_eq!(props(g, undeclared), ["true"]);
    assert_eq!(props(g, loaded), ["true"]);
    // the runtime model matched the declared one: not added a second time
    assert!(
        merged["components"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["name"] != REPO),
        "{merged:#}"
    );
}

#[test]
fn run_bom_spdx3_has_ai_and_dataset_packages_and_validates() {
    need_root!();
    let ex = Example::new();
    let (path, doc) = ex.run(Some("spdx3-json"));
    validate("spdx3", &path);
    let rev = ex.revision();
    let graph = doc["@graph"].as_array().unwrap();
    let of = |t: &str| -> Vec<&Value> { graph.iter().filter(|e| e["type"] == t).collect() };
    let by_id = |id: &Value| graph.iter().find(|e| &e["spdxId"] == id).unwrap();
    let model = of("ai_AIPackage")
        .into_iter()
        .find(|p| p["name"] == REPO)
        .unwrap_or_else(|| panic!("no AIPackage {REPO}: {doc:#}"));
    assert_eq!(model["software_packageVersion"], rev.as_str());
    assert_eq!(
        model["software_packageUrl"],
        format!("pkg:huggingface/{REPO}@{rev}")
    );
    assert_eq!(model["software_primaryPurpose"], "model");
    assert_eq!(model["verifiedUsing"][0]["algorithm"], "sha256");
    assert_eq!(
        model["verifiedUsing"][0]["hashValue"],
        sha256sum(&ex.snapshot("model.safetensors"))
    );
    let rels = of("Relationship");
    let lic = rels
        .iter()
        .find(|r| r["from"] == model["spdxId"] && r["relationshipType"] == "hasConcludedLicense")
        .expect("license relationship");
    assert_eq!(
        by_id(&lic["to"][0])["simplelicensing_licenseExpression"],
        "Apache-2.0"
    );
    let ds = of("dataset_DatasetPackage");
    assert!(ds.len() >= 2, "train.parquet and eval.jsonl: {ds:#?}");
    assert!(ds.iter().all(|d| d["dataset_datasetType"]
        .as_array()
        .is_some_and(|a| !a.is_empty())));
    // the workload is the root and depends on every package
    let sbom = of("software_Sbom")[0];
    let root = by_id(&sbom["rootElement"][0]);
    assert!(root["name"].as_str().unwrap().starts_with("python"));
    let dep = rels
        .iter()
        .find(|r| r["from"] == root["spdxId"] && r["relationshipType"] == "dependsOn")
        .unwrap();
    assert_eq!(dep["to"].as_array().unwrap().len(), 7);
}

/// Mistakes on the command line are explained, with nothing traced.
#[test]
fn bom_flags_and_merge_explain_bad_input() {
    let out = aibomd()
        .args([
            "run",
            "--bom",
            "x.json",
            "--bom-format",
            "xml",
            "--",
            "true",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("cyclonedx-json, spdx3-json"), "{e}");

    let (_g, dir) = tempdir();
    let not_cdx = dir.join("spdx.json");
    std::fs::write(&not_cdx, r#"{"spdxVersion": "SPDX-2.3"}"#).unwrap();
    let out = aibomd()
        .args(["bom", "merge"])
        .arg(&not_cdx)
        .arg(&not_cdx)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("not a CycloneDX JSON document"), "{e}");
    let out = aibomd()
        .args(["bom", "merge", "/no/such.json", "/no/such.json"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /no/such.json"));
}

/// `aibomd run` keeps its table and its `--bom` evidence within `[export]
/// summary_max_bytes` and `bom_max_bytes`: a run over 40 distinct models (GGUF files
/// written by `gguf`, each with its own weights) with 4 KiB for each lists only some,
/// says the table is incomplete, and marks the document `aibom:incomplete` (still a valid
/// CycloneDX 1.6 document); with the defaults all 40 are there and nothing is marked.
#[test]
fn run_table_and_bom_stay_within_their_bytes_and_say_so() {
    need_root!();
    let (_g, dir) = tempdir();
    const N: usize = 40;
    let make = format!(
        "import sys, numpy as np, gguf\n\
         for i in range({N}):\n    \
             w = gguf.GGUFWriter(f'{{sys.argv[1]}}/many-{{i:03}}.gguf', 'llama')\n    \
             w.add_tensor('w', np.full((4, 4), i, np.float32))\n    \
             w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()\n"
    );
    let st = Command::new(python())
        .args(["-c", &make])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(st.success());
    let read =
        "import glob\nfor f in sorted(glob.glob('many-*.gguf')):\n    open(f, 'rb').read()\n";
    let run = |limit: Option<&str>| {
        let bom = dir.join(format!("bom-{}.cdx.json", limit.unwrap_or("default")));
        let mut c = aibomd();
        c.args(["run", "--tracer", tracer::EBPF, "--bom"])
            .arg(&bom)
            .args(["--", &python(), "-c", read])
            .current_dir(&dir);
        if let Some(l) = limit {
            c.env("AIBOM_EXPORT__SUMMARY_MAX_BYTES", l)
                .env("AIBOM_EXPORT__BOM_MAX_BYTES", l);
        }
        let out = c.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{err}");
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&bom).unwrap()).unwrap();
        let rows = err.lines().filter(|l| l.contains("/many-")).count();
        (bom, doc, err, rows)
    };
    let incomplete = |doc: &Value| {
        doc["metadata"]["properties"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["name"] == "aibom:incomplete")
            .filter_map(|p| p["value"].as_str().map(str::to_string))
            .collect::<Vec<_>>()
    };
    let components = |doc: &Value| doc["components"].as_array().map_or(0, Vec::len);

    let (_, doc, err, rows) = run(None);
    assert_eq!(rows, N, "{err}");
    assert_eq!(components(&doc), N, "{doc:#}");
    assert!(incomplete(&doc).is_empty(), "{doc:#}");
    assert!(!err.contains("incomplete"), "{err}");

    let (bom, doc, err, rows) = run(Some("4096"));
    assert!(rows > 0 && rows < N, "{rows} rows: {err}");
    assert!(
        err.contains("aibomd: the table is incomplete:")
            && err.contains("summary_max_bytes = 4096"),
        "{err}"
    );
    let n = components(&doc);
    assert!(n > 0 && n < N, "{n} components: {doc:#}");
    let why = incomplete(&doc);
    assert_eq!(why.len(), 1, "{doc:#}");
    assert!(why[0].contains("bom_max_bytes = 4096"), "{why:?}");
    assert!(err.contains("the BOM is incomplete"), "{err}");
    eprintln!("at 4096 bytes: {rows} of {N} table rows, {n} of {N} components");
    validate("cyclonedx", &bom);
}

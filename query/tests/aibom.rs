//! `GET /projects/{id}/runtime/aibom` against a real ClickHouse engine (chDB behind
//! `scripts/chdb-http`) and the real `aibom-query` binary: rows shaped as the collector writes
//! them become a CycloneDX 1.6 / SPDX 3.0.1 document that the official validators accept
//! (bom/tests/validate_bom.py: cyclonedx-python-lib, spdx-python-model).
mod common;

use aibom_semconv::{policy_action, policy_severity};
use common::*;
use serde_json::Value;

const S: i64 = 1_000_000_000;
const REV: &str = "0123456789abcdef0123456789abcdef01234567";
const SHA_W: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const SHA_T: &str = "2222222222222222222222222222222222222222222222222222222222222222";

fn validate(kind: &str, doc: &str) {
    let py = std::env::var("AIBOM_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = std::process::Command::new(&py)
        .args(["-c", "import cyclonedx.validation.json, spdx_python_model"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip(&format!(
            "{py} lacks cyclonedx-python-lib/spdx-python-model: {kind} not validated"
        ));
        return;
    }
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), doc).unwrap();
    let out = std::process::Command::new(&py)
        .arg(repo_root().join("bom/tests/validate_bom.py"))
        .arg(kind)
        .arg(f.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{kind}: {}\n{doc}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn fixture(ch: &ClickHouse, base: i64) {
    let purl = format!("pkg:huggingface/org/m@{REV}");
    let hf = |t: i64, file: &str, role: &str, sha: &str| {
        log_row(
            base + t * S,
            &[
                (attr::PROJECT_ID, "proj-x"),
                (attr::FILE_PATH, file),
                (attr::ACCESS_MODE, "read"),
                (attr::ACCESS_COUNT, "1"),
                (attr::PROCESS_PID, "100"),
                (attr::PROCESS_EXECUTABLE_NAME, "python3"),
                (attr::TRACER, "ebpf"),
                (attr::ARTIFACT_TYPE, "model"),
                (attr::ARTIFACT_ROLE, role),
                (attr::ARTIFACT_FORMAT, "safetensors"),
                (attr::ARTIFACT_PROVIDER, "huggingface"),
                (attr::ARTIFACT_ID, &purl),
                (attr::ARTIFACT_NAME, "org/m"),
                (attr::ARTIFACT_REVISION, REV),
                (attr::ARTIFACT_LICENSE, "Apache-2.0"),
                (attr::ARTIFACT_SHA256, sha),
                (attr::FILE_SIZE, "4096"),
            ],
            &[(attr::HOST_NAME, "node-1")],
        )
    };
    let local = |t: i64, project: &str, file: &str, ty: &str, mode: &str| {
        log_row(
            base + t * S,
            &[
                (attr::PROJECT_ID, project),
                (attr::FILE_PATH, file),
                (attr::ACCESS_MODE, mode),
                (attr::ACCESS_COUNT, "1"),
                (attr::PROCESS_PID, "101"),
                (attr::PROCESS_EXECUTABLE_NAME, "torchrun"),
                (attr::TRACER, "fanotify"),
                (attr::ARTIFACT_TYPE, ty),
                (attr::ARTIFACT_PROVIDER, "local"),
                (attr::ARTIFACT_FORMAT, "parquet"),
            ],
            &[],
        )
    };
    ch.insert_logs(
        &[
            hf(1, "/hub/models--org--m/blobs/w", "weights", SHA_W),
            hf(2, "/hub/models--org--m/blobs/t", "tokenizer", SHA_T),
            local(3, "proj-x", "/data/train.parquet", "dataset", "read"),
            // written only: an output, not a material
            local(4, "proj-x", "/out/checkpoint.parquet", "dataset", "write"),
            // another project's
            local(5, "proj-y", "/data/secret.parquet", "dataset", "read"),
        ],
        false,
    );
    // aibomd's policy judged the dataset's access twice (two rules), and a file of another
    // project: violation records carry the access's attributes and the verdict.
    let violation = |t: i64, project: &str, file: &str, rule: &str| {
        let mut v = local(t, project, file, "dataset", "read");
        let attrs = v["LogAttributes"].as_object_mut().unwrap();
        for (k, val) in [
            (record::EVENT_NAME, event::POLICY_VIOLATION),
            (attr::POLICY_RULE, rule),
            (attr::POLICY_ACTION, policy_action::ALERT),
            (attr::POLICY_SEVERITY, policy_severity::MEDIUM),
            (attr::POLICY_ENFORCED, "false"),
        ] {
            attrs.insert(k.into(), val.into());
        }
        v
    };
    ch.insert_logs(
        &[
            violation(
                6,
                "proj-x",
                "/data/train.parquet",
                "datasets-need-a-license",
            ),
            violation(7, "proj-x", "/data/train.parquet", "no-local-data"),
            violation(8, "proj-x", "/data/train.parquet", "no-local-data"),
            violation(9, "proj-y", "/hub/models--org--m/blobs/w", "not-here"),
        ],
        false,
    );
}

fn get(sc: &Sidecar, project: &str, query: &str, token: Option<&str>) -> (u16, String, String) {
    block(async {
        let mut r = reqwest::Client::new().get(format!(
            "{}/projects/{project}/runtime/aibom{query}",
            sc.base
        ));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let resp = r.send().await.unwrap();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (resp.status().as_u16(), ct, resp.text().await.unwrap())
    })
}

#[test]
fn aibom_route_serves_validated_cyclonedx_and_spdx3() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let out = migrate(&ch);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let base = chrono::Utc::now().timestamp_nanos_opt().unwrap() - 3600 * S;
    fixture(&ch, base);
    let sc = Sidecar::start(&ch, &[]);

    let (status, ct, text) = get(&sc, "proj-x", "", Some(TOKEN));
    assert_eq!(status, 200, "{text}");
    assert!(ct.starts_with("application/vnd.cyclonedx+json"), "{ct}");
    validate("cyclonedx", &text);
    let bom: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(bom["specVersion"], "1.6");
    assert_eq!(bom["metadata"]["component"]["name"], "proj-x");
    let comps = bom["components"].as_array().unwrap();
    assert_eq!(comps.len(), 2, "model and dataset only: {bom:#}");
    let m = comps.iter().find(|c| c["name"] == "org/m").unwrap();
    assert_eq!(m["type"], "machine-learning-model");
    assert_eq!(m["purl"], format!("pkg:huggingface/org/m@{REV}"));
    assert_eq!(m["version"], REV);
    assert_eq!(m["hashes"][0]["content"], SHA_W, "the weights lead");
    assert_eq!(m["components"][0]["hashes"][0]["content"], SHA_T);
    assert_eq!(m["licenses"][0]["license"]["id"], "Apache-2.0");
    let d = comps.iter().find(|c| c["type"] == "data").unwrap();
    assert_eq!(d["data"][0]["type"], "dataset");
    assert_eq!(
        d["evidence"]["occurrences"][0]["location"],
        "/data/train.parquet"
    );
    let procs: Vec<_> = d["properties"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == aibom_bom::prop::process())
        .map(|p| p["value"].as_str().unwrap())
        .collect();
    assert_eq!(procs, ["torchrun[101]"]);
    // The dataset broke two rules: one property each (once, however often); the model none.
    let rules = |c: &Value| -> Vec<String> {
        c["properties"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["name"] == aibom_bom::prop::policy_violation())
            .map(|p| p["value"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(rules(d), ["datasets-need-a-license", "no-local-data"]);
    assert!(rules(m).is_empty(), "another project's violation: {m:#}");
    assert!(
        !text.contains("checkpoint") && !text.contains("secret"),
        "{text}"
    );

    let (status, ct, text) = get(&sc, "proj-x", "?format=spdx3-json", Some(TOKEN));
    assert_eq!(status, 200, "{text}");
    assert_eq!(ct, "application/spdx+json");
    validate("spdx3", &text);
    let doc: Value = serde_json::from_str(&text).unwrap();
    let ai: Vec<_> = doc["@graph"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "ai_AIPackage")
        .collect();
    assert_eq!(ai.len(), 1);
    assert_eq!(ai[0]["verifiedUsing"][0]["hashValue"], SHA_W);
    let graph = doc["@graph"].as_array().unwrap();
    let dataset = graph
        .iter()
        .find(|e| e["type"] == "dataset_DatasetPackage")
        .unwrap();
    let notes: Vec<&str> = graph
        .iter()
        .filter(|e| e["type"] == "Annotation")
        .map(|e| {
            assert_eq!(e["subject"], dataset["spdxId"], "annotates the dataset");
            e["statement"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        notes,
        [
            format!("{}: datasets-need-a-license", event::POLICY_VIOLATION),
            format!("{}: no-local-data", event::POLICY_VIOLATION),
        ]
    );

    // a project with no events: a valid, empty document
    let (status, _, text) = get(&sc, "nobody", "", Some(TOKEN));
    assert_eq!(status, 200);
    let empty: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(empty["components"], serde_json::json!([]));

    // bad input and no token
    let (status, _, text) = get(&sc, "proj-x", "?format=xml", Some(TOKEN));
    assert_eq!(status, 400);
    assert!(
        text.contains("format") && text.contains("cyclonedx-json") && text.contains("spdx3-json"),
        "the error names the parameter and the accepted values: {text}"
    );
    assert_eq!(get(&sc, "bad%20id", "", Some(TOKEN)).0, 400);
    assert_eq!(get(&sc, "proj-x", "", None).0, 401);

    // documented in the OpenAPI document
    let api = call("GET", &format!("{}/openapi.json", sc.base), None, None);
    let op = &api.json["paths"]["/projects/{id}/runtime/aibom"]["get"];
    assert!(op.is_object(), "{}", api.text);
    let names: Vec<_> = op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["id", "format"]);
}

//! `GET /projects/{id}/runtime/aibom` against a real ClickHouse engine (chDB behind
//! `scripts/chdb-http`) and the real `aibom-query` binary: rows shaped as the collector writes
//! them become a CycloneDX 1.6 / SPDX 3.0.1 document that the official validators accept
//! (bom/tests/validate_bom.py: cyclonedx-python-lib, spdx-python-model).
mod common;

use aibom_semconv::{api_provider, api_seen_by, artifact_type, policy_action, policy_severity};
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

/// A migrated engine and a base time an hour ago (ns); `None` when chDB is not available.
fn migrated() -> Option<(ClickHouse, i64)> {
    let ch = ClickHouse::start()?;
    let out = migrate(&ch);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some((
        ch,
        chrono::Utc::now().timestamp_nanos_opt().unwrap() - 3600 * S,
    ))
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
    // process `pid` (`exe`) on `host` opened NVIDIA GPU `index`
    let gpu = |pid: &str, exe: &str, index: &str, host: &str| {
        let (dev, name) = (format!("/dev/nvidia{index}"), format!("nvidia/gpu/{index}"));
        log_row(
            base + 5 * S,
            &[
                (attr::PROJECT_ID, "proj-x"),
                (attr::FILE_PATH, &dev),
                (attr::ACCESS_MODE, "read"),
                (attr::PROCESS_PID, pid),
                (attr::PROCESS_EXECUTABLE_NAME, exe),
                (attr::TRACER, "ebpf"),
                (attr::ARTIFACT_TYPE, artifact_type::ACCELERATOR),
                (attr::ARTIFACT_NAME, &name),
                (attr::ACCELERATOR_VENDOR, "nvidia"),
                (attr::ACCELERATOR_KIND, "gpu"),
                (attr::ACCELERATOR_INDEX, index),
            ],
            &[(attr::HOST_NAME, host)],
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
            // the model's process (pid 100) opened a GPU: not a component, a fact of the model
            gpu("100", "python3", "0", "node-1"),
            // on another host, a process with the dataset reader's pid (101) opened a
            // GPU: pids repeat across hosts, so it says nothing of the dataset
            gpu("101", "torchrun", "1", "node-2"),
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
    // AI API calls: OpenAI over TLS (two models, 2 + 1 + 4 calls on chat), a local Ollama over
    // plain HTTP, and another project's Anthropic.
    let api = |t: i64, project: &str, attrs: &[(&str, &str)]| {
        let mut a = vec![
            (record::EVENT_NAME, event::API_CALL),
            (attr::PROJECT_ID, project),
            (attr::PROCESS_PID, "102"),
            (attr::PROCESS_EXECUTABLE_NAME, "python3"),
        ];
        a.extend_from_slice(attrs);
        log_row(base + t * S, &a, &[])
    };
    let openai =
        |t: i64, model: &'static str, op: &'static str, path: &'static str, n: &'static str| {
            api(
                t,
                "proj-x",
                &[
                    (attr::API_PROVIDER, api_provider::OPENAI),
                    (attr::GEN_AI_PROVIDER_NAME, "openai"),
                    (attr::GEN_AI_REQUEST_MODEL, model),
                    (attr::GEN_AI_OPERATION_NAME, op),
                    (attr::SERVER_ADDRESS, "api.openai.com"),
                    (attr::SERVER_PORT, "443"),
                    (attr::URL_PATH, path),
                    (attr::API_SEEN_BY, api_seen_by::UPROBE),
                    (attr::API_COUNT, n),
                ],
            )
        };
    ch.insert_logs(
        &[
            openai(10, "gpt-4o-mini", "chat", "/v1/chat/completions", "2"),
            openai(11, "gpt-4o-mini", "chat", "/v1/chat/completions", "1"),
            openai(12, "gpt-4o-mini", "chat", "/v1/chat/completions", "4"),
            openai(
                13,
                "text-embedding-3-small",
                "embeddings",
                "/v1/embeddings",
                "3",
            ),
            api(
                14,
                "proj-x",
                &[
                    (attr::API_PROVIDER, api_provider::OLLAMA),
                    (attr::GEN_AI_REQUEST_MODEL, "llama3.2"),
                    (attr::GEN_AI_OPERATION_NAME, "chat"),
                    (attr::SERVER_ADDRESS, "127.0.0.1"),
                    (attr::SERVER_PORT, "11434"),
                    (attr::URL_PATH, "/api/chat"),
                    (attr::API_SEEN_BY, api_seen_by::HTTP),
                    (attr::API_COUNT, "1"),
                ],
            ),
            api(
                15,
                "proj-y",
                &[
                    (attr::API_PROVIDER, api_provider::ANTHROPIC),
                    (attr::SERVER_ADDRESS, "api.anthropic.com"),
                    (attr::SERVER_PORT, "443"),
                    (attr::API_SEEN_BY, api_seen_by::SNI),
                    (attr::API_COUNT, "1"),
                ],
            ),
        ],
        false,
    );
}

/// The values of the properties named `name` of a CycloneDX component or service.
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
    let Some((ch, base)) = migrated() else {
        return;
    };
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
    // the model ran in a process that held a GPU; the dataset's process held none (a
    // process with its pid on another host did)
    let devices = aibom_bom::prop::accelerator();
    assert_eq!(props(m, &devices), ["nvidia/gpu/0"]);
    assert!(props(d, &devices).is_empty(), "{d:#}");
    assert!(rules(m).is_empty(), "another project's violation: {m:#}");
    assert!(
        !text.contains("checkpoint") && !text.contains("secret"),
        "{text}"
    );
    // The APIs the project called are services: one per provider and server, with endpoints,
    // models, operations and calls; the workload depends on them; not another project's.
    let services = bom["services"].as_array().expect("services");
    assert_eq!(services.len(), 2, "{:#}", bom["services"]);
    let openai = services.iter().find(|s| s["name"] == "openai").unwrap();
    assert_eq!(openai["provider"]["name"], "openai");
    assert_eq!(openai["group"], "api.openai.com");
    assert_eq!(
        openai["endpoints"],
        serde_json::json!([
            "https://api.openai.com:443/v1/chat/completions",
            "https://api.openai.com:443/v1/embeddings"
        ])
    );
    let p = |name: String| props(openai, &name);
    assert_eq!(
        p(aibom_bom::prop::api_model()),
        ["gpt-4o-mini", "text-embedding-3-small"]
    );
    assert_eq!(p(aibom_bom::prop::api_operation()), ["chat", "embeddings"]);
    assert_eq!(p(aibom_bom::prop::api_calls()), ["10"], "2 + 1 + 4 + 3");
    assert_eq!(p(aibom_bom::prop::api_provider()), [api_provider::OPENAI]);
    assert_eq!(p(aibom_bom::prop::api_seen_by()), [api_seen_by::UPROBE]);
    assert_eq!(p(aibom_bom::prop::process()), ["python3[102]"]);
    let ollama = services.iter().find(|s| s["name"] == "ollama").unwrap();
    assert_eq!(
        ollama["endpoints"],
        serde_json::json!(["http://127.0.0.1:11434/api/chat"]),
        "seen over plain HTTP"
    );
    assert!(ollama.get("provider").is_none(), "a local server: {ollama}");
    let deps = bom["dependencies"][0]["dependsOn"].as_array().unwrap();
    for s in services {
        assert!(deps.contains(&s["bom-ref"]), "workload -> {}", s["bom-ref"]);
    }
    assert!(!text.contains("anthropic"), "another project's API");

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
    let comment = ai[0]["comment"].as_str().unwrap();
    assert!(
        comment.contains("ran with accelerators nvidia/gpu/0"),
        "{comment}"
    );
    let graph = doc["@graph"].as_array().unwrap();
    let dataset = graph
        .iter()
        .find(|e| e["type"] == "dataset_DatasetPackage")
        .unwrap();
    let ai_pkg = &ai[0]["spdxId"];
    assert!(
        graph
            .iter()
            .filter(|e| e["type"] == "Annotation")
            .all(|e| e["subject"] != *ai_pkg),
        "the model broke no rule"
    );
    let dataset_notes: Vec<&str> = graph
        .iter()
        .filter(|e| e["type"] == "Annotation" && e["subject"] == dataset["spdxId"])
        .map(|e| e["statement"].as_str().unwrap())
        .collect();
    assert_eq!(
        dataset_notes,
        [
            format!("{}: datasets-need-a-license", event::POLICY_VIOLATION),
            format!("{}: no-local-data", event::POLICY_VIOLATION),
        ]
    );
    // Each API called is a package (SPDX 3 has no service element), its facts annotations.
    let openai = graph
        .iter()
        .find(|e| e["type"] == "software_Package" && e["name"] == "openai")
        .expect("the OpenAI API as a package");
    assert_eq!(openai["software_primaryPurpose"], "other");
    let openai_notes: Vec<&str> = graph
        .iter()
        .filter(|e| e["type"] == "Annotation" && e["subject"] == openai["spdxId"])
        .map(|e| e["statement"].as_str().unwrap())
        .collect();
    for fact in [
        format!("{}: gpt-4o-mini", aibom_bom::prop::api_model()),
        format!("{}: text-embedding-3-small", aibom_bom::prop::api_model()),
        format!("{}: 10", aibom_bom::prop::api_calls()),
    ] {
        assert!(
            openai_notes.contains(&fact.as_str()),
            "{fact}: {openai_notes:?}"
        );
    }
    let supplier = graph
        .iter()
        .find(|e| e["spdxId"] == openai["suppliedBy"])
        .expect("supplier");
    assert_eq!(supplier["type"], "Organization");
    assert_eq!(supplier["name"], "openai");

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

/// The parts of a sharded model (as aibomd exports them: each with the whole's id, its index,
/// the count and the listing) and a chat template read from inside a GGUF (an `identified`
/// record on the GGUF's path with `aibom.artifact.embedded`): the summary and the AI-BOM show
/// the model as one artifact listing its parts, and the template as its own, without mixing
/// its type or hash into the GGUF's.
#[test]
fn parts_are_one_artifact_and_embedded_templates_their_own_in_summary_and_bom() {
    let Some((ch, base)) = migrated() else {
        return;
    };
    let whole = "file:///m/tiny#model.safetensors";
    let shas = ["a1", "a2", "a3"].map(|s| s.repeat(32));
    let row = |t: i64, extra: &[(&str, &str)]| {
        let mut a = vec![
            (attr::PROJECT_ID, "proj-w"),
            (attr::ACCESS_MODE, "read"),
            (attr::ACCESS_COUNT, "1"),
            (attr::PROCESS_PID, "100"),
            (attr::PROCESS_EXECUTABLE_NAME, "python3"),
            (attr::TRACER, "ebpf"),
            (attr::ARTIFACT_PROVIDER, "local"),
        ];
        a.extend_from_slice(extra);
        log_row(base + t * S, &a, &[])
    };
    let paths: Vec<String> = (1..=3)
        .map(|i| format!("/m/tiny/model-0000{i}-of-00003.safetensors"))
        .collect();
    let idx: Vec<String> = (1..=3).map(|i| i.to_string()).collect();
    let mut rows: Vec<Value> = (0..3)
        .map(|i| {
            row(
                i as i64 + 1,
                &[
                    (attr::FILE_PATH, &paths[i]),
                    (attr::ARTIFACT_TYPE, "model"),
                    (attr::ARTIFACT_ROLE, "weights"),
                    (attr::ARTIFACT_FORMAT, "safetensors"),
                    (attr::ARTIFACT_NAME, "tiny"),
                    (attr::ARTIFACT_SHA256, &shas[i]),
                    (attr::FILE_SIZE, "100"),
                    (attr::ARTIFACT_WHOLE_ID, whole),
                    (attr::ARTIFACT_PART_INDEX, &idx[i]),
                    (attr::ARTIFACT_PART_COUNT, "3"),
                    (attr::ARTIFACT_WHOLE_FILES, "3"),
                    (attr::ARTIFACT_WHOLE_BYTES, "300"),
                    (attr::ARTIFACT_WHOLE_SHA256, &"d".repeat(64)),
                ],
            )
        })
        .collect();
    let gguf_sha = "b".repeat(64);
    let tpl_sha = "c".repeat(64);
    let gguf = [
        (attr::FILE_PATH, "/m/chatty.gguf"),
        (attr::ARTIFACT_TYPE, "model"),
        (attr::ARTIFACT_FORMAT, "gguf"),
        (attr::ARTIFACT_NAME, "chatty"),
        (attr::ARTIFACT_SHA256, gguf_sha.as_str()),
    ];
    rows.push(row(5, &gguf));
    let mut tpl = row(
        6,
        &[
            (record::EVENT_NAME, event::ARTIFACT_IDENTIFIED),
            (attr::FILE_PATH, "/m/chatty.gguf"),
            (attr::ARTIFACT_TYPE, "prompt"),
            (attr::ARTIFACT_ROLE, "template"),
            (attr::ARTIFACT_FORMAT, "jinja"),
            (attr::ARTIFACT_NAME, "chatty"),
            (attr::ARTIFACT_SHA256, tpl_sha.as_str()),
            (attr::ARTIFACT_EMBEDDED, "tokenizer.chat_template"),
            (attr::ARTIFACT_WHOLE_ID, "file:///m/chatty.gguf"),
        ],
    );
    tpl["EventName"] = event::ARTIFACT_IDENTIFIED.into();
    rows.push(tpl);
    ch.insert_logs(&rows, false);
    let sc = Sidecar::start(&ch, &[]);

    let r = call(
        "GET",
        &format!("{}/projects/proj-w/runtime/summary", sc.base),
        Some(TOKEN),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let arts = r.json["artifacts"].as_array().unwrap();
    assert_eq!(
        arts.len(),
        3,
        "the model, the GGUF, its template: {:#}",
        r.json
    );
    let m = arts.iter().find(|a| a["key"] == whole).unwrap();
    assert_eq!(m[attr::FILE_PATH].as_array().unwrap().len(), 3, "{m:#}");
    assert_eq!(m[attr::ARTIFACT_PART_COUNT], 3);
    assert_eq!(m[attr::ARTIFACT_WHOLE_FILES], 3);
    assert_eq!(m[attr::ARTIFACT_WHOLE_BYTES], 300);
    let g = arts.iter().find(|a| a["key"] == gguf_sha.as_str()).unwrap();
    assert_eq!(g[attr::ARTIFACT_TYPE], "model", "{g:#}");
    assert_eq!(g[attr::ARTIFACT_SHA256], serde_json::json!([gguf_sha]));
    let t = arts.iter().find(|a| a["key"] == tpl_sha.as_str()).unwrap();
    assert_eq!(t[attr::ARTIFACT_TYPE], "prompt", "{t:#}");

    let (status, _, text) = get(&sc, "proj-w", "", Some(TOKEN));
    assert_eq!(status, 200, "{text}");
    validate("cyclonedx", &text);
    let bom: Value = serde_json::from_str(&text).unwrap();
    let comps = bom["components"].as_array().unwrap();
    let whole_prop = aibom_bom::prop::name(attr::ARTIFACT_WHOLE_ID);
    let m: Vec<_> = comps
        .iter()
        .filter(|c| props(c, &whole_prop) == [whole])
        .collect();
    assert_eq!(m.len(), 1, "{bom:#}");
    let parts = m[0]["components"].as_array().unwrap();
    assert_eq!(parts.len(), 3, "{:#}", m[0]);
    for (p, sha) in parts.iter().zip(&shas) {
        assert_eq!(p["hashes"][0]["content"], sha.as_str(), "{p:#}");
    }
    let embedded = aibom_bom::prop::name(attr::ARTIFACT_EMBEDDED);
    let t: Vec<_> = comps
        .iter()
        .filter(|c| props(c, &embedded) == ["tokenizer.chat_template"])
        .collect();
    assert_eq!(t.len(), 1, "{bom:#}");
    assert_eq!(t[0]["hashes"][0]["content"], tpl_sha.as_str());
    let g = comps
        .iter()
        .find(|c| c["name"] == "chatty" && c["type"] == "machine-learning-model")
        .unwrap();
    assert_eq!(g["hashes"][0]["content"], gguf_sha.as_str(), "{g:#}");
}

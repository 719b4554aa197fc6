//! Many files, one artifact, and chat templates: the real `aibomd` traces a real process
//! loading a 3-shard safetensors model (with its index), a GGUF split in 3, a 5-shard
//! parquet dataset and WebDataset tar shards, and reading chat templates from a GGUF header
//! and a `tokenizer_config.json`. Fixtures are written by the real libraries
//! (`tests/shards/make.py`: huggingface_hub, safetensors, gguf, pyarrow, tarfile). Each
//! whole must show as one artifact with the right part count and bytes in the JSON Lines
//! records, the `aibomd run` table and the BOM (validated); a changed template must show
//! a new sha256 while the weights keep theirs; no template text may leave. Tracing needs
//! root; under `CI=true` these tests fail instead of skipping.
mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use aibom_semconv::{artifact_role, artifact_type, event, hash_source, tracer};
use common::*;
use serde_json::Value;

const MAKE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/shards/make.py");
const LOAD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/shards/load.py");
/// The template: its text must appear in no output.
const TEMPLATE: &str =
    "{% for m in messages %}<|{{ m.role }}|>SECRET-TEMPLATE-TEXT{{ m.content }}{% endfor %}";

macro_rules! need_root {
    () => {
        if !kernel_tests_possible(module_path!()) {
            return;
        }
    };
}

fn sha256_of(p: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(p).unwrap()))
}

/// Writes the fixtures under `root` with `template`; returns the template's sha256.
fn make(root: &Path, template: &str) -> String {
    let out = succeed(Command::new(python()).args([MAKE, root.to_str().unwrap(), template]));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["template_sha256"].as_str().unwrap().to_string()
}

/// `aibomd run --bom BOM [--bom-format F]` of the loader.
fn run(dir: &Path, root: &Path, format: Option<&str>) -> (Traced, PathBuf) {
    let bom = dir.join(format!("bom-{}.json", format.unwrap_or("cdx")));
    let mut extra = vec!["--bom", bom.to_str().unwrap()];
    if let Some(f) = format {
        extra.extend(["--bom-format", f]);
    }
    let py = python();
    let t = run_traced(
        dir,
        tracer::EBPF,
        &extra,
        &[&py, LOAD, root.to_str().unwrap()],
    );
    assert!(t.out.status.success(), "{}", t.stderr());
    (t, bom)
}

fn validate(kind: &str, file: &Path) {
    validate_bom(kind, file)
}

/// The files of `dir` whose names end with `suffix`, sorted.
fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_str().unwrap().ends_with(suffix))
        .collect();
    v.sort();
    v
}

/// Checks the access records of `parts` (sorted) carry one whole: the same id, their own
/// sha256, the index their name gives, the count, and the listing's files and bytes.
fn assert_one_whole(t: &Traced, parts: &[PathBuf], first_index: i64, whole_id: &str) {
    let bytes: u64 = parts.iter().map(|p| p.metadata().unwrap().len()).sum();
    let mut digests = BTreeSet::new();
    for (n, p) in parts.iter().enumerate() {
        let e = t.one(p.to_str().unwrap());
        assert_eq!(s(e, attr::ARTIFACT_WHOLE_ID), whole_id, "{e:#}");
        assert_eq!(
            i(e, attr::ARTIFACT_PART_INDEX),
            first_index + n as i64,
            "{e:#}"
        );
        assert_eq!(i(e, attr::ARTIFACT_PART_COUNT), parts.len() as i64, "{e:#}");
        assert_eq!(
            i(e, attr::ARTIFACT_WHOLE_FILES),
            parts.len() as i64,
            "{e:#}"
        );
        assert_eq!(i(e, attr::ARTIFACT_WHOLE_BYTES), bytes as i64, "{e:#}");
        assert_eq!(i(e, attr::ARTIFACT_WHOLE_SKIPPED), 0, "{e:#}");
        // its own sha256: on the access record when the hash was done before it left,
        // else on the `identified` record that follows it
        let path = p.to_str().unwrap();
        let hashes: BTreeSet<&str> = t
            .events
            .iter()
            .filter(|x| x[attr::FILE_PATH] == path)
            .filter_map(|x| x[attr::ARTIFACT_SHA256].as_str())
            .collect();
        assert_eq!(hashes, BTreeSet::from([sha256_of(p).as_str()]), "{e:#}");
        digests.insert(s(e, attr::ARTIFACT_WHOLE_SHA256).to_string());
    }
    assert_eq!(
        digests.len(),
        1,
        "one set digest for {whole_id}: {digests:?}"
    );
}

/// The `identified` records of chat templates.
fn templates(t: &Traced) -> Vec<&Value> {
    t.events
        .iter()
        .filter(|e| e[aibom_semconv::record::EVENT_NAME] == event::ARTIFACT_IDENTIFIED)
        .filter(|e| e.get(attr::ARTIFACT_EMBEDDED).is_some())
        .collect()
}

fn template<'a>(t: &'a Traced, key: &str) -> &'a Value {
    let all = templates(t);
    let m: Vec<_> = all
        .iter()
        .filter(|e| e[attr::ARTIFACT_EMBEDDED] == key)
        .collect();
    assert_eq!(m.len(), 1, "one {key} template record: {all:#?}");
    m[0]
}

fn prop<'a>(c: &'a Value, name: &str) -> Option<&'a str> {
    c["properties"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["value"].as_str())
}

#[test]
fn sharded_models_and_datasets_are_one_artifact_in_records_table_and_bom() {
    need_root!();
    let (_g, dir) = tempdir();
    let root = dir.join("root");
    make(&root, TEMPLATE);
    let (t, bom_path) = run(&dir, &root, None);

    // records: each part carries its whole
    let model = root.join("tiny-sharded");
    let shards = files(&model, ".safetensors");
    assert_eq!(shards.len(), 3);
    let model_id = format!("file://{}#model.safetensors", model.display());
    assert_one_whole(&t, &shards, 1, &model_id);
    let index = t.one("/model.safetensors.index.json");
    assert_eq!(s(index, attr::ARTIFACT_WHOLE_ID), model_id, "{index:#}");
    assert!(index.get(attr::ARTIFACT_PART_INDEX).is_none(), "{index:#}");
    let splits = files(&root.join("gguf-split"), ".gguf");
    let split_id = format!("file://{}/gguf-split#tiny-split.gguf", root.display());
    assert_one_whole(&t, &splits, 1, &split_id);
    for p in &splits {
        assert_eq!(
            s(t.one(p.to_str().unwrap()), attr::ARTIFACT_NAME),
            "tiny-split"
        );
    }
    let data = root.join("corpus/data");
    let parquet = files(&data, ".parquet");
    assert_eq!(parquet.len(), 5);
    let data_id = format!("file://{}#train.parquet", data.display());
    assert_one_whole(&t, &parquet, 0, &data_id);
    for p in &parquet {
        let e = t.one(p.to_str().unwrap());
        assert_eq!(s(e, attr::ARTIFACT_TYPE), artifact_type::DATASET);
        assert_eq!(s(e, attr::ARTIFACT_NAME), "corpus");
    }
    let tars = files(&root.join("wds"), ".tar");
    let tar_id = format!("file://{}/wds#shard-*.tar", root.display());
    assert_one_whole(&t, &tars, 0, &tar_id);
    for p in &tars {
        let e = t.one(p.to_str().unwrap());
        assert_eq!(s(e, attr::ARTIFACT_TYPE), artifact_type::DATASET);
        assert_eq!(s(e, attr::ARTIFACT_FORMAT), "tar");
    }

    // the table: one row per whole with its parts under it
    let err = t.stderr();
    for (id, n) in [(&model_id, 3), (&split_id, 3), (&data_id, 5), (&tar_id, 3)] {
        let line = format!("{id} ({n} of {n} numbered part(s) accessed; {n} file(s)");
        assert!(err.contains(&line), "no `{line}` in\n{err}");
    }
    assert!(
        err.contains("part 3/3") && err.contains("part 4/5"),
        "{err}"
    );

    // the BOM: one component per whole, every part nested with its hash and size
    validate("cyclonedx", &bom_path);
    let bom: Value = serde_json::from_str(&std::fs::read_to_string(&bom_path).unwrap()).unwrap();
    let comps = bom["components"].as_array().unwrap();
    for (id, parts, kind) in [
        (&model_id, &shards, "machine-learning-model"),
        (&split_id, &splits, "machine-learning-model"),
        (&data_id, &parquet, "data"),
        (&tar_id, &tars, "data"),
    ] {
        let of: Vec<_> = comps
            .iter()
            .filter(|c| prop(c, &aibom_bom::prop::name(attr::ARTIFACT_WHOLE_ID)) == Some(id))
            .collect();
        assert_eq!(of.len(), 1, "one component for {id}: {bom:#}");
        let c = of[0];
        assert_eq!(c["type"], kind, "{c:#}");
        let bytes: u64 = parts.iter().map(|p| p.metadata().unwrap().len()).sum();
        let files_prop = aibom_bom::prop::name(attr::ARTIFACT_WHOLE_FILES);
        assert_eq!(prop(c, &files_prop), Some(parts.len().to_string().as_str()));
        let bytes_prop = aibom_bom::prop::name(attr::ARTIFACT_WHOLE_BYTES);
        assert_eq!(prop(c, &bytes_prop), Some(bytes.to_string().as_str()));
        let nested: Vec<_> = c["components"].as_array().unwrap().iter().collect();
        for p in parts.iter() {
            let name = p.file_name().unwrap().to_str().unwrap();
            let n = nested
                .iter()
                .find(|n| n["name"] == name)
                .unwrap_or_else(|| panic!("no part {name} in {c:#}"));
            assert_eq!(n["hashes"][0]["content"], sha256_of(p).as_str(), "{n:#}");
            let size = aibom_bom::prop::name(attr::FILE_SIZE);
            let len = p.metadata().unwrap().len().to_string();
            assert_eq!(prop(n, &size), Some(len.as_str()), "{n:#}");
        }
    }

    // SPDX: one package per whole containing its part files
    let (t2, spdx_path) = run(&dir, &root, Some("spdx3-json"));
    assert!(t2.out.status.success());
    validate("spdx3", &spdx_path);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&spdx_path).unwrap()).unwrap();
    let graph = doc["@graph"].as_array().unwrap();
    let statement = format!(
        "{}: {data_id}",
        aibom_bom::prop::name(attr::ARTIFACT_WHOLE_ID)
    );
    let pkg = &graph
        .iter()
        .find(|e| e["type"] == "Annotation" && e["statement"] == statement.as_str())
        .unwrap_or_else(|| panic!("no annotation `{statement}`: {doc:#}"))["subject"];
    let contains = graph
        .iter()
        .find(|e| {
            e["type"] == "Relationship" && &e["from"] == pkg && e["relationshipType"] == "contains"
        })
        .unwrap_or_else(|| panic!("no contains relationship: {doc:#}"));
    assert_eq!(contains["to"].as_array().unwrap().len(), 5, "{contains:#}");
}

#[test]
fn a_changed_chat_template_is_a_new_version_with_unchanged_weights() {
    need_root!();
    let (_g, dir) = tempdir();
    let root = dir.join("root");
    let sha1 = make(&root, TEMPLATE);
    let (t1, bom1) = run(&dir, &root, None);
    let gguf = root.join("chatty.gguf");
    let cfg = root.join("tiny-sharded/tokenizer_config.json");

    for (t, key, name, link) in [
        (
            &t1,
            "tokenizer.chat_template",
            "chatty",
            format!("file://{}", gguf.display()),
        ),
        (
            &t1,
            "chat_template",
            "tiny-sharded",
            format!("file://{}", root.join("tiny-sharded").display()),
        ),
    ] {
        let e = template(t, key);
        assert_eq!(s(e, attr::ARTIFACT_TYPE), artifact_type::PROMPT, "{e:#}");
        assert_eq!(s(e, attr::ARTIFACT_ROLE), artifact_role::TEMPLATE, "{e:#}");
        assert_eq!(s(e, attr::ARTIFACT_SHA256), sha1, "{e:#}");
        assert_eq!(
            s(e, attr::ARTIFACT_SHA256_SOURCE),
            hash_source::EMBEDDED_TEXT
        );
        assert_eq!(s(e, attr::ARTIFACT_NAME), name, "{e:#}");
        assert_eq!(s(e, attr::ARTIFACT_WHOLE_ID), link, "{e:#}");
    }
    let gguf_sha = s(t1.one("/chatty.gguf"), attr::ARTIFACT_SHA256).to_string();
    assert_eq!(gguf_sha, sha256_of(&gguf));
    let shard = root.join("tiny-sharded/model-00001-of-00003.safetensors");
    let weights_sha = sha256_of(&shard);

    // the template changes, nothing else: same weights, new template versions
    let changed = TEMPLATE.replace("<|", "<<|");
    let sha2 = make(&root, &changed);
    assert_ne!(sha1, sha2);
    assert_eq!(
        sha256_of(&shard),
        weights_sha,
        "the fixture keeps the weights"
    );
    let (t2, bom2) = run(&dir, &root, None);
    for key in ["tokenizer.chat_template", "chat_template"] {
        assert_eq!(s(template(&t2, key), attr::ARTIFACT_SHA256), sha2);
    }
    let e = t2.one(shard.to_str().unwrap());
    assert_eq!(s(e, attr::ARTIFACT_SHA256), weights_sha);
    let cfg_sha = s(t2.one(cfg.to_str().unwrap()), attr::ARTIFACT_SHA256);
    assert_eq!(cfg_sha, sha256_of(&cfg));

    // the BOM shows the template as its own component, with its new hash
    let bom: Value = serde_json::from_str(&std::fs::read_to_string(&bom2).unwrap()).unwrap();
    let embedded = aibom_bom::prop::name(attr::ARTIFACT_EMBEDDED);
    let tpl: Vec<_> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| prop(c, &embedded).is_some())
        .collect();
    assert_eq!(tpl.len(), 2, "{bom:#}");
    for c in &tpl {
        assert_eq!(c["hashes"][0]["content"], sha2.as_str(), "{c:#}");
    }
    validate("cyclonedx", &bom2);

    // no output holds the template's text
    for f in [bom1, bom2] {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(!text.contains("SECRET-TEMPLATE-TEXT"));
    }
    for t in [&t1, &t2] {
        assert!(!t.stderr().contains("SECRET-TEMPLATE-TEXT"));
        assert!(!t
            .events
            .iter()
            .any(|e| e.to_string().contains("SECRET-TEMPLATE-TEXT")));
    }
}

//! Model stores: the real `aibomd` binary traces a real process loading a model from a
//! store the way the store's runtime does. Fixtures are written by the real libraries
//! (`gguf`), store files as the runtime writes them. They need root; under `CI=true` they
//! fail instead of skipping.
mod common;

use std::path::Path;
use std::process::Command;

use aibom_semconv::{artifact_role, artifact_type, hash_source, license_source, provider, tracer};
use common::*;

macro_rules! need_root {
    () => {
        if !kernel_tests_possible(module_path!()) {
            return;
        }
    };
}

/// Writes an Ollama store under `root` as `ollama pull`/`ollama create` leave it: a GGUF
/// made by `gguf`, an MIT license, a template and a system prompt as `blobs/sha256-HEX`,
/// the config blob, and the manifest `manifests/registry.ollama.ai/library/tinyllm/latest`
/// listing them by digest. Prints the model blob's digest.
const MAKE_OLLAMA_STORE: &str = r#"
import hashlib, json, os, sys
import numpy as np
import gguf

root = sys.argv[1]
blobs = os.path.join(root, "blobs")
os.makedirs(blobs, exist_ok=True)

def blob(data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, "sha256-" + digest), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}

tmp = os.path.join(root, "tinyllm.gguf.tmp")
w = gguf.GGUFWriter(tmp, "llama")
w.add_name("tinyllm")
w.add_context_length(128)
w.add_tensor("w", np.zeros((8, 8), np.float32))
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
with open(tmp, "rb") as f:
    model = f.read()
os.remove(tmp)

MIT = """MIT License

Copyright (c) 2026 tinyllm authors

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.
"""
layers = []
for media, data in [
    ("model", model),
    ("license", MIT.encode()),
    ("template", b"{{ if .System }}<|system|>{{ .System }}{{ end }}<|user|>{{ .Prompt }}<|assistant|>"),
    ("system", b"You are a terse assistant."),
]:
    layers.append(dict(mediaType="application/vnd.ollama.image." + media, **blob(data)))
config = blob(json.dumps({
    "model_format": "gguf", "model_family": "llama", "model_families": ["llama"],
    "model_type": "1M", "file_type": "F32", "architecture": "amd64", "os": "linux",
    "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]},
}).encode())
manifest = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": dict(mediaType="application/vnd.docker.container.image.v1+json", **config),
    "layers": layers,
}
mdir = os.path.join(root, "manifests", "registry.ollama.ai", "library", "tinyllm")
os.makedirs(mdir, exist_ok=True)
with open(os.path.join(mdir, "latest"), "w") as f:
    json.dump(manifest, f)
print(layers[0]["digest"].split(":")[1])
"#;

/// Resolves `tinyllm:latest` as Ollama does (manifest from `$OLLAMA_MODELS`, then each
/// layer's blob), mmaps the weights and reads the other layers; then opens suffix-less
/// files that are not store blobs.
const LOAD_LIKE_OLLAMA: &str = r#"
import json, mmap, os
root = os.environ["OLLAMA_MODELS"]
with open(os.path.join(root, "manifests/registry.ollama.ai/library/tinyllm/latest")) as f:
    manifest = json.load(f)
for layer in manifest["layers"]:
    path = os.path.join(root, "blobs", layer["digest"].replace(":", "-"))
    with open(path, "rb") as f:
        if layer["mediaType"].endswith(".model"):
            m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
            assert m[:4] == b"GGUF"
        else:
            f.read()
for other in ["weights", "not-blobs/sha256-" + "a" * 64]:
    open(other, "rb").read()
"#;

fn sha256_of(p: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(p).unwrap()))
}

#[test]
fn an_ollama_model_loaded_through_its_manifest_is_named_hashed_and_typed() {
    need_root!();
    let (_g, dir) = tempdir();
    let store = dir.join("ollama-models");
    let py = python();
    let made = Command::new(&py)
        .args(["-c", MAKE_OLLAMA_STORE, store.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let digest = String::from_utf8_lossy(&made.stdout).trim().to_string();
    let blob = store.join("blobs").join(format!("sha256-{digest}"));
    assert_eq!(
        sha256_of(&blob),
        digest,
        "the fixture names blobs by digest"
    );
    // suffix-less files that are not store blobs, with a model's bytes
    std::fs::copy(&blob, dir.join("weights")).unwrap();
    std::fs::create_dir_all(dir.join("not-blobs")).unwrap();
    std::fs::copy(
        &blob,
        dir.join("not-blobs")
            .join(format!("sha256-{}", "a".repeat(64))),
    )
    .unwrap();

    let models = format!("OLLAMA_MODELS={}", store.to_str().unwrap());
    let t = run_traced(
        &dir,
        tracer::EBPF,
        &[],
        &["env", &models, &py, "-c", LOAD_LIKE_OLLAMA],
    );
    assert!(t.out.status.success(), "{}", t.stderr());

    let e = t.one(&format!("/blobs/sha256-{digest}"));
    assert_eq!(s(e, attr::ARTIFACT_PROVIDER), provider::OLLAMA, "{e:#}");
    assert_eq!(s(e, attr::ARTIFACT_NAME), "tinyllm:latest");
    assert_eq!(
        s(e, attr::ARTIFACT_ID),
        "pkg:generic/ollama/registry.ollama.ai/library/tinyllm@latest"
    );
    assert_eq!(s(e, attr::ARTIFACT_REVISION), "latest");
    assert_eq!(s(e, attr::ARTIFACT_TYPE), artifact_type::MODEL);
    assert_eq!(s(e, attr::ARTIFACT_ROLE), artifact_role::WEIGHTS);
    assert_eq!(s(e, attr::ARTIFACT_FORMAT), "gguf");
    assert_eq!(s(e, attr::ARTIFACT_SHA256), sha256_of(&blob));
    assert_eq!(
        s(e, attr::ARTIFACT_SHA256_SOURCE),
        hash_source::OLLAMA_DIGEST
    );
    assert_eq!(s(e, attr::ARTIFACT_LICENSE), "MIT");
    assert_eq!(
        s(e, attr::ARTIFACT_LICENSE_SOURCE),
        license_source::OLLAMA_LICENSE
    );

    // the other layers are artifacts of the same model, typed by the manifest
    let layers: Vec<_> = t
        .for_file("")
        .into_iter()
        .filter(|e| s(e, attr::FILE_PATH).contains("/blobs/sha256-"))
        .collect();
    let by_role = |r: &str| {
        layers
            .iter()
            .find(|e| e[attr::ARTIFACT_ROLE] == r)
            .unwrap_or_else(|| panic!("no {r} layer in {layers:#?}"))
    };
    let lic = by_role(artifact_role::LICENSE);
    assert_eq!(s(lic, attr::ARTIFACT_LICENSE), "MIT");
    assert_eq!(s(lic, attr::ARTIFACT_NAME), "tinyllm:latest");
    assert_eq!(s(lic, attr::ARTIFACT_TYPE), artifact_type::MODEL);
    let tpl = by_role(artifact_role::TEMPLATE);
    assert_eq!(s(tpl, attr::ARTIFACT_TYPE), artifact_type::PROMPT);
    assert_eq!(s(tpl, attr::ARTIFACT_PROVIDER), provider::OLLAMA);
    let sys = by_role(artifact_role::SYSTEM);
    assert_eq!(s(sys, attr::ARTIFACT_TYPE), artifact_type::PROMPT);
    for l in &layers {
        let file = Path::new(s(l, attr::FILE_PATH));
        assert_eq!(s(l, attr::ARTIFACT_SHA256), sha256_of(file), "{l:#}");
    }
    assert_eq!(layers.len(), 4, "{layers:#?}");

    // suffix-less files outside a store layout stay filtered out in the kernel; so do
    // the manifests (their blobs carry the identity)
    assert!(t.for_file("/weights").is_empty(), "{:#?}", t.events);
    assert!(t.for_file(&"a".repeat(64)).is_empty(), "{:#?}", t.events);
    assert!(t.for_file("/latest").is_empty(), "{:#?}", t.events);
    // and the table names the model
    assert!(t.stderr().contains("tinyllm:latest"), "{}", t.stderr());
}

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

/// The `identified` event (it carries the computed sha256) of the file at `path`.
fn identified<'a>(t: &'a Traced, path: &Path) -> &'a serde_json::Value {
    t.events
        .iter()
        .find(|e| {
            e[record::EVENT_NAME] == aibom_semconv::event::ARTIFACT_IDENTIFIED
                && e[attr::ACCESS_ABSOLUTE_PATH].as_str() == path.to_str()
        })
        .unwrap_or_else(|| panic!("no identified event for {path:?}: {:#?}", t.events))
}

/// Runs the fixture writer `script` with `args` in the test Python; its stdout.
fn make(script: &str, args: &[&Path]) -> String {
    let made = Command::new(python())
        .args(["-c", script])
        .args(args)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    String::from_utf8(made.stdout).unwrap()
}

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
    let digest = make(MAKE_OLLAMA_STORE, &[&store]).trim().to_string();
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

/// Writes one model into each store layout under the home `argv[1]` (and a NIM cache at
/// `argv[2]`) as the store's runtime leaves it, with the real libraries: GGUFs by `gguf`
/// (LM Studio's current and older folders, llama.cpp with its `manifest=ORG=REPO=TAG.json`),
/// a ModelScope dataset by `pyarrow`, safetensors by
/// `safetensors` (ModelScope with its `___` for `.`, a suffix-less KaggleHub file and the
/// same outside any store, NIM's NGC snapshot), PyTorch Hub checkpoints in torch's zip layout (`zipfile` + `pickle`),
/// named `NAME-<sha256 prefix>.pth` — one with the right prefix, one with a wrong one.
/// Prints `path<TAB>key` per file.
const MAKE_STORES: &str = r#"
import collections, hashlib, io, json, os, pickle, shutil, sys, zipfile
import numpy as np
import gguf
from safetensors.numpy import save_file

home, nim = sys.argv[1], sys.argv[2]

def put(key, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    print(path + "\t" + key)
    return path

def make_gguf(path, name):
    w = gguf.GGUFWriter(path, "llama")
    w.add_name(name)
    w.add_context_length(64)
    w.add_tensor("w", np.ones((4, 4), np.float32))
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()

def torch_zip(state):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickle.dumps(state, protocol=2))
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/data/0", np.arange(8, dtype=np.float32).tobytes())
        z.writestr("archive/version", "3\n")
    return buf.getvalue()

make_gguf(put("lmstudio", f"{home}/.lmstudio/models/lmstudio-community/TinyLLM-GGUF/tinyllm-Q8_0.gguf"), "tinyllm")

make_gguf(put("lmstudio_old", f"{home}/.cache/lm-studio/models/TheBloke/Old-GGUF/old.Q4_0.gguf"), "old")
import pyarrow as pa, pyarrow.parquet as pq
pq.write_table(pa.table({"text": ["a", "b"]}),
               put("modelscope_ds", f"{home}/.cache/modelscope/hub/datasets/ann/tiny-set/train.parquet"))

cache = f"{home}/.cache/llama.cpp"
make_gguf(put("llama_cpp", f"{cache}/ggml-org_tiny-GGUF_tiny-Q8_0.gguf"), "tiny")
with open(f"{cache}/manifest=ggml-org=tiny-GGUF=latest.json", "w") as f:
    json.dump({"ggufFile": {"rfilename": "tiny-Q8_0.gguf", "size": 1}}, f)
with open(f"{cache}/ggml-org_tiny-GGUF_tiny-Q8_0.gguf.etag", "w") as f:
    f.write('"0123"')

save_file({"w": np.zeros((4, 4), np.float32)},
          put("modelscope", f"{home}/.cache/modelscope/hub/models/Qwen/Tiny2___5-Chat/model.safetensors"))
save_file({"w": np.full((4, 4), 2, np.float32)},
          put("kagglehub", f"{home}/.cache/kagglehub/models/google/tinygemma/flax/2b/3/checkpoint"))
save_file({"w": np.full((4, 4), 2, np.float32)}, put("plain", f"{home}/work/checkpoint"))
save_file({"w": np.full((4, 4), 3, np.float32)},
          put("nim", f"{nim}/ngc/hub/models--nim--meta--tiny-instruct/snapshots/1.2/model.safetensors"))

hub = f"{home}/.cache/torch/hub/checkpoints"
os.makedirs(hub, exist_ok=True)
good = torch_zip(collections.OrderedDict(fc=[1.0, 2.0]))
prefix = hashlib.sha256(good).hexdigest()[:8]
with open(put("torch_good", f"{hub}/tinynet-{prefix}.pth"), "wb") as f:
    f.write(good)
bad = torch_zip(collections.OrderedDict(fc=[3.0, 4.0]))
wrong = "0badc0de" if not hashlib.sha256(bad).hexdigest().startswith("0badc0de") else "1badc0de"
with open(put("torch_bad", f"{hub}/badnet-{wrong}.pth"), "wb") as f:
    f.write(bad)
"#;

/// Opens each file listed in `argv[1]` as the runtimes do (mmap for GGUF, read otherwise).
const LOAD_STORES: &str = r#"
import mmap, sys
for line in open(sys.argv[1]).read().splitlines():
    path = line.split("\t")[0]
    with open(path, "rb") as f:
        if path.endswith(".gguf"):
            m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
            assert m[:4] == b"GGUF"
        else:
            f.read()
"#;

#[test]
fn models_in_each_store_of_a_users_home_are_named_hashed_and_checked() {
    need_root!();
    use std::os::unix::fs::PermissionsExt;
    let (_g, dir) = tempdir();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let home = dir.join("home").join("ann");
    let nim = dir.join("nim-cache");
    let listing = make(MAKE_STORES, &[&home, &nim]);
    let list = dir.join("files.tsv");
    std::fs::write(&list, &listing).unwrap();
    let files: std::collections::HashMap<&str, &str> = listing
        .lines()
        .map(|l| {
            let (p, k) = l.split_once('\t').unwrap();
            (k, p)
        })
        .collect();
    // the home belongs to an unprivileged user, who runs the app
    let chown = Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(dir.join("home"))
        .arg(&nim)
        .status()
        .unwrap();
    assert!(chown.success());

    let bom = dir.join("stores.cdx.json");
    let t = run_traced(
        &dir,
        tracer::EBPF,
        &["--bom", bom.to_str().unwrap()],
        &[
            "env",
            &format!("HOME={}", home.display()),
            &format!("NIM_CACHE_PATH={}", nim.display()),
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
            LOAD_STORES,
            list.to_str().unwrap(),
        ],
    );
    assert!(t.out.status.success(), "{}", t.stderr());

    // (store, provider, name, id, format)
    let want = [
        (
            "lmstudio_old",
            provider::LMSTUDIO,
            "TheBloke/Old-GGUF",
            "pkg:generic/lmstudio/models/TheBloke/Old-GGUF",
            "gguf",
        ),
        (
            "modelscope_ds",
            provider::MODELSCOPE,
            "ann/tiny-set",
            "pkg:generic/modelscope/modelscope.cn/datasets/ann/tiny-set",
            "parquet",
        ),
        (
            "lmstudio",
            provider::LMSTUDIO,
            "lmstudio-community/TinyLLM-GGUF",
            "pkg:generic/lmstudio/models/lmstudio-community/TinyLLM-GGUF",
            "gguf",
        ),
        (
            "llama_cpp",
            provider::LLAMA_CPP,
            "ggml-org/tiny-GGUF",
            "pkg:huggingface/ggml-org/tiny-GGUF",
            "gguf",
        ),
        (
            "modelscope",
            provider::MODELSCOPE,
            "Qwen/Tiny2.5-Chat",
            "pkg:generic/modelscope/modelscope.cn/Qwen/Tiny2.5-Chat",
            "safetensors",
        ),
        (
            "kagglehub",
            provider::GOOGLE,
            "google/tinygemma/flax/2b",
            "pkg:generic/google/kaggle/google/tinygemma/flax/2b@3",
            "safetensors",
        ),
        (
            "nim",
            provider::NVIDIA,
            "nim/meta/tiny-instruct",
            "pkg:generic/nvidia/ngc/nim/meta/tiny-instruct@1.2",
            "safetensors",
        ),
    ];
    for (key, prov, name, id, format) in want {
        let path = Path::new(files[key]);
        let e = t.one(path.to_str().unwrap());
        assert_eq!(s(e, attr::ARTIFACT_PROVIDER), prov, "{key}: {e:#}");
        assert_eq!(s(e, attr::ARTIFACT_NAME), name, "{key}");
        assert_eq!(s(e, attr::ARTIFACT_ID), id, "{key}");
        assert_eq!(s(e, attr::ARTIFACT_FORMAT), format, "{key}");
        let ty = if key == "modelscope_ds" {
            artifact_type::DATASET
        } else {
            artifact_type::MODEL
        };
        assert_eq!(s(e, attr::ARTIFACT_TYPE), ty, "{key}");
        assert_eq!(i(e, attr::PROCESS_UID), 65534, "{key}");
        let id = identified(&t, path);
        assert_eq!(s(id, attr::ARTIFACT_SHA256), sha256_of(path), "{key}");
        assert_eq!(s(id, attr::ARTIFACT_NAME), name, "{key}");
    }

    // PyTorch Hub: the name's prefix agrees with the content's sha256, and says so ...
    let good = Path::new(files["torch_good"]);
    let e = t.one(good.to_str().unwrap());
    let sha = sha256_of(good);
    assert_eq!(s(e, attr::ARTIFACT_PROVIDER), provider::PYTORCH, "{e:#}");
    assert_eq!(s(e, attr::ARTIFACT_NAME), "tinynet");
    assert_eq!(
        s(e, attr::ARTIFACT_ID),
        format!("pkg:generic/pytorch/hub/tinynet@{}", &sha[..8])
    );
    assert_eq!(s(e, attr::ARTIFACT_FORMAT), "pytorch");
    let e = identified(&t, good);
    assert_eq!(s(e, attr::ARTIFACT_SHA256), sha);
    assert_eq!(
        s(e, attr::ARTIFACT_SHA256_SOURCE),
        hash_source::TORCH_HUB_PREFIX
    );
    assert!(e.get(attr::ARTIFACT_SHA256_EXPECTED).is_none(), "{e:#}");
    // ... and one whose content was swapped after the download is visible
    let bad = Path::new(files["torch_bad"]);
    assert_eq!(
        s(t.one(bad.to_str().unwrap()), attr::ARTIFACT_NAME),
        "badnet"
    );
    let e = identified(&t, bad);
    let claimed = bad
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .rsplit_once('-')
        .unwrap()
        .1;
    assert_eq!(s(e, attr::ARTIFACT_SHA256), sha256_of(bad));
    assert!(!sha256_of(bad).starts_with(claimed));
    assert_eq!(s(e, attr::ARTIFACT_SHA256_EXPECTED), claimed, "{e:#}");
    assert_eq!(s(e, attr::ARTIFACT_SHA256_SOURCE), hash_source::COMPUTED);
    // the run's table and its AI-BOM say so too
    let mismatch = format!("HASH MISMATCH: its name or store claims sha256 {claimed}…");
    assert!(t.stderr().contains(&mismatch), "{}", t.stderr());
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bom).unwrap()).unwrap();
    let expected_prop = &aibom_bom::prop::name(attr::ARTIFACT_SHA256_EXPECTED);
    let claims: Vec<(&str, &str)> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| {
            c["properties"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["name"] == expected_prop.as_str())
                .map(|p| (c["name"].as_str().unwrap(), p["value"].as_str().unwrap()))
        })
        .collect();
    assert_eq!(
        claims,
        [("badnet", claimed)],
        "only the swapped file: {doc:#}"
    );

    // the same suffix-less file outside a store folder stays filtered out in the kernel
    assert!(files["plain"].ends_with("/work/checkpoint"));
    assert!(t.for_file("/work/checkpoint").is_empty(), "{:#?}", t.events);
    // the llama.cpp manifest and etag are read by aibomd, not reported
    assert!(t.for_file(".json").is_empty(), "{:#?}", t.events);
    assert!(t.for_file(".etag").is_empty(), "{:#?}", t.events);
}

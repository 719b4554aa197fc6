//! Ollama model stores: `ROOT/blobs/sha256-HEX` named by `ROOT/manifests/HOST/NS/MODEL/TAG`.
//!
//! A store root is `$OLLAMA_MODELS`, a `~/.ollama/models` (any home), the Linux service's
//! `/usr/share/ollama/.ollama/models`, or any folder with a `manifests/` folder beside the
//! `blobs/` one (Ollama writes both). A blob has no name of its own: the manifests that list
//! its digest as a layer say which model (`NAME:TAG`) it belongs to and what it is (weights,
//! license, template, system prompt, params, projector, adapter). The manifests of a store
//! are read in one bounded walk and kept in a small cache (see [`index`]).
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aibom_semconv::{artifact_role as role, artifact_type as ty, license_source, provider};
use serde::Deserialize;

use super::super::classify::Kind;
use super::super::license::{identify_text, License, LICENSE_FILE_MAX};
use super::purl::generic_purl;
use super::{read_prefix, HubEnv, Origin};

/// The registry of `ollama pull NAME` and the namespace of its official models.
const DEFAULT_HOST: &str = "registry.ollama.ai";
const DEFAULT_NAMESPACE: &str = "library";
/// Manifests read per store at most, and directory entries looked at while finding them.
const MAX_MANIFESTS: usize = 4096;
const MAX_ENTRIES: usize = 16384;
/// Most of a manifest read (they are a few hundred bytes).
const MANIFEST_MAX: u64 = 256 << 10;
/// Stores remembered, and how long an index is trusted: fully, and when a digest is
/// missing from it (a pull may have written a new manifest since).
const MAX_STORES: usize = 16;
const FRESH: Duration = Duration::from_secs(60);
const FRESH_FOR_MISSES: Duration = Duration::from_secs(1);

/// The media types of an Ollama manifest's layers.
const MEDIA_PREFIX: &str = "application/vnd.ollama.image.";

/// A model name as Ollama spells its parts (`registry.ollama.ai/library/tinyllm:latest`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ModelName {
    host: String,
    namespace: String,
    model: String,
    tag: String,
}

impl ModelName {
    /// The short form Ollama shows: `tinyllm:latest`, `user/model:tag`,
    /// `hf.co/org/repo:tag`.
    fn display(&self) -> String {
        let (h, ns, m, t) = (&self.host, &self.namespace, &self.model, &self.tag);
        match (h == DEFAULT_HOST, ns == DEFAULT_NAMESPACE) {
            (true, true) => format!("{m}:{t}"),
            (true, false) => format!("{ns}/{m}:{t}"),
            _ => format!("{h}/{ns}/{m}:{t}"),
        }
    }

    fn source_url(&self) -> String {
        let (ns, m) = (&self.namespace, &self.model);
        match self.host.as_str() {
            DEFAULT_HOST if ns == DEFAULT_NAMESPACE => format!("https://ollama.com/library/{m}"),
            DEFAULT_HOST => format!("https://ollama.com/{ns}/{m}"),
            h => format!("https://{h}/{ns}/{m}"),
        }
    }
}

/// One manifest: its model and its layers as (media type suffix, digest hex).
#[derive(Debug)]
struct Manifest {
    name: ModelName,
    layers: Vec<(String, String)>,
}

/// The manifests of one store, and which of them list each digest.
#[derive(Debug)]
struct Index {
    built: Instant,
    manifests: Vec<Manifest>,
    by_digest: HashMap<String, Vec<usize>>,
}

#[derive(Deserialize)]
struct RawManifest {
    #[serde(default)]
    layers: Vec<RawLayer>,
}

#[derive(Deserialize)]
struct RawLayer {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    #[serde(default)]
    digest: String,
}

/// The origin of `p` when it is a blob of an Ollama store; `None` when it is not one.
pub(super) fn ollama_store(p: &Path, env: &HubEnv) -> Option<Origin> {
    let hex = blob_digest(p)?;
    let blobs = p.parent()?;
    let root = blobs.parent()?;
    if !is_store_root(root, env) {
        return None;
    }
    let mut o = Origin::new(provider::OLLAMA);
    let index = index(root, hex);
    let Some((m, media)) = index.as_deref().and_then(|i| owner(i, hex)) else {
        return Some(o);
    };
    o.name = Some(m.name.display());
    o.id = Some(generic_purl(
        provider::OLLAMA,
        &m.name.host,
        &format!("{}/{}", m.name.namespace, m.name.model),
        Some(&m.name.tag),
    ));
    o.revision = Some(m.name.tag.clone());
    o.source_url = Some(m.name.source_url());
    o.kind = layer_kind(media);
    o.license = model_license(blobs, m);
    Some(o)
}

/// The digest hex of a blob path `…/blobs/sha256-HEX` (64 lowercase hex digits).
pub fn blob_digest(p: &Path) -> Option<&str> {
    let hex = p.file_name()?.to_str()?.strip_prefix("sha256-")?;
    let lower_hex = hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    (lower_hex && p.parent()?.file_name()? == "blobs").then_some(hex)
}

/// A known store location, a folder named like the default one, or one with manifests.
fn is_store_root(root: &Path, env: &HubEnv) -> bool {
    env.ollama_roots().iter().any(|r| r == root)
        || root.ends_with(".ollama/models")
        || root.join("manifests").is_dir()
}

/// What the layer of `media` type is.
fn layer_kind(media: &str) -> Option<Kind> {
    let k = |artifact_type, r| {
        Some(Kind {
            artifact_type,
            role: Some(r),
        })
    };
    match media {
        "model" | "projector" => k(ty::MODEL, role::WEIGHTS),
        "adapter" => k(ty::MODEL, role::ADAPTER),
        "license" => k(ty::MODEL, role::LICENSE),
        "params" => k(ty::MODEL, role::CONFIG),
        "template" => k(ty::PROMPT, role::TEMPLATE),
        "system" => k(ty::PROMPT, role::SYSTEM),
        _ => None,
    }
}

/// The manifest naming `hex` (the `latest` tag first, then by name) and the layer's type.
fn owner<'a>(index: &'a Index, hex: &str) -> Option<(&'a Manifest, &'a str)> {
    let m = index
        .by_digest
        .get(hex)?
        .iter()
        .map(|&i| &index.manifests[i])
        .min_by_key(|m| (m.name.tag != "latest", &m.name))?;
    let media = m.layers.iter().find(|(_, d)| d == hex)?.0.as_str();
    Some((m, media))
}

/// The license of `m`'s model: the texts of its `license` layers, identified (`A AND B`
/// when there are several); unrecognized texts are left out.
fn model_license(blobs: &Path, m: &Manifest) -> Option<License> {
    let mut ids: Vec<String> = Vec::new();
    for (_, hex) in m.layers.iter().filter(|(media, _)| media == "license") {
        let Some(bytes) = read_prefix(&blobs.join(format!("sha256-{hex}")), LICENSE_FILE_MAX)
        else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let id = identify_text(&text);
        if !text.trim().is_empty() && id != "LicenseRef-unknown" && !ids.contains(&id) {
            ids.push(id);
        }
    }
    (!ids.is_empty()).then(|| License {
        id: ids.join(" AND "),
        source: license_source::OLLAMA_LICENSE,
    })
}

// ---------------------------------------------------------------------------------------
// The manifest index

type Cache = Mutex<lru::LruCache<PathBuf, Arc<Index>>>;

fn cache() -> &'static Cache {
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| {
        Mutex::new(lru::LruCache::new(
            std::num::NonZeroUsize::new(MAX_STORES).expect("nonzero"),
        ))
    })
}

/// The manifest index of the store at `root`, looking for `hex`: cached, rebuilt when older
/// than [`FRESH`], or than [`FRESH_FOR_MISSES`] when `hex` is not in it.
fn index(root: &Path, hex: &str) -> Option<Arc<Index>> {
    let mut cache = cache().lock().ok()?;
    if let Some(i) = cache.get(root) {
        let age = i.built.elapsed();
        if age < FRESH && (age < FRESH_FOR_MISSES || i.by_digest.contains_key(hex)) {
            return Some(i.clone());
        }
    }
    let i = Arc::new(build(&root.join("manifests")));
    cache.put(root.to_path_buf(), i.clone());
    Some(i)
}

/// Reads the manifests under `dir` (`HOST/NS/MODEL/TAG`, in name order), bounded by
/// [`MAX_MANIFESTS`] files and [`MAX_ENTRIES`] directory entries.
fn build(dir: &Path) -> Index {
    let mut budget = MAX_ENTRIES;
    let mut files = Vec::new();
    walk(dir, &mut Vec::new(), &mut files, &mut budget);
    let mut manifests = Vec::new();
    let mut by_digest: HashMap<String, Vec<usize>> = HashMap::new();
    for (parts, path) in files.into_iter().take(MAX_MANIFESTS) {
        let Some(m) = read_manifest(&path, parts) else {
            continue;
        };
        for (_, hex) in &m.layers {
            by_digest
                .entry(hex.clone())
                .or_default()
                .push(manifests.len());
        }
        manifests.push(m);
    }
    Index {
        built: Instant::now(),
        manifests,
        by_digest,
    }
}

/// Collects the files four levels below the manifests folder with their four names.
fn walk(
    dir: &Path,
    at: &mut Vec<String>,
    out: &mut Vec<([String; 4], PathBuf)>,
    budget: &mut usize,
) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd
        .take(*budget)
        .filter_map(Result::ok)
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
        .collect();
    *budget = budget.saturating_sub(entries.len());
    entries.sort();
    for (name, path) in entries {
        at.push(name);
        if at.len() == 4 {
            if path.is_file() {
                let parts = [at[0].clone(), at[1].clone(), at[2].clone(), at[3].clone()];
                out.push((parts, path));
            }
        } else if path.is_dir() && *budget > 0 {
            walk(&path, at, out, budget);
        }
        at.pop();
    }
}

/// One manifest's layers whose digest is `sha256:` and 64 lowercase hex digits.
fn read_manifest(path: &Path, parts: [String; 4]) -> Option<Manifest> {
    let bytes = read_prefix(path, MANIFEST_MAX)?;
    let raw: RawManifest = serde_json::from_slice(&bytes).ok()?;
    let layers = raw
        .layers
        .into_iter()
        .filter_map(|l| {
            let media = l.media_type.strip_prefix(MEDIA_PREFIX)?.to_string();
            let hex = l.digest.strip_prefix("sha256:")?;
            let ok = hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            ok.then(|| (media, hex.to_string()))
        })
        .collect();
    let [host, namespace, model, tag] = parts;
    Some(Manifest {
        name: ModelName {
            host,
            namespace,
            model,
            tag,
        },
        layers,
    })
}

#[cfg(test)]
mod tests {
    use super::super::origin;
    use super::super::tests::none;
    use super::*;

    /// A store under a fresh temp dir: `layers` are (media type suffix, content); returns
    /// the root and each layer's blob path.
    fn store(name: [&str; 4], layers: &[(&str, &[u8])]) -> (tempfile::TempDir, Vec<PathBuf>) {
        use sha2::Digest;
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("blobs")).unwrap();
        let mut blobs = Vec::new();
        let mut json = Vec::new();
        for (media, bytes) in layers {
            let hex = hex::encode(sha2::Sha256::digest(bytes));
            let b = root.join("blobs").join(format!("sha256-{hex}"));
            std::fs::write(&b, bytes).unwrap();
            blobs.push(b);
            json.push(serde_json::json!({
                "mediaType": format!("{MEDIA_PREFIX}{media}"),
                "digest": format!("sha256:{hex}"),
                "size": bytes.len(),
            }));
        }
        let m = root.join("manifests").join(name.join("/"));
        std::fs::create_dir_all(m.parent().unwrap()).unwrap();
        let manifest = serde_json::json!({"schemaVersion": 2, "layers": json});
        std::fs::write(m, manifest.to_string()).unwrap();
        (d, blobs)
    }

    const MIT: &[u8] = b"MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy of this software and associated documentation files (the \"Software\"), to deal in the Software without restriction, including without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the following conditions:\n\nThe above copyright notice and this permission notice shall be included in all copies or substantial portions of the Software.\n";

    #[test]
    fn blobs_are_named_and_typed_by_their_manifest() {
        let (_d, b) = store(
            ["registry.ollama.ai", "library", "tinyllm", "latest"],
            &[
                ("model", b"GGUF weights"),
                ("license", MIT),
                ("template", b"{{ .Prompt }}"),
                ("system", b"You are terse."),
            ],
        );
        let o = origin(&b[0], &b[0], &none(), &HubEnv::default());
        assert_eq!(o.provider, provider::OLLAMA);
        assert_eq!(o.name.as_deref(), Some("tinyllm:latest"));
        assert_eq!(
            o.id.as_deref(),
            Some("pkg:generic/ollama/registry.ollama.ai/library/tinyllm@latest")
        );
        assert_eq!(
            o.source_url.as_deref(),
            Some("https://ollama.com/library/tinyllm")
        );
        assert_eq!(o.kind.map(|k| k.role), Some(Some(role::WEIGHTS)));
        assert_eq!(o.license.as_ref().map(|l| l.id.as_str()), Some("MIT"));
        let kind = |p: &Path| origin(p, p, &none(), &HubEnv::default()).kind.unwrap();
        assert_eq!(kind(&b[1]).role, Some(role::LICENSE));
        assert_eq!(kind(&b[2]).artifact_type, ty::PROMPT);
        assert_eq!(kind(&b[3]).role, Some(role::SYSTEM));
    }

    #[test]
    fn names_outside_the_library_keep_their_namespace_and_host() {
        let (_d, b) = store(
            ["registry.ollama.ai", "ann", "bot", "v2"],
            &[("model", b"x")],
        );
        let o = origin(&b[0], &b[0], &none(), &HubEnv::default());
        assert_eq!(o.name.as_deref(), Some("ann/bot:v2"));
        let (_d, b) = store(["hf.co", "org", "repo-GGUF", "Q4_K_M"], &[("model", b"y")]);
        let o = origin(&b[0], &b[0], &none(), &HubEnv::default());
        assert_eq!(o.name.as_deref(), Some("hf.co/org/repo-GGUF:Q4_K_M"));
        assert_eq!(o.source_url.as_deref(), Some("https://hf.co/org/repo-GGUF"));
    }

    #[test]
    fn a_blob_no_manifest_names_is_ollama_without_a_name() {
        let (d, _) = store(
            ["registry.ollama.ai", "library", "a", "latest"],
            &[("model", b"a")],
        );
        let stray = d
            .path()
            .join("blobs")
            .join(format!("sha256-{}", "ab".repeat(32)));
        std::fs::write(&stray, b"z").unwrap();
        let o = origin(&stray, &stray, &none(), &HubEnv::default());
        assert_eq!((o.provider, o.name), (provider::OLLAMA, None));
    }

    #[test]
    fn blob_shaped_names_elsewhere_are_not_ollama() {
        let d = tempfile::tempdir().unwrap();
        let p = d
            .path()
            .join("blobs")
            .join(format!("sha256-{}", "ab".repeat(32)));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"z").unwrap();
        assert_ne!(
            origin(&p, &p, &none(), &HubEnv::default()).provider,
            provider::OLLAMA
        );
        // ... unless OLLAMA_MODELS points there
        let env = HubEnv {
            ollama_models: Some(d.path().to_path_buf()),
            ..Default::default()
        };
        assert_eq!(origin(&p, &p, &none(), &env).provider, provider::OLLAMA);
        let upper =
            Path::new("/x/.ollama/models/blobs").join(format!("sha256-{}", "AB".repeat(32)));
        assert_eq!(blob_digest(&upper), None);
    }
}

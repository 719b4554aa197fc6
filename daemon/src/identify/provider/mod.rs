//! Where an artifact came from: provider, canonical id, name, revision, source URL.
//!
//! [`origin`] looks at the file's paths (before and after symlink resolution), at the facts
//! read from its header, and — a few bounded reads — at cache bookkeeping files beside it.
//! It never panics and never follows more than a bounded number of directory entries.
//!
//! # Precedence
//!
//! 1. **Hub caches**: the layouts of hub client libraries, which record exactly which repo
//!    and revision the bytes were downloaded from. They are recognized by *shape* anywhere
//!    (the process may have pointed the library anywhere) and, for layouts that have no
//!    distinctive shape, under the roots taken from the traced process's environment
//!    ([`HubEnv`]):
//!    - Hugging Face hub cache: `…/models--ORG--NAME/{snapshots/REV/…, blobs/SHA}`,
//!      `datasets--…`, `spaces--…`; a blob seen without its snapshot link (procfs tracer,
//!      links into the cache from elsewhere) is found back in `snapshots/*/` (bounded scan);
//!    - Hugging Face `datasets` Arrow cache (`…/huggingface/datasets/ORG___NAME/CONFIG/VER/HASH/…`
//!      or `HF_DATASETS_CACHE`);
//!    - Hugging Face `local_dir` downloads (`DIR/.cache/huggingface/download/FILE.metadata`);
//!    - KaggleHub (`…/kagglehub/{models,datasets,competitions}/…`, `KAGGLEHUB_CACHE`);
//!    - TF-Hub (`…/tfhub_modules/SHA1/…`, `TFHUB_CACHE_DIR`), Keras (`…/.keras/{models,datasets}/`,
//!      `KERAS_HOME`);
//!    - Ollama stores (`ROOT/blobs/sha256-HEX` named by `ROOT/manifests/HOST/NS/MODEL/TAG`;
//!      `OLLAMA_MODELS`, `~/.ollama/models`, `/usr/share/ollama/.ollama/models`, or any root
//!      with a `manifests/` folder), see [`ollama`];
//!    - tiktoken (`TIKTOKEN_CACHE_DIR`, `DATA_GYM_CACHE_DIR`, `$TMPDIR/data-gym-cache`), Whisper
//!      (`$XDG_CACHE_HOME/whisper`, `~/.cache/whisper`).
//!
//!    A hub cache beats header metadata: the cache says where *these bytes* came from, while
//!    e.g. GGUF `general.source.huggingface.repository` usually names the model a file was
//!    *converted from* (a GGUF in `models--TheBloke--X-GGUF` names `meta-llama/X`).
//! 2. **Header metadata** (GGUF): `general.source.huggingface.repository`, then
//!    `general.source.url` / `general.url` pointing at a known hub, then `general.organization`
//!    (Google/DeepMind → `google`, OpenAI → `openai`) or a Gemma `general.architecture`.
//! 3. **Well-known names**: OpenAI's tiktoken encodings (`cl100k_base.tiktoken`, …) and Whisper
//!    checkpoints (`whisper/base.pt`, …) → `openai`; Gemma weights (`gemma` in the file or folder
//!    name) → `google`.
//! 4. **`local` or `unknown`**, see [`is_user_tree`]: files in the user's own tree are `local`,
//!    everything else (system and package directories, other tools' caches) is `unknown`. Both
//!    still get a name (GGUF `general.name`, else the model folder or the file stem) and a
//!    `repo_root` (that folder), but no id and no revision.
//!
//! # Ids
//!
//! - Hugging Face models: `pkg:huggingface/ORG/NAME@REV` (the purl spec's `huggingface` type,
//!   REV the lowercased 40-hex commit; no `@REV` when only a ref name is known). Datasets and
//!   Spaces have no official purl form; we use `pkg:huggingface/datasets/ORG/NAME@REV` and
//!   `pkg:huggingface/spaces/ORG/NAME@REV` (the form other AI-BOM tools emit).
//! - Elsewhere `pkg:generic/PROVIDER/HUB/HANDLE[@REV]`, HUB naming the distribution channel:
//!   `pkg:generic/openai/tiktoken/cl100k_base`, `pkg:generic/openai/whisper/base`,
//!   `pkg:generic/google/keras/resnet50_weights_tf_dim_ordering_tf_kernels`,
//!   `pkg:generic/google/tfhub/google/universal-sentence-encoder@4`,
//!   `pkg:generic/google/kaggle/OWNER/MODEL/FRAMEWORK/VARIATION@VERSION`,
//!   `pkg:generic/google/kaggle/datasets/OWNER/DATASET@VERSION`,
//!   `pkg:generic/ollama/registry.ollama.ai/library/tinyllm@latest` (Ollama: the registry
//!   host as HUB, the tag as REV; the name is Ollama's short form, `tinyllm:latest`).
//!
//! KaggleHub artifacts are attributed to `google` whatever their owner (Meta's Llama on Kaggle
//! included): the provider is the hub the artifact was obtained from, as `huggingface` is for
//! every Hugging Face repo, and Kaggle is Google's.
mod env;
mod google;
mod huggingface;
mod llamacpp;
mod lmstudio;
mod local;
mod metadata;
mod modelscope;
mod ollama;
mod openai;
mod purl;
mod serving;
mod torchhub;
mod url;

use std::path::{Component, Path, PathBuf};

use aibom_semconv::provider;

use super::classify::Kind;
use super::format::Fields;
use super::license::License;
use google::{is_gemma, kagglehub_cache, keras_cache, tfhub_cache};
use huggingface::{hf_datasets, hf_hub, hf_local_dir};
use local::local_name;
use metadata::from_metadata;
use openai::{by_known_name, tiktoken_cache, whisper_cache};

pub use env::{HubEnv, ENV_KEYS};
pub use local::is_user_tree;
pub use ollama::blob_digest as ollama_blob_digest;

/// Where an artifact came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// An `aibom.artifact.provider` value.
    pub provider: &'static str,
    /// Canonical id, a purl where one exists (see the module docs).
    pub id: Option<String>,
    /// Human-readable name (`ORG/NAME` for hub repos).
    pub name: Option<String>,
    /// Revision: a hub commit, a version number, or a ref name when no commit is known.
    pub revision: Option<String>,
    /// Hub page or download URL.
    pub source_url: Option<String>,
    /// Folder of the model/dataset (the snapshot dir for Hugging Face) for sibling lookups
    /// (model card, LICENSE, config).
    pub repo_root: Option<PathBuf>,
    /// What the store's own records say the file is (an Ollama manifest's layer type);
    /// beats classification by name and format.
    pub kind: Option<Kind>,
    /// The license the store records for the model (an Ollama `license` layer); used when
    /// the file itself declares none.
    pub license: Option<License>,
    /// The start of the file's sha256 as the store names it (a PyTorch Hub checkpoint's
    /// `NAME-<prefix>.pth`), checked once the file is hashed.
    pub sha256_prefix: Option<String>,
}

impl Origin {
    fn new(provider: &'static str) -> Self {
        Origin {
            provider,
            id: None,
            name: None,
            revision: None,
            source_url: None,
            repo_root: None,
            kind: None,
            license: None,
            sha256_prefix: None,
        }
    }
}

/// Identifies where the file at `path` (symlinks resolved) came from; `absolute_path` is the
/// same access before symlink resolution (for a Hugging Face snapshot, the
/// `snapshots/REV/FILE` path). See the module docs for the rules.
pub fn origin(path: &Path, absolute_path: &Path, fields: &Fields, env: &HubEnv) -> Origin {
    let abs = if absolute_path.as_os_str().is_empty() {
        path
    } else {
        absolute_path
    };
    let candidates: &[&Path] = if abs == path { &[path] } else { &[abs, path] };

    // 1. Hub caches, by shape then by configured root.
    for p in candidates {
        if let Some(o) = hub_cache(p, env) {
            return o;
        }
    }
    for p in candidates {
        if let Some(o) = hf_local_dir(p) {
            return o;
        }
    }
    for p in candidates {
        if let Some(o) = under_hub_root(p, env) {
            return o;
        }
    }

    let (name, repo_root) = local_name(abs);
    // 2. Header metadata.
    if let Some(mut o) = from_metadata(fields) {
        if o.name.is_none() {
            o.name = name;
        }
        o.repo_root = repo_root;
        return o;
    }

    // 3. Well-known names.
    if let Some(o) = by_known_name(abs) {
        return o;
    }

    // 4. local / unknown.
    let gguf_name = field(fields, "general.name").map(str::to_string);
    let source_url = ["general.source.url", "general.url", "general.repo_url"]
        .iter()
        .find_map(|k| field(fields, k))
        .map(str::to_string);
    let mut o = Origin::new(if is_gemma(&name) {
        provider::GOOGLE
    } else if is_user_tree(abs, env) {
        provider::LOCAL
    } else {
        provider::UNKNOWN
    });
    o.name = gguf_name.or(name);
    o.source_url = source_url;
    o.repo_root = repo_root;
    o
}

/// A `Fields` value, trimmed, when not empty.
fn field<'a>(fields: &'a Fields, key: &str) -> Option<&'a str> {
    fields.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

// ---------------------------------------------------------------------------------------
// Path helpers

/// The normal components of `p`, as UTF-8 (a non-UTF-8 component becomes `None`).
fn comps(p: &Path) -> Vec<Option<&str>> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_str()),
            _ => None,
        })
        .collect()
}

/// The path made of the root and the first `n` normal components of `p`.
fn prefix(p: &Path, n: usize) -> PathBuf {
    let mut out = PathBuf::from("/");
    out.extend(
        p.components()
            .filter(|c| matches!(c, Component::Normal(_)))
            .take(n),
    );
    out
}

/// When `p` is strictly inside `root`, the number of normal components of `root`.
fn inside(p: &Path, root: &Path) -> Option<usize> {
    let rest = p.strip_prefix(root).ok()?;
    if rest.as_os_str().is_empty() {
        return None;
    }
    Some(
        root.components()
            .filter(|c| matches!(c, Component::Normal(_)))
            .count(),
    )
}

/// The normal components of `p` when it has no `..` (nor leading `.`) component, so that
/// a layout parser may trust components by position; `None` otherwise.
fn plain_comps(p: &Path) -> Option<Vec<Option<&str>>> {
    let dots = p
        .components()
        .any(|c| matches!(c, Component::ParentDir | Component::CurDir));
    (!dots).then(|| comps(p))
}

/// The index just after the first run of `seq` in `c` (the number of components of the
/// store root it ends).
fn after_seq(c: &[Option<&str>], seq: &[&str]) -> Option<usize> {
    (0..c.len().saturating_sub(seq.len() - 1))
        .find(|&i| seq.iter().enumerate().all(|(k, s)| c[i + k] == Some(*s)))
        .map(|i| i + seq.len())
}

pub(crate) fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Reads at most `cap` bytes from the start of a regular file. Never blocks on FIFOs or
/// devices (they are refused), never fails loudly. Within
/// [`opened::as_process`](crate::identify::opened::as_process) the file is resolved in the
/// process's root and read only when the process could read it.
pub(crate) fn read_prefix(path: &Path, cap: u64) -> Option<Vec<u8>> {
    crate::identify::opened::read_sibling(path, cap)
}

// ---------------------------------------------------------------------------------------
// Dispatch

fn hub_cache(p: &Path, env: &HubEnv) -> Option<Origin> {
    serving::nim_ngc(p)
        .or_else(|| hf_hub(p))
        .or_else(|| kagglehub_cache(p, env))
        .or_else(|| tfhub_cache(p, env))
        .or_else(|| keras_cache(p, env))
        .or_else(|| tiktoken_cache(p, env))
        .or_else(|| whisper_cache(p, env))
        .or_else(|| hf_datasets(p, env))
        .or_else(|| ollama::ollama_store(p, env))
        .or_else(|| lmstudio::lmstudio(p))
        .or_else(|| llamacpp::llama_cpp_cache(p, env))
        .or_else(|| torchhub::torch_hub(p, env))
        .or_else(|| modelscope::modelscope(p, env))
}

/// Files under a hub library's home that no layout above recognized (lock files, the xet
/// chunk cache, …): the hub's provider, no name.
fn under_hub_root(p: &Path, env: &HubEnv) -> Option<Origin> {
    let c = comps(p);
    let hf_shape = (1..c.len()).any(|i| c[i] == Some("huggingface") && c[i - 1] == Some(".cache"));
    let hf_env = env
        .hf_home()
        .into_iter()
        .chain(env.hf_hub_caches())
        .any(|r| inside(p, &r).is_some());
    if hf_shape || hf_env {
        return Some(Origin::new(provider::HUGGINGFACE));
    }
    if env.whisper_caches().iter().any(|r| inside(p, r).is_some())
        || env.tiktoken_caches().iter().any(|r| inside(p, r).is_some())
    {
        return Some(Origin::new(provider::OPENAI));
    }
    serving::under_serving_cache(p, env)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 40-hex commit, shared by the providers' tests.
    pub(super) const REV: &str = "9bc82a0c4e9a41f3d8b1c5a0e2f7d6c3b4a59687";

    pub(super) fn env() -> HubEnv {
        HubEnv::default()
    }

    pub(super) fn none() -> Fields {
        Fields::new()
    }

    /// The origin of the file at `p` (no header fields), as seen with `e`.
    pub(super) fn at(p: &str, e: &HubEnv) -> Origin {
        let p = Path::new(p);
        origin(p, p, &none(), e)
    }

    #[test]
    fn the_hub_cache_beats_gguf_metadata() {
        let p = Path::new("/h/hub/models--TheBloke--Llama-2-7B-GGUF/snapshots")
            .join(REV)
            .join("llama-2-7b.Q4_K_M.gguf");
        let mut f = Fields::new();
        f.insert(
            "general.source.huggingface.repository".into(),
            "meta-llama/Llama-2-7b-hf".into(),
        );
        let o = origin(&p, &p, &f, &env());
        assert_eq!(o.name.as_deref(), Some("TheBloke/Llama-2-7B-GGUF"));
    }
}

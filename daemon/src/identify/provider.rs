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
//!   `pkg:generic/google/kaggle/datasets/OWNER/DATASET@VERSION`.
//!
//! KaggleHub artifacts are attributed to `google` whatever their owner (Meta's Llama on Kaggle
//! included): the provider is the hub the artifact was obtained from, as `huggingface` is for
//! every Hugging Face repo, and Kaggle is Google's.
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use aibom_semconv::provider;

use super::format::Fields;

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
        }
    }
}

/// Most of `/proc/PID/environ` read (bytes).
const ENVIRON_MAX: u64 = 1 << 20;

/// Cache roots from a traced process's environment. Only absolute, non-empty values are
/// kept (a relative one would be relative to a working directory we may not know).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HubEnv {
    /// `HOME`.
    pub home: Option<PathBuf>,
    /// `XDG_CACHE_HOME`.
    pub xdg_cache_home: Option<PathBuf>,
    /// `HF_HOME`.
    pub hf_home: Option<PathBuf>,
    /// `HF_HUB_CACHE`, else the legacy `HUGGINGFACE_HUB_CACHE`.
    pub hf_hub_cache: Option<PathBuf>,
    /// `TRANSFORMERS_CACHE` (legacy hub cache of `transformers`).
    pub transformers_cache: Option<PathBuf>,
    /// `HF_DATASETS_CACHE`.
    pub hf_datasets_cache: Option<PathBuf>,
    /// `TIKTOKEN_CACHE_DIR`.
    pub tiktoken_cache_dir: Option<PathBuf>,
    /// `DATA_GYM_CACHE_DIR`.
    pub data_gym_cache_dir: Option<PathBuf>,
    /// `TMPDIR`, else `TEMP`, else `TMP` (Python's `tempfile.gettempdir()` order).
    pub tmpdir: Option<PathBuf>,
    /// `KERAS_HOME`.
    pub keras_home: Option<PathBuf>,
    /// `TFHUB_CACHE_DIR`.
    pub tfhub_cache_dir: Option<PathBuf>,
    /// `KAGGLEHUB_CACHE`.
    pub kagglehub_cache: Option<PathBuf>,
    /// The process's working directory (part of the user's tree when it is not a system dir).
    pub cwd: Option<PathBuf>,
}

impl HubEnv {
    /// Parses `/proc/PID/environ` content: `KEY=VALUE` entries separated by NUL bytes.
    pub fn from_environ(bytes: &[u8]) -> HubEnv {
        let mut env = HubEnv::default();
        let (mut legacy_hub, mut temp, mut tmp) = (None, None, None);
        for entry in bytes.split(|b| *b == 0) {
            let Some(eq) = entry.iter().position(|b| *b == b'=') else {
                continue;
            };
            let (key, value) = (&entry[..eq], &entry[eq + 1..]);
            let Some(value) = abs_path(value) else {
                continue;
            };
            let slot = match key {
                b"HOME" => &mut env.home,
                b"XDG_CACHE_HOME" => &mut env.xdg_cache_home,
                b"HF_HOME" => &mut env.hf_home,
                b"HF_HUB_CACHE" => &mut env.hf_hub_cache,
                b"HUGGINGFACE_HUB_CACHE" => &mut legacy_hub,
                b"TRANSFORMERS_CACHE" => &mut env.transformers_cache,
                b"HF_DATASETS_CACHE" => &mut env.hf_datasets_cache,
                b"TIKTOKEN_CACHE_DIR" => &mut env.tiktoken_cache_dir,
                b"DATA_GYM_CACHE_DIR" => &mut env.data_gym_cache_dir,
                b"TMPDIR" => &mut env.tmpdir,
                b"TEMP" => &mut temp,
                b"TMP" => &mut tmp,
                b"KERAS_HOME" => &mut env.keras_home,
                b"TFHUB_CACHE_DIR" => &mut env.tfhub_cache_dir,
                b"KAGGLEHUB_CACHE" => &mut env.kagglehub_cache,
                _ => continue,
            };
            // The kernel keeps duplicates; getenv() returns the first.
            if slot.is_none() {
                *slot = Some(value);
            }
        }
        env.hf_hub_cache = env.hf_hub_cache.or(legacy_hub);
        env.tmpdir = env.tmpdir.or(temp).or(tmp);
        env
    }

    /// Reads `/proc/PID/environ` (at most 1 MiB) and `/proc/PID/cwd`. When the environment
    /// cannot be read (process gone, no permission) every root is left unset and only the
    /// shape-based recognition applies.
    pub fn from_process(pid: u32) -> HubEnv {
        let proc_dir = PathBuf::from(format!("/proc/{pid}"));
        let mut env = match std::fs::File::open(proc_dir.join("environ")) {
            Ok(f) => {
                let mut bytes = Vec::new();
                match f.take(ENVIRON_MAX).read_to_end(&mut bytes) {
                    Ok(_) => HubEnv::from_environ(&bytes),
                    Err(_) => HubEnv::default(),
                }
            }
            Err(_) => HubEnv::default(),
        };
        env.cwd = std::fs::read_link(proc_dir.join("cwd"))
            .ok()
            .filter(|p| p.is_absolute());
        env
    }

    /// `$XDG_CACHE_HOME`, else `$HOME/.cache`.
    fn cache_home(&self) -> Option<PathBuf> {
        self.xdg_cache_home
            .clone()
            .or_else(|| self.home.as_ref().map(|h| h.join(".cache")))
    }

    /// `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface` (as `huggingface_hub` does).
    fn hf_home(&self) -> Option<PathBuf> {
        self.hf_home
            .clone()
            .or_else(|| self.cache_home().map(|c| c.join("huggingface")))
    }

    /// Hub caches: `HF_HUB_CACHE`, `TRANSFORMERS_CACHE`, `HF_HOME/hub`.
    fn hf_hub_caches(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = Vec::new();
        v.extend(self.hf_hub_cache.clone());
        v.extend(self.transformers_cache.clone());
        v.extend(self.hf_home().map(|h| h.join("hub")));
        v
    }

    /// `datasets` caches: `HF_DATASETS_CACHE`, `HF_HOME/datasets`.
    fn hf_datasets_caches(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = Vec::new();
        v.extend(self.hf_datasets_cache.clone());
        v.extend(self.hf_home().map(|h| h.join("datasets")));
        v
    }

    fn tmp(&self) -> PathBuf {
        self.tmpdir.clone().unwrap_or_else(|| PathBuf::from("/tmp"))
    }

    fn tiktoken_caches(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = Vec::new();
        v.extend(self.tiktoken_cache_dir.clone());
        v.extend(self.data_gym_cache_dir.clone());
        v.push(self.tmp().join("data-gym-cache"));
        v
    }

    fn whisper_caches(&self) -> Vec<PathBuf> {
        self.cache_home()
            .map(|c| c.join("whisper"))
            .into_iter()
            .collect()
    }

    fn keras_homes(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = Vec::new();
        v.extend(self.keras_home.clone());
        v.extend(self.home.as_ref().map(|h| h.join(".keras")));
        v
    }

    fn tfhub_caches(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = Vec::new();
        v.extend(self.tfhub_cache_dir.clone());
        v.push(self.tmp().join("tfhub_modules"));
        v
    }

    fn kagglehub_caches(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = Vec::new();
        v.extend(self.kagglehub_cache.clone());
        v.extend(
            self.home
                .as_ref()
                .map(|h| h.join(".cache").join("kagglehub")),
        );
        v
    }
}

fn abs_path(value: &[u8]) -> Option<PathBuf> {
    if value.first() != Some(&b'/') {
        return None;
    }
    Some(PathBuf::from(std::ffi::OsString::from_vec(value.to_vec())))
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

pub(crate) fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Reads at most `cap` bytes from the start of a regular file. Never blocks on FIFOs or
/// devices (they are refused), never fails loudly.
pub(crate) fn read_prefix(path: &Path, cap: u64) -> Option<Vec<u8>> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .ok()?;
    let mut buf = Vec::with_capacity(meta.len().min(cap) as usize);
    f.take(cap).read_to_end(&mut buf).ok()?;
    Some(buf)
}

/// Percent-encodes one purl segment (keeps `A-Za-z0-9.-_~`).
fn purl_seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `pkg:generic/PROVIDER/HUB/HANDLE[@REV]`, each `/`-separated handle part encoded.
fn generic_purl(provider: &str, hub: &str, handle: &str, rev: Option<&str>) -> String {
    let mut s = format!("pkg:generic/{}/{}", purl_seg(provider), purl_seg(hub));
    for part in handle.split('/').filter(|p| !p.is_empty()) {
        s.push('/');
        s.push_str(&purl_seg(part));
    }
    if let Some(r) = rev {
        s.push('@');
        s.push_str(&purl_seg(r));
    }
    s
}

// ---------------------------------------------------------------------------------------
// Hugging Face

/// Kind of Hugging Face repo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HfKind {
    Model,
    Dataset,
    Space,
}

impl HfKind {
    /// Path prefix of the kind in URLs and purls.
    fn prefix(self) -> &'static str {
        match self {
            HfKind::Model => "",
            HfKind::Dataset => "datasets/",
            HfKind::Space => "spaces/",
        }
    }
}

/// A Hugging Face origin. `revision` is a commit (lowercased into the purl) or a ref name.
fn hf_origin(
    kind: HfKind,
    org: Option<&str>,
    name: &str,
    revision: Option<String>,
    repo_root: Option<PathBuf>,
) -> Origin {
    let full = match org {
        Some(o) => format!("{o}/{name}"),
        None => name.to_string(),
    };
    let mut id = format!("pkg:huggingface/{}", kind.prefix());
    if let Some(o) = org {
        id.push_str(&purl_seg(o));
        id.push('/');
    }
    id.push_str(&purl_seg(name));
    let revision = revision.map(|r| {
        if is_hex(&r, 40) {
            r.to_ascii_lowercase()
        } else {
            r
        }
    });
    if let Some(r) = revision.as_deref().filter(|r| is_hex(r, 40)) {
        id.push('@');
        id.push_str(r);
    }
    Origin {
        provider: provider::HUGGINGFACE,
        id: Some(id),
        source_url: Some(format!("https://huggingface.co/{}{full}", kind.prefix())),
        name: Some(full),
        revision,
        repo_root,
    }
}

/// Splits a hub cache folder name (`models--ORG--NAME`) into kind, org and name. The org is
/// what precedes the first `--` after the type prefix; the rest is the name, verbatim.
fn parse_hf_folder(folder: &str) -> Option<(HfKind, Option<&str>, &str)> {
    let (kind, rest) = if let Some(r) = folder.strip_prefix("models--") {
        (HfKind::Model, r)
    } else if let Some(r) = folder.strip_prefix("datasets--") {
        (HfKind::Dataset, r)
    } else if let Some(r) = folder.strip_prefix("spaces--") {
        (HfKind::Space, r)
    } else {
        return None;
    };
    match rest.split_once("--") {
        Some((org, name)) if !org.is_empty() && !name.is_empty() => Some((kind, Some(org), name)),
        Some(_) => None,
        None if !rest.is_empty() => Some((kind, None, rest)),
        None => None,
    }
}

/// Reads a ref file (`refs/main`): a 40-hex commit.
fn read_ref(repo_dir: &Path, name: &str) -> Option<String> {
    if name.is_empty() || name.contains("..") {
        return None;
    }
    let bytes = read_prefix(&repo_dir.join("refs").join(name), 256)?;
    let s = std::str::from_utf8(&bytes).ok()?.trim();
    is_hex(s, 40).then(|| s.to_ascii_lowercase())
}

/// Snapshot directories scanned when looking for a blob's revision.
const SNAPSHOTS_MAX: usize = 64;
/// Directory entries visited in total when looking for a blob's revision.
const SCAN_ENTRIES_MAX: usize = 20_000;
/// Directory depth under a snapshot when looking for a blob's revision.
const SCAN_DEPTH_MAX: usize = 8;

/// The snapshot (revision dir name) that links to `blob`, preferring the one `refs/main`
/// points to.
fn find_blob_snapshot(repo_dir: &Path, blob: &str) -> Option<String> {
    let mut snaps: Vec<String> = std::fs::read_dir(repo_dir.join("snapshots"))
        .ok()?
        .take(SNAPSHOTS_MAX)
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    snaps.sort();
    if let Some(main) = read_ref(repo_dir, "main") {
        if let Some(i) = snaps.iter().position(|s| *s == main) {
            let m = snaps.remove(i);
            snaps.insert(0, m);
        }
    }
    let mut budget = SCAN_ENTRIES_MAX;
    snaps
        .into_iter()
        .find(|s| links_to(&repo_dir.join("snapshots").join(s), blob, 0, &mut budget))
}

/// Whether a symlink under `dir` (recursively, bounded) points at a file named `blob`.
fn links_to(dir: &Path, blob: &str, depth: usize, budget: &mut usize) -> bool {
    if depth > SCAN_DEPTH_MAX {
        return false;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return false;
    };
    for e in rd {
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        let Ok(e) = e else { continue };
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_symlink() {
            if let Ok(target) = std::fs::read_link(e.path()) {
                if target.file_name() == Some(OsStr::new(blob)) {
                    return true;
                }
            }
        } else if ft.is_dir() && links_to(&e.path(), blob, depth + 1, budget) {
            return true;
        }
    }
    false
}

/// The Hugging Face hub cache layout, recognized by shape anywhere.
fn hf_hub(p: &Path) -> Option<Origin> {
    let c = comps(p);
    for i in 0..c.len() {
        let Some(folder) = c[i] else { continue };
        let Some((kind, org, name)) = parse_hf_folder(folder) else {
            continue;
        };
        let repo_dir = prefix(p, i + 1);
        match c.get(i + 1).copied().flatten() {
            Some("snapshots") if c.len() > i + 3 => {
                let rev_dir = c[i + 2]?;
                let revision = if is_hex(rev_dir, 40) {
                    rev_dir.to_ascii_lowercase()
                } else {
                    read_ref(&repo_dir, rev_dir).unwrap_or_else(|| rev_dir.to_string())
                };
                let root = prefix(p, i + 3);
                return Some(hf_origin(kind, org, name, Some(revision), Some(root)));
            }
            Some("blobs") if c.len() == i + 3 => {
                let blob = c[i + 2]?;
                let snap = find_blob_snapshot(&repo_dir, blob);
                let root = snap.as_ref().map(|s| repo_dir.join("snapshots").join(s));
                let revision = snap.map(|s| {
                    if is_hex(&s, 40) {
                        s
                    } else {
                        read_ref(&repo_dir, &s).unwrap_or(s)
                    }
                });
                return Some(hf_origin(kind, org, name, revision, root));
            }
            Some("refs") if c.len() > i + 2 => {
                return Some(hf_origin(kind, org, name, None, None));
            }
            _ => continue,
        }
    }
    None
}

/// Packaged `datasets` builders: their caches hold the user's own files, converted.
const HF_PACKAGED_BUILDERS: &[&str] = &[
    "arrow",
    "audiofolder",
    "cache",
    "csv",
    "generator",
    "hdf5",
    "imagefolder",
    "json",
    "pandas",
    "parquet",
    "pdffolder",
    "spark",
    "sql",
    "text",
    "videofolder",
    "webdataset",
    "xml",
];

/// `datasets`' `camelcase_to_snakecase`, used to name cache folders.
fn snake(name: &str) -> String {
    let ch: Vec<char> = name.chars().collect();
    let mut pass1: Vec<char> = Vec::with_capacity(ch.len() + 4);
    for j in 0..ch.len() {
        if j > 0
            && ch[j - 1].is_ascii_uppercase()
            && ch[j].is_ascii_uppercase()
            && ch.get(j + 1).is_some_and(|c| c.is_ascii_lowercase())
        {
            pass1.push('_');
        }
        pass1.push(ch[j]);
    }
    let mut out = String::with_capacity(pass1.len() + 4);
    for j in 0..pass1.len() {
        if j > 0
            && (pass1[j - 1].is_ascii_lowercase() || pass1[j - 1].is_ascii_digit())
            && pass1[j].is_ascii_uppercase()
        {
            out.push('_');
        }
        out.push(pass1[j]);
    }
    out.to_ascii_lowercase()
}

/// Hub cache entries looked at when matching an Arrow cache folder to its repo.
const HUB_ENTRIES_MAX: usize = 4096;

/// Finds `datasets--ORG--X` in a hub cache whose snake-cased X is `name`: the repo's exact
/// name, and its snapshot for `revision` when present (where the dataset card is).
fn hub_dataset_repo(
    hubs: &[PathBuf],
    org: Option<&str>,
    name: &str,
    revision: Option<&str>,
) -> Option<(String, Option<PathBuf>)> {
    for hub in hubs {
        let Ok(rd) = std::fs::read_dir(hub) else {
            continue;
        };
        for e in rd.take(HUB_ENTRIES_MAX).flatten() {
            let Ok(folder) = e.file_name().into_string() else {
                continue;
            };
            let Some((HfKind::Dataset, o, n)) = parse_hf_folder(&folder) else {
                continue;
            };
            if o != org || (n != name && snake(n) != name) {
                continue;
            }
            let snap = revision
                .map(|r| e.path().join("snapshots").join(r))
                .filter(|s| s.is_dir());
            return Some((n.to_string(), snap));
        }
    }
    None
}

/// The `datasets` Arrow cache: `ROOT/ORG___NAME/CONFIG/VERSION/HASH/FILE`, ROOT being a
/// `huggingface/datasets` dir or a configured datasets cache.
fn hf_datasets(p: &Path, env: &HubEnv) -> Option<Origin> {
    let c = comps(p);
    let mut root_len = (1..c.len())
        .find(|&i| c[i] == Some("datasets") && c[i - 1] == Some("huggingface"))
        .map(|i| i + 1);
    if root_len.is_none() {
        root_len = env.hf_datasets_caches().iter().find_map(|r| inside(p, r));
    }
    let n = root_len?;
    // The file must be below a dataset folder.
    if c.len() < n + 2 {
        return Some(Origin::new(provider::HUGGINGFACE));
    }
    let folder = c[n]?;
    if folder == "downloads" || folder.starts_with(['_', '.']) || folder.ends_with(".lock") {
        return Some(Origin::new(provider::HUGGINGFACE));
    }
    let config = c.get(n + 1).copied().flatten();
    let hash_dir = (c.len() > n + 4).then(|| c[n + 3]).flatten();
    let cache_dir = hash_dir.map(|_| prefix(p, n + 4));
    if HF_PACKAGED_BUILDERS.contains(&folder) {
        let mut o = Origin::new(provider::LOCAL);
        o.name = Some(match config {
            Some(cfg) if c.len() > n + 2 => format!("{folder}/{cfg}"),
            _ => folder.to_string(),
        });
        o.repo_root = cache_dir;
        return Some(o);
    }
    let (org, name) = match folder.split_once("___") {
        Some((o, n)) if !o.is_empty() && !n.is_empty() => (Some(o), n),
        _ => (None, folder),
    };
    // For Hub datasets without a loading script the hash dir is the Hub commit.
    let revision = hash_dir
        .filter(|h| is_hex(h, 40))
        .map(|h| h.to_ascii_lowercase());
    let mut hubs = env.hf_hub_caches();
    hubs.insert(0, prefix(p, n - 1).join("hub"));
    let (exact, snapshot) = hub_dataset_repo(&hubs, org, name, revision.as_deref())
        .unwrap_or_else(|| (name.to_string(), None));
    Some(hf_origin(
        HfKind::Dataset,
        org,
        &exact,
        revision,
        snapshot.or(cache_dir),
    ))
}

/// Ancestors looked at for a `local_dir` download's metadata.
const LOCAL_DIR_DEPTH: usize = 6;

/// `huggingface_hub` downloads with `local_dir=DIR` keep `DIR/.cache/huggingface/download/
/// REL.metadata`, whose first line is the commit. The repo id is not recorded.
fn hf_local_dir(p: &Path) -> Option<Origin> {
    let mut rel = PathBuf::from(p.file_name()?);
    let mut dir = p.parent()?;
    for _ in 0..LOCAL_DIR_DEPTH {
        let mut meta = dir
            .join(".cache/huggingface/download")
            .join(&rel)
            .into_os_string();
        meta.push(".metadata");
        if let Some(bytes) = read_prefix(Path::new(&meta), 1024) {
            let text = String::from_utf8_lossy(&bytes);
            let commit = text.lines().next().map(str::trim).filter(|l| is_hex(l, 40));
            let mut o = Origin::new(provider::HUGGINGFACE);
            o.revision = commit.map(str::to_ascii_lowercase);
            o.name = local_name(p).0;
            o.repo_root = Some(dir.to_path_buf());
            return Some(o);
        }
        let name = dir.file_name()?;
        rel = Path::new(name).join(rel);
        dir = dir.parent()?;
    }
    None
}

// ---------------------------------------------------------------------------------------
// OpenAI

/// tiktoken's cache key (sha1 of the blob URL) → (encoding, URL).
const TIKTOKEN_BLOBS: &[(&str, &str, &str)] = &[
    (
        "0ea1e91bbb3a60f729a8dc8f777fd2fc07cd8df4",
        "r50k_base",
        "https://openaipublic.blob.core.windows.net/encodings/r50k_base.tiktoken",
    ),
    (
        "ec7223a39ce59f226a68acc30dc1af2788490e15",
        "p50k_base",
        "https://openaipublic.blob.core.windows.net/encodings/p50k_base.tiktoken",
    ),
    (
        "9b5ad71b2ce5302211f9c61530b329a4922fc6a4",
        "cl100k_base",
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    ),
    (
        "fb374d419588a4632f3f557e76b4b70aebbca790",
        "o200k_base",
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    ),
    (
        "6d1cbeee0f20b3d9449abfede4726ed8212e3aee",
        "gpt2",
        "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/vocab.bpe",
    ),
    (
        "6c7ea1a7e38e3a7f062df639a5b80947f075ffe6",
        "gpt2",
        "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/encoder.json",
    ),
];

/// Whisper checkpoint names (`whisper.load_model`'s file stems).
const WHISPER_MODELS: &[&str] = &[
    "tiny.en",
    "tiny",
    "base.en",
    "base",
    "small.en",
    "small",
    "medium.en",
    "medium",
    "large-v1",
    "large-v2",
    "large-v3",
    "large-v3-turbo",
];

fn tiktoken_origin(encoding: Option<&str>, url: Option<&str>) -> Origin {
    let mut o = Origin::new(provider::OPENAI);
    if let Some(enc) = encoding {
        o.name = Some(format!("tiktoken/{enc}"));
        o.id = Some(generic_purl(provider::OPENAI, "tiktoken", enc, None));
    }
    o.source_url = url.map(str::to_string);
    o
}

/// A file in a tiktoken cache dir, named by the sha1 of its URL (temp files add `.UUID.tmp`).
fn tiktoken_cache(p: &Path, env: &HubEnv) -> Option<Origin> {
    let parent = p.parent()?;
    let in_cache = parent.file_name() == Some(OsStr::new("data-gym-cache"))
        || env.tiktoken_caches().iter().any(|r| r == parent);
    if !in_cache {
        return None;
    }
    let file = p.file_name()?.to_str().unwrap_or_default();
    let key = file.split('.').next().unwrap_or_default();
    match TIKTOKEN_BLOBS.iter().find(|(k, _, _)| *k == key) {
        Some((_, enc, url)) => Some(tiktoken_origin(Some(enc), Some(url))),
        None => Some(tiktoken_origin(None, None)),
    }
}

fn whisper_origin(model: &str) -> Origin {
    let mut o = Origin::new(provider::OPENAI);
    o.name = Some(format!("whisper/{model}"));
    o.id = Some(generic_purl(provider::OPENAI, "whisper", model, None));
    o.source_url = Some("https://github.com/openai/whisper".to_string());
    o
}

/// `~/.cache/whisper/NAME.pt` (or `$XDG_CACHE_HOME/whisper`).
fn whisper_cache(p: &Path, env: &HubEnv) -> Option<Origin> {
    let parent = p.parent()?;
    let by_shape = parent.file_name() == Some(OsStr::new("whisper"))
        && parent.parent().and_then(Path::file_name) == Some(OsStr::new(".cache"));
    if !by_shape && !env.whisper_caches().iter().any(|r| r == parent) {
        return None;
    }
    let file = p.file_name()?.to_str()?;
    let stem = file.strip_suffix(".pt")?;
    Some(whisper_origin(stem))
}

// ---------------------------------------------------------------------------------------
// Google

/// `KERAS_HOME/models/FILE` (weights fetched by `keras.utils.get_file`, Keras Applications)
/// and `KERAS_HOME/datasets/…` (`keras.datasets`).
fn keras_cache(p: &Path, env: &HubEnv) -> Option<Origin> {
    let c = comps(p);
    let mut root_len = (0..c.len())
        .find(|&i| c[i] == Some(".keras"))
        .map(|i| i + 1);
    if root_len.is_none() {
        root_len = env.keras_homes().iter().find_map(|r| inside(p, r));
    }
    let n = root_len?;
    let sub = c.get(n).copied().flatten();
    let entry = c.get(n + 1).copied().flatten();
    let mut o = Origin::new(provider::GOOGLE);
    match (sub, entry) {
        (Some("models"), Some(file)) => {
            let stem = stem(file);
            o.name = Some(format!("keras/{stem}"));
            o.id = Some(generic_purl(provider::GOOGLE, "keras", stem, None));
            o.repo_root = (c.len() > n + 2).then(|| prefix(p, n + 2));
        }
        (Some("datasets"), Some(entry)) => {
            let stem = stem(entry);
            o.name = Some(format!("keras/datasets/{stem}"));
            o.id = Some(generic_purl(
                provider::GOOGLE,
                "keras",
                &format!("datasets/{stem}"),
                None,
            ));
            o.repo_root = (c.len() > n + 2).then(|| prefix(p, n + 2));
        }
        _ => {}
    }
    Some(o)
}

/// TF-Hub: `CACHE/SHA1(handle)/…`, with `CACHE/SHA1.descriptor.txt` holding `Module: URL`.
fn tfhub_cache(p: &Path, env: &HubEnv) -> Option<Origin> {
    let c = comps(p);
    let mut root_len = (0..c.len())
        .find(|&i| c[i] == Some("tfhub_modules"))
        .map(|i| i + 1);
    if root_len.is_none() {
        root_len = env.tfhub_caches().iter().find_map(|r| inside(p, r));
    }
    let n = root_len?;
    let mut o = Origin::new(provider::GOOGLE);
    let Some(module) = c.get(n).copied().flatten() else {
        return Some(o);
    };
    if c.len() < n + 2 || !is_hex(module, 40) {
        return Some(o);
    }
    let module_dir = prefix(p, n + 1);
    o.repo_root = Some(module_dir.clone());
    let desc = prefix(p, n).join(format!("{module}.descriptor.txt"));
    let url = read_prefix(&desc, 4096).and_then(|b| {
        String::from_utf8_lossy(&b)
            .lines()
            .find_map(|l| l.strip_prefix("Module:").map(|u| u.trim().to_string()))
    });
    if let Some(url) = url {
        if let Some(k) = origin_from_url(&url) {
            return Some(Origin {
                repo_root: Some(module_dir),
                ..k
            });
        }
        o.source_url = Some(url);
    }
    Some(o)
}

fn kaggle_model(owner: &str, model: &str, fw: &str, var: &str, ver: Option<&str>) -> Origin {
    let handle = format!("{owner}/{model}/{fw}/{var}");
    let mut o = Origin::new(provider::GOOGLE);
    o.id = Some(generic_purl(provider::GOOGLE, "kaggle", &handle, ver));
    o.source_url = Some(match ver {
        Some(v) => format!("https://www.kaggle.com/models/{handle}/{v}"),
        None => format!("https://www.kaggle.com/models/{handle}"),
    });
    o.revision = ver.map(str::to_string);
    o.name = Some(handle);
    o
}

fn kaggle_dataset(owner: &str, dataset: &str, ver: Option<&str>) -> Origin {
    let handle = format!("{owner}/{dataset}");
    let mut o = Origin::new(provider::GOOGLE);
    o.id = Some(generic_purl(
        provider::GOOGLE,
        "kaggle",
        &format!("datasets/{handle}"),
        ver,
    ));
    o.source_url = Some(match ver {
        Some(v) => format!("https://www.kaggle.com/datasets/{handle}/versions/{v}"),
        None => format!("https://www.kaggle.com/datasets/{handle}"),
    });
    o.revision = ver.map(str::to_string);
    o.name = Some(handle);
    o
}

/// KaggleHub: `CACHE/models/OWNER/MODEL/FRAMEWORK/VARIATION/VERSION/…`,
/// `CACHE/datasets/OWNER/DATASET/versions/VERSION/…`, `CACHE/competitions/NAME/…`.
fn kagglehub_cache(p: &Path, env: &HubEnv) -> Option<Origin> {
    let c = comps(p);
    let kinds = [Some("models"), Some("datasets"), Some("competitions")];
    let mut root_len = (0..c.len())
        .find(|&i| c[i] == Some("kagglehub") && kinds.contains(&c.get(i + 1).copied().flatten()))
        .map(|i| i + 1);
    if root_len.is_none() {
        root_len = env.kagglehub_caches().iter().find_map(|r| inside(p, r));
    }
    let n = root_len?;
    let at = |k: usize| c.get(n + k).copied().flatten();
    let mut o = match at(0) {
        Some("models") if c.len() > n + 6 => {
            kaggle_model(at(1)?, at(2)?, at(3)?, at(4)?, Some(at(5)?))
        }
        Some("datasets") if c.len() > n + 5 && at(3) == Some("versions") => {
            kaggle_dataset(at(1)?, at(2)?, Some(at(4)?))
        }
        Some("competitions") if c.len() > n + 2 => {
            let comp = at(1)?;
            let mut o = Origin::new(provider::GOOGLE);
            o.name = Some(comp.to_string());
            o.id = Some(generic_purl(
                provider::GOOGLE,
                "kaggle",
                &format!("competitions/{comp}"),
                None,
            ));
            o.source_url = Some(format!("https://www.kaggle.com/competitions/{comp}"));
            o.repo_root = Some(prefix(p, n + 2));
            return Some(o);
        }
        _ => return Some(Origin::new(provider::GOOGLE)),
    };
    let root_depth = if at(0) == Some("models") { 6 } else { 5 };
    o.repo_root = Some(prefix(p, n + root_depth));
    Some(o)
}

// ---------------------------------------------------------------------------------------
// Dispatch

fn hub_cache(p: &Path, env: &HubEnv) -> Option<Origin> {
    hf_hub(p)
        .or_else(|| kagglehub_cache(p, env))
        .or_else(|| tfhub_cache(p, env))
        .or_else(|| keras_cache(p, env))
        .or_else(|| tiktoken_cache(p, env))
        .or_else(|| whisper_cache(p, env))
        .or_else(|| hf_datasets(p, env))
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
    None
}

/// A Hugging Face repo reference (`ORG/NAME`, `NAME`, or a `huggingface.co` URL).
fn parse_hf_repo_ref(s: &str) -> Option<Origin> {
    let s = s.trim();
    if s.contains("://") {
        return origin_from_url(s).filter(|o| o.provider == provider::HUGGINGFACE);
    }
    let valid = |x: &str| {
        !x.is_empty()
            && x.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    match s.split_once('/') {
        Some((org, name)) if valid(org) && valid(name) => {
            Some(hf_origin(HfKind::Model, Some(org), name, None, None))
        }
        None if valid(s) => Some(hf_origin(HfKind::Model, None, s, None, None)),
        _ => None,
    }
}

/// An origin from a hub URL: Hugging Face (`/ORG/NAME`, `/datasets/…`, `/spaces/…`, with an
/// optional `/tree|resolve|blob|commit/REV`), Kaggle models and datasets, TF-Hub handles.
fn origin_from_url(url: &str) -> Option<Origin> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.to_ascii_lowercase();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match host.as_str() {
        "huggingface.co" | "www.huggingface.co" | "hf.co" => {
            let (kind, segs) = match segs.first().copied() {
                Some("datasets") => (HfKind::Dataset, &segs[1..]),
                Some("spaces") => (HfKind::Space, &segs[1..]),
                Some(
                    "docs" | "blog" | "models" | "api" | "settings" | "papers" | "organizations",
                ) => return None,
                _ => (HfKind::Model, &segs[..]),
            };
            let rev_at = segs
                .iter()
                .position(|s| matches!(*s, "tree" | "resolve" | "blob" | "commit"));
            let repo = &segs[..rev_at.unwrap_or(segs.len())];
            let revision = rev_at
                .and_then(|i| segs.get(i + 1))
                .filter(|r| is_hex(r, 40))
                .map(|r| r.to_string());
            let mut o = match repo {
                [org, name] => hf_origin(kind, Some(org), name, revision, None),
                [name] if kind == HfKind::Model => hf_origin(kind, None, name, revision, None),
                _ => return None,
            };
            o.source_url = Some(url.to_string());
            Some(o)
        }
        "kaggle.com" | "www.kaggle.com" => {
            let mut o = match segs.as_slice() {
                ["models", owner, model, fw, var, ver, ..]
                    if ver.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    kaggle_model(owner, model, fw, var, Some(*ver))
                }
                ["models", owner, model, fw, var, ..] => kaggle_model(owner, model, fw, var, None),
                ["datasets", owner, ds, "versions", ver, ..] => {
                    kaggle_dataset(owner, ds, Some(*ver))
                }
                ["datasets", owner, ds, ..] => kaggle_dataset(owner, ds, None),
                _ => return None,
            };
            o.source_url = Some(url.to_string());
            Some(o)
        }
        "tfhub.dev" | "www.tfhub.dev" => {
            let (handle, version) = match segs.split_last() {
                Some((last, head))
                    if !head.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    (head.join("/"), Some(*last))
                }
                _ if !segs.is_empty() => (segs.join("/"), None),
                _ => return None,
            };
            let mut o = Origin::new(provider::GOOGLE);
            o.id = Some(generic_purl(provider::GOOGLE, "tfhub", &handle, version));
            o.revision = version.map(str::to_string);
            o.name = Some(handle);
            o.source_url = Some(url.to_string());
            Some(o)
        }
        _ => None,
    }
}

/// GGUF header metadata.
fn from_metadata(fields: &Fields) -> Option<Origin> {
    let url = ["general.source.url", "general.url"]
        .iter()
        .find_map(|k| field(fields, k));
    let gguf_name = field(fields, "general.name");
    if let Some(mut o) =
        field(fields, "general.source.huggingface.repository").and_then(parse_hf_repo_ref)
    {
        if let Some(u) = url.filter(|u| u.contains("huggingface.co") || u.contains("hf.co")) {
            o.source_url = Some(u.to_string());
        }
        return Some(o);
    }
    if let Some(o) = url.and_then(origin_from_url) {
        return Some(o);
    }
    let org = field(fields, "general.organization").map(str::to_ascii_lowercase);
    let arch = field(fields, "general.architecture").map(str::to_ascii_lowercase);
    let provider = match org.as_deref() {
        Some(o) if o.contains("google") || o.contains("deepmind") => provider::GOOGLE,
        Some(o) if o.contains("openai") => provider::OPENAI,
        _ if arch.as_deref().is_some_and(|a| a.contains("gemma")) => provider::GOOGLE,
        _ => return None,
    };
    let mut o = Origin::new(provider);
    o.name = gguf_name.map(str::to_string);
    o.revision = field(fields, "general.version").map(str::to_string);
    o.source_url = url
        .or_else(|| field(fields, "general.repo_url"))
        .map(str::to_string);
    Some(o)
}

/// Well-known file names outside any cache.
fn by_known_name(p: &Path) -> Option<Origin> {
    let file = p.file_name()?.to_str()?;
    if let Some(enc) = file.strip_suffix(".tiktoken") {
        if let Some((_, enc, url)) = TIKTOKEN_BLOBS.iter().find(|(_, e, _)| *e == enc) {
            return Some(tiktoken_origin(Some(enc), Some(url)));
        }
    }
    if let Some(model) = file.strip_suffix(".pt") {
        let in_whisper_dir = p.parent().and_then(Path::file_name) == Some(OsStr::new("whisper"));
        if in_whisper_dir && WHISPER_MODELS.contains(&model) {
            return Some(whisper_origin(model));
        }
    }
    None
}

fn is_gemma(name: &Option<String>) -> bool {
    name.as_deref()
        .is_some_and(|n| n.to_ascii_lowercase().contains("gemma"))
}

// ---------------------------------------------------------------------------------------
// local / unknown

/// File stems that say nothing about which model they belong to: such files are named after
/// their folder.
const GENERIC_STEMS: &[&str] = &[
    "adapter_config",
    "adapter_model",
    "added_tokens",
    "chat_template",
    "checkpoint",
    "config",
    "data",
    "diffusion_pytorch_model",
    "flax_model",
    "generation_config",
    "index",
    "merges",
    "model",
    "model_index",
    "modules",
    "params",
    "preprocessor_config",
    "pytorch_model",
    "readme",
    "saved_model",
    "sentencepiece",
    "special_tokens_map",
    "spiece",
    "test",
    "tf_model",
    "tokenizer",
    "tokenizer_config",
    "train",
    "valid",
    "validation",
    "variables",
    "vocab",
    "weights",
];

/// Sub-folders that hold a part of a model (diffusers components, exports): a file in one is
/// named after the folder above.
const GENERIC_DIRS: &[&str] = &[
    "1_pooling",
    "checkpoints",
    "data",
    "feature_extractor",
    "image_encoder",
    "onnx",
    "openvino",
    "original",
    "scheduler",
    "text_encoder",
    "text_encoder_2",
    "tokenizer",
    "tokenizer_2",
    "transformer",
    "unet",
    "vae",
    "variables",
];

/// The file name without its last extension.
fn stem(file: &str) -> &str {
    match file.rfind('.') {
        Some(i) if i > 0 => &file[..i],
        _ => file,
    }
}

/// Whether a stem is generic: listed, or a shard (`model-00001-of-00004`).
fn is_generic_stem(stem: &str) -> bool {
    let s = stem.to_ascii_lowercase();
    let base = s.split(['.', '-']).next().unwrap_or_default();
    GENERIC_STEMS.contains(&s.as_str())
        || GENERIC_STEMS.contains(&base)
        || s.contains("-of-")
        || s.starts_with("model.")
}

/// Name and folder of a file outside any hub: a file with a generic name (`model.safetensors`,
/// `config.json`, shards) is named after its model folder, skipping component sub-folders
/// (`unet/`, `onnx/`); other files by their stem. The folder is the model folder.
fn local_name(p: &Path) -> (Option<String>, Option<PathBuf>) {
    let Some(file) = p.file_name().and_then(OsStr::to_str) else {
        return (None, p.parent().map(Path::to_path_buf));
    };
    let mut dir = p.parent();
    let st = stem(file);
    if !is_generic_stem(st) {
        return (Some(st.to_string()), dir.map(Path::to_path_buf));
    }
    let mut hops = 0;
    while let Some(d) = dir {
        let Some(n) = d.file_name().and_then(OsStr::to_str) else {
            break;
        };
        if hops < 2 && GENERIC_DIRS.contains(&n.to_ascii_lowercase().as_str()) {
            if let Some(up) = d.parent().filter(|u| u.file_name().is_some()) {
                dir = Some(up);
                hops += 1;
                continue;
            }
        }
        return (Some(n.to_string()), Some(d.to_path_buf()));
    }
    (Some(st.to_string()), p.parent().map(Path::to_path_buf))
}

/// System and software trees: never `local`.
const SYSTEM_PREFIXES: &[&str] = &[
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/share",
    "/usr/include",
    "/usr/local/bin",
    "/usr/local/sbin",
    "/usr/local/lib",
    "/usr/local/lib64",
    "/usr/local/share",
    "/usr/local/include",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/bin",
    "/sbin",
    "/etc",
    "/boot",
    "/nix",
    "/gnu",
    "/snap",
    "/proc",
    "/sys",
    "/run",
    "/var/lib",
    "/var/cache",
    "/var/log",
    "/var/spool",
];

/// Folders whose content was installed or cached by a tool, not made by the user.
const TOOL_DIRS: &[&str] = &[
    ".cache",
    ".ollama",
    "dist-packages",
    "node_modules",
    "site-packages",
];

/// Top-level folders that hold users' own files (besides `$HOME` and the process's cwd).
const USER_PREFIXES: &[&str] = &[
    "/home",
    "/root",
    "/srv",
    "/data",
    "/mnt",
    "/media",
    "/tmp",
    "/var/tmp",
    "/dev/shm",
    "/opt",
    "/workspace",
    "/workspaces",
    "/work",
    "/content",
    "/models",
    "/app",
    "/scratch",
];

/// Whether `p` is in the user's own tree, i.e. reported as `local`:
/// 1. never when a component is a tool's folder (`.cache`, `site-packages`, `dist-packages`,
///    `node_modules`, `.ollama`): installed or downloaded by software;
/// 2. never under system trees (`/usr/{bin,sbin,lib*,libexec,share,include}`, the same under
///    `/usr/local`, `/lib*`, `/bin`, `/sbin`, `/etc`, `/boot`, `/nix`, `/gnu`, `/snap`, `/proc`,
///    `/sys`, `/run`, `/var/{lib,cache,log,spool}`), even when `$HOME` is there (service
///    accounts);
/// 3. yes under `$HOME`, under the process's cwd (unless it is `/` or in a system tree: a
///    container's `WORKDIR /usr/src/app` counts), or under `/home`, `/root`,
///    `/srv`, `/data`, `/mnt`, `/media`, `/tmp`, `/var/tmp`, `/dev/shm`, `/opt`, `/workspace(s)`,
///    `/work`, `/content`, `/models`, `/app`, `/scratch`;
/// 4. no otherwise (`unknown`).
pub fn is_user_tree(p: &Path, env: &HubEnv) -> bool {
    let c = comps(p);
    if c.iter().any(|x| x.is_some_and(|x| TOOL_DIRS.contains(&x))) {
        return false;
    }
    let under = |prefix: &str| inside(p, Path::new(prefix)).is_some();
    if SYSTEM_PREFIXES.iter().any(|&s| under(s)) {
        return false;
    }
    let home = env.home.as_deref().filter(|h| *h != Path::new("/"));
    let cwd = env
        .cwd
        .as_deref()
        .filter(|c| *c != Path::new("/") && !SYSTEM_PREFIXES.iter().any(|s| c.starts_with(s)));
    home.into_iter().chain(cwd).any(|r| inside(p, r).is_some())
        || USER_PREFIXES.iter().any(|&s| under(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::symlink;

    const REV: &str = "9bc82a0c4e9a41f3d8b1c5a0e2f7d6c3b4a59687";
    const REV2: &str = "0000000000000000000000000000000000000abc";
    const BLOB: &str = "677e13a5d6c1f0e2b3a4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80912";

    fn env() -> HubEnv {
        HubEnv::default()
    }

    fn none() -> Fields {
        Fields::new()
    }

    /// Builds `ROOT/models--ORG--NAME` with one snapshot linking FILE to a blob.
    fn hf_repo(root: &Path, folder: &str, rev: &str, file: &str) -> (PathBuf, PathBuf) {
        let repo = root.join(folder);
        std::fs::create_dir_all(repo.join("blobs")).unwrap();
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        let snap = repo.join("snapshots").join(rev);
        let link = snap.join(file);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        let blob = repo.join("blobs").join(BLOB);
        std::fs::write(&blob, b"weights").unwrap();
        let depth = file.matches('/').count();
        let target = format!("{}../../blobs/{BLOB}", "../".repeat(depth));
        symlink(target, &link).unwrap();
        std::fs::write(repo.join("refs/main"), rev).unwrap();
        (link, blob)
    }

    #[test]
    fn hf_snapshot_gives_repo_revision_purl_and_snapshot_root() {
        let t = tempfile::tempdir().unwrap();
        let hub = t.path().join("hf/hub");
        let (link, blob) = hf_repo(
            &hub,
            "models--aibom-demo--tiny-bert",
            REV,
            "model.safetensors",
        );
        let o = origin(&blob, &link, &none(), &env());
        assert_eq!(o.provider, provider::HUGGINGFACE);
        assert_eq!(o.name.as_deref(), Some("aibom-demo/tiny-bert"));
        assert_eq!(o.revision.as_deref(), Some(REV));
        assert_eq!(
            o.id.as_deref(),
            Some(format!("pkg:huggingface/aibom-demo/tiny-bert@{REV}").as_str())
        );
        assert_eq!(
            o.source_url.as_deref(),
            Some("https://huggingface.co/aibom-demo/tiny-bert")
        );
        assert_eq!(
            o.repo_root.as_deref(),
            Some(
                hub.join("models--aibom-demo--tiny-bert/snapshots")
                    .join(REV)
                    .as_path()
            )
        );
    }

    #[test]
    fn hf_names_with_double_dash_and_models_without_org() {
        let o = origin(
            Path::new("/x"),
            &Path::new("/srv/cache/models--org--my--model/snapshots")
                .join(REV)
                .join("a/b.bin"),
            &none(),
            &env(),
        );
        assert_eq!(o.name.as_deref(), Some("org/my--model"));
        assert_eq!(
            o.repo_root.as_deref(),
            Some(
                Path::new("/srv/cache/models--org--my--model/snapshots")
                    .join(REV)
                    .as_path()
            )
        );
        let o = origin(
            Path::new("/x"),
            &Path::new("/srv/cache/models--gpt2/snapshots")
                .join(REV)
                .join("config.json"),
            &none(),
            &env(),
        );
        assert_eq!(o.name.as_deref(), Some("gpt2"));
        assert_eq!(
            o.id.as_deref(),
            Some(format!("pkg:huggingface/gpt2@{REV}").as_str())
        );
        assert_eq!(o.source_url.as_deref(), Some("https://huggingface.co/gpt2"));
    }

    #[test]
    fn hf_dataset_and_space_repos() {
        let p = Path::new("/home/u/.cache/huggingface/hub/datasets--stanfordnlp--imdb/snapshots")
            .join(REV)
            .join("plain_text/train-00000-of-00001.parquet");
        let o = origin(&p, &p, &none(), &env());
        assert_eq!(o.name.as_deref(), Some("stanfordnlp/imdb"));
        assert_eq!(
            o.id.as_deref(),
            Some(format!("pkg:huggingface/datasets/stanfordnlp/imdb@{REV}").as_str())
        );
        assert_eq!(
            o.source_url.as_deref(),
            Some("https://huggingface.co/datasets/stanfordnlp/imdb")
        );
        let p = Path::new("/x/spaces--acme--demo/snapshots")
            .join(REV)
            .join("app.json");
        let o = origin(&p, &p, &none(), &env());
        assert_eq!(
            o.source_url.as_deref(),
            Some("https://huggingface.co/spaces/acme/demo")
        );
    }

    #[test]
    fn hf_snapshot_named_by_ref_resolves_through_refs() {
        let t = tempfile::tempdir().unwrap();
        let (link, blob) = hf_repo(t.path(), "models--org--name", "v1.0", "model.safetensors");
        std::fs::write(
            t.path().join("models--org--name/refs/v1.0"),
            format!("{REV2}\n"),
        )
        .unwrap();
        let o = origin(&blob, &link, &none(), &env());
        assert_eq!(o.revision.as_deref(), Some(REV2));
        assert_eq!(
            o.id.as_deref(),
            Some(format!("pkg:huggingface/org/name@{REV2}").as_str())
        );

        // An unresolvable ref: kept as the revision, the purl has no version.
        let (link, blob) = hf_repo(t.path(), "models--org--other", "dev", "model.safetensors");
        std::fs::remove_file(t.path().join("models--org--other/refs/main")).unwrap();
        let o = origin(&blob, &link, &none(), &env());
        assert_eq!(o.revision.as_deref(), Some("dev"));
        assert_eq!(o.id.as_deref(), Some("pkg:huggingface/org/other"));
    }

    #[test]
    fn hf_blob_alone_finds_its_snapshot() {
        let t = tempfile::tempdir().unwrap();
        let (_link, blob) = hf_repo(t.path(), "models--org--name", REV, "sub/model.safetensors");
        // What the procfs tracer sees: only the blob.
        let o = origin(&blob, &blob, &none(), &env());
        assert_eq!(o.name.as_deref(), Some("org/name"));
        assert_eq!(o.revision.as_deref(), Some(REV));
        assert_eq!(
            o.repo_root.as_deref(),
            Some(
                t.path()
                    .join("models--org--name/snapshots")
                    .join(REV)
                    .as_path()
            )
        );
        // A blob no snapshot links to still names the repo.
        let orphan = t.path().join("models--org--name/blobs/deadbeef");
        std::fs::write(&orphan, b"x").unwrap();
        let o = origin(&orphan, &orphan, &none(), &env());
        assert_eq!(o.name.as_deref(), Some("org/name"));
        assert_eq!(o.revision, None);
        assert_eq!(o.id.as_deref(), Some("pkg:huggingface/org/name"));
    }

    #[test]
    fn a_folder_that_merely_looks_like_a_hub_repo_is_not_one() {
        let p = Path::new("/home/u/models--foo--bar/weights.safetensors");
        let o = origin(p, p, &none(), &env());
        assert_eq!(o.provider, provider::LOCAL);
    }

    #[test]
    fn hf_datasets_arrow_cache_names_the_dataset_and_finds_its_card() {
        let t = tempfile::tempdir().unwrap();
        let hf = t.path().join(".cache/huggingface");
        // `datasets` snake-cases the name of `TIGER-Lab/MMLU-Pro` into its cache folder.
        let arrow = hf
            .join("datasets/TIGER-Lab___mmlu-pro/default/0.0.0")
            .join(REV)
            .join("mmlu-pro-test.arrow");
        std::fs::create_dir_all(arrow.parent().unwrap()).unwrap();
        std::fs::write(&arrow, b"x").unwrap();
        // Without the hub repo: the cached name, the cache dir as root.
        let o = origin(&arrow, &arrow, &none(), &env());
        assert_eq!(o.provider, provider::HUGGINGFACE);
        assert_eq!(o.name.as_deref(), Some("TIGER-Lab/mmlu-pro"));
        assert_eq!(o.revision.as_deref(), Some(REV));
        assert_eq!(o.repo_root.as_deref(), arrow.parent());
        // With it (datasets downloads the card there): the exact name and the snapshot.
        let snap = hf
            .join("hub/datasets--TIGER-Lab--MMLU-Pro/snapshots")
            .join(REV);
        std::fs::create_dir_all(&snap).unwrap();
        let o = origin(&arrow, &arrow, &none(), &env());
        assert_eq!(o.name.as_deref(), Some("TIGER-Lab/MMLU-Pro"));
        assert_eq!(
            o.id.as_deref(),
            Some(format!("pkg:huggingface/datasets/TIGER-Lab/MMLU-Pro@{REV}").as_str())
        );
        assert_eq!(
            o.source_url.as_deref(),
            Some("https://huggingface.co/datasets/TIGER-Lab/MMLU-Pro")
        );
        assert_eq!(o.repo_root.as_deref(), Some(snap.as_path()));
    }

    #[test]
    fn hf_datasets_cache_of_local_files_is_local() {
        let p = Path::new("/home/u/.cache/huggingface/datasets/json/default-5f0c6d2d1a3b3c4e/0.0.0/abc/json-train.arrow");
        let o = origin(p, p, &none(), &env());
        assert_eq!(o.provider, provider::LOCAL);
        assert_eq!(o.name.as_deref(), Some("json/default-5f0c6d2d1a3b3c4e"));
    }

    #[test]
    fn hf_datasets_cache_from_env_root() {
        let e = HubEnv::from_environ(b"HF_DATASETS_CACHE=/srv/dscache\0");
        let p = Path::new("/srv/dscache/squad/plain_text/0.0.0/abc/squad-train.arrow");
        let o = origin(p, p, &none(), &e);
        assert_eq!(o.provider, provider::HUGGINGFACE);
        assert_eq!(o.name.as_deref(), Some("squad"));
        assert_eq!(o.revision, None);
    }

    #[test]
    fn hf_local_dir_download_keeps_its_commit() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("mymodel");
        std::fs::create_dir_all(dir.join(".cache/huggingface/download/onnx")).unwrap();
        std::fs::create_dir_all(dir.join("onnx")).unwrap();
        std::fs::write(dir.join("onnx/model.onnx"), b"x").unwrap();
        std::fs::write(
            dir.join(".cache/huggingface/download/onnx/model.onnx.metadata"),
            format!("{REV}\n\"etag\"\n1700000000.0\n"),
        )
        .unwrap();
        let p = dir.join("onnx/model.onnx");
        let o = origin(&p, &p, &none(), &env());
        assert_eq!(o.provider, provider::HUGGINGFACE);
        assert_eq!(o.revision.as_deref(), Some(REV));
        assert_eq!(o.repo_root.as_deref(), Some(dir.as_path()));
        assert_eq!(o.name.as_deref(), Some("mymodel"));
    }

    #[test]
    fn tiktoken_cache_by_url_hash() {
        let t = tempfile::tempdir().unwrap();
        let env =
            HubEnv::from_environ(format!("TIKTOKEN_CACHE_DIR={}\0", t.path().display()).as_bytes());
        let p = t.path().join("9b5ad71b2ce5302211f9c61530b329a4922fc6a4");
        let o = origin(&p, &p, &none(), &env);
        assert_eq!(o.provider, provider::OPENAI);
        assert_eq!(o.name.as_deref(), Some("tiktoken/cl100k_base"));
        assert_eq!(
            o.id.as_deref(),
            Some("pkg:generic/openai/tiktoken/cl100k_base")
        );
        assert_eq!(
            o.source_url.as_deref(),
            Some("https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken")
        );
        // The default location, by shape, with no environment at all.
        let p = Path::new("/tmp/data-gym-cache/fb374d419588a4632f3f557e76b4b70aebbca790");
        let o = origin(p, p, &none(), &HubEnv::default());
        assert_eq!(o.name.as_deref(), Some("tiktoken/o200k_base"));
        // An encoding file by its well-known name, e.g. vendored in an app.
        let p = Path::new("/srv/app/assets/cl100k_base.tiktoken");
        let o = origin(p, p, &none(), &HubEnv::default());
        assert_eq!(o.provider, provider::OPENAI);
        assert_eq!(o.name.as_deref(), Some("tiktoken/cl100k_base"));
        // An unknown blob in the cache is still OpenAI's tokenizer cache.
        let p = Path::new("/tmp/data-gym-cache/1234");
        assert_eq!(
            origin(p, p, &none(), &HubEnv::default()).provider,
            provider::OPENAI
        );
    }

    #[test]
    fn whisper_cache() {
        let e = HubEnv::from_environ(b"HOME=/home/u\0");
        let p = Path::new("/home/u/.cache/whisper/base.en.pt");
        let o = origin(p, p, &none(), &e);
        assert_eq!(o.provider, provider::OPENAI);
        assert_eq!(o.name.as_deref(), Some("whisper/base.en"));
        assert_eq!(o.id.as_deref(), Some("pkg:generic/openai/whisper/base.en"));
        let e = HubEnv::from_environ(b"XDG_CACHE_HOME=/var/xdg\0");
        let p = Path::new("/var/xdg/whisper/large-v3.pt");
        assert_eq!(
            origin(p, p, &none(), &e).name.as_deref(),
            Some("whisper/large-v3")
        );
    }

    #[test]
    fn kagglehub_models_and_datasets() {
        let p = Path::new(
            "/home/u/.cache/kagglehub/models/google/gemma/pyTorch/2b-it/3/model.safetensors",
        );
        let o = origin(p, p, &none(), &env());
        assert_eq!(o.provider, provider::GOOGLE);
        assert_eq!(o.name.as_deref(), Some("google/gemma/pyTorch/2b-it"));
        assert_eq!(o.revision.as_deref(), Some("3"));
        assert_eq!(
            o.id.as_deref(),
            Some("pkg:generic/google/kaggle/google/gemma/pyTorch/2b-it@3")
        );
        assert_eq!(
            o.source_url.as_deref(),
            Some("https://www.kaggle.com/models/google/gemma/pyTorch/2b-it/3")
        );
        assert_eq!(
            o.repo_root.as_deref(),
            Some(Path::new(
                "/home/u/.cache/kagglehub/models/google/gemma/pyTorch/2b-it/3"
            ))
        );
        // Not Google's model, still obtained from Google's hub.
        let p = Path::new(
            "/home/u/.cache/kagglehub/models/metaresearch/llama-3/transformers/8b/1/config.json",
        );
        assert_eq!(origin(p, p, &none(), &env()).provider, provider::GOOGLE);
        // A custom cache root from the environment.
        let e = HubEnv::from_environ(b"KAGGLEHUB_CACHE=/srv/kh\0");
        let p = Path::new("/srv/kh/datasets/uciml/iris/versions/2/Iris.csv");
        let o = origin(p, p, &none(), &e);
        assert_eq!(o.name.as_deref(), Some("uciml/iris"));
        assert_eq!(o.revision.as_deref(), Some("2"));
        assert_eq!(
            o.id.as_deref(),
            Some("pkg:generic/google/kaggle/datasets/uciml/iris@2")
        );
    }

    #[test]
    fn keras_and_tfhub_caches() {
        let e = HubEnv::from_environ(b"HOME=/home/u\0");
        let p = Path::new("/home/u/.keras/models/resnet50_weights_tf_dim_ordering_tf_kernels.h5");
        let o = origin(p, p, &none(), &e);
        assert_eq!(o.provider, provider::GOOGLE);
        assert_eq!(
            o.name.as_deref(),
            Some("keras/resnet50_weights_tf_dim_ordering_tf_kernels")
        );
        let e = HubEnv::from_environ(b"KERAS_HOME=/opt/k\0");
        let p = Path::new("/opt/k/datasets/mnist.npz");
        assert_eq!(
            origin(p, p, &none(), &e).name.as_deref(),
            Some("keras/datasets/mnist")
        );

        let t = tempfile::tempdir().unwrap();
        let e =
            HubEnv::from_environ(format!("TFHUB_CACHE_DIR={}\0", t.path().display()).as_bytes());
        let module = "063d866c06683311b44b4992fd46003be952409c";
        let pb = t.path().join(module).join("saved_model.pb");
        std::fs::create_dir_all(pb.parent().unwrap()).unwrap();
        std::fs::write(&pb, b"x").unwrap();
        std::fs::write(
            t.path().join(format!("{module}.descriptor.txt")),
            "Module: https://tfhub.dev/google/universal-sentence-encoder/4\nDownload Time: x\n",
        )
        .unwrap();
        let o = origin(&pb, &pb, &none(), &e);
        assert_eq!(o.provider, provider::GOOGLE);
        assert_eq!(o.name.as_deref(), Some("google/universal-sentence-encoder"));
        assert_eq!(o.revision.as_deref(), Some("4"));
        assert_eq!(
            o.id.as_deref(),
            Some("pkg:generic/google/tfhub/google/universal-sentence-encoder@4")
        );
        assert_eq!(o.repo_root.as_deref(), pb.parent());
    }

    #[test]
    fn gguf_metadata_beats_a_local_path() {
        let p = Path::new("/srv/models/llama-3-8b.Q4_K_M.gguf");
        let mut f = Fields::new();
        f.insert("general.name".into(), "Llama 3 8B Instruct".into());
        f.insert(
            "general.source.huggingface.repository".into(),
            "meta-llama/Meta-Llama-3-8B-Instruct".into(),
        );
        let o = origin(p, p, &f, &env());
        assert_eq!(o.provider, provider::HUGGINGFACE);
        assert_eq!(
            o.name.as_deref(),
            Some("meta-llama/Meta-Llama-3-8B-Instruct")
        );
        assert_eq!(
            o.id.as_deref(),
            Some("pkg:huggingface/meta-llama/Meta-Llama-3-8B-Instruct")
        );
        assert_eq!(o.repo_root.as_deref(), Some(Path::new("/srv/models")));

        let mut f = Fields::new();
        f.insert("general.organization".into(), "Google".into());
        f.insert("general.name".into(), "Gemma 2 9b It".into());
        f.insert("general.url".into(), "https://ai.google.dev/gemma".into());
        let o = origin(
            Path::new("/srv/m/x.gguf"),
            Path::new("/srv/m/x.gguf"),
            &f,
            &env(),
        );
        assert_eq!(o.provider, provider::GOOGLE);
        assert_eq!(o.name.as_deref(), Some("Gemma 2 9b It"));
        assert_eq!(o.source_url.as_deref(), Some("https://ai.google.dev/gemma"));

        let mut f = Fields::new();
        f.insert(
            "general.source.url".into(),
            "https://huggingface.co/Qwen/Qwen2-7B/tree/main".into(),
        );
        let o = origin(
            Path::new("/srv/m/q.gguf"),
            Path::new("/srv/m/q.gguf"),
            &f,
            &env(),
        );
        assert_eq!(o.name.as_deref(), Some("Qwen/Qwen2-7B"));
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

    #[test]
    fn gemma_by_name() {
        let p = Path::new("/srv/models/gemma-2b-it/model.safetensors");
        let o = origin(p, p, &none(), &env());
        assert_eq!(o.provider, provider::GOOGLE);
        assert_eq!(o.name.as_deref(), Some("gemma-2b-it"));
    }

    #[test]
    fn local_files_are_named_after_their_model_folder_or_stem() {
        let e = HubEnv::from_environ(b"HOME=/home/alice\0");
        let p = Path::new("/home/alice/work/my-bert/model-00001-of-00002.safetensors");
        let o = origin(p, p, &none(), &e);
        assert_eq!(o.provider, provider::LOCAL);
        assert_eq!(o.name.as_deref(), Some("my-bert"));
        assert_eq!(
            o.repo_root.as_deref(),
            Some(Path::new("/home/alice/work/my-bert"))
        );
        assert_eq!(o.id, None);
        let p = Path::new("/srv/sd/my-pipeline/unet/diffusion_pytorch_model.safetensors");
        assert_eq!(
            origin(p, p, &none(), &e).name.as_deref(),
            Some("my-pipeline")
        );
        let p = Path::new("/data/llama-3-8b.Q4_K_M.gguf");
        let o = origin(p, p, &none(), &e);
        assert_eq!(
            (o.provider, o.name.as_deref()),
            (provider::LOCAL, Some("llama-3-8b.Q4_K_M"))
        );
    }

    #[test]
    fn local_vs_unknown() {
        let mut e = HubEnv::from_environ(b"HOME=/var/lib/svc\0");
        e.cwd = Some(PathBuf::from("/code/proj"));
        for p in [
            "/home/bob/m.onnx",
            "/tmp/aibomd-example/data/train.parquet",
            "/code/proj/models/x.pt",
            "/mnt/nfs/m.gguf",
        ] {
            assert!(is_user_tree(Path::new(p), &e), "{p}");
        }
        for p in [
            "/usr/share/model.bin",
            "/home/bob/.venv/lib/python3.11/site-packages/pkg/vocab.txt",
            "/home/bob/.cache/torch/hub/checkpoints/resnet50.pth",
            "/etc/app/config.json",
            "/weird/place/m.bin",
        ] {
            assert!(!is_user_tree(Path::new(p), &e), "{p}");
        }
        // $HOME counts even under a system-looking prefix? No: system trees win.
        assert!(!is_user_tree(Path::new("/var/lib/svc/m.bin"), &e));
        let p = Path::new("/usr/share/ollama/x.gguf");
        assert_eq!(origin(p, p, &none(), &e).provider, provider::UNKNOWN);
        // A container's WORKDIR under /usr is the user's project.
        e.cwd = Some(PathBuf::from("/usr/src/app"));
        assert!(is_user_tree(Path::new("/usr/src/app/model.onnx"), &e));
        assert!(!is_user_tree(Path::new("/usr/src/other/model.onnx"), &e));
        // A cwd of / makes nothing local.
        e.cwd = Some(PathBuf::from("/"));
        assert!(!is_user_tree(Path::new("/weird/m.bin"), &e));
    }

    #[test]
    fn environ_parsing() {
        let e = HubEnv::from_environ(
            b"HOME=/home/u\0HF_HOME=/data/hf\0HF_HOME=/ignored\0TMPDIR=relative\0TMP=/scratch/t\0HUGGINGFACE_HUB_CACHE=/legacy\0KAGGLEHUB_CACHE=\0garbage\0=x\0",
        );
        assert_eq!(e.home.as_deref(), Some(Path::new("/home/u")));
        assert_eq!(e.hf_home.as_deref(), Some(Path::new("/data/hf")));
        assert_eq!(e.tmpdir.as_deref(), Some(Path::new("/scratch/t")));
        assert_eq!(e.hf_hub_cache.as_deref(), Some(Path::new("/legacy")));
        assert_eq!(e.kagglehub_cache, None);
        // HF_HOME: a hub file there without the repo shape is still Hugging Face's.
        let p = Path::new("/data/hf/xet/chunk-cache/abc");
        assert_eq!(origin(p, p, &none(), &e).provider, provider::HUGGINGFACE);
    }

    #[test]
    fn from_process_reads_our_own_environment() {
        let e = HubEnv::from_process(std::process::id());
        assert_eq!(e.cwd, std::env::current_dir().ok());
        if let Some(home) = std::env::var_os("HOME").filter(|h| h.as_bytes().first() == Some(&b'/'))
        {
            assert_eq!(e.home.as_deref(), Some(Path::new(&home)));
        }
        // A process that does not exist: defaults, no panic.
        assert_eq!(HubEnv::from_process(u32::MAX), HubEnv::default());
    }

    #[test]
    fn snake_case_matches_datasets() {
        assert_eq!(snake("UltraChat_200k"), "ultra_chat_200k");
        assert_eq!(snake("HTTPServer"), "http_server");
        assert_eq!(snake("MMLU-Pro"), "mmlu-pro");
        assert_eq!(snake("imdb"), "imdb");
    }
}

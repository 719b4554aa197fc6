//! Hugging Face: the hub cache (with blob → snapshot lookup), the `datasets` Arrow cache,
//! `local_dir` downloads and repo references.
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use aibom_semconv::provider;

use super::local::local_name;
use super::purl::purl_seg;
use super::url::{self, HubUrl};
use super::{comps, inside, is_hex, prefix, read_prefix, HubEnv, Origin};

/// Kind of Hugging Face repo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HfKind {
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
pub(super) fn hf_origin(
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
        kind: None,
        license: None,
        sha256_prefix: None,
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
pub(super) fn hf_hub(p: &Path) -> Option<Origin> {
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
pub(super) fn hf_datasets(p: &Path, env: &HubEnv) -> Option<Origin> {
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
pub(super) fn hf_local_dir(p: &Path) -> Option<Origin> {
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

/// A Hugging Face repo reference (`ORG/NAME`, `NAME`, or a `huggingface.co` URL).
pub(super) fn parse_hf_repo_ref(s: &str) -> Option<Origin> {
    let s = s.trim();
    if s.contains("://") {
        return url::parse(s).as_ref().and_then(from_url);
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

/// A Hugging Face origin from a `huggingface.co` URL (`/ORG/NAME`, `/datasets/…`,
/// `/spaces/…`, with an optional `/tree|resolve|blob|commit/REV`).
pub(super) fn from_url(u: &HubUrl) -> Option<Origin> {
    let segs = &u.segs;
    match u.host.as_str() {
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
            o.source_url = Some(u.url.to_string());
            Some(o)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    use super::super::origin;
    use super::super::tests::{env, none, REV};

    const REV2: &str = "0000000000000000000000000000000000000abc";
    const BLOB: &str = "677e13a5d6c1f0e2b3a4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80912";

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
    fn snake_case_matches_datasets() {
        assert_eq!(snake("UltraChat_200k"), "ultra_chat_200k");
        assert_eq!(snake("HTTPServer"), "http_server");
        assert_eq!(snake("MMLU-Pro"), "mmlu-pro");
        assert_eq!(snake("imdb"), "imdb");
    }
}

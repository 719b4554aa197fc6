//! The `normalize` stage: from a raw access to a record with an absolute, resolved path,
//! size and mtime, attributed (see [`crate::attribute`]) to its process, container and
//! project; accesses that passed the path filter but are no artifact (directories, a
//! README outside a model folder) end here.
//!
//! A process in another mount namespace (a container) reports paths relative to its own
//! root: its files are looked at through `/proc/PID/root` (see [`path::resolve_in`]).
//!
//! When the tracer saw the opened file's identity and metadata in the kernel (eBPF), the
//! resolution of a (file version, path) is cached ([`cache`]): a repeated open costs
//! no system call. Artifact identification (type, format, provider, hashes) is added by
//! later stages.
mod cache;
pub mod path;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::attribute::{Attributor, Hints};
use crate::identify::names::{is_model_marker, CARD_NAMES};
use crate::model::{AccessRecord, Attribution, FileVersion, RawAccess, RecordKind};
use cache::{Cache, Facts};
pub use path::{resolve, resolve_in, Resolved};

/// `[normalize]` settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct NormalizeConfig {
    /// Bytes the cache of resolved (file version, path) pairs may hold; the least recently
    /// used are evicted beyond it (counted in `aibom.normalize.evictions`). 0 turns it off.
    pub cache_bytes: usize,
}

impl Default for NormalizeConfig {
    fn default() -> Self {
        Self {
            cache_bytes: 4 << 20,
        }
    }
}

/// The normalize stage (see the module docs).
pub struct Normalizer {
    cache: Cache,
    /// Denied prefixes, checked again on the resolved path.
    filter: Option<crate::filter::PathFilter>,
}

impl Normalizer {
    /// A stage with `cfg`.
    pub fn new(cfg: &NormalizeConfig) -> Self {
        Self {
            cache: Cache::new(cfg.cache_bytes),
            filter: None,
        }
    }

    /// Drops accesses whose resolved path lies under one of `filter`'s denied prefixes.
    pub fn set_filter(&mut self, filter: crate::filter::PathFilter) {
        self.filter = Some(filter);
    }

    /// Normalizes and attributes one raw access; `None` when it is not an artifact.
    /// `count` is the number of folded repeats (see `dedup`).
    pub fn normalize(
        &mut self,
        raw: &RawAccess,
        count: u64,
        attributor: &mut Attributor,
    ) -> Option<AccessRecord> {
        let proc = attributor.lookup(
            raw.pid,
            Hints {
                comm: raw.comm.as_deref(),
                uid: raw.uid,
                ppid: raw.ppid,
                cgroup_id: raw.cgroup_id,
            },
        );
        // A model card's verdict depends on its folder, which can change while the card
        // does not: cards are decided at each access, never cached.
        let facts = match raw.version().filter(|_| !is_card(&raw.path)) {
            Some(v) => self
                .cache
                .get_or_insert(raw, v, &proc, || facts(raw, &proc))?,
            None => Arc::new(facts(raw, &proc)?),
        };
        if let Some(f) = &self.filter {
            use std::os::unix::ffi::OsStrExt;
            let r = &facts.resolved;
            if f.denied(r.file_path.as_os_str().as_bytes())
                || f.denied(r.absolute_path.as_os_str().as_bytes())
            {
                return None; // a denied tree reached by a relative path or a link
            }
        }
        Some(AccessRecord {
            kind: RecordKind::Access,
            id: Default::default(),
            artifact: None,
            time: raw.time,
            file_path: facts.resolved.file_path.clone(),
            absolute_path: facts.resolved.absolute_path.clone(),
            access_path: raw.path.clone(),
            resolution: facts.resolved.resolution,
            size: facts.version.map(|v| v.size),
            modified: facts.modified,
            inode: raw
                .file_id
                .map(|(_, ino)| ino)
                .or(facts.version.map(|v| v.ino)),
            version: facts.version,
            mode: raw.mode,
            syscall: raw.syscall,
            flags: raw.flags,
            count,
            tracer: raw.tracer,
            origin: aibom_semconv::access_origin::TRACE,
            scan_id: None,
            process: proc,
            refused: false,
            violation: None,
            api: None,
            // how identify can reach this very file again
            opened: Some(std::sync::Arc::new(crate::model::Opened {
                fd: raw.fd,
                kernel_path: raw.kernel_path.clone(),
                mode: raw.file_meta.map(|m| m.mode),
            })),
        })
    }

    /// (cached entries, bytes held, evictions so far).
    pub fn cache_stats(&self) -> (usize, usize, u64) {
        self.cache.stats()
    }
}

/// `/proc/PID/root` of a process in another mount namespace.
fn foreign_root(proc: &Attribution) -> Option<PathBuf> {
    proc.foreign_root
        .then(|| PathBuf::from(format!("/proc/{}/root", proc.pid)))
}

/// Resolves the path, reads the version (from the kernel's facts, else `stat`) and
/// decides whether the file is an artifact; `None` when it is not.
fn facts(raw: &RawAccess, proc: &Attribution) -> Option<Facts> {
    let root = foreign_root(proc);
    let r = resolve_in(raw, root.as_deref());
    let (version, modified, is_dir) = match (raw.version(), raw.file_meta) {
        (Some(v), Some(m)) => (Some(v), Some(m.modified()), m.is_dir()),
        // no kernel facts (fanotify, procfs): a stat of the path, kept only when it is the
        // file the tracer saw (a path swapped since must not lend its size and mtime)
        _ => match std::fs::metadata(path::in_root(root.as_deref(), &r.file_path))
            .map_err(drop)
            .and_then(|m| same_file(&m, raw.file_id).then_some(m).ok_or(()))
        {
            Ok(m) => (
                Some(FileVersion::from_metadata(&m)),
                m.modified().ok(),
                m.is_dir(),
            ),
            Err(_) => (None, None, false),
        },
    };
    if is_dir || !is_artifact_file(&r.absolute_path, root.as_deref()) {
        return None;
    }
    Some(Facts {
        resolved: r,
        version,
        modified,
    })
}

/// True when `m` is the file of `id` (`(st_dev, st_ino)`), or nothing is known to compare.
fn same_file(m: &std::fs::Metadata, id: Option<(u64, u64)>) -> bool {
    use std::os::unix::fs::MetadataExt;
    id.is_none_or(|id| id == (m.dev(), m.ino()))
}

/// False for files that passed the path filter but are not artifacts: READMEs outside
/// model folders, Python path-configuration files. `root`: see [`foreign_root`].
fn is_artifact_file(absolute_path: &Path, root: Option<&Path>) -> bool {
    let name = |p: &std::path::Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default()
    };
    let file = name(absolute_path);
    if file.ends_with(".pth") && is_python_site_dir(absolute_path) {
        return false; // a Python path-configuration file, not PyTorch weights
    }
    if file.ends_with(".tar") {
        // only a dataset's shards: numbered (`shard-000123.tar`) or in a split folder
        let folder = absolute_path.parent().and_then(|d| d.file_name());
        return crate::identify::whole::part_name(&file, folder.and_then(|f| f.to_str())).is_some();
    }
    if !CARD_NAMES.contains(&file.as_str()) {
        return true;
    }
    let Some(dir) = absolute_path.parent() else {
        return false;
    };
    let Ok(entries) = std::fs::read_dir(path::in_root(root, dir)) else {
        return false;
    };
    entries
        .flatten()
        .take(4096)
        .any(|e| is_model_marker(&name(&e.path())))
}

/// True when the path as passed names a model card (`README.md`).
fn is_card(path: &[u8]) -> bool {
    let name = path.rsplit(|b| *b == b'/').next().unwrap_or_default();
    CARD_NAMES
        .iter()
        .any(|c| name.eq_ignore_ascii_case(c.as_bytes()))
}

fn is_python_site_dir(p: &std::path::Path) -> bool {
    p.parent()
        .and_then(|d| d.file_name())
        .is_some_and(|d| d == "site-packages" || d == "dist-packages")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FileMeta;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;

    /// An open as the eBPF tracer reports it: identity and metadata from the kernel.
    fn kernel_open(path: &Path) -> RawAccess {
        let m = std::fs::metadata(path).unwrap();
        RawAccess {
            flags: Some(0),
            syscall: Some("openat"),
            file_id: Some((m.dev(), m.ino())),
            file_meta: Some(FileMeta {
                size: m.len(),
                mtime_ns: m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128,
                mode: m.mode(),
            }),
            ..RawAccess::read_by_us(path.as_os_str().as_bytes())
        }
    }

    #[test]
    fn a_denied_tree_reached_through_a_link_or_dots_is_dropped() {
        let target = Path::new("/etc/ld.so.cache"); // under the default "/etc/ld.so"
        if !target.is_file() {
            return eprintln!("SKIP: no {} on this host", target.display());
        }
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("m.safetensors");
        std::os::unix::fs::symlink(target, &link).unwrap();
        let filter = crate::filter::FilterConfig::default().matcher();
        assert!(
            filter.matches(link.as_os_str().as_bytes()),
            "the path as passed passes"
        );
        let mut attributor = Attributor::new(&Default::default(), "t", None).unwrap();
        let raw = RawAccess::read_by_us(link.as_os_str().as_bytes());
        let mut plain = Normalizer::new(&NormalizeConfig::default());
        assert!(plain.normalize(&raw, 1, &mut attributor).is_some());
        let mut n = Normalizer::new(&NormalizeConfig::default());
        n.set_filter(filter);
        assert!(
            n.normalize(&raw, 1, &mut attributor).is_none(),
            "resolved into /etc/ld.so*"
        );
        // and with dots in an absolute path
        let dots = format!("{}/../../../../../../etc/ld.so.cache", dir.path().display());
        let raw = RawAccess::read_by_us(dots.as_bytes());
        assert!(n.normalize(&raw, 1, &mut attributor).is_none());
    }

    #[test]
    fn repeated_opens_hit_the_cache_and_a_readme_follows_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        let (model, card) = (dir.path().join("w.gguf"), dir.path().join("README.md"));
        std::fs::write(&card, b"# card").unwrap();
        let mut n = Normalizer::new(&NormalizeConfig::default());
        let mut at = Attributor::new(&Default::default(), "p", None).unwrap();
        // a README alone is no artifact...
        assert!(n.normalize(&kernel_open(&card), 1, &mut at).is_none());
        // ...until a model sits beside it, although the README itself did not change
        std::fs::write(&model, b"GGUF").unwrap();
        let r = n.normalize(&kernel_open(&card), 1, &mut at).unwrap();
        assert_eq!(*r.file_path, *card);
        // the model: resolved once, then served from the cache (same facts, no new entry)
        let a = n.normalize(&kernel_open(&model), 1, &mut at).unwrap();
        let entries = n.cache_stats().0;
        let b = n.normalize(&kernel_open(&model), 1, &mut at).unwrap();
        assert!(
            Arc::ptr_eq(&a.file_path, &b.file_path),
            "second open not from the cache"
        );
        assert_eq!(n.cache_stats().0, entries);
        assert_eq!(b.size, Some(4));
        assert_eq!(b.version, a.version);
    }

    #[test]
    fn a_path_swapped_since_the_open_lends_no_size_or_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let (model, other) = (dir.path().join("m.gguf"), dir.path().join("o"));
        std::fs::write(&model, b"GGUF").unwrap();
        std::fs::write(&other, b"secret bytes").unwrap();
        let m = std::fs::metadata(&model).unwrap();
        // as the fanotify tracer reports it: identity, no metadata
        let raw = RawAccess {
            file_id: Some((m.dev(), m.ino())),
            ..RawAccess::read_by_us(model.as_os_str().as_bytes())
        };
        std::fs::rename(&other, &model).unwrap();
        let mut n = Normalizer::new(&NormalizeConfig::default());
        let mut at = Attributor::new(&Default::default(), "p", None).unwrap();
        let r = n.normalize(&raw, 1, &mut at).unwrap();
        assert_eq!((r.size, r.modified, r.version), (None, None, None));
    }

    #[test]
    fn the_cache_stays_within_its_bytes_and_counts_evictions() {
        let dir = tempfile::tempdir().unwrap();
        let mut n = Normalizer::new(&NormalizeConfig { cache_bytes: 4096 });
        let mut at = Attributor::new(&Default::default(), "p", None).unwrap();
        for i in 0..100 {
            let f = dir.path().join(format!("m{i}.safetensors"));
            std::fs::write(&f, b"x").unwrap();
            n.normalize(&kernel_open(&f), 1, &mut at).unwrap();
        }
        let (entries, bytes, evictions) = n.cache_stats();
        assert!(bytes <= 4096, "{bytes} bytes held");
        assert!(
            entries < 100 && evictions == 100 - entries as u64,
            "{entries} {evictions}"
        );
    }
}

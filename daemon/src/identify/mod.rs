//! Artifact identification: from an accessed file to what it is (type, role, format),
//! where it came from (provider, canonical id, revision, source URL), its license and
//! its exact bytes (sha256).
//!
//! [`Identifier`] caches one [`Artifact`] per file version and name, so repeated
//! accesses cost a hash-map lookup; header reads are bounded; hashing runs on a worker
//! pool off the pipeline.
pub mod accelerator;
pub mod announce;
pub mod classify;
pub mod format;
pub mod hash;
pub mod license;
pub mod names;
pub mod provider;

use std::path::Path;
use std::sync::Arc;

use aibom_semconv::hash_source;
use lru::LruCache;
use serde::{Deserialize, Serialize};

use crate::model::{AccessMode, AccessRecord, Artifact, FileVersion};
use hash::HashPool;
use provider::HubEnv;

/// `[identify]` settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct IdentifyConfig {
    /// Bytes the cache of identified artifacts (per file version and name) may hold; the
    /// least recently used are evicted beyond it (counted in `aibom.identify.evictions`)
    /// and identified again (headers re-read) on their next access.
    pub cache_bytes: usize,
}

impl Default for IdentifyConfig {
    fn default() -> Self {
        Self {
            cache_bytes: 8 << 20,
        }
    }
}

/// Identified artifacts of one file version, by the name it was opened as.
type Names = Vec<(Arc<Path>, Arc<Artifact>)>;

/// Identifies artifacts, with caches and the hash pool.
pub struct Identifier {
    known: LruCache<FileVersion, Names>,
    known_bytes: usize,
    cache_bytes: usize,
    evictions: u64,
    pool: HashPool,
}

impl Identifier {
    /// `hash_workers` threads hash at most `hash_queue` files waiting.
    pub fn new(cfg: &IdentifyConfig, hash_workers: usize, hash_queue: usize) -> Self {
        Self {
            known: LruCache::unbounded(),
            known_bytes: 0,
            cache_bytes: cfg.cache_bytes,
            evictions: 0,
            pool: HashPool::new(hash_workers, hash_queue),
        }
    }

    /// Sets the byte budget of the artifact cache (evicting down to it at the next insert).
    pub fn set_cache_bytes(&mut self, bytes: usize) {
        self.cache_bytes = bytes;
    }

    /// Identifies the file of `rec` (cached per file version and name). Files being
    /// written are identified by name only: their bytes are not final.
    pub fn identify(&mut self, rec: &AccessRecord) -> Arc<Artifact> {
        let writing = rec.mode == AccessMode::Write;
        let version = rec.version.or_else(|| FileVersion::of(&rec.file_path).ok());
        if let (Some(v), false) = (version, writing) {
            let hit = self.known.get(&v).and_then(|names| {
                names
                    .iter()
                    .find(|(p, _)| **p == *rec.absolute_path)
                    .map(|(_, a)| a.clone())
            });
            if let Some(mut a) = hit {
                self.complete(&mut a);
                return a;
            }
        }
        let a = Arc::new(self.identify_now(rec, version, writing));
        // what was seen while being written is not cached: its bytes were not final
        if let (Some(v), false) = (version, writing) {
            self.remember(v, rec.absolute_path.clone(), a.clone());
        }
        a
    }

    /// Reads the header, provider, license; submits the hash.
    fn identify_now(
        &mut self,
        rec: &AccessRecord,
        version: Option<FileVersion>,
        writing: bool,
    ) -> Artifact {
        if let Some(acc) = accelerator::accelerator(&rec.file_path) {
            return Artifact {
                artifact_type: aibom_semconv::artifact_type::ACCELERATOR,
                accelerator: Some(acc),
                ..Default::default()
            };
        }
        let p = &rec.process;
        let env = HubEnv::from_process_env(&p.environment, p.working_directory.as_deref());
        let sniffed = if writing {
            let claimed = format::from_extension(&file_name(&rec.absolute_path))
                .unwrap_or(format::Format::Unknown);
            format::Sniffed::new(claimed)
        } else {
            format::sniff_as(&rec.file_path, claimed_name(rec))
        };
        let origin = provider::origin(&rec.file_path, &rec.absolute_path, &sniffed.fields, &env);
        let kind = origin.kind.unwrap_or_else(|| {
            classify::classify(&rec.absolute_path, sniffed.format, &sniffed.fields)
        });
        let lic = license::license(
            &rec.absolute_path,
            &sniffed.fields,
            origin.repo_root.as_deref(),
        )
        .or(origin.license);
        let mut a = Artifact {
            artifact_type: kind.artifact_type,
            role: kind.role,
            format: sniffed.format.as_str(),
            format_mismatch: sniffed.mismatch.map(|m| m.as_str()),
            format_error: sniffed.error.clone(),
            provider: origin.provider,
            id: origin.id,
            name: origin.name,
            revision: origin.revision,
            source_url: origin.source_url,
            license: lic.as_ref().map(|l| l.id.clone()),
            license_source: lic.map(|l| l.source),
            version,
            ..Default::default()
        };
        let store_sha = (a.provider == aibom_semconv::provider::OLLAMA)
            .then(|| provider::ollama_blob_digest(&rec.file_path))
            .flatten();
        if let Some(sha) = hash::hf_blob_sha256(&rec.file_path) {
            a.sha256 = Some(sha);
            a.sha256_source = Some(hash_source::HF_BLOB_NAME);
        } else if let (Some(sha), false) = (store_sha, writing) {
            a.sha256 = Some(sha.to_string());
            a.sha256_source = Some(hash_source::OLLAMA_DIGEST);
        } else if let (Some(v), false) = (version, writing) {
            self.pool.submit(v, &rec.file_path);
            fill_hash(&mut a, self.pool.cached(&v));
        }
        a
    }

    /// Caches `a` as what `path` at version `v` is; evicts beyond the byte budget.
    fn remember(&mut self, v: FileVersion, path: Arc<Path>, a: Arc<Artifact>) {
        self.known_bytes += entry_bytes(&path, &a);
        self.known.get_or_insert_mut(v, Vec::new).push((path, a));
        while self.known_bytes > self.cache_bytes {
            let Some((_, names)) = self.known.pop_lru() else {
                break;
            };
            self.known_bytes -= names.iter().map(|(p, a)| entry_bytes(p, a)).sum::<usize>();
            self.evictions += 1;
        }
    }

    /// Fills in the hash of `a` when the pool has it by now (copying the artifact only
    /// then).
    pub fn complete(&mut self, a: &mut Arc<Artifact>) {
        if a.sha256.is_some() || a.sha256_error.is_some() {
            return;
        }
        let Some(v) = a.version else { return };
        if let Some(r) = self.pool.cached(&v) {
            fill_hash(Arc::make_mut(a), Some(r));
        }
    }

    /// Versions whose hashing finished since the last call; their cached artifacts now
    /// carry the hash.
    pub fn finished(&mut self) -> Vec<FileVersion> {
        let done = self.pool.poll();
        self.hashed(done)
    }

    /// Waits up to `timeout` for pending hashes; returns the versions that finished.
    pub fn wait(&mut self, timeout: std::time::Duration) -> Vec<FileVersion> {
        let done = self.pool.wait(timeout);
        self.hashed(done)
    }

    fn hashed(&mut self, done: Vec<hash::HashDone>) -> Vec<FileVersion> {
        for d in &done {
            if let Some(names) = self.known.peek_mut(&d.version) {
                for (_, a) in names.iter_mut() {
                    fill_hash(Arc::make_mut(a), Some(d.result.clone()));
                }
            }
        }
        done.into_iter().map(|d| d.version).collect()
    }

    /// Hashes queued or running.
    pub fn pending_hashes(&self) -> usize {
        self.pool.pending()
    }

    /// Hash lookups answered from the cache so far.
    pub fn cache_hits(&self) -> u64 {
        self.pool.cache_hits
    }

    /// Distinct artifact versions known.
    pub fn known(&self) -> usize {
        self.known.len()
    }

    /// Artifact versions evicted from the full cache so far.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }
}

/// The path whose extension says what the file claims to be: the path the program used
/// (a snapshot link, not its blob). When only the kernel's resolved path is known (the
/// process was gone before its relative path could be joined), the raw path still names it.
fn claimed_name(rec: &AccessRecord) -> &Path {
    use std::os::unix::ffi::OsStrExt;
    if rec.absolute_path == rec.file_path {
        let raw = Path::new(std::ffi::OsStr::from_bytes(&rec.access_path));
        if raw.file_name().is_some() {
            return raw;
        }
    }
    &rec.absolute_path
}

/// Sets the hash (or why there is none) from a pool result.
fn fill_hash(a: &mut Artifact, r: Option<Result<String, String>>) {
    match r {
        Some(Ok(sha)) => {
            a.sha256 = Some(sha);
            a.sha256_source = Some(hash_source::COMPUTED);
            a.sha256_error = None;
        }
        Some(Err(e)) => a.sha256_error = Some(e),
        None => {}
    }
}

/// What a cached artifact holds, in bytes (strings, the path, the structs, a list slot).
fn entry_bytes(path: &Path, a: &Artifact) -> usize {
    let s = |v: &Option<String>| v.as_ref().map_or(0, String::len);
    std::mem::size_of::<(Arc<Path>, Arc<Artifact>)>()
        + std::mem::size_of::<Artifact>()
        + 64
        + path.as_os_str().len()
        + s(&a.format_error)
        + s(&a.id)
        + s(&a.name)
        + s(&a.revision)
        + s(&a.source_url)
        + s(&a.license)
        + s(&a.sha256)
        + s(&a.sha256_error)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

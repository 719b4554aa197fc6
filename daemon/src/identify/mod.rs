//! Artifact identification: from an accessed file to what it is (type, role, format),
//! where it came from (provider, canonical id, revision, source URL), its license and
//! its exact bytes (sha256).
//!
//! [`Identifier`] caches one [`Artifact`] per file version and name, so repeated
//! accesses cost a hash-map lookup; header reads are bounded; hashing runs on a worker
//! pool off the pipeline.
pub mod classify;
pub mod format;
pub mod hash;
pub mod license;
pub mod provider;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use aibom_semconv::hash_source;

use crate::model::{AccessMode, AccessRecord, Artifact, FileVersion};
use hash::HashPool;
use provider::HubEnv;

/// Most artifacts and process environments remembered.
const MAX_KNOWN: usize = 100_000;
const MAX_ENVS: usize = 4_096;

/// Identifies artifacts, with caches and the hash pool.
pub struct Identifier {
    known: HashMap<(FileVersion, PathBuf), Artifact>,
    envs: HashMap<u32, HubEnv>,
    pool: HashPool,
}

impl Identifier {
    /// `hash_workers` threads hash at most `hash_queue` files waiting.
    pub fn new(hash_workers: usize, hash_queue: usize) -> Self {
        Self {
            known: HashMap::new(),
            envs: HashMap::new(),
            pool: HashPool::new(hash_workers, hash_queue),
        }
    }

    /// Identifies the file of `rec` (cached per file version and name). Files being
    /// written are identified by name only: their bytes are not final.
    pub fn identify(&mut self, rec: &AccessRecord) -> Artifact {
        let version = FileVersion::of(&rec.file_path).ok();
        let writing = rec.mode == AccessMode::Write;
        let key = version.map(|v| (v, rec.absolute_path.clone()));
        if let Some(a) = key
            .as_ref()
            .and_then(|k| self.known.get(k))
            .filter(|_| !writing)
        {
            let mut a = a.clone();
            self.complete(&mut a);
            return a;
        }
        if self.envs.len() >= MAX_ENVS {
            self.envs.clear();
        }
        let env = self
            .envs
            .entry(rec.pid())
            .or_insert_with(|| HubEnv::from_process(rec.pid()))
            .clone();
        let sniffed = if writing {
            let claimed = format::from_extension(&file_name(&rec.absolute_path))
                .unwrap_or(format::Format::Unknown);
            format::Sniffed::new(claimed)
        } else {
            format::sniff_as(&rec.file_path, claimed_name(rec))
        };
        let origin = provider::origin(&rec.file_path, &rec.absolute_path, &sniffed.fields, &env);
        let kind = classify::classify(&rec.absolute_path, sniffed.format, &sniffed.fields);
        let lic = license::license(
            &rec.absolute_path,
            &sniffed.fields,
            origin.repo_root.as_deref(),
        );
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
        if let Some(sha) = hash::hf_blob_sha256(&rec.file_path) {
            a.sha256 = Some(sha);
            a.sha256_source = Some(hash_source::HF_BLOB_NAME);
        } else if let (Some(v), false) = (version, writing) {
            self.pool.submit(v, &rec.file_path);
            self.complete(&mut a);
        }
        // what was seen while being written is not cached: its bytes were not final
        if let (Some(k), false) = (key, writing) {
            if self.known.len() >= MAX_KNOWN {
                self.known.clear();
            }
            self.known.insert(k, a.clone());
        }
        a
    }

    /// Fills in the hash of `a` when the pool has it by now.
    pub fn complete(&mut self, a: &mut Artifact) {
        if a.sha256.is_some() || a.sha256_error.is_some() {
            return;
        }
        let Some(v) = a.version else { return };
        match self.pool.cached(&v) {
            Some(Ok(sha)) => {
                a.sha256 = Some(sha);
                a.sha256_source = Some(hash_source::COMPUTED);
            }
            Some(Err(e)) => a.sha256_error = Some(e),
            None => {}
        }
        // The cached artifacts are not updated here (that was a scan of all of them per
        // hash): a cache hit in `identify` completes its copy from the pool the same way.
    }

    /// Versions whose hashing finished since the last call.
    pub fn finished(&mut self) -> Vec<FileVersion> {
        self.pool.poll().into_iter().map(|d| d.version).collect()
    }

    /// Waits up to `timeout` for pending hashes; returns the versions that finished.
    pub fn wait(&mut self, timeout: std::time::Duration) -> Vec<FileVersion> {
        self.pool
            .wait(timeout)
            .into_iter()
            .map(|d| d.version)
            .collect()
    }

    /// Hashes queued or running.
    pub fn pending_hashes(&self) -> usize {
        self.pool.pending()
    }

    /// Hash lookups answered from the cache so far.
    pub fn cache_hits(&self) -> u64 {
        self.pool.cache_hits
    }

    /// Distinct artifacts known.
    pub fn known(&self) -> usize {
        self.known.len()
    }

    /// Forgets a process's environment (it exited).
    pub fn forget_process(&mut self, pid: u32) {
        self.envs.remove(&pid);
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

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

//! Artifact identification: from an accessed file to what it is (type, role, format),
//! where it came from (provider, canonical id, revision, source URL), its license and
//! its exact bytes (sha256).
//!
//! [`Identifier`] caches one [`Artifact`] per file version and name, so repeated
//! accesses cost a hash-map lookup; header reads are bounded; hashing runs on a worker
//! pool off the pipeline.
//!
//! Bytes are read only through a descriptor proven to be the file the process opened
//! ([`opened`]), never by path as root; the open and the header read run on a small pool
//! with a timeout ([`io_pool`]) so a stalled filesystem never stalls the pipeline. When
//! the file cannot be reached that way the artifact has no identity (format by name
//! only, no hash) and says why in `identity_error`.
pub mod accelerator;
pub mod announce;
pub mod classify;
pub mod format;
pub mod hash;
pub mod io_pool;
pub mod license;
pub mod names;
pub mod opened;
pub mod provider;
pub mod unsafe_scan;
pub mod whole;

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use aibom_semconv::hash_source;
use lru::LruCache;
use serde::{Deserialize, Serialize};

use crate::model::{AccessMode, AccessRecord, Artifact, FileVersion, Whole};
use hash::HashPool;
use io_pool::IoPool;
use provider::HubEnv;

/// Threads that open and sniff files for the pipeline.
const IO_THREADS: usize = 2;
/// How long the pipeline waits for one file's open and header read.
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one hash may take (a sparse or endless file cannot hold a worker forever).
const HASH_LIMIT: Duration = Duration::from_secs(3600);

/// `[identify]` settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct IdentifyConfig {
    /// Bytes the cache of identified artifacts (per file version and name) may hold; the
    /// least recently used are evicted beyond it (counted in `aibom.identify.evictions`)
    /// and identified again (headers re-read) on their next access.
    pub cache_bytes: usize,
    /// Largest file hashed, in bytes; a bigger one gets `sha256_error` saying so and is
    /// counted in `aibom.hash.skipped` (a sparse 1 TiB file cannot keep a worker busy).
    pub hash_max_bytes: u64,
    /// Bytes the scan of one pickle-based file for dangerous imports may read (opcodes
    /// and short strings; tensor payloads are skipped, not read); a scan stopped there
    /// says so in `aibom.artifact.unsafe_scan_error` and is counted in
    /// `aibom.identify.unsafe_scan.stopped`. 0 turns the scan off.
    pub unsafe_scan_max_bytes: u64,
    /// Bytes of the record of which artifact versions and names were announced
    /// (`aibom.artifact.identified` sent) and of `identified` records waiting for their
    /// hash (at most half); beyond it the least recently announced are forgotten (and may
    /// be announced again), and a record with no room to wait leaves without its hash,
    /// to be announced again once hashed (see [`announce`]).
    pub announce_bytes: usize,
    /// Share of the hash queue (percent, 1 to 100) the files opened by one uid may take:
    /// one user opening many big files cannot keep everyone else's from being hashed.
    /// Files over the share are hashed on a later access.
    pub hash_uid_share_percent: u8,
}

impl IdentifyConfig {
    /// Rejects settings outside their range.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(1..=100).contains(&self.hash_uid_share_percent) {
            anyhow::bail!(
                "identify.hash_uid_share_percent: {} is not a percentage from 1 to 100",
                self.hash_uid_share_percent
            );
        }
        Ok(())
    }
}

impl Default for IdentifyConfig {
    fn default() -> Self {
        Self {
            cache_bytes: 8 << 20,
            hash_max_bytes: 64 << 30,
            unsafe_scan_max_bytes: unsafe_scan::DEFAULT_MAX_BYTES,
            announce_bytes: announce::DEFAULT_BYTES,
            hash_uid_share_percent: hash::DEFAULT_UID_SHARE_PERCENT,
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
    io: IoPool,
    scan_max_bytes: u64,
    scans_stopped: u64,
    /// Listings of many-file wholes.
    listings: whole::Listings,
}

/// The chat templates found in `fields` (see [`format::template`]) as prompt-template
/// artifacts of the model `model`: named after it, linked to it by `whole.id`, hashed
/// over their text. `model_file` is the file or folder that stands for the model when it
/// has no id.
fn chat_templates(
    model: &Artifact,
    fields: &format::Fields,
    model_file: Option<&Path>,
) -> Vec<Arc<Artifact>> {
    let link = model
        .whole
        .as_ref()
        .map(|w| w.id.clone())
        .or_else(|| model.id.clone())
        .or_else(|| model_file.map(|f| format!("file://{}", f.display())));
    format::template::templates(fields)
        .map(|(key, sha)| {
            Arc::new(Artifact {
                artifact_type: aibom_semconv::artifact_type::PROMPT,
                role: Some(aibom_semconv::artifact_role::TEMPLATE),
                format: format::Format::Jinja.as_str(),
                provider: model.provider,
                name: model.name.clone(),
                revision: model.revision.clone(),
                source_url: model.source_url.clone(),
                license: model.license.clone(),
                license_source: model.license_source,
                sha256: Some(sha.to_string()),
                sha256_source: Some(hash_source::EMBEDDED_TEXT),
                whole: link.clone().map(|id| {
                    Arc::new(Whole {
                        id,
                        ..Default::default()
                    })
                }),
                embedded: Some(key.to_string()),
                ..Default::default()
            })
        })
        .collect()
}

impl Identifier {
    /// `hash_workers` threads hash at most `hash_queue` files waiting.
    pub fn new(cfg: &IdentifyConfig, hash_workers: usize, hash_queue: usize) -> Self {
        let mut pool = HashPool::with_limit(hash_workers, hash_queue, Some(HASH_LIMIT));
        pool.set_max_bytes(cfg.hash_max_bytes);
        pool.set_uid_share(cfg.hash_uid_share_percent);
        Self {
            known: LruCache::unbounded(),
            known_bytes: 0,
            cache_bytes: cfg.cache_bytes,
            evictions: 0,
            pool,
            io: IoPool::new(IO_THREADS, IO_TIMEOUT),
            listings: whole::Listings::default(),
            scan_max_bytes: cfg.unsafe_scan_max_bytes,
            scans_stopped: 0,
        }
    }

    /// Applies `cfg` (the cache budget, evicting down to it at the next insert, and the
    /// scan limit for files identified from now on); the hash workers are kept.
    pub fn configure(&mut self, cfg: &IdentifyConfig) {
        self.cache_bytes = cfg.cache_bytes;
        self.scan_max_bytes = cfg.unsafe_scan_max_bytes;
        self.pool.set_max_bytes(cfg.hash_max_bytes);
        self.pool.set_uid_share(cfg.hash_uid_share_percent);
    }

    /// Identifies the file of `rec` (cached per file version and name). Files being
    /// written are identified by name only: their bytes are not final.
    pub fn identify(&mut self, rec: &AccessRecord) -> Arc<Artifact> {
        let writing = rec.mode == AccessMode::Write;
        // the version the tracer (or normalize) saw, never a stat of the path now
        let version = rec.version;
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
        // what was seen while being written is not cached: its bytes were not final; nor
        // is a failed identity (the next access may reach the file)
        if let (Some(v), false, None) = (version, writing, &a.identity_error) {
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
                // named by what it is, the way `aibom.accelerator.devices` lists it
                name: Some(acc.device()),
                accelerator: Some(acc),
                ..Default::default()
            };
        }
        let p = &rec.process;
        let env = HubEnv::from_process_env(&p.environment, p.working_directory.as_deref());
        let mut opened = None;
        let mut identity_error = None;
        let sniffed = if writing {
            let claimed = format::from_extension(&file_name(&rec.absolute_path))
                .unwrap_or(format::Format::Unknown);
            format::Sniffed::new(claimed)
        } else {
            match self.read_opened(rec, version) {
                Ok((file, s)) => {
                    opened = Some(file);
                    s
                }
                Err(e) => {
                    let claimed = format::from_extension(&claimed_name(rec).to_string_lossy())
                        .unwrap_or(format::Format::Unknown);
                    identity_error = Some(e);
                    format::Sniffed::new(claimed)
                }
            }
        };
        // cards, license files and hub metadata beside the file: read as the process
        // sees them (its root) and only when it could read them (see `opened`)
        let listings = &mut self.listings;
        let (origin, kind, lic, whole) = opened::as_process(p.pid, p.uid, p.foreign_root, || {
            let origin =
                provider::origin(&rec.file_path, &rec.absolute_path, &sniffed.fields, &env);
            // the folder of the path as the process used it (a hub snapshot, not the blobs)
            let whole = whole::whole_of(&rec.absolute_path, origin.id.as_deref(), |d, pat| {
                listings.get(d, pat)
            });
            let kind = origin.kind.unwrap_or_else(|| {
                classify::classify(&rec.absolute_path, sniffed.format, &sniffed.fields)
            });
            let lic = license::license(
                &rec.absolute_path,
                &sniffed.fields,
                origin.repo_root.as_deref(),
            );
            (origin, kind, lic, whole)
        });
        let lic = lic.or(origin.license.clone());
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
            sha256_claimed: origin.sha256_prefix,
            version,
            whole: whole.map(Arc::new),
            ..Default::default()
        };
        // gguf-split writes `general.name` into the first split only: the others take
        // the whole's name (`tiny-00002-of-00003.gguf` → `tiny`), not their folder's
        if let (Some(w), None, format::Format::Gguf) = (&a.whole, &a.id, sniffed.format) {
            if !sniffed.fields.contains_key("general.name") {
                let unsharded = w.id.rsplit('#').next().unwrap_or_default();
                a.name = Some(unsharded.trim_end_matches(".gguf").to_string());
            }
        }
        let model_file = if sniffed.format == format::Format::Gguf {
            Some(rec.absolute_path.as_ref())
        } else {
            origin.repo_root.as_deref()
        };
        a.inner = chat_templates(&a, &sniffed.fields, model_file);
        if let Some(e) = identity_error {
            a.sha256_error = Some(format!("no identity: {e}"));
            a.identity_error = Some(e);
            return a;
        }
        let store_sha = (a.provider == aibom_semconv::provider::OLLAMA && !writing)
            .then(|| provider::ollama_blob_digest(&rec.file_path))
            .flatten();
        let free = hash::hf_blob_sha256(&rec.file_path)
            .map(|sha| (sha, hash_source::HF_BLOB_NAME))
            .or_else(|| store_sha.map(|sha| (sha.to_string(), hash_source::OLLAMA_DIGEST)));
        let name = file_name(claimed_name(rec));
        let scan = (self.scan_max_bytes > 0 && unsafe_scan::wanted(sniffed.format, &name))
            .then_some((name, self.scan_max_bytes));
        // the workers hash (unless the hash is free) and scan; a free hash waits for the
        // scan only when there is one to wait for
        let queued = match (version, opened) {
            (Some(v), Some(file)) if free.is_none() || scan.is_some() => {
                let job = hash::Job {
                    known_sha256: free.clone(),
                    scan,
                    uid: rec.process.uid,
                };
                let queued = self.pool.submit(v, file, job);
                fill_hash(&mut a, self.pool.cached(&v));
                queued
            }
            _ => false,
        };
        if let (Some((sha, source)), false) = (free, queued) {
            a.sha256 = Some(sha);
            a.sha256_source = Some(source);
        }
        a
    }

    /// Opens the file `rec`'s process opened, verified to be the kernel's `(dev, inode)`
    /// (see [`opened`]), and sniffs its header, on the I/O pool; or says why not.
    fn read_opened(
        &mut self,
        rec: &AccessRecord,
        version: Option<FileVersion>,
    ) -> Result<(File, format::Sniffed), String> {
        use aibom_semconv::path_resolution as how;
        let v = version.ok_or("the tracer gave no file identity")?;
        let pid = rec.process.pid;
        let hint = rec.opened.as_deref();
        let mut paths = Vec::with_capacity(3);
        if let Some(k) = hint.and_then(|h| h.kernel_path.as_deref()) {
            paths.push(opened::path_of(k));
        }
        paths.push(opened::path_of(&rec.access_path));
        // normalize's resolved path, when it is one (symlinks followed in our namespace,
        // never a lexically cleaned path of another namespace); the inode check decides
        if rec.resolution != how::UNRESOLVED && !rec.process.foreign_root {
            paths.push(rec.file_path.to_path_buf());
        }
        paths.retain(|p| p.is_absolute());
        paths.dedup();
        let target = opened::Target {
            pid,
            ppid: rec.process.ppid,
            fd: hint.and_then(|h| h.fd),
            paths,
            dev: v.dev,
            ino: v.ino,
            mode: hint.and_then(|h| h.mode),
        };
        let name = claimed_name(rec).to_string_lossy().into_owned();
        let size = v.size;
        let res = self.io.run(move || {
            let f = opened::open(&target)?;
            let s = format::sniff_reader(&f.file, size, &name);
            Ok((f.file, s))
        });
        res.unwrap_or_else(|e| {
            tracing::warn!(path = %rec.file_path.display(), "{e}");
            Err(e.to_string())
        })
    }

    /// (open and header reads that timed out, refused because the I/O pool was full of
    /// stalled reads) so far.
    pub fn io_stalls(&self) -> (u64, u64) {
        (self.io.timeouts, self.io.refused)
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
            let scan = d.result.unsafe_scan.as_ref();
            if scan.is_some_and(|s| s.error.is_some()) {
                self.scans_stopped += 1;
            }
            if let Some(names) = self.known.peek_mut(&d.version) {
                for (p, a) in names.iter_mut() {
                    // the budget follows the hash's strings, or it drifts below zero
                    self.known_bytes -= entry_bytes(p, a);
                    fill_hash(Arc::make_mut(a), Some(d.result.clone()));
                    self.known_bytes += entry_bytes(p, a);
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

    /// Files not hashed because they are over `hash_max_bytes`, so far.
    pub fn hash_skipped(&self) -> u64 {
        self.pool.skipped
    }

    /// Distinct artifact versions known.
    pub fn known(&self) -> usize {
        self.known.len()
    }

    /// Pickle-based files whose scan for dangerous imports stopped early so far.
    pub fn scans_stopped(&self) -> u64 {
        self.scans_stopped
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

/// Sets the hash (or why there is none) and the unsafe-import scan from a pool result; a
/// computed hash is checked against the prefix the store names the file by, if any.
fn fill_hash(a: &mut Artifact, r: Option<hash::Digest>) {
    let Some(d) = r else { return };
    match d.sha256 {
        Ok(sha) => {
            a.sha256_source = Some(d.source);
            a.sha256_expected = None;
            if let (Some(claim), hash_source::COMPUTED) = (&a.sha256_claimed, d.source) {
                if sha.starts_with(claim.as_str()) {
                    a.sha256_source = Some(hash_source::TORCH_HUB_PREFIX);
                } else {
                    a.sha256_expected = Some(claim.clone());
                }
            }
            a.sha256 = Some(sha);
            a.sha256_error = None;
        }
        Err(e) => a.sha256_error = Some(e),
    }
    a.unsafe_scan = d.unsafe_scan;
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
        + s(&a.sha256_claimed)
        + s(&a.sha256_expected)
        + s(&a.identity_error)
        + a.whole.as_ref().map_or(0, |w| w.id.len() + 128)
        + a.inner.iter().map(|i| entry_bytes(path, i)).sum::<usize>()
        + a.unsafe_scan.as_ref().map_or(0, |u| {
            std::mem::size_of::<crate::model::UnsafeScan>()
                + u.callables.iter().map(|c| c.len() + 24).sum::<usize>()
                + s(&u.error)
        })
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claimed_prefix_is_checked_when_the_hash_arrives() {
        let sha = format!("f37072fd{}", "0".repeat(56));
        let claimed = |p: &str| Artifact {
            sha256_claimed: Some(p.to_string()),
            ..Default::default()
        };
        let computed = |sha: &str| {
            Some(hash::Digest {
                sha256: Ok(sha.to_string()),
                source: hash_source::COMPUTED,
                unsafe_scan: None,
            })
        };
        let mut agree = claimed("f37072fd");
        fill_hash(&mut agree, computed(&sha));
        assert_eq!(agree.sha256_source, Some(hash_source::TORCH_HUB_PREFIX));
        assert_eq!(agree.sha256_expected, None);
        let mut differ = claimed("0badc0de");
        fill_hash(&mut differ, computed(&sha));
        assert_eq!(differ.sha256.as_deref(), Some(sha.as_str()));
        assert_eq!(differ.sha256_source, Some(hash_source::COMPUTED));
        assert_eq!(differ.sha256_expected.as_deref(), Some("0badc0de"));
        let mut none = Artifact::default();
        fill_hash(&mut none, computed(&sha));
        assert_eq!(
            (none.sha256_source, none.sha256_expected),
            (Some(hash_source::COMPUTED), None)
        );
    }
}

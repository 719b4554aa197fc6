//! SHA-256 of artifacts: free for Hugging Face LFS blobs (their name is the hash; Ollama
//! store blobs likewise, see `provider::ollama_blob_digest`), else
//! computed once per file version on a bounded worker pool, off the hot path, streaming
//! (never reading a file into memory), and cached. The same workers scan pickle-based
//! files for dangerous imports ([`super::unsafe_scan`]) on the same descriptor.
use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};

use sha2::{Digest as _, Sha256};

use crate::model::{FileVersion, UnsafeScan};

/// The sha256 a Hugging Face LFS blob path spells: `.../blobs/<64 lowercase hex>`.
///
/// Only the form is checked (a git blob of a small file is named by its 40-hex SHA-1 and
/// is not taken); the content is not re-hashed, which is the point.
pub fn hf_blob_sha256(resolved: &Path) -> Option<String> {
    let name = resolved.file_name()?.to_str()?;
    let parent = resolved.parent()?.file_name()?;
    let hex64 = name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    (parent == "blobs" && hex64).then(|| name.to_string())
}

/// Streams `path` through SHA-256 (see [`sha256_fd`]). For benchmarks and tools: the
/// pipeline never hashes a path, only a descriptor verified to be the opened file.
pub fn sha256_file(path: &Path, version: Option<FileVersion>) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| describe(&e))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let f = File::open(path).map_err(|e| describe(&e))?;
    let v = version.unwrap_or_else(|| FileVersion::from_metadata(&meta));
    sha256_fd(&f, v, None)
}

/// Streams the open file `f` through SHA-256 in chunks of at most 1 MiB, reading at most
/// `version.size` bytes (the size seen at the open: a growing file cannot keep a worker
/// busy), by position (the descriptor's offset is not used). Checks with `fstat` that the
/// file is still `version` afterwards, so a file changed while hashing is not given a
/// wrong hash; gives up after `limit` (checked between reads).
pub fn sha256_fd(
    f: &File,
    version: FileVersion,
    limit: Option<std::time::Duration>,
) -> Result<String, String> {
    sha256_fd_until(f, version, limit, &AtomicBool::new(false))
}

/// [`sha256_fd`] that gives up as soon as `stop` is set (shutdown).
fn sha256_fd_until(
    f: &File,
    version: FileVersion,
    limit: Option<std::time::Duration>,
    stop: &AtomicBool,
) -> Result<String, String> {
    let started = std::time::Instant::now();
    let mut h = Sha256::new();
    // at most 1 MiB, and no bigger than the file: small files are the common case
    let mut buf = vec![0u8; (version.size as usize).clamp(4096, 1 << 20)];
    let mut off = 0u64;
    while off < version.size {
        if stop.load(Ordering::Relaxed) {
            return Err("aibomd stopped before the hash finished".into());
        }
        if limit.is_some_and(|l| started.elapsed() > l) {
            return Err(format!(
                "hash timed out after {} s",
                started.elapsed().as_secs()
            ));
        }
        let want = (version.size - off).min(buf.len() as u64) as usize;
        match f.read_at(&mut buf[..want], off) {
            Ok(0) => break,
            Ok(n) => {
                h.update(&buf[..n]);
                off += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(describe(&e)),
        }
    }
    let now = f.metadata().map_err(|e| describe(&e))?;
    if FileVersion::from_metadata(&now) != version || off != version.size {
        return Err("file changed while hashing".into());
    }
    Ok(hex::encode(h.finalize()))
}

fn describe(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "not found (deleted before hashing)".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// What a worker does with one file besides hashing it.
#[derive(Debug, Clone, Default)]
pub struct Job {
    /// The sha256 and its `aibom.artifact.sha256_source` when known without reading the
    /// file (a store names its blobs by it): not hashed again.
    pub known_sha256: Option<(String, &'static str)>,
    /// Scan for dangerous imports: the name the file was opened as and the byte limit.
    pub scan: Option<(String, u64)>,
    /// The uid of the process that opened it: its jobs count against its share.
    pub uid: Option<u32>,
}

/// What the workers found about one file version.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    /// The sha256, or why there is none.
    pub sha256: Result<String, String>,
    /// Its `aibom.artifact.sha256_source`.
    pub source: &'static str,
    /// The scan for dangerous imports, when one was asked for.
    pub unsafe_scan: Option<UnsafeScan>,
}

/// A finished hash job.
#[derive(Debug, Clone)]
pub struct HashDone {
    pub version: FileVersion,
    pub result: Digest,
}

/// Runs `job` on `file` (verified to be `version`): scan, then hash unless known.
fn work(
    file: &File,
    version: FileVersion,
    job: Job,
    limit: Option<std::time::Duration>,
    stop: &AtomicBool,
) -> Digest {
    let unsafe_scan = job
        .scan
        .map(|(name, max)| super::unsafe_scan::scan(file, version.size, &name, max));
    let (sha256, source) = match job.known_sha256 {
        Some((sha, source)) => (Ok(sha), source),
        None => (
            sha256_fd_until(file, version, limit, stop),
            aibom_semconv::hash_source::COMPUTED,
        ),
    };
    Digest {
        sha256,
        source,
        unsafe_scan,
    }
}

/// Hash results remembered: about 250 bytes each (version, 64 hex digits, scan verdict,
/// LRU node; a dangerous file's callables more), so about 8 MiB.
const MAX_RESULTS: std::num::NonZeroUsize = std::num::NonZeroUsize::new(32_768).unwrap();

/// The share of the queue one uid may hold unless set (`identify.hash_uid_share_percent`).
pub const DEFAULT_UID_SHARE_PERCENT: u8 = 50;

/// Jobs one uid may hold: `percent` of a `queue`-job queue, at least one.
fn uid_share(queue: usize, percent: u8) -> usize {
    (queue * usize::from(percent.min(100)) / 100).max(1)
}

/// Worker pool with a bounded queue and a cache of results by [`FileVersion`].
pub struct HashPool {
    jobs: Option<std_mpsc::SyncSender<(FileVersion, File, Job)>>,
    /// Files larger than this are not hashed (`identify.hash_max_bytes`).
    max_bytes: u64,
    /// Jobs one uid may have queued or running at once (`identify.hash_uid_share_percent`
    /// of the queue, half by default), so one user opening many files cannot starve the
    /// others' hashes.
    uid_share: usize,
    /// Jobs the queue holds.
    queue: usize,
    /// Queued or running jobs per uid.
    by_uid: HashMap<u32, usize>,
    done: std_mpsc::Receiver<HashDone>,
    workers: Vec<std::thread::JoinHandle<()>>,
    /// Set when the pool is dropped: a worker stops its current hash at the next chunk.
    stop: Arc<AtomicBool>,
    /// Results by version, least recently used evicted first.
    cache: lru::LruCache<FileVersion, Digest>,
    /// Jobs queued or running, and the uid each is counted for.
    pending: HashMap<FileVersion, Option<u32>>,
    /// Lookups answered from the cache.
    pub cache_hits: u64,
    /// Jobs refused because the queue was full, or the uid had its share of it (retried
    /// on the next access).
    pub queue_full: u64,
    /// Files not hashed because they are larger than `max_bytes`.
    pub skipped: u64,
}

impl HashPool {
    /// `workers` threads, at most `queue` jobs waiting.
    pub fn new(workers: usize, queue: usize) -> Self {
        Self::with_limit(workers, queue, None)
    }

    /// [`HashPool::new`] whose jobs give up after `limit` each.
    pub fn with_limit(workers: usize, queue: usize, limit: Option<std::time::Duration>) -> Self {
        let (jtx, jrx) = std_mpsc::sync_channel::<(FileVersion, File, Job)>(queue.max(1));
        let (dtx, drx) = std_mpsc::channel();
        let jrx = Arc::new(Mutex::new(jrx));
        let stop = Arc::new(AtomicBool::new(false));
        let workers = (0..workers.max(1))
            .map(|i| {
                let (jrx, dtx, stop) = (jrx.clone(), dtx.clone(), stop.clone());
                std::thread::Builder::new()
                    .name(format!("aibomd-hash-{i}"))
                    .spawn(move || loop {
                        let job = jrx.lock().expect("hash queue lock").recv();
                        let Ok((version, file, job)) = job else {
                            return;
                        };
                        let result = work(&file, version, job, limit, &stop);
                        if dtx.send(HashDone { version, result }).is_err() {
                            return;
                        }
                    })
                    .expect("spawn hash worker")
            })
            .collect();
        Self {
            jobs: Some(jtx),
            max_bytes: u64::MAX,
            uid_share: uid_share(queue.max(1), DEFAULT_UID_SHARE_PERCENT),
            queue: queue.max(1),
            by_uid: HashMap::new(),
            done: drx,
            workers,
            stop,
            cache: lru::LruCache::new(MAX_RESULTS),
            pending: HashMap::new(),
            cache_hits: 0,
            queue_full: 0,
            skipped: 0,
        }
    }

    /// Files larger than `bytes` are not hashed: their result is an error saying so.
    pub fn set_max_bytes(&mut self, bytes: u64) {
        self.max_bytes = bytes;
    }

    /// One uid may have `percent` of the queue queued or running (at least one job).
    pub fn set_uid_share(&mut self, percent: u8) {
        self.uid_share = uid_share(self.queue, percent);
    }

    /// The cached result for `v`, if any.
    pub fn cached(&mut self, v: &FileVersion) -> Option<Digest> {
        let r = self.cache.get(v).cloned();
        if r.is_some() {
            self.cache_hits += 1;
        }
        r
    }

    /// Queues `file` (verified to be version `v`) for hashing and `job` unless it is
    /// cached or queued already, larger than the byte limit with no known sha256 (then its
    /// result is that error at once), or the job's uid has its share of the queue. Never
    /// blocks; false when the job was refused (queue or share full).
    pub fn submit(&mut self, v: FileVersion, file: File, job: Job) -> bool {
        if self.cache.contains(&v) || self.pending.contains_key(&v) {
            return true;
        }
        if v.size > self.max_bytes && job.known_sha256.is_none() {
            self.skipped += 1;
            let e = format!(
                "not hashed: {} bytes, over identify.hash_max_bytes ({})",
                v.size, self.max_bytes
            );
            let d = Digest {
                sha256: Err(e),
                source: aibom_semconv::hash_source::COMPUTED,
                unsafe_scan: None,
            };
            self.cache.put(v, d);
            return true;
        }
        let uid = job.uid;
        if let Some(u) = uid {
            if self.by_uid.get(&u).copied().unwrap_or(0) >= self.uid_share {
                self.queue_full += 1;
                return false;
            }
        }
        let Some(jobs) = &self.jobs else { return false };
        match jobs.try_send((v, file, job)) {
            Ok(()) => {
                self.pending.insert(v, uid);
                if let Some(u) = uid {
                    *self.by_uid.entry(u).or_default() += 1;
                }
                true
            }
            Err(_) => {
                self.queue_full += 1;
                false
            }
        }
    }

    /// Finished jobs since the last call (also stored in the cache).
    pub fn poll(&mut self) -> Vec<HashDone> {
        let done: Vec<_> = self.done.try_iter().collect();
        for d in &done {
            self.record(d);
        }
        done
    }

    /// Waits up to `timeout` for every queued job; returns what finished.
    pub fn wait(&mut self, timeout: std::time::Duration) -> Vec<HashDone> {
        let deadline = std::time::Instant::now() + timeout;
        let mut out = Vec::new();
        while !self.pending.is_empty() {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.done.recv_timeout(left) {
                Ok(d) => {
                    self.record(&d);
                    out.push(d);
                }
                Err(_) => break,
            }
        }
        out
    }

    /// Jobs queued or running.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    fn record(&mut self, d: &HashDone) {
        if let Some(Some(u)) = self.pending.remove(&d.version) {
            if let Some(n) = self.by_uid.get_mut(&u) {
                *n -= 1;
                if *n == 0 {
                    self.by_uid.remove(&u);
                }
            }
        }
        self.cache.put(d.version, d.result.clone());
    }
}

impl Drop for HashPool {
    fn drop(&mut self) {
        self.jobs = None; // workers see the queue closed after their current job,
        self.stop.store(true, Ordering::Relaxed); // which stops at its next chunk
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::path::PathBuf;
    use std::time::Duration;

    #[test]
    fn streaming_hash_matches_known_digest() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("m.bin");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(
            sha256_file(&p, None).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hf_blob_names_are_taken_only_in_sha256_form() {
        let sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(
            hf_blob_sha256(&PathBuf::from(format!("/h/blobs/{sha}"))).as_deref(),
            Some(sha)
        );
        // a git (SHA-1) blob name of a small non-LFS file is not a sha256
        assert_eq!(
            hf_blob_sha256(Path::new(
                "/h/blobs/a9993e364706816aba3e25717850c26c9cd0d89d"
            )),
            None
        );
        assert_eq!(
            hf_blob_sha256(&PathBuf::from(format!("/h/other/{sha}"))),
            None
        );
        assert_eq!(
            hf_blob_sha256(&PathBuf::from(format!("/h/blobs/{}", sha.to_uppercase()))),
            None
        );
    }

    #[test]
    fn pool_hashes_once_and_caches() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("m.bin");
        std::fs::write(&p, b"abc").unwrap();
        let v = FileVersion::of(&p).unwrap();
        let mut pool = HashPool::new(2, 4);
        pool.submit(v, File::open(&p).unwrap(), Job::default());
        // already queued: no second job
        pool.submit(v, File::open(&p).unwrap(), Job::default());
        assert_eq!(pool.pending(), 1);
        let done = pool.wait(Duration::from_secs(10));
        assert_eq!(done.len(), 1);
        let d = pool.cached(&v).unwrap();
        assert!(d.sha256.unwrap().starts_with("ba7816bf"));
        assert_eq!(d.unsafe_scan, None);
        assert_eq!(pool.cache_hits, 1);
    }

    #[test]
    fn deleted_and_special_files_give_clear_errors() {
        let d = tempfile::tempdir().unwrap();
        assert!(sha256_file(&d.path().join("gone"), None)
            .unwrap_err()
            .contains("not found"));
        let fifo = d.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert_eq!(sha256_file(&fifo, None).unwrap_err(), "not a regular file");
    }

    #[test]
    fn a_descriptor_is_hashed_up_to_the_size_seen_at_open_or_refused_when_changed() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("m.bin");
        std::fs::write(&p, b"abc").unwrap();
        let v = FileVersion::of(&p).unwrap();
        let f = File::open(&p).unwrap();
        assert!(sha256_fd(&f, v, None).unwrap().starts_with("ba7816bf"));
        // the file grew after the open: at most 3 bytes are read, and the change is seen
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"more")
            .unwrap();
        assert_eq!(
            sha256_fd(&f, v, None).unwrap_err(),
            "file changed while hashing"
        );
        // a sparse giant is cut off by the time limit, not read to its end
        let big = d.path().join("sparse");
        let g = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&big)
            .unwrap();
        g.set_len(1 << 40).unwrap();
        let v = FileVersion::of(&big).unwrap();
        let e = sha256_fd(&g, v, Some(Duration::from_millis(1))).unwrap_err();
        assert!(e.contains("timed out"), "{e}");
    }

    /// A sparse file of `len` bytes (holes: no disk used) and its version.
    fn sparse(dir: &Path, name: &str, len: u64) -> (File, FileVersion) {
        let p = dir.join(name);
        File::create(&p).unwrap().set_len(len).unwrap();
        let f = File::open(&p).unwrap();
        let v = FileVersion::from_metadata(&f.metadata().unwrap());
        (f, v)
    }

    fn of_uid(uid: u32) -> Job {
        Job {
            uid: Some(uid),
            ..Job::default()
        }
    }

    #[test]
    fn a_file_over_hash_max_bytes_is_not_hashed_and_says_why() {
        let d = tempfile::tempdir().unwrap();
        let (f, v) = sparse(d.path(), "x.safetensors", 1 << 40);
        let mut pool = HashPool::new(1, 4);
        pool.set_max_bytes(1 << 30);
        pool.submit(v, f, of_uid(1000));
        assert_eq!((pool.pending(), pool.skipped), (0, 1), "no job queued");
        let e = pool.cached(&v).unwrap().sha256.unwrap_err();
        assert!(
            e.contains("hash_max_bytes") && e.contains("1099511627776"),
            "{e}"
        );
    }

    #[test]
    fn one_uid_gets_half_the_queue_and_another_still_gets_in() {
        let d = tempfile::tempdir().unwrap();
        // one worker, 4 slots: a uid may hold 2 (running included)
        let mut pool = HashPool::new(1, 4);
        for i in 0..4 {
            let (f, v) = sparse(d.path(), &format!("a{i}"), 1 << 40);
            pool.submit(v, f, of_uid(1000));
        }
        assert_eq!((pool.pending(), pool.queue_full), (2, 2), "uid 1000 capped");
        let (f, v) = sparse(d.path(), "b", 1 << 40);
        pool.submit(v, f, of_uid(2000));
        assert_eq!(pool.pending(), 3, "another uid is not starved");
        assert!(pool.pending.contains_key(&v));
    }

    #[test]
    fn the_uid_share_is_a_setting() {
        let d = tempfile::tempdir().unwrap();
        let mut pool = HashPool::new(1, 4);
        pool.set_uid_share(25);
        for i in 0..3 {
            let (f, v) = sparse(d.path(), &format!("a{i}"), 1 << 40);
            pool.submit(v, f, of_uid(1000));
        }
        assert_eq!(
            (pool.pending(), pool.queue_full),
            (1, 2),
            "25 % of 4 slots: 1"
        );
        pool.set_uid_share(100);
        let (f, v) = sparse(d.path(), "b", 1 << 40);
        pool.submit(v, f, of_uid(1000));
        assert_eq!(pool.pending(), 2, "all of the queue");
    }

    #[test]
    fn dropping_the_pool_stops_a_long_hash_at_once() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sparse.bin");
        let f = File::create(&p).unwrap();
        f.set_len(1 << 40).unwrap(); // 1 TiB of holes: minutes to hash
        let f = File::open(&p).unwrap();
        let v = FileVersion::from_metadata(&f.metadata().unwrap());
        let mut pool = HashPool::new(1, 4);
        pool.submit(v, f, Job::default());
        std::thread::sleep(Duration::from_millis(200));
        let t = std::time::Instant::now();
        drop(pool);
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }
}

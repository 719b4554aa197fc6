//! The on-disk spool: every OTLP request is written here first and removed only once the
//! collector accepted it, so a collector outage (or an aibomd restart) loses nothing and
//! order is kept. Size-capped: past the cap the oldest requests are dropped and counted.
//!
//! One file per request, `{seq:020}-{signal}-{items}.pb`, written to a temp name,
//! fsync'd, renamed and the directory fsync'd before the request counts as kept, so a
//! crash (even of the machine) never leaves a torn request under a final name. What a
//! crash can still leave is checked: a temporary file never renamed is removed and its
//! items counted as dropped; a file read back is decoded and its item count compared with
//! its name, and one that does not match (zero-length, truncated, corrupt) is moved to
//! `quarantine/` and counted, never sent and never silently dropped.
//!
//! A lock file keeps two aibomd processes from sharing one spool: the second one gets its
//! own `pid-N` subdirectory. A `pid-N` directory whose lock is free (its daemon is gone)
//! is adopted by the next aibomd that opens the spool: its requests are moved over and
//! sent; one whose daemon still runs is never touched.
use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use bytes::Bytes;
use nix::fcntl::{Flock, FlockArg};

use super::request::{Request, Signal};

/// Most spool entries [`Spool::next_run`] looks at: bounds its cost when a long outage
/// left a deep spool (requests in flight or waiting for a retry are at its front).
pub const SCAN_WINDOW: usize = 1024;

/// Most bytes of spooled requests also kept in memory, so delivery sends them without
/// reading them back from disk (requests spooled past it, or by an earlier run, are
/// read from their files).
pub const CACHE_BYTES: u64 = 32 << 20;

/// Files of sent requests kept for reuse (renamed to `.free-{n}`) at most: writing a new
/// request into one of them costs no inode allocation, and removing a sent one no unlink.
const MAX_FREE: usize = 16;

/// Quarantined files kept at most (the oldest beyond it are removed; all are counted).
const MAX_QUARANTINE: usize = 64;

/// The subdirectory of files that failed their checks.
pub const QUARANTINE: &str = "quarantine";

/// One spooled request.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: PathBuf,
    pub seq: u64,
    pub signal: Signal,
    pub items: u64,
    pub bytes: u64,
    /// The request's bytes, when they are kept in memory too (see [`CACHE_BYTES`]).
    pub body: Option<Bytes>,
}

/// FIFO of requests on disk.
pub struct Spool {
    dir: PathBuf,
    /// The directory, open for fsync after a rename.
    dir_file: File,
    _lock: Flock<File>,
    entries: VecDeque<Entry>,
    next_seq: u64,
    bytes: u64,
    max_bytes: u64,
    /// Bytes of the entries' in-memory copies.
    cached: u64,
    /// Files of sent requests, to write new ones into (see [`MAX_FREE`]), and the number
    /// of the next one.
    free: Vec<PathBuf>,
    next_free: u64,
    /// Items dropped because the cap was hit, or lost in a crash (temporary files never
    /// renamed, quarantined files).
    pub dropped_items: u64,
    /// Files moved to `quarantine/` (failed their checks).
    pub quarantined: u64,
}

impl Spool {
    /// Opens (creating) the spool in `dir`, taking over what a previous run left there.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Self> {
        let base_dir = dir;
        private_dir(dir).with_context(|| format!("creating spool dir {}", dir.display()))?;
        let lock_file =
            private_file(&dir.join(".lock")).with_context(|| format!("spool {}", dir.display()))?;
        let (dir, lock) = match Flock::lock(lock_file, FlockArg::LockExclusiveNonblock) {
            Ok(l) => (dir.to_path_buf(), l),
            Err(_) => {
                let own = dir.join(format!("pid-{}", std::process::id()));
                private_dir(&own)?;
                let f = private_file(&own.join(".lock"))?;
                let l = Flock::lock(f, FlockArg::LockExclusiveNonblock).map_err(|(_, e)| e)?;
                tracing::info!(dir = %own.display(), "spool in use by another aibomd; using a private one");
                (own, l)
            }
        };
        let mut dropped_items = 0;
        let mut quarantined = 0;
        let mut entries = scan(&dir, &mut dropped_items, &mut quarantined)?;
        let mut next_seq = entries.last().map_or(0, |e| e.seq + 1);
        adopt_dead(
            base_dir,
            &dir,
            &mut entries,
            &mut next_seq,
            &mut dropped_items,
            &mut quarantined,
        );
        if !entries.is_empty() {
            tracing::info!(requests = entries.len(), dir = %dir.display(), "replaying spooled OTLP requests from an earlier run");
        }
        let bytes = entries.iter().map(|e| e.bytes).sum();
        let dir_file = File::open(&dir).with_context(|| format!("opening {}", dir.display()))?;
        Ok(Self {
            dir,
            dir_file,
            _lock: lock,
            entries: entries.into(),
            next_seq,
            bytes,
            max_bytes,
            cached: 0,
            free: Vec::new(),
            next_free: 0,
            dropped_items,
            quarantined,
        })
    }

    /// Appends a request (written to a temporary name, fsync'd, renamed into place and the
    /// directory fsync'd: kept once this returns), dropping the oldest past the cap. Its
    /// bytes stay in memory too while [`CACHE_BYTES`] allows.
    pub fn push(&mut self, req: &Request) -> Result<()> {
        let body = req.body();
        let seq = self.next_seq;
        self.next_seq += 1;
        let name = format!("{seq:020}-{}-{}.pb", req.signal().path(), req.items());
        let path = self.dir.join(&name);
        self.write_file(&path, &body)?;
        let len = body.len() as u64;
        self.bytes += len;
        let body = (self.cached + len <= CACHE_BYTES).then_some(body);
        if body.is_some() {
            self.cached += len;
        }
        self.entries.push_back(Entry {
            path,
            seq,
            signal: req.signal(),
            items: req.items(),
            bytes: len,
            body,
        });
        while self.bytes > self.max_bytes && self.entries.len() > 1 {
            let old = self.entries.pop_front().expect("non-empty");
            self.dropped_items += old.items;
            self.forget(&old);
            let _ = std::fs::remove_file(&old.path);
            tracing::warn!(
                items = old.items,
                cap = self.max_bytes,
                "spool full: dropped the oldest OTLP request"
            );
        }
        Ok(())
    }

    /// Up to `max` oldest requests of the same signal, in order, while they add up to at
    /// most `max_bytes` (at least one): one send after an outage instead of many.
    pub fn front_run(&self, max: usize, max_bytes: u64) -> Vec<Entry> {
        let Some(first) = self.entries.front() else {
            return Vec::new();
        };
        let mut out = vec![first.clone()];
        let mut bytes = first.bytes;
        for e in self.entries.iter().skip(1).take(max.saturating_sub(1)) {
            if e.signal != first.signal || bytes + e.bytes > max_bytes {
                break;
            }
            bytes += e.bytes;
            out.push(e.clone());
        }
        out
    }

    /// The oldest request not in `taken`, and after it further ones of the same signal
    /// (requests of other signals are stepped over, not merged), in order, up to `max`
    /// requests and `max_bytes` (at least one). Looks at most at [`SCAN_WINDOW`] entries.
    pub fn next_run(&self, taken: &HashSet<u64>, max: usize, max_bytes: u64) -> Vec<Entry> {
        let mut free = self
            .entries
            .iter()
            .take(SCAN_WINDOW)
            .filter(|e| !taken.contains(&e.seq));
        let Some(first) = free.next() else {
            return Vec::new();
        };
        let mut out = vec![first.clone()];
        let mut bytes = first.bytes;
        for e in free.filter(|e| e.signal == first.signal) {
            if out.len() >= max || bytes + e.bytes > max_bytes {
                break;
            }
            bytes += e.bytes;
            out.push(e.clone());
        }
        out
    }

    /// True while request `seq` is in the spool (not sent, not dropped at the cap).
    pub fn contains(&self, seq: u64) -> bool {
        self.entries.binary_search_by_key(&seq, |e| e.seq).is_ok()
    }

    /// Writes `body` under a temporary name (a file of a sent request when one is kept,
    /// overwritten in place, else a new one), then renames it to `path`.
    fn write_file(&mut self, path: &Path, body: &[u8]) -> Result<()> {
        if let Some(tmp) = self.free.pop() {
            let reused = std::fs::OpenOptions::new()
                .write(true)
                .open(&tmp)
                .and_then(|mut f| {
                    f.write_all(body)?;
                    if f.metadata()?.len() > body.len() as u64 {
                        f.set_len(body.len() as u64)?;
                    }
                    f.sync_data()
                })
                .and_then(|()| std::fs::rename(&tmp, path))
                .and_then(|()| self.dir_file.sync_all());
            match reused {
                Ok(()) => return Ok(()),
                Err(_) => {
                    let _ = std::fs::remove_file(&tmp); // and write a new file below
                }
            }
        }
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let mut f = private_file(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(body)?;
        f.sync_data()
            .with_context(|| format!("fsync {}", tmp.display()))?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        self.dir_file
            .sync_all()
            .with_context(|| format!("fsync {}", self.dir.display()))?;
        Ok(())
    }

    /// Removes the file of a request that left the spool, or keeps it for reuse.
    fn discard_file(&mut self, path: &Path) {
        if self.free.len() < MAX_FREE {
            let free = self.dir.join(format!(".free-{}", self.next_free));
            self.next_free += 1;
            if std::fs::rename(path, &free).is_ok() {
                self.free.push(free);
                return;
            }
        }
        let _ = std::fs::remove_file(path);
    }

    /// The protobuf bytes of one spooled request: its in-memory copy, else its file,
    /// checked: it must decode to as many items as its name says (a zero-length,
    /// truncated or corrupt file fails; [`Spool::quarantine`] it).
    pub fn read_bytes(e: &Entry) -> Result<Bytes> {
        if let Some(b) = &e.body {
            return Ok(b.clone());
        }
        let b = std::fs::read(&e.path)
            .with_context(|| format!("reading spooled request {}", e.path.display()))?;
        check(e, &b)?;
        Ok(Bytes::from(b))
    }

    /// Moves the file of request `seq` to `quarantine/` (it failed its checks) and counts
    /// it and its items.
    pub fn quarantine(&mut self, seq: u64) {
        if let Ok(pos) = self.entries.binary_search_by_key(&seq, |e| e.seq) {
            let e = self.entries.remove(pos).expect("position is valid");
            self.forget(&e);
            self.dropped_items += e.items;
            self.quarantined += 1;
            quarantine_file(&self.dir, &e.path);
        }
    }

    /// Accounts for `e` leaving the spool (its file is removed by the caller).
    fn forget(&mut self, e: &Entry) {
        self.bytes -= e.bytes;
        if e.body.is_some() {
            self.cached -= e.bytes;
        }
    }

    /// Reads one spooled request.
    pub fn read(e: &Entry) -> Result<Request> {
        let b = std::fs::read(&e.path).context("reading spooled request")?;
        Request::decode(e.signal, &b).context("decoding spooled request")
    }

    /// Removes the request `seq` (sent, or rejected for good).
    pub fn remove(&mut self, seq: u64) {
        if let Ok(pos) = self.entries.binary_search_by_key(&seq, |e| e.seq) {
            let e = self.entries.remove(pos).expect("position is valid");
            self.forget(&e);
            self.discard_file(&e.path);
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Spool {
    /// Files kept for reuse are not kept past the spool's life.
    fn drop(&mut self) {
        for f in self.free.drain(..) {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// Checks that `b`, the file of `e`, holds a request of `e.items` items.
fn check(e: &Entry, b: &[u8]) -> Result<()> {
    let items = Request::decode(e.signal, b)
        .with_context(|| format!("spooled request {} is corrupt", e.path.display()))?
        .items();
    anyhow::ensure!(
        items == e.items,
        "spooled request {} holds {items} of its {} items ({} bytes): truncated",
        e.path.display(),
        e.items,
        b.len()
    );
    Ok(())
}

/// Moves `path` into `dir/quarantine/`, keeping at most [`MAX_QUARANTINE`] files there.
fn quarantine_file(dir: &Path, path: &Path) {
    let q = dir.join(QUARANTINE);
    let moved = private_dir(&q)
        .and_then(|()| std::fs::rename(path, q.join(path.file_name().unwrap_or_default())));
    if let Err(e) = moved {
        tracing::warn!(file = %path.display(), error = %e, "cannot quarantine a spooled request; removing it");
        let _ = std::fs::remove_file(path);
    } else {
        tracing::error!(file = %path.display(), quarantine = %q.display(), "spooled request failed its checks (truncated or corrupt): quarantined, its items counted as dropped");
    }
    if let Ok(rd) = std::fs::read_dir(&q) {
        let mut names: Vec<_> = rd.flatten().map(|e| e.path()).collect();
        if names.len() > MAX_QUARANTINE {
            names.sort();
            for old in &names[..names.len() - MAX_QUARANTINE] {
                let _ = std::fs::remove_file(old);
            }
        }
    }
}

/// The requests in `dir`, oldest first. Cleans up after a crash: files kept for reuse
/// are removed, temporary files never renamed are removed and their items added to
/// `dropped`, empty request files are quarantined (`quarantined`, `dropped`).
fn scan(dir: &Path, dropped: &mut u64, quarantined: &mut u64) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for e in std::fs::read_dir(dir)?.flatten() {
        let name = e.file_name();
        let name = name.as_encoded_bytes();
        let path = e.path();
        if name.starts_with(b".free-") {
            // files kept for reuse by an earlier run: nothing in them is needed
            let _ = std::fs::remove_file(&path);
        } else if name.starts_with(b".") && name.ends_with(b".pb.tmp") {
            let items = std::str::from_utf8(&name[1..name.len() - 4])
                .ok()
                .and_then(|n| parse_name(Path::new(n)))
                .map_or(0, |p| p.2);
            tracing::warn!(file = %path.display(), items, "removing a spool file an earlier aibomd never finished writing; its items are counted as dropped");
            *dropped += items;
            let _ = std::fs::remove_file(&path);
        } else if let Some((seq, signal, items)) = parse_name(&path) {
            let bytes = e.metadata().map(|m| m.len()).unwrap_or(0);
            if bytes == 0 && items > 0 {
                *dropped += items;
                *quarantined += 1;
                quarantine_file(dir, &path);
                continue;
            }
            entries.push(Entry {
                path,
                seq,
                signal,
                items,
                bytes,
                body: None,
            });
        }
    }
    entries.sort_by_key(|e| e.seq);
    Ok(entries)
}

/// Moves the requests of every `base/pid-N` directory whose daemon is gone (its lock is
/// free) into `dir`, after `entries` and in their order, and removes that directory. A
/// directory whose lock is held (a live daemon) is left alone.
fn adopt_dead(
    base: &Path,
    dir: &Path,
    entries: &mut Vec<Entry>,
    next_seq: &mut u64,
    dropped: &mut u64,
    quarantined: &mut u64,
) {
    let Ok(rd) = std::fs::read_dir(base) else {
        return;
    };
    for d in rd.flatten() {
        let other = d.path();
        let is_pid_dir = d
            .file_name()
            .to_str()
            .and_then(|n| n.strip_prefix("pid-"))
            .is_some_and(|n| n.parse::<u32>().is_ok());
        if !is_pid_dir || other == dir || !d.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        // a free lock is a dead daemon; holding it keeps another one from adopting too
        let Ok(lock_file) = File::open(other.join(".lock")) else {
            continue;
        };
        let Ok(_held) = Flock::lock(lock_file, FlockArg::LockExclusiveNonblock) else {
            continue; // alive
        };
        let Ok(theirs) = scan(&other, dropped, quarantined) else {
            continue;
        };
        let n = theirs.len();
        for e in theirs {
            let name = format!("{:020}-{}-{}.pb", *next_seq, e.signal.path(), e.items);
            let to = dir.join(name);
            if std::fs::rename(&e.path, &to).is_ok() {
                entries.push(Entry {
                    path: to,
                    seq: *next_seq,
                    ..e
                });
                *next_seq += 1;
            }
        }
        if let Ok(q) = std::fs::read_dir(other.join(QUARANTINE)) {
            for f in q.flatten() {
                quarantine_file(dir, &f.path());
            }
        }
        let _ = std::fs::remove_dir_all(&other);
        tracing::info!(from = %other.display(), requests = n, "adopted the spool of an aibomd that is gone");
    }
}

fn parse_name(p: &Path) -> Option<(u64, Signal, u64)> {
    let stem = p.file_name()?.to_str()?.strip_suffix(".pb")?;
    let mut it = stem.splitn(3, '-');
    let seq = it.next()?.parse().ok()?;
    let signal = Signal::from_path(it.next()?)?;
    let items = it.next()?.parse().ok()?;
    Some((seq, signal, items))
}

/// Creates `dir` (and missing parents) readable by its owner only, and tightens it when
/// it exists: the spool holds every user's command lines and paths.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Creates (truncating) `path` with mode 0600.
fn private_file(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};

    fn req(n: usize) -> Request {
        Request::Logs(ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: vec![LogRecord::default(); n],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        })
    }

    #[test]
    fn only_the_owner_can_read_the_spool() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("a/spool");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut s = Spool::open(&dir, 1 << 20).unwrap();
        s.push(&req(2)).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700, "an existing spool dir is tightened");
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        assert!(files.len() >= 2, "{files:?}");
        for f in files {
            assert_eq!(mode(&f.path()), 0o600, "{}", f.path().display());
        }
    }

    #[test]
    fn survives_restart_in_order_and_caps_size() {
        let d = tempfile::tempdir().unwrap();
        {
            let mut s = Spool::open(d.path(), 1 << 20).unwrap();
            s.push(&req(1)).unwrap();
            s.push(&req(2)).unwrap();
        }
        let mut s = Spool::open(d.path(), 1 << 20).unwrap();
        assert_eq!(s.len(), 2);
        let e = s.front_run(1, u64::MAX).remove(0);
        let r = Spool::read(&e);
        assert_eq!((e.items, r.unwrap().items()), (1, 1));
        s.remove(e.seq);
        s.push(&req(3)).unwrap();
        let seqs: Vec<_> = s.entries.iter().map(|e| e.items).collect();
        assert_eq!(seqs, vec![2, 3]);
        // a tiny cap keeps only the newest, and counts what it dropped
        let mut s2 = Spool::open(&d.path().join("small"), 10).unwrap();
        for n in [1, 2, 3] {
            s2.push(&req(n)).unwrap();
        }
        assert_eq!(s2.len(), 1);
        assert_eq!(s2.dropped_items, 3);
    }

    #[test]
    fn files_of_sent_requests_are_reused_and_read_back_whole() {
        let d = tempfile::tempdir().unwrap();
        let mut s = Spool::open(d.path(), 1 << 20).unwrap();
        // a big request sent, then a small one written into its file
        s.push(&req(50)).unwrap();
        let e = s.front_run(1, u64::MAX).remove(0);
        s.remove(e.seq);
        assert_eq!(s.free.len(), 1);
        s.push(&req(2)).unwrap();
        assert!(s.free.is_empty());
        let e = s.front_run(1, u64::MAX).remove(0);
        assert_eq!(std::fs::metadata(&e.path).unwrap().len(), e.bytes);
        let on_disk = Entry { body: None, ..e };
        assert_eq!(Spool::read(&on_disk).unwrap().items(), 2);
        s.remove(on_disk.seq);
        drop(s);
        // no file left behind but the lock
        let left: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .filter(|n| n != ".lock")
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    /// The names of the files in `dir` (not directories, not the lock).
    fn files(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_type().unwrap().is_file())
            .map(|e| e.file_name().into_string().unwrap())
            .filter(|n| n != ".lock")
            .collect();
        v.sort();
        v
    }

    #[test]
    fn zero_length_and_truncated_files_are_quarantined_and_counted_not_sent() {
        let d = tempfile::tempdir().unwrap();
        {
            let mut s = Spool::open(d.path(), 1 << 20).unwrap();
            for n in [3, 5, 7] {
                s.push(&req(n)).unwrap();
            }
        }
        // a crash left the first empty and the second cut short
        let names = files(d.path());
        let (empty, cut) = (d.path().join(&names[0]), d.path().join(&names[1]));
        std::fs::File::create(&empty).unwrap();
        let len = std::fs::metadata(&cut).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&cut)
            .unwrap()
            .set_len(len / 2)
            .unwrap();
        let mut s = Spool::open(d.path(), 1 << 20).unwrap();
        // the empty one is caught at open, without reading it
        assert_eq!((s.quarantined, s.dropped_items, s.len()), (1, 3, 2));
        let run = s.front_run(8, u64::MAX);
        let e = Spool::read_bytes(&run[0]).unwrap_err().to_string();
        assert!(e.contains("truncated") || e.contains("corrupt"), "{e}");
        s.quarantine(run[0].seq);
        assert_eq!((s.quarantined, s.dropped_items, s.len()), (2, 8, 1));
        // the intact one is read back whole
        let ok = Spool::read_bytes(&run[1]).unwrap();
        assert_eq!(Request::decode(run[1].signal, &ok).unwrap().items(), 7);
        let q = files(&d.path().join(QUARANTINE));
        assert_eq!(q, vec![names[0].clone(), names[1].clone()]);
    }

    #[test]
    fn a_temporary_file_never_renamed_is_removed_and_its_items_counted() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(".00000000000000000007-logs-9.pb.tmp"), b"par").unwrap();
        let s = Spool::open(d.path(), 1 << 20).unwrap();
        assert_eq!((s.dropped_items, s.len()), (9, 0));
        assert!(files(d.path()).is_empty(), "{:?}", files(d.path()));
    }

    #[test]
    fn a_dead_daemons_pid_dir_is_adopted_and_a_live_ones_left_alone() {
        let d = tempfile::tempdir().unwrap();
        let (dead, live) = (d.path().join("pid-4001"), d.path().join("pid-4002"));
        for (dir, n) in [(&dead, 2), (&live, 4)] {
            let mut s = Spool::open(dir, 1 << 20).unwrap();
            s.push(&req(n)).unwrap();
            s.push(&req(n + 1)).unwrap();
        }
        // the live one's lock is held (flock: per open file, so this conflicts here too)
        let _alive = Spool::open(&live, 1 << 20).unwrap();
        let mut main = {
            let mut s = Spool::open(d.path(), 1 << 20).unwrap();
            assert_eq!(s.len(), 2, "the dead daemon's two requests");
            s.push(&req(1)).unwrap();
            s
        };
        assert!(!dead.exists(), "adopted and removed");
        assert_eq!(
            files(&live).len(),
            2,
            "a live daemon's spool is not touched"
        );
        let items: Vec<u64> = main
            .front_run(8, u64::MAX)
            .iter()
            .map(|e| e.items)
            .collect();
        assert_eq!(
            items,
            vec![2, 3, 1],
            "adopted requests first, in their order"
        );
        for e in main.front_run(8, u64::MAX) {
            assert_eq!(Spool::read(&e).unwrap().items(), e.items);
            main.remove(e.seq);
        }
    }

    #[test]
    fn a_second_process_gets_its_own_spool() {
        let d = tempfile::tempdir().unwrap();
        let a = Spool::open(d.path(), 1 << 20).unwrap();
        let b = Spool::open(d.path(), 1 << 20);
        // flock is per open file description: a second open in the same process conflicts too
        let b = b.unwrap();
        assert_ne!(a.dir(), b.dir());
    }
}

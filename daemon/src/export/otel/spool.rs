//! The on-disk spool: every OTLP request is written here first and removed only once the
//! collector accepted it, so a collector outage (or an aibomd restart) loses nothing and
//! order is kept. Size-capped: past the cap the oldest requests are dropped and counted.
//!
//! One file per request, `{seq:020}-{signal}-{items}.pb`, written to a temp name and
//! renamed, so a crash never leaves a torn request. A lock file keeps two aibomd processes
//! from sharing one spool: the second one gets its own subdirectory.
use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::fcntl::{Flock, FlockArg};

use super::request::{Request, Signal};

/// Most spool entries [`Spool::next_run`] looks at: bounds its cost when a long outage
/// left a deep spool (requests in flight or waiting for a retry are at its front).
pub const SCAN_WINDOW: usize = 1024;

/// One spooled request.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: PathBuf,
    pub seq: u64,
    pub signal: Signal,
    pub items: u64,
    pub bytes: u64,
}

/// FIFO of requests on disk.
pub struct Spool {
    dir: PathBuf,
    _lock: Flock<File>,
    entries: VecDeque<Entry>,
    next_seq: u64,
    bytes: u64,
    max_bytes: u64,
    /// Items dropped because the cap was hit.
    pub dropped_items: u64,
}

impl Spool {
    /// Opens (creating) the spool in `dir`, taking over what a previous run left there.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating spool dir {}", dir.display()))?;
        let lock_file =
            File::create(dir.join(".lock")).with_context(|| format!("spool {}", dir.display()))?;
        let (dir, lock) = match Flock::lock(lock_file, FlockArg::LockExclusiveNonblock) {
            Ok(l) => (dir.to_path_buf(), l),
            Err(_) => {
                let own = dir.join(format!("pid-{}", std::process::id()));
                std::fs::create_dir_all(&own)?;
                let f = File::create(own.join(".lock"))?;
                let l = Flock::lock(f, FlockArg::LockExclusiveNonblock).map_err(|(_, e)| e)?;
                tracing::info!(dir = %own.display(), "spool in use by another aibomd; using a private one");
                (own, l)
            }
        };
        let mut entries: Vec<Entry> = std::fs::read_dir(&dir)?
            .flatten()
            .filter_map(|e| {
                parse_name(&e.path()).map(|(seq, signal, items)| (e, seq, signal, items))
            })
            .map(|(e, seq, signal, items)| Entry {
                bytes: e.metadata().map(|m| m.len()).unwrap_or(0),
                path: e.path(),
                seq,
                signal,
                items,
            })
            .collect();
        entries.sort_by_key(|e| e.seq);
        if !entries.is_empty() {
            tracing::info!(requests = entries.len(), dir = %dir.display(), "replaying spooled OTLP requests from an earlier run");
        }
        let next_seq = entries.last().map_or(0, |e| e.seq + 1);
        let bytes = entries.iter().map(|e| e.bytes).sum();
        Ok(Self {
            dir,
            _lock: lock,
            entries: entries.into(),
            next_seq,
            bytes,
            max_bytes,
            dropped_items: 0,
        })
    }

    /// Appends a request (durably renamed into place), dropping the oldest past the cap.
    pub fn push(&mut self, req: &Request) -> Result<()> {
        let body = req.bytes();
        let seq = self.next_seq;
        self.next_seq += 1;
        let name = format!("{seq:020}-{}-{}.pb", req.signal().path(), req.items());
        let path = self.dir.join(&name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let mut f = File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(&body)?;
        drop(f);
        std::fs::rename(&tmp, &path)?;
        self.bytes += body.len() as u64;
        self.entries.push_back(Entry {
            path,
            seq,
            signal: req.signal(),
            items: req.items(),
            bytes: body.len() as u64,
        });
        while self.bytes > self.max_bytes && self.entries.len() > 1 {
            let old = self.entries.pop_front().expect("non-empty");
            self.dropped_items += old.items;
            self.bytes -= old.bytes;
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

    /// The protobuf bytes of one spooled request.
    pub fn read_bytes(e: &Entry) -> Result<Vec<u8>> {
        std::fs::read(&e.path)
            .with_context(|| format!("reading spooled request {}", e.path.display()))
    }

    /// Reads one spooled request.
    pub fn read(e: &Entry) -> Result<Request> {
        std::fs::read(&e.path)
            .context("reading spooled request")
            .and_then(|b| Request::decode(e.signal, &b).context("decoding spooled request"))
    }

    /// Removes the request `seq` (sent, or rejected for good).
    pub fn remove(&mut self, seq: u64) {
        if let Ok(pos) = self.entries.binary_search_by_key(&seq, |e| e.seq) {
            let e = self.entries.remove(pos).expect("position is valid");
            self.bytes -= e.bytes;
            let _ = std::fs::remove_file(&e.path);
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

fn parse_name(p: &Path) -> Option<(u64, Signal, u64)> {
    let stem = p.file_name()?.to_str()?.strip_suffix(".pb")?;
    let mut it = stem.splitn(3, '-');
    let seq = it.next()?.parse().ok()?;
    let signal = Signal::from_path(it.next()?)?;
    let items = it.next()?.parse().ok()?;
    Some((seq, signal, items))
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
    fn a_second_process_gets_its_own_spool() {
        let d = tempfile::tempdir().unwrap();
        let a = Spool::open(d.path(), 1 << 20).unwrap();
        let b = Spool::open(d.path(), 1 << 20);
        // flock is per open file description: a second open in the same process conflicts too
        let b = b.unwrap();
        assert_ne!(a.dir(), b.dir());
    }
}

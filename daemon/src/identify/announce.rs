//! The one `aibom.artifact.identified` record per artifact version and name: sent with
//! its first read access once the hash is known, or parked until the hash pool finishes.
//!
//! Bounded in bytes (`identify.announce_bytes`, paths included): records parked for a
//! hash take at most half of it — beyond that a new one is sent at once without its hash
//! (saying why) and its name forgotten, so the first read after the hash finished
//! announces it again, with the hash; the set of versions and names announced takes the
//! rest, least recently used out first (a name evicted from it may be announced once
//! more, never lost). A version whose hash was refused is announced without one at
//! shutdown.
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use lru::LruCache;

use super::Identifier;
use crate::model::{AccessMode, AccessRecord, FileVersion, RecordKind};

/// Bytes of the announced set and parked records by default (`identify.announce_bytes`).
pub const DEFAULT_BYTES: usize = 8 << 20;

/// What `aibom.artifact.sha256_error` says on a record sent before its hash because too
/// many records were waiting for theirs.
pub const NOT_PARKED: &str = "hash not finished: too many identified records waiting for their hash (identify.announce_bytes); announced again once hashed";

/// Which artifact versions were announced, and which wait for their hash.
pub struct Announcer {
    announced: LruCache<(FileVersion, Arc<Path>), ()>,
    announced_bytes: usize,
    awaiting: HashMap<FileVersion, Vec<AccessRecord>>,
    parked_bytes: usize,
    max_bytes: usize,
    evictions: u64,
    not_parked: u64,
}

impl Default for Announcer {
    fn default() -> Self {
        Self::new(DEFAULT_BYTES)
    }
}

/// Bytes of one announced (version, name): the key, the path behind its `Arc`, the LRU's
/// node and table slot.
fn announced_bytes(path: &Path) -> usize {
    std::mem::size_of::<(FileVersion, Arc<Path>)>() + path.as_os_str().len() + 16 + 64
}

impl Announcer {
    /// An announcer holding at most `max_bytes` (see the module docs).
    pub fn new(max_bytes: usize) -> Self {
        Self {
            announced: LruCache::unbounded(),
            announced_bytes: 0,
            awaiting: HashMap::new(),
            parked_bytes: 0,
            max_bytes,
            evictions: 0,
            not_parked: 0,
        }
    }

    /// Called for each access record leaving the pipeline: the `identified` record to
    /// send now, if this is the first read of this version and name and its hash (or why
    /// there is none) is known, or no room is left to park it; parked otherwise.
    pub fn on_access(&mut self, rec: &AccessRecord) -> Option<AccessRecord> {
        let a = rec.artifact.as_ref()?;
        let v = a.version?;
        if rec.mode == AccessMode::Write {
            return None;
        }
        let key = (v, rec.absolute_path.clone());
        if self.announced.get(&key).is_some() {
            return None;
        }
        let mut id = rec.clone();
        id.kind = RecordKind::Identified;
        if a.sha256.is_some() || a.sha256_error.is_some() {
            self.remember(key);
            return Some(id);
        }
        let cost = id.held_bytes();
        if self.parked_bytes + cost > self.max_bytes / 2 {
            // not remembered: the first read after the hash finished announces it again
            self.not_parked += 1;
            if let Some(a) = id.artifact.as_mut() {
                Arc::make_mut(a).sha256_error = Some(NOT_PARKED.into());
            }
            return Some(id);
        }
        self.parked_bytes += cost;
        self.awaiting.entry(v).or_default().push(id);
        self.remember(key);
        None
    }

    /// Remembers `key` as announced; evicts the least recently used beyond the budget.
    fn remember(&mut self, key: (FileVersion, Arc<Path>)) {
        self.announced_bytes += announced_bytes(&key.1);
        self.announced.put(key, ());
        while self.announced_bytes + self.parked_bytes > self.max_bytes {
            let Some(((_, p), ())) = self.announced.pop_lru() else {
                break;
            };
            self.announced_bytes -= announced_bytes(&p);
            self.evictions += 1;
        }
    }

    /// Names evicted from the full announced set so far (each may be announced again).
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// `identified` records sent before their hash because the parked ones held half the
    /// budget, so far.
    pub fn not_parked(&self) -> u64 {
        self.not_parked
    }

    /// Bytes held now (announced set and parked records).
    pub fn bytes(&self) -> usize {
        self.announced_bytes + self.parked_bytes
    }

    /// The parked records of versions whose hash finished.
    pub fn release(&mut self, done: Vec<FileVersion>) -> Vec<AccessRecord> {
        let out: Vec<AccessRecord> = done
            .iter()
            .filter_map(|v| self.awaiting.remove(v))
            .flatten()
            .collect();
        self.parked_bytes = self
            .parked_bytes
            .saturating_sub(out.iter().map(AccessRecord::held_bytes).sum::<usize>());
        out
    }

    /// Every parked record (shutdown).
    pub fn drain(&mut self) -> Vec<AccessRecord> {
        self.parked_bytes = 0;
        std::mem::take(&mut self.awaiting)
            .into_values()
            .flatten()
            .collect()
    }

    /// Shutdown: waits up to `wait` for the hashes still running, then gives every parked
    /// record, completed with its hash, or with why there is none.
    pub fn shutdown(&mut self, identifier: &mut Identifier, wait: Duration) -> Vec<AccessRecord> {
        if identifier.pending_hashes() > 0 {
            tracing::info!(
                files = identifier.pending_hashes(),
                "waiting for artifact hashes"
            );
        }
        let (timeouts, refused) = identifier.io_stalls();
        if timeouts + refused > 0 {
            tracing::warn!(
                timeouts,
                refused,
                "artifact reads stalled (a slow or hung filesystem): those files have no identity"
            );
        }
        let done = identifier.wait(wait);
        let mut out = self.release(done);
        out.extend(self.drain());
        let why = format!(
            "hashing not finished within {} ms of shutdown",
            wait.as_millis()
        );
        for rec in &mut out {
            if let Some(a) = rec.artifact.as_mut() {
                identifier.complete(a);
                if a.sha256.is_none() && a.sha256_error.is_none() {
                    Arc::make_mut(a).sha256_error = Some(why.clone());
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::tests::long;
    use crate::model::Artifact;

    /// A read of `path`, version `ino`, hashed or not yet.
    fn read(path: &str, ino: u64, hashed: bool) -> AccessRecord {
        let version = FileVersion {
            dev: 1,
            ino,
            size: 8,
            mtime_ns: 0,
        };
        let mut r = AccessRecord::test_read(path);
        r.artifact = Some(Arc::new(Artifact {
            version: Some(version),
            sha256: hashed.then(|| "0".repeat(64)),
            ..Default::default()
        }));
        r
    }

    #[test]
    fn distinct_long_names_stay_within_the_bytes_and_an_evicted_name_is_announced_again() {
        let budget = 64 << 10;
        let mut a = Announcer::new(budget);
        for i in 0..100 {
            let id = a.on_access(&read(&long(i), 7, true));
            assert_eq!(id.map(|r| r.kind), Some(RecordKind::Identified), "{i}");
            assert!(a.bytes() <= budget, "{} bytes", a.bytes());
        }
        assert!(
            a.on_access(&read(&long(99), 7, true)).is_none(),
            "announced once"
        );
        assert!(a.evictions() >= 80, "{} evicted", a.evictions());
        let again = a.on_access(&read(&long(0), 7, true));
        assert!(
            again.is_some(),
            "a forgotten name is announced again, not lost"
        );
    }

    #[test]
    fn with_no_room_to_wait_a_record_leaves_without_its_hash_and_is_announced_again() {
        let budget = 64 << 10;
        let mut a = Announcer::new(budget);
        let mut sent = Vec::new();
        for i in 0..20 {
            sent.extend(a.on_access(&read(&long(i), 7, false)));
            assert!(a.bytes() <= budget, "{} bytes", a.bytes());
        }
        let parked = 20 - sent.len();
        assert!(parked > 0 && !sent.is_empty(), "{parked} parked");
        assert_eq!(a.not_parked(), sent.len() as u64);
        for r in &sent {
            let art = r.artifact.as_deref().unwrap();
            assert_eq!(art.sha256_error.as_deref(), Some(NOT_PARKED));
        }
        // the hash finished: the parked ones leave, and the next read of one sent without
        // its hash announces it again
        let v = sent[0].artifact.as_ref().unwrap().version.unwrap();
        assert_eq!(a.release(vec![v]).len(), parked);
        let again = a.on_access(&read(sent[0].absolute_path.to_str().unwrap(), 7, true));
        assert!(again.is_some_and(|r| r.artifact.unwrap().sha256.is_some()));
        assert!(a.bytes() <= budget / 2);
    }
}

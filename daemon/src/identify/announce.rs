//! The one `aibom.artifact.identified` record per artifact version and name: sent with
//! its first read access once the hash is known, or parked until the hash pool finishes.
//!
//! Bounded: the set of versions announced is an LRU of [`MAX_ANNOUNCED`] (a version
//! evicted from it may be announced once more, never lost), and records parked for a
//! hash are at most the hash queue's length (a version whose hash was refused is
//! announced without one at shutdown).
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use lru::LruCache;

use super::Identifier;
use crate::model::{AccessMode, AccessRecord, FileVersion, RecordKind};

/// Versions and names remembered as announced (about 200 bytes each: ~13 MiB at most).
pub const MAX_ANNOUNCED: NonZeroUsize = NonZeroUsize::new(65_536).unwrap();

/// Which artifact versions were announced, and which wait for their hash.
pub struct Announcer {
    announced: LruCache<(FileVersion, Arc<Path>), ()>,
    awaiting: HashMap<FileVersion, Vec<AccessRecord>>,
}

impl Default for Announcer {
    fn default() -> Self {
        Self {
            announced: LruCache::new(MAX_ANNOUNCED),
            awaiting: HashMap::new(),
        }
    }
}

impl Announcer {
    /// Called for each access record leaving the pipeline: the `identified` record to
    /// send now, if this is the first read of this version and name and its hash (or why
    /// there is none) is known; parked otherwise.
    pub fn on_access(&mut self, rec: &AccessRecord) -> Option<AccessRecord> {
        let a = rec.artifact.as_ref()?;
        let v = a.version?;
        if rec.mode == AccessMode::Write {
            return None;
        }
        let key = (v, rec.absolute_path.clone());
        if self.announced.put(key, ()).is_some() {
            return None;
        }
        let mut id = rec.clone();
        id.kind = RecordKind::Identified;
        if a.sha256.is_some() || a.sha256_error.is_some() {
            return Some(id);
        }
        self.awaiting.entry(v).or_default().push(id);
        None
    }

    /// The parked records of versions whose hash finished.
    pub fn release(&mut self, done: Vec<FileVersion>) -> Vec<AccessRecord> {
        done.iter()
            .filter_map(|v| self.awaiting.remove(v))
            .flatten()
            .collect()
    }

    /// Every parked record (shutdown).
    pub fn drain(&mut self) -> Vec<AccessRecord> {
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

//! The normalize stage's cache: what one (file version, path as passed) resolved to.
//!
//! Only accesses whose file identity *and* metadata came from the kernel are cached: the
//! key then names exactly the inode version that was opened, so a hit needs no system
//! call and cannot describe another file. Bounded in bytes; least recently used first out.
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::SystemTime;

use lru::LruCache;

use super::Resolved;
use crate::model::{Attribution, FileVersion, RawAccess};

/// What an access resolved to.
#[derive(Debug)]
pub(super) struct Facts {
    pub resolved: Resolved,
    pub version: Option<FileVersion>,
    pub modified: Option<SystemTime>,
}

/// One cached resolution; `facts` is `None` for a file that is not an artifact.
struct Entry {
    path: Box<[u8]>,
    kernel_path: Option<Box<[u8]>>,
    root_pid: u32,
    facts: Option<Arc<Facts>>,
    bytes: usize,
}

/// (hash of the paths and root, file version): the paths themselves are kept in the entry
/// and compared on a hit, so a lookup allocates nothing.
type Key = (u64, FileVersion);

/// Fixed cost of an entry besides its path bytes: the entry, the key, the LRU node and the
/// facts' own struct.
const ENTRY_OVERHEAD: usize =
    std::mem::size_of::<Entry>() + std::mem::size_of::<Key>() + 64 + std::mem::size_of::<Facts>();

pub(super) struct Cache {
    lru: LruCache<Key, Entry>,
    bytes: usize,
    cap: usize,
    evictions: u64,
}

impl Cache {
    /// A cache holding at most `cap` bytes (0: nothing is cached).
    pub fn new(cap: usize) -> Self {
        Self {
            lru: LruCache::unbounded(),
            bytes: 0,
            cap,
            evictions: 0,
        }
    }

    /// The facts of `raw` (whose kernel-given version is `v`), from the cache or made by
    /// `make` and cached.
    pub fn get_or_insert(
        &mut self,
        raw: &RawAccess,
        v: FileVersion,
        proc: &Attribution,
        make: impl FnOnce() -> Option<Facts>,
    ) -> Option<Arc<Facts>> {
        let facts = || make().map(Arc::new);
        if self.cap == 0 {
            return facts();
        }
        // paths of a process in another mount namespace mean something else
        let root_pid = if proc.foreign_root { proc.pid } else { 0 };
        let mut h = DefaultHasher::new();
        (&raw.path, &raw.kernel_path, root_pid).hash(&mut h);
        let key = (h.finish(), v);
        if let Some(e) = self.lru.get(&key) {
            if *e.path == *raw.path
                && e.kernel_path.as_deref() == raw.kernel_path.as_deref()
                && e.root_pid == root_pid
            {
                return e.facts.clone();
            }
        }
        let facts = facts();
        let bytes = ENTRY_OVERHEAD
            + raw.path.len()
            + raw.kernel_path.as_ref().map_or(0, Vec::len)
            + facts.as_ref().map_or(0, |f| {
                f.resolved.absolute_path.as_os_str().len() + f.resolved.file_path.as_os_str().len()
            });
        let entry = Entry {
            path: raw.path.clone().into(),
            kernel_path: raw.kernel_path.clone().map(Into::into),
            root_pid,
            facts: facts.clone(),
            bytes,
        };
        if let Some(old) = self.lru.put(key, entry) {
            self.bytes -= old.bytes;
        }
        self.bytes += bytes;
        while self.bytes > self.cap {
            let Some((_, old)) = self.lru.pop_lru() else {
                break;
            };
            self.bytes -= old.bytes;
            self.evictions += 1;
        }
        facts
    }

    /// (entries, bytes, evictions so far).
    pub fn stats(&self) -> (usize, usize, u64) {
        (self.lru.len(), self.bytes, self.evictions)
    }
}

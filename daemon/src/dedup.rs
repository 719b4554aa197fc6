//! The dedup stage: repeated accesses of one file by one process within a window become
//! one record with `aibom.access.count`, instead of one record each.
//!
//! The first access of a key is normalized at once (while the process still exists) and
//! held; repeats only bump its count; the record leaves when its window ends or at drain.
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::model::{AccessMode, AccessRecord, RawAccess};

/// What makes two accesses "the same".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FileKey {
    /// (device, inode), when the tracer knows the opened file.
    Inode(u64, u64),
    /// Otherwise the raw path and the directory it is relative to.
    Path(Vec<u8>, Option<i32>),
}

/// Dedup key: process, file, access mode.
pub type Key = (u32, FileKey, AccessMode);

/// Key of a raw access.
pub fn key_of(raw: &RawAccess) -> Key {
    let file = match raw.file_id {
        Some((dev, ino)) => FileKey::Inode(dev, ino),
        None => FileKey::Path(raw.path.clone(), raw.dirfd),
    };
    (raw.pid, file, raw.mode)
}

/// Holds records for the dedup window.
#[derive(Debug)]
pub struct Dedup {
    window: Duration,
    held: HashMap<Key, AccessRecord>,
    order: VecDeque<(Instant, Key)>,
}

impl Dedup {
    /// A dedup stage with the given window (zero: every access passes through).
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            held: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Counts a repeat of a held key. Returns false when `key` is new (the caller then
    /// normalizes it and calls [`Dedup::hold`]).
    pub fn repeat(&mut self, key: &Key) -> bool {
        match self.held.get_mut(key) {
            Some(rec) => {
                rec.count += 1;
                true
            }
            None => false,
        }
    }

    /// Holds a new record; returns it back at once when the window is zero.
    pub fn hold(&mut self, key: Key, rec: AccessRecord, now: Instant) -> Option<AccessRecord> {
        if self.window.is_zero() {
            return Some(rec);
        }
        self.held.insert(key.clone(), rec);
        self.order.push_back((now, key));
        None
    }

    /// Records whose window ended by `now`, oldest first.
    pub fn expired(&mut self, now: Instant) -> Vec<AccessRecord> {
        let mut out = Vec::new();
        while let Some((t, _)) = self.order.front() {
            if now.duration_since(*t) < self.window {
                break;
            }
            let (_, k) = self.order.pop_front().expect("front exists");
            out.extend(self.held.remove(&k));
        }
        out
    }

    /// Every held record, oldest first (shutdown).
    pub fn drain(&mut self) -> Vec<AccessRecord> {
        let order = std::mem::take(&mut self.order);
        order
            .into_iter()
            .filter_map(|(_, k)| self.held.remove(&k))
            .collect()
    }

    /// Records held right now.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

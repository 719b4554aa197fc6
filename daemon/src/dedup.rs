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

/// Records held at most; beyond it the oldest leaves early (exported, never dropped:
/// it only folds fewer repeats).
pub const MAX_HELD: usize = 65_536;

/// Holds records for the dedup window, and exits until the records before them left.
#[derive(Debug)]
pub struct Dedup {
    window: Duration,
    held: HashMap<Key, AccessRecord>,
    order: VecDeque<(Instant, Key)>,
    exits: VecDeque<(Instant, u32)>,
}

impl Dedup {
    /// A dedup stage with the given window (zero: every access passes through).
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            held: HashMap::new(),
            order: VecDeque::new(),
            exits: VecDeque::new(),
        }
    }

    /// False when the window is zero: every access passes through.
    pub fn enabled(&self) -> bool {
        !self.window.is_zero()
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

    /// Holds a new record; returns it back at once when the window is zero, or the
    /// oldest held record when [`MAX_HELD`] are held.
    pub fn hold(&mut self, key: Key, rec: AccessRecord, now: Instant) -> Option<AccessRecord> {
        if self.window.is_zero() {
            return Some(rec);
        }
        let early = if self.held.len() >= MAX_HELD {
            self.order
                .pop_front()
                .and_then(|(_, k)| self.held.remove(&k))
        } else {
            None
        };
        self.held.insert(key.clone(), rec);
        self.order.push_back((now, key));
        early
    }

    /// A process exited: it is released by [`Dedup::exits`] once its held records left.
    pub fn exit(&mut self, pid: u32, now: Instant) {
        self.exits.push_back((now, pid));
    }

    /// Exits older than the window by `now` (every one when `all`).
    pub fn exits(&mut self, now: Instant, all: bool) -> Vec<u32> {
        let mut out = Vec::new();
        while let Some(&(t, pid)) = self.exits.front() {
            if !all && now.duration_since(t) < self.window {
                break;
            }
            self.exits.pop_front();
            out.push(pid);
        }
        out
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

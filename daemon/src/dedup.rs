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

/// Bytes of held records at most, by default (`pipeline.dedup_max_bytes`); beyond it the
/// oldest leaves early, as beyond [`MAX_HELD`].
pub const DEFAULT_MAX_BYTES: usize = 16 << 20;

/// Holds records for the dedup window, and exits until the records before them left.
#[derive(Debug)]
pub struct Dedup {
    window: Duration,
    held: HashMap<Key, (AccessRecord, usize)>,
    order: VecDeque<(Instant, Key)>,
    exits: VecDeque<(Instant, u32)>,
    /// Bytes of the held records and their keys.
    bytes: usize,
    max_bytes: usize,
    /// Records that left before their window ended because the table was full.
    released_early: u64,
}

impl Dedup {
    /// A dedup stage with the given window (zero: every access passes through), holding
    /// at most [`DEFAULT_MAX_BYTES`].
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            held: HashMap::new(),
            order: VecDeque::new(),
            exits: VecDeque::new(),
            bytes: 0,
            max_bytes: DEFAULT_MAX_BYTES,
            released_early: 0,
        }
    }

    /// Holds at most `bytes` of records (`pipeline.dedup_max_bytes`).
    pub fn with_max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Records that left before their window ended because the table was full (by count
    /// or bytes), so far.
    pub fn released_early(&self) -> u64 {
        self.released_early
    }

    /// Bytes held right now.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// False when the window is zero: every access passes through.
    pub fn enabled(&self) -> bool {
        !self.window.is_zero()
    }

    /// Counts a repeat of a held key. Returns false when `key` is new (the caller then
    /// normalizes it and calls [`Dedup::hold`]).
    pub fn repeat(&mut self, key: &Key) -> bool {
        match self.held.get_mut(key) {
            Some((rec, _)) => {
                rec.count += 1;
                true
            }
            None => false,
        }
    }

    /// Holds a new record; returns it back at once when the window is zero, or the
    /// oldest held record when [`MAX_HELD`] are held or holding `rec` would pass the byte
    /// budget. One record leaves per call: when a big record displaced a small one, the
    /// rest over the budget leaves at the next [`Dedup::expired`] (the pipeline's tick).
    pub fn hold(&mut self, key: Key, rec: AccessRecord, now: Instant) -> Option<AccessRecord> {
        if self.window.is_zero() {
            return Some(rec);
        }
        let cost = rec.held_bytes() + key_bytes(&key);
        let early = if self.held.len() >= MAX_HELD || self.bytes + cost > self.max_bytes {
            self.pop_oldest()
        } else {
            None
        };
        self.released_early += u64::from(early.is_some());
        if let Some((_, old)) = self.held.insert(key.clone(), (rec, cost)) {
            self.bytes -= old; // not reached: the caller holds only keys that are new
        }
        self.bytes += cost;
        self.order.push_back((now, key));
        early
    }

    fn pop_oldest(&mut self) -> Option<AccessRecord> {
        let (_, k) = self.order.pop_front()?;
        let (rec, cost) = self.held.remove(&k)?;
        self.bytes -= cost;
        Some(rec)
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

    /// Records whose window ended by `now`, and the oldest beyond the byte budget; oldest
    /// first.
    pub fn expired(&mut self, now: Instant) -> Vec<AccessRecord> {
        let mut out = Vec::new();
        while let Some((t, _)) = self.order.front() {
            let over = self.bytes > self.max_bytes;
            if !over && now.duration_since(*t) < self.window {
                break;
            }
            self.released_early += u64::from(over && now.duration_since(*t) < self.window);
            out.extend(self.pop_oldest());
        }
        out
    }

    /// Every held record, oldest first (shutdown).
    pub fn drain(&mut self) -> Vec<AccessRecord> {
        let order = std::mem::take(&mut self.order);
        self.bytes = 0;
        order
            .into_iter()
            .filter_map(|(_, k)| self.held.remove(&k).map(|(r, _)| r))
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

/// Bytes of a key held twice (table and order), with the table's slot.
fn key_bytes(k: &Key) -> usize {
    let path = match &k.1 {
        FileKey::Path(p, _) => p.capacity(),
        FileKey::Inode(..) => 0,
    };
    2 * (std::mem::size_of::<Key>() + path) + std::mem::size_of::<(Instant, usize)>() + 16
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A read of `path`.
    pub(crate) fn rec(path: &str) -> AccessRecord {
        AccessRecord::test_read(path)
    }

    fn key(path: &str) -> Key {
        (
            1,
            FileKey::Path(path.as_bytes().to_vec(), None),
            AccessMode::Read,
        )
    }

    /// A 4,000-byte path, distinct per `i`.
    pub(crate) fn long(i: usize) -> String {
        format!("/{}/{i:05}.safetensors", "d".repeat(3980))
    }

    #[test]
    fn past_its_bytes_the_oldest_record_leaves_early_and_none_is_lost() {
        let one = rec(&long(0)).held_bytes() + key_bytes(&key(&long(0)));
        let mut d = Dedup::new(Duration::from_secs(3600)).with_max_bytes(3 * one);
        let now = Instant::now();
        let mut out = Vec::new();
        for i in 0..10 {
            out.extend(d.hold(key(&long(i)), rec(&long(i)), now));
            assert!(d.bytes() <= 3 * one, "{} held bytes", d.bytes());
        }
        assert_eq!((d.len(), d.released_early()), (3, 7));
        assert!(d.repeat(&key(&long(9))), "the newest are still folded");
        assert!(!d.repeat(&key(&long(0))), "the oldest left");
        out.extend(d.drain());
        let paths: Vec<_> = out.iter().map(|r| r.file_path.to_path_buf()).collect();
        let want: Vec<_> = (0..10).map(|i| std::path::PathBuf::from(long(i))).collect();
        assert_eq!(paths, want, "every record leaves once, oldest first");
        assert_eq!(out[9].count, 2);
        assert_eq!(d.bytes(), 0);
    }

    #[test]
    fn a_big_record_displacing_a_small_one_is_evened_out_at_the_next_tick() {
        let small = "/m/a.gguf";
        let cost = |p: &str| rec(p).held_bytes() + key_bytes(&key(p));
        // room for two small records, or the big one, not for the big one and a small one
        let budget = cost(&long(1)) + cost(small) / 2;
        let mut d = Dedup::new(Duration::from_secs(3600)).with_max_bytes(budget);
        let now = Instant::now();
        assert!(d.hold(key(small), rec(small), now).is_none());
        assert!(d.hold(key("/m/b.gguf"), rec("/m/b.gguf"), now).is_none());
        let early = d.hold(key(&long(1)), rec(&long(1)), now);
        assert_eq!(early.unwrap().file_path.to_str(), Some(small));
        assert!(d.bytes() > budget, "one record leaves per hold");
        let left = d.expired(now);
        assert_eq!(left.len(), 1, "the tick releases the rest over the budget");
        assert!(d.bytes() <= budget);
        assert_eq!(d.released_early(), 2);
    }

    #[test]
    fn a_zero_window_holds_nothing() {
        let mut d = Dedup::new(Duration::ZERO);
        assert!(d
            .hold(key("/a.gguf"), rec("/a.gguf"), Instant::now())
            .is_some());
        assert!(d.is_empty() && d.bytes() == 0);
    }
}

//! A byte budget for what `aibomd run` keeps until its end (the summary table, the
//! `--bom` document): both grow with every distinct file, process and path seen, so a
//! run over millions of files would grow without end. Sizes are estimates of what an
//! entry holds (its strings plus a fixed overhead for the map node), not allocator
//! truth; what does not fit is left out and counted, never silently.

/// Estimated overhead of one map entry or set element beyond its strings (node, keys,
/// counters, sets).
pub const ENTRY_BYTES: u64 = 128;

/// Bytes spent out of `max`, and what was left out once it was reached.
#[derive(Debug, Clone, Default)]
pub struct Budget {
    max: u64,
    used: u64,
    left_out: u64,
}

impl Budget {
    /// A budget of `max` bytes.
    pub fn new(max: u64) -> Self {
        Self {
            max,
            ..Default::default()
        }
    }

    /// Spends `bytes` (plus [`ENTRY_BYTES`]) when they fit and says so; else counts one
    /// thing left out.
    pub fn take(&mut self, bytes: usize) -> bool {
        let cost = bytes as u64 + ENTRY_BYTES;
        if self.used + cost > self.max {
            self.left_out += 1;
            return false;
        }
        self.used += cost;
        true
    }

    /// Things left out so far.
    pub fn left_out(&self) -> u64 {
        self.left_out
    }

    /// The limit, in bytes.
    pub fn max(&self) -> u64 {
        self.max
    }
}

/// The entry of `key` in `map`; when it is new, made by `make` if `budget` has room for
/// `bytes` more, else `None` (counted).
pub fn entry<'a, K: Ord, V>(
    map: &'a mut std::collections::BTreeMap<K, V>,
    key: K,
    bytes: usize,
    budget: &mut Budget,
    make: impl FnOnce() -> V,
) -> Option<&'a mut V> {
    use std::collections::btree_map::Entry;
    match map.entry(key) {
        Entry::Occupied(e) => Some(e.into_mut()),
        Entry::Vacant(e) => budget.take(bytes).then(|| e.insert(make())),
    }
}

/// A file, and where inside it an embedded artifact (a chat template) was read from: how
/// the table and the BOM key what they keep per file.
pub type FileKey = (std::path::PathBuf, Option<String>);

/// The bytes of a [`FileKey`]'s strings.
pub fn file_key_bytes((path, embedded): &FileKey) -> usize {
    path.as_os_str().len() + embedded.as_ref().map_or(0, String::len)
}

/// Inserts `v` into `set` when it is new and `budget` has room for `bytes` more.
pub fn insert<T: Ord>(
    set: &mut std::collections::BTreeSet<T>,
    v: T,
    bytes: usize,
    budget: &mut Budget,
) {
    if !set.contains(&v) && budget.take(bytes) {
        set.insert(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_does_not_fit_is_counted() {
        let mut b = Budget::new(2 * ENTRY_BYTES + 20);
        assert!(b.take(10));
        assert!(!b.take(11), "10 + 11 bytes and two entries do not fit");
        assert!(b.take(10));
        assert!(!b.take(0));
        assert_eq!(b.left_out(), 2);
        let mut set = std::collections::BTreeSet::new();
        let mut b = Budget::new(ENTRY_BYTES + 1);
        insert(&mut set, "a", 1, &mut b);
        insert(&mut set, "a", 1, &mut b);
        insert(&mut set, "b", 1, &mut b);
        assert_eq!((set.len(), b.left_out()), (1, 1), "a repeat costs nothing");
        let mut map = std::collections::BTreeMap::new();
        let mut b = Budget::new(ENTRY_BYTES + 1);
        assert_eq!(entry(&mut map, "a", 1, &mut b, || 1).copied(), Some(1));
        *entry(&mut map, "a", 1, &mut b, || 0).unwrap() += 1;
        assert_eq!(entry(&mut map, "b", 1, &mut b, || 1), None);
        assert_eq!(
            (map["a"], b.left_out()),
            (2, 1),
            "an existing entry costs nothing"
        );
    }
}

//! Many files, one artifact: sharded models (`model-00001-of-00004.safetensors` and
//! `model.safetensors.index.json`, `pytorch_model-0000N-of-0000M.bin`, GGUF splits
//! `-00001-of-00003.gguf`) and datasets of many files (`train-00000-of-00010.parquet`,
//! `data/train/*.parquet`, the Hugging Face `datasets` cache's Arrow shards, WebDataset
//! `shard-000123.tar`).
//!
//! Each part keeps its own record (and its own hash, computed only when a process opens
//! it, under the hash pool's bounds); it also carries the whole's id, its index and the
//! part count. The whole is described by one bounded listing of its folder (names and
//! stat, nothing opened or read; cached per folder version): file count, bytes and a set
//! digest over the sorted (name, size, mtime) of its files. Hashing every part of a
//! 100,000-file dataset is never done.
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::model::{Listing, Whole};

/// Folder entries one listing looks at.
pub const MAX_ENTRIES: usize = 200_000;
/// Parts one listing stats.
pub const MAX_PARTS: usize = 100_000;
/// Largest part count a name may claim (`-of-N`).
const MAX_COUNT: u64 = 1_000_000;
/// Extensions of numbered dataset shards (`shard-000123.tar`, `data-00007.arrow`).
const NUMBERED_EXTS: &[&str] = &["tar", "parquet", "arrow"];
/// Extensions of dataset files grouped by a split-named folder (`data/train/*.parquet`).
const FOLDER_EXTS: &[&str] = &["parquet", "arrow", "jsonl", "tar"];
/// Folders named after a dataset split.
const SPLIT_DIRS: &[&str] = &["train", "test", "validation", "valid", "dev", "eval"];

/// A part file's name, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartName {
    /// The name the whole would have unsharded (`model.safetensors`), or a pattern
    /// (`shard-*.tar`, `*.parquet`).
    pub whole: String,
    pub index: Option<u64>,
    pub count: Option<u64>,
    /// Which names of the folder belong to the same whole.
    pub pattern: Pattern,
}

/// Which names of a folder are parts of one whole.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Pattern {
    /// `STEM-N-of-COUNT.EXT` (any count when `None`: the index file of a sharded model).
    Shards {
        stem: String,
        ext: String,
        count: Option<u64>,
    },
    /// `STEM-N.EXT` / `STEM_N.EXT`.
    Numbered { stem: String, ext: String },
    /// Every `*.EXT` of the folder.
    Ext(String),
}

impl Pattern {
    /// Whether the file `name` is a part.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Pattern::Shards { stem, ext, count } => shards(name)
                .is_some_and(|(s, e, _, c)| s == stem && e == ext && count.is_none_or(|n| n == c)),
            Pattern::Numbered { stem, ext } => {
                numbered(name).is_some_and(|(s, e, _)| s == stem && e == ext)
            }
            Pattern::Ext(ext) => name
                .rsplit_once('.')
                .is_some_and(|(b, e)| !b.is_empty() && e == ext),
        }
    }
}

/// `(stem, ext, index, count)` of `STEM-INDEX-of-COUNT.EXT`: digits only (at most 9), a
/// count of 1 to [`MAX_COUNT`], an index no larger than the count (names number from 0 or
/// 1), a non-empty stem and extension.
fn shards(name: &str) -> Option<(&str, &str, u64, u64)> {
    let (head, tail) = name.rsplit_once("-of-")?;
    let (count, ext) = tail.split_once('.')?;
    let (stem, index) = head.rsplit_once('-')?;
    let num = |d: &str| {
        (!d.is_empty() && d.len() <= 9 && d.bytes().all(|b| b.is_ascii_digit()))
            .then(|| d.parse::<u64>().ok())
            .flatten()
    };
    let (index, count) = (num(index)?, num(count)?);
    let ok = !stem.is_empty() && !ext.is_empty() && (1..=MAX_COUNT).contains(&count);
    (ok && index <= count).then_some((stem, ext, index, count))
}

/// `(stem, ext, index)` of `STEM-N.EXT` or `STEM_N.EXT` (2 to 9 digits) for a numbered
/// dataset extension.
fn numbered(name: &str) -> Option<(&str, &str, u64)> {
    let (head, ext) = name.rsplit_once('.')?;
    if !NUMBERED_EXTS.contains(&ext) {
        return None;
    }
    let i = head.rfind(['-', '_'])?;
    let (stem, digits) = (&head[..i], &head[i + 1..]);
    let ok = !stem.is_empty()
        && (2..=9).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| Some((stem, ext, digits.parse().ok()?)))
        .flatten()
}

/// What the name `name` in the folder named `folder` says of the whole it is a part of.
pub fn part_name(name: &str, folder: Option<&str>) -> Option<PartName> {
    if let Some((stem, ext, index, count)) = shards(name) {
        return Some(PartName {
            whole: format!("{stem}.{ext}"),
            index: Some(index),
            count: Some(count),
            pattern: Pattern::Shards {
                stem: stem.into(),
                ext: ext.into(),
                count: Some(count),
            },
        });
    }
    // `model.safetensors.index.json` stands for `model-*-of-*.safetensors`
    if let Some(whole) = name.strip_suffix(".index.json") {
        if let Some((stem, ext @ ("safetensors" | "bin"))) = whole.rsplit_once('.') {
            if !stem.is_empty() {
                return Some(PartName {
                    whole: whole.into(),
                    index: None,
                    count: None,
                    pattern: Pattern::Shards {
                        stem: stem.into(),
                        ext: ext.into(),
                        count: None,
                    },
                });
            }
        }
    }
    if let Some((stem, ext, index)) = numbered(name) {
        return Some(PartName {
            whole: format!("{stem}-*.{ext}"),
            index: Some(index),
            count: None,
            pattern: Pattern::Numbered {
                stem: stem.into(),
                ext: ext.into(),
            },
        });
    }
    let ext = name.rsplit_once('.').map(|(_, e)| e)?;
    let split_dir = folder.is_some_and(|f| SPLIT_DIRS.contains(&f.to_ascii_lowercase().as_str()));
    (split_dir && FOLDER_EXTS.contains(&ext)).then(|| PartName {
        whole: format!("*.{ext}"),
        index: None,
        count: None,
        pattern: Pattern::Ext(ext.into()),
    })
}

/// The whole the file at `path` is a part of, if its name says it is one: `base` is the
/// canonical id of the file's artifact, if any (`file://FOLDER` stands for it otherwise);
/// `listing` lists the folder for a pattern (see [`list`]).
pub fn whole_of(
    path: &Path,
    base: Option<&str>,
    listing: impl FnOnce(&Path, &Pattern) -> Option<Listing>,
) -> Option<Whole> {
    let name = path.file_name()?.to_str()?;
    let dir = path.parent()?;
    let folder = dir.file_name().and_then(|f| f.to_str());
    let part = part_name(name, folder)?;
    let base = match base {
        Some(b) => b.to_string(),
        None => format!("file://{}", dir.display()),
    };
    let listing = listing(dir, &part.pattern);
    Some(Whole {
        id: format!("{base}#{}", part.whole),
        part_index: part.index,
        part_count: part.count.or(listing.as_ref().map(|l| l.files)),
        listing,
    })
}

/// Folders whose listing is remembered.
const LISTINGS: std::num::NonZeroUsize = std::num::NonZeroUsize::new(256).unwrap();

/// A folder's (device, inode, mtime in ns): a listing stays valid while it holds.
type DirVersion = (u64, u64, i128);

/// Listings of wholes by (folder, pattern), taken again only when the folder changed.
pub struct Listings(lru::LruCache<(PathBuf, Pattern), (DirVersion, Listing)>);

impl Default for Listings {
    fn default() -> Self {
        Listings(lru::LruCache::new(LISTINGS))
    }
}

impl Listings {
    /// The listing of `dir` for `pattern` (see [`list`]), from the cache while the folder
    /// is unchanged.
    pub fn get(&mut self, dir: &Path, pattern: &Pattern) -> Option<Listing> {
        let version = super::opened::dir_version(dir)?;
        let key = (dir.to_path_buf(), pattern.clone());
        if let Some((v, l)) = self.0.get(&key) {
            if *v == version {
                return Some(l.clone());
            }
        }
        let l = list(dir, pattern)?;
        self.0.put(key, (version, l.clone()));
        Some(l)
    }
}

/// One bounded listing of `dir` for the parts `pattern` names (see the module docs).
pub fn list(dir: &Path, pattern: &Pattern) -> Option<Listing> {
    let l = super::opened::list_dir(dir, MAX_ENTRIES, MAX_PARTS, |n| pattern.matches(n))?;
    Some(digest(&l.entries, l.skipped))
}

/// The listing of `entries` (name, size, mtime ns), sorted by name.
pub fn digest(entries: &[(String, u64, i128)], skipped: u64) -> Listing {
    let mut h = Sha256::new();
    for (name, size, mtime) in entries {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(size.to_le_bytes());
        h.update(mtime.to_le_bytes());
    }
    Listing {
        files: entries.len() as u64,
        bytes: entries.iter().map(|e| e.1).sum(),
        digest: hex::encode(h.finalize()),
        skipped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str) -> Option<(String, Option<u64>, Option<u64>)> {
        part_name(name, Some("x")).map(|p| (p.whole, p.index, p.count))
    }

    #[test]
    fn shard_names_give_the_whole_index_and_count() {
        for (name, whole, index, count) in [
            (
                "model-00001-of-00004.safetensors",
                "model.safetensors",
                Some(1),
                Some(4),
            ),
            (
                "pytorch_model-00002-of-00002.bin",
                "pytorch_model.bin",
                Some(2),
                Some(2),
            ),
            (
                "tiny-llama-00001-of-00003.gguf",
                "tiny-llama.gguf",
                Some(1),
                Some(3),
            ),
            (
                "train-00000-of-00010.parquet",
                "train.parquet",
                Some(0),
                Some(10),
            ),
            (
                "model.safetensors.index.json",
                "model.safetensors",
                None,
                None,
            ),
            ("shard-000123.tar", "shard-*.tar", Some(123), None),
        ] {
            assert_eq!(p(name), Some((whole.into(), index, count)), "{name}");
        }
        assert_eq!(
            part_name("part.parquet", Some("train")).map(|p| p.whole),
            Some("*.parquet".into())
        );
    }

    #[test]
    fn hostile_names_are_not_parts() {
        for bad in [
            "model-99999-of-00001.safetensors", // index beyond the count
            "model-00000-of-00000.safetensors", // no parts
            "model-00001-of-99999999999999999999.safetensors", // overflow
            "model-1-of-2000000.safetensors",   // beyond the count cap
            "model-0001-of-0002",               // no extension
            "-00001-of-00002.gguf",             // no stem
            "model-0x1-of-00002.bin",
            "model--of-00002.bin",
            "model-00001-of-.bin",
            "model-+1-of-2.bin",
            "model-00001-of-00002.",
            "a.index.json",
            ".safetensors.index.json",
            "shard-1.tar", // one digit: a name, not a numbered shard
            "shard-000123.txt",
            "train.parquet", // a split file, not in a split folder
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
        assert_eq!(part_name("x.csv", Some("train")), None);
        assert_eq!(part_name("x.parquet", Some("data")), None);
    }

    #[test]
    fn patterns_match_the_parts_of_one_whole_only() {
        let pat = part_name("model-00001-of-00003.safetensors", None)
            .unwrap()
            .pattern;
        assert!(pat.matches("model-00003-of-00003.safetensors"));
        assert!(!pat.matches("model-00001-of-00004.safetensors"));
        assert!(!pat.matches("other-00001-of-00003.safetensors"));
        assert!(!pat.matches("model.safetensors.index.json"));
        let idx = part_name("model.safetensors.index.json", None)
            .unwrap()
            .pattern;
        assert!(idx.matches("model-00002-of-00007.safetensors"));
        assert!(!idx.matches("model-00002-of-00007.bin"));
        let tar = part_name("shard-000001.tar", None).unwrap().pattern;
        assert!(tar.matches("shard-999999.tar") && !tar.matches("other-000001.tar"));
    }

    #[test]
    fn the_whole_id_is_the_folder_or_the_canonical_id_and_the_unsharded_name() {
        let w = whole_of(
            Path::new("/m/tiny/model-00002-of-00003.safetensors"),
            None,
            |_, _| None,
        )
        .unwrap();
        assert_eq!(w.id, "file:///m/tiny#model.safetensors");
        assert_eq!((w.part_index, w.part_count), (Some(2), Some(3)));
        let w = whole_of(
            Path::new("/h/snapshots/r/model.safetensors.index.json"),
            Some("pkg:huggingface/o/n@r"),
            |_, _| Some(digest(&[("a".into(), 1, 0), ("b".into(), 2, 0)], 0)),
        )
        .unwrap();
        assert_eq!(w.id, "pkg:huggingface/o/n@r#model.safetensors");
        assert_eq!(w.part_count, Some(2), "from the listing");
        assert_eq!(w.listing.unwrap().bytes, 3);
    }

    #[test]
    fn the_set_digest_changes_with_any_part() {
        let a = vec![("a".to_string(), 1, 5), ("b".to_string(), 2, 5)];
        let mut b = a.clone();
        b[1].2 = 6;
        assert_ne!(digest(&a, 0).digest, digest(&b, 0).digest);
        assert_ne!(digest(&a, 0).digest, digest(&a[..1], 0).digest);
        assert_eq!(digest(&a, 0), digest(&a, 0));
    }

    #[test]
    fn a_listing_counts_only_the_parts_and_is_bounded() {
        let d = tempfile::tempdir().unwrap();
        for i in 0..5 {
            std::fs::write(
                d.path().join(format!("train-{i:05}-of-00005.parquet")),
                [0u8; 10],
            )
            .unwrap();
        }
        std::fs::write(d.path().join("test-00000-of-00001.parquet"), b"x").unwrap();
        let pat = part_name("train-00000-of-00005.parquet", None)
            .unwrap()
            .pattern;
        let l = list(d.path(), &pat).unwrap();
        assert_eq!((l.files, l.bytes, l.skipped), (5, 50, 0));
        let capped = super::super::opened::list_dir(d.path(), 100, 2, |n| pat.matches(n)).unwrap();
        assert_eq!((capped.entries.len(), capped.skipped), (2, 3));
        let few = super::super::opened::list_dir(d.path(), 3, 100, |n| pat.matches(n)).unwrap();
        assert!(few.truncated && few.entries.len() <= 3);
    }
}

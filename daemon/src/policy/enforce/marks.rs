//! The directories whose opens wait for a verdict: `enforce_roots` and the known model
//! stores and caches under each home, each directory of their trees marked on its own
//! (an inode mark with `FAN_EVENT_ON_CHILD` covers a directory's direct children only).
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::sys::fanotify::{Fanotify, MarkFlags, MaskFlags};

/// Model stores and caches, relative to a home directory (Hugging Face, torch hub,
/// Ollama, LM Studio, llama.cpp, KaggleHub, ModelScope).
pub const HOME_STORES: &[&str] = &[
    ".cache/huggingface",
    ".cache/torch",
    crate::identify::names::OLLAMA_HOME_STORE,
    ".lmstudio/models",
    ".cache/llama.cpp",
    ".cache/kagglehub",
    ".cache/modelscope",
];

/// Stores outside homes (the Ollama Linux service's).
pub const SYSTEM_STORES: &[&str] = &[crate::identify::names::OLLAMA_SERVICE_STORE];

/// Directories marked at most (each mark pins an inode; a bigger tree is cut, counted
/// and logged).
pub const MAX_DIRS: usize = 100_000;

/// The marked directories, by (device, inode).
pub struct Marks {
    roots: Vec<PathBuf>,
    done: HashSet<(u64, u64)>,
    /// Directories left unmarked because [`MAX_DIRS`] was reached.
    pub skipped: u64,
}

impl Marks {
    /// Marks for `roots` plus, when `stores`, the known stores under `/root` and `/home/*`.
    pub fn new(roots: &[PathBuf], stores: bool) -> Self {
        let mut all: Vec<PathBuf> = roots.to_vec();
        if stores {
            all.extend(known_stores(Path::new("/")));
        }
        Self {
            roots: all,
            done: HashSet::new(),
            skipped: 0,
        }
    }

    /// The roots (existing or not).
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// Directories marked so far.
    pub fn len(&self) -> usize {
        self.done.len()
    }

    /// True when nothing is marked.
    pub fn is_empty(&self) -> bool {
        self.done.is_empty()
    }

    /// Marks every directory of the roots' trees not marked yet (new ones appear as
    /// models are downloaded: called again periodically). Symlinks are not followed.
    pub fn refresh(&mut self, fan: &Fanotify) {
        let mut stack: Vec<PathBuf> = self.roots.clone();
        while let Some(dir) = stack.pop() {
            let Ok(meta) = std::fs::symlink_metadata(&dir) else {
                continue;
            };
            if !meta.is_dir() {
                continue;
            }
            let id = (meta.dev(), meta.ino());
            if !self.done.contains(&id) {
                if self.done.len() >= MAX_DIRS {
                    self.skipped += 1;
                    continue;
                }
                let flags = MarkFlags::FAN_MARK_ADD | MarkFlags::FAN_MARK_ONLYDIR;
                let mask = MaskFlags::FAN_OPEN_PERM | MaskFlags::FAN_EVENT_ON_CHILD;
                match fan.mark(flags, mask, None, Some(&dir)) {
                    Ok(()) => {
                        self.done.insert(id);
                    }
                    Err(e) => {
                        tracing::warn!(dir = %dir.display(), error = %e, "policy: cannot mark directory");
                        continue;
                    }
                }
            }
            if let Ok(rd) = std::fs::read_dir(&dir) {
                for e in rd.flatten() {
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        stack.push(e.path());
                    }
                }
            }
        }
    }
}

/// The known stores under the homes found below `root` (`/root`, `/home/*`) and the
/// system ones.
pub fn known_stores(root: &Path) -> Vec<PathBuf> {
    let mut homes = vec![root.join("root")];
    if let Ok(rd) = std::fs::read_dir(root.join("home")) {
        homes.extend(rd.flatten().map(|e| e.path()));
    }
    let mut out: Vec<PathBuf> = homes
        .iter()
        .flat_map(|h| HOME_STORES.iter().map(move |s| h.join(s)))
        .collect();
    out.extend(
        SYSTEM_STORES
            .iter()
            .map(|s| root.join(s.trim_start_matches('/'))),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_under_every_home() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("home/alice")).unwrap();
        std::fs::create_dir_all(t.path().join("home/bob")).unwrap();
        let s = known_stores(t.path());
        for want in [
            "root/.cache/huggingface",
            "home/alice/.ollama/models",
            "home/bob/.cache/torch",
            "usr/share/ollama/.ollama/models",
        ] {
            assert!(s.contains(&t.path().join(want)), "{want} in {s:?}");
        }
    }
}

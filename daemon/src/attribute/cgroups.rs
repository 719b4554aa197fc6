//! cgroup id → cgroup path, from a bounded walk of the cgroup v2 hierarchy (a cgroup v2
//! id is the inode number of its directory), cached and walked again at most once a
//! second.
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Shortest time between two walks.
const REWALK_EVERY: Duration = Duration::from_secs(1);

/// Where the cgroup v2 hierarchy is mounted (`/sys/fs/cgroup`, or
/// `/sys/fs/cgroup/unified` on a hybrid v1/v2 host), from `/proc/self/mountinfo`.
pub fn v2_mount() -> Option<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        let mount = pre.split_whitespace().nth(4)?;
        (post.split_whitespace().next()? == "cgroup2").then(|| PathBuf::from(mount))
    })
}

/// The id → path cache.
pub struct CgroupIds {
    root: PathBuf,
    max: usize,
    map: HashMap<u64, String>,
    walked: Option<Instant>,
}

impl CgroupIds {
    /// Walks at most `max` directories of the cgroup tree at `root`.
    pub fn new(root: impl Into<PathBuf>, max: usize) -> Self {
        Self {
            root: root.into(),
            max,
            map: HashMap::new(),
            walked: None,
        }
    }

    /// The path (`/a/b`, as in `/proc/PID/cgroup`) of cgroup `id`.
    pub fn path(&mut self, id: u64) -> Option<String> {
        if let Some(p) = self.map.get(&id) {
            return Some(p.clone());
        }
        if self.walked.is_some_and(|t| t.elapsed() < REWALK_EVERY) {
            return None;
        }
        self.walk();
        self.map.get(&id).cloned()
    }

    /// Cgroups known from the last walk.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True before the first walk (or on a host without cgroup v2).
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn walk(&mut self) {
        self.walked = Some(Instant::now());
        self.map.clear();
        let mut stack = vec![self.root.clone()];
        let mut seen = 0;
        while let Some(dir) = stack.pop() {
            if seen >= self.max {
                tracing::debug!(max = self.max, "cgroup walk stopped at its bound");
                break;
            }
            seen += 1;
            let Ok(m) = std::fs::symlink_metadata(&dir) else {
                continue;
            };
            let rel = dir.strip_prefix(&self.root).unwrap_or(Path::new(""));
            self.map
                .insert(m.ino(), format!("/{}", rel.to_string_lossy()));
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(e.path());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_directories_by_inode_within_the_bound() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a/b")).unwrap();
        let ino = |p: &str| std::fs::metadata(d.path().join(p)).unwrap().ino();
        let mut c = CgroupIds::new(d.path(), 100);
        assert_eq!(c.path(ino("a/b")).as_deref(), Some("/a/b"));
        assert_eq!(c.path(ino("")).as_deref(), Some("/"));
        // created after the walk: found only once a second has passed
        std::fs::create_dir(d.path().join("c")).unwrap();
        assert_eq!(c.path(ino("c")), None);
        c.walked = Some(Instant::now() - REWALK_EVERY);
        assert_eq!(c.path(ino("c")).as_deref(), Some("/c"));
        let mut small = CgroupIds::new(d.path(), 1);
        assert_eq!(small.path(ino("a/b")), None);
        assert_eq!(small.len(), 1);
    }

    #[test]
    fn the_v2_hierarchy_is_found() {
        let m = v2_mount().expect("no cgroup2 mount on this host");
        assert!(m.join("cgroup.procs").exists(), "{}", m.display());
    }
}

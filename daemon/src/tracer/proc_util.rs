//! Small /proc helpers shared by the fanotify and procfs tracers.
//!
//! - [`Lineage`]: which pids are in [`Scope`] (the userspace twin of the eBPF `TRACKED` map);
//! - [`ppid`], [`uid`], [`comm`]: best-effort process details (`None` once a process is gone);
//! - [`strip_deleted`]: drops the ` (deleted)` marker the kernel appends to unlinked files;
//! - [`off_executor`], [`send`]: run blocking /proc work off the async executor and hand
//!   batches to the pipeline while keeping the counters.
use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{Context, Result};
use procfs::process::Stat;
use procfs::FromRead;

use super::{Batch, Scope};
use crate::model::TracerStats;

/// How far up the ppid chain [`Lineage::contains`] looks before giving up.
pub const MAX_DEPTH: usize = 64;

/// Suffix the kernel appends to the path of a file that has been unlinked.
pub const DELETED: &[u8] = b" (deleted)";

/// Decides whether a pid is in scope.
///
/// - [`Scope::Host`]: every pid except our own.
/// - [`Scope::Follow`]: pids given to [`Lineage::follow`] and their descendants, found by
///   walking the ppid chain in `/proc/PID/stat` (at most [`MAX_DEPTH`] steps). Verdicts are
///   cached for every pid on the walked chain; a process that exits must be dropped with
///   [`Lineage::forget`], [`Lineage::retain`] or [`Lineage::prune`] so a recycled pid is not
///   misjudged. A process that is already gone when asked about cannot be placed and is
///   reported out of scope (not cached).
///
/// Our own pid is never in scope.
#[derive(Debug, Clone)]
pub struct Lineage {
    scope: Scope,
    own: u32,
    /// Pids given to [`Lineage::follow`].
    roots: HashSet<u32>,
    /// Cached verdicts of other pids (Follow scope only).
    known: HashMap<u32, bool>,
}

impl Lineage {
    pub fn new(scope: Scope) -> Self {
        Self {
            scope,
            own: std::process::id(),
            roots: HashSet::new(),
            known: HashMap::new(),
        }
    }

    /// Follows `pid` and its descendants (ignored for our own pid).
    pub fn follow(&mut self, pid: u32) {
        if pid == self.own || pid == 0 {
            return;
        }
        self.roots.insert(pid);
        // Processes judged out of scope may descend from the new root.
        self.known.retain(|_, inside| *inside);
    }

    /// True when `pid` is in scope.
    pub fn contains(&mut self, pid: u32) -> bool {
        if pid == self.own || pid == 0 {
            return false;
        }
        match self.scope {
            Scope::Host => true,
            Scope::Follow => self.walk(pid),
        }
    }

    fn walk(&mut self, pid: u32) -> bool {
        let mut chain = Vec::new();
        let mut cur = pid;
        let verdict = loop {
            if self.roots.contains(&cur) {
                break Some(true);
            }
            if let Some(&inside) = self.known.get(&cur) {
                break Some(inside);
            }
            if cur <= 1 {
                // init or the idle task: the top of every chain.
                break Some(false);
            }
            if chain.len() >= MAX_DEPTH {
                break None;
            }
            chain.push(cur);
            match ppid(cur) {
                Some(p) => cur = p,
                // Gone mid-walk: we cannot tell, and must not cache a guess.
                None => break None,
            }
        };
        match verdict {
            Some(inside) => {
                for p in chain {
                    if p != self.own {
                        self.known.insert(p, inside);
                    }
                }
                inside
            }
            None => false,
        }
    }

    /// Forgets what is known about `pid` (it exited).
    pub fn forget(&mut self, pid: u32) {
        self.roots.remove(&pid);
        self.known.remove(&pid);
    }

    /// Keeps only pids for which `alive` is true (the caller listed `/proc`).
    pub fn retain(&mut self, mut alive: impl FnMut(u32) -> bool) {
        self.roots.retain(|p| alive(*p));
        self.known.retain(|p, _| alive(*p));
    }

    /// Drops every pid that no longer exists.
    pub fn prune(&mut self) {
        self.retain(|pid| Path::new(&format!("/proc/{pid}")).exists());
    }
}

/// Parent pid of `pid`, from `/proc/PID/stat` (0 for init and kernel threads' parent).
pub fn ppid(pid: u32) -> Option<u32> {
    let stat = Stat::from_file(format!("/proc/{pid}/stat")).ok()?;
    u32::try_from(stat.ppid).ok()
}

/// Real uid of `pid`, from the `Uid:` line of `/proc/PID/status`.
pub fn uid(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Kernel `comm` (thread name of the main thread) of `pid`, from `/proc/PID/comm`.
pub fn comm(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/comm")).ok()?;
    let raw = raw.strip_suffix(b"\n").unwrap_or(&raw);
    Some(String::from_utf8_lossy(raw).into_owned())
}

/// Removes a trailing ` (deleted)` from `path`; true when it was there.
pub fn strip_deleted(path: &mut Vec<u8>) -> bool {
    if path.ends_with(DELETED) {
        path.truncate(path.len() - DELETED.len());
        true
    } else {
        false
    }
}

/// Runs `f` on `state` in tokio's blocking pool and gives the state back with the result,
/// so blocking /proc and file-descriptor work never stalls the async executor.
pub async fn off_executor<T, R>(
    mut state: T,
    f: impl FnOnce(&mut T) -> R + Send + 'static,
) -> Result<(T, R)>
where
    T: Send + 'static,
    R: Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let r = f(&mut state);
        (state, r)
    })
    .await
    .context("tracer worker panicked")
}

/// Sends `batch` (if not empty) and counts it in `emitted`, or in `dropped` when the
/// receiver is gone. Returns false when the receiver is gone.
pub async fn send(out: &super::QueueTx, batch: Batch, stats: &mut TracerStats) -> bool {
    if batch.is_empty() {
        return !out.is_closed();
    }
    let n = batch.len() as u64;
    if out.send(batch).await.is_ok() {
        stats.emitted += n;
        true
    } else {
        stats.dropped += n;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    struct KillPid(u32);
    impl Drop for KillPid {
        fn drop(&mut self) {
            let pid = nix::unistd::Pid::from_raw(self.0 as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
    }

    fn quiet(cmd: &mut Command) -> &mut Command {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
    }

    fn sleeper() -> Kill {
        Kill(
            quiet(Command::new("sleep").arg("30"))
                .spawn()
                .expect("spawn sleep"),
        )
    }

    /// Waits until a process with parent `parent` exists and returns its pid.
    fn child_of(parent: u32) -> u32 {
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            for e in std::fs::read_dir("/proc").unwrap().flatten() {
                if let Some(pid) = e.file_name().to_str().and_then(|s| s.parse().ok()) {
                    if ppid(pid) == Some(parent) {
                        return pid;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("no child of {parent} appeared");
    }

    #[test]
    fn process_details_of_a_child() {
        let c = sleeper();
        let pid = c.0.id();
        assert_eq!(ppid(pid), Some(std::process::id()));
        assert_eq!(uid(pid), Some(nix::unistd::getuid().as_raw()));
        // comm is "sleep" once exec is done; right after spawn it may briefly be ours.
        let until = Instant::now() + Duration::from_secs(5);
        while comm(pid).as_deref() != Some("sleep") && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(comm(pid).as_deref(), Some("sleep"));
        drop(c);
        assert_eq!(ppid(pid), None);
        assert_eq!(comm(pid), None);
    }

    #[test]
    fn host_scope_is_everyone_but_us() {
        let mut l = Lineage::new(Scope::Host);
        let c = sleeper();
        assert!(l.contains(c.0.id()));
        assert!(l.contains(1));
        assert!(!l.contains(std::process::id()));
        assert!(l.known.is_empty());
    }

    #[test]
    fn follow_scope_is_roots_and_descendants() {
        // sh (root) -> sleep (grandchild of the test).
        let root = Kill(
            quiet(Command::new("sh").args(["-c", "sleep 30 & wait"]))
                .spawn()
                .unwrap(),
        );
        let other = sleeper();
        let mut l = Lineage::new(Scope::Follow);
        l.follow(root.0.id());
        l.follow(std::process::id()); // ignored
        let grandchild = child_of(root.0.id());
        // Killing the shell would orphan its child: kill that one on the way out too.
        let _grandchild_guard = KillPid(grandchild);
        assert!(l.contains(root.0.id()));
        assert!(l.contains(grandchild));
        assert!(!l.contains(other.0.id()));
        assert!(!l.contains(std::process::id()));
        assert!(!l.contains(1));
        // The verdicts are cached and survive until the process is forgotten.
        assert!(l.known.get(&grandchild) == Some(&true));
        assert!(l.known.get(&other.0.id()) == Some(&false));
        // A later root turns cached negatives into positives.
        l.follow(other.0.id());
        assert!(l.contains(other.0.id()));
        let gone = other.0.id();
        drop(other);
        l.prune();
        assert!(!l.roots.contains(&gone));
        assert!(l.contains(grandchild));
        l.forget(grandchild);
        assert!(!l.known.contains_key(&grandchild));
    }

    #[test]
    fn deleted_marker_is_stripped() {
        let mut p = b"/m/x.gguf (deleted)".to_vec();
        assert!(strip_deleted(&mut p));
        assert_eq!(p, b"/m/x.gguf");
        assert!(!strip_deleted(&mut p));
        assert_eq!(p, b"/m/x.gguf");
    }
}

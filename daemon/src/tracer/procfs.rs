//! The procfs tracer: polls `/proc/PID/fd/*` and `/proc/PID/maps` of the processes in
//! scope and reports each file that passes the [`PathFilter`] once per process.
//!
//! Works without privileges (for processes we may ptrace-read: our own user's, or all as
//! root) but only sees what is open or mapped at the moment of a poll: files opened and
//! closed between two polls are missed, and the reported time is the time of the poll.
//! Processes that exit are reported as [`TraceEvent::Exit`] and forgotten, which bounds the
//! memory to what live processes hold.
use std::collections::{HashMap, HashSet};
use std::fs;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::proc_util::{self, off_executor, send, Lineage, DELETED};
use super::{Batch, QueueTx, Scope, Tracer};
use crate::filter::FilterConfig;
use crate::filter::PathFilter;
use crate::model::{AccessMode, RawAccess, TraceEvent, TracerStats};

/// procfs polling tracer settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ProcfsConfig {
    /// How often `/proc/*/fd` and `/proc/*/maps` are walked (milliseconds).
    pub poll_interval_ms: u64,
}

impl Default for ProcfsConfig {
    fn default() -> Self {
        Self {
            poll_interval_ms: 100,
        }
    }
}

/// A ready-to-spawn /proc poller.
pub struct ProcfsTracer {
    poller: Poller,
    interval: Duration,
}

impl ProcfsTracer {
    /// Checks that /proc can be listed and read.
    pub fn open(scope: Scope, filter: &FilterConfig, cfg: &ProcfsConfig) -> Result<Self> {
        fs::read_dir("/proc").context("cannot list /proc (is procfs mounted?)")?;
        fs::read("/proc/self/maps").context("cannot read /proc/self/maps")?;
        Ok(Self {
            poller: Poller {
                lineage: Lineage::new(scope),
                filter: filter.matcher(),
                procs: HashMap::new(),
                stats: TracerStats::default(),
            },
            interval: Duration::from_millis(cfg.poll_interval_ms.max(1)),
        })
    }
}

impl Tracer for ProcfsTracer {
    fn name(&self) -> &'static str {
        aibom_semconv::tracer::PROCFS
    }

    fn follow(&mut self, pid: u32) -> Result<()> {
        self.poller.lineage.follow(pid);
        Ok(())
    }

    fn spawn(
        self: Box<Self>,
        out: QueueTx,
        stop: CancellationToken,
    ) -> JoinHandle<Result<TracerStats>> {
        let Self {
            mut poller,
            interval,
        } = *self;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let (p, batch) = off_executor(poller, Poller::poll).await?;
                poller = p;
                if !send(&out, batch, &mut poller.stats).await {
                    tracing::debug!("event receiver gone, procfs tracer stopping");
                    return Ok(poller.stats);
                }
            }
            // One last look, for files opened since the previous poll.
            let (mut poller, batch) = off_executor(poller, Poller::poll).await?;
            send(&out, batch, &mut poller.stats).await;
            tracing::debug!(stats = ?poller.stats, "procfs tracer stopped");
            Ok(poller.stats)
        })
    }
}

/// What is remembered about a live process in scope.
#[derive(Debug, Default)]
struct ProcState {
    /// Link target of each fd at the last poll; unchanged fds are not looked at again.
    fds: HashMap<i32, Vec<u8>>,
    /// File ids of mappings already looked at (reported or filtered out).
    mapped: HashSet<(u64, u64)>,
    /// (dev, inode, mapped) reported for this process: an open fd and a mapping of one
    /// file are two accesses (read, then mmap) and both are reported.
    reported: HashSet<(u64, u64, bool)>,
}

/// Poll state. Counters: `seen` counts fd targets and file mappings looked at for the first
/// time, `filtered` those the path filter dropped, `emitted` the events sent (exits
/// included).
struct Poller {
    lineage: Lineage,
    filter: PathFilter,
    procs: HashMap<u32, ProcState>,
    stats: TracerStats,
}

impl Poller {
    /// Walks /proc once and returns the new events.
    fn poll(&mut self) -> Batch {
        let mut batch = Vec::new();
        let dir = match fs::read_dir("/proc") {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list /proc");
                return batch;
            }
        };
        let pids: HashSet<u32> = dir
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect();
        self.lineage.retain(|p| pids.contains(&p));
        for &pid in &pids {
            if !self.lineage.contains(pid) {
                continue;
            }
            let mut st = self.procs.remove(&pid).unwrap_or_default();
            self.scan_fds(pid, &mut st, &mut batch);
            self.scan_maps(pid, &mut st, &mut batch);
            self.procs.insert(pid, st);
        }
        let gone: Vec<u32> = self
            .procs
            .keys()
            .filter(|p| !pids.contains(p))
            .copied()
            .collect();
        for pid in gone {
            self.procs.remove(&pid);
            self.lineage.forget(pid);
            batch.push(TraceEvent::Exit { pid });
        }
        batch
    }

    fn scan_fds(&mut self, pid: u32, st: &mut ProcState, batch: &mut Batch) {
        let fd_dir = format!("/proc/{pid}/fd");
        // Gone, or not ours to read (another user's process without root).
        let Ok(entries) = fs::read_dir(&fd_dir) else {
            return;
        };
        let mut fds = HashMap::with_capacity(st.fds.len());
        for e in entries.flatten() {
            let Some(fd) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            let link = e.path();
            let Ok(target) = fs::read_link(&link) else {
                continue;
            };
            let target = target.into_os_string().into_vec();
            if st.fds.get(&fd) == Some(&target) {
                fds.insert(fd, target);
                continue;
            }
            if let Some(access) = self.check_fd(pid, fd, &link, &target, st) {
                batch.push(TraceEvent::Access(access));
            }
            fds.insert(fd, target);
        }
        st.fds = fds;
    }

    /// Looks at fd `fd` of `pid`, newly opened (or pointing elsewhere) since the last poll.
    fn check_fd(
        &mut self,
        pid: u32,
        fd: i32,
        link: &Path,
        target: &[u8],
        st: &mut ProcState,
    ) -> Option<RawAccess> {
        // Sockets, pipes, anon inodes ("socket:[1]") and memfds are not files.
        if !target.starts_with(b"/") || target.starts_with(b"/memfd:") {
            return None;
        }
        self.stats.seen += 1;
        let mut path = target.to_vec();
        // Stat through the magic link: it reaches the open file even when it was unlinked.
        let mut md = None;
        if path.ends_with(DELETED) {
            md = fs::metadata(link).ok();
            if md.as_ref().is_some_and(|m| m.nlink() == 0) {
                proc_util::strip_deleted(&mut path);
            }
        }
        let path = self.admit(path)?;
        let md = md.or_else(|| fs::metadata(link).ok())?;
        let id = (md.dev(), md.ino());
        if !st.reported.insert((id.0, id.1, false)) {
            return None;
        }
        let flags = fdinfo_flags(pid, fd);
        Some(access(
            pid,
            path,
            Some(fd),
            flags,
            flags.map_or(AccessMode::Read, AccessMode::from_open_flags),
            id,
        ))
    }

    /// The path to report when the filter keeps `path` (or its hub snapshot name, see
    /// [`hub_alias`]); `None`, counted as filtered, otherwise.
    fn admit(&mut self, path: Vec<u8>) -> Option<Vec<u8>> {
        if self.filter.matches(&path) {
            return Some(path);
        }
        let alias = hub_alias(&path).filter(|a| self.filter.matches(a));
        if alias.is_none() {
            self.stats.filtered += 1;
        }
        alias
    }

    fn scan_maps(&mut self, pid: u32, st: &mut ProcState, batch: &mut Batch) {
        let Ok(text) = fs::read(format!("/proc/{pid}/maps")) else {
            return;
        };
        for line in text.split(|b| *b == b'\n') {
            let Some((id, path)) = parse_maps_line(line) else {
                continue;
            };
            // Not a file (inode 0), already looked at, or not a plain path.
            if id.1 == 0
                || st.mapped.contains(&id)
                || !path.starts_with(b"/")
                || path.starts_with(b"/memfd:")
                || path.starts_with(b"/SYSV")
            {
                continue;
            }
            st.mapped.insert(id);
            self.stats.seen += 1;
            let mut path = path.to_vec();
            proc_util::strip_deleted(&mut path);
            let Some(path) = self.admit(path) else {
                continue;
            };
            if st.reported.insert((id.0, id.1, true)) {
                batch.push(TraceEvent::Access(access(
                    pid,
                    path,
                    None,
                    None,
                    AccessMode::Mmap,
                    id,
                )));
            }
        }
    }
}

/// What processes hold right now: their open files and file mappings that pass the path
/// filter, read from `/proc` with the same code as the procfs tracer (a scan's inventory).
pub struct Inventory {
    poller: Poller,
}

impl Inventory {
    /// An inventory reader applying `filter`.
    pub fn new(filter: PathFilter) -> Self {
        Self {
            poller: Poller {
                lineage: Lineage::new(Scope::Host),
                filter,
                procs: HashMap::new(),
                stats: TracerStats::default(),
            },
        }
    }

    /// The pids under `/proc` now.
    pub fn pids() -> Vec<u32> {
        fs::read_dir("/proc")
            .map(|d| {
                d.flatten()
                    .filter_map(|e| e.file_name().to_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The files `pid` holds open or mapped (once per file and kind).
    pub fn process(&mut self, pid: u32) -> Vec<RawAccess> {
        let mut st = ProcState::default();
        let mut batch = Vec::new();
        self.poller.scan_fds(pid, &mut st, &mut batch);
        self.poller.scan_maps(pid, &mut st, &mut batch);
        batch
            .into_iter()
            .filter_map(|e| match e {
                TraceEvent::Access(a) => Some(a),
                _ => None,
            })
            .collect()
    }
}

fn access(
    pid: u32,
    path: Vec<u8>,
    fd: Option<i32>,
    flags: Option<u64>,
    mode: AccessMode,
    file_id: (u64, u64),
) -> RawAccess {
    RawAccess {
        time: SystemTime::now(),
        pid,
        ppid: proc_util::ppid(pid),
        uid: proc_util::uid(pid),
        cgroup_id: None,
        comm: proc_util::comm(pid),
        path,
        kernel_path: None,
        dirfd: None,
        fd,
        flags,
        mode,
        syscall: None,
        file_id: Some(file_id),
        file_meta: None,
        tracer: aibom_semconv::tracer::PROCFS,
    }
}

/// Snapshot entries looked at per hub repo at most when looking for a blob's name.
const HUB_ALIAS_SCAN: usize = 10_000;

/// For a Hugging Face hub blob (`…/models--org--name/blobs/<hash>`), the snapshot path
/// that links to it (`…/snapshots/<rev>/model.safetensors`). `/proc` shows a process's
/// open files and mappings with symlinks resolved, so a held blob has lost the name (and
/// extension) the path filter and identification need; the tracers see the name the
/// program opened.
fn hub_alias(path: &[u8]) -> Option<Vec<u8>> {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let p = Path::new(std::ffi::OsStr::from_bytes(path));
    let blobs = p.parent()?;
    if blobs.file_name()? != "blobs" {
        return None;
    }
    let repo = blobs.parent()?;
    let n = repo.file_name()?.to_str()?;
    if !(n.starts_with("models--") || n.starts_with("datasets--") || n.starts_with("spaces--")) {
        return None;
    }
    let mut stack = vec![(repo.join("snapshots"), 0u8)];
    let mut seen = 0usize;
    while let Some((dir, depth)) = stack.pop() {
        for e in fs::read_dir(&dir).ok()?.flatten() {
            seen += 1;
            if seen > HUB_ALIAS_SCAN {
                return None;
            }
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() && depth < 8 {
                stack.push((e.path(), depth + 1));
            } else if ft.is_symlink()
                && fs::canonicalize(e.path()).is_ok_and(|t| t.as_os_str().as_bytes() == path)
            {
                return Some(e.path().into_os_string().into_vec());
            }
        }
    }
    None
}

/// The file status flags of an open fd (`flags:` of `/proc/PID/fdinfo/FD`, octal).
fn fdinfo_flags(pid: u32, fd: i32) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
    let flags = text.lines().find_map(|l| l.strip_prefix("flags:"))?;
    u64::from_str_radix(flags.trim(), 8).ok()
}

/// Parses a `/proc/PID/maps` line into ((`st_dev`, inode), path). The path is everything
/// after the inode column (it may contain spaces) and is empty for anonymous mappings.
fn parse_maps_line(line: &[u8]) -> Option<((u64, u64), &[u8])> {
    let mut rest = line;
    let mut field = || {
        let start = rest.iter().position(|b| *b != b' ')?;
        let s = &rest[start..];
        let end = s.iter().position(|b| *b == b' ').unwrap_or(s.len());
        rest = &s[end..];
        Some(&s[..end])
    };
    let (_range, _perms, _offset) = (field()?, field()?, field()?);
    let dev = std::str::from_utf8(field()?).ok()?;
    let inode = std::str::from_utf8(field()?).ok()?.parse().ok()?;
    let (major, minor) = dev.split_once(':')?;
    let dev = libc::makedev(
        u32::from_str_radix(major, 16).ok()?,
        u32::from_str_radix(minor, 16).ok()?,
    );
    let start = rest.iter().position(|b| *b != b' ').unwrap_or(rest.len());
    Some(((dev, inode), &rest[start..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;
    use std::process::{Command, Stdio};
    use std::time::Instant;

    #[test]
    fn hub_blobs_are_named_by_their_snapshot_link() {
        let d = tempfile::tempdir().unwrap();
        let repo = d.path().join("hub/models--org--tiny");
        std::fs::create_dir_all(repo.join("blobs")).unwrap();
        std::fs::create_dir_all(repo.join("snapshots/abc/sub")).unwrap();
        let blob = repo.join("blobs/0123abcd");
        std::fs::write(&blob, b"x").unwrap();
        std::os::unix::fs::symlink(
            "../../../blobs/0123abcd",
            repo.join("snapshots/abc/sub/model.safetensors"),
        )
        .unwrap();
        let blob = std::fs::canonicalize(&blob).unwrap();
        let alias = hub_alias(blob.as_os_str().as_bytes()).expect("alias found");
        assert!(alias.ends_with(b"snapshots/abc/sub/model.safetensors"));
        // not a hub blob: no alias
        assert!(hub_alias(b"/tmp/blobs/0123abcd").is_none());
        assert!(hub_alias(
            repo.join("snapshots/abc/sub/model.safetensors")
                .as_os_str()
                .as_bytes()
        )
        .is_none());
    }

    #[test]
    fn maps_lines_are_parsed() {
        let l = b"7f1c2a000000-7f1c2a100000 r--s 00000000 fd:01 1234567                    /data/my model.safetensors (deleted)";
        let (id, path) = parse_maps_line(l).unwrap();
        assert_eq!(id, (libc::makedev(0xfd, 1), 1234567));
        assert_eq!(path, b"/data/my model.safetensors (deleted)");
        let (id, path) = parse_maps_line(
            b"7ffd1000-7ffd2000 rw-p 00000000 00:00 0                          [stack]",
        )
        .unwrap();
        assert_eq!(id, (0, 0));
        assert_eq!(path, b"[stack]");
        let (_, path) = parse_maps_line(b"7f00-7f10 rw-p 00000000 00:00 0 ").unwrap();
        assert!(path.is_empty());
        assert!(parse_maps_line(b"").is_none());
        assert!(parse_maps_line(b"garbage").is_none());
    }

    fn tracer(scope: Scope) -> Box<ProcfsTracer> {
        let cfg = ProcfsConfig {
            poll_interval_ms: 20,
        };
        Box::new(ProcfsTracer::open(scope, &FilterConfig::default(), &cfg).unwrap())
    }

    /// Receives until `pred` matches an event (or 5 s pass).
    async fn wait_for(
        rx: &mut crate::tracer::QueueRx,
        mut pred: impl FnMut(&TraceEvent) -> bool,
    ) -> Option<TraceEvent> {
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if let Ok(Some(batch)) =
                tokio::time::timeout(Duration::from_millis(100), rx.recv()).await
            {
                if let Some(e) = batch.events.into_iter().find(|e| pred(e)) {
                    return Some(e);
                }
            }
        }
        None
    }

    #[tokio::test]
    async fn open_fd_of_a_child_is_seen_once_and_its_exit_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.safetensors");
        fs::write(&file, b"weights").unwrap();
        let md = fs::metadata(&file).unwrap();
        let mut child = Command::new("sleep")
            .arg("30")
            .stdin(fs::File::open(&file).unwrap())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        // Host scope: every process but the test itself.
        let (tx, mut rx) = crate::tracer::queue(64, 1 << 20, Default::default());
        let stop = CancellationToken::new();
        let task = tracer(Scope::Host).spawn(tx, stop.clone());
        let is_ours = |e: &TraceEvent| matches!(e, TraceEvent::Access(a) if a.pid == pid && a.path == file.as_os_str().as_bytes());
        let Some(TraceEvent::Access(a)) = wait_for(&mut rx, is_ours).await else {
            panic!("the child's open x.safetensors was not seen");
        };
        assert_eq!(a.fd, Some(0));
        assert_eq!(a.mode, AccessMode::Read);
        assert_eq!(a.file_id, Some((md.dev(), md.ino())));
        assert_eq!(a.ppid, Some(std::process::id()));
        assert_eq!(a.tracer, aibom_semconv::tracer::PROCFS);
        // Reported once: the following polls stay quiet about it; then the exit comes.
        child.kill().unwrap();
        child.wait().unwrap();
        let mut again = false;
        let exit = wait_for(&mut rx, |e| {
            again |= is_ours(e);
            matches!(e, TraceEvent::Exit { pid: p } if *p == pid)
        })
        .await;
        assert!(exit.is_some(), "exit of {pid} not reported");
        assert!(!again, "x.safetensors reported twice");
        stop.cancel();
        while rx.recv().await.is_some() {}
        let stats = task.await.unwrap().unwrap();
        assert!(stats.emitted >= 2 && stats.seen >= 1, "{stats:?}");
    }

    #[tokio::test]
    async fn mapped_file_of_a_followed_process_is_seen() {
        // The executable of a process is mapped: run a copy of sleep named like a model.
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("sleep.safetensors");
        let sleep = ["/bin/sleep", "/usr/bin/sleep"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("sleep binary");
        fs::copy(sleep, &exe).unwrap();
        let mut t = tracer(Scope::Follow);
        // A fork in a parallel test may briefly hold the copy's write fd (ETXTBSY): retry.
        let run = || {
            for _ in 0..50 {
                match Command::new(&exe)
                    .arg("30")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                {
                    Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                        std::thread::sleep(Duration::from_millis(20))
                    }
                    r => return r.unwrap(),
                }
            }
            panic!("{} stays busy", exe.display());
        };
        let mut child = run();
        let mut other = run();
        let pid = child.id();
        t.follow(pid).unwrap();
        let (tx, mut rx) = crate::tracer::queue(64, 1 << 20, Default::default());
        let stop = CancellationToken::new();
        let task = t.spawn(tx, stop.clone());
        let mut foreign = false;
        let ev = wait_for(&mut rx, |e| match e {
            TraceEvent::Access(a) => {
                foreign |= a.pid != pid;
                a.path == exe.as_os_str().as_bytes()
            }
            _ => false,
        })
        .await;
        stop.cancel();
        while rx.recv().await.is_some() {}
        task.await.unwrap().unwrap();
        for c in [&mut child, &mut other] {
            c.kill().unwrap();
            c.wait().unwrap();
        }
        let Some(TraceEvent::Access(a)) = ev else {
            panic!("mapping of sleep.safetensors not seen");
        };
        assert_eq!(a.pid, pid);
        assert_eq!(a.mode, AccessMode::Mmap);
        assert_eq!(a.fd, None);
        let md = fs::metadata(&exe).unwrap();
        assert_eq!(a.file_id, Some((md.dev(), md.ino())));
        assert!(!foreign, "a process outside the followed tree was reported");
    }
}

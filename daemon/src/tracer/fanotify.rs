//! The fanotify tracer: a notification-class fanotify group with a mount mark on every
//! mount of a real filesystem, reporting `FAN_OPEN` and `FAN_OPEN_EXEC`.
//!
//! Each event carries an fd for the opened file and the pid (tgid) that opened it; the
//! path comes from `/proc/self/fd/N`, the file id from `fstat`, and the userspace
//! [`PathFilter`] and [`Lineage`] decide what is reported.
//!
//! Limits, compared with the eBPF tracer:
//! - mount marks only see opens through the marked mounts: mounts of pseudo filesystems
//!   and mounts whose every path the filter denies are not marked, mounts of other mount
//!   namespaces (containers) are not visible, and new mounts are picked up only by the
//!   periodic rescan of `/proc/self/mountinfo` (every [`HOUSEKEEPING`]);
//! - opens of device nodes (`/dev/nvidia0`, kept by the default filter) are not reported;
//! - no open flags, fd, uid or cgroup in the event: the mode is `Exec` or `Read` (even for
//!   opens for writing), uid/ppid/comm are read from /proc afterwards and are missing when
//!   the process has already exited;
//! - in Follow scope a descendant that exited before its event was read cannot be placed
//!   in the process tree and is dropped;
//! - the kernel merges identical consecutive events, so repeated opens may appear once;
//! - opens that fail (permissions, missing file) are never reported.
use std::collections::HashSet;
use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, bail, Context, Result};
use nix::errno::Errno;
use nix::sys::fanotify::{EventFFlags, Fanotify, FanotifyEvent, InitFlags, MarkFlags, MaskFlags};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::proc_util::{self, off_executor, send, Lineage, DELETED};
use super::{Batch, QueueTx, Scope, Tracer};
use crate::filter::{FilterConfig, PathFilter, Rule};
use crate::model::{AccessMode, RawAccess, TraceEvent, TracerStats};

/// Filesystems that never hold artifact files; their mounts are not marked. `devtmpfs` is
/// among them: the accelerator nodes the filter keeps (`/dev/nvidia*`) would be worth
/// seeing, but opens of device nodes produce no fanotify events (checked on 6.18, even
/// with an inode mark on the node), so the tracer cannot report them.
const PSEUDO_FS: &[&str] = &[
    "proc",
    "devtmpfs",
    "sysfs",
    "cgroup",
    "cgroup2",
    "devpts",
    "tracefs",
    "debugfs",
    "securityfs",
    "bpf",
    "pstore",
    "mqueue",
    "configfs",
    "fusectl",
    "binfmt_misc",
    "autofs",
    "efivarfs",
    "selinuxfs",
    "nsfs",
    "rpc_pipefs",
    "hugetlbfs",
    "ramfs",
];

/// How often exited pids are pruned from the lineage cache and new mounts are marked.
pub const HOUSEKEEPING: Duration = Duration::from_secs(5);

/// `read(2)` calls (of up to 4 KiB of events each) per trip to the blocking pool.
const READS_PER_DRAIN: usize = 64;

/// An open fanotify group with its mount marks, ready to be spawned.
pub struct FanotifyTracer {
    reader: Reader,
}

impl FanotifyTracer {
    /// Creates the fanotify group and marks every relevant mount. Needs root.
    pub fn open(scope: Scope, filter: &FilterConfig) -> Result<Self> {
        if !nix::unistd::geteuid().is_root() {
            bail!("not running as root (fanotify needs CAP_SYS_ADMIN); run with sudo or use --tracer procfs");
        }
        let fan = Fanotify::init(
            InitFlags::FAN_CLASS_NOTIF | InitFlags::FAN_CLOEXEC | InitFlags::FAN_NONBLOCK,
            EventFFlags::O_RDONLY | EventFFlags::O_LARGEFILE | EventFFlags::O_CLOEXEC,
        )
        .map_err(|e| match e {
            Errno::ENOSYS => {
                anyhow!("fanotify_init: kernel built without CONFIG_FANOTIFY; use --tracer procfs")
            }
            e => anyhow!("fanotify_init failed: {e}; use --tracer procfs"),
        })?;
        let mut marks = Marks {
            filter: filter.clone(),
            mask: MaskFlags::FAN_OPEN | MaskFlags::FAN_OPEN_EXEC,
            done: HashSet::new(),
            marked: 0,
        };
        marks.refresh(&fan)?;
        if marks.marked == 0 {
            bail!("fanotify: no mount could be marked; use --tracer procfs");
        }
        tracing::debug!(mounts = marks.marked, "fanotify marks placed");
        Ok(Self {
            reader: Reader {
                fan: Arc::new(fan),
                marks,
                lineage: Lineage::new(scope),
                scope,
                filter: filter.matcher(),
                own: std::process::id(),
                stats: TracerStats::default(),
            },
        })
    }
}

impl Tracer for FanotifyTracer {
    fn name(&self) -> &'static str {
        aibom_semconv::tracer::FANOTIFY
    }

    fn follow(&mut self, pid: u32) -> Result<()> {
        self.reader.lineage.follow(pid);
        Ok(())
    }

    fn spawn(
        self: Box<Self>,
        out: QueueTx,
        stop: CancellationToken,
    ) -> JoinHandle<Result<TracerStats>> {
        tokio::spawn(run(self.reader, out, stop))
    }
}

/// The fanotify fd as tokio sees it; the `Arc` keeps it open while registered.
struct GroupFd(Arc<Fanotify>);

impl AsRawFd for GroupFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

async fn run(mut reader: Reader, out: QueueTx, stop: CancellationToken) -> Result<TracerStats> {
    // SAFETY: `GroupFd` holds an `Arc` of the group, so its fd stays open and refers to the
    // same fanotify group for as long as the `AsyncFd` lives; `as_raw_fd` always returns it.
    let afd =
        unsafe { AsyncFd::register_with_interest(GroupFd(reader.fan.clone()), Interest::READABLE) }
            .map_err(|e| anyhow!("registering the fanotify fd with tokio: {e}"))?;
    let mut tick =
        tokio::time::interval_at(tokio::time::Instant::now() + HOUSEKEEPING, HOUSEKEEPING);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            guard = afd.readable() => {
                let mut guard = guard?;
                let (r, res) = off_executor(reader, |r| r.drain(READS_PER_DRAIN)).await?;
                reader = r;
                let (batch, empty) = res?;
                if empty {
                    guard.clear_ready();
                }
                if !send(&out, batch, &mut reader.stats).await {
                    tracing::debug!("event receiver gone, fanotify tracer stopping");
                    return Ok(reader.stats);
                }
            }
            _ = tick.tick() => {
                reader = off_executor(reader, Reader::housekeeping).await?.0;
            }
        }
    }
    // Every open that completed before the stop has its event queued: take them all.
    loop {
        let (r, res) = off_executor(reader, |r| r.drain(READS_PER_DRAIN)).await?;
        reader = r;
        let (batch, empty) = res?;
        if !send(&out, batch, &mut reader.stats).await || empty {
            break;
        }
    }
    tracing::debug!(stats = ?reader.stats, "fanotify tracer stopped");
    Ok(reader.stats)
}

/// Everything the event loop needs; moved into the blocking pool for each drain.
struct Reader {
    fan: Arc<Fanotify>,
    marks: Marks,
    lineage: Lineage,
    scope: Scope,
    filter: PathFilter,
    own: u32,
    stats: TracerStats,
}

impl Reader {
    /// Reads events until the queue is empty (`true`) or `max_reads` reads were done.
    fn drain(&mut self, max_reads: usize) -> Result<(Batch, bool)> {
        let mut batch = Vec::new();
        for _ in 0..max_reads {
            let events = match self.fan.read_events() {
                Ok(events) => events,
                Err(Errno::EAGAIN) => return Ok((batch, true)),
                Err(Errno::EINTR) => continue,
                Err(e @ (Errno::EBADF | Errno::EFAULT | Errno::EINVAL)) => {
                    return Err(e).context("reading fanotify events")
                }
                // The kernel could not open an fd for the event (EMFILE, ENFILE, an LSM
                // denial, ...): that event is lost, the next read goes on with the rest.
                Err(e) => {
                    self.stats.dropped += 1;
                    tracing::warn!(error = %e, "fanotify event lost: no fd could be opened for it");
                    continue;
                }
            };
            for ev in events {
                if let Some(access) = self.handle(&ev) {
                    batch.push(TraceEvent::Access(access));
                }
                // Dropping `ev` closes its fd.
            }
        }
        Ok((batch, false))
    }

    fn handle(&mut self, ev: &FanotifyEvent) -> Option<RawAccess> {
        if !ev.check_version() {
            self.stats.dropped += 1;
            tracing::warn!(
                version = ev.version(),
                "fanotify event of unknown version ignored"
            );
            return None;
        }
        let mask = ev.mask();
        if mask.contains(MaskFlags::FAN_Q_OVERFLOW) {
            self.stats.dropped += 1;
            tracing::warn!(
                overflows = self.stats.dropped,
                "fanotify queue overflowed: opens were lost (the pipeline is not keeping up)"
            );
            return None;
        }
        let fd = ev.fd()?.as_raw_fd();
        self.stats.seen += 1;
        let pid = match u32::try_from(ev.pid()) {
            // 0: the opener is outside our pid namespace.
            Ok(pid) if pid != 0 && pid != self.own => pid,
            _ => {
                self.stats.filtered += 1;
                return None;
            }
        };
        let Ok(link) = std::fs::read_link(format!("/proc/self/fd/{fd}")) else {
            self.stats.dropped += 1;
            return None;
        };
        let mut path = link.into_os_string().into_vec();
        // `fstat` only when needed: to tell an unlinked file from a name ending in the
        // marker, and for the file id of what is reported.
        let mut st = None;
        if path.ends_with(DELETED) {
            st = fstat(fd);
            if st.is_some_and(|s| s.nlink == 0) {
                proc_util::strip_deleted(&mut path);
            }
        }
        if !self.filter.matches(&path) || !self.lineage.contains(pid) {
            self.stats.filtered += 1;
            return None;
        }
        let st = st.or_else(|| fstat(fd));
        Some(RawAccess {
            time: SystemTime::now(),
            pid,
            ppid: proc_util::ppid(pid),
            uid: proc_util::uid(pid),
            cgroup_id: None,
            comm: proc_util::comm(pid),
            path,
            kernel_path: None,
            dirfd: None,
            fd: None,
            flags: None,
            mode: if mask.contains(MaskFlags::FAN_OPEN_EXEC) {
                AccessMode::Exec
            } else {
                AccessMode::Read
            },
            syscall: None,
            file_id: st.map(|s| (s.dev, s.ino)),
            file_meta: None,
            tracer: aibom_semconv::tracer::FANOTIFY,
        })
    }

    /// Forgets exited pids and marks mounts that appeared since the last look.
    fn housekeeping(&mut self) {
        if self.scope == Scope::Follow {
            self.lineage.prune();
        }
        if let Err(e) = self.marks.refresh(&self.fan) {
            tracing::warn!(error = %format!("{e:#}"), "rescanning mounts for fanotify failed");
        }
    }
}

/// The parts of `fstat` the tracer uses.
#[derive(Debug, Clone, Copy)]
struct FileStat {
    dev: u64,
    ino: u64,
    nlink: u64,
}

// The field types of `struct stat` differ between architectures.
#[allow(clippy::unnecessary_cast)]
fn fstat(fd: RawFd) -> Option<FileStat> {
    let st = nix::sys::stat::fstat(fd).ok()?;
    Some(FileStat {
        dev: st.st_dev as u64,
        ino: st.st_ino as u64,
        nlink: st.st_nlink as u64,
    })
}

/// The mounts marked so far.
struct Marks {
    filter: FilterConfig,
    mask: MaskFlags,
    /// Mount ids already handled (marked, failed or skipped).
    done: HashSet<u64>,
    marked: usize,
}

impl Marks {
    /// Marks every mount of `/proc/self/mountinfo` not handled yet that may hold reported
    /// files.
    fn refresh(&mut self, fan: &Fanotify) -> Result<()> {
        let text = std::fs::read("/proc/self/mountinfo").context("reading /proc/self/mountinfo")?;
        let rules = self.filter.prefix_rules();
        for m in parse_mountinfo(&text) {
            if !self.done.insert(m.id) {
                continue;
            }
            if PSEUDO_FS.contains(&m.fstype.as_str()) || fully_denied(&m.point, &rules) {
                tracing::trace!(mount = %String::from_utf8_lossy(&m.point), fstype = %m.fstype, "mount not marked");
                continue;
            }
            let point = OsStr::from_bytes(&m.point);
            let flags = MarkFlags::FAN_MARK_ADD | MarkFlags::FAN_MARK_MOUNT;
            let mut res = fan.mark(flags, self.mask, None, Some(point));
            if res == Err(Errno::EINVAL) && self.mask.contains(MaskFlags::FAN_OPEN_EXEC) {
                // FAN_OPEN_EXEC needs Linux 5.0; plain FAN_OPEN still sees executables.
                tracing::info!("kernel without FAN_OPEN_EXEC, executables are reported as reads");
                self.mask.remove(MaskFlags::FAN_OPEN_EXEC);
                res = fan.mark(flags, self.mask, None, Some(point));
            }
            match res {
                Ok(()) => {
                    self.marked += 1;
                    tracing::debug!(mount = %point.to_string_lossy(), fstype = %m.fstype, "fanotify mark placed");
                }
                Err(e) => {
                    tracing::warn!(mount = %point.to_string_lossy(), fstype = %m.fstype, error = %e, "cannot mark mount, opens on it are not traced")
                }
            }
        }
        Ok(())
    }
}

/// One line of `/proc/self/mountinfo`.
#[derive(Debug, PartialEq)]
struct Mount {
    id: u64,
    /// Mount point, unescaped.
    point: Vec<u8>,
    fstype: String,
}

/// Parses `/proc/self/mountinfo`, skipping lines it cannot read.
fn parse_mountinfo(text: &[u8]) -> Vec<Mount> {
    text.split(|b| *b == b'\n')
        .filter_map(|line| {
            let fields: Vec<&[u8]> = line.split(|b| *b == b' ').collect();
            let id = std::str::from_utf8(fields.first()?).ok()?.parse().ok()?;
            let point = unescape(fields.get(4)?);
            // Optional fields end with a lone "-"; the filesystem type follows it.
            let sep = fields.iter().skip(6).position(|f| *f == b"-")? + 6;
            let fstype = String::from_utf8_lossy(fields.get(sep + 1)?).into_owned();
            Some(Mount { id, point, fstype })
        })
        .collect()
}

/// Undoes the kernel's octal escapes (`\040` for space, `\011`, `\012`, `\134`).
fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let octal = s
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (s[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') << 6 | (d[1] - b'0') << 3 | (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// True when the filter drops every path under mount point `point`: the longest prefix
/// rule covering the directory is a deny rule and no keep rule points inside it.
fn fully_denied(point: &[u8], rules: &[(Vec<u8>, Rule)]) -> bool {
    let mut dir = point.to_vec();
    if !dir.ends_with(b"/") {
        dir.push(b'/');
    }
    let best = rules
        .iter()
        .filter(|(p, _)| dir.starts_with(p))
        .max_by_key(|(p, _)| p.len());
    match best {
        Some((_, Rule::Drop)) => !rules
            .iter()
            .any(|(p, r)| !r.drops_name() && p.starts_with(&dir)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};
    use std::time::Instant;

    #[test]
    fn mountinfo_lines_are_parsed() {
        let text = b"22 27 0:21 / /proc rw,relatime - proc proc rw\n\
27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n\
90 27 0:50 / /mnt/my\\040models rw,relatime shared:7 master:2 - fuse.s3fs s3fs rw\n\
garbage\n";
        let m = parse_mountinfo(text);
        assert_eq!(m.len(), 3);
        assert_eq!(
            m[0],
            Mount {
                id: 22,
                point: b"/proc".to_vec(),
                fstype: "proc".into()
            }
        );
        assert_eq!(m[1].point, b"/");
        assert_eq!(m[1].fstype, "ext4");
        assert_eq!(m[2].point, b"/mnt/my models");
        assert_eq!(m[2].fstype, "fuse.s3fs");
        assert_eq!(unescape(b"a\\134b\\0xy\\"), b"a\\b\\0xy\\");
    }

    #[test]
    fn mounts_the_filter_empties_are_skipped() {
        let rules = FilterConfig::default().prefix_rules();
        assert!(fully_denied(b"/run/lock", &rules));
        assert!(fully_denied(b"/proc", &rules));
        // shared memory and per-user runtime folders are judged by name
        assert!(!fully_denied(b"/dev/shm", &rules));
        assert!(!fully_denied(b"/run", &rules));
        assert!(!fully_denied(b"/run/user/1000", &rules));
        assert!(fully_denied(b"/sys/fs/cgroup", &rules));
        // /dev holds the kept accelerator nodes.
        assert!(!fully_denied(b"/dev", &rules));
        assert!(!fully_denied(b"/", &rules));
        assert!(!fully_denied(b"/tmp", &rules));
        assert!(!fully_denied(b"/data/models", &rules));
    }

    /// Runs only as root; without root it is skipped, except on CI where it fails.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sees_opens_of_followed_processes_only() {
        if !nix::unistd::geteuid().is_root() {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("the fanotify test needs root on CI");
            }
            eprintln!("skipping fanotify test: not running as root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let file = |n: &str| {
            let p = dir.path().join(n);
            std::fs::write(&p, b"weights").unwrap();
            p
        };
        let (a, b, c, d) = (
            file("a.safetensors"),
            file("b.gguf"),
            file("c.onnx"),
            file("d.safetensors"),
        );
        let mut tracer =
            Box::new(FanotifyTracer::open(Scope::Follow, &FilterConfig::default()).unwrap());
        // Root: opens a, then forks a subshell that opens b and stays alive.
        let mut root = Command::new("sh")
            .args(["-c", r#"exec 3<"$0"; (exec 4<"$1"; sleep 2); :"#])
            .args([&a, &b])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        tracer.follow(root.id()).unwrap();
        // Not followed, and ourselves: both must be ignored.
        let mut other = Command::new("cat")
            .arg(&c)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        std::fs::read(&d).unwrap();

        let (tx, mut rx) = crate::tracer::queue(64, 1 << 20, Default::default());
        let stop = CancellationToken::new();
        let task = tracer.spawn(tx, stop.clone());
        let mut got: Vec<RawAccess> = Vec::new();
        let collect = |got: &mut Vec<RawAccess>, batch: Batch| {
            got.extend(batch.into_iter().filter_map(|e| match e {
                TraceEvent::Access(a) => Some(a),
                _ => None,
            }))
        };
        let want = |got: &[RawAccess], p: &std::path::Path| {
            got.iter()
                .find(|e| e.path == p.as_os_str().as_bytes())
                .cloned()
        };
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until && !(want(&got, &a).is_some() && want(&got, &b).is_some()) {
            if let Ok(Some(batch)) =
                tokio::time::timeout(Duration::from_millis(100), rx.recv()).await
            {
                collect(&mut got, batch.events);
            }
        }
        other.wait().unwrap();
        stop.cancel();
        while let Some(batch) = rx.recv().await {
            collect(&mut got, batch.events);
        }
        let stats = task.await.unwrap().unwrap();
        let _ = root.kill();
        let _ = root.wait();

        let ea = want(&got, &a).expect("open of a.safetensors by the root");
        assert_eq!(ea.pid, root.id());
        assert_eq!(ea.mode, AccessMode::Read);
        assert_eq!(ea.tracer, aibom_semconv::tracer::FANOTIFY);
        assert_eq!(ea.ppid, Some(std::process::id()));
        assert_eq!(ea.uid, Some(0));
        use std::os::unix::fs::MetadataExt;
        let md = std::fs::metadata(&a).unwrap();
        assert_eq!(ea.file_id, Some((md.dev(), md.ino())));
        let eb = want(&got, &b).expect("open of b.gguf by the subshell");
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(eb.pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        assert_ne!(eb.pid, root.id());
        assert_eq!(eb.ppid, Some(root.id()));
        assert!(want(&got, &c).is_none(), "unfollowed process reported");
        assert!(want(&got, &d).is_none(), "our own open reported");
        assert!(stats.emitted >= 2 && stats.filtered >= 2, "{stats:?}");
        assert!(stats.seen >= stats.emitted + stats.filtered, "{stats:?}");
    }
}

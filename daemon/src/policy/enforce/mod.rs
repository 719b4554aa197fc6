//! Enforcing `deny` before the open returns: a content-class fanotify group with
//! `FAN_OPEN_PERM` marks on the directories that hold artifacts ([`marks`]). The kernel
//! holds each open there until we answer; [`decide`] judges it.
//!
//! Two threads, so that the daemon never waits on itself: the reader answers the
//! daemon's own opens at once (identifying a file reads it, and its folder) and hands
//! the others to the decider; it also answers, with `policy.on_timeout`, every event the
//! decider has not answered within `policy.decision_timeout_ms` (counted in
//! `aibom.policy.decisions.timeout`). A refused open is reported to the pipeline as a
//! [`TraceEvent::Refused`], which turns it into an enforced violation. When aibomd exits
//! the group is closed: its marks go away and the kernel lets waiting opens through.
pub mod decide;
pub mod marks;

use std::collections::VecDeque;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::fanotify::{
    EventFFlags, Fanotify, FanotifyEvent, FanotifyResponse, InitFlags, Response,
};

pub use self::decide::Stages;
use self::decide::{Decider, Verdict};
use self::marks::Marks;
use super::{OnTimeout, Shared};
use crate::model::{Action, TraceEvent};
use crate::stats::Stats;
use crate::tracer::QueueTx;

/// Opens waiting for the decider at most; past it the reader answers the default.
const MAX_WAITING: usize = 4096;
/// How often new directories under the roots are marked.
const REMARK: Duration = Duration::from_secs(5);

/// Allowed opens per (pid, device, inode, size, mtime ns), with the rule generation
/// they were judged under: a process reopening the same file is answered by the reader
/// at once.
type AllowKey = (i32, u64, u64, i64, i64);

/// [`AllowKey`]s remembered at most.
const ALLOWED: usize = 16_384;

struct Allowed {
    seen: Mutex<lru::LruCache<AllowKey, u64>>,
    rules: Shared,
}

impl Allowed {
    fn hit(&self, key: &AllowKey) -> bool {
        let generation = self.rules.current().0;
        let mut seen = self.seen.lock().expect("allowed lock");
        seen.get(key).is_some_and(|g| *g == generation)
    }

    fn insert(&self, key: AllowKey, generation: u64) {
        self.seen.lock().expect("allowed lock").put(key, generation);
    }
}

/// The cache key of the file behind an event's fd.
fn allow_key(pid: i32, fd: std::os::fd::BorrowedFd<'_>) -> Option<AllowKey> {
    let st = nix::sys::stat::fstat(fd.as_raw_fd()).ok()?;
    Some((
        pid,
        st.st_dev,
        st.st_ino,
        st.st_size,
        st.st_mtime * 1_000_000_000 + st.st_mtime_nsec,
    ))
}

/// One permission event, answered exactly once by whichever thread gets there first.
struct Pending {
    ev: FanotifyEvent,
    answered: AtomicBool,
    deadline: Instant,
    key: Option<AllowKey>,
}

impl Pending {
    /// Answers the event unless it already was; true when this call answered it.
    fn answer(&self, fan: &Fanotify, allow: bool) -> bool {
        if self.answered.swap(true, Ordering::AcqRel) {
            return false;
        }
        let Some(fd) = self.ev.fd() else { return false };
        let r = if allow {
            Response::FAN_ALLOW
        } else {
            Response::FAN_DENY
        };
        if let Err(e) = fan.write_response(FanotifyResponse::new(fd, r)) {
            tracing::warn!(error = %e, "policy: cannot answer a permission event");
        }
        true
    }
}

/// The running enforcer; [`Enforcer::stop`] removes every mark.
pub struct Enforcer {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// Directories marked at start.
    pub marked: usize,
}

impl Enforcer {
    /// Starts enforcing `deny` rules of `rules` (None when no rule denies); refusals go
    /// to `tx`. Needs root (CAP_SYS_ADMIN) and a tokio runtime (to queue refusals).
    /// `follow`: judge only that process and its descendants (`aibomd run`; its pid is
    /// stored once the command is started, 0 before).
    pub fn start(
        stages: &Stages<'_>,
        cfg: &super::PolicyConfig,
        rules: Shared,
        follow: Option<Arc<std::sync::atomic::AtomicU32>>,
        tx: QueueTx,
        stats: Arc<Stats>,
    ) -> Result<Option<Self>> {
        let (_, set) = rules.current();
        if !set.uses(Action::Deny) {
            return Ok(None);
        }
        if !nix::unistd::geteuid().is_root() {
            bail!("policy: `deny` needs root (fanotify permission events); run as root or use `alert`");
        }
        let fan = Fanotify::init(
            InitFlags::FAN_CLASS_CONTENT | InitFlags::FAN_CLOEXEC | InitFlags::FAN_NONBLOCK,
            EventFFlags::O_RDONLY | EventFFlags::O_LARGEFILE | EventFFlags::O_CLOEXEC,
        )
        .map_err(|e| anyhow!("policy: fanotify_init (permission events) failed: {e}"))?;
        let fan = Arc::new(fan);
        let mut marks = Marks::new(&set.enforce_roots, cfg.enforce_known_stores);
        marks.refresh(&fan);
        let marked = marks.len();
        tracing::info!(
            dirs = marked,
            roots = marks.roots().len(),
            "policy: deny enforced in marked directories"
        );
        let stop = Arc::new(AtomicBool::new(false));
        let (to_decider, from_reader) = sync_channel::<Arc<Pending>>(MAX_WAITING);
        let allowed = Arc::new(Allowed {
            seen: Mutex::new(lru::LruCache::new(
                std::num::NonZeroUsize::new(ALLOWED).expect("non-zero"),
            )),
            rules: rules.clone(),
        });
        let mut decider = Decider::new(stages, rules, follow)?;
        let rt = tokio::runtime::Handle::current();
        let d = {
            let (fan, stop, allowed) = (fan.clone(), stop.clone(), allowed.clone());
            std::thread::Builder::new()
                .name("aibomd-policy-decide".into())
                .spawn(move || {
                    decide_loop(&fan, &mut decider, &from_reader, &stop, &allowed, &tx, &rt)
                })?
        };
        let timeout = Duration::from_millis(cfg.decision_timeout_ms.max(1));
        let on_timeout = cfg.on_timeout;
        let r = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("aibomd-policy-read".into())
                .spawn(move || {
                    let mut reader = Reader {
                        fan,
                        marks,
                        to_decider,
                        waiting: VecDeque::new(),
                        timeout,
                        allow_on_timeout: on_timeout == OnTimeout::Allow,
                        stats,
                        own: std::process::id() as i32,
                        allowed,
                    };
                    reader.run(&stop);
                })?
        };
        Ok(Some(Self {
            stop,
            threads: vec![r, d],
            marked,
        }))
    }

    /// Stops both threads and closes the group: marks removed, waiting opens let through.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Release);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

struct Reader {
    fan: Arc<Fanotify>,
    marks: Marks,
    to_decider: SyncSender<Arc<Pending>>,
    /// Events handed to the decider, oldest first (for the deadline).
    waiting: VecDeque<Arc<Pending>>,
    timeout: Duration,
    allow_on_timeout: bool,
    stats: Arc<Stats>,
    own: i32,
    allowed: Arc<Allowed>,
}

impl Reader {
    fn run(&mut self, stop: &AtomicBool) {
        let mut remarked = Instant::now();
        while !stop.load(Ordering::Acquire) {
            let ready = {
                let mut fds = [PollFd::new(self.fan.as_fd(), PollFlags::POLLIN)];
                poll(&mut fds, PollTimeout::from(10u8)).unwrap_or(0)
            };
            if ready > 0 {
                self.read();
            }
            self.expire();
            if remarked.elapsed() >= REMARK {
                self.marks.refresh(&self.fan);
                remarked = Instant::now();
            }
        }
        // answer what is left before the group closes
        for p in self.waiting.drain(..) {
            p.answer(&self.fan, true);
        }
    }

    fn read(&mut self) {
        loop {
            let events = match self.fan.read_events() {
                Ok(e) if !e.is_empty() => e,
                _ => return,
            };
            for ev in events {
                if ev.fd().is_none() {
                    tracing::warn!("policy: fanotify queue overflow");
                    continue;
                }
                let own = ev.pid() == self.own;
                let key = ev
                    .fd()
                    .filter(|_| !own)
                    .and_then(|fd| allow_key(ev.pid(), fd));
                let p = Arc::new(Pending {
                    deadline: Instant::now() + self.timeout,
                    answered: AtomicBool::new(false),
                    ev,
                    key,
                });
                // our own reads never wait (identifying a file reads it); a reopen of a
                // file version this process was allowed is allowed again
                if own || p.key.is_some_and(|k| self.allowed.hit(&k)) {
                    p.answer(&self.fan, true);
                    continue;
                }
                if self.waiting.len() >= MAX_WAITING {
                    Stats::add(&self.stats.policy_timeouts, 1);
                    p.answer(&self.fan, self.allow_on_timeout);
                    continue;
                }
                match self.to_decider.try_send(p.clone()) {
                    Ok(()) => self.waiting.push_back(p),
                    Err(_) => {
                        Stats::add(&self.stats.policy_timeouts, 1);
                        p.answer(&self.fan, self.allow_on_timeout);
                    }
                }
            }
        }
    }

    /// Answers the events past their deadline with the default.
    fn expire(&mut self) {
        let now = Instant::now();
        while let Some(p) = self.waiting.front() {
            if p.answered.load(Ordering::Acquire) {
                self.waiting.pop_front();
                continue;
            }
            if p.deadline > now {
                break;
            }
            if p.answer(&self.fan, self.allow_on_timeout) {
                Stats::add(&self.stats.policy_timeouts, 1);
                tracing::warn!(
                    pid = p.ev.pid(),
                    "policy: no verdict in time; answered the default"
                );
            }
            self.waiting.pop_front();
        }
    }
}

fn decide_loop(
    fan: &Fanotify,
    decider: &mut Decider,
    rx: &Receiver<Arc<Pending>>,
    stop: &AtomicBool,
    allowed: &Allowed,
    tx: &QueueTx,
    rt: &tokio::runtime::Handle,
) {
    while !stop.load(Ordering::Acquire) {
        let p = match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(p) => p,
            Err(RecvTimeoutError::Timeout) => {
                decider.tick();
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        if p.answered.load(Ordering::Acquire) {
            continue; // timed out already
        }
        let Some(fd) = p.ev.fd() else { continue };
        let generation = allowed.rules.current().0;
        let verdict = decider.decide(p.ev.pid() as u32, fd);
        let allow = matches!(verdict, Verdict::Allow);
        if let (true, Some(k)) = (allow && decider.allow_is_final(), p.key) {
            allowed.insert(k, generation);
        }
        let answered = p.answer(fan, allow);
        if let (Verdict::Deny { rule, access }, true) = (verdict, answered) {
            tracing::info!(rule = %rule, pid = access.pid, fd = fd.as_raw_fd(), "policy: open refused");
            if rt
                .block_on(tx.send(vec![TraceEvent::Refused(*access)]))
                .is_err()
            {
                break; // the pipeline is gone
            }
        }
    }
}

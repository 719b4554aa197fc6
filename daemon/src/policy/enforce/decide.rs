//! The verdict on one open waiting in a marked directory: the open file is normalized,
//! attributed and identified the way the pipeline does it (its own caches), then judged
//! by the `deny` rules.
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use crate::attribute::Attributor;
use crate::identify::Identifier;
use crate::model::{AccessMode, Action, FileMeta, RawAccess};
use crate::normalize::Normalizer;
use crate::policy::judge::{self, Keys};
use crate::policy::{RuleSet, Shared};

/// The settings of the stages a decider runs (those of the pipeline).
pub struct Stages<'a> {
    pub normalize: &'a crate::normalize::NormalizeConfig,
    pub identify: &'a crate::identify::IdentifyConfig,
    pub attribute: &'a crate::attribute::AttributeConfig,
    /// The default project.
    pub project: &'a str,
}

/// Judges opens for the enforcer.
pub struct Decider {
    rules: Shared,
    generation: u64,
    set: Arc<RuleSet>,
    keys: Keys,
    normalizer: Normalizer,
    attributor: Attributor,
    identifier: Identifier,
    /// `aibomd run`: only this process and its descendants are judged (0 until the
    /// command is started).
    follow: Option<Arc<AtomicU32>>,
}

/// What to answer, and the access to report when it is a refusal.
pub enum Verdict {
    Allow,
    Deny {
        rule: Arc<str>,
        access: Box<RawAccess>,
    },
}

impl Decider {
    /// A decider with the stages configured in `cfg`.
    pub fn new(
        cfg: &Stages<'_>,
        rules: Shared,
        follow: Option<Arc<AtomicU32>>,
    ) -> anyhow::Result<Self> {
        let (generation, set) = rules.current();
        Ok(Self {
            keys: Keys::of(&set),
            rules,
            generation,
            set,
            normalizer: Normalizer::new(cfg.normalize),
            attributor: Attributor::new(
                cfg.attribute,
                cfg.project,
                cfg.attribute.cli_project.clone(),
            )?
            .with_env_keys(crate::identify::provider::ENV_KEYS),
            // one hash worker: hashes found here serve later verdicts (rules on sha256)
            identifier: Identifier::new(cfg.identify, 1, 64),
            follow,
        })
    }

    /// The verdict on `pid` opening the file behind `fd` (the event's own descriptor).
    pub fn decide(&mut self, pid: u32, fd: BorrowedFd<'_>) -> Verdict {
        let (g, set) = self.rules.current();
        if g != self.generation {
            self.generation = g;
            self.keys = Keys::of(&set);
            self.set = set;
        }
        if !self.set.uses(Action::Deny) || !self.in_scope(pid) {
            return Verdict::Allow;
        }
        let Some(raw) = raw_access(pid, fd) else {
            return Verdict::Allow;
        };
        let Some(mut rec) = self.normalizer.normalize(&raw, 1, &mut self.attributor) else {
            return Verdict::Allow; // not an artifact
        };
        let mut artifact = self.identifier.identify(&rec);
        self.identifier.complete(&mut artifact);
        rec.artifact = Some(artifact);
        let denied = judge::violated(&self.set, &self.keys, &rec)
            .into_iter()
            .map(|i| &self.set.rules[i])
            .find(|r| r.action == Action::Deny);
        match denied {
            Some(r) => Verdict::Deny {
                rule: r.name.clone(),
                access: Box::new(raw),
            },
            None => Verdict::Allow,
        }
    }

    /// True when an `allow` may be remembered for the same process and file version:
    /// no `deny` rule waits for a hash that a later verdict could know.
    pub fn allow_is_final(&self) -> bool {
        !self
            .set
            .rules
            .iter()
            .any(|r| r.action == Action::Deny && r.reads_content())
    }

    /// True when `pid` is the followed process or one of its descendants (always, on
    /// the whole host).
    fn in_scope(&self, pid: u32) -> bool {
        let Some(root) = &self.follow else {
            return true;
        };
        // an open racing the start of the command: its pid comes within microseconds
        let started = std::time::Instant::now();
        let mut root = root.load(Ordering::Acquire);
        while root == 0 && started.elapsed() < std::time::Duration::from_millis(100) {
            std::thread::sleep(std::time::Duration::from_millis(1));
            root = self
                .follow
                .as_ref()
                .map_or(0, |f| f.load(Ordering::Acquire));
        }
        let mut p = pid;
        for _ in 0..128 {
            if p == root {
                return true;
            }
            match crate::tracer::ppid(p) {
                Some(pp) if pp > 0 => p = pp,
                _ => return false,
            }
        }
        false
    }

    /// Hashes finished since the last call are taken in (they serve later verdicts).
    pub fn tick(&mut self) {
        let _ = self.identifier.finished();
    }
}

/// The open as a tracer would report it: the path the kernel resolved (the event fd's
/// `/proc/self/fd` link) and the identity of the very file opened (its `fstat`).
fn raw_access(pid: u32, fd: BorrowedFd<'_>) -> Option<RawAccess> {
    let link = format!("/proc/self/fd/{}", fd.as_raw_fd());
    let path = std::fs::read_link(&link).ok()?.into_os_string().into_vec();
    let meta = std::fs::metadata(&link).ok()?; // follows the magic link: the open file
                                               // an empty file holds nothing to load: it is being created (a download, a save),
                                               // and what it will be is judged when it is opened again
    if !meta.is_file() || meta.len() == 0 {
        return None;
    }
    Some(RawAccess {
        time: SystemTime::now(),
        pid,
        ppid: None,
        uid: None,
        cgroup_id: None,
        comm: None,
        kernel_path: Some(path.clone()),
        path,
        dirfd: None,
        fd: None,
        flags: None,
        mode: AccessMode::Read,
        syscall: None,
        file_id: Some((meta.dev(), meta.ino())),
        file_meta: Some(FileMeta {
            size: meta.size(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            mode: meta.mode(),
        }),
        tracer: aibom_semconv::tracer::FANOTIFY,
    })
}

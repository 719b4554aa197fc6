//! The `policy` stage: judges each observation against the rules of a policy file
//! (`--policy FILE`) and turns each violation into an `aibom.policy.violation` record.
//!
//! Each rule fires once per process and file. A rule that reads `aibom.artifact.sha256`
//! is decided when the hash is known (an access whose hash was cached or free, or the
//! artifact's `identified` record); the others at the first access. `kill` is carried
//! out here; `deny` is carried out by [`enforce`] before the open returns, where the
//! file lies in a marked directory.
mod config;
pub mod enforce;
pub mod explain;
pub mod file;
pub mod judge;
pub mod rule;

use std::hash::{Hash, Hasher};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

pub use config::{OnTimeout, PolicyConfig};
pub use file::{load, PolicyError, RuleSet};

use crate::model::{AccessRecord, Action, Violation};
use crate::stats::Stats;

/// Violations remembered to report each (rule, process, file) once; the oldest are
/// forgotten first.
const REPORTED: usize = 65_536;

/// The rules in force, shared by the pipeline and the enforcer and replaced whole on
/// reload (SIGHUP).
#[derive(Clone, Default)]
pub struct Shared(Arc<Mutex<(u64, Arc<RuleSet>)>>);

impl Shared {
    /// Rules in force from the start.
    pub fn new(set: RuleSet) -> Self {
        Self(Arc::new(Mutex::new((1, Arc::new(set)))))
    }

    /// The rules in force and their generation (bumped by each [`Shared::replace`]).
    pub fn current(&self) -> (u64, Arc<RuleSet>) {
        let g = self.0.lock().expect("policy lock");
        (g.0, g.1.clone())
    }

    /// Puts `set` in force.
    pub fn replace(&self, set: RuleSet) {
        let mut g = self.0.lock().expect("policy lock");
        g.0 += 1;
        g.1 = Arc::new(set);
    }

    /// Reads the file the rules came from again; on error the old rules stay in force.
    pub fn reload(&self) -> Result<usize, PolicyError> {
        let (_, cur) = self.current();
        let Some(src) = cur.source.clone() else {
            return Ok(cur.rules.len());
        };
        let set = load(&src)?;
        let n = set.rules.len();
        self.replace(set);
        Ok(n)
    }
}

/// Judges records.
pub struct Policy {
    shared: Shared,
    generation: u64,
    rules: Arc<RuleSet>,
    keys: judge::Keys,
    reported: lru::LruCache<(usize, u32, u64), ()>,
    /// Kills processes for `kill` rules (replaced in tests).
    killer: Box<dyn FnMut(u32) -> bool + Send>,
    /// Tells the kernel to kill whoever opens a file (`st_dev`, inode) next.
    kill_switch: Option<KillSwitch>,
    /// Files the kill switch is armed for (as many as its map holds).
    armed: std::collections::HashSet<(u64, u64)>,
}

/// Files the in-kernel kill switch holds at most (`KILL_INODES`' size).
const ARMED_MAX: usize = 4096;

/// Makes the kernel kill any process that opens the file (`st_dev`, inode).
pub type KillSwitch = Box<dyn FnMut(u64, u64) -> anyhow::Result<()> + Send>;

impl Policy {
    /// A stage judging by the rules in `shared`.
    pub fn new(shared: Shared) -> Self {
        let (generation, rules) = shared.current();
        let mut p = Self {
            shared,
            generation,
            rules,
            keys: judge::Keys::default(),
            reported: lru::LruCache::new(NonZeroUsize::new(REPORTED).expect("non-zero")),
            killer: Box::new(kill),
            kill_switch: None,
            armed: Default::default(),
        };
        p.index();
        p
    }

    fn index(&mut self) {
        self.keys = judge::Keys::of(&self.rules);
    }

    /// Files denied by `kill` rules are also killed in the kernel, at the open, through
    /// `switch` (for every later open, by any process).
    pub fn with_kill_switch(mut self, switch: Option<KillSwitch>) -> Self {
        self.kill_switch = switch;
        self
    }

    /// Picks up rules reloaded since the last call.
    fn refresh(&mut self) {
        let (g, rules) = self.shared.current();
        if g != self.generation {
            self.generation = g;
            self.rules = rules;
            self.reported.clear();
            self.index();
        }
    }

    /// The violation records `rec` causes (none for most), counted per rule in `stats`;
    /// `kill` rules kill the process first.
    pub fn judge(&mut self, rec: &AccessRecord, stats: &Stats) -> Vec<AccessRecord> {
        self.refresh();
        let file = path_hash(rec);
        let mut out = Vec::new();
        let rules = self.rules.clone();
        for i in judge::violated(&rules, &self.keys, rec) {
            let r = &rules.rules[i];
            if self.reported.put((i, rec.pid(), file), ()).is_some() {
                continue; // reported for this process and file already
            }
            let enforced = match r.action {
                Action::Alert => false,
                Action::Deny => rec.refused,
                Action::Kill => {
                    // the kernel killed it at the open when the file was armed already
                    let id = rec.version.map(|v| (v.dev, v.ino));
                    let in_kernel = id.is_some_and(|id| self.armed.contains(&id));
                    if let (Some(ks), Some(id), false) = (self.kill_switch.as_mut(), id, in_kernel)
                    {
                        match ks(id.0, id.1) {
                            Ok(()) if self.armed.len() < ARMED_MAX => {
                                self.armed.insert(id);
                            }
                            Ok(()) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "policy: the kernel cannot kill on this file")
                            }
                        }
                    }
                    (self.killer)(rec.pid()) || in_kernel
                }
            };
            stats.violation(&r.name, r.action);
            tracing::warn!(rule = %r.name, action = r.action.as_str(), enforced, pid = rec.pid(), path = %rec.file_path.display(), "policy violation");
            out.push(rec.violation_of(Violation {
                rule: r.name.clone(),
                action: r.action,
                severity: r.severity,
                enforced,
            }));
        }
        out
    }

    /// Replaces how processes are killed (tests).
    #[cfg(test)]
    fn with_killer(mut self, k: impl FnMut(u32) -> bool + Send + 'static) -> Self {
        self.killer = Box::new(k);
        self
    }
}

fn path_hash(rec: &AccessRecord) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    rec.file_path.hash(&mut h);
    if let Some(c) = &rec.api {
        // one violation per rule, process and called API
        (c.provider, &c.server_address, &c.request_model, c.operation).hash(&mut h);
    }
    h.finish()
}

/// SIGKILL to `pid`; true when it was sent.
fn kill(pid: u32) -> bool {
    use nix::sys::signal::{kill, Signal};
    match kill(nix::unistd::Pid::from_raw(pid as i32), Signal::SIGKILL) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(pid, error = %e, "policy: cannot kill the process");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RawAccess, RecordKind};
    use std::os::unix::ffi::OsStrExt;

    fn record(path: &std::path::Path) -> AccessRecord {
        let raw = RawAccess::read_by_us(path.as_os_str().as_bytes());
        let mut attributor =
            crate::attribute::Attributor::new(&Default::default(), "test", None).unwrap();
        crate::normalize::Normalizer::new(&Default::default())
            .normalize(&raw, 1, &mut attributor)
            .expect("an artifact")
    }

    #[test]
    fn kill_rule_kills_once_per_process_and_file_and_hash_rules_wait_for_the_hash() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("x.gguf");
        std::fs::write(&bad, b"GGUF").unwrap();
        let text = r#"
[[rules]]
name = "no-x"
deny = { "file.path" = ["*/x.gguf"] }
action = "kill"
severity = "critical"

[[rules]]
name = "known-hash"
allow = { "aibom.artifact.sha256" = ["0000*"] }
"#;
        let set = file::parse(text).unwrap();
        let killed = Arc::new(Mutex::new(Vec::new()));
        let k = killed.clone();
        let mut p = Policy::new(Shared::new(set)).with_killer(move |pid| {
            k.lock().unwrap().push(pid);
            true
        });
        let stats = Stats::default();
        let rec = record(&bad);
        let v = p.judge(&rec, &stats);
        assert_eq!(v.len(), 1, "the hash rule waits: {v:?}");
        let verdict = v[0].violation.as_deref().unwrap();
        assert_eq!(
            (&*verdict.rule, verdict.action, verdict.enforced),
            ("no-x", Action::Kill, true)
        );
        assert_eq!(v[0].kind, RecordKind::Violation);
        assert_eq!(*killed.lock().unwrap(), [std::process::id()]);
        assert!(
            p.judge(&rec, &stats).is_empty(),
            "once per process and file"
        );
        // the hash is known: the identified record is judged by the hash rule
        let mut ident = rec.clone();
        ident.kind = RecordKind::Identified;
        ident.artifact = Some(Arc::new(crate::model::Artifact {
            sha256: Some("ab".repeat(32)),
            ..Default::default()
        }));
        let v = p.judge(&ident, &stats);
        assert_eq!(v.len(), 1);
        assert_eq!(&*v[0].violation.as_ref().unwrap().rule, "known-hash");
        assert_eq!(Stats::get(&stats.policy_violations), 2);
        assert_eq!(killed.lock().unwrap().len(), 1);
    }

    #[test]
    fn reload_keeps_the_old_rules_when_the_new_file_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.toml");
        std::fs::write(&f, "[[rules]]\nname = \"a\"\n").unwrap();
        let shared = Shared::new(load(&f).unwrap());
        std::fs::write(&f, "[[rules]]\nname = \"a\"\naction = \"nope\"\n").unwrap();
        let e = shared.reload().unwrap_err();
        assert!(e.to_string().contains("p.toml:1"), "{e}");
        assert_eq!(&*shared.current().1.rules[0].name, "a");
        std::fs::write(&f, "[[rules]]\nname = \"b\"\n[[rules]]\nname = \"c\"\n").unwrap();
        assert_eq!(shared.reload().unwrap(), 2);
        assert_eq!(shared.current().0, 2, "a new generation");
    }
}

//! The `attribute` stage: who accessed a file — process, container, Kubernetes pod and
//! project.
//!
//! An [`Attributor`] keeps one [`Attribution`] per live process, built from `/proc/PID`
//! when the process execs or is first seen, and dropped when it exits. A lookup on a
//! cached process only clones an `Arc`. The cache has hard caps in processes
//! ([`AttributeConfig::cache_capacity`]) and bytes ([`AttributeConfig::cache_bytes`]):
//! beyond either the least recently used process is evicted (counted, see
//! [`Attributor::evictions`]).
//!
//! The project of a process is, in order:
//! 1. `aibomd run --project` (source `cli`);
//! 2. `AIBOM_PROJECT` from `/proc/PID/environ`, read once per exec; a process whose
//!    environment lacks it (or cannot be read) takes its parent's when the parent had it
//!    from its environment (source `environment`);
//! 3. the first matching `[[attribute.rules]]` entry (source `rule`);
//! 4. the top-level `project` setting (source `default`).
//!
//! When a process is gone before its first lookup, what the tracer saw is used: `comm`,
//! uid, parent, and the cgroup path found by the tracer's cgroup id (see [`cgroups`]).
pub mod cgroups;
pub mod config;
pub mod container;
pub mod engine;
pub mod kube;
pub mod process;
pub mod project;

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::Arc;

use aibom_semconv::project_source;
use anyhow::Result;
use lru::LruCache;

use crate::model::{Attribution, ExecInfo};
pub use config::{AttributeConfig, KubeletConfig, ProjectRule};
use process::{Host, Redactor};
use project::{Rules, Subject};

/// How many uncached ancestors are built (and cached) to find an inherited
/// `AIBOM_PROJECT`.
const ANCESTOR_DEPTH: usize = 8;

/// What the tracer saw with an access, used when `/proc/PID` is gone.
#[derive(Debug, Default, Clone, Copy)]
pub struct Hints<'a> {
    pub comm: Option<&'a str>,
    pub uid: Option<u32>,
    pub ppid: Option<u32>,
    pub cgroup_id: Option<u64>,
}

struct Entry {
    attr: Arc<Attribution>,
    /// `AIBOM_PROJECT` of the process or inherited from an ancestor's environment.
    env_project: Option<Arc<str>>,
}

/// What a cached process holds, in bytes: its strings, paths and kept environment
/// variables, the structs, the cache's node. Container images and projects are shared
/// between processes and counted with each (an upper bound).
fn entry_bytes(e: &Entry) -> usize {
    let a = &*e.attr;
    let s = |v: &Option<String>| v.as_ref().map_or(0, String::len);
    let p = |v: &Option<std::path::PathBuf>| v.as_ref().map_or(0, |p| p.as_os_str().len());
    std::mem::size_of::<Entry>()
        + std::mem::size_of::<Attribution>()
        + 64
        + s(&a.owner)
        + s(&a.comm)
        + p(&a.exe)
        + s(&a.command_line)
        + p(&a.working_directory)
        + s(&a.cgroup)
        + s(&a.pod_uid)
        + a.project.len()
        + e.env_project.as_ref().map_or(0, |p| p.len())
        + a.pod
            .as_ref()
            .map_or(0, |p| p.name.len() + p.namespace.len())
        + a.container.as_ref().map_or(0, |c| {
            c.id.len()
                + c.image.as_ref().map_or(0, |i| {
                    s(&i.name)
                        + s(&i.id)
                        + i.labels
                            .iter()
                            .map(|(k, v)| k.len() + v.len() + 48)
                            .sum::<usize>()
                })
        })
        + a.environment
            .vars
            .iter()
            .map(|(k, v)| k.len() + v.len() + 48)
            .sum::<usize>()
}

/// The attribution cache (see the module docs).
pub struct Attributor {
    cache: LruCache<u32, Entry>,
    users: HashMap<u32, Option<String>>,
    host: Host,
    redactor: Redactor,
    cmdline_max: usize,
    rules: Rules,
    default_project: Arc<str>,
    cli_project: Option<Arc<str>>,
    cgroups: cgroups::CgroupIds,
    pods: Option<kube::Pods>,
    images: Option<engine::Images>,
    evictions: u64,
    /// Bytes of the cached entries ([`entry_bytes`]) and their most.
    bytes: usize,
    max_bytes: usize,
    /// Environment variables kept in each [`Attribution`].
    env_keys: Vec<&'static str>,
}

impl Attributor {
    /// An attributor with `cfg`, falling back to `default_project`; `cli_project`
    /// (`aibomd run --project`) overrides everything. Starts the kubelet poller when
    /// enabled. Errors on invalid patterns or rules.
    pub fn new(
        cfg: &AttributeConfig,
        default_project: &str,
        cli_project: Option<String>,
    ) -> Result<Self> {
        let pods = if cfg.kubelet.enabled {
            Some(kube::Pods::start(&cfg.kubelet)?)
        } else {
            None
        };
        Ok(Self {
            cache: LruCache::new(NonZeroUsize::new(cfg.cache_capacity.max(1)).expect("≥ 1")),
            users: HashMap::new(),
            host: Host::new(),
            redactor: Redactor::new(
                &cfg.redact_patterns,
                &cfg.redaction,
                cfg.command_line_max_bytes,
            )?,
            cmdline_max: cfg.command_line_max_bytes,
            rules: Rules::new(&cfg.rules)?,
            default_project: default_project.into(),
            cli_project: cli_project.map(Into::into),
            cgroups: cgroups::CgroupIds::new(
                cgroups::v2_mount().unwrap_or_else(|| "/sys/fs/cgroup".into()),
                cfg.cgroup_walk_max,
            ),
            pods,
            images: match &cfg.engine.socket {
                Some(s) => Some(engine::Images::start(s.clone())?),
                None => None,
            },
            evictions: 0,
            bytes: 0,
            max_bytes: cfg.cache_bytes,
            env_keys: vec![process::PROJECT_ENV],
        })
    }

    /// A process started a new program: its facts are read again (command line,
    /// executable, environment), keeping an `AIBOM_PROJECT` it had before.
    pub fn on_exec(&mut self, e: &ExecInfo) {
        let old = self.remove(e.pid);
        let hints = Hints {
            comm: e.comm.as_deref(),
            ppid: e.ppid,
            ..Default::default()
        };
        let mut entry = self.build(e.pid, hints, old.and_then(|o| o.env_project), 0);
        if entry.attr.exe.is_none() && e.path.is_absolute() {
            Arc::make_mut(&mut entry.attr).exe = Some(e.path.clone());
        }
        self.insert(e.pid, entry);
    }

    /// Also keeps `keys` of each process's environment in its [`Attribution`] (read in the
    /// same single read of `/proc/PID/environ` as `AIBOM_PROJECT`).
    pub fn with_env_keys(mut self, keys: &[&'static str]) -> Self {
        for k in keys {
            if !self.env_keys.contains(k) {
                self.env_keys.push(k);
            }
        }
        self
    }

    /// Forgets an exited process.
    pub fn on_exit(&mut self, pid: u32) {
        self.remove(pid);
    }

    /// The attribution of `pid`: cached, or built now from `/proc` (or from `hints` when
    /// the process is gone) and cached.
    pub fn lookup(&mut self, pid: u32, hints: Hints) -> Arc<Attribution> {
        if let Some(e) = self.cache.get(&pid) {
            let a = e.attr.clone();
            if (a.uid.is_none() && hints.uid.is_some())
                || (a.cgroup_id.is_none() && hints.cgroup_id.is_some())
            {
                return self.fill_from_hints(pid, a, hints);
            }
            if a.pod.is_none() && a.pod_uid.is_some() && self.pods.is_some() {
                return self.refresh_pod(pid, a);
            }
            if a.container.as_ref().is_some_and(|c| c.image.is_none()) && self.images.is_some() {
                return self.refresh_image(pid, a);
            }
            return a;
        }
        let entry = self.build(pid, hints, None, 0);
        let a = entry.attr.clone();
        self.insert(pid, entry);
        a
    }

    /// Processes cached.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    /// Live processes dropped from the full cache so far.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Caches `entry`; evicts the least recently used beyond the count or the bytes
    /// (the newest entry always stays).
    fn insert(&mut self, pid: u32, entry: Entry) {
        self.bytes += entry_bytes(&entry);
        if let Some((old, e)) = self.cache.push(pid, entry) {
            self.bytes -= entry_bytes(&e);
            if old != pid {
                self.evictions += 1;
            }
        }
        while self.bytes > self.max_bytes && self.cache.len() > 1 {
            let Some((_, e)) = self.cache.pop_lru() else {
                break;
            };
            self.bytes -= entry_bytes(&e);
            self.evictions += 1;
        }
    }

    fn remove(&mut self, pid: u32) -> Option<Entry> {
        let e = self.cache.pop(&pid)?;
        self.bytes -= entry_bytes(&e);
        Some(e)
    }

    /// Replaces the cached attribution of `pid` (it learnt more) by `new`.
    fn replace(&mut self, pid: u32, new: &Arc<Attribution>) {
        if let Some(e) = self.cache.get_mut(&pid) {
            let before = entry_bytes(e);
            e.attr = new.clone();
            let after = entry_bytes(e);
            self.bytes = self.bytes + after - before;
        }
    }

    /// Bytes cached now.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// A process cached from its exec event (which carries no uid or cgroup) and gone
    /// from `/proc` before it was read: its first access brings what the kernel said.
    fn fill_from_hints(&mut self, pid: u32, a: Arc<Attribution>, hints: Hints) -> Arc<Attribution> {
        let mut new = (*a).clone();
        if new.uid.is_none() {
            new.uid = hints.uid;
            new.owner = hints.uid.and_then(|u| self.user_name(u));
        }
        if new.cgroup_id.is_none() {
            new.cgroup_id = hints.cgroup_id;
        }
        let new = Arc::new(new);
        self.replace(pid, &new);
        new
    }

    /// The container's image arrived from the engine after the process was cached.
    fn refresh_image(&mut self, pid: u32, a: Arc<Attribution>) -> Arc<Attribution> {
        let images = self.images.as_mut().expect("checked");
        let Some(image) = a.container.as_ref().and_then(|c| images.get(&c.id)) else {
            return a;
        };
        let mut new = (*a).clone();
        if let Some(c) = new.container.as_mut() {
            c.image = Some(image);
        }
        let new = Arc::new(new);
        self.replace(pid, &new);
        new
    }

    /// The pod name arrived from the kubelet after the process was cached.
    fn refresh_pod(&mut self, pid: u32, a: Arc<Attribution>) -> Arc<Attribution> {
        let pods = self.pods.as_ref().expect("checked");
        let Some(pod) = a.pod_uid.as_deref().and_then(|u| pods.get(u)) else {
            return a;
        };
        let mut new = (*a).clone();
        new.pod = Some(pod);
        if new.project_source == project_source::RULE
            || new.project_source == project_source::DEFAULT
        {
            (new.project, new.project_source) = self.by_rules(&new);
        }
        let new = Arc::new(new);
        self.replace(pid, &new);
        new
    }

    /// Builds the entry of `pid`; `depth` counts the ancestors built on the way to an
    /// inherited `AIBOM_PROJECT`.
    fn build(&mut self, pid: u32, hints: Hints, prev_env: Option<Arc<str>>, depth: usize) -> Entry {
        let f = process::read(
            pid,
            self.cmdline_max,
            &self.host,
            hints.uid.is_none(),
            &self.env_keys,
        );
        let from_proc = f.comm.is_some();
        let cgroup = f
            .cgroup
            .or_else(|| hints.cgroup_id.and_then(|id| self.cgroups.path(id)));
        let facts = cgroup.as_deref().map(container::parse).unwrap_or_default();
        let uid = hints.uid.or(f.uid);
        let ppid = f.ppid.or(hints.ppid);
        let own_env = match f.env_project {
            Some(Some(p)) => Some(Arc::from(p)),
            _ => None,
        };
        let env_project = own_env
            .or(prev_env)
            .or_else(|| ppid.and_then(|p| self.inherited(p, depth + 1)));
        let mut facts = facts;
        if let (Some(images), Some(c)) = (self.images.as_mut(), facts.container.as_mut()) {
            c.image = images.get(&c.id);
        }
        let pod = match (&self.pods, &facts.pod_uid) {
            (Some(pods), Some(uid)) => pods.get(uid),
            _ => None,
        };
        let mut a = Attribution {
            pid,
            vpid: f.vpid,
            ppid,
            uid,
            owner: uid.and_then(|u| self.user_name(u)),
            comm: hints.comm.map(str::to_string).or(f.comm),
            exe: f.exe,
            command_line: f.cmdline.and_then(|c| self.redactor.command_line(&c)),
            start_time: f.start_time,
            working_directory: f.cwd,
            cgroup,
            cgroup_id: hints.cgroup_id,
            container: facts.container,
            pod_uid: facts.pod_uid,
            pod,
            project: self.default_project.clone(),
            project_source: project_source::DEFAULT,
            foreign_root: f.foreign_root,
            from_proc,
            environment: Arc::new(f.environment),
        };
        (a.project, a.project_source) = if let Some(p) = &self.cli_project {
            (p.clone(), project_source::CLI)
        } else if let Some(p) = &env_project {
            (p.clone(), project_source::ENVIRONMENT)
        } else {
            self.by_rules(&a)
        };
        Entry {
            attr: Arc::new(a),
            env_project,
        }
    }

    fn by_rules(&self, a: &Attribution) -> (Arc<str>, &'static str) {
        if self.rules.is_empty() {
            return (self.default_project.clone(), project_source::DEFAULT);
        }
        let exe = a.exe.as_ref().map(|p| p.to_string_lossy());
        let cwd = a.working_directory.as_ref().map(|p| p.to_string_lossy());
        let s = Subject {
            container_id: a.container.as_ref().map(|c| c.id.as_str()),
            container_runtime: a.container.as_ref().and_then(|c| c.runtime),
            pod_name: a.pod.as_ref().map(|p| p.name.as_str()),
            namespace: a.pod.as_ref().map(|p| p.namespace.as_str()),
            pod_uid: a.pod_uid.as_deref(),
            cgroup: a.cgroup.as_deref(),
            executable: exe.as_deref(),
            working_directory: cwd.as_deref(),
        };
        match self.rules.decide(&s) {
            Some(p) => (p.clone(), project_source::RULE),
            None => (self.default_project.clone(), project_source::DEFAULT),
        }
    }

    /// `AIBOM_PROJECT` the parent `ppid` has from its environment (its own or
    /// inherited): from its cache entry, or from an entry built (and cached) now, a few
    /// ancestors up at most.
    fn inherited(&mut self, ppid: u32, depth: usize) -> Option<Arc<str>> {
        if ppid == 0 || depth > ANCESTOR_DEPTH {
            return None;
        }
        if let Some(e) = self.cache.peek(&ppid) {
            return e.env_project.clone();
        }
        let entry = self.build(ppid, Hints::default(), None, depth);
        let env = entry.env_project.clone();
        if entry.attr.from_proc {
            self.insert(ppid, entry);
        }
        env
    }

    fn user_name(&mut self, uid: u32) -> Option<String> {
        self.users
            .entry(uid)
            .or_insert_with(|| {
                nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
                    .ok()
                    .flatten()
                    .map(|u| u.name)
            })
            .clone()
            .or_else(|| Some(uid.to_string()))
    }
}

#[cfg(test)]
mod tests;

//! Process facts (executable, parent, owner), learned from exec events and `/proc`,
//! cached per pid and dropped when the process exits.
use std::collections::HashMap;
use std::path::PathBuf;

use crate::event::ExecInfo;

/// Most processes remembered at once; beyond it the table is cleared (and refilled from /proc).
const MAX_PROCESSES: usize = 65_536;

/// What is known of one process.
#[derive(Debug, Clone, Default)]
pub struct ProcInfo {
    pub ppid: Option<u32>,
    pub uid: Option<u32>,
    pub owner: Option<String>,
    pub comm: Option<String>,
    pub exe: Option<PathBuf>,
}

/// pid → [`ProcInfo`], plus a uid → user name cache.
#[derive(Debug, Default)]
pub struct ProcessTable {
    procs: HashMap<u32, ProcInfo>,
    users: HashMap<u32, Option<String>>,
}

impl ProcessTable {
    /// Records a successful exec.
    pub fn on_exec(&mut self, e: &ExecInfo) {
        let exe = std::fs::read_link(format!("/proc/{}/exe", e.pid))
            .ok()
            .or_else(|| e.path.is_absolute().then(|| e.path.clone()));
        self.make_room();
        let info = self.procs.entry(e.pid).or_default();
        info.exe = exe;
        info.comm = e.comm.clone();
        if e.ppid.is_some() {
            info.ppid = e.ppid;
        }
    }

    /// Forgets an exited process.
    pub fn on_exit(&mut self, pid: u32) {
        self.procs.remove(&pid);
    }

    /// Facts about `pid`, from the cache or `/proc` (filled in once, then cached).
    pub fn lookup(&mut self, pid: u32, comm: Option<&str>, uid: Option<u32>) -> ProcInfo {
        if !self.procs.contains_key(&pid) {
            self.make_room();
            let mut info = ProcInfo {
                exe: std::fs::read_link(format!("/proc/{pid}/exe")).ok(),
                comm: comm.map(str::to_string),
                uid,
                ..Default::default()
            };
            if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                // comm may contain spaces and parens: fields start after the last ')'.
                if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
                    info.ppid = rest.split_whitespace().nth(1).and_then(|s| s.parse().ok());
                }
            }
            if info.uid.is_none() {
                info.uid = std::fs::read_to_string(format!("/proc/{pid}/status"))
                    .ok()
                    .and_then(|s| {
                        s.lines()
                            .find_map(|l| l.strip_prefix("Uid:"))
                            .and_then(|v| v.split_whitespace().next().and_then(|u| u.parse().ok()))
                    });
            }
            self.procs.insert(pid, info);
        }
        let uid = self.procs[&pid].uid.or(uid);
        let owner = uid.and_then(|u| self.user_name(u));
        let info = self.procs.get_mut(&pid).expect("inserted above");
        if info.uid.is_none() {
            info.uid = uid;
        }
        info.owner = owner;
        info.clone()
    }

    /// Number of processes cached.
    pub fn len(&self) -> usize {
        self.procs.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
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

    fn make_room(&mut self) {
        if self.procs.len() >= MAX_PROCESSES {
            tracing::warn!(cap = MAX_PROCESSES, "process cache full; clearing it");
            self.procs.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_described_from_proc() {
        let mut t = ProcessTable::default();
        let me = t.lookup(std::process::id(), None, None);
        assert_eq!(me.exe, std::env::current_exe().ok());
        assert_eq!(me.ppid, Some(std::os::unix::process::parent_id()));
        assert_eq!(me.uid, Some(nix::unistd::getuid().as_raw()));
        assert!(me.owner.is_some());
        t.on_exit(std::process::id());
        assert!(t.is_empty());
    }
}

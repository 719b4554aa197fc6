//! Who is behind an observation: process, container, pod and project.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

/// Everything known about the process behind an access.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution {
    pub pid: u32,
    pub ppid: Option<u32>,
    pub uid: Option<u32>,
    /// User name of `uid` (the number when it has no name).
    pub owner: Option<String>,
    /// Kernel `comm`.
    pub comm: Option<String>,
    /// Target of `/proc/PID/exe`.
    pub exe: Option<PathBuf>,
    /// `process.command_line`: joined, redacted, bounded.
    pub command_line: Option<String>,
    /// `process.creation.time`.
    pub start_time: Option<SystemTime>,
    /// `process.working_directory` (as the process sees it).
    pub working_directory: Option<PathBuf>,
    /// cgroup v2 path.
    pub cgroup: Option<String>,
    /// The kernel's cgroup id, when the tracer gave it.
    pub cgroup_id: Option<u64>,
    pub container: Option<Container>,
    /// `k8s.pod.uid`, from a kubepods cgroup.
    pub pod_uid: Option<String>,
    /// Pod name and namespace, from the kubelet.
    pub pod: Option<PodName>,
    pub project: Arc<str>,
    /// An `aibom.project.source` value.
    pub project_source: &'static str,
    /// The process sees another root or mount namespace: its paths are relative to
    /// `/proc/PID/root`.
    pub foreign_root: bool,
    /// False when the process was gone: only the tracer's facts are known.
    pub from_proc: bool,
}

/// The container a process runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// 64 hex digits (`container.id`).
    pub id: String,
    /// `container.runtime.name`: `docker`, `containerd`, `cri-o` or `podman`, when the
    /// path tells.
    pub runtime: Option<&'static str>,
}

/// A pod's name and namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodName {
    pub name: String,
    pub namespace: String,
}

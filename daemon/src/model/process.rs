//! Who is behind an observation: process, container, pod and project.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

/// Everything known about the process behind an access.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution {
    /// The pid in aibomd's pid namespace (`process.pid`).
    pub pid: u32,
    /// The pid in the process's own pid namespace, when it is another one (a container):
    /// `process.vpid`.
    pub vpid: Option<u32>,
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
    /// The environment variables aibomd looks at, read once per exec.
    pub environment: Arc<Environment>,
}

impl Attribution {
    /// Process `pid` with nothing else known (tests).
    #[cfg(test)]
    pub(crate) fn bare(pid: u32) -> Self {
        Self {
            pid,
            vpid: None,
            ppid: None,
            uid: None,
            owner: None,
            comm: None,
            exe: None,
            command_line: None,
            start_time: None,
            working_directory: None,
            cgroup: None,
            cgroup_id: None,
            container: None,
            pod_uid: None,
            pod: None,
            project: Arc::from("default"),
            project_source: "default",
            foreign_root: false,
            from_proc: false,
            environment: Arc::default(),
        }
    }
}

/// The variables of a process's environment that some stage looks at (`AIBOM_PROJECT`, hub
/// cache roots…), in the kernel's order, duplicates kept: each reader decides which one
/// counts. Read once per exec from `/proc/PID/environ`, bounded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    pub vars: Vec<(String, Vec<u8>)>,
}

impl Environment {
    /// Keeps the `KEY=VALUE` entries of a NUL-separated environment block whose key is in
    /// `keys`.
    pub fn parse(block: &[u8], keys: &[&str]) -> Self {
        let vars = block
            .split(|b| *b == 0)
            .filter_map(|kv| {
                let eq = kv.iter().position(|b| *b == b'=')?;
                let key = std::str::from_utf8(&kv[..eq]).ok()?;
                keys.contains(&key)
                    .then(|| (key.to_string(), kv[eq + 1..].to_vec()))
            })
            .collect();
        Self { vars }
    }

    /// Every value of `key`, in order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl DoubleEndedIterator<Item = &'a [u8]> + 'a {
        self.vars
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }
}

/// The container a process runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// 64 hex digits (`container.id`).
    pub id: String,
    /// `container.runtime.name`: `docker`, `containerd`, `cri-o` or `podman`, when the
    /// path tells.
    pub runtime: Option<&'static str>,
    /// Image and labels, from the engine's API when configured (`attribute::engine`).
    pub image: Option<Arc<ContainerImage>>,
}

/// A container's image and labels, as its engine reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerImage {
    /// `container.image.name` (as the container was created from: `repo:tag`).
    pub name: Option<String>,
    /// `container.image.id` (hex, without `sha256:`).
    pub id: Option<String>,
    /// `container.label.<key>`, sorted by key.
    pub labels: Vec<(String, String)>,
}

/// A pod's name and namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodName {
    pub name: String,
    pub namespace: String,
}

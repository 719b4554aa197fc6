//! Container id, runtime and Kubernetes pod uid from a cgroup path.
//!
//! Shapes recognized (cgroup v2 paths as in `/proc/PID/cgroup`; systemd and cgroupfs
//! drivers):
//!
//! | runtime | systemd driver | cgroupfs driver |
//! |---|---|---|
//! | docker | `/system.slice/docker-ID.scope` | `/docker/ID` |
//! | containerd (CRI) | `…/kubepods-…-podUID.slice/cri-containerd-ID.scope` | `/kubepods/…/podUID/ID` (runtime unknown) |
//! | cri-o | `…/kubepods-…-podUID.slice/crio-ID.scope` | `/kubepods/…/podUID/crio-ID` |
//! | podman | `/machine.slice/libpod-ID.scope` (`…/libpod-ID.scope/container` too) | `/libpod_parent/libpod-ID` |
//!
//! `ID` is 64 hex digits. The monitor processes `crio-conmon-ID` and `libpod-conmon-ID`
//! are not containers. A bare `ID` under kubepods gets no runtime: containerd and
//! cri-dockerd both use that shape.
use crate::model::Container;

/// What a cgroup path tells about containers and pods.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgroupFacts {
    pub container: Option<Container>,
    /// `k8s.pod.uid` (with dashes) for kubepods cgroups.
    pub pod_uid: Option<String>,
}

/// Runtime names, as the semconv describes `container.runtime.name`.
pub mod runtime {
    pub const DOCKER: &str = "docker";
    pub const CONTAINERD: &str = "containerd";
    pub const CRIO: &str = "cri-o";
    pub const PODMAN: &str = "podman";
}

/// `(prefix, runtime)` of scope-style names: `PREFIX` + id (+ `.scope`).
const PREFIXES: &[(&str, &str)] = &[
    ("docker-", runtime::DOCKER),
    ("cri-containerd-", runtime::CONTAINERD),
    ("crio-", runtime::CRIO),
    ("libpod-", runtime::PODMAN),
];

/// Reads the container and pod out of `path` (see the module docs).
pub fn parse(path: &str) -> CgroupFacts {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let kube = parts.iter().any(|p| p.starts_with("kubepods"));
    let mut facts = CgroupFacts::default();
    // The innermost container component wins (podman nests `container` below its scope).
    for (i, part) in parts.iter().enumerate().rev() {
        let name = part.strip_suffix(".scope").unwrap_or(part);
        let found = PREFIXES.iter().find_map(|(prefix, rt)| {
            name.strip_prefix(prefix)
                .filter(|id| is_id(id))
                .map(|id| (id, Some(*rt)))
        });
        let found = found.or_else(|| {
            is_id(name).then(|| {
                let parent = i.checked_sub(1).map(|j| parts[j]).unwrap_or("");
                let rt = if parent == "docker" {
                    Some(runtime::DOCKER)
                } else if parent == "libpod_parent" {
                    Some(runtime::PODMAN)
                } else {
                    None
                };
                (name, rt)
            })
        });
        if let Some((id, rt)) = found {
            facts.container = Some(Container {
                id: id.to_ascii_lowercase(),
                runtime: rt,
                image: None,
            });
            break;
        }
    }
    if kube {
        facts.pod_uid = parts.iter().rev().find_map(|p| pod_uid(p));
    }
    facts
}

/// The pod uid of a `kubepods-besteffort-podUID.slice` (systemd, `_` for `-`) or
/// `podUID` (cgroupfs) component.
fn pod_uid(part: &str) -> Option<String> {
    let name = part.strip_suffix(".slice").unwrap_or(part);
    let i = name.rfind("pod")?;
    if i > 0 && !name[..i].ends_with('-') {
        return None;
    }
    let uid = name[i + 3..].replace('_', "-");
    is_uid(&uid).then_some(uid.to_ascii_lowercase())
}

fn is_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A UUID: 8-4-4-4-12 hex digits.
fn is_uid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The cgroup v2 path of a `/proc/PID/cgroup` text (the `0::` line; on a v1 host the
/// `name=systemd` line, else the first).
pub fn path_from_proc(text: &str) -> Option<String> {
    let mut fallback = None;
    for line in text.lines() {
        let mut it = line.splitn(3, ':');
        let (Some(id), Some(ctrl), Some(path)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        if id == "0" && ctrl.is_empty() {
            return Some(path.to_string());
        }
        if ctrl == "name=systemd" || fallback.is_none() {
            fallback = Some(path.to_string());
        }
    }
    fallback
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f4e5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081";
    const POD: &str = "1a2b3c4d-5e6f-4a1b-8c9d-0e1f2a3b4c5d";

    fn c(id: &str, rt: Option<&'static str>) -> Option<Container> {
        Some(Container {
            id: id.into(),
            runtime: rt,
            image: None,
        })
    }

    #[test]
    fn docker_systemd_and_cgroupfs() {
        for p in [
            format!("/system.slice/docker-{ID}.scope"),
            format!("/docker/{ID}"),
        ] {
            let f = parse(&p);
            assert_eq!(f.container, c(ID, Some(runtime::DOCKER)), "{p}");
            assert_eq!(f.pod_uid, None, "{p}");
        }
    }

    #[test]
    fn containerd_cri_systemd_and_cgroupfs() {
        let pod_ = POD.replace('-', "_");
        let f = parse(&format!(
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{pod_}.slice/cri-containerd-{ID}.scope"
        ));
        assert_eq!(f.container, c(ID, Some(runtime::CONTAINERD)));
        assert_eq!(f.pod_uid.as_deref(), Some(POD));
        // guaranteed QoS has no class level
        let f = parse(&format!(
            "/kubepods.slice/kubepods-pod{pod_}.slice/cri-containerd-{ID}.scope"
        ));
        assert_eq!(f.pod_uid.as_deref(), Some(POD));
        // cgroupfs driver: the runtime is not in the path
        let f = parse(&format!("/kubepods/burstable/pod{POD}/{ID}"));
        assert_eq!(f.container, c(ID, None));
        assert_eq!(f.pod_uid.as_deref(), Some(POD));
    }

    #[test]
    fn crio_systemd_and_cgroupfs_but_not_conmon() {
        let pod_ = POD.replace('-', "_");
        let f = parse(&format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{pod_}.slice/crio-{ID}.scope"
        ));
        assert_eq!(f.container, c(ID, Some(runtime::CRIO)));
        assert_eq!(f.pod_uid.as_deref(), Some(POD));
        let f = parse(&format!("/kubepods/burstable/pod{POD}/crio-{ID}"));
        assert_eq!(f.container, c(ID, Some(runtime::CRIO)));
        let f = parse(&format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{pod_}.slice/crio-conmon-{ID}.scope"
        ));
        assert_eq!(f.container, None);
        assert_eq!(f.pod_uid.as_deref(), Some(POD));
    }

    #[test]
    fn podman_root_rootless_nested_and_cgroupfs() {
        for p in [
            format!("/machine.slice/libpod-{ID}.scope"),
            format!("/machine.slice/libpod-{ID}.scope/container"),
            format!("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope"),
            format!("/libpod_parent/libpod-{ID}"),
            format!("/libpod_parent/{ID}"),
        ] {
            assert_eq!(parse(&p).container, c(ID, Some(runtime::PODMAN)), "{p}");
        }
        assert_eq!(
            parse(&format!("/machine.slice/libpod-conmon-{ID}.scope")).container,
            None
        );
    }

    #[test]
    fn host_paths_and_near_misses_are_no_container() {
        for p in [
            "/",
            "/system.slice/sshd.service",
            "/user.slice/user-0.slice/session-3.scope",
            "/system.slice/docker-abc.scope",
            &format!("/system.slice/docker-{}.scope", &ID[1..]),
            "/kubepods.slice/kubepods-burstable.slice",
        ] {
            assert_eq!(parse(p), CgroupFacts::default(), "{p}");
        }
        // upper-case hex is normalized
        let f = parse(&format!("/docker/{}", ID.to_uppercase()));
        assert_eq!(f.container, c(ID, Some(runtime::DOCKER)));
        // a `pod…` component outside kubepods is not a pod
        assert_eq!(parse(&format!("/x/pod{POD}")).pod_uid, None);
    }

    #[test]
    fn proc_cgroup_lines() {
        assert_eq!(
            path_from_proc("0::/system.slice/x.service\n").as_deref(),
            Some("/system.slice/x.service")
        );
        let v1 = "12:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/def\n0::/\n";
        assert_eq!(path_from_proc(v1).as_deref(), Some("/"));
        let v1only = "12:cpu,cpuacct:/a\n1:name=systemd:/b\n";
        assert_eq!(path_from_proc(v1only).as_deref(), Some("/b"));
        assert_eq!(path_from_proc(""), None);
    }
}

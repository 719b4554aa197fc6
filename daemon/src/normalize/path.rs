//! Path resolution: make the path a program passed absolute and follow its symlinks.
//!
//! Relative paths are joined to `/proc/PID/cwd` or `/proc/PID/fd/DIRFD`. That is racy (the
//! process may have changed directory or exited since), so when the tracer saw the opened
//! file's (device, inode), a candidate is accepted only if it is that very file; otherwise
//! the opened fd itself (`/proc/PID/fd/FD`) is tried. When nothing works the raw path is
//! kept and marked `unresolved`.
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use aibom_semconv::path_resolution as how;

use crate::model::RawAccess;

/// `AT_FDCWD`.
const AT_FDCWD: i32 = -100;

/// The outcome of resolving one access's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Absolute, lexically normalized, symlinks not followed.
    pub absolute_path: Arc<Path>,
    /// Absolute with symlinks followed (equal to `absolute_path` if it cannot be followed).
    pub file_path: Arc<Path>,
    /// An `aibom.access.resolution` value.
    pub resolution: &'static str,
}

/// Resolves `raw.path` as described in the module docs.
pub fn resolve(raw: &RawAccess) -> Resolved {
    resolve_in(raw, None)
}

/// `p` (absolute, as a process sees it) as we reach it: below `root` when given.
pub fn in_root(root: Option<&Path>, p: &Path) -> PathBuf {
    match root {
        Some(r) => r.join(p.strip_prefix("/").unwrap_or(p)),
        None => p.to_path_buf(),
    }
}

/// [`resolve`] for a process whose paths are relative to `root` (`/proc/PID/root` of a
/// process in another mount namespace): files are checked below `root`, and symlinks
/// are not followed (they would be followed in our namespace, not the process's), so
/// `file_path` is the absolute path.
pub fn resolve_in(raw: &RawAccess, root: Option<&Path>) -> Resolved {
    let path = Path::new(OsStr::from_bytes(&raw.path));
    let proc_dir = PathBuf::from(format!("/proc/{}", raw.pid));
    let mut candidates: Vec<(PathBuf, &'static str)> = Vec::with_capacity(2);
    if path.is_absolute() {
        candidates.push((path.to_path_buf(), how::ABSOLUTE));
    } else {
        let (base, kind) = match raw.dirfd {
            Some(fd) if fd != AT_FDCWD && fd >= 0 => {
                (proc_dir.join(format!("fd/{fd}")), how::DIRFD)
            }
            _ => (proc_dir.join("cwd"), how::CWD),
        };
        if let Ok(dir) = std::fs::read_link(&base) {
            candidates.push((dir.join(path), kind));
        }
    }
    let kernel = raw
        .kernel_path
        .as_deref()
        .map(|k| (PathBuf::from(OsStr::from_bytes(k)), how::KERNEL));
    candidates.extend(kernel.clone());
    if let Some(fd) = raw.fd {
        if let Ok(p) = std::fs::read_link(proc_dir.join(format!("fd/{fd}"))) {
            if p.is_absolute() {
                candidates.push((p, how::FD));
            }
        }
    }
    let same_file = |p: &Path| match (raw.file_id, std::fs::metadata(in_root(root, p))) {
        (Some((dev, ino)), Ok(m)) => m.dev() == dev && m.ino() == ino,
        (None, Ok(_)) => true,
        (_, Err(_)) => false,
    };
    // With the file's identity known, a candidate that is another file is a lost race:
    // better `unresolved` than a wrong path.
    // The kernel's path is exact even when the file is gone by now.
    let chosen = candidates
        .iter()
        .find(|(p, _)| same_file(p))
        .cloned()
        .or(kernel)
        .or_else(|| {
            candidates
                .first()
                .filter(|_| raw.file_id.is_none() && raw.fd.is_none())
                .cloned()
        });
    match chosen {
        Some((p, kind)) => {
            let absolute_path: Arc<Path> = lexical_normalize(&p).into();
            let file_path = match root {
                Some(_) => absolute_path.clone(),
                None => match std::fs::canonicalize(&absolute_path) {
                    Ok(f) if *f == *absolute_path => absolute_path.clone(),
                    Ok(f) => f.into(),
                    Err(_) => absolute_path.clone(),
                },
            };
            Resolved {
                absolute_path,
                file_path,
                resolution: kind,
            }
        }
        None => Resolved {
            absolute_path: path.into(),
            file_path: path.into(),
            resolution: how::UNRESOLVED,
        },
    }
}

/// Removes `.` and `..` components without touching the filesystem.
pub fn lexical_normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(path: &[u8], dirfd: Option<i32>) -> RawAccess {
        RawAccess {
            dirfd,
            ..RawAccess::read_by_us(path)
        }
    }

    #[test]
    fn symlink_is_followed_and_both_paths_kept() {
        let d = tempfile::tempdir().unwrap();
        let blob = d.path().join("blob");
        std::fs::write(&blob, b"x").unwrap();
        let link = d.path().join("snap/model.safetensors");
        std::fs::create_dir(d.path().join("snap")).unwrap();
        std::os::unix::fs::symlink("../blob", &link).unwrap();
        let r = resolve(&raw(link.as_os_str().as_bytes(), None));
        assert_eq!(r.resolution, how::ABSOLUTE);
        assert_eq!(*r.absolute_path, *link);
        assert_eq!(*r.file_path, *std::fs::canonicalize(&blob).unwrap());
    }

    #[test]
    fn relative_path_uses_cwd_and_dotdot_is_removed() {
        let r = resolve(&raw(b"./a/../Cargo.toml", Some(AT_FDCWD)));
        assert_eq!(r.resolution, how::CWD);
        assert_eq!(
            *r.absolute_path,
            *std::env::current_dir().unwrap().join("Cargo.toml")
        );
    }

    #[test]
    fn kernel_path_wins_when_the_process_is_gone() {
        let mut a = raw(b"x.gguf", None);
        a.pid = u32::MAX - 1;
        a.file_id = Some((1, 2));
        a.kernel_path = Some(b"/models/x.gguf".to_vec());
        let r = resolve(&a);
        assert_eq!(r.resolution, how::KERNEL);
        assert_eq!(*r.file_path, *PathBuf::from("/models/x.gguf"));
    }

    #[test]
    fn gone_process_leaves_path_unresolved() {
        let mut a = raw(b"x.gguf", None);
        a.pid = u32::MAX - 1;
        let r = resolve(&a);
        assert_eq!(r.resolution, how::UNRESOLVED);
        assert_eq!(*r.file_path, *PathBuf::from("x.gguf"));
    }
}

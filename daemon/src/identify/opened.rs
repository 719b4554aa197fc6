//! Identity read only through the file the process opened.
//!
//! aibomd runs as root; reading an artifact *by path* would follow whatever the path
//! names now, in aibomd's own mount namespace: a container's `/models/x.gguf` would be
//! looked up on the host, and a user could swap a symlink to a root-only file after the
//! open and have its hash exported (a confused deputy). So the bytes behind a record's
//! format, metadata and hash are read only from a descriptor that is provably the file
//! the kernel reported (same `(st_dev, st_ino)`):
//!
//! 1. the process's own descriptor, `/proc/PID/fd/N` (N from the tracer's event), while
//!    it still holds it;
//! 2. else the absolute path as the process passed it (or as the kernel resolved it),
//!    resolved with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)` under the
//!    process's root (`/proc/PID/root`; once the process is gone, its parent's, then
//!    the host's `/proc/1/root`, which is ours unless aibomd runs in a container: the
//!    inode check still decides), never a relative or lexically cleaned path.
//!
//! Every candidate is first opened `O_PATH` (no open side effects: a FIFO, device or
//! socket is never opened for reading), checked with `fstat` (a regular file, the
//! kernel's `(dev, inode)`), and only then re-opened for reading through
//! `/proc/self/fd/M`, and checked again. When no candidate passes there is no identity:
//! the reason goes to `aibom.artifact.identity_error`.
use std::cell::RefCell;
use std::ffi::OsStr;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;

/// Whose view of the filesystem sibling files (cards, license files, hub metadata next
/// to the artifact) are read in: the process's root, and its uid.
struct Scope {
    /// `O_PATH` descriptor of the process's root; `None`: read nothing.
    root: Option<OwnedFd>,
    uid: Option<u32>,
}

thread_local! {
    static SCOPE: RefCell<Option<Scope>> = const { RefCell::new(None) };
}

/// Runs `f` with sibling reads ([`read_sibling`]) done as `pid` (uid `uid`) would see the
/// files: resolved in its root (`/proc/PID/root`; our `/` once it is gone, unless it was
/// in another mount namespace: then nothing is read), and only files it could read by
/// their mode (world-readable, or its own; everything for root).
pub fn as_process<T>(pid: u32, uid: Option<u32>, foreign_root: bool, f: impl FnOnce() -> T) -> T {
    let root = o_path(format!("/proc/{pid}/root").as_str())
        .ok()
        .or_else(|| (!foreign_root).then(|| o_path("/").ok()).flatten());
    SCOPE.with(|s| *s.borrow_mut() = Some(Scope { root, uid }));
    let out = f();
    SCOPE.with(|s| *s.borrow_mut() = None);
    out
}

/// Inside [`as_process`]: `Some` of `path` resolved in the process's root when `allowed`
/// accepts its stat (and whether the process owns it, or is root), else `Some(None)`.
/// Outside: `None`.
fn in_scope(path: &Path, allowed: impl Fn(&libc::stat, bool) -> bool) -> Option<Option<OwnedFd>> {
    SCOPE.with(|s| {
        s.borrow().as_ref().map(|sc| {
            let p = in_root(sc.root.as_ref()?, path).ok()?;
            let st = nix::sys::stat::fstat(p.as_raw_fd()).ok()?;
            let mine = sc.uid.is_none_or(|u| u == 0 || u == st.st_uid);
            allowed(&st, mine).then_some(p)
        })
    })
}

/// At most `cap` bytes from the start of the regular file `path`, a sibling of the
/// artifact: inside [`as_process`] resolved in the process's root and only when the
/// process could read it; outside, by path in our namespace. Never opens FIFOs, devices
/// or sockets.
pub fn read_sibling(path: &Path, cap: u64) -> Option<Vec<u8>> {
    let scoped = in_scope(path, |st, mine| {
        not_regular(st.st_mode).is_none() && (st.st_mode & 0o004 != 0 || mine)
    });
    let file = match scoped {
        Some(None) => return None,
        Some(Some(p)) => open_read(&format!("/proc/self/fd/{}", p.as_raw_fd())).ok()?,
        None => {
            let fd = o_path(path).ok()?;
            let st = nix::sys::stat::fstat(fd.as_raw_fd()).ok()?;
            not_regular(st.st_mode).is_none().then_some(())?;
            open_read(&format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?
        }
    };
    let mut buf = Vec::new();
    file.take(cap).read_to_end(&mut buf).ok()?;
    Some(buf)
}

/// What [`list_dir`] found: the kept entries' (name, size, mtime in ns), sorted by name.
#[derive(Debug, Default)]
pub struct DirListing {
    pub entries: Vec<(String, u64, i128)>,
    /// Kept names that could not be stat'ed, or beyond `max_kept`.
    pub skipped: u64,
    /// The folder had more than `max_entries` entries: the rest were not looked at.
    pub truncated: bool,
}

/// One listing of the folder `dir` (not a walk): at most `max_entries` entries are looked
/// at, and of the names `keep` accepts at most `max_kept` are stat'ed (following a
/// symlink, as a hub snapshot's entries are); nothing is opened or read. Inside
/// [`as_process`] the folder is resolved in the process's root and listed only when the
/// process could list it by its mode. `None` when it cannot be listed.
pub fn list_dir(
    dir: &Path,
    max_entries: usize,
    max_kept: usize,
    keep: impl Fn(&str) -> bool,
) -> Option<DirListing> {
    let scoped = in_scope(dir, |st, mine| {
        st.st_mode & libc::S_IFMT == libc::S_IFDIR && (st.st_mode & 0o005 == 0o005 || mine)
    });
    let fd = match scoped {
        Some(None) => return None,
        Some(Some(p)) => p,
        None => o_path(dir).ok()?,
    };
    let at = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
    let mut out = DirListing::default();
    for (n, e) in std::fs::read_dir(&at).ok()?.enumerate() {
        if n >= max_entries {
            out.truncated = true;
            break;
        }
        let Ok(e) = e else { continue };
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if !keep(&name) {
            continue;
        }
        if out.entries.len() >= max_kept {
            out.skipped += 1;
            continue;
        }
        match std::fs::metadata(at.join(&name)) {
            Ok(m) if m.is_file() => {
                let v = crate::model::FileVersion::from_metadata(&m);
                out.entries.push((name, v.size, v.mtime_ns));
            }
            _ => out.skipped += 1,
        }
    }
    out.entries.sort();
    Some(out)
}

/// The (dev, inode, mtime in ns) of the folder `dir`, resolved as [`list_dir`] does.
pub fn dir_version(dir: &Path) -> Option<(u64, u64, i128)> {
    let fd = SCOPE.with(|s| {
        s.borrow()
            .as_ref()
            .map(|sc| in_root(sc.root.as_ref()?, dir).ok())
    });
    let fd = match fd {
        Some(fd) => fd?,
        None => o_path(dir).ok()?,
    };
    let st = nix::sys::stat::fstat(fd.as_raw_fd()).ok()?;
    Some((
        st.st_dev,
        st.st_ino,
        st.st_mtime as i128 * 1_000_000_000 + st.st_mtime_nsec as i128,
    ))
}

/// Opens `path` for reading: non-blocking, no controlling tty, no atime update where
/// allowed.
fn open_read(path: &str) -> std::io::Result<File> {
    let flags = libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    let open = |extra| {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(flags | extra)
            .open(path)
    };
    // O_NOATIME is refused (EPERM) for files of other owners unless CAP_FOWNER
    open(libc::O_NOATIME).or_else(|_| open(0))
}

/// The file to reach: who opened it, how, and which inode it must be.
#[derive(Debug, Clone)]
pub struct Target {
    pub pid: u32,
    /// Its parent, whose root is tried once the process is gone.
    pub ppid: Option<u32>,
    pub fd: Option<i32>,
    /// Absolute paths as the process saw them, tried in order.
    pub paths: Vec<PathBuf>,
    pub dev: u64,
    pub ino: u64,
    /// `st_mode` the kernel reported, when known.
    pub mode: Option<u32>,
}

/// A verified descriptor of the opened file and how it was reached.
#[derive(Debug)]
pub struct Verified {
    pub file: File,
    /// `fd` (the process's descriptor) or `root` (its path under its root).
    pub via: &'static str,
}

/// Opens `t`'s file for reading as described in the module docs, or says why not.
pub fn open(t: &Target) -> Result<Verified, String> {
    if let Some(m) = t.mode {
        not_regular(m).map_or(Ok(()), Err)?;
    }
    let mut why = Vec::new();
    if let Some(fd) = t.fd.filter(|fd| *fd >= 0) {
        let link = format!("/proc/{}/fd/{fd}", t.pid);
        match o_path(link.as_str()).and_then(|p| reopen(p, t)) {
            Ok(file) => return Ok(Verified { file, via: "fd" }),
            Err(e) => why.push(format!("fd {fd}: {e}")),
        }
    }
    let paths: Vec<&PathBuf> = t.paths.iter().filter(|p| p.is_absolute()).collect();
    if paths.is_empty() {
        why.push("no absolute path to look up".into());
    } else {
        let proc_root = format!("/proc/{}/root", t.pid);
        // once the process is gone: its parent's root (most often the same), the root of
        // PID 1 (the host's, also when aibomd runs in a container sharing the host's pid
        // namespace), then our own; the inode check decides
        let parent_root = t.ppid.map(|p| format!("/proc/{p}/root"));
        let root = o_path(proc_root.as_str())
            .or_else(|e| parent_root.as_deref().map_or(Err(e), o_path))
            .or_else(|_| o_path("/proc/1/root"))
            .or_else(|_| o_path("/"))
            .map_err(|e| format!("/: {e}"))?;
        for p in paths {
            match in_root(&root, p).and_then(|f| reopen(f, t)) {
                Ok(file) => return Ok(Verified { file, via: "root" }),
                Err(e) => why.push(format!("{}: {e}", p.display())),
            }
        }
    }
    Err(format!("not the opened file ({})", why.join("; ")))
}

/// Why a file of mode `m` is not read, if it is not a regular file.
pub fn not_regular(m: u32) -> Option<String> {
    let kind = match m & libc::S_IFMT {
        libc::S_IFREG => return None,
        libc::S_IFIFO => "a FIFO",
        libc::S_IFSOCK => "a socket",
        libc::S_IFCHR => "a character device",
        libc::S_IFBLK => "a block device",
        libc::S_IFDIR => "a directory",
        libc::S_IFLNK => "a symlink",
        _ => "of unknown type",
    };
    Some(format!("not a regular file ({kind})"))
}

/// An `O_PATH` descriptor of `path` in our namespace (following its last link).
fn o_path<P: ?Sized + nix::NixPath>(path: &P) -> Result<OwnedFd, String> {
    let fd = nix::fcntl::open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| e.desc().to_lowercase())?;
    // SAFETY: `open` returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `path` resolved as the process would, with `root` as its root: `..` cannot climb
/// above it, absolute symlinks stay inside it, `/proc/…` magic links are refused.
fn in_root(root: &OwnedFd, path: &Path) -> Result<OwnedFd, String> {
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let fd = nix::fcntl::openat2(root.as_raw_fd(), path.as_os_str(), how)
        .map_err(|e| e.desc().to_lowercase())?;
    // SAFETY: `openat2` returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Checks the `O_PATH` descriptor is `t`'s regular file, then opens it for reading
/// (non-blocking, no controlling tty, no atime update where allowed) and checks again.
fn reopen(p: OwnedFd, t: &Target) -> Result<File, String> {
    check(
        &nix::sys::stat::fstat(p.as_raw_fd()).map_err(|e| e.desc().to_lowercase())?,
        t,
    )?;
    let file = open_read(&format!("/proc/self/fd/{}", p.as_raw_fd())).map_err(|e| e.to_string())?;
    let m = file.metadata().map_err(|e| e.to_string())?;
    if (m.dev(), m.ino()) != (t.dev, t.ino) || !m.is_file() {
        return Err("replaced while opening".into());
    }
    Ok(file)
}

/// A regular file with `t`'s identity.
fn check(st: &libc::stat, t: &Target) -> Result<(), String> {
    if let Some(why) = not_regular(st.st_mode) {
        return Err(why);
    }
    if (st.st_dev, st.st_ino) != (t.dev, t.ino) {
        return Err(format!(
            "another file (dev {} inode {}, the process opened dev {} inode {})",
            st.st_dev, st.st_ino, t.dev, t.ino
        ));
    }
    Ok(())
}

/// `bytes` as a path.
pub fn path_of(bytes: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn target(p: &Path, paths: Vec<PathBuf>) -> Target {
        let m = std::fs::metadata(p).unwrap();
        Target {
            pid: std::process::id(),
            ppid: None,
            fd: None,
            paths,
            dev: m.dev(),
            ino: m.ino(),
            mode: Some(m.mode()),
        }
    }

    #[test]
    fn reads_the_held_descriptor_even_after_a_swap() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        std::fs::write(&a, b"first").unwrap();
        std::fs::write(&b, b"secret").unwrap();
        let held = File::open(&a).unwrap();
        let mut t = target(&a, vec![a.clone()]);
        t.fd = Some(held.as_raw_fd());
        std::fs::rename(&b, &a).unwrap(); // the path now names another file
        let mut v = open(&t).unwrap();
        assert_eq!(v.via, "fd");
        let mut s = String::new();
        v.file.read_to_string(&mut s).unwrap();
        assert_eq!(s, "first");
        // without the descriptor the path leads to another inode: no identity
        t.fd = None;
        let e = open(&t).unwrap_err();
        assert!(e.contains("another file"), "{e}");
    }

    #[test]
    fn symlinks_resolve_inside_the_root_and_specials_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let blob = d.path().join("blob");
        std::fs::write(&blob, b"x").unwrap();
        let link = d.path().join("model.gguf");
        std::os::unix::fs::symlink(&blob, &link).unwrap();
        let v = open(&target(&blob, vec![PathBuf::from("rel"), link.clone()])).unwrap();
        assert_eq!(v.via, "root");
        let fifo = d.path().join("fifo");
        nix::unistd::mkfifo(&fifo, Mode::S_IRWXU).unwrap();
        let mut t = target(&fifo, vec![fifo.clone()]);
        assert!(open(&t).unwrap_err().contains("FIFO"));
        t.mode = None; // not told by the tracer: found by fstat on an O_PATH descriptor
        assert!(open(&t).unwrap_err().contains("FIFO"));
        let t = target(Path::new("/dev/zero"), vec!["/dev/zero".into()]);
        assert!(open(&t).unwrap_err().contains("character device"));
        let t = target(&blob, vec![PathBuf::from("blob")]);
        assert!(open(&t).unwrap_err().contains("no absolute path"));
    }

    #[test]
    fn siblings_are_read_only_when_the_process_could() {
        let d = tempfile::tempdir().unwrap();
        let card = d.path().join("README.md");
        std::fs::write(&card, b"---\nlicense: mit\n---\n").unwrap();
        std::fs::set_permissions(&card, std::fs::Permissions::from_mode(0o600)).unwrap();
        let me = std::process::id();
        let owner = std::fs::metadata(&card).unwrap().uid();
        assert!(read_sibling(&card, 100).is_some(), "unscoped");
        assert!(as_process(me, Some(owner), false, || read_sibling(&card, 100)).is_some());
        let other = owner.wrapping_add(1).max(1);
        assert!(as_process(me, Some(other), false, || read_sibling(&card, 100)).is_none());
        std::fs::set_permissions(&card, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(
            as_process(me, Some(other), false, || read_sibling(&card, 3)).as_deref(),
            Some(&b"---"[..])
        );
        // a gone process of another mount namespace: nothing is read
        assert!(as_process(u32::MAX - 1, None, true, || read_sibling(&card, 3)).is_none());
        let fifo = d.path().join("fifo");
        nix::unistd::mkfifo(&fifo, Mode::S_IRWXU).unwrap();
        assert!(read_sibling(&fifo, 3).is_none());
    }
}

//! What tracers see: raw file accesses, execs and exits, and the tracer's counters.
use std::path::PathBuf;
use std::time::SystemTime;

use aibom_semconv::access_mode;

/// How a file was accessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessMode {
    Read,
    Write,
    Exec,
    Mmap,
}

impl AccessMode {
    /// From `open(2)` flags.
    pub fn from_open_flags(flags: u64) -> Self {
        let acc = flags & libc::O_ACCMODE as u64;
        let creat = flags & (libc::O_CREAT | libc::O_TRUNC) as u64;
        if acc == libc::O_WRONLY as u64 || acc == libc::O_RDWR as u64 || creat != 0 {
            AccessMode::Write
        } else {
            AccessMode::Read
        }
    }

    /// The semconv value of `aibom.access.mode`.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessMode::Read => access_mode::READ,
            AccessMode::Write => access_mode::WRITE,
            AccessMode::Exec => access_mode::EXEC,
            AccessMode::Mmap => access_mode::MMAP,
        }
    }
}

/// One file access as a tracer saw it, before any normalization.
#[derive(Debug, Clone)]
pub struct RawAccess {
    /// Wall-clock time of the access.
    pub time: SystemTime,
    /// Process id (tgid).
    pub pid: u32,
    /// Parent process id, when the tracer knows it.
    pub ppid: Option<u32>,
    pub uid: Option<u32>,
    pub cgroup_id: Option<u64>,
    /// Kernel `comm` of the process.
    pub comm: Option<String>,
    /// The path bytes exactly as passed to the kernel (may be relative, any bytes).
    pub path: Vec<u8>,
    /// Absolute path of the opened file as the kernel resolved it (relative opens, eBPF).
    pub kernel_path: Option<Vec<u8>>,
    /// `dirfd` argument; `None` or `AT_FDCWD` for cwd-relative.
    pub dirfd: Option<i32>,
    /// The fd the open returned, when known.
    pub fd: Option<i32>,
    /// Open flags.
    pub flags: Option<u64>,
    pub mode: AccessMode,
    /// System call name (`openat`, `execve`, ...), when known.
    pub syscall: Option<&'static str>,
    /// (device as `st_dev`, inode) of the opened file, when the tracer knows it.
    pub file_id: Option<(u64, u64)>,
    /// Size, mtime and mode of the opened file as the kernel had them at the open (eBPF).
    pub file_meta: Option<FileMeta>,
    /// Which tracer produced it (`aibom.tracer` value).
    pub tracer: &'static str,
}

/// How the identify stage can reach the very file a process opened again (never
/// exported): the descriptor the open returned, the path as the kernel resolved it, and
/// the mode at the open.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Opened {
    pub fd: Option<i32>,
    /// Absolute in the process's root (eBPF, relative opens).
    pub kernel_path: Option<Vec<u8>>,
    /// `st_mode` the kernel reported.
    pub mode: Option<u32>,
}

/// What the kernel said about the opened file's inode at the open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMeta {
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i128,
    /// `st_mode` (file type and permission bits).
    pub mode: u32,
}

impl FileMeta {
    /// True for a directory.
    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }

    /// The modification time as a `SystemTime`.
    pub fn modified(&self) -> SystemTime {
        let ns = self.mtime_ns;
        if ns >= 0 {
            SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(ns as u64)
        } else {
            SystemTime::UNIX_EPOCH - std::time::Duration::from_nanos(ns.unsigned_abs() as u64)
        }
    }
}

impl RawAccess {
    /// A plain read of `path` by this process, with nothing else known (tests set the
    /// rest).
    #[cfg(test)]
    pub(crate) fn read_by_us(path: &[u8]) -> Self {
        Self {
            time: SystemTime::now(),
            pid: std::process::id(),
            ppid: None,
            uid: None,
            cgroup_id: None,
            comm: None,
            path: path.to_vec(),
            kernel_path: None,
            dirfd: None,
            fd: None,
            flags: None,
            mode: AccessMode::Read,
            syscall: None,
            file_id: None,
            file_meta: None,
            tracer: "test",
        }
    }

    /// The version of the opened file, when the tracer saw both its identity and its
    /// metadata (no `stat` needed).
    pub fn version(&self) -> Option<super::FileVersion> {
        let ((dev, ino), m) = (self.file_id?, self.file_meta?);
        Some(super::FileVersion {
            dev,
            ino,
            size: m.size,
            mtime_ns: m.mtime_ns,
        })
    }
}

/// A process started a new program.
#[derive(Debug, Clone)]
pub struct ExecInfo {
    pub time: SystemTime,
    pub pid: u32,
    pub ppid: Option<u32>,
    pub comm: Option<String>,
    /// The executable path as passed to `execve`.
    pub path: PathBuf,
}

/// What tracers send to the pipeline.
#[derive(Debug, Clone)]
pub enum TraceEvent {
    Access(RawAccess),
    /// An open the policy enforcer refused (EPERM): the process never got the file.
    Refused(RawAccess),
    Exec(ExecInfo),
    /// Something the kernel saw of an AI API connection.
    Api(super::ApiEvent),
    Exit {
        pid: u32,
    },
    /// The accelerator memory a process holds now (an NVML sample), in bytes.
    AcceleratorMemory {
        pid: u32,
        bytes: u64,
    },
}

/// Counters a tracer reports when it stops.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TracerStats {
    /// Opens of traced processes that the tracer looked at.
    pub seen: u64,
    /// Dropped by the path filter.
    pub filtered: u64,
    /// Matching opens that failed.
    pub failed: u64,
    /// Events handed to userspace.
    pub emitted: u64,
    /// Events lost (ring buffer or queue full).
    pub dropped: u64,
}

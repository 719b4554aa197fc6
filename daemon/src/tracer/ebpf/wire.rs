//! The ring-buffer record layout, mirrored from `ebpf/aibom_event.h`.
use std::mem::{offset_of, size_of};

pub const PATH_MAX: usize = 4096;
pub const KIND_OPEN: u32 = 1;
pub const KIND_EXEC: u32 = 2;
pub const KIND_EXIT: u32 = 3;

pub const STAT_OPEN_SEEN: u32 = 0;
pub const STAT_OPEN_FILTERED: u32 = 1;
pub const STAT_OPEN_FAILED: u32 = 2;
pub const STAT_EMITTED: u32 = 3;
pub const STAT_RB_DROPPED: u32 = 4;
pub const STAT_EXEC_SEEN: u32 = 5;
pub const STAT_WAKEUPS: u32 = 6;
pub const STAT_RENAMED_AWAY: u32 = 8;

/// Fixed part of `struct aibom_event`; `path_len` bytes of path follow it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Header {
    pub ts_ns: u64,
    pub cgroup_id: u64,
    pub ino: u64,
    pub ret: i64,
    pub flags: u64,
    pub size: u64,
    pub mtime_sec: i64,
    pub kind: u32,
    pub syscall: u32,
    pub pid: u32,
    pub tgid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub gid: u32,
    pub dirfd: i32,
    pub dev: u32,
    pub path_len: u32,
    pub dpath_len: u32,
    pub dpath_flags: u32,
    pub mtime_nsec: u32,
    pub i_mode: u32,
    pub comm: [u8; 16],
}

/// In `i_mode`: size, mtime and mode were read from the opened file's inode.
pub const META_OK: u32 = 0x8000_0000;

/// The opened file's size, mtime and mode, when the kernel read them.
pub fn file_meta(h: &Header) -> Option<crate::model::FileMeta> {
    (h.i_mode & META_OK != 0).then(|| crate::model::FileMeta {
        size: h.size,
        mtime_ns: h.mtime_sec as i128 * 1_000_000_000 + h.mtime_nsec as i128,
        mode: h.i_mode & !META_OK,
    })
}

/// `dpath_flags`: the kernel's dentry walk stopped before the root.
pub const DPATH_TRUNCATED: u32 = 1;

pub const HDR_SIZE: usize = size_of::<Header>();
const _: () = assert!(HDR_SIZE == 128 && offset_of!(Header, comm) == 112);

/// A decoded record: header, the path as passed, and the kernel-resolved path (if any),
/// both without their NUL.
pub struct Record<'a> {
    pub header: Header,
    pub path: &'a [u8],
    pub dpath: Option<&'a [u8]>,
}

/// Decodes a ring-buffer record.
pub fn parse<'a>(buf: &'a [u8]) -> Option<Record<'a>> {
    if buf.len() < HDR_SIZE {
        return None;
    }
    // SAFETY: length checked above; Header is plain old data and read unaligned.
    let h: Header = unsafe { std::ptr::read_unaligned(buf.as_ptr() as *const Header) };
    let rest = &buf[HDR_SIZE..];
    let plen = (h.path_len as usize).min(rest.len());
    let (path, rest) = rest.split_at(plen);
    let dlen = (h.dpath_len as usize).min(rest.len());
    let until_nul = |b: &'a [u8]| b.split(|c| *c == 0).next().unwrap_or(&[]);
    let dpath =
        (dlen > 0 && h.dpath_flags & DPATH_TRUNCATED == 0).then(|| until_nul(&rest[..dlen]));
    Some(Record {
        header: h,
        path: until_nul(path),
        dpath,
    })
}

/// `comm` up to its NUL, lossily decoded.
pub fn comm(h: &Header) -> String {
    let end = h.comm.iter().position(|b| *b == 0).unwrap_or(h.comm.len());
    String::from_utf8_lossy(&h.comm[..end]).into_owned()
}

/// `AIBOM_SYS_IA32`: or'ed onto a syscall made through the 32-bit compat table.
pub const SYS_IA32: u32 = 0x80;

/// Name of an `AIBOM_SYS_*` value (`ia32_…` for a compat call).
pub fn syscall_name(n: u32) -> Option<&'static str> {
    Some(match n {
        1 => "openat",
        2 => "openat2",
        3 => "open",
        4 => "creat",
        5 => "execve",
        6 => "execveat",
        8 => "open_by_handle_at",
        9 => "io_uring_openat",
        10 => "io_uring_openat2",
        0x81 => "ia32_openat",
        0x82 => "ia32_openat2",
        0x83 => "ia32_open",
        0x84 => "ia32_creat",
        0x85 => "ia32_execve",
        0x86 => "ia32_execveat",
        0x88 => "ia32_open_by_handle_at",
        _ => return None,
    })
}

/// Kernel-internal `s_dev` (major << 20 | minor) to the userspace `st_dev` encoding.
pub fn dev_to_user(kdev: u32) -> u64 {
    libc::makedev(kdev >> 20, kdev & 0xfffff)
}

/// Userspace `st_dev` to the kernel-internal `s_dev` encoding (inverse of [`dev_to_user`]).
pub fn dev_to_kernel(st_dev: u64) -> u64 {
    (u64::from(libc::major(st_dev)) << 20) | u64::from(libc::minor(st_dev))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compat_call_is_named_after_its_native_twin() {
        for n in [1, 2, 3, 4, 5, 6, 8] {
            let native = syscall_name(n).unwrap();
            assert_eq!(
                syscall_name(n | SYS_IA32),
                Some(format!("ia32_{native}").as_str())
            );
        }
        assert_eq!(syscall_name(7 | SYS_IA32), None, "exit is no syscall name");
    }

    #[test]
    fn device_numbers_round_trip() {
        for kdev in [
            0u32,
            1,
            (8 << 20) | 1,
            (259 << 20) | 3,
            (0xfff << 20) | 0xfffff,
        ] {
            assert_eq!(dev_to_kernel(dev_to_user(kdev)), u64::from(kdev));
        }
    }

    #[test]
    fn parses_record_and_stops_path_at_nul() {
        let mut buf = vec![0u8; HDR_SIZE + 18];
        let h = Header {
            ts_ns: 1,
            cgroup_id: 2,
            ino: 3,
            ret: 4,
            flags: 0,
            size: 320,
            mtime_sec: 1_700_000_000,
            kind: KIND_OPEN,
            syscall: 1,
            pid: 10,
            tgid: 11,
            ppid: 12,
            uid: 0,
            gid: 0,
            dirfd: -100,
            dev: (8 << 20) | 1,
            path_len: 8,
            dpath_len: 10,
            dpath_flags: 0,
            mtime_nsec: 5,
            i_mode: 0o100644 | META_OK,
            comm: *b"python3\0\0\0\0\0\0\0\0\0",
        };
        unsafe { std::ptr::write_unaligned(buf.as_mut_ptr() as *mut Header, h) };
        buf[HDR_SIZE..].copy_from_slice(b"a.gguf\0\0/m/a.gguf\0");
        let r = parse(&buf).unwrap();
        let p = r.header;
        assert_eq!(r.path, b"a.gguf");
        assert_eq!(r.dpath, Some(&b"/m/a.gguf"[..]));
        assert_eq!(p.tgid, 11);
        assert_eq!(comm(&p), "python3");
        assert_eq!(dev_to_user(p.dev), libc::makedev(8, 1));
        let m = file_meta(&p).unwrap();
        assert_eq!(
            (m.size, m.mtime_ns, m.is_dir()),
            (320, 1_700_000_000_000_000_005, false)
        );
        assert!(parse(&buf[..10]).is_none());
    }
}

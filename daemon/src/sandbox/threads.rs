//! Setting the capability sets of every thread of the process.
//!
//! Linux keeps capabilities (and the bounding set) per thread, and `capset` only changes
//! the calling thread's; the `caps` crate wraps that one-thread call. By the time the
//! daemon has attached its programs, the tokio workers, the hash pool and the policy
//! threads exist, each still holding every capability. No crate does the process-wide
//! change in Rust (libcap's `psx` does it in C, Go's runtime in `AllThreadsSyscall`), so
//! this is the same technique written by hand: each other thread is sent a real-time
//! signal whose handler drops its own capabilities with raw syscalls (async-signal-safe),
//! one thread at a time, then the caller drops its own. [`verify`] reads every thread's
//! `/proc/self/task/TID/status` afterwards, so a thread missed (one started meanwhile) is
//! found and handled in another round.
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Capabilities to keep, as a bit mask (bit N: capability N).
static KEEP: AtomicU64 = AtomicU64::new(0);
/// Highest capability number of the running kernel.
static LAST_CAP: AtomicU32 = AtomicU32::new(0);
/// Whether the bounding set is dropped too (needs CAP_SETPCAP).
static BOUNDING: AtomicBool = AtomicBool::new(false);
/// Threads that ran the handler.
static DONE: AtomicU32 = AtomicU32::new(0);
/// The first error (errno) a handler met, 0 when none.
static FAILED: AtomicI32 = AtomicI32::new(0);

/// The signal used to ask a thread to drop its capabilities.
fn signal_no() -> libc::c_int {
    libc::SIGRTMIN() + 7
}

/// Drops the calling thread's capabilities to [`KEEP`]: bounding set, ambient set, then
/// effective/permitted/inheritable. Only raw syscalls and atomics: it runs in a signal
/// handler. Returns 0 or an errno.
fn drop_here() -> libc::c_int {
    let keep = KEEP.load(Ordering::SeqCst);
    let last = LAST_CAP.load(Ordering::SeqCst);
    let errno = || {
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO)
    };
    for cap in 0..=last {
        if !BOUNDING.load(Ordering::SeqCst) || keep & (1u64 << cap) != 0 {
            continue;
        }
        // SAFETY: plain prctl; EINVAL means the kernel does not know this capability.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) } != 0 {
            let e = errno();
            if e != libc::EINVAL {
                return e;
            }
        }
    }
    // SAFETY: plain prctl; fails with EINVAL on kernels without ambient capabilities.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let mut hdr = Header {
        version: VERSION_3,
        pid: 0,
    };
    let (lo, hi) = (keep as u32, (keep >> 32) as u32);
    let data = [
        Data {
            effective: lo,
            permitted: lo,
            inheritable: 0,
        },
        Data {
            effective: hi,
            permitted: hi,
            inheritable: 0,
        },
    ];
    // SAFETY: capset with a valid header and two data structs, as version 3 requires.
    if unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut Header, data.as_ptr()) } != 0 {
        return errno();
    }
    0
}

extern "C" fn on_signal(_: libc::c_int) {
    let r = drop_here();
    if r != 0 {
        let _ = FAILED.compare_exchange(0, r, Ordering::SeqCst, Ordering::SeqCst);
    }
    DONE.fetch_add(1, Ordering::SeqCst);
}

/// The thread ids of this process.
fn tids() -> Result<Vec<i32>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc/self/task").context("listing /proc/self/task")? {
        if let Some(t) = e?.file_name().to_str().and_then(|s| s.parse().ok()) {
            out.push(t);
        }
    }
    Ok(out)
}

/// The capability masks (effective, permitted, bounding) of thread `tid`; `None` once it
/// is gone.
fn masks_of(tid: i32) -> Option<(u64, u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).ok()?;
    let get = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
    };
    Some((get("CapEff:")?, get("CapPrm:")?, get("CapBnd:")?))
}

/// The threads whose effective or permitted set (and bounding set, when it is dropped)
/// is not `keep`.
pub fn verify(keep: u64) -> Result<Vec<i32>> {
    let bounding = BOUNDING.load(Ordering::SeqCst);
    Ok(tids()?
        .into_iter()
        .filter(|t| {
            masks_of(*t).is_some_and(|(e, p, b)| e != keep || p != keep || (bounding && b != keep))
        })
        .collect())
}

/// Leaves every thread of the process with exactly the capabilities in `keep` (a subset
/// of the permitted set) as effective and permitted set, and as bounding set when
/// `bounding` (which needs CAP_SETPCAP), so no later `execve` regains the others.
pub fn drop_all_threads(keep: u64, bounding: bool) -> Result<()> {
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .context("reading /proc/sys/kernel/cap_last_cap")?
        .trim()
        .parse()
        .context("parsing /proc/sys/kernel/cap_last_cap")?;
    KEEP.store(keep, Ordering::SeqCst);
    BOUNDING.store(bounding, Ordering::SeqCst);
    LAST_CAP.store(last.min(63), Ordering::SeqCst);
    FAILED.store(0, Ordering::SeqCst);
    let sig = signal_no();
    // SAFETY: installs a handler that only makes raw syscalls and touches atomics; the
    // previous disposition must be the default one, or some library uses this signal.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as *const () as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(sig, &sa, &mut old) != 0 {
            bail!("sigaction: {}", std::io::Error::last_os_error());
        }
        if old.sa_sigaction != libc::SIG_DFL {
            libc::sigaction(sig, &old, std::ptr::null_mut());
            bail!("signal {sig} is already in use in this process");
        }
    }
    let result = broadcast(sig, keep);
    // SAFETY: a late signal must not take the default action (terminate).
    unsafe { libc::signal(sig, libc::SIG_IGN) };
    result?;
    match drop_here() {
        0 => Ok(()),
        e => Err(std::io::Error::from_raw_os_error(e)).context("dropping capabilities"),
    }
}

/// Signals each other thread not yet at `keep`, one at a time, until none is left.
fn broadcast(sig: libc::c_int, keep: u64) -> Result<()> {
    // SAFETY: plain syscalls.
    let (pid, me) = unsafe { (libc::getpid(), libc::gettid()) };
    for _round in 0..10 {
        let todo: Vec<i32> = verify(keep)?.into_iter().filter(|t| *t != me).collect();
        if todo.is_empty() {
            return Ok(());
        }
        for tid in todo {
            let before = DONE.load(Ordering::SeqCst);
            // SAFETY: tgkill to a thread of this process.
            if unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, sig) } != 0 {
                continue; // gone meanwhile
            }
            let start = Instant::now();
            while DONE.load(Ordering::SeqCst) == before {
                if start.elapsed() > Duration::from_secs(2) {
                    if masks_of(tid).is_none() {
                        break; // exited before handling it
                    }
                    bail!("thread {tid} did not drop its capabilities within 2 s (signal {sig} blocked?)");
                }
                std::thread::sleep(Duration::from_micros(100));
            }
            match FAILED.load(Ordering::SeqCst) {
                0 => {}
                e => {
                    return Err(std::io::Error::from_raw_os_error(e))
                        .with_context(|| format!("thread {tid} could not drop its capabilities"))
                }
            }
        }
    }
    bail!("threads kept appearing with capabilities after 10 rounds")
}

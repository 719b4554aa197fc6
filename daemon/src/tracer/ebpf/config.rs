//! `[ebpf]`: the eBPF tracer's settings.
use serde::{Deserialize, Serialize};

/// eBPF tracer settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct EbpfConfig {
    /// Ring buffer size in bytes (power of two, multiple of the page size).
    pub ring_buffer_bytes: u32,
    /// The kernel wakes the reader only once this many bytes are pending.
    pub wakeup_bytes: u64,
    /// The reader drains the ring buffer at least this often (milliseconds).
    pub drain_interval_ms: u64,
    /// Report opens that failed (negative return) instead of dropping them in the kernel.
    pub report_failed_opens: bool,
    /// Trace io_uring opens (`IORING_OP_OPENAT`/`OPENAT2`). Each io_uring request on the
    /// host then pays two tracepoint programs (~0.6 µs measured, `benches/uring.rs`);
    /// `false` leaves io_uring opens unseen.
    pub io_uring: bool,
    /// Trace opens and execs made through the 32-bit compat syscall table (a 32-bit
    /// program, or `int $0x80` from a 64-bit one; x86-64 only), which the syscall
    /// tracepoints never see. Every system call on the host then pays a raw tracepoint
    /// program pair (measured in `benches/compat.rs`); `false` leaves them unseen.
    pub compat_syscalls: bool,
    /// `aibomd daemon`: where to pin the map through which an `aibomd run` that exports
    /// OTLP takes its command's process tree over (the daemon then does not report it, so
    /// a store gets those records once); on bpffs, mounted at `/sys/fs/bpf` when needed.
    /// `aibomd run`: where to look for it. `""`: no hand-over (both report the tree).
    pub defer_pin: std::path::PathBuf,
}

impl Default for EbpfConfig {
    fn default() -> Self {
        Self {
            ring_buffer_bytes: 16 << 20,
            wakeup_bytes: 1 << 20,
            drain_interval_ms: 50,
            report_failed_opens: false,
            io_uring: true,
            compat_syscalls: true,
            defer_pin: super::defer::DEFAULT_PIN.into(),
        }
    }
}

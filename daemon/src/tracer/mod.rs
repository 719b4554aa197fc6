//! Tracer sources: where file-access events come from.
//!
//! Three backends behind one trait, best first:
//! - [`ebpf`]: syscall tracepoints, in-kernel filtering, sees every open (needs root + BTF);
//! - [`fanotify`]: filesystem notifications (needs root; no uid/cgroup, merged events);
//! - [`procfs`]: polls `/proc/*/fd` and `/proc/*/maps` (works anywhere, misses short opens).
use anyhow::{bail, Result};
use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::filter::FilterConfig;
use crate::model::{TraceEvent, TracerStats};

pub mod ebpf;
pub mod fanotify;
pub mod nvml;
mod proc_util;
pub mod procfs;
mod queue;

pub use proc_util::ppid;
pub use queue::{event_bytes, queue, Closed, QueueRx, QueueTx, Queued};

/// Which tracer to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TracerChoice {
    /// The best that works here: ebpf, then fanotify, then procfs.
    Auto,
    /// eBPF syscall tracepoints (root, BTF, tracefs).
    Ebpf,
    /// fanotify filesystem events (root).
    Fanotify,
    /// Polling of /proc (no privileges needed for own processes; misses short-lived opens).
    Procfs,
}

/// What to trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every process on the host (daemon mode).
    Host,
    /// Only processes given to [`Tracer::follow`] and their descendants (`aibomd run`).
    Follow,
}

/// Async-signal-safe function a freshly forked child calls on itself; see [`Tracer::pre_exec_follow`].
pub type PreExecFollow = Box<dyn Fn() -> std::io::Result<()> + Send + Sync>;

/// Makes the kernel kill (SIGKILL, as the open returns) any process that opens the file
/// of identity (`st_dev`, inode); see [`Tracer::kill_switch`].
pub type KillSwitch = Box<dyn FnMut(u64, u64) -> Result<()> + Send>;

/// A batch of events; tracers send batches to keep the queue cheap at high rates.
pub type Batch = Vec<TraceEvent>;

/// A started tracer source.
pub trait Tracer: Send {
    /// The `aibom.tracer` value of this backend.
    fn name(&self) -> &'static str;
    /// Starts following `pid` and every process it forks (Follow scope).
    fn follow(&mut self, pid: u32) -> Result<()>;
    /// A hook for a child to run between fork and exec that makes it followed before it
    /// runs a single instruction of the new program (async-signal-safe). `None` when
    /// [`Tracer::follow`] after spawn is enough for this backend.
    fn pre_exec_follow(&self) -> Option<PreExecFollow> {
        None
    }
    /// The tracer's in-kernel kill switch, when it has one (eBPF: `bpf_send_signal`
    /// from the open's exit tracepoint). Taken once.
    fn kill_switch(&mut self) -> Option<KillSwitch> {
        None
    }
    /// Gives the tracer the shared counters to keep current while it runs.
    fn attach_stats(&mut self, _stats: std::sync::Arc<crate::stats::Stats>) {}
    /// Moves events to `out` until `stop` is cancelled, then drains everything still
    /// buffered and returns the counters.
    fn spawn(
        self: Box<Self>,
        out: QueueTx,
        stop: CancellationToken,
    ) -> JoinHandle<Result<TracerStats>>;
}

/// What the tracers are configured with (`[filter]`, `[ebpf]`, `[procfs]`).
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    pub filter: &'a FilterConfig,
    pub ebpf: &'a ebpf::EbpfConfig,
    pub procfs: &'a procfs::ProcfsConfig,
    /// `[api]`: AI API calls (eBPF only).
    pub api: &'a crate::api::ApiConfig,
}

/// Opens the tracer `choice`; `auto` tries them best-first and logs why each was skipped.
pub fn open(choice: TracerChoice, scope: Scope, cfg: Settings) -> Result<Box<dyn Tracer>> {
    let ebpf = || ebpf::EbpfTracer::open(scope, cfg.filter, cfg.ebpf, cfg.api);
    let fanotify = || fanotify::FanotifyTracer::open(scope, cfg.filter);
    let procfs = || procfs::ProcfsTracer::open(scope, cfg.filter, cfg.procfs);
    match choice {
        TracerChoice::Ebpf => ebpf().map(boxed),
        TracerChoice::Fanotify => fanotify().map(boxed),
        TracerChoice::Procfs => procfs().map(boxed),
        TracerChoice::Auto => {
            let mut why = Vec::new();
            match ebpf() {
                Ok(t) => return Ok(boxed(t)),
                Err(e) => why.push(format!("ebpf: {e:#}")),
            }
            match fanotify() {
                Ok(t) => {
                    tracing::warn!(reasons = %why.join("; "), "eBPF unavailable, falling back to the fanotify tracer");
                    return Ok(boxed(t));
                }
                Err(e) => why.push(format!("fanotify: {e:#}")),
            }
            match procfs() {
                Ok(t) => {
                    tracing::warn!(reasons = %why.join("; "), "eBPF and fanotify unavailable, falling back to /proc polling (short-lived opens may be missed)");
                    Ok(boxed(t))
                }
                Err(e) => {
                    why.push(format!("procfs: {e:#}"));
                    bail!("no tracer works here: {}", why.join("; "))
                }
            }
        }
    }
}

fn boxed<T: Tracer + 'static>(t: T) -> Box<dyn Tracer> {
    Box::new(t)
}

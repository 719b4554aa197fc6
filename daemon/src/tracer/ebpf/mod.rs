//! The eBPF tracer: loads `ebpf/aibom.bpf.c` (embedded at build time), pushes the path
//! filter into its LPM tries, attaches the tracepoints and drains the ring buffer.
use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use aibom_semconv::tracer as tracer_name;
use anyhow::{bail, Context, Result};
use aya::maps::lpm_trie::{Key, LpmTrie};
use aya::maps::{HashMap as BpfHashMap, MapData, PerCpuArray, RingBuf};
use aya::programs::{RawTracePoint, TracePoint};
use aya::{Ebpf, EbpfLoader};
use tokio::io::unix::AsyncFd;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{QueueTx, Scope, Tracer};
use crate::filter::{FilterConfig, Rule, PREFIX_MAX, STORE_DIR_MAX, SUFFIX_MAX};
use crate::model::{AccessMode, ExecInfo, RawAccess, TraceEvent, TracerStats};

pub mod api;
mod config;
pub mod defer;
mod entry;
pub mod wire;

pub use config::EbpfConfig;

static BPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/aibom.bpf.o"));

/// (program, tracepoint category, tracepoint name, required). Optional ones do not exist
/// on every architecture (arm64 has no `open`/`creat`).
const TRACEPOINTS: &[(&str, &str, &str, bool)] = &[
    ("sys_enter_openat", "syscalls", "sys_enter_openat", true),
    ("sys_exit_openat", "syscalls", "sys_exit_openat", true),
    ("sys_enter_openat2", "syscalls", "sys_enter_openat2", false),
    ("sys_exit_openat2", "syscalls", "sys_exit_openat2", false),
    ("sys_enter_open", "syscalls", "sys_enter_open", false),
    ("sys_exit_open", "syscalls", "sys_exit_open", false),
    ("sys_enter_creat", "syscalls", "sys_enter_creat", false),
    ("sys_exit_creat", "syscalls", "sys_exit_creat", false),
    ("sys_enter_execve", "syscalls", "sys_enter_execve", true),
    ("sys_exit_execve", "syscalls", "sys_exit_execve", true),
    (
        "sys_enter_execveat",
        "syscalls",
        "sys_enter_execveat",
        false,
    ),
    ("sys_exit_execveat", "syscalls", "sys_exit_execveat", false),
    (
        "sys_enter_open_by_handle_at",
        "syscalls",
        "sys_enter_open_by_handle_at",
        false,
    ),
    (
        "sys_exit_open_by_handle_at",
        "syscalls",
        "sys_exit_open_by_handle_at",
        false,
    ),
    // renames and links counted when they hide a kept file (`ebpf/renames.bpf.h`;
    // arm64 has only the `*at` forms)
    ("sys_enter_rename", "syscalls", "sys_enter_rename", false),
    (
        "sys_enter_renameat",
        "syscalls",
        "sys_enter_renameat",
        false,
    ),
    (
        "sys_enter_renameat2",
        "syscalls",
        "sys_enter_renameat2",
        false,
    ),
    ("sys_enter_link", "syscalls", "sys_enter_link", false),
    ("sys_enter_linkat", "syscalls", "sys_enter_linkat", false),
    ("sys_enter_symlink", "syscalls", "sys_enter_symlink", false),
    (
        "sys_enter_symlinkat",
        "syscalls",
        "sys_enter_symlinkat",
        false,
    ),
];
/// io_uring opens (see `ebpf/indirect.bpf.h`): (program, tracepoint, the fields the program
/// reads at the offsets it reads them). io_uring tracepoint layouts are not ABI, so they are
/// attached only when tracefs shows these offsets.
const URING_TRACEPOINTS: &[(&str, &[(&str, u32)])] = &[
    ("io_uring_submit_req", &[("req", 16), ("opcode", 32)]),
    ("io_uring_complete", &[("req", 16), ("res", 32)]),
];
const RAW_TRACEPOINTS: &[&str] = &["sched_process_fork", "sched_process_exit"];
const TRACEFS: &str = "/sys/kernel/tracing";
const BTF: &str = "/sys/kernel/btf/vmlinux";

/// Kernel counters read from the `STATS` map.
#[derive(Debug, Default, Clone, Copy)]
pub struct KernelStats {
    pub seen: u64,
    pub filtered: u64,
    pub failed: u64,
    pub emitted: u64,
    pub dropped: u64,
    pub execs: u64,
    pub wakeups: u64,
    /// Renames and links that gave a kept file a name the filter does not keep.
    pub renamed_away: u64,
}

/// A loaded and attached eBPF tracer.
pub struct EbpfTracer {
    bpf: Ebpf,
    stats: Option<std::sync::Arc<crate::stats::Stats>>,
    cfg: EbpfConfig,
    clock: BootClock,
    /// The OpenSSL libraries with uprobes (None: API calls are not traced).
    tls: Option<api::TlsLibraries>,
    /// Host mode: the pinned map through which runs take their processes over.
    deferral: Option<defer::Pinned>,
}

/// Attaches the io_uring open programs when this kernel's tracepoints have the layout they
/// read; otherwise io_uring opens are not seen (logged once).
fn attach_uring(bpf: &mut Ebpf) -> Result<()> {
    let dir = Path::new(TRACEFS).join("events/io_uring");
    let fits = URING_TRACEPOINTS.iter().all(|(tp, fields)| {
        std::fs::read_to_string(dir.join(tp).join("format"))
            .is_ok_and(|f| fields.iter().all(|&(n, off)| has_field(&f, n, off)))
    });
    if !fits {
        tracing::warn!("io_uring opens are not traced: this kernel's io_uring tracepoints are missing or laid out differently");
        return Ok(());
    }
    for &(prog, _) in URING_TRACEPOINTS {
        // optional: a kernel whose verifier refuses them still traces every other open
        if let Err(e) = attach_tracepoint(bpf, prog, "io_uring", prog)? {
            tracing::warn!(tracepoint = prog, error = %e, "io_uring opens are not traced");
            return Ok(());
        }
    }
    Ok(())
}

/// The thread detaching a stopped tracer's programs (see [`wait_detached`]).
static DETACHING: std::sync::Mutex<Option<std::thread::JoinHandle<()>>> =
    std::sync::Mutex::new(None);

/// Waits until a stopped tracer's programs are detached. Called before the process
/// exits: an exit with them still attached detaches them one after the other in the
/// kernel (seconds), where [`detach_all`] detaches them together.
pub fn wait_detached() {
    let handle = DETACHING.lock().map(|mut h| h.take()).unwrap_or_default();
    if let Some(h) = handle {
        let _ = h.join();
    }
}

/// Detaches every program at once: each detach waits for the kernel's grace periods
/// (~70 ms each on these VMs, ~3.5 s for fifty one after the other), which programs
/// detached on threads of their own wait for together.
fn detach_all(bpf: &mut Ebpf) {
    use aya::programs::Program;
    let started = std::time::Instant::now();
    std::thread::scope(|s| {
        for (_, p) in bpf.programs_mut() {
            s.spawn(move || match p {
                Program::TracePoint(p) => p.unload(),
                Program::RawTracePoint(p) => p.unload(),
                Program::UProbe(p) => p.unload(),
                // others (none today) go when the object is dropped
                _ => Ok(()),
            });
        }
    });
    tracing::debug!(elapsed = ?started.elapsed(), "eBPF programs detached");
}

/// Loads program `prog` and attaches it to raw tracepoint `name`; errors as for
/// [`attach_tracepoint`].
fn attach_raw(
    bpf: &mut Ebpf,
    prog: &str,
    name: &str,
) -> Result<Result<(), aya::programs::ProgramError>> {
    let rtp: &mut RawTracePoint = bpf
        .program_mut(prog)
        .with_context(|| format!("program {prog} missing from the object"))?
        .try_into()?;
    Ok(rtp.load().and_then(|_| rtp.attach(name).map(|_| ())))
}

/// Attaches the programs that see opens and execs made through the 32-bit compat table
/// (`ebpf/compat.bpf.h`); a kernel that refuses them leaves those unseen (logged once).
fn attach_compat(bpf: &mut Ebpf) -> Result<()> {
    for (prog, name) in [
        ("compat_sys_enter", "sys_enter"),
        ("compat_sys_exit", "sys_exit"),
    ] {
        if let Err(e) = attach_raw(bpf, prog, name)? {
            tracing::warn!(
                raw_tracepoint = name,
                error = format!("{e:#}"),
                "32-bit compat opens and execs are not traced"
            );
            return Ok(());
        }
    }
    Ok(())
}

/// Loads program `prog` and attaches it to tracepoint `category/name`. The outer error:
/// the object lacks the program (a build error); the inner one: this kernel refused it.
fn attach_tracepoint(
    bpf: &mut Ebpf,
    prog: &str,
    category: &str,
    name: &str,
) -> Result<Result<(), aya::programs::ProgramError>> {
    let tp: &mut TracePoint = bpf
        .program_mut(prog)
        .with_context(|| format!("program {prog} missing from the object"))?
        .try_into()?;
    Ok(tp
        .load()
        .and_then(|_| tp.attach(category, name).map(|_| ())))
}

/// True when a tracefs `format` declares field `name` at byte `offset`.
fn has_field(format: &str, name: &str, offset: u32) -> bool {
    format.lines().any(|l| {
        let mut parts = l.trim().split(';').map(str::trim);
        let decl = parts.next().unwrap_or("");
        let at = parts.next().unwrap_or("");
        decl.starts_with("field:")
            && decl.rsplit([' ', '*']).next() == Some(name)
            && at == format!("offset:{offset}")
    })
}

/// The pid namespace of the `/proc` aibomd reads, which numbers every pid the later
/// stages look up there (`/proc/PID/fd`, `root`, `maps`): the kernel side reports pids in
/// it and traces only the processes it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcPidns {
    /// Its nsfs inode; 0 for the host's (the kernel side then does no translation).
    inum: u32,
    /// aibomd's own pid there (never traced).
    self_pid: u32,
}

/// The host's pid namespace inode (`PROC_PID_INIT_INO`, fixed by the kernel ABI).
const HOST_PIDNS_INUM: u64 = 0xEFFF_FFFC;

impl ProcPidns {
    fn read() -> Result<Self> {
        Self::at(Path::new("/proc"))
    }

    /// True when the `/proc` aibomd reads numbers processes as the host does (pids from
    /// elsewhere, such as NVML's, are then ours too).
    pub(crate) fn proc_is_hosts() -> bool {
        Self::read().is_ok_and(|p| p.inum == 0)
    }

    /// From `proc`: our own pid namespace when `/proc` numbers us once (`NSpid` has one
    /// entry: it is that namespace's `/proc`) or it is the host's; otherwise (a `/proc` of an
    /// ancestor namespace) the namespace of its pid 1, which a namespace's init lives in
    /// (reading that one needs ptrace access to pid 1). Our pid there from `/proc/self`.
    fn at(proc: &Path) -> Result<Self> {
        use std::os::unix::fs::MetadataExt;
        let ino = |p: PathBuf| -> Result<u64> {
            Ok(std::fs::metadata(&p)
                .with_context(|| format!("reading {}", p.display()))?
                .ino())
        };
        let own = ino(proc.join("self/ns/pid"))?;
        let status = std::fs::read_to_string(proc.join("self/status")).unwrap_or_default();
        let ns = if own == HOST_PIDNS_INUM || nspid_levels(&status) == Some(1) {
            own
        } else {
            ino(proc.join("1/ns/pid"))?
        };
        let self_pid = std::fs::read_link(proc.join("self"))
            .ok()
            .and_then(|p| p.to_str()?.parse().ok())
            .unwrap_or_else(std::process::id);
        Ok(Self {
            inum: if ns == HOST_PIDNS_INUM { 0 } else { ns as u32 },
            self_pid,
        })
    }
}

/// How many pid namespaces `/proc/PID/status` numbers the process in (`NSpid:`), from the
/// `/proc`'s own down to the process's.
fn nspid_levels(status: &str) -> Option<usize> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .map(|l| l.split_whitespace().count())
}

/// Checks what the eBPF tracer needs, naming the first thing missing.
fn preflight() -> Result<()> {
    if !nix::unistd::geteuid().is_root() {
        bail!("not running as root (eBPF needs CAP_BPF and CAP_PERFMON); run with sudo or use --tracer procfs");
    }
    if !Path::new(BTF).exists() {
        bail!("kernel BTF missing ({BTF}); the kernel needs CONFIG_DEBUG_INFO_BTF=y, or use --tracer fanotify");
    }
    let events = Path::new(TRACEFS).join("events/syscalls");
    if !events.exists() {
        // We are root: mount tracefs ourselves, as `mount -t tracefs nodev /sys/kernel/tracing` would.
        tracing::info!("tracefs not mounted, mounting it at {TRACEFS}");
        nix::mount::mount(
            Some("nodev"),
            TRACEFS,
            Some("tracefs"),
            nix::mount::MsFlags::empty(),
            None::<&str>,
        )
        .with_context(|| format!("tracefs is not mounted at {TRACEFS} and mounting it failed; run `mount -t tracefs nodev {TRACEFS}` or use --tracer fanotify"))?;
        if !events.exists() {
            bail!("no syscall tracepoints under {TRACEFS}/events/syscalls (kernel without CONFIG_FTRACE_SYSCALLS); use --tracer fanotify");
        }
    }
    Ok(())
}

impl EbpfTracer {
    /// Loads the programs, fills the filter maps and attaches every tracepoint.
    pub fn open(
        scope: Scope,
        filter: &FilterConfig,
        cfg: &EbpfConfig,
        api_cfg: &crate::api::ApiConfig,
    ) -> Result<Self> {
        preflight()?;
        let follow: u32 = (scope == Scope::Follow).into();
        let pidns = ProcPidns::read()?;
        let self_tgid = pidns.self_pid;
        if pidns.inum != 0 {
            tracing::info!(
                pidns = pidns.inum,
                "/proc is a nested pid namespace's: tracing only its processes"
            );
        }
        let report_failed: u32 = cfg.report_failed_opens.into();
        let store_blobs: u32 = filter.store_blobs.into();
        let store_dirs: u32 = (!filter.store_dirs.is_empty()).into();
        let api_enabled: u32 = api_cfg.enabled.into();
        // host mode with a pin: the kernel side looks processes up in DEFERRED
        let defer = scope == Scope::Host && !cfg.defer_pin.as_os_str().is_empty();
        let defer_enabled: u32 = defer.into();
        let mut bpf = EbpfLoader::new()
            .override_global("api_enabled", &api_enabled, true)
            .override_global("api_scan_bytes", &api_cfg.scan_bytes, true)
            .override_global("follow_mode", &follow, true)
            .override_global("self_tgid", &self_tgid, true)
            .override_global("defer_enabled", &defer_enabled, true)
            .override_global("wakeup_bytes", &cfg.wakeup_bytes, true)
            .override_global("report_failed", &report_failed, true)
            .override_global("store_blobs", &store_blobs, true)
            .override_global("pidns_inum", &pidns.inum, true)
            .override_global("store_dirs", &store_dirs, true)
            .map_max_entries("EVENTS", cfg.ring_buffer_bytes)
            .load(BPF_OBJECT)
            .context("loading the eBPF object (verifier or BTF relocation failed)")?;
        load_filter(&mut bpf, filter)?;
        for &(prog, category, name, required) in TRACEPOINTS {
            match attach_tracepoint(&mut bpf, prog, category, name)? {
                Ok(()) => {}
                Err(e) if !required => {
                    tracing::debug!(tracepoint = name, error = %e, "optional tracepoint not attached")
                }
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("attaching tracepoint {category}/{name}"))
                }
            }
        }
        if cfg.io_uring {
            attach_uring(&mut bpf)?;
        }
        for &name in RAW_TRACEPOINTS {
            attach_raw(&mut bpf, name, name)?
                .with_context(|| format!("attaching raw tracepoint {name}"))?;
        }
        if cfg.compat_syscalls && cfg!(target_arch = "x86_64") {
            attach_compat(&mut bpf)?;
        }
        let tls = if api_cfg.enabled {
            Some(
                api::setup(&mut bpf, api_cfg)
                    .context("setting up AI API tracing ([api] enabled = false turns it off)")?,
            )
        } else {
            None
        };
        let deferral = match defer.then(|| defer::Pinned::pin(&bpf, &cfg.defer_pin)) {
            Some(Ok(p)) => Some(p),
            Some(Err(e)) => {
                tracing::warn!(error = format!("{e:#}"), "`aibomd run` cannot hand its processes over: the store may get their records twice");
                None
            }
            None => None,
        };
        Ok(Self {
            bpf,
            stats: None,
            cfg: cfg.clone(),
            clock: BootClock::now(),
            tls,
            deferral,
        })
    }

    /// Reads and sums the per-CPU kernel counters.
    pub fn kernel_stats(bpf: &Ebpf) -> Result<KernelStats> {
        let arr: PerCpuArray<&MapData, u64> =
            PerCpuArray::try_from(bpf.map("STATS").context("STATS map missing")?)?;
        let get = |i: u32| -> Result<u64> { Ok(arr.get(&i, 0)?.iter().sum()) };
        Ok(KernelStats {
            seen: get(wire::STAT_OPEN_SEEN)?,
            filtered: get(wire::STAT_OPEN_FILTERED)?,
            failed: get(wire::STAT_OPEN_FAILED)?,
            emitted: get(wire::STAT_EMITTED)?,
            dropped: get(wire::STAT_RB_DROPPED)?,
            execs: get(wire::STAT_EXEC_SEEN)?,
            wakeups: get(wire::STAT_WAKEUPS)?,
            renamed_away: get(wire::STAT_RENAMED_AWAY)?,
        })
    }
}

impl EbpfTracer {
    /// Mirrors the kernel counters into the shared stats; warns when drops grow.
    fn publish_stats(&self, last_dropped: &mut u64) {
        let Ok(k) = EbpfTracer::kernel_stats(&self.bpf) else {
            return;
        };
        if k.dropped > *last_dropped {
            tracing::warn!(
                dropped = k.dropped - *last_dropped,
                "ring buffer full: events lost in the kernel; raise ebpf.ring_buffer_bytes"
            );
            *last_dropped = k.dropped;
        }
        if let Some(s) = &self.stats {
            use crate::stats::Stats;
            Stats::set(&s.kernel_seen, k.seen);
            Stats::set(&s.kernel_filtered, k.filtered);
            Stats::set(&s.kernel_dropped, k.dropped);
            Stats::set(&s.renamed_away, k.renamed_away);
            if let (Some(tls), Ok((dropped, truncated))) = (&self.tls, api::kernel_stats(&self.bpf))
            {
                Stats::set(&s.api_tls_libraries, tls.len() as u64);
                Stats::set(&s.api_dropped, dropped + truncated);
            }
        }
    }
}

fn load_filter(bpf: &mut Ebpf, filter: &FilterConfig) -> Result<()> {
    let mut prefixes: LpmTrie<&mut MapData, [u8; PREFIX_MAX], u8> = LpmTrie::try_from(
        bpf.map_mut("PREFIX_RULES")
            .context("PREFIX_RULES missing")?,
    )?;
    for (p, rule) in filter.prefix_rules() {
        let mut data = [0u8; PREFIX_MAX];
        data[..p.len()].copy_from_slice(&p);
        prefixes.insert(&Key::new(p.len() as u32 * 8, data), rule as u8, 0)?;
    }
    let mut suffixes: LpmTrie<&mut MapData, [u8; SUFFIX_MAX], u8> = LpmTrie::try_from(
        bpf.map_mut("SUFFIX_RULES")
            .context("SUFFIX_RULES missing")?,
    )?;
    for s in filter.reversed_suffixes() {
        let mut data = [0u8; SUFFIX_MAX];
        data[..s.len()].copy_from_slice(&s);
        suffixes.insert(&Key::new(s.len() as u32 * 8, data), Rule::Keep as u8, 0)?;
    }
    let mut dirs: LpmTrie<&mut MapData, [u8; STORE_DIR_MAX], u8> =
        LpmTrie::try_from(bpf.map_mut("STORE_DIRS").context("STORE_DIRS missing")?)?;
    for d in filter.store_dir_rules() {
        let mut data = [0u8; STORE_DIR_MAX];
        data[..d.len()].copy_from_slice(&d);
        dirs.insert(&Key::new(d.len() as u32 * 8, data), Rule::Keep as u8, 0)?;
    }
    Ok(())
}

impl Tracer for EbpfTracer {
    fn name(&self) -> &'static str {
        tracer_name::EBPF
    }

    fn follow(&mut self, pid: u32) -> Result<()> {
        let mut tracked: BpfHashMap<&mut MapData, u32, u8> =
            BpfHashMap::try_from(self.bpf.map_mut("TRACKED").context("TRACKED missing")?)?;
        tracked.insert(pid, 1, 0)?;
        Ok(())
    }

    fn pre_exec_follow(&self) -> Option<super::PreExecFollow> {
        let fd = match self.bpf.map("TRACKED")? {
            aya::maps::Map::HashMap(m) => m.fd().as_fd().as_raw_fd(),
            _ => return None,
        };
        Some(Box::new(move || track_self(fd)))
    }

    fn kill_switch(&mut self) -> Option<super::KillSwitch> {
        let map = self.bpf.take_map("KILL_INODES")?;
        let mut map: BpfHashMap<MapData, KillKey, u8> = BpfHashMap::try_from(map).ok()?;
        Some(Box::new(move |st_dev, ino| {
            let key = KillKey {
                dev: wire::dev_to_kernel(st_dev),
                ino,
            };
            map.insert(key, 1, 0)
                .context("adding to KILL_INODES (4,096 files at most)")
        }))
    }

    fn attach_stats(&mut self, stats: std::sync::Arc<crate::stats::Stats>) {
        self.stats = Some(stats);
    }

    fn spawn(
        mut self: Box<Self>,
        out: QueueTx,
        stop: CancellationToken,
    ) -> JoinHandle<Result<TracerStats>> {
        tokio::spawn(async move {
            let ring = RingBuf::try_from(self.bpf.take_map("EVENTS").context("EVENTS missing")?)?;
            // SAFETY: the ring buffer owns its fd and lives inside the AsyncFd, so the fd
            // stays open for as long as it is registered.
            let mut ring = unsafe { AsyncFd::register(ring) }
                .map_err(|e| anyhow::anyhow!("registering the ring buffer with tokio: {e}"))?;
            let mut tick = tokio::time::interval(Duration::from_millis(self.cfg.drain_interval_ms));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut api_ring = match self.tls {
                Some(_) => Some(RingBuf::try_from(
                    self.bpf
                        .take_map("API_EVENTS")
                        .context("API_EVENTS missing")?,
                )?),
                None => None,
            };
            let mut sent = 0u64;
            let mut last_dropped = 0u64;
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    guard = ring.readable_mut() => {
                        let mut guard = guard?;
                        sent += drain(guard.get_inner_mut(), &self.clock, &out).await;
                        guard.clear_ready();
                    }
                    _ = tick.tick() => {
                        // API events first: they happened before the exits in the other ring
                        if let Some(r) = api_ring.as_mut() {
                            sent += self.drain_api(r, &out).await;
                        }
                        sent += drain(ring.get_mut(), &self.clock, &out).await;
                        self.publish_stats(&mut last_dropped);
                    }
                }
            }
            // Everything the kernel wrote before the stop is in the ring: take it all.
            if let Some(r) = api_ring.as_mut() {
                sent += self.drain_api(r, &out).await;
            }
            sent += drain(ring.get_mut(), &self.clock, &out).await;
            self.publish_stats(&mut last_dropped);
            let k = EbpfTracer::kernel_stats(&self.bpf)?;
            tracing::debug!(
                ?k,
                sent,
                fd = ring.get_ref().as_raw_fd(),
                "eBPF tracer stopped"
            );
            // Detaching costs the kernel a grace period per program link (about 70 ms
            // each on these VMs, ~2 s for all of them): done on a thread of its own, so
            // the pipeline flushes meanwhile and no runtime worker blocks.
            drop(ring);
            drop(api_ring);
            // runs started from now on find no pin: nobody would trace their command
            drop(self.deferral.take());
            let detaching = std::thread::spawn(move || {
                detach_all(&mut self.bpf);
                drop(self)
            });
            *DETACHING.lock().expect("detach lock") = Some(detaching);
            Ok(TracerStats {
                seen: k.seen,
                filtered: k.filtered,
                failed: k.failed,
                emitted: k.emitted,
                dropped: k.dropped,
            })
        })
    }
}

impl EbpfTracer {
    /// Drains `API_EVENTS`; a process that speaks TLS gets its own OpenSSL attached
    /// (a container's library, one loaded late) for its next connections.
    async fn drain_api(&mut self, ring: &mut RingBuf<MapData>, out: &QueueTx) -> u64 {
        let clock = self.clock;
        let mut batch = Vec::new();
        while let Some(item) = ring.next() {
            if let Some(ev) = api::decode(&item, |ts| clock.to_system(ts)) {
                batch.push(ev);
            }
        }
        let n = batch.len() as u64;
        if let Some(tls) = self.tls.as_mut() {
            use crate::model::{ApiEventKind, ConnRef};
            for ev in batch.iter_mut() {
                match (&ev.kind, ev.conn) {
                    (ApiEventKind::Sni { .. }, ConnRef::Sock(_)) => {
                        tls.attach_for(&mut self.bpf, ev.pid)
                    }
                    (ApiEventKind::Sni { ai_host: true, .. }, ConnRef::Ssl(_)) => {
                        ev.tls_library = tls.library_of(ev.pid)
                    }
                    _ => {}
                }
            }
        }
        if n > 0 {
            let _ = out
                .send(batch.into_iter().map(TraceEvent::Api).collect())
                .await;
        }
        n
    }
}

/// Adds the calling process to the TRACKED map with a raw `bpf(BPF_MAP_UPDATE_ELEM)`.
///
/// Written by hand because it runs in a forked child before exec, where only
/// async-signal-safe code may run: aya's map API may allocate, one syscall does not.
fn track_self(map_fd: std::os::fd::RawFd) -> std::io::Result<()> {
    #[repr(C)]
    struct UpdateAttr {
        map_fd: u32,
        _pad: u32,
        key: u64,
        value: u64,
        flags: u64,
    }
    const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
    // SAFETY: getpid and bpf are plain syscalls; key/value point to live stack values.
    let pid: u32 = unsafe { libc::getpid() } as u32;
    let one: u8 = 1;
    let attr = UpdateAttr {
        map_fd: map_fd as u32,
        _pad: 0,
        key: &pid as *const u32 as u64,
        value: &one as *const u8 as u64,
        flags: 0,
    };
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_MAP_UPDATE_ELEM,
            &attr as *const UpdateAttr,
            std::mem::size_of::<UpdateAttr>() as libc::c_uint,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Drains the ring buffer completely, in batches. Returns events sent.
async fn drain(ring: &mut RingBuf<MapData>, clock: &BootClock, out: &QueueTx) -> u64 {
    const BATCH: usize = 2048;
    let mut total = 0;
    loop {
        let mut batch = Vec::with_capacity(64);
        let mut bytes = 0;
        while batch.len() < BATCH && bytes < out.batch_bytes() {
            let Some(item) = ring.next() else { break };
            if let Some(ev) = decode(&item, clock) {
                bytes += super::queue::event_bytes(&ev);
                batch.push(ev);
            }
        }
        if batch.is_empty() {
            return total;
        }
        let full = batch.len() == BATCH || bytes >= out.batch_bytes();
        total += batch.len() as u64;
        if out.send(batch).await.is_err() || !full {
            return total;
        }
    }
}

fn decode(buf: &[u8], clock: &BootClock) -> Option<TraceEvent> {
    let wire::Record {
        header: h,
        path,
        dpath,
    } = wire::parse(buf)?;
    let time = clock.to_system(h.ts_ns);
    let ppid = Some(h.ppid).filter(|p| *p != 0);
    Some(match h.kind {
        wire::KIND_OPEN => TraceEvent::Access(RawAccess {
            time,
            pid: h.tgid,
            ppid,
            uid: Some(h.uid),
            cgroup_id: Some(h.cgroup_id),
            comm: Some(wire::comm(&h)),
            path: path.to_vec(),
            kernel_path: dpath.map(<[u8]>::to_vec),
            dirfd: Some(h.dirfd),
            fd: (h.ret >= 0).then_some(h.ret as i32),
            flags: Some(h.flags),
            mode: AccessMode::from_open_flags(h.flags),
            syscall: wire::syscall_name(h.syscall),
            file_id: (h.ino != 0).then(|| (wire::dev_to_user(h.dev), h.ino)),
            file_meta: wire::file_meta(&h),
            tracer: tracer_name::EBPF,
        }),
        wire::KIND_EXEC => TraceEvent::Exec(ExecInfo {
            time,
            pid: h.tgid,
            ppid,
            comm: Some(wire::comm(&h)),
            path: PathBuf::from(OsStr::from_bytes(path)),
        }),
        wire::KIND_EXIT => TraceEvent::Exit { pid: h.tgid },
        _ => return None,
    })
}

/// Converts the kernel's CLOCK_BOOTTIME stamps to wall-clock time.
#[derive(Debug, Clone, Copy)]
struct BootClock {
    /// Wall-clock time at boot (realtime - boottime), sampled once.
    boot: SystemTime,
}

impl BootClock {
    fn now() -> Self {
        let boot_ns = nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME)
            .map(|t| Duration::from(t).as_nanos() as u64)
            .unwrap_or(0);
        Self {
            boot: SystemTime::now() - Duration::from_nanos(boot_ns),
        }
    }

    fn to_system(self, ts_ns: u64) -> SystemTime {
        self.boot + Duration::from_nanos(ts_ns)
    }
}

/// Key of the `KILL_INODES` map (`struct aibom_kill_key`).
#[repr(C)]
#[derive(Clone, Copy)]
struct KillKey {
    dev: u64,
    ino: u64,
}

// SAFETY: plain old data, no padding (two u64s), as `struct aibom_kill_key`.
unsafe impl aya::Pod for KillKey {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracefs_field_offsets_are_read_exactly() {
        let f = "\tfield:void * req;\toffset:16;\tsize:8;\tsigned:0;\n\tfield:u8 opcode;\toffset:32;\tsize:1;\tsigned:0;\n";
        assert!(has_field(f, "req", 16));
        assert!(has_field(f, "opcode", 32));
        assert!(!has_field(f, "req", 8), "moved");
        assert!(!has_field(f, "ctx", 8), "absent");
        assert!(!has_field(f, "code", 32), "a suffix is no match");
    }

    #[test]
    fn nspid_counts_the_namespaces_proc_numbers_us_in() {
        let status = "Name:\taibomd\nTgid:\t4321\nNSpid:\t4321\t17\t1\nPPid:\t1\n";
        assert_eq!(nspid_levels(status), Some(3));
        assert_eq!(nspid_levels("NSpid:\t9\n"), Some(1));
        // kernels before 4.1 have no NSpid: the namespace of pid 1 then decides
        assert_eq!(nspid_levels("Name:\tx\n"), None);
    }
}

//! Least privilege for `aibomd daemon` and `aibomd run` once tracing is set up (`[sandbox]`).
//!
//! Loading the eBPF programs, attaching them, `fanotify_init`, binding the control socket
//! and starting the command need full root. What runs afterwards needs much less, so
//! after setup [`lock_down`], on every thread:
//! - keeps only the capabilities the running daemon uses ([`keep`] says which and why)
//!   in the effective, permitted and bounding sets (no `execve` regains the others);
//! - sets no-new-privileges;
//! - installs a seccomp filter ([`seccomp`]): an allow-list, and a kill-list of calls
//!   only a hijacked daemon would make (`execve`, `ptrace`, `mount`, modules, `kexec`…).
//!
//! `sandbox.enabled = false` (or `--no-sandbox`) leaves the process as it started, for
//! debugging.
pub mod seccomp;
mod threads;

use anyhow::{Context, Result};
use caps::{CapSet, Capability};
use serde::{Deserialize, Serialize};

/// `[sandbox]` settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    /// Drop capabilities, set no-new-privileges and install the seccomp filter once
    /// tracing is set up. Off only for debugging.
    pub enabled: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// What the running process still does, which decides the capabilities kept.
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    /// The tracer in use (`aibom.tracer`: ebpf, fanotify, procfs).
    pub tracer: &'static str,
    /// AI API calls are traced (uprobes are attached to libraries found later).
    pub api: bool,
    /// Signals go to processes of other users (`kill` rules; `run` passing signals on).
    pub kill: bool,
    /// A file is created at the end where the user asked (`run --bom FILE`).
    pub write_anywhere: bool,
}

/// The capabilities the running process keeps, each with the reason.
pub fn keep(needs: Needs, kernel_has_cap_bpf: bool) -> Vec<(Capability, &'static str)> {
    use aibom_semconv::tracer;
    let mut keep = vec![
        (
            Capability::CAP_SYS_PTRACE,
            "reads /proc/PID/fd, /proc/PID/root, environ and maps of other users' processes",
        ),
        (
            Capability::CAP_DAC_READ_SEARCH,
            "reads the opened artifacts and searches directories of other users",
        ),
    ];
    if needs.tracer == tracer::EBPF {
        if kernel_has_cap_bpf {
            keep.push((
                Capability::CAP_BPF,
                "reads and updates the eBPF maps (counters, followed processes, kill switch)",
            ));
            if needs.api {
                keep.push((
                    Capability::CAP_PERFMON,
                    "attaches uprobes to the TLS library of processes seen later",
                ));
            }
        } else {
            keep.push((
                Capability::CAP_SYS_ADMIN,
                "eBPF maps and uprobes on a kernel older than CAP_BPF (5.8)",
            ));
        }
    }
    if needs.tracer == tracer::FANOTIFY {
        keep.push((
            Capability::CAP_SYS_ADMIN,
            "places fanotify marks on mounts that appear later",
        ));
    }
    if needs.kill {
        keep.push((
            Capability::CAP_KILL,
            "signals processes of other users (kill rules, signals passed on to the command)",
        ));
    }
    if needs.write_anywhere {
        keep.push((
            Capability::CAP_DAC_OVERRIDE,
            "writes the --bom file at the end, in a directory that may not be root's",
        ));
    }
    keep
}

/// What [`lock_down`] left the process with.
#[derive(Debug)]
pub struct Locked {
    /// Capabilities kept.
    pub kept: Vec<Capability>,
}

/// Drops to the capabilities of [`keep`] (those the process has), sets
/// no-new-privileges and installs the seccomp filter, on every thread. `Ok(None)` when
/// the sandbox is disabled.
pub fn lock_down(cfg: &SandboxConfig, needs: Needs) -> Result<Option<Locked>> {
    if !cfg.enabled {
        tracing::warn!(
            "sandbox disabled: aibomd keeps every capability it started with and no seccomp filter"
        );
        return Ok(None);
    }
    lock(needs).context(
        "setting up the sandbox failed (sandbox.enabled = false or --no-sandbox turns it off for debugging)",
    )
    .map(Some)
}

fn lock(needs: Needs) -> Result<Locked> {
    let permitted = caps::read(None, CapSet::Permitted).context("reading capabilities")?;
    let kernel_has_cap_bpf = caps::runtime::thread_all_supported().contains(&Capability::CAP_BPF);
    let kept: Vec<Capability> = keep(needs, kernel_has_cap_bpf)
        .into_iter()
        .map(|k| k.0)
        .filter(|c| permitted.contains(c))
        .collect();
    let mask = kept.iter().fold(0u64, |m, c| m | c.bitmask());
    if !permitted.is_empty() {
        threads::drop_all_threads(mask, permitted.contains(&Capability::CAP_SETPCAP))?;
    }
    seccomp::install()?;
    let left = threads::verify(if permitted.is_empty() { 0 } else { mask })?;
    anyhow::ensure!(
        left.is_empty(),
        "threads {left:?} still hold capabilities they should not"
    );
    let mut names: Vec<String> = kept.iter().map(|c| c.to_string()).collect();
    names.sort();
    tracing::info!(
        capabilities = %names.join(","),
        "sandbox: capabilities dropped, no-new-privileges set, seccomp filter installed"
    );
    Ok(Locked { kept })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps_of(needs: Needs, bpf: bool) -> Vec<Capability> {
        keep(needs, bpf).into_iter().map(|k| k.0).collect()
    }

    #[test]
    fn each_tracer_keeps_only_what_it_uses_afterwards() {
        use aibom_semconv::tracer;
        use Capability::*;
        let n = |tracer, api, kill| Needs {
            tracer,
            api,
            kill,
            write_anywhere: false,
        };
        assert_eq!(
            caps_of(n(tracer::EBPF, true, false), true),
            [CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_BPF, CAP_PERFMON]
        );
        assert_eq!(
            caps_of(n(tracer::EBPF, false, true), true),
            [CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_BPF, CAP_KILL]
        );
        assert_eq!(
            caps_of(n(tracer::EBPF, true, false), false),
            [CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_SYS_ADMIN]
        );
        assert_eq!(
            caps_of(n(tracer::FANOTIFY, true, false), true),
            [CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_SYS_ADMIN]
        );
        assert_eq!(
            caps_of(n(tracer::PROCFS, true, false), true),
            [CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH]
        );
    }
}

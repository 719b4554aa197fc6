//! Accelerator memory per process, sampled through NVIDIA's NVML (`[accelerator]`).
//!
//! NVML (`libnvidia-ml.so.1`) comes with the NVIDIA driver, not with aibomd: it is loaded
//! at run time (`nvml-wrapper`, through `dlopen`) and only when the driver's control node
//! `/dev/nvidiactl` exists, so hosts without an NVIDIA GPU never load it. Every
//! `sample_interval_ms` the compute and graphics processes of each GPU are listed and each
//! process's memory, summed over its GPUs, is sent to the pipeline as
//! [`TraceEvent::AcceleratorMemory`]; the OTLP sink keeps the largest sample of each
//! process span (`aibom.accelerator.memory.max`). NVML reports host pids, so nothing is
//! sampled when aibomd's `/proc` is of a nested pid namespace.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use nvml_wrapper::enums::device::UsedGpuMemory;
use nvml_wrapper::Nvml;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::QueueTx;
use crate::model::TraceEvent;

/// The NVIDIA driver's control node: present on every host with the driver loaded.
const NVIDIA_CONTROL_NODE: &str = "/dev/nvidiactl";

/// When to load NVML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NvmlMode {
    /// Load it when the NVIDIA driver is there (`/dev/nvidiactl`); no error when it is not.
    Auto,
    /// Never load it.
    Off,
    /// Load it and fail at start when it cannot be loaded.
    On,
}

/// `[accelerator]`: sampling the accelerator memory of processes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AcceleratorConfig {
    /// `auto` (when the NVIDIA driver is loaded), `off` or `on` (fail without NVML).
    pub nvml: NvmlMode,
    /// The NVML library to load; empty: the driver's `libnvidia-ml.so.1` from the
    /// library search path.
    pub nvml_library: PathBuf,
    /// Milliseconds between samples (at least 100).
    pub sample_interval_ms: u64,
}

impl Default for AcceleratorConfig {
    fn default() -> Self {
        Self {
            nvml: NvmlMode::Auto,
            nvml_library: PathBuf::new(),
            sample_interval_ms: 5000,
        }
    }
}

/// Loads NVML as `cfg` says and, when it loaded, samples until `stop` on a task of its own
/// that sends into `tx` (and drops it when stopped). `Ok(None)`: not loaded (off, or
/// `auto` without the driver or the library: said in the log).
pub fn spawn(
    cfg: &AcceleratorConfig,
    tx: &QueueTx,
    stop: CancellationToken,
) -> Result<Option<tokio::task::JoinHandle<()>>> {
    let wanted = match cfg.nvml {
        NvmlMode::Off => false,
        NvmlMode::On => true,
        NvmlMode::Auto => Path::new(NVIDIA_CONTROL_NODE).exists(),
    };
    if !wanted {
        tracing::debug!("no NVIDIA driver ({NVIDIA_CONTROL_NODE}): NVML not loaded");
        return Ok(None);
    }
    if !super::ebpf::ProcPidns::proc_is_hosts() {
        // NVML names processes by host pid; here that number is another process's
        tracing::warn!("no accelerator memory samples: aibomd's /proc is not the host's pid namespace, NVML's pids are");
        return Ok(None);
    }
    let nvml = match load(&cfg.nvml_library) {
        Ok(n) => Arc::new(n),
        Err(e) if cfg.nvml == NvmlMode::Auto => {
            tracing::warn!(error = format!("{e:#}"), "no accelerator memory samples");
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let gpus = nvml.device_count().unwrap_or(0);
    let every = Duration::from_millis(cfg.sample_interval_ms.max(100));
    tracing::info!(
        gpus,
        "NVML loaded: sampling accelerator memory every {every:?}"
    );
    let tx = tx.clone();
    Ok(Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            let n = nvml.clone();
            // NVML calls block in the driver: off the async workers
            let Ok(samples) = tokio::task::spawn_blocking(move || sample(&n)).await else {
                break;
            };
            let batch: Vec<TraceEvent> = samples
                .into_iter()
                .map(|(pid, bytes)| TraceEvent::AcceleratorMemory { pid, bytes })
                .collect();
            if !batch.is_empty() && tx.send(batch).await.is_err() {
                break;
            }
        }
    })))
}

/// Loads NVML from `library` (empty: the driver's default) and initializes it.
fn load(library: &Path) -> Result<Nvml> {
    let shown = if library.as_os_str().is_empty() {
        "libnvidia-ml.so.1".into()
    } else {
        library.display().to_string()
    };
    let mut b = Nvml::builder();
    if !library.as_os_str().is_empty() {
        b.lib_path(library.as_os_str());
    }
    b.init()
        .with_context(|| format!("cannot load NVML ({shown}, from the NVIDIA driver)"))
}

/// One sample: each process's memory on each GPU, as NVML lists it.
fn sample(nvml: &Nvml) -> BTreeMap<u32, u64> {
    let mut per_gpu = Vec::new();
    for i in 0..nvml.device_count().unwrap_or(0) {
        let Ok(d) = nvml.device_by_index(i) else {
            continue;
        };
        let listed = d
            .running_compute_processes()
            .unwrap_or_default()
            .into_iter()
            .chain(d.running_graphics_processes().unwrap_or_default());
        per_gpu.push(
            listed
                .map(|p| {
                    let bytes = match p.used_gpu_memory {
                        UsedGpuMemory::Used(b) => Some(b),
                        UsedGpuMemory::Unavailable => None,
                    };
                    (p.pid, bytes)
                })
                .collect(),
        );
    }
    per_process(&per_gpu)
}

/// Memory per pid from the processes each GPU lists: summed over GPUs; a process listed
/// twice on one GPU (compute and graphics) counts once, with the larger figure; processes
/// whose memory the driver does not report are left out.
fn per_process(per_gpu: &[Vec<(u32, Option<u64>)>]) -> BTreeMap<u32, u64> {
    let mut total = BTreeMap::new();
    for gpu in per_gpu {
        let mut on_gpu: BTreeMap<u32, u64> = BTreeMap::new();
        for (pid, bytes) in gpu {
            if let Some(b) = bytes {
                let e = on_gpu.entry(*pid).or_default();
                *e = (*e).max(*b);
            }
        }
        for (pid, b) in on_gpu {
            *total.entry(pid).or_default() += b;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_summed_over_gpus_and_counted_once_per_gpu() {
        let gib = 1u64 << 30;
        let per_gpu = vec![
            // pid 7 as a compute and a graphics process of GPU 0; pid 9 unreported
            vec![(7, Some(2 * gib)), (7, Some(gib)), (9, None)],
            vec![(7, Some(gib)), (8, Some(512))],
        ];
        let m = per_process(&per_gpu);
        assert_eq!(m.get(&7), Some(&(3 * gib)));
        assert_eq!(m.get(&8), Some(&512));
        assert!(!m.contains_key(&9), "unreported memory is not zero");
    }

    #[test]
    fn a_missing_library_is_a_clear_error() {
        // No NVIDIA driver here: loading NVML really fails, as on any host without one.
        let e = load(Path::new("/nonexistent/libnvidia-ml.so.1")).unwrap_err();
        let msg = format!("{e:#}");
        assert!(msg.contains("cannot load NVML"), "{msg}");
        assert!(msg.contains("/nonexistent/libnvidia-ml.so.1"), "{msg}");
    }

    #[tokio::test]
    async fn on_without_nvml_fails_and_auto_without_the_driver_loads_nothing() {
        let (tx, _rx) = super::super::queue(4, 1 << 16, Default::default());
        let on = AcceleratorConfig {
            nvml: NvmlMode::On,
            nvml_library: "/nonexistent/libnvidia-ml.so.1".into(),
            ..Default::default()
        };
        let err = spawn(&on, &tx, CancellationToken::new()).unwrap_err();
        assert!(format!("{err:#}").contains("cannot load NVML"));
        // `auto`: no NVIDIA driver on this machine (or a library that cannot load): no
        // task, no error
        let auto = AcceleratorConfig {
            nvml: NvmlMode::Auto,
            ..on.clone()
        };
        assert!(spawn(&auto, &tx, CancellationToken::new())
            .unwrap()
            .is_none());
        let off = AcceleratorConfig {
            nvml: NvmlMode::Off,
            ..on
        };
        assert!(spawn(&off, &tx, CancellationToken::new())
            .unwrap()
            .is_none());
    }
}

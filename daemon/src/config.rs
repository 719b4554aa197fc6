//! Daemon configuration: defaults, then a TOML file, then `AIBOM_*` environment overrides
//! (`AIBOM_TRACER=procfs`, `AIBOM_EBPF__WAKEUP_BYTES=65536`, `AIBOM_FILTER__ALLOW_SUFFIXES=.gguf,.onnx`).
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::filter::FilterConfig;
use crate::tracer::TracerChoice;

/// Everything `aibomd` can be configured with. Every field has a default.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Tracer backend: `auto` (best that works), `ebpf`, `fanotify` or `procfs`.
    pub tracer: TracerChoice,
    /// Project every access is attributed to when nothing more specific applies.
    pub project: String,
    /// Which paths are reported (pushed into the kernel for the eBPF tracer).
    pub filter: FilterConfig,
    /// eBPF tracer settings.
    pub ebpf: EbpfConfig,
    /// procfs polling tracer settings.
    pub procfs: ProcfsConfig,
    /// Pipeline settings between tracer and sinks.
    pub pipeline: PipelineConfig,
    /// Where events go.
    pub export: ExportConfig,
    /// Who an access is attributed to: process, container, pod, project (`[attribute]`).
    pub attribute: crate::attribute::AttributeConfig,
    /// The control API (scans) of `aibomd daemon`.
    pub control: crate::control::ControlConfig,
    /// Per-project sampling and rate limits between scans (`[projects.<id>]`).
    pub projects: std::collections::HashMap<String, crate::scan::limits::ProjectLimits>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            tracer: TracerChoice::Auto,
            project: "default".into(),
            filter: FilterConfig::default(),
            ebpf: EbpfConfig::default(),
            procfs: ProcfsConfig::default(),
            pipeline: PipelineConfig::default(),
            export: ExportConfig::default(),
            attribute: Default::default(),
            control: Default::default(),
            projects: Default::default(),
        }
    }
}

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
}

impl Default for EbpfConfig {
    fn default() -> Self {
        Self {
            ring_buffer_bytes: 16 << 20,
            wakeup_bytes: 1 << 20,
            drain_interval_ms: 50,
            report_failed_opens: false,
        }
    }
}

/// procfs polling tracer settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ProcfsConfig {
    /// How often `/proc/*/fd` and `/proc/*/maps` are walked (milliseconds).
    pub poll_interval_ms: u64,
}

impl Default for ProcfsConfig {
    fn default() -> Self {
        Self {
            poll_interval_ms: 100,
        }
    }
}

/// Pipeline settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PipelineConfig {
    /// Repeated accesses of one file by one process within this window (milliseconds) are
    /// folded into one event with `aibom.access.count`. 0 disables folding.
    pub dedup_window_ms: u64,
    /// Capacity (in batches) of the queue between tracer and pipeline.
    pub queue_batches: usize,
    /// Threads hashing artifacts (sha256), off the pipeline.
    pub hash_workers: usize,
    /// Files waiting to be hashed at most; beyond it a file is hashed on its next access.
    pub hash_queue: usize,
    /// At shutdown, how long to wait for hashes still running (ms). Accesses are never
    /// held back by hashing; `aibom.artifact.identified` events follow when hashes finish.
    pub hash_wait_ms: u64,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            dedup_window_ms: 1000,
            queue_batches: 1024,
            hash_workers: 2,
            hash_queue: 1024,
            hash_wait_ms: 30_000,
        }
    }
}

/// Where events go. Several sinks can be on at once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ExportConfig {
    /// JSON Lines file, one flat object per event (`-` for stdout).
    pub events_file: Option<PathBuf>,
    /// Human-readable line per event on stderr (daemon mode).
    pub console: bool,
    /// OTLP export to a collector; `OTEL_EXPORTER_OTLP_*` env vars override it.
    pub otlp: crate::export::otel::config::OtlpConfig,
    /// OTLP JSON lines file (logs, traces, metrics requests, as the collector's file
    /// exporter writes them).
    pub otlp_file: Option<PathBuf>,
}

impl Default for ExportConfig {
    fn default() -> Self {
        Self {
            events_file: None,
            console: true,
            otlp: Default::default(),
            otlp_file: None,
        }
    }
}

impl Config {
    /// Loads defaults, then `file` (an error if given and missing), then `AIBOM_*` env.
    pub fn load(file: Option<&Path>) -> Result<Self> {
        let mut b = config::Config::builder();
        if let Some(f) = file {
            b = b.add_source(config::File::from(f).required(true));
        }
        b = b.add_source(
            config::Environment::with_prefix("AIBOM")
                .prefix_separator("_")
                .separator("__")
                .list_separator(",")
                .with_list_parse_key("filter.allow_suffixes")
                .with_list_parse_key("filter.deny_prefixes")
                .with_list_parse_key("filter.keep_prefixes")
                .try_parsing(true),
        );
        let cfg = b
            .build()
            .with_context(|| match file {
                Some(f) => format!("reading config file {}", f.display()),
                None => "reading AIBOM_* environment".into(),
            })?
            .try_deserialize::<Config>()
            .context("invalid configuration")?;
        let mut cfg = cfg;
        cfg.filter.validate()?;
        for (p, l) in &cfg.projects {
            l.validate(p)?;
        }
        cfg.export.otlp.apply_env(|k| std::env::var(k).ok())?;
        Ok(cfg)
    }

    /// The effective configuration as TOML (`aibomd config`).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serializes")
    }
}

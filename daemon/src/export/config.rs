//! `[export]`: which sinks records leave through.
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

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
    /// `aibomd run`: bytes the table printed at the end may hold (files, processes,
    /// paths); records of further files are left out of it and counted.
    pub summary_max_bytes: u64,
    /// `aibomd run --bom`: bytes the document's evidence may hold until it is written;
    /// beyond, records are left out, counted, and the document says it is incomplete.
    pub bom_max_bytes: u64,
}

impl Default for ExportConfig {
    fn default() -> Self {
        Self {
            events_file: None,
            console: true,
            otlp: Default::default(),
            otlp_file: None,
            summary_max_bytes: 64 << 20,
            bom_max_bytes: 64 << 20,
        }
    }
}

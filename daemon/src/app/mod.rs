//! The two modes: `aibomd run` (one command and its descendants) and `aibomd daemon`
//! (the whole host), plus what they share.
pub mod daemon;
pub mod run;

use std::time::Duration;

use anyhow::Result;

use crate::config::Config;
use crate::event::TracerStats;
use crate::export::{console::ConsoleSink, jsonl::JsonlSink, Sink};
use crate::pipeline::{Pipeline, PipelineStats};

/// Builds the configured sinks (plus `extra`) and a pipeline writing to them.
pub fn build_pipeline(cfg: &Config, project: &str, extra: Vec<Box<dyn Sink>>) -> Result<Pipeline> {
    let mut sinks = extra;
    if let Some(f) = &cfg.export.events_file {
        sinks.push(Box::new(JsonlSink::open(f)?));
    }
    if cfg.export.console {
        sinks.push(Box::new(ConsoleSink));
    }
    Ok(Pipeline::new(
        project.to_string(),
        Duration::from_millis(cfg.pipeline.dedup_window_ms),
        sinks,
    ))
}

/// One line of counters for the end of a run or daemon.
pub fn stats_line(tracer: &str, t: &TracerStats, p: &PipelineStats) -> String {
    let filtered = if t.seen > 0 {
        format!(" ({:.1}%)", 100.0 * t.filtered as f64 / t.seen as f64)
    } else {
        String::new()
    };
    format!(
        "aibomd: tracer={tracer} opens_seen={} filtered_in_kernel={}{filtered} failed_opens={} events={} dropped={} folded={} exported={}",
        t.seen, t.filtered, t.failed, p.received, t.dropped, p.folded, p.exported
    )
}

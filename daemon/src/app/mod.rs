//! The two modes: `aibomd run` (one command and its descendants) and `aibomd daemon`
//! (the whole host), plus what they share.
pub mod daemon;
pub mod run;

use anyhow::Result;

use crate::config::Config;
use crate::model::TracerStats;
use std::sync::Arc;

use crate::export::otel::{OtelHandle, OtelSink, Workload};
use crate::export::{console::ConsoleSink, jsonl::JsonlSink, Sink};
use crate::pipeline::Pipeline;
use crate::stats::Stats;

/// A pipeline and what must be shut down after it.
pub struct Built {
    pub pipeline: Pipeline,
    /// OTLP delivery, drained at shutdown.
    pub otel: Option<OtelHandle>,
    /// The rules in force, when a policy is configured (reloaded on SIGHUP).
    pub policy: Option<crate::policy::Shared>,
    pub stats: Arc<Stats>,
}

/// True when some sink other than the console is configured.
pub fn has_non_console_sink(cfg: &Config) -> bool {
    cfg.export.events_file.is_some() || cfg.export.otlp.enabled() || cfg.export.otlp_file.is_some()
}

/// Builds the configured sinks (plus `extra`) and a pipeline writing to them. Needs a
/// tokio runtime (OTLP delivery runs on it).
pub fn build_pipeline(
    cfg: &Config,
    workload: Option<Workload>,
    extra: Vec<Box<dyn Sink>>,
) -> Result<Built> {
    let stats = Arc::new(Stats::default());
    let mut sinks = extra;
    if let Some(f) = &cfg.export.events_file {
        sinks.push(Box::new(JsonlSink::open(f)?));
    }
    let mut otel = None;
    if cfg.export.otlp.enabled() || cfg.export.otlp_file.is_some() {
        let (sink, handle) = OtelSink::start(
            &cfg.export.otlp,
            cfg.export.otlp_file.as_deref(),
            stats.clone(),
            workload,
            &cfg.project,
        )?;
        sinks.push(Box::new(sink));
        otel = Some(handle);
    }
    if cfg.export.console {
        sinks.push(Box::new(ConsoleSink));
    }
    let attributor = crate::attribute::Attributor::new(
        &cfg.attribute,
        &cfg.project,
        cfg.attribute.cli_project.clone(),
    )?;
    let mut pipeline = Pipeline::new(cfg.project.clone(), &cfg.pipeline, sinks, stats.clone())
        .with_caches(&cfg.normalize, &cfg.identify, cfg.filter.matcher())
        .with_limits(&cfg.projects)
        .with_attributor(attributor)
        .with_api(&cfg.api)?;
    let policy = match &cfg.policy.file {
        Some(f) => {
            let set = crate::policy::load(f).map_err(|e| anyhow::anyhow!("invalid policy: {e}"))?;
            tracing::info!(file = %f.display(), rules = set.rules.len(), "policy loaded");
            let shared = crate::policy::Shared::new(set);
            pipeline = pipeline.with_policy(shared.clone());
            Some(shared)
        }
        None => None,
    };
    Ok(Built {
        pipeline,
        otel,
        policy,
        stats,
    })
}

/// One line of counters for the end of a run or daemon.
pub fn stats_line(tracer: &str, t: &TracerStats, s: &Stats) -> String {
    let filtered = if t.seen > 0 {
        format!(" ({:.1}%)", 100.0 * t.filtered as f64 / t.seen as f64)
    } else {
        String::new()
    };
    let g = Stats::get;
    // only when some: a file the filter no longer sees under its new name
    let renamed = match g(&s.renamed_away) {
        0 => String::new(),
        n => format!(" renamed_away={n}"),
    };
    format!(
        "aibomd: tracer={tracer} opens_seen={} filtered_in_kernel={}{filtered} failed_opens={} events={} dropped={} folded={} exported={}{renamed}",
        t.seen, t.filtered, t.failed, g(&s.events_received), t.dropped, g(&s.folded), g(&s.exported)
    )
}

/// Starts enforcing the policy's `deny` rules, when it has any (`follow`: only that
/// process's tree, for `aibomd run`).
pub fn start_enforcer(
    cfg: &Config,
    policy: Option<&crate::policy::Shared>,
    follow: Option<Arc<std::sync::atomic::AtomicU32>>,
    tx: &crate::tracer::QueueTx,
    stats: &Arc<Stats>,
) -> Result<Option<crate::policy::enforce::Enforcer>> {
    let Some(p) = policy else { return Ok(None) };
    let stages = crate::policy::enforce::Stages {
        normalize: &cfg.normalize,
        identify: &cfg.identify,
        attribute: &cfg.attribute,
        project: &cfg.project,
    };
    crate::policy::enforce::Enforcer::start(
        &stages,
        &cfg.policy,
        p.clone(),
        follow,
        tx.clone(),
        stats.clone(),
    )
}

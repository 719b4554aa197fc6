//! `aibomd daemon`: trace the whole host until SIGINT/SIGTERM, then drain and flush.
use anyhow::{Context, Result};
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::control::Control;
use crate::pipeline;
use crate::scan::Scans;
use crate::tracer::{self, Scope};

/// Runs until a termination signal; everything traced before it is exported.
pub async fn daemon(cfg: &Config) -> Result<()> {
    let mut tracer = tracer::open(cfg.tracer, Scope::Host, cfg.tracer_settings())?;
    let name = tracer.name();
    let built = crate::app::build_pipeline(cfg, None, Vec::new())?;
    tracer.attach_stats(built.stats.clone());
    let (scans, requests) = Scans::new(cfg.control.limits());
    let control = Control::start(&cfg.control, scans.clone()).await?;
    let pipe = built
        .pipeline
        .with_kill_switch(tracer.kill_switch())
        .with_scans(scans, requests, cfg.filter.matcher());
    let (tx, rx) = tracer::queue(
        cfg.pipeline.queue_batches,
        cfg.pipeline.queue_bytes,
        built.stats.clone(),
    );
    let enforcer = crate::app::start_enforcer(cfg, built.policy.as_ref(), None, &tx, &built.stats)?;
    let stop = CancellationToken::new();
    let nvml = tracer::nvml::spawn(&cfg.accelerator, &tx, stop.clone())?;
    let tracer_task = tracer.spawn(tx, stop.clone());
    let pipe_task = tokio::spawn(pipeline::run(rx, pipe));
    // everything that needs full root is done: the programs are attached, fanotify is set
    // up, the control socket is bound
    let needs = crate::sandbox::Needs {
        tracer: name,
        api: cfg.api.enabled,
        kill: cfg.policy.file.is_some(),
        write_anywhere: false,
    };
    crate::sandbox::lock_down(&cfg.sandbox, needs)?;
    tracing::info!(tracer = name, project = %cfg.project, "aibomd daemon tracing the host; SIGINT/SIGTERM to stop");
    // Tells scripts and tests that tracing is live.
    // Handlers first: a SIGTERM right after "ready" must drain, not kill.
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    match control.socket() {
        Some(s) => eprintln!("aibomd: ready (tracer={name}, control={})", s.display()),
        None => eprintln!("aibomd: ready (tracer={name})"),
    }

    loop {
        tokio::select! {
            _ = int.recv() => break tracing::info!("SIGINT: draining"),
            _ = term.recv() => break tracing::info!("SIGTERM: draining"),
            _ = hup.recv() => reload_policy(built.policy.as_ref()),
        }
    }
    control.shutdown().await;
    if let Some(e) = enforcer {
        tokio::task::block_in_place(|| e.stop());
    }
    stop.cancel();
    let tstats = tracer_task.await.context("tracer task panicked")??;
    if let Some(n) = nvml {
        // ends at `stop`, giving up its queue sender so the pipeline can drain
        let _ = n.await;
    }
    pipe_task.await.context("pipeline task panicked")??;
    if let Some(otel) = built.otel {
        otel.shutdown().await;
    }
    eprintln!("{}", crate::app::stats_line(name, &tstats, &built.stats));
    Ok(())
}

/// SIGHUP: reads the policy file again; an invalid file leaves the old rules in force.
fn reload_policy(policy: Option<&crate::policy::Shared>) {
    let Some(p) = policy else {
        return eprintln!("aibomd: SIGHUP: no policy configured, nothing to reload");
    };
    match p.reload() {
        Ok(n) => eprintln!("aibomd: policy reloaded ({n} rule(s))"),
        Err(e) => eprintln!("aibomd: policy not reloaded, the previous rules stay in force: {e}"),
    }
}

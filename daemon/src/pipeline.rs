//! Wires the stages: tracer batches → dedup → normalize → sinks.
use std::time::{Duration, Instant};

use anyhow::Result;
use tokio::sync::mpsc;

use crate::dedup::{key_of, Dedup};
use crate::event::{AccessRecord, TraceEvent};
use crate::export::Sink;
use crate::normalize::{self, ProcessTable};
use crate::tracer::Batch;

/// Counters of the userspace pipeline.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PipelineStats {
    /// Access events received from the tracer.
    pub received: u64,
    /// Folded into an earlier record of the same process and file.
    pub folded: u64,
    /// Dropped after normalization as not an artifact (directories, stray READMEs).
    pub irrelevant: u64,
    /// Records handed to the sinks.
    pub exported: u64,
    /// Sink write errors.
    pub sink_errors: u64,
}

/// The userspace pipeline state.
pub struct Pipeline {
    dedup: Dedup,
    dedup_window: Duration,
    /// Exits delivered to sinks only after the dedup window, so a process's records
    /// always reach the sinks before its exit.
    exits: std::collections::VecDeque<(Instant, u32)>,
    shared: std::sync::Arc<crate::stats::Stats>,
    procs: ProcessTable,
    sinks: Vec<Box<dyn Sink>>,
    project: String,
    stats: PipelineStats,
}

impl Pipeline {
    /// A pipeline attributing everything to `project` and writing to `sinks`.
    pub fn new(
        project: String,
        dedup_window: Duration,
        sinks: Vec<Box<dyn Sink>>,
        shared: std::sync::Arc<crate::stats::Stats>,
    ) -> Self {
        Self {
            dedup: Dedup::new(dedup_window),
            dedup_window,
            exits: Default::default(),
            shared,
            procs: ProcessTable::default(),
            sinks,
            project,
            stats: PipelineStats::default(),
        }
    }

    /// Handles one batch from a tracer.
    pub fn handle(&mut self, batch: Batch) {
        let now = Instant::now();
        for ev in batch {
            match ev {
                TraceEvent::Access(raw) => {
                    self.stats.received += 1;
                    crate::stats::Stats::add(&self.shared.events_received, 1);
                    let key = key_of(&raw);
                    if self.dedup.repeat(&key) {
                        self.stats.folded += 1;
                        continue;
                    }
                    let rec = normalize::normalize(&raw, 1, &mut self.procs, &self.project);
                    crate::stats::Stats::add(&self.shared.normalized, 1);
                    if !normalize::is_artifact(&rec) {
                        self.stats.irrelevant += 1;
                        continue;
                    }
                    if let Some(rec) = self.dedup.hold(key, rec, now) {
                        self.export(&rec);
                    }
                }
                TraceEvent::Exec(e) => {
                    self.procs.on_exec(&e);
                    for s in &mut self.sinks {
                        s.process_exec(&e);
                    }
                }
                TraceEvent::Exit { pid } => {
                    self.procs.on_exit(pid);
                    self.exits.push_back((now, pid));
                }
            }
        }
    }

    /// Exports records whose dedup window ended, then exits older than the window.
    pub fn tick(&mut self) {
        let now = Instant::now();
        for rec in self.dedup.expired(now) {
            self.export(&rec);
        }
        while let Some(&(t, pid)) = self.exits.front() {
            if now.duration_since(t) < self.dedup_window {
                break;
            }
            self.exits.pop_front();
            for s in &mut self.sinks {
                s.process_exit(pid);
            }
        }
        self.flush_sinks();
    }

    /// Exports everything held and flushes every sink.
    pub fn finish(&mut self) -> PipelineStats {
        for rec in self.dedup.drain() {
            self.export(&rec);
        }
        for (_, pid) in std::mem::take(&mut self.exits) {
            for s in &mut self.sinks {
                s.process_exit(pid);
            }
        }
        for s in &mut self.sinks {
            if let Err(e) = s.close() {
                self.stats.sink_errors += 1;
                tracing::error!(sink = s.name(), error = %e, "sink close failed");
            }
        }
        self.stats.clone()
    }

    fn export(&mut self, rec: &AccessRecord) {
        self.stats.exported += 1;
        crate::stats::Stats::add(&self.shared.exported, 1);
        for s in &mut self.sinks {
            if let Err(e) = s.emit(rec) {
                self.stats.sink_errors += 1;
                crate::stats::Stats::add(&self.shared.export_failures, 1);
                tracing::error!(sink = s.name(), error = %e, "sink write failed");
            }
        }
    }

    fn flush_sinks(&mut self) {
        for s in &mut self.sinks {
            if let Err(e) = s.flush() {
                self.stats.sink_errors += 1;
                tracing::error!(sink = s.name(), error = %e, "sink flush failed");
            }
        }
    }
}

/// Runs `pipeline` until every tracer sender is dropped, then drains it.
pub async fn run(mut rx: mpsc::Receiver<Batch>, mut pipeline: Pipeline) -> Result<PipelineStats> {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            b = rx.recv() => match b {
                Some(b) => {
                    crate::stats::Stats::set(&pipeline.shared.queue_depth, rx.len() as u64);
                    tokio::task::block_in_place(|| pipeline.handle(b))
                }
                None => break,
            },
            _ = tick.tick() => tokio::task::block_in_place(|| pipeline.tick()),
        }
    }
    Ok(tokio::task::block_in_place(|| pipeline.finish()))
}

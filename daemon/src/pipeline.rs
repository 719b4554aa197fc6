//! Wires the stages: tracer batches → dedup → normalize → sinks.
use std::time::{Duration, Instant};

use anyhow::Result;
use tokio::sync::mpsc;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use crate::attribute::Attributor;
use crate::dedup::{key_of, Dedup};
use crate::export::Sink;
use crate::identify::Identifier;
use crate::model::FileVersion;
use crate::model::{AccessMode, AccessRecord, RawAccess, TraceEvent};
use crate::normalize;
use crate::scan::limits::{Limiter, ProjectLimits, Verdict};
use crate::scan::{ScanRequest, Scans};
use crate::tracer::procfs::Inventory;
use crate::tracer::Batch;
use serde::{Deserialize, Serialize};

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
    identifier: Identifier,
    /// Artifacts whose `identified` event was sent (or is waiting for its hash).
    identified: HashSet<(FileVersion, PathBuf)>,
    /// First access of each artifact whose hash is still running.
    awaiting: HashMap<FileVersion, Vec<AccessRecord>>,
    hash_wait: Duration,
    dedup_window: Duration,
    /// Exits delivered to sinks only after the dedup window, so a process's records
    /// always reach the sinks before its exit.
    exits: std::collections::VecDeque<(Instant, u32)>,
    shared: std::sync::Arc<crate::stats::Stats>,
    /// Who each access is attributed to (process, container, pod, project).
    attributor: Attributor,
    sinks: Vec<Box<dyn Sink>>,
    stats: PipelineStats,
    /// Scans, when the control API is on (`aibomd daemon`).
    scans: Option<ScanState>,
    /// Per-project sampling and rate limits.
    limiter: Limiter,
}

/// What the pipeline keeps for scans.
struct ScanState {
    book: Scans,
    requests: Option<mpsc::UnboundedReceiver<ScanRequest>>,
    inventory: Inventory,
}

impl Pipeline {
    /// A pipeline writing to `sinks`, attributing accesses with the default `[attribute]`
    /// settings and `project` as the default project (see [`Pipeline::with_attributor`]).
    pub fn new(
        project: String,
        cfg: &PipelineConfig,
        sinks: Vec<Box<dyn Sink>>,
        shared: std::sync::Arc<crate::stats::Stats>,
    ) -> Self {
        let dedup_window = Duration::from_millis(cfg.dedup_window_ms);
        Self {
            dedup: Dedup::new(dedup_window),
            identifier: Identifier::new(cfg.hash_workers, cfg.hash_queue),
            identified: HashSet::new(),
            awaiting: HashMap::new(),
            hash_wait: Duration::from_millis(cfg.hash_wait_ms),
            dedup_window,
            exits: Default::default(),
            shared,
            attributor: Attributor::new(&Default::default(), &project, None)
                .expect("the default [attribute] settings are valid"),
            sinks,
            stats: PipelineStats::default(),
            scans: None,
            limiter: Limiter::default(),
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
                    let Some(rec) = self.record_of(&raw) else {
                        continue;
                    };
                    if let Some(rec) = self.dedup.hold(key, rec, now) {
                        self.export(&rec);
                    }
                }
                TraceEvent::Exec(e) => {
                    self.attributor.on_exec(&e);
                    for s in &mut self.sinks {
                        s.process_exec(&e);
                    }
                }
                TraceEvent::Exit { pid } => {
                    self.attributor.on_exit(pid);
                    self.identifier.forget_process(pid);
                    self.exits.push_back((now, pid));
                }
            }
        }
        let st = &self.shared;
        crate::stats::Stats::set(&st.attribute_processes, self.attributor.len() as u64);
        crate::stats::Stats::set(&st.attribute_evictions, self.attributor.evictions());
    }

    /// Attributes accesses with `attributor` (built from the `[attribute]` settings).
    pub fn with_attributor(mut self, attributor: Attributor) -> Self {
        self.attributor = attributor;
        self
    }

    /// Normalizes, attributes and identifies one access; `None` when it is not an artifact.
    fn record_of(&mut self, raw: &RawAccess) -> Option<AccessRecord> {
        let mut rec = normalize::normalize(raw, 1, &mut self.attributor);
        crate::stats::Stats::add(&self.shared.normalized, 1);
        if !normalize::is_artifact(&rec) {
            self.stats.irrelevant += 1;
            return None;
        }
        rec.artifact = Some(self.identifier.identify(&rec));
        Some(rec)
    }

    /// Applies per-project sampling and rate limits to access records outside scans.
    pub fn with_limits(mut self, projects: &HashMap<String, ProjectLimits>) -> Self {
        self.limiter = Limiter::new(projects);
        self
    }

    /// Turns on scans: the pipeline serves `requests` (inventories) and tags records of
    /// running scans; `filter` is the path filter the inventory applies.
    pub fn with_scans(
        mut self,
        scans: Scans,
        requests: mpsc::UnboundedReceiver<ScanRequest>,
        filter: crate::filter::PathFilter,
    ) -> Self {
        self.scans = Some(ScanState {
            book: scans,
            requests: Some(requests),
            inventory: Inventory::new(filter),
        });
        self
    }

    /// Serves one request of the control API.
    pub fn serve(&mut self, req: ScanRequest) {
        match req {
            ScanRequest::Inventory { scan_id } => self.take_inventory(&scan_id),
        }
    }

    /// Announces scan `id` to the sinks and exports what the scan's project already holds.
    fn take_inventory(&mut self, id: &str) {
        let Some(st) = self.scans.as_mut() else {
            return;
        };
        let Some(report) = st.book.get(id) else {
            return;
        };
        let project = report.project.clone();
        for s in &mut self.sinks {
            s.scan_started(&report);
        }
        let me = std::process::id();
        let mut found = Vec::new();
        for pid in Inventory::pids() {
            if pid != me {
                found.extend(st.inventory.process(pid));
            }
        }
        let started = Instant::now();
        let mut n = 0usize;
        for raw in found {
            let Some(mut rec) = self.record_of(&raw) else {
                continue;
            };
            if rec.project() != project {
                continue;
            }
            rec.origin = aibom_semconv::access_origin::INVENTORY;
            rec.scan_id = Some(id.to_string());
            self.export(&rec);
            n += 1;
        }
        if let Some(st) = &self.scans {
            st.book.inventory_done(id);
        }
        tracing::info!(scan = id, %project, records = n, took_ms = started.elapsed().as_millis() as u64, "scan inventory taken");
    }

    /// Ends the scans whose window is over (after the dedup window, so held records are
    /// tagged first).
    fn finish_scans(&mut self, closing: bool) {
        let Some(st) = &self.scans else { return };
        let done = if closing {
            st.book.close()
        } else {
            let grace = self.dedup_window + Duration::from_millis(500);
            st.book.finish_due(std::time::SystemTime::now(), grace)
        };
        crate::stats::Stats::set(&self.shared.scans_active, st.book.running() as u64);
        for r in done {
            tracing::info!(scan = %r.scan_id, state = r.state, records = r.records, "scan ended");
            for s in &mut self.sinks {
                s.scan_ended(&r);
            }
        }
    }

    /// Exports records whose dedup window ended, then exits older than the window.
    pub fn tick(&mut self) {
        let done = self.identifier.finished();
        self.release_identified(done);
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
        self.finish_scans(false);
        self.flush_sinks();
    }

    /// Exports everything held and flushes every sink.
    pub fn finish(&mut self) -> PipelineStats {
        for rec in self.dedup.drain() {
            self.export(&rec);
        }
        if self.identifier.pending_hashes() > 0 {
            tracing::info!(
                files = self.identifier.pending_hashes(),
                "waiting for artifact hashes"
            );
        }
        let done = self.identifier.wait(self.hash_wait);
        self.release_identified(done);
        for (_, recs) in std::mem::take(&mut self.awaiting) {
            for mut rec in recs {
                if let Some(a) = rec.artifact.as_mut() {
                    a.sha256_error = Some(format!(
                        "hashing not finished within {} ms of shutdown",
                        self.hash_wait.as_millis()
                    ));
                }
                self.export_identified(rec);
            }
        }
        self.finish_scans(true);
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

    /// Exports an access record, completing its hash if ready, then the artifact's
    /// `identified` record once per file version and name.
    fn export(&mut self, rec: &AccessRecord) {
        let mut rec = rec.clone();
        if let Some(a) = rec.artifact.as_mut() {
            self.identifier.complete(a);
        }
        self.export_one(&rec);
        let Some(a) = &rec.artifact else { return };
        let Some(v) = a.version else { return };
        if rec.mode == AccessMode::Write || !self.identified.insert((v, rec.absolute_path.clone()))
        {
            return;
        }
        if a.sha256.is_some() || a.sha256_error.is_some() {
            self.export_identified(rec);
        } else {
            self.awaiting.entry(v).or_default().push(rec);
        }
    }

    /// Sends the `identified` records of versions whose hash finished.
    fn release_identified(&mut self, done: Vec<FileVersion>) {
        for v in done {
            for mut rec in self.awaiting.remove(&v).unwrap_or_default() {
                if let Some(a) = rec.artifact.as_mut() {
                    self.identifier.complete(a);
                }
                self.export_identified(rec);
            }
        }
        crate::stats::Stats::set(&self.shared.hash_cache_hits, self.identifier.cache_hits());
        crate::stats::Stats::set(&self.shared.artifacts_known, self.identifier.known() as u64);
    }

    fn export_identified(&mut self, mut rec: AccessRecord) {
        rec.kind = crate::model::RecordKind::Identified;
        self.export_one(&rec);
    }

    /// Sends a record to the sinks: tagged once per running scan it belongs to, else
    /// subject to its project's sampling and rate limit.
    fn export_one(&mut self, rec: &AccessRecord) {
        let access = rec.kind == crate::model::RecordKind::Access;
        if let Some(book) = self.scans.as_ref().map(|s| s.book.clone()) {
            let inventory = rec.origin == aibom_semconv::access_origin::INVENTORY;
            if let Some(id) = &rec.scan_id {
                book.count(id, &rec.file_path, rec.pid(), access, inventory);
                return self.deliver(rec);
            }
            let ids = book.matching(rec.project(), rec.time);
            if !ids.is_empty() {
                for id in ids {
                    book.count(&id, &rec.file_path, rec.pid(), access, inventory);
                    let mut r = rec.clone();
                    r.scan_id = Some(id);
                    self.deliver(&r);
                }
                return;
            }
        }
        if access {
            match self.limiter.check(rec.project(), Instant::now()) {
                Verdict::Keep => {}
                Verdict::SampledOut => {
                    crate::stats::Stats::add(&self.shared.project_sampled_out, 1);
                    return;
                }
                Verdict::RateLimited => {
                    crate::stats::Stats::add(&self.shared.project_rate_limited, 1);
                    return;
                }
            }
        }
        self.deliver(rec)
    }

    fn deliver(&mut self, rec: &AccessRecord) {
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
    let mut requests = pipeline.scans.as_mut().and_then(|s| s.requests.take());
    loop {
        let next_request = async {
            match requests.as_mut() {
                Some(r) => r.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(req) = next_request => tokio::task::block_in_place(|| pipeline.serve(req)),
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

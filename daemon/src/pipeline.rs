//! Wires the stages: tracer batches → dedup → normalize (+ attribute) → identify →
//! policy → announce → route (scans, limits) → fan-out to the sinks. Each stage is its own type
//! with one job; this file only passes records between them and counts into [`Stats`].
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::api::{ApiConfig, ApiStage, Finished};
use crate::attribute::{Attributor, Hints};
use crate::dedup::{key_of, Dedup};
use crate::export::{fanout::Fanout, Sink};
use crate::identify::{announce::Announcer, Identifier, IdentifyConfig};
use crate::model::{AccessRecord, RawAccess, RecordKind, TraceEvent};
use crate::normalize::{NormalizeConfig, Normalizer};
use crate::policy::Policy;
use crate::scan::inventory::Inventories;
use crate::scan::limits::{Limiter, ProjectLimits};
use crate::scan::route::Router;
use crate::scan::{ScanRequest, Scans};
use crate::stats::Stats;
use crate::tracer::Batch;

mod config;
mod run;
pub use config::PipelineConfig;
pub use run::run;

/// The userspace pipeline.
pub struct Pipeline {
    dedup: Dedup,
    normalizer: Normalizer,
    attributor: Attributor,
    identifier: Identifier,
    announcer: Announcer,
    policy: Option<Policy>,
    api: ApiStage,
    router: Router,
    fanout: Fanout,
    inventories: Option<Inventories>,
    stats: Arc<Stats>,
    dedup_window: Duration,
    hash_wait: Duration,
}

impl Pipeline {
    /// A pipeline writing to `sinks` with default stage settings and `project` as the
    /// default project; the `with_*` methods set the rest.
    pub fn new(
        project: String,
        cfg: &PipelineConfig,
        sinks: Vec<Box<dyn Sink>>,
        stats: Arc<Stats>,
    ) -> Self {
        let dedup_window = Duration::from_millis(cfg.dedup_window_ms);
        Self {
            dedup: Dedup::new(dedup_window).with_max_bytes(cfg.dedup_max_bytes),
            normalizer: Normalizer::new(&NormalizeConfig::default()),
            attributor: Attributor::new(&Default::default(), &project, None)
                .expect("the default [attribute] settings are valid")
                .with_env_keys(crate::identify::provider::ENV_KEYS),
            identifier: Identifier::new(
                &IdentifyConfig::default(),
                cfg.hash_workers,
                cfg.hash_queue,
            ),
            announcer: Announcer::default(),
            policy: None,
            api: ApiStage::new(&ApiConfig::default(), dedup_window)
                .expect("the default [api] settings are valid"),
            router: Router::default(),
            fanout: Fanout::new(sinks),
            inventories: None,
            stats,
            dedup_window,
            hash_wait: Duration::from_millis(cfg.hash_wait_ms),
        }
    }

    /// Sizes the normalize and identify caches; `filter`'s denied prefixes are checked
    /// again on resolved paths.
    pub fn with_caches(
        mut self,
        n: &NormalizeConfig,
        i: &IdentifyConfig,
        filter: crate::filter::PathFilter,
    ) -> Self {
        self.normalizer = Normalizer::new(n);
        self.normalizer.set_filter(filter);
        // the hash workers started by `new` are kept
        self.identifier.configure(i);
        self.announcer = Announcer::new(i.announce_bytes);
        self
    }

    /// Attributes accesses with `attributor` (built from the `[attribute]` settings).
    pub fn with_attributor(mut self, attributor: Attributor) -> Self {
        self.attributor = attributor.with_env_keys(crate::identify::provider::ENV_KEYS);
        self
    }

    /// Assembles AI API calls with `cfg` (`[api]`).
    pub fn with_api(mut self, cfg: &ApiConfig) -> anyhow::Result<Self> {
        self.api = ApiStage::new(cfg, self.dedup_window)?;
        Ok(self)
    }

    /// Judges records by the rules in `rules` (reloaded in place on SIGHUP).
    pub fn with_policy(mut self, rules: crate::policy::Shared) -> Self {
        self.policy = Some(Policy::new(rules));
        self
    }

    /// `kill` rules also arm the tracer's in-kernel kill switch (eBPF).
    pub fn with_kill_switch(mut self, switch: Option<crate::policy::KillSwitch>) -> Self {
        self.policy = self.policy.map(|p| p.with_kill_switch(switch));
        self
    }

    /// Applies per-project sampling and rate limits to access records outside scans.
    pub fn with_limits(mut self, projects: &HashMap<String, ProjectLimits>) -> Self {
        self.router.limiter = Limiter::new(projects);
        self
    }

    /// Turns on scans: records of running scans are tagged, and `requests` (inventories
    /// read through `filter`) are served.
    pub fn with_scans(
        mut self,
        scans: Scans,
        requests: mpsc::UnboundedReceiver<ScanRequest>,
        filter: crate::filter::PathFilter,
    ) -> Self {
        self.router.book = Some(scans);
        self.inventories = Some(Inventories::new(requests, filter));
        self
    }

    /// The control API's requests, for [`run`] to wait on (taken once).
    fn take_requests(&mut self) -> Option<mpsc::UnboundedReceiver<ScanRequest>> {
        self.inventories.as_mut().and_then(|s| s.requests.take())
    }

    /// Handles one batch from a tracer.
    pub fn handle(&mut self, batch: Batch) {
        let now = Instant::now();
        for ev in batch {
            match ev {
                TraceEvent::Access(raw) => self.access(raw, now),
                TraceEvent::Refused(raw) => {
                    // never folded: each refusal is reported as it happened
                    if let Some(mut rec) = self.record_of(&raw) {
                        rec.refused = true;
                        self.judge(&rec);
                        self.export(rec);
                    }
                }
                TraceEvent::Exec(e) => {
                    self.attributor.on_exec(&e);
                    self.fanout.exec(&e);
                }
                TraceEvent::Api(ev) => {
                    tracing::trace!(?ev, "api event");
                    let attributor = &mut self.attributor;
                    let mut attr = |w: &crate::api::Who| {
                        attributor.lookup(
                            w.pid,
                            Hints {
                                comm: w.comm.as_deref(),
                                uid: w.uid,
                                ppid: w.ppid,
                                cgroup_id: w.cgroup_id,
                            },
                        )
                    };
                    let done = self.api.on_event(ev, now, &mut attr);
                    self.api_calls(done);
                }
                TraceEvent::AcceleratorMemory { pid, bytes } => {
                    self.fanout.accelerator_memory(pid, bytes);
                }
                TraceEvent::Exit { pid } => {
                    self.api.exit(pid, now);
                    self.attributor.on_exit(pid);
                    self.dedup.exit(pid, now);
                }
            }
        }
        self.gauges();
    }

    fn access(&mut self, raw: RawAccess, now: Instant) {
        Stats::add(&self.stats.events_received, 1);
        let key = self.dedup.enabled().then(|| key_of(&raw));
        if key.as_ref().is_some_and(|k| self.dedup.repeat(k)) {
            return Stats::add(&self.stats.folded, 1);
        }
        let Some(rec) = self.record_of(&raw) else {
            return;
        };
        self.judge(&rec);
        let rec = match key {
            Some(k) => self.dedup.hold(k, rec, now),
            None => Some(rec),
        };
        if let Some(rec) = rec {
            self.export(rec);
        }
    }

    /// Attributes, judges and sends completed API calls.
    fn api_calls(&mut self, done: Vec<Finished>) {
        for f in done {
            self.stats
                .api_call(f.call.provider, f.call.seen_by, f.call.count);
            let rec = AccessRecord::api_call(f.call, f.time, f.process, f.who.tracer);
            self.judge(&rec);
            self.send(rec);
        }
    }

    /// Normalizes, attributes and identifies one access; `None` when it is not an artifact.
    fn record_of(&mut self, raw: &RawAccess) -> Option<AccessRecord> {
        Stats::add(&self.stats.normalized, 1);
        let Some(mut rec) = self.normalizer.normalize(raw, 1, &mut self.attributor) else {
            Stats::add(&self.stats.irrelevant, 1);
            return None;
        };
        rec.artifact = Some(self.identifier.identify(&rec));
        Some(rec)
    }

    /// Serves one request of the control API: announces the scan and exports what its
    /// project's processes already hold.
    pub fn serve(&mut self, req: ScanRequest) {
        let ScanRequest::Inventory { scan_id: id } = req;
        let (Some(inv), Some(book)) = (self.inventories.as_mut(), self.router.book.clone()) else {
            return;
        };
        let Some(report) = book.get(&id) else { return };
        self.fanout.scan_started(&report);
        let started = Instant::now();
        let mut n = 0usize;
        for raw in inv.take() {
            let Some(mut rec) = self
                .record_of(&raw)
                .filter(|r| r.project() == report.project)
            else {
                continue;
            };
            rec.origin = aibom_semconv::access_origin::INVENTORY;
            rec.scan_id = Some(id.clone());
            self.judge(&rec);
            self.export(rec);
            n += 1;
        }
        book.inventory_done(&id);
        tracing::info!(scan = id, project = %report.project, records = n, took_ms = started.elapsed().as_millis() as u64, "scan inventory taken");
    }

    /// Exports records whose dedup window ended, finished hashes' `identified` records,
    /// exits older than the window and ended scans; flushes the sinks.
    pub fn tick(&mut self) {
        let done = self.identifier.finished();
        for rec in self.announcer.release(done) {
            self.send_identified(rec);
        }
        let now = Instant::now();
        for rec in self.dedup.expired(now) {
            self.export(rec);
        }
        let done = self.api.tick(now);
        self.api_calls(done);
        for pid in self.dedup.exits(now, false) {
            self.fanout.exit(pid);
        }
        self.finish_scans(false);
        self.fanout.flush(false, &self.stats);
        self.gauges();
    }

    /// Exports everything held (waiting up to `hash_wait_ms` for hashes) and closes the
    /// sinks.
    pub fn finish(&mut self) {
        for rec in self.dedup.drain() {
            self.export(rec);
        }
        let done = self.api.finish();
        self.api_calls(done);
        for rec in self
            .announcer
            .shutdown(&mut self.identifier, self.hash_wait)
        {
            self.send(rec);
        }
        self.finish_scans(true);
        for pid in self.dedup.exits(Instant::now(), true) {
            self.fanout.exit(pid);
        }
        // the last metrics export carries what the shutdown's hashes and scans counted
        self.gauges();
        self.fanout.flush(true, &self.stats);
        self.gauges();
    }

    /// Ends the scans whose window is over, or all of them when `closing`.
    fn finish_scans(&mut self, closing: bool) {
        for r in self
            .router
            .finish_scans(closing, self.dedup_window, &self.stats)
        {
            self.fanout.scan_ended(&r);
        }
    }

    /// An access record leaves: its hash completed if ready, then its artifact's
    /// `identified` record if this is the first read of that version and name.
    fn export(&mut self, mut rec: AccessRecord) {
        if let Some(a) = rec.artifact.as_mut() {
            self.identifier.complete(a);
        }
        let identified = self.announcer.on_access(&rec);
        self.send(rec);
        if let Some(r) = identified {
            self.send(r);
        }
    }

    /// A parked `identified` record whose hash finished: completed, then sent.
    fn send_identified(&mut self, mut rec: AccessRecord) {
        if let Some(a) = rec.artifact.as_mut() {
            self.identifier.complete(a);
        }
        self.send(rec);
    }

    /// Sends the violation records of `rec`, at once (before `rec` itself, which may
    /// be held for folding).
    fn judge(&mut self, rec: &AccessRecord) {
        let Some(p) = self.policy.as_mut() else {
            return;
        };
        for v in p.judge(rec, &self.stats) {
            self.send(v);
        }
    }

    fn send(&mut self, rec: AccessRecord) {
        // artifacts stored inside the file (chat templates): their own `identified`
        // records, beside the file's
        let inner: Vec<AccessRecord> = match (&rec.artifact, rec.kind) {
            (Some(a), RecordKind::Identified) => a
                .inner
                .iter()
                .map(|i| AccessRecord {
                    artifact: Some(i.clone()),
                    ..rec.clone()
                })
                .collect(),
            _ => Vec::new(),
        };
        if rec.kind == RecordKind::Identified {
            self.judge(&rec); // rules on the hash are decided here
        }
        let (fanout, stats) = (&mut self.fanout, &*self.stats);
        self.router.route(rec, stats, |r| fanout.emit(r, stats));
        for r in inner {
            self.send(r);
        }
    }

    fn gauges(&self) {
        let st = &self.stats;
        Stats::set(&st.attribute_processes, self.attributor.len() as u64);
        Stats::set(&st.attribute_evictions, self.attributor.evictions());
        Stats::set(&st.hash_cache_hits, self.identifier.cache_hits());
        Stats::set(&st.hash_skipped, self.identifier.hash_skipped());
        Stats::set(&st.artifacts_known, self.identifier.known() as u64);
        Stats::set(&st.identify_evictions, self.identifier.evictions());
        Stats::set(&st.normalize_evictions, self.normalizer.cache_stats().2);
        let (timeouts, refused) = self.identifier.io_stalls();
        Stats::set(&st.identify_io_stalls, timeouts + refused);
        Stats::set(&st.unsafe_scan_stopped, self.identifier.scans_stopped());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Result;
    use std::sync::Mutex;

    /// Keeps every record it is given.
    struct Keep(Arc<Mutex<Vec<AccessRecord>>>);

    impl Sink for Keep {
        fn name(&self) -> &'static str {
            "keep"
        }
        fn emit(&mut self, rec: &AccessRecord) -> Result<()> {
            self.0.lock().unwrap().push(rec.clone());
            Ok(())
        }
        fn flush(&mut self) -> Result<()> {
            Ok(())
        }
    }

    fn raw(path: &std::path::Path) -> RawAccess {
        use std::os::unix::ffi::OsStrExt;
        RawAccess::read_by_us(path.as_os_str().as_bytes())
    }

    /// A short-lived process: its access is still held for folding when the pipeline
    /// finishes, and its hash finishes during shutdown. The `identified` record must
    /// carry the hash all the same.
    #[test]
    fn identified_record_carries_the_hash_that_finished_at_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("m.safetensors");
        std::fs::write(&f, b"weights").unwrap();
        let kept = Arc::new(Mutex::new(Vec::new()));
        let mut p = Pipeline::new(
            "test".into(),
            &PipelineConfig::default(),
            vec![Box::new(Keep(kept.clone()))],
            Arc::new(Stats::default()),
        );
        p.handle(vec![
            TraceEvent::Access(raw(&f)),
            TraceEvent::Access(raw(&f)),
        ]);
        p.finish();
        let kept = kept.lock().unwrap();
        let kinds: Vec<_> = kept.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [
                crate::model::RecordKind::Access,
                crate::model::RecordKind::Identified
            ]
        );
        assert_eq!(kept[0].count, 2, "the repeat was folded");
        let a = kept[1].artifact.as_ref().unwrap();
        let want = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(b"weights"))
        };
        assert_eq!(a.sha256.as_deref(), Some(want.as_str()));
    }
}

//! Counters about aibomd itself, shared by every stage and exported as OTel metrics.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use crate::model::Action;

/// Live counters (monotonic unless noted).
#[derive(Debug, Default)]
pub struct Stats {
    /// Opens of traced processes the kernel (or tracer) looked at.
    pub kernel_seen: AtomicU64,
    /// Dropped by the in-kernel (or userspace twin) path filter.
    pub kernel_filtered: AtomicU64,
    /// Lost because the ring buffer was full.
    pub kernel_dropped: AtomicU64,
    /// Renames and links that gave a kept file a name the filter does not keep (opens
    /// under that name are not seen).
    pub renamed_away: AtomicU64,
    /// Access events received by the pipeline.
    pub events_received: AtomicU64,
    /// Access events normalized (first access of a file by a process).
    pub normalized: AtomicU64,
    /// Records handed to the sinks.
    pub exported: AtomicU64,
    /// Failed sink writes and failed OTLP send attempts.
    pub export_failures: AtomicU64,
    /// Items dropped from the full spool, or rejected by the collector for good.
    pub export_dropped: AtomicU64,
    /// Batches waiting between tracer and pipeline (gauge).
    pub queue_depth: AtomicU64,
    /// OTLP requests waiting in the spool (gauge).
    pub spool_requests: AtomicU64,
    /// Spooled requests that failed their checks when read back (truncated, corrupt).
    pub spool_quarantined: AtomicU64,
    /// Items the collector refused in a partial success.
    pub export_rejected: AtomicU64,
    /// Sends refused for authentication or authorization (401/403, gRPC
    /// UNAUTHENTICATED/PERMISSION_DENIED); the data stays spooled.
    pub export_auth_failures: AtomicU64,
    /// Hash lookups answered from the cache.
    pub hash_cache_hits: AtomicU64,
    /// Files not hashed because they are over `identify.hash_max_bytes`.
    pub hash_skipped: AtomicU64,
    /// Distinct artifact versions identified (gauge).
    pub artifacts_known: AtomicU64,
    /// Processes in the attribution cache (gauge).
    pub attribute_processes: AtomicU64,
    /// Processes evicted from the full attribution cache before they exited.
    pub attribute_evictions: AtomicU64,
    /// Records not exported because of a project's sampling rate.
    pub project_sampled_out: AtomicU64,
    /// Records not exported because a project exceeded its rate limit.
    pub project_rate_limited: AtomicU64,
    /// Scans running (gauge).
    pub scans_active: AtomicU64,
    /// Accesses folded into an earlier record (dedup window).
    pub folded: AtomicU64,
    /// Accesses that passed the path filter but are no artifact.
    pub irrelevant: AtomicU64,
    /// Bytes of events waiting between tracer and pipeline (gauge).
    pub queue_bytes: AtomicU64,
    /// Resolved files evicted from the full normalize cache.
    pub normalize_evictions: AtomicU64,
    /// Artifact versions evicted from the full identify cache.
    pub identify_evictions: AtomicU64,
    /// Policy violations reported, all rules.
    pub policy_violations: AtomicU64,
    /// ... per (rule, action).
    pub violations_by_rule: Mutex<BTreeMap<(Arc<str>, Action), u64>>,
    /// Permission events answered with the default because no verdict came in time.
    pub policy_timeouts: AtomicU64,
    /// AI API calls seen, all providers.
    pub api_calls: AtomicU64,
    /// ... per (provider, seen by).
    pub api_calls_by: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    /// OpenSSL libraries with uprobes attached (gauge).
    pub api_tls_libraries: AtomicU64,
    /// API events lost in the kernel, and request bodies longer than the scan limit.
    pub api_dropped: AtomicU64,
    /// Artifact reads that timed out or were refused while the I/O pool was stuck.
    pub identify_io_stalls: AtomicU64,
    /// Pickle-based files whose scan for dangerous imports stopped early.
    pub unsafe_scan_stopped: AtomicU64,
}

impl Stats {
    /// Adds `n` to a counter.
    pub fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Relaxed);
    }

    /// Sets a gauge (or a counter mirrored from the kernel).
    pub fn set(c: &AtomicU64, n: u64) {
        c.store(n, Relaxed);
    }

    /// Reads a counter.
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Relaxed)
    }

    /// Counts one violation of `rule`.
    pub fn violation(&self, rule: &Arc<str>, action: Action) {
        Self::add(&self.policy_violations, 1);
        *self
            .violations_by_rule
            .lock()
            .expect("stats lock")
            .entry((rule.clone(), action))
            .or_default() += 1;
    }

    /// Violations so far per (rule, action).
    pub fn violations(&self) -> Vec<(Arc<str>, Action, u64)> {
        let m = self.violations_by_rule.lock().expect("stats lock");
        m.iter().map(|((r, a), n)| (r.clone(), *a, *n)).collect()
    }

    /// Counts `n` API calls of `provider` seen by `seen_by`.
    pub fn api_call(&self, provider: &'static str, seen_by: &'static str, n: u64) {
        Self::add(&self.api_calls, n);
        *self
            .api_calls_by
            .lock()
            .expect("stats lock")
            .entry((provider, seen_by))
            .or_default() += n;
    }

    /// API calls so far per (provider, seen by).
    pub fn api_calls(&self) -> Vec<(&'static str, &'static str, u64)> {
        let m = self.api_calls_by.lock().expect("stats lock");
        m.iter().map(|((p, s), n)| (*p, *s, *n)).collect()
    }

    /// The counter behind the semconv metric `name` (`aibom_semconv::metric::*`).
    pub fn metric(&self, name: &str) -> Option<&AtomicU64> {
        use aibom_semconv::metric as m;
        Some(match name {
            m::EVENTS_SEEN => &self.kernel_seen,
            m::EVENTS_FILTERED => &self.kernel_filtered,
            m::EVENTS_DROPPED => &self.kernel_dropped,
            m::RENAMED_AWAY => &self.renamed_away,
            m::EVENTS_RECEIVED => &self.events_received,
            m::EVENTS_NORMALIZED => &self.normalized,
            m::RECORDS_EXPORTED => &self.exported,
            m::EXPORT_FAILURES => &self.export_failures,
            m::EXPORT_DROPPED => &self.export_dropped,
            m::QUEUE_DEPTH => &self.queue_depth,
            m::SPOOL_REQUESTS => &self.spool_requests,
            m::SPOOL_QUARANTINED => &self.spool_quarantined,
            m::EXPORT_REJECTED => &self.export_rejected,
            m::EXPORT_AUTH_FAILURES => &self.export_auth_failures,
            m::HASH_CACHE_HITS => &self.hash_cache_hits,
            m::HASH_SKIPPED => &self.hash_skipped,
            m::ARTIFACTS_KNOWN => &self.artifacts_known,
            m::ATTRIBUTE_PROCESSES => &self.attribute_processes,
            m::ATTRIBUTE_EVICTIONS => &self.attribute_evictions,
            m::PROJECT_SAMPLED_OUT => &self.project_sampled_out,
            m::PROJECT_RATE_LIMITED => &self.project_rate_limited,
            m::SCANS_ACTIVE => &self.scans_active,
            m::EVENTS_FOLDED => &self.folded,
            m::EVENTS_IRRELEVANT => &self.irrelevant,
            m::QUEUE_BYTES => &self.queue_bytes,
            m::NORMALIZE_EVICTIONS => &self.normalize_evictions,
            m::IDENTIFY_EVICTIONS => &self.identify_evictions,
            m::POLICY_VIOLATIONS => &self.policy_violations,
            m::POLICY_DECISIONS_TIMEOUT => &self.policy_timeouts,
            m::API_CALLS => &self.api_calls,
            m::API_TLS_LIBRARIES => &self.api_tls_libraries,
            m::API_DROPPED => &self.api_dropped,
            m::IDENTIFY_IO_STALLS => &self.identify_io_stalls,
            m::IDENTIFY_UNSAFE_SCAN_STOPPED => &self.unsafe_scan_stopped,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_semconv_metric_has_a_counter() {
        let s = Stats::default();
        for m in aibom_semconv::METRICS {
            assert!(s.metric(m).is_some(), "{m} has no counter in Stats");
        }
    }
}

//! Counters about aibomd itself, shared by every stage and exported as OTel metrics.
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Live counters (monotonic unless noted).
#[derive(Debug, Default)]
pub struct Stats {
    /// Opens of traced processes the kernel (or tracer) looked at.
    pub kernel_seen: AtomicU64,
    /// Dropped by the in-kernel (or userspace twin) path filter.
    pub kernel_filtered: AtomicU64,
    /// Lost because the ring buffer was full.
    pub kernel_dropped: AtomicU64,
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
    /// Hash lookups answered from the cache.
    pub hash_cache_hits: AtomicU64,
    /// Distinct artifact versions identified (gauge).
    pub artifacts_known: AtomicU64,
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
}

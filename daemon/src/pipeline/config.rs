//! `[pipeline]`: the dedup window, the tracer→pipeline queue and the hash pool.
use serde::{Deserialize, Serialize};

/// Pipeline settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PipelineConfig {
    /// Repeated accesses of one file by one process within this window (milliseconds) are
    /// folded into one event with `aibom.access.count`. 0 disables folding.
    pub dedup_window_ms: u64,
    /// Bytes of records held for folding at most (paths included); beyond it the oldest
    /// record leaves before its window ends (exported, never dropped: it only folds fewer
    /// repeats).
    pub dedup_max_bytes: usize,
    /// Capacity (in batches) of the queue between tracer and pipeline.
    pub queue_batches: usize,
    /// Bytes of events the queue between tracer and pipeline holds at most. When it is
    /// full the tracer waits; the kernel's ring buffer then fills and drops what does not
    /// fit, counted in `aibom.tracer.events.dropped` (memory never grows past it).
    pub queue_bytes: usize,
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
            dedup_max_bytes: crate::dedup::DEFAULT_MAX_BYTES,
            queue_batches: 1024,
            queue_bytes: 8 << 20,
            hash_workers: 2,
            hash_queue: 1024,
            hash_wait_ms: 30_000,
        }
    }
}

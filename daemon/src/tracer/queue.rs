//! The queue between the tracers and the pipeline, bounded in batches and in bytes.
//!
//! A tracer waits when either bound is reached. For the eBPF tracer that leaves events in
//! the kernel's ring buffer, which drops (and counts, `aibom.tracer.events.dropped`) what
//! does not fit: under overload aibomd sheds in one counted place and its memory never
//! grows past the two bounds.
use std::sync::Arc;

use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use super::Batch;
use crate::model::TraceEvent;
use crate::stats::Stats;

/// The sending side, one per tracer (and one for the policy enforcer).
#[derive(Clone)]
pub struct QueueTx {
    tx: mpsc::Sender<Queued>,
    bytes: Arc<Semaphore>,
    cap: u32,
}

/// The pipeline's side.
pub struct QueueRx {
    rx: mpsc::Receiver<Queued>,
    bytes: Arc<Semaphore>,
    cap: u32,
    stats: Arc<Stats>,
}

/// A batch and the bytes it holds of the queue (given back when dropped).
pub struct Queued {
    pub events: Batch,
    pub permit: OwnedSemaphorePermit,
}

/// The queue was closed (the pipeline is gone).
#[derive(Debug)]
pub struct Closed;

/// A queue of at most `batches` batches and `bytes` bytes of events.
pub fn queue(batches: usize, bytes: usize, stats: Arc<Stats>) -> (QueueTx, QueueRx) {
    let (tx, rx) = mpsc::channel(batches.max(1));
    let cap = bytes.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize)) as u32;
    let sem = Arc::new(Semaphore::new(cap as usize));
    (
        QueueTx {
            tx,
            bytes: sem.clone(),
            cap,
        },
        QueueRx {
            rx,
            bytes: sem,
            cap,
            stats,
        },
    )
}

/// What an event holds in memory, roughly: the struct and its heap bytes.
pub fn event_bytes(e: &TraceEvent) -> usize {
    std::mem::size_of::<TraceEvent>()
        + match e {
            TraceEvent::Access(a) | TraceEvent::Refused(a) => {
                a.path.len()
                    + a.kernel_path.as_ref().map_or(0, Vec::len)
                    + a.comm.as_ref().map_or(0, String::len)
            }
            TraceEvent::Exec(x) => {
                x.path.as_os_str().len() + x.comm.as_ref().map_or(0, String::len)
            }
            TraceEvent::Api(a) => {
                // strings are bounded in the kernel (128 bytes each)
                a.comm.as_ref().map_or(0, String::len)
                    + match &a.kind {
                        crate::model::ApiEventKind::Sni { host, .. } => host.len(),
                        crate::model::ApiEventKind::Request { method, path } => {
                            method.len() + path.len()
                        }
                        crate::model::ApiEventKind::Field(_, crate::model::ApiField::Model(m)) => {
                            m.len()
                        }
                        _ => 0,
                    }
            }
            TraceEvent::Exit { .. } | TraceEvent::AcceleratorMemory { .. } => 0,
        }
}

impl QueueTx {
    /// True once the pipeline is gone.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// The bytes a tracer gathers into one batch at most (an eighth of the queue), so a
    /// batch being filled adds little to what the queue bounds.
    pub fn batch_bytes(&self) -> usize {
        (self.cap as usize / 8).max(1)
    }

    /// Queues `events`, waiting while the queue is full. A batch larger than the whole
    /// byte bound waits for an empty queue.
    pub async fn send(&self, events: Batch) -> Result<(), Closed> {
        let n = events
            .iter()
            .map(event_bytes)
            .sum::<usize>()
            .clamp(1, self.cap as usize) as u32;
        let permit = self
            .bytes
            .clone()
            .acquire_many_owned(n)
            .await
            .map_err(|_| Closed)?;
        self.tx
            .send(Queued { events, permit })
            .await
            .map_err(|_| Closed)
    }
}

impl QueueRx {
    /// The next batch; `None` once every sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<Queued> {
        let q = self.rx.recv().await;
        Stats::set(&self.stats.queue_depth, self.rx.len() as u64);
        Stats::set(
            &self.stats.queue_bytes,
            u64::from(self.cap) - self.bytes.available_permits() as u64,
        );
        q
    }
}

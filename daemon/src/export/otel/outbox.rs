//! The outbox: where sealed OTLP requests go. Each is written to the OTLP JSON file (when
//! configured) and to the spool (when an endpoint is configured); the delivery task
//! ([`super::delivery`]) moves the spool to the collector.
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::sync::Notify;

use super::request::Request;
use super::spool::Spool;
use crate::stats::Stats;

/// Shared between the OTel processors (producers) and the delivery task (consumer).
pub struct Outbox {
    spool: Option<Mutex<Spool>>,
    file: Option<Mutex<BufWriter<File>>>,
    wake: Notify,
    stats: Arc<Stats>,
}

impl Outbox {
    /// An outbox writing to `spool` and/or `file`.
    pub fn new(spool: Option<Spool>, file: Option<&Path>, stats: Arc<Stats>) -> Result<Self> {
        let file = file
            .map(|p| {
                File::create(p)
                    .with_context(|| format!("creating OTLP file {}", p.display()))
                    .map(|f| Mutex::new(BufWriter::new(f)))
            })
            .transpose()?;
        if let Some(s) = &spool {
            Stats::set(&stats.spool_requests, s.len() as u64);
            // what an earlier run lost in a crash, found when the spool was opened
            Stats::add(&stats.export_dropped, s.dropped_items);
            Stats::add(&stats.spool_quarantined, s.quarantined);
        }
        Ok(Self {
            spool: spool.map(Mutex::new),
            file,
            wake: Notify::new(),
            stats,
        })
    }

    /// Takes a sealed request. Never blocks on the network.
    pub fn submit(&self, req: Request) {
        if let Some(f) = &self.file {
            let mut f = f.lock().expect("otlp file lock");
            if let Err(e) = writeln!(f, "{}", req.to_json()).and_then(|_| f.flush()) {
                Stats::add(&self.stats.export_failures, 1);
                tracing::error!(error = %e, "writing the OTLP file failed");
            }
        }
        if let Some(s) = &self.spool {
            let mut s = s.lock().expect("spool lock");
            let before = s.dropped_items;
            if let Err(e) = s.push(&req) {
                Stats::add(&self.stats.export_failures, 1);
                tracing::error!(error = %e, "writing the OTLP spool failed; request lost");
                Stats::add(&self.stats.export_dropped, req.items());
            }
            Stats::add(&self.stats.export_dropped, s.dropped_items - before);
            Stats::set(&self.stats.spool_requests, s.len() as u64);
            drop(s);
            self.wake.notify_one();
        }
    }

    /// Requests not yet accepted by the collector.
    pub fn pending(&self) -> usize {
        self.spool
            .as_ref()
            .map_or(0, |s| s.lock().expect("spool lock").len())
    }

    /// Waits until the collector took everything or `timeout` passed; returns what is left.
    pub async fn drain(&self, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let left = self.pending();
            if left == 0 || Instant::now() >= deadline {
                if left > 0 {
                    let dir = self
                        .spool
                        .as_ref()
                        .map(|s| s.lock().expect("spool lock").dir().display().to_string());
                    tracing::warn!(requests = left, dir = ?dir, "collector did not take everything before shutdown; kept on disk for the next start");
                }
                return left;
            }
            self.wake.notify_one();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The spool, when an endpoint is configured.
    pub(super) fn spool(&self) -> Option<&Mutex<Spool>> {
        self.spool.as_ref()
    }

    /// The counters.
    pub(super) fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// Completes when a request was submitted (or `drain` polls) since the last call.
    pub(super) fn woken(&self) -> tokio::sync::futures::Notified<'_> {
        self.wake.notified()
    }
}

//! The outbox: where sealed OTLP requests go. Each is written to the OTLP JSON file (when
//! configured) and to the spool (when an endpoint is configured); a delivery task moves
//! the spool to the collector in order, retrying with backoff while it is down or slow.
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::request::Request;
use super::spool::Spool;
use super::transport::Transport;
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

    /// Moves the spool to the collector until `stop` is cancelled.
    pub async fn deliver(self: Arc<Self>, transport: Transport, stop: CancellationToken) {
        let Some(spool) = &self.spool else { return };
        let mut backoff = Duration::from_millis(100);
        let mut outage_logged = false;
        loop {
            // Consecutive requests of one signal go out as one (fewer round trips after
            // an outage or behind a slow collector); order is kept.
            let run = spool.lock().expect("spool lock").front_run(64, 4 << 20);
            if run.is_empty() {
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = stop.cancelled() => return,
                }
                continue;
            }
            let mut merged: Option<Request> = None;
            let mut items = 0;
            for e in &run {
                match Spool::read(e) {
                    Ok(r) => {
                        items += e.items;
                        match merged.as_mut() {
                            Some(m) => {
                                m.merge(r);
                            }
                            None => merged = Some(r),
                        }
                    }
                    Err(err) => {
                        tracing::error!(error = %err, file = %e.path.display(), "unreadable spool entry dropped");
                        Stats::add(&self.stats.export_dropped, e.items);
                    }
                }
            }
            let seqs: Vec<u64> = run.iter().map(|e| e.seq).collect();
            let Some(req) = merged else {
                let mut s = spool.lock().expect("spool lock");
                seqs.iter().for_each(|q| s.remove(*q));
                continue;
            };
            let res = tokio::select! {
                r = transport.send(req) => r,
                _ = stop.cancelled() => return,
            };
            match res {
                Ok(()) => {
                    if outage_logged {
                        tracing::warn!("collector is back; replaying the spool");
                        outage_logged = false;
                    }
                    backoff = Duration::from_millis(100);
                    let mut s = spool.lock().expect("spool lock");
                    seqs.iter().for_each(|q| s.remove(*q));
                    Stats::set(&self.stats.spool_requests, s.len() as u64);
                }
                Err(e) if e.retryable => {
                    Stats::add(&self.stats.export_failures, 1);
                    if !outage_logged {
                        tracing::warn!(error = %e.message, "collector unavailable; spooling to disk and retrying");
                        outage_logged = true;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = stop.cancelled() => return,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    Stats::add(&self.stats.export_failures, 1);
                    Stats::add(&self.stats.export_dropped, items);
                    tracing::error!(error = %e.message, items, "collector rejected a request for good; dropped");
                    let mut s = spool.lock().expect("spool lock");
                    seqs.iter().for_each(|q| s.remove(*q));
                }
            }
        }
    }
}

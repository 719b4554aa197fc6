//! The delivery task: moves the spool to the collector with up to `max_in_flight`
//! requests outstanding, retrying with backoff while it is down or slow.
//!
//! Each request sent is a run of spooled requests of one signal, oldest first, their
//! bytes concatenated (protobuf's merge of export requests) up to `max_request_bytes`.
//! A spooled request is removed only once the collector accepted the request carrying
//! it, so at worst a record is sent twice (at-least-once), never lost. After a retryable
//! failure, sending pauses for the backoff, then the failed runs go again, oldest first
//! and one at a time, until the collector accepts one; then `max_in_flight` again.
//!
//! Refused credentials (401/403, UNAUTHENTICATED/PERMISSION_DENIED) keep the data spooled
//! and are retried like an outage (counted in `aibom.export.auth_failures`), so a token
//! rotation loses nothing. A run over the collector's size limit (413,
//! RESOURCE_EXHAUSTED/OUT_OF_RANGE) is split in halves that go again at once, and runs are
//! kept under half its size from then on; a single spooled request so refused is split
//! item by item into two new spooled requests (durable before the old one goes; they leave
//! after the requests spooled meanwhile), down to single items: only an item that alone
//! is over the limit is dropped, counted. Items a collector refuses in an accepted request
//! (`partial_success`) are counted in `aibom.export.rejected`.
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::config::OtlpConfig;
use super::outbox::Outbox;
use super::spool::{Entry, Spool};
use super::transport::{Accepted, Failure, SendError, Transport};
use crate::stats::Stats;

/// Spooled requests merged into one send at most.
const MAX_RUN: usize = 64;
/// First and longest wait after a retryable failure.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// How much delivery may have outstanding.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_in_flight: usize,
    pub max_request_bytes: u64,
}

impl Limits {
    /// The limits `cfg` sets (at least one request of at least 64 KiB).
    pub fn of(cfg: &OtlpConfig) -> Self {
        Self {
            max_in_flight: cfg.max_in_flight.max(1),
            max_request_bytes: cfg.max_request_bytes.max(64 << 10),
        }
    }
}

/// What a send task reports back.
struct Done {
    run: Vec<Entry>,
    /// Entries that could not be read or failed their checks (to quarantine).
    unreadable: Vec<u64>,
    result: Result<Accepted, SendError>,
}

/// Moves the outbox's spool to the collector until `stop` is cancelled.
pub async fn deliver(
    outbox: Arc<Outbox>,
    transport: Transport,
    mut limits: Limits,
    stop: CancellationToken,
) {
    let Some(spool) = outbox.spool() else { return };
    let transport = Arc::new(transport);
    let stats = outbox.stats().clone();
    let mut in_flight: JoinSet<Done> = JoinSet::new();
    // seqs in flight or waiting in `retry`: not to be picked again
    let mut taken: HashSet<u64> = HashSet::new();
    let mut retry: VecDeque<Vec<Entry>> = VecDeque::new();
    let mut backoff = BACKOFF_MIN;
    let mut paused_until: Option<Instant> = None;
    // after a failure: one request at a time until the collector accepts one
    let mut probing = false;
    let mut outage_logged = false;
    loop {
        if paused_until.is_some_and(|t| Instant::now() >= t) {
            paused_until = None;
        }
        let limit = if probing { 1 } else { limits.max_in_flight };
        while paused_until.is_none() && in_flight.len() < limit {
            let run = {
                let mut s = spool.lock().expect("spool lock");
                next(&mut s, &mut retry, &mut taken, limits)
            };
            let Some(run) = run else { break };
            taken.extend(run.iter().map(|e| e.seq));
            in_flight.spawn(send(transport.clone(), run));
        }
        let done = tokio::select! {
            Some(d) = in_flight.join_next(), if !in_flight.is_empty() => d,
            _ = outbox.woken() => continue,
            _ = sleep_until(paused_until), if paused_until.is_some() => continue,
            _ = stop.cancelled() => return, // in-flight sends are aborted; all stays spooled
        };
        let Ok(Done {
            run,
            unreadable,
            result,
        }) = done
        else {
            continue; // a send task panicked: its entries stay taken until the next start
        };
        let finished = |s: &mut Spool, taken: &mut HashSet<u64>| {
            for e in &run {
                s.remove(e.seq);
                taken.remove(&e.seq);
            }
            Stats::set(&stats.spool_requests, s.len() as u64);
        };
        let mut s = spool.lock().expect("spool lock");
        let before = (s.dropped_items, s.quarantined);
        for q in &unreadable {
            s.quarantine(*q);
        }
        Stats::add(&stats.export_dropped, s.dropped_items - before.0);
        Stats::add(&stats.spool_quarantined, s.quarantined - before.1);
        match result {
            Ok(acc) => {
                if outage_logged {
                    tracing::warn!("collector is back; replaying the spool");
                    outage_logged = false;
                }
                if acc.rejected > 0 {
                    Stats::add(&stats.export_rejected, acc.rejected);
                    tracing::warn!(rejected = acc.rejected, reason = %acc.message, "the collector accepted a request but rejected some of its items");
                }
                backoff = BACKOFF_MIN;
                probing = false;
                finished(&mut s, &mut taken);
            }
            Err(e) if e.kind == Failure::TooLarge && run.len() > 1 => {
                Stats::add(&stats.export_failures, 1);
                let bytes: u64 = run.iter().map(|e| e.bytes).sum();
                let cap = (bytes / 2).max(1);
                if cap < limits.max_request_bytes {
                    tracing::warn!(error = %e.message, bytes, now = cap, "request over the collector's size limit: split, and requests kept smaller from now on");
                    limits.max_request_bytes = cap;
                }
                let mut run: Vec<Entry> = run
                    .into_iter()
                    .filter(|e| !unreadable.contains(&e.seq))
                    .collect();
                let back = run.split_off(run.len() / 2);
                // in spool order among the other runs waiting, then one at a time until
                // the collector accepts one
                for half in [run, back].into_iter().filter(|h| !h.is_empty()) {
                    let at = retry.partition_point(|r| r[0].seq < half[0].seq);
                    retry.insert(at, half);
                }
                probing = true;
            }
            Err(e) if e.kind == Failure::TooLarge && run.len() == 1 && run[0].items > 1 => {
                Stats::add(&stats.export_failures, 1);
                let entry = &run[0];
                limits.max_request_bytes = limits.max_request_bytes.min((entry.bytes / 2).max(1));
                let halves = Spool::read(entry).and_then(|r| {
                    r.halves()
                        .map_err(anyhow::Error::from)?
                        .ok_or_else(|| anyhow::anyhow!("nothing to split"))
                });
                let mut lost = 0;
                match halves {
                    Ok((a, b)) => {
                        tracing::warn!(error = %e.message, bytes = entry.bytes, items = entry.items, "a spooled request is over the collector's size limit: split in two");
                        for half in [a, b] {
                            if let Err(err) = s.push(&half) {
                                lost += half.items();
                                tracing::error!(
                                    error = format!("{err:#}"),
                                    "cannot spool half of a split request; its items are dropped"
                                );
                            }
                        }
                    }
                    Err(err) => {
                        lost = entry.items;
                        tracing::error!(
                            error = format!("{err:#}"),
                            "cannot split a request over the collector's size limit; dropped"
                        );
                    }
                }
                Stats::add(&stats.export_dropped, lost);
                finished(&mut s, &mut taken);
            }
            Err(e) if e.retryable || e.kind == Failure::Auth => {
                Stats::add(&stats.export_failures, 1);
                if e.kind == Failure::Auth {
                    Stats::add(&stats.export_auth_failures, 1);
                    if !outage_logged {
                        tracing::error!(error = %e.message, spooled = s.len(), "the collector refused our credentials (check OTEL_EXPORTER_OTLP_HEADERS); keeping everything spooled and retrying");
                        outage_logged = true;
                    }
                } else if !outage_logged {
                    tracing::warn!(error = %e.message, "collector unavailable; spooling to disk and retrying");
                    outage_logged = true;
                }
                let run: Vec<Entry> = run
                    .into_iter()
                    .filter(|e| !unreadable.contains(&e.seq))
                    .collect();
                let at = retry.partition_point(|r| r[0].seq < run.first().map_or(0, |e| e.seq));
                if !run.is_empty() {
                    retry.insert(at, run);
                }
                if paused_until.is_none() {
                    paused_until = Some(Instant::now() + backoff);
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
                probing = true;
            }
            Err(e) => {
                Stats::add(&stats.export_failures, 1);
                let items: u64 = run.iter().map(|e| e.items).sum();
                Stats::add(&stats.export_dropped, items);
                tracing::error!(error = %e.message, items, "collector rejected a request for good; dropped");
                finished(&mut s, &mut taken);
            }
        }
    }
}

/// The next run to send: a failed one first (oldest first), else new spooled requests.
fn next(
    s: &mut Spool,
    retry: &mut VecDeque<Vec<Entry>>,
    taken: &mut HashSet<u64>,
    limits: Limits,
) -> Option<Vec<Entry>> {
    while let Some(run) = retry.pop_front() {
        // the spool may have dropped some at its cap meanwhile (counted there)
        let (keep, gone): (Vec<Entry>, Vec<Entry>) =
            run.into_iter().partition(|e| s.contains(e.seq));
        gone.iter().for_each(|e| {
            taken.remove(&e.seq);
        });
        if !keep.is_empty() {
            keep.iter().for_each(|e| {
                taken.remove(&e.seq);
            });
            return Some(keep);
        }
    }
    let run = s.next_run(taken, MAX_RUN, limits.max_request_bytes);
    (!run.is_empty()).then_some(run)
}

/// Takes a run's spooled bytes (kept in memory, else read back) and sends them as one
/// request, without concatenating them here.
async fn send(transport: Arc<Transport>, run: Vec<Entry>) -> Done {
    let mut body = Vec::with_capacity(run.len());
    let mut unreadable = Vec::new();
    for e in &run {
        match Spool::read_bytes(e) {
            Ok(b) => body.push(b),
            Err(err) => {
                tracing::error!(
                    error = format!("{err:#}"),
                    "unreadable spool entry quarantined"
                );
                unreadable.push(e.seq);
            }
        }
    }
    let result = if unreadable.len() == run.len() {
        Ok(Accepted::default())
    } else {
        transport.send_parts(run[0].signal, body).await
    };
    Done {
        run,
        unreadable,
        result,
    }
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

//! `GET /projects/{id}/runtime/stream`: a project's runtime events as they arrive, as
//! server-sent events (what the UI's live activity feed reads).
//!
//! Each client gets its own poller: every [`POLL`] (5 x when ClickHouse fails) it reads the
//! project's newest events of the last [`LOOKBACK`] from `runtime_events` (late arrivals of
//! the collector's batches included; already-sent ones are skipped), at most [`BATCH`] per
//! poll (a sample when more arrive: the stream is a live view, `GET .../events` is the
//! record). On connect it sends the newest [`BACKLOG`] of that window.
//!
//! Back-pressure: events go through a bounded channel of [`BUFFER`] per client; a client
//! that does not read fast enough to keep it from filling is disconnected and counted
//! (`aibom_query_stream_dropped_total`). At most `--stream-max-clients` streams are open at
//! once; one more is a 503 (`aibom_query_stream_rejected_total`).
//!
//! SSE events: `ready` (once, `{"project", "poll_ms"}`), `runtime` (one event, keyed by
//! semantic-convention names as in `GET .../events`), `error` (`{"error", "status"}` when
//! ClickHouse failed a poll; polling goes on). Comments keep idle connections alive.
use super::{put_num, put_str, Shared};
use crate::error::ApiError;
use crate::metrics;
use crate::params;
use crate::tables::EVENTS_TABLE;
use aibom_semconv::{attr, record};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use clickhouse::Row;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

/// Streams open at once when `--stream-max-clients` is not given.
pub const DEFAULT_MAX_CLIENTS: usize = 16;
/// Events queued per client before it counts as too slow and is dropped.
pub const BUFFER: usize = 256;
/// How often each stream polls ClickHouse.
pub const POLL: Duration = Duration::from_secs(1);
/// How far back each poll looks (events reach ClickHouse in batches, not in time order).
pub const LOOKBACK: Duration = Duration::from_secs(60);
/// Most events read per poll.
pub const BATCH: u32 = 500;
/// Events sent when a client connects (the newest of the last [`LOOKBACK`]).
pub const BACKLOG: u32 = 20;

/// The open streams: a cap on how many.
pub struct Hub {
    slots: Arc<Semaphore>,
    max: usize,
}

impl Hub {
    pub fn new(max_clients: usize) -> Self {
        Hub {
            slots: Arc::new(Semaphore::new(max_clients)),
            max: max_clients,
        }
    }

    /// A slot for one more stream, or `None` when all are taken.
    fn join(&self) -> Option<OwnedSemaphorePermit> {
        self.slots.clone().try_acquire_owned().ok()
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new(DEFAULT_MAX_CLIENTS)
    }
}

#[derive(Debug, Row, Deserialize)]
struct FeedRow {
    time_ns: i64,
    event_id: u64,
    event_name: String,
    file_path: String,
    artifact_id: String,
    artifact_name: String,
    artifact_type: String,
    artifact_license: String,
    artifact_sha256: String,
    access_count: u64,
    process_pid: u32,
    process_executable_name: String,
    container_id: String,
    scan_id: String,
    origin: String,
}

impl FeedRow {
    fn into_json(self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            record::TIMESTAMP.into(),
            Value::String(params::rfc3339(self.time_ns)),
        );
        put_str(&mut m, record::EVENT_NAME, self.event_name);
        put_str(&mut m, attr::FILE_PATH, self.file_path);
        put_str(&mut m, attr::ARTIFACT_ID, self.artifact_id);
        put_str(&mut m, attr::ARTIFACT_NAME, self.artifact_name);
        put_str(&mut m, attr::ARTIFACT_TYPE, self.artifact_type);
        put_str(&mut m, attr::ARTIFACT_LICENSE, self.artifact_license);
        put_str(&mut m, attr::ARTIFACT_SHA256, self.artifact_sha256);
        put_num(&mut m, attr::ACCESS_COUNT, Some(self.access_count));
        put_num(
            &mut m,
            attr::PROCESS_PID,
            Some(u64::from(self.process_pid)).filter(|p| *p != 0),
        );
        put_str(
            &mut m,
            attr::PROCESS_EXECUTABLE_NAME,
            self.process_executable_name,
        );
        put_str(&mut m, attr::CONTAINER_ID, self.container_id);
        put_str(&mut m, attr::SCAN_ID, self.scan_id);
        put_str(&mut m, attr::ACCESS_ORIGIN, self.origin);
        m
    }
}

/// Newest first. Parameters: `project`, `since` (ns), `lim`.
fn feed_sql() -> String {
    format!(
        "SELECT toUnixTimestamp64Nano(time) AS time_ns, event_id, event_name, file_path, \
           artifact_id, artifact_name, artifact_type, artifact_license, \
           artifact_sha256, access_count, process_pid, process_executable_name, \
           container_id, scan_id, toString(access_origin) AS origin \
         FROM {EVENTS_TABLE} \
         WHERE project_id = {{project:String}} AND time >= fromUnixTimestamp64Nano({{since:Int64}}, 'UTC') \
         ORDER BY time DESC, event_id DESC LIMIT {{lim:UInt32}}"
    )
}

/// Why a client stopped getting events.
#[derive(Debug, PartialEq, Eq)]
enum Gone {
    /// It disconnected.
    Closed,
    /// Its buffer was full: too slow.
    Slow,
}

/// Queues `ev` for a client without waiting.
fn offer(tx: &mpsc::Sender<Event>, ev: Event) -> Result<(), Gone> {
    match tx.try_send(ev) {
        Ok(()) => Ok(()),
        Err(TrySendError::Full(_)) => Err(Gone::Slow),
        Err(TrySendError::Closed(_)) => Err(Gone::Closed),
    }
}

/// What a stream has sent: `(time ns, event_id)` of the last [`LOOKBACK`].
#[derive(Default)]
struct Seen(BTreeSet<(i64, u64)>);

impl Seen {
    /// Of `rows` (newest first), those not sent yet, oldest first; remembers them, and
    /// forgets what is older than `since`.
    fn fresh(&mut self, rows: Vec<FeedRow>, since: i64) -> Vec<FeedRow> {
        self.0 = self.0.split_off(&(since, 0));
        let mut out: Vec<FeedRow> = rows
            .into_iter()
            .filter(|r| self.0.insert((r.time_ns, r.event_id)))
            .collect();
        out.reverse();
        out
    }
}

fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

/// Polls ClickHouse for one client until it goes; holds its slot meanwhile.
async fn poll(st: Shared, project: String, tx: mpsc::Sender<Event>, slot: OwnedSemaphorePermit) {
    let _slot = slot;
    metrics::stream_clients(1);
    let ready = Event::default()
        .event("ready")
        .data(json!({"project": project, "poll_ms": POLL.as_millis() as u64}).to_string());
    let mut seen = Seen::default();
    let mut first = true;
    let mut gone = offer(&tx, ready).err();
    let sql = feed_sql();
    while gone.is_none() {
        let since = now_ns().saturating_sub(LOOKBACK.as_nanos() as i64);
        let q = st
            .db
            .client()
            .query_raw(&sql)
            .param("project", &project)
            .param("since", since)
            .param("lim", BATCH);
        let result = st.db.run(q.fetch_all::<FeedRow>()).await;
        let failed = result.is_err();
        let events = match result {
            Ok(rows) => {
                let rows = seen.fresh(rows, since);
                // The first poll marks the whole window seen but sends only its newest events.
                let backlog = if first {
                    rows.len().saturating_sub(BACKLOG as usize)
                } else {
                    0
                };
                rows.into_iter()
                    .skip(backlog)
                    .map(|r| {
                        Event::default()
                            .event("runtime")
                            .data(Value::Object(r.into_json()).to_string())
                    })
                    .collect()
            }
            Err(e) => vec![Event::default()
                .event("error")
                .data(json!({"error": e.message(), "status": e.status().as_u16()}).to_string())],
        };
        first = false;
        for ev in events {
            if let Err(g) = offer(&tx, ev) {
                gone = Some(g);
                break;
            }
        }
        if gone.is_none() {
            // ClickHouse failing: ask less often (each failure is logged).
            let pause = if failed { POLL * 5 } else { POLL };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = tx.closed() => gone = Some(Gone::Closed),
            }
        }
    }
    if gone == Some(Gone::Slow) {
        metrics::stream_dropped();
        tracing::warn!(
            project,
            buffer = BUFFER,
            "live stream client too slow: disconnected"
        );
    }
    metrics::stream_clients(-1);
}

/// A project's runtime events as they arrive (server-sent events).
#[utoipa::path(get, path = "/projects/{id}/runtime/stream",
    params(("id" = String, Path, description = "Project id")),
    responses(
        (status = 200, description = "`text/event-stream`: a `ready` event, then one `runtime` event per new \
            runtime event (JSON keyed by semantic-convention names, as in GET .../events), and `error` events \
            (`{\"error\", \"status\"}`) when ClickHouse fails a poll. A client that reads too slowly is disconnected.",
            content_type = "text/event-stream", body = String),
        (status = 400, description = "Invalid id", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or invalid token", body = crate::error::ErrorBody),
        (status = 503, description = "Too many open streams (--stream-max-clients)", body = crate::error::ErrorBody),
    ))]
pub async fn stream(
    State(st): State<Shared>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id?;
    let project = params::project_id(&id)?.to_string();
    let Some(slot) = st.stream.join() else {
        metrics::stream_rejected();
        return Err(ApiError::Status(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "too many live streams open ({}): close one or try again later",
                st.stream.max
            ),
        ));
    };
    let (tx, rx) = mpsc::channel(BUFFER);
    tokio::spawn(poll(st.clone(), project, tx, slot));
    let events = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok::<_, Infallible>(e), rx))
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(t: i64, id: u64) -> FeedRow {
        FeedRow {
            time_ns: t,
            event_id: id,
            event_name: String::new(),
            file_path: String::new(),
            artifact_id: String::new(),
            artifact_name: String::new(),
            artifact_type: String::new(),
            artifact_license: String::new(),
            artifact_sha256: String::new(),
            access_count: 1,
            process_pid: 0,
            process_executable_name: String::new(),
            container_id: String::new(),
            scan_id: String::new(),
            origin: String::new(),
        }
    }

    #[test]
    fn each_event_is_sent_once_oldest_first() {
        let mut s = Seen::default();
        let ids = |v: Vec<FeedRow>| v.iter().map(|r| r.event_id).collect::<Vec<_>>();
        assert_eq!(ids(s.fresh(vec![row(20, 2), row(10, 1)], 0)), [1, 2]);
        // a late arrival older than the newest sent one still comes, the rest does not again
        assert_eq!(
            ids(s.fresh(vec![row(30, 3), row(20, 2), row(15, 9), row(10, 1)], 0)),
            [9, 3]
        );
        // what is older than the window is forgotten
        s.fresh(vec![], 25);
        assert_eq!(s.0.len(), 1);
    }

    #[tokio::test]
    async fn a_full_buffer_drops_the_client() {
        let (tx, mut rx) = mpsc::channel(2);
        assert_eq!(offer(&tx, Event::default().data("1")), Ok(()));
        assert_eq!(offer(&tx, Event::default().data("2")), Ok(()));
        assert_eq!(offer(&tx, Event::default().data("3")), Err(Gone::Slow));
        let _ = rx.recv().await.unwrap();
        drop(rx);
        assert_eq!(offer(&tx, Event::default().data("4")), Err(Gone::Closed));
    }

    #[test]
    fn streams_beyond_the_cap_are_refused() {
        let hub = Hub::new(2);
        let a = hub.join().unwrap();
        let _b = hub.join().unwrap();
        assert!(hub.join().is_none());
        drop(a);
        assert!(hub.join().is_some());
    }
}

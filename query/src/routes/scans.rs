//! `POST /scan/runtime` and `GET /scans/{id}`: on-demand runtime scans.
//!
//! The sidecar asks every daemon given with `--daemon` to trace the project for `duration`
//! seconds, with the daemon control contract:
//!
//! ```text
//! POST {daemon}/v1/scans            (http://host:port, or unix:/path/to.sock)
//! Content-Type: application/json
//! Authorization: Bearer $AIBOM_DAEMON_TOKEN     (when set)
//! {"project": "<project id>", "duration": <seconds>, "scan_id": "<uuid>"}
//! -> 202 Accepted (any 2xx): the daemon traces now and tags the scan's events with
//!    aibom.scan.id = scan_id and aibom.project.id = project.
//! -> 4xx/5xx: rejected (the body, if any, is kept as the reason).
//! ```
//!
//! A scan is `pending` while daemons are asked, `running` once one accepted, `completed`
//! after `duration` has passed, `failed` when none is configured, reachable or willing.
//! Scans are kept in memory (the last [`MAX_SCANS`]); a restart forgets them.
use super::Shared;
use crate::error::ApiError;
use crate::params;
use aibom_semconv::scan_state;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;
use utoipa::ToSchema;

/// Scans remembered.
pub const MAX_SCANS: usize = 10_000;
/// Longest scan accepted, seconds.
pub const MAX_DURATION: u64 = 86_400;
/// How long one daemon gets to answer.
const DAEMON_TIMEOUT: Duration = Duration::from_secs(5);

/// A scan's state while the daemons are being asked. This state and [`FAILED`] are the
/// sidecar's own: `aibom.scan.state` has no value for them. Once a daemon accepted, a scan
/// is [`scan_state::RUNNING`], then [`scan_state::COMPLETED`].
pub const PENDING: &str = "pending";
/// A scan's state when no daemon is configured, reachable or willing.
pub const FAILED: &str = "failed";

/// A daemon's control endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Daemon {
    /// `http://host:port[/prefix]`.
    Http(String),
    /// `unix:/path/to.sock`.
    Unix(PathBuf),
}

impl Daemon {
    /// Parses a `--daemon` value.
    pub fn parse(s: &str) -> Result<Self, String> {
        if let Some(p) = s.strip_prefix("unix:") {
            let p = p.trim_start_matches("//");
            if !p.starts_with('/') {
                return Err(format!("{s}: expected unix:/absolute/path.sock"));
            }
            return Ok(Daemon::Unix(PathBuf::from(p)));
        }
        if s.starts_with("http://") && s.len() > "http://".len() {
            return Ok(Daemon::Http(s.trim_end_matches('/').to_string()));
        }
        Err(format!(
            "{s}: expected http://HOST:PORT or unix:/PATH (https is not supported)"
        ))
    }

    fn label(&self) -> String {
        match self {
            Daemon::Http(u) => u.clone(),
            Daemon::Unix(p) => format!("unix:{}", p.display()),
        }
    }

    async fn start(&self, call: &DaemonCall, token: Option<&str>) -> DaemonResult {
        let (builder, url) = match self {
            Daemon::Http(base) => (reqwest::Client::builder(), format!("{base}/v1/scans")),
            Daemon::Unix(p) => (
                reqwest::Client::builder().unix_socket(p.clone()),
                "http://localhost/v1/scans".to_string(),
            ),
        };
        let result = |state: &'static str, detail: Option<String>| DaemonResult {
            daemon: self.label(),
            state,
            detail,
        };
        let client = match builder.timeout(DAEMON_TIMEOUT).build() {
            Ok(c) => c,
            Err(e) => return result("unreachable", Some(e.to_string())),
        };
        let mut req = client.post(url).json(call);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        match req.send().await {
            Ok(r) if r.status().is_success() => result("accepted", None),
            Ok(r) => {
                let status = r.status();
                let body = r.text().await.unwrap_or_default();
                let body: String = body.chars().take(200).collect();
                result("rejected", Some(format!("{status}: {body}")))
            }
            Err(e) => result("unreachable", Some(error_chain(&e))),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

/// The body sent to each daemon.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DaemonCall {
    pub project: String,
    pub duration: u64,
    pub scan_id: String,
}

/// What one daemon said.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DaemonResult {
    pub daemon: String,
    /// `accepted`, `rejected` or `unreachable`.
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// `POST /scan/runtime` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// Project to scan (`pattern`: see the project id path parameter).
    #[schema(min_length = 1, max_length = 128)]
    pub project: String,
    /// Seconds to trace: 1..=86400.
    #[schema(minimum = 1, maximum = 86400)]
    #[serde(deserialize_with = "whole_number")]
    pub duration: u64,
}

/// A JSON integer: `30`, or `30.0` (JSON Schema's `integer` counts a number with no fraction).
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = serde_json::Number::deserialize(d)?;
    if let Some(n) = v.as_u64() {
        return Ok(n);
    }
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(&f) => Ok(f as u64),
        _ => Err(serde::de::Error::custom(format!(
            "expected a whole number of seconds, got {v}"
        ))),
    }
}

/// `POST /scan/runtime` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScanAccepted {
    pub scan_id: String,
    /// Always `pending`: poll `GET /scans/{scan_id}`.
    pub state: &'static str,
}

/// A scan and how far it got.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Scan {
    pub scan_id: String,
    pub project: String,
    pub duration: u64,
    /// `pending`, `running`, `completed` or `failed`.
    pub state: &'static str,
    pub created_at: String,
    /// When the daemons stop tracing (set once one accepted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
    /// Why the scan failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub daemons: Vec<DaemonResult>,
    /// Events tagged with this scan so far (`null` when ClickHouse could not say).
    pub events: Option<u64>,
    /// What the scan found, one entry per file (at most [`MAX_SCAN_ARTIFACTS`]), keyed by
    /// semantic-convention names: `file.path`, `aibom.artifact.*`, `aibom.access.origin`
    /// (every origin seen: `inventory` means the file was already held when the scan
    /// began), `aibom.project.id`, `container.id`, `k8s.pod.uid`, and `processes` (pid,
    /// executable name, command line of each process, at most 10).
    #[schema(value_type = Vec<Object>)]
    pub artifacts: Vec<serde_json::Map<String, serde_json::Value>>,
    #[serde(skip)]
    pub(crate) ends: Option<DateTime<Utc>>,
}

/// Scans in memory, oldest evicted first.
#[derive(Default)]
pub struct Scans {
    inner: Mutex<(HashMap<String, Scan>, VecDeque<String>)>,
}

impl Scans {
    fn insert(&self, s: Scan) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if g.1.len() >= MAX_SCANS {
            if let Some(old) = g.1.pop_front() {
                g.0.remove(&old);
            }
        }
        g.1.push_back(s.scan_id.clone());
        g.0.insert(s.scan_id.clone(), s);
    }

    pub(crate) fn update(&self, id: &str, f: impl FnOnce(&mut Scan)) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = g.0.get_mut(id) {
            f(s);
        }
    }

    pub(crate) fn get(&self, id: &str) -> Option<Scan> {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut s = g.0.get(id).cloned()?;
        if s.state == scan_state::RUNNING && s.ends.is_some_and(|e| Utc::now() >= e) {
            s.state = scan_state::COMPLETED;
        }
        Some(s)
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Asks the daemons and records what they said.
async fn dispatch(st: Shared, call: DaemonCall) {
    let id = call.scan_id.clone();
    if st.daemons.is_empty() {
        st.scans.update(&id, |s| {
            s.state = FAILED;
            s.error = Some("no daemon configured: start aibom-query with --daemon URL".into());
        });
        return;
    }
    let token = st.daemon_token.as_deref();
    let mut results = Vec::with_capacity(st.daemons.len());
    // Sequential keeps this simple; each daemon is bounded by DAEMON_TIMEOUT.
    for d in &st.daemons {
        results.push(d.start(&call, token).await);
    }
    let accepted = results.iter().any(|r| r.state == "accepted");
    let reachable = results.iter().any(|r| r.state != "unreachable");
    st.scans.update(&id, |s| {
        s.daemons = results;
        if accepted {
            let ends = Utc::now() + chrono::Duration::seconds(s.duration as i64);
            s.state = scan_state::RUNNING;
            s.ends = Some(ends);
            s.ends_at = Some(rfc3339(ends));
        } else {
            s.state = FAILED;
            s.error = Some(
                if reachable {
                    "rejected by every daemon"
                } else {
                    "no daemon reachable"
                }
                .into(),
            );
        }
    });
}

/// Starts a runtime scan of a project on every configured daemon.
#[utoipa::path(post, path = "/scan/runtime", request_body = ScanRequest, responses(
    (status = 202, description = "Scan recorded; daemons are being asked", body = ScanAccepted),
    (status = 400, description = "Invalid project, duration or body", body = crate::error::ErrorBody),
    (status = 401, description = "Missing or invalid token", body = crate::error::ErrorBody),
    (status = 413, description = "Body over 64 KiB", body = crate::error::ErrorBody),
    (status = 415, description = "Content-Type is not application/json", body = crate::error::ErrorBody),
))]
pub async fn start(
    State(st): State<Shared>,
    body: Result<Json<ScanRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<ScanAccepted>), ApiError> {
    let Json(req) = body?;
    let project = params::project_id(&req.project)?.to_string();
    if !(1..=MAX_DURATION).contains(&req.duration) {
        return Err(ApiError::BadRequest(format!(
            "duration must be 1..={MAX_DURATION} seconds"
        )));
    }
    let scan_id = uuid::Uuid::new_v4().to_string();
    st.scans.insert(Scan {
        scan_id: scan_id.clone(),
        project: project.clone(),
        duration: req.duration,
        state: PENDING,
        created_at: rfc3339(Utc::now()),
        ends_at: None,
        error: None,
        daemons: Vec::new(),
        events: None,
        artifacts: Vec::new(),
        ends: None,
    });
    let call = DaemonCall {
        project,
        duration: req.duration,
        scan_id: scan_id.clone(),
    };
    tokio::spawn(dispatch(st.clone(), call));
    Ok((
        StatusCode::ACCEPTED,
        Json(ScanAccepted {
            scan_id,
            state: PENDING,
        }),
    ))
}

/// A scan's state, with the number of events tagged with it.
#[utoipa::path(get, path = "/scans/{id}",
    params(("id" = String, Path, description = "The scan_id returned by POST /scan/runtime")),
    responses(
        (status = 200, description = "The scan", body = Scan),
        (status = 400, description = "Not a scan id", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or invalid token", body = crate::error::ErrorBody),
        (status = 404, description = "Unknown scan (or forgotten by a restart)", body = crate::error::ErrorBody),
    ))]
pub async fn status(
    State(st): State<Shared>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Scan>, ApiError> {
    let Path(id) = id?;
    let id = uuid::Uuid::try_parse(&id)
        .map_err(|_| ApiError::BadRequest("invalid scan id: expected a UUID".into()))?
        .to_string();
    let mut scan = st
        .scans
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no scan {id}")))?;
    let sql = format!(
        "SELECT count() FROM {} WHERE project_id = {{project:String}} AND scan_id = {{scan:String}}",
        crate::tables::EVENTS_TABLE
    );
    let q = st
        .db
        .client()
        .query_raw(&sql)
        .param("project", &scan.project)
        .param("scan", &id);
    scan.events = st.db.run(q.fetch_one::<u64>()).await.ok();
    if scan.events.is_some_and(|n| n > 0) {
        scan.artifacts = scan_artifacts(&st, &scan.project, &id).await?;
    }
    Ok(Json(scan))
}

/// Files listed in a scan's status at most.
pub const MAX_SCAN_ARTIFACTS: usize = 10_000;

/// One file of a scan, as [`scan_artifacts`] selects it.
#[derive(Debug, clickhouse::Row, Deserialize)]
struct ScanFileRow {
    file_path: String,
    artifact_id: String,
    artifact_name: String,
    artifact_type: String,
    artifact_format: String,
    artifact_provider: String,
    artifact_license: String,
    artifact_sha256: String,
    origins: Vec<String>,
    processes: Vec<(u32, String, String)>,
    container_id: String,
    k8s_pod_uid: String,
    accesses: u64,
}

/// The files a scan found, with their identity, origins and processes.
async fn scan_artifacts(
    st: &Shared,
    project: &str,
    scan: &str,
) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, ApiError> {
    let sql = format!(
        "SELECT file_path, \
           anyIf(artifact_id, artifact_id != '') AS artifact_id, \
           anyIf(artifact_name, artifact_name != '') AS artifact_name, \
           anyIf(artifact_type, artifact_type != '') AS artifact_type, \
           anyIf(artifact_format, artifact_format != '') AS artifact_format, \
           anyIf(artifact_provider, artifact_provider != '') AS artifact_provider, \
           anyIf(artifact_license, artifact_license != '') AS artifact_license, \
           anyIf(artifact_sha256, artifact_sha256 != '') AS artifact_sha256, \
           arraySort(groupUniqArrayIf(toString(access_origin), access_origin != '')) AS origins, \
           groupUniqArray(10)((process_pid, process_executable_name, process_command_line)) AS processes, \
           anyIf(container_id, container_id != '') AS container_id, \
           anyIf(k8s_pod_uid, k8s_pod_uid != '') AS k8s_pod_uid, \
           countIf(event_name = {{access:String}}) AS accesses \
         FROM {} WHERE project_id = {{project:String}} AND scan_id = {{scan:String}} \
         GROUP BY file_path ORDER BY file_path LIMIT {}",
        crate::tables::EVENTS_TABLE,
        MAX_SCAN_ARTIFACTS
    );
    let q = st
        .db
        .client()
        .query_raw(&sql)
        .param("access", aibom_semconv::event::ARTIFACT_ACCESS)
        .param("project", project)
        .param("scan", scan);
    let rows: Vec<ScanFileRow> = st.db.run(q.fetch_all()).await?;
    use aibom_semconv::attr;
    use serde_json::{json, Map, Value};
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut m = Map::new();
            let mut put = |k: &str, v: String| {
                if !v.is_empty() {
                    m.insert(k.into(), Value::String(v));
                }
            };
            put(attr::FILE_PATH, r.file_path);
            put(attr::PROJECT_ID, project.to_string());
            put(attr::ARTIFACT_ID, r.artifact_id);
            put(attr::ARTIFACT_NAME, r.artifact_name);
            put(attr::ARTIFACT_TYPE, r.artifact_type);
            put(attr::ARTIFACT_FORMAT, r.artifact_format);
            put(attr::ARTIFACT_PROVIDER, r.artifact_provider);
            put(attr::ARTIFACT_LICENSE, r.artifact_license);
            put(attr::ARTIFACT_SHA256, r.artifact_sha256);
            put(attr::CONTAINER_ID, r.container_id);
            put(attr::K8S_POD_UID, r.k8s_pod_uid);
            m.insert(attr::ACCESS_ORIGIN.into(), json!(r.origins));
            m.insert(attr::ACCESS_COUNT.into(), json!(r.accesses));
            let procs: Vec<Value> = r
                .processes
                .into_iter()
                .map(|(pid, name, cmd)| {
                    json!({
                        attr::PROCESS_PID: pid,
                        attr::PROCESS_EXECUTABLE_NAME: name,
                        attr::PROCESS_COMMAND_LINE: cmd,
                    })
                })
                .collect();
            m.insert("processes".into(), Value::Array(procs));
            m
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_urls() {
        assert_eq!(
            Daemon::parse("http://127.0.0.1:9000/").unwrap(),
            Daemon::Http("http://127.0.0.1:9000".into())
        );
        assert_eq!(
            Daemon::parse("unix:/run/aibomd.sock").unwrap(),
            Daemon::Unix("/run/aibomd.sock".into())
        );
        assert_eq!(
            Daemon::parse("unix:///run/aibomd.sock").unwrap(),
            Daemon::Unix("/run/aibomd.sock".into())
        );
        for bad in ["https://x", "ftp://x", "unix:rel.sock", "http://", "x"] {
            assert!(Daemon::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scans_are_bounded_and_complete_after_duration() {
        let s = Scans::default();
        for i in 0..MAX_SCANS + 5 {
            s.insert(Scan {
                scan_id: i.to_string(),
                project: "p".into(),
                duration: 1,
                state: scan_state::RUNNING,
                created_at: String::new(),
                ends_at: None,
                error: None,
                daemons: vec![],
                events: None,
                artifacts: vec![],
                ends: Some(Utc::now() - chrono::Duration::seconds(1)),
            });
        }
        assert!(s.get("0").is_none());
        assert_eq!(
            s.get(&(MAX_SCANS + 4).to_string()).unwrap().state,
            scan_state::COMPLETED
        );
    }
}

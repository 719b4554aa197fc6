//! `POST /scans/{id}/stop`: ends a running scan early.
//!
//! Passed to every daemon with the daemon control contract's
//! `POST {daemon}/v1/scans/{scan_id}/stop` (bearer `$AIBOM_DAEMON_TOKEN` when set); a daemon
//! that answers 404 or 409 no longer traces it. The scan is then `completed`, `ends_at` now.
use super::scans::{Daemon, DaemonResult, Scan, PENDING};
use super::Shared;
use crate::error::ApiError;
use aibom_semconv::scan_state;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{SecondsFormat, Utc};
use std::time::Duration;

const DAEMON_TIMEOUT: Duration = Duration::from_secs(5);

async fn stop_on(d: &Daemon, scan: &str, token: Option<&str>) -> DaemonResult {
    let (builder, url, label) = match d {
        Daemon::Http(base) => (
            reqwest::Client::builder(),
            format!("{base}/v1/scans/{scan}/stop"),
            base.clone(),
        ),
        Daemon::Unix(p) => (
            reqwest::Client::builder().unix_socket(p.clone()),
            format!("http://localhost/v1/scans/{scan}/stop"),
            format!("unix:{}", p.display()),
        ),
    };
    let result = |state: &'static str, detail: Option<String>| DaemonResult {
        daemon: label.clone(),
        state,
        detail,
    };
    let client = match builder.timeout(DAEMON_TIMEOUT).build() {
        Ok(c) => c,
        Err(e) => return result("unreachable", Some(e.to_string())),
    };
    let mut req = client.post(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    match req.send().await {
        Ok(r) if r.status().is_success() => result("stopped", None),
        // Unknown there or already ended: it traces no more either way.
        Ok(r) if matches!(r.status().as_u16(), 404 | 409) => {
            result("stopped", Some(format!("{}", r.status())))
        }
        Ok(r) => result("rejected", Some(format!("{}", r.status()))),
        Err(e) => result("unreachable", Some(e.to_string())),
    }
}

/// Stops a running scan before its duration ends, on every configured daemon.
#[utoipa::path(post, path = "/scans/{id}/stop",
    params(("id" = String, Path, description = "The scan_id returned by POST /scan/runtime")),
    responses(
        (status = 200, description = "Stopped: the scan, now completed; `daemons` says what each daemon answered", body = Scan),
        (status = 400, description = "Not a scan id", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or invalid token", body = crate::error::ErrorBody),
        (status = 404, description = "Unknown scan", body = crate::error::ErrorBody),
        (status = 409, description = "The scan is not running (still pending, or already ended)", body = crate::error::ErrorBody),
    ))]
pub async fn stop(
    State(st): State<Shared>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Scan>, ApiError> {
    let Path(id) = id?;
    let id = uuid::Uuid::try_parse(&id)
        .map_err(|_| ApiError::BadRequest("invalid scan id: expected a UUID".into()))?
        .to_string();
    let scan = st
        .scans
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no scan {id}")))?;
    if scan.state != scan_state::RUNNING {
        let why = if scan.state == PENDING {
            "the scan is still pending: try again in a moment"
        } else {
            "the scan has already ended"
        };
        return Err(ApiError::Status(StatusCode::CONFLICT, why.into()));
    }
    let token = st.daemon_token.as_deref();
    let mut results = Vec::with_capacity(st.daemons.len());
    for d in &st.daemons {
        results.push(stop_on(d, &id, token).await);
    }
    let now = Utc::now();
    st.scans.update(&id, |s| {
        s.state = scan_state::COMPLETED;
        s.ends = Some(now);
        s.ends_at = Some(now.to_rfc3339_opts(SecondsFormat::Millis, true));
        s.daemons = results;
    });
    st.scans
        .get(&id)
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no scan {id}")))
}

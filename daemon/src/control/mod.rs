//! The daemon's control API: start, stop, list and read scans.
//!
//! Served on a Unix socket (default `/run/aibomd/control.sock`, mode 0600: the file
//! permissions are the access control; with `control.group`, 0660 of that group, for a
//! non-root sidecar in it) and optionally on a loopback HTTP port, which
//! requires a bearer token. When a token is configured (`AIBOM_DAEMON_TOKEN` or
//! `control.token_file`) every request on either listener must carry it — the query
//! sidecar sends `Authorization: Bearer $AIBOM_DAEMON_TOKEN`.
//!
//! ```text
//! POST /v1/scans            {"project": "demo", "duration": 10, "scan_id": "optional"}
//!                           -> 202 {scan}       400 bad body / 409 exists / 429 too many
//! GET  /v1/scans            -> 200 {"scans": [{scan}, ...]}
//! GET  /v1/scans/{id}       -> 200 {scan}  404
//! POST /v1/scans/{id}/stop  -> 200 {scan}  404 / 409 already ended
//! GET  /v1/healthz          -> 200 {"status": "ok", "scans_running": N}
//! ```
//! `{scan}` is [`ScanReport`]. Errors are `{"error": "..."}`; bodies over 64 KiB get 413.
pub mod config;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use self::config::ControlConfig;
use crate::scan::{ScanError, ScanReport, Scans};

/// Largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;

/// A JSON error response.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<ScanError> for ApiError {
    fn from(e: ScanError) -> Self {
        let status = match &e {
            ScanError::Invalid { .. } => StatusCode::BAD_REQUEST,
            ScanError::Exists(_) | ScanError::Ended(_) => StatusCode::CONFLICT,
            ScanError::NotFound(_) => StatusCode::NOT_FOUND,
            ScanError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            ScanError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError(status, e.to_string())
    }
}

/// `POST /v1/scans` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartScan {
    project: String,
    duration: u64,
    #[serde(default)]
    scan_id: Option<String>,
}

async fn start_scan(
    State(scans): State<Scans>,
    body: Result<Json<StartScan>, JsonRejection>,
) -> Result<(StatusCode, Json<ScanReport>), ApiError> {
    let Json(b) = body.map_err(|r| ApiError(r.status(), r.body_text()))?;
    let r = scans.start(&b.project, b.duration, b.scan_id)?;
    tracing::info!(scan = %r.scan_id, project = %r.project, duration = r.duration, "scan started");
    Ok((StatusCode::ACCEPTED, Json(r)))
}

async fn list_scans(State(scans): State<Scans>) -> Json<serde_json::Value> {
    Json(json!({ "scans": scans.list() }))
}

async fn get_scan(
    State(scans): State<Scans>,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<ScanReport>, ApiError> {
    scans
        .get(&id)
        .map(Json)
        .ok_or_else(|| ScanError::NotFound(id).into())
}

async fn stop_scan(
    State(scans): State<Scans>,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<ScanReport>, ApiError> {
    let r = scans.stop(&id)?;
    tracing::info!(scan = %id, "scan stopped early");
    Ok(Json(r))
}

async fn healthz(State(scans): State<Scans>) -> Json<serde_json::Value> {
    Json(json!({ "status": "ok", "scans_running": scans.running() }))
}

async fn not_found() -> ApiError {
    ApiError(
        StatusCode::NOT_FOUND,
        "no such endpoint: see /v1/scans, /v1/healthz".into(),
    )
}

/// Rejects requests without the bearer token (when one is configured).
async fn require_token(State(token): State<Option<String>>, req: Request, next: Next) -> Response {
    if let Some(want) = &token {
        let got = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !got.is_some_and(|g| constant_time_eq(g.as_bytes(), want.as_bytes())) {
            return ApiError(
                StatusCode::UNAUTHORIZED,
                "missing or invalid bearer token".into(),
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// Compares without an early exit (`subtle`), so response time does not leak the token's
/// prefix; only a length mismatch returns at once.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

/// The API's routes.
pub fn router(scans: Scans, token: Option<String>) -> Router {
    Router::new()
        .route("/v1/scans", post(start_scan).get(list_scans))
        .route("/v1/scans/{id}", get(get_scan))
        .route("/v1/scans/{id}/stop", post(stop_scan))
        .route("/v1/healthz", get(healthz))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(scans)
        .layer(middleware::from_fn_with_state(token, require_token))
}

/// The running control API.
pub struct Control {
    tasks: Vec<JoinHandle<()>>,
    socket: Option<PathBuf>,
    stop: CancellationToken,
}

impl Control {
    /// Binds the configured listeners and serves until [`Control::shutdown`].
    pub async fn start(cfg: &ControlConfig, scans: Scans) -> Result<Self> {
        let token = cfg.token()?;
        let group = cfg.group_id()?;
        let app = router(scans, token.clone());
        let stop = CancellationToken::new();
        let mut tasks = Vec::new();
        let mut socket = None;
        if let Some(path) = cfg.socket() {
            match bind_unix(&path, group) {
                Ok(l) => {
                    let s = stop.clone();
                    let app = app.clone();
                    tasks.push(tokio::spawn(async move {
                        let r = axum::serve(l, app)
                            .with_graceful_shutdown(s.cancelled_owned())
                            .await;
                        if let Err(e) = r {
                            tracing::error!(error = %e, "control socket server failed");
                        }
                    }));
                    tracing::info!(socket = %path.display(), "control API listening");
                    socket = Some(path);
                }
                Err(e) if !cfg.socket_explicit() => {
                    tracing::warn!(
                        error = format!("{e:#}"),
                        "control API off: the default socket is not usable; set --control-socket"
                    );
                }
                Err(e) => return Err(e),
            }
        }
        if let Some(addr) = cfg.listen {
            check_loopback(addr)?;
            if token.is_none() {
                bail!(
                    "control.listen = {addr} needs a token: set AIBOM_DAEMON_TOKEN or control.token_file"
                );
            }
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding control API to {addr}"))?;
            let s = stop.clone();
            tasks.push(tokio::spawn(async move {
                if let Err(e) = axum::serve(l, app)
                    .with_graceful_shutdown(s.cancelled_owned())
                    .await
                {
                    tracing::error!(error = %e, "control HTTP server failed");
                }
            }));
            tracing::info!(%addr, "control API listening (HTTP)");
        }
        Ok(Self {
            tasks,
            socket,
            stop,
        })
    }

    /// The Unix socket served, if any.
    pub fn socket(&self) -> Option<&Path> {
        self.socket.as_deref()
    }

    /// Stops serving and removes the socket file.
    pub async fn shutdown(self) {
        self.stop.cancel();
        for t in self.tasks {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), t).await;
        }
        if let Some(p) = self.socket {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn check_loopback(addr: SocketAddr) -> Result<()> {
    if !addr.ip().is_loopback() {
        bail!(
            "control.listen = {addr}: only loopback addresses are allowed (the API starts scans)"
        );
    }
    Ok(())
}

/// Binds `path`, replacing a stale socket file but never a live one or another file.
/// With `group`, the socket is 0660 of that group and its directory (when ours) 0710 of
/// it; else 0600 in a 0700 directory.
fn bind_unix(path: &Path, group: Option<nix::unistd::Gid>) -> Result<tokio::net::UnixListener> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    if let Ok(md) = std::fs::symlink_metadata(path) {
        if !md.file_type().is_socket() {
            bail!(
                "{}: exists and is not a socket; refusing to replace it",
                path.display()
            );
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!(
                "{}: another aibomd is listening there; use --control-socket PATH",
                path.display()
            );
        }
        std::fs::remove_file(path).with_context(|| format!("removing stale {}", path.display()))?;
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            // a directory of our own: only its owner may even look inside
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .with_context(|| format!("creating {}", dir.display()))?;
        }
    }
    // bound under umask 077: the socket is never reachable by others, not even between
    // bind and chmod
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let bound = tokio::net::UnixListener::bind(path);
    nix::sys::stat::umask(old);
    let l = bound.with_context(|| format!("binding control socket {}", path.display()))?;
    let Some(gid) = group else {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("chmod 0600 {}", path.display()))?;
        return Ok(l);
    };
    // the group first, then its bits: no other group ever gets in
    nix::unistd::chown(path, None, Some(gid))
        .with_context(|| format!("chgrp {gid} {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .with_context(|| format!("chmod 0660 {}", path.display()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        use std::os::unix::fs::MetadataExt;
        let md = std::fs::metadata(dir).with_context(|| format!("{}", dir.display()))?;
        if md.uid() == nix::unistd::geteuid().as_raw() {
            nix::unistd::chown(dir, None, Some(gid))
                .with_context(|| format!("chgrp {gid} {}", dir.display()))?;
            // enter only: the group reaches the socket, not a listing
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o710))
                .with_context(|| format!("chmod 0710 {}", dir.display()))?;
        } else if md.mode() & 0o011 == 0 {
            tracing::warn!(dir = %dir.display(), "control.group is set but the socket's directory is not ours and others cannot enter it");
        }
    }
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn socket_is_owner_only_in_a_private_directory() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let sock = d.path().join("run/aibomd/control.sock");
        let _l = bind_unix(&sock, None).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&sock), 0o600);
        assert_eq!(mode(sock.parent().unwrap()), 0o700);
        assert_eq!(mode(&d.path().join("run")), 0o700);
    }

    #[tokio::test]
    async fn with_a_group_the_socket_is_0660_of_it_and_its_directory_enter_only() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let d = tempfile::tempdir().unwrap();
        let sock = d.path().join("run/aibomd/control.sock");
        // our own primary group: chgrp to it needs no privilege
        let gid = nix::unistd::getegid();
        let _l = bind_unix(&sock, Some(gid)).unwrap();
        let md = |p: &Path| std::fs::metadata(p).unwrap();
        assert_eq!(md(&sock).permissions().mode() & 0o777, 0o660);
        assert_eq!(md(&sock).gid(), gid.as_raw());
        let dir = sock.parent().unwrap();
        assert_eq!(md(dir).permissions().mode() & 0o777, 0o710);
        assert_eq!(md(dir).gid(), gid.as_raw());
    }

    #[test]
    fn an_unknown_group_is_an_error_naming_it() {
        let cfg = ControlConfig {
            group: Some("no-such-group-aibomd".into()),
            ..Default::default()
        };
        let e = cfg.group_id().unwrap_err().to_string();
        assert!(e.contains("no-such-group-aibomd"), "{e}");
        let n = ControlConfig {
            group: Some("4242".into()),
            ..Default::default()
        };
        assert_eq!(n.group_id().unwrap().unwrap().as_raw(), 4242);
    }

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        // As require_token calls it: (given, configured).
        let want = b"s3cret-control-token";
        assert!(constant_time_eq(want, want));
        assert!(
            !constant_time_eq(b"s3cret-control-tokeN", want),
            "same length"
        );
        assert!(!constant_time_eq(b"s3cret-control", want), "prefix");
        assert!(!constant_time_eq(b"s3cret-control-token2", want), "longer");
        assert!(!constant_time_eq(b"", want), "empty");
    }

    #[test]
    fn only_loopback_http() {
        assert!(check_loopback("127.0.0.1:7070".parse().unwrap()).is_ok());
        assert!(check_loopback("[::1]:7070".parse().unwrap()).is_ok());
        assert!(check_loopback("0.0.0.0:7070".parse().unwrap()).is_err());
    }

    #[test]
    fn a_regular_file_is_never_replaced_by_the_socket() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("x.sock");
        std::fs::write(&f, "keep").unwrap();
        let e = bind_unix(&f, None).unwrap_err().to_string();
        assert!(e.contains("not a socket"), "{e}");
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "keep");
    }
}

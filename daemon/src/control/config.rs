//! `[control]`: where the control API listens and how it is protected.
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// The Unix socket used when `control.socket` is not set.
pub const DEFAULT_SOCKET: &str = "/run/aibomd/control.sock";

/// Control API settings (`aibomd daemon` only).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ControlConfig {
    /// Unix socket to serve on (mode 0600). Unset: `/run/aibomd/control.sock`, skipped with
    /// a warning when unusable; set: an error when unusable; `""`: no socket.
    pub socket: Option<PathBuf>,
    /// Group (name or number) whose members may use the socket: it becomes 0660 of this
    /// group, and its directory, when aibomd owns it, 0710 of this group (enter only).
    /// For a non-root sidecar; unset: root only.
    pub group: Option<String>,
    /// Also serve HTTP on this loopback address (e.g. `127.0.0.1:7070`); needs a token.
    pub listen: Option<SocketAddr>,
    /// File holding the bearer token (`AIBOM_DAEMON_TOKEN` is used when this is unset).
    pub token_file: Option<PathBuf>,
    /// Longest scan accepted, seconds.
    pub max_scan_duration_secs: u64,
    /// Scans running at once.
    pub max_running_scans: usize,
    /// Ended scans remembered for `GET /v1/scans`.
    pub max_remembered_scans: usize,
}

impl Default for ControlConfig {
    fn default() -> Self {
        Self {
            socket: None,
            group: None,
            listen: None,
            token_file: None,
            max_scan_duration_secs: 86_400,
            max_running_scans: 64,
            max_remembered_scans: 1_000,
        }
    }
}

impl ControlConfig {
    /// The socket to serve on, if any.
    pub fn socket(&self) -> Option<PathBuf> {
        match &self.socket {
            None => Some(PathBuf::from(DEFAULT_SOCKET)),
            Some(p) if p.as_os_str().is_empty() => None,
            Some(p) => Some(p.clone()),
        }
    }

    /// True when the socket path was configured (so failing to bind it is an error).
    pub fn socket_explicit(&self) -> bool {
        self.socket.is_some()
    }

    /// The bearer token: from `token_file`, else `AIBOM_DAEMON_TOKEN`, else none.
    pub fn token(&self) -> Result<Option<String>> {
        let t = match &self.token_file {
            Some(f) => Some(
                std::fs::read_to_string(f)
                    .with_context(|| format!("reading control token file {}", f.display()))?,
            ),
            None => std::env::var("AIBOM_DAEMON_TOKEN").ok(),
        };
        let t = t.map(|t| t.trim().to_string());
        if t.as_deref() == Some("") {
            anyhow::bail!("the control token is empty (AIBOM_DAEMON_TOKEN or control.token_file)");
        }
        Ok(t)
    }

    /// The group of `group`, resolved (a name, or a number).
    pub fn group_id(&self) -> Result<Option<nix::unistd::Gid>> {
        let Some(g) = self.group.as_deref() else {
            return Ok(None);
        };
        if let Ok(n) = g.parse::<u32>() {
            return Ok(Some(nix::unistd::Gid::from_raw(n)));
        }
        match nix::unistd::Group::from_name(g) {
            Ok(Some(gr)) => Ok(Some(gr.gid)),
            Ok(None) => anyhow::bail!("control.group = {g:?}: no such group"),
            Err(e) => Err(e).with_context(|| format!("looking up control.group {g:?}")),
        }
    }

    /// The limits of the scan book.
    pub fn limits(&self) -> crate::scan::ScanLimits {
        crate::scan::ScanLimits {
            max_duration: self.max_scan_duration_secs,
            max_running: self.max_running_scans,
            max_remembered: self.max_remembered_scans,
        }
    }
}

//! `[api]`: seeing AI API calls.
use std::collections::BTreeMap;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// AI API call settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Trace AI API calls (connect/write/read tracepoints, OpenSSL uprobes).
    pub enabled: bool,
    /// Parse TLS responses too (the answering model, token usage, status): return
    /// probes on `SSL_read`/`SSL_read_ex`, which every TLS read of every process then
    /// pays, about 15 µs on these VMs (benches/README.md#api). Off (the default): TLS
    /// requests only; plain-HTTP responses (local servers) are parsed either way.
    pub responses: bool,
    /// Bytes of a request (or response) body the kernel scans for its model and token
    /// counts before giving up on it (counted in `aibom.api.dropped`).
    pub scan_bytes: u32,
    /// More API hosts: server name (a leading `*.` matches subdomains) → provider value
    /// (`openai`, `openai-compatible`, `vllm`, …). Exact names are parsed in the kernel;
    /// patterns give provider and host from the TLS server name only.
    pub hosts: BTreeMap<String, String>,
    /// A call is complete once its connection has been quiet this long after its
    /// response began (milliseconds); without any response it waits a minute.
    pub quiet_ms: u64,
    /// Connections followed at most at once (the oldest are completed first).
    pub max_connections: usize,
    /// Also attach the OpenSSL uprobes to these library files at start (the system's
    /// `libssl.so.3` is found by itself; libraries a process maps later are attached
    /// when it first speaks TLS).
    pub tls_libraries: Vec<std::path::PathBuf>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            responses: false,
            scan_bytes: 64 << 10,
            hosts: BTreeMap::new(),
            quiet_ms: 1000,
            max_connections: 4096,
            tls_libraries: Vec::new(),
        }
    }
}

impl ApiConfig {
    /// `hosts` with provider values checked against the registry.
    pub fn extra_hosts(&self) -> Result<Vec<(String, &'static str)>> {
        let mut out = Vec::new();
        for (host, prov) in &self.hosts {
            let Some(p) = super::providers::provider_value(prov) else {
                bail!(
                    "api.hosts.\"{host}\": unknown provider `{prov}` (one of: {})",
                    aibom_semconv::api_provider::ALL.join(", ")
                );
            };
            if host.len() > 63 || host.is_empty() {
                bail!("api.hosts.\"{host}\": a host name of 1 to 63 bytes");
            }
            out.push((host.to_ascii_lowercase(), p));
        }
        Ok(out)
    }
}

//! OTLP export settings: the config file's `[export.otlp]` table, then the standard
//! `OTEL_EXPORTER_OTLP_*` environment variables on top (they win, as the OTel spec asks).
use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use super::request::Signal;

/// OTLP wire protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Protocol {
    /// OTLP over gRPC (default port 4317).
    #[default]
    #[serde(rename = "grpc")]
    Grpc,
    /// OTLP over HTTP with protobuf bodies (default port 4318).
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
}

impl Protocol {
    fn parse(s: &str) -> Result<Self> {
        match s.trim() {
            "grpc" => Ok(Self::Grpc),
            "http/protobuf" => Ok(Self::HttpProtobuf),
            "http/json" => {
                bail!("OTLP protocol http/json is not supported; use grpc or http/protobuf")
            }
            other => bail!("unknown OTLP protocol {other:?}; use grpc or http/protobuf"),
        }
    }
}

/// Compression of request bodies (`OTEL_EXPORTER_OTLP_COMPRESSION`): gRPC message
/// compression, or `Content-Encoding` over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Uncompressed (the default).
    #[default]
    None,
    /// gzip.
    Gzip,
}

impl Compression {
    /// Parses the value of the environment variable `var`.
    fn parse(var: &str, v: &str) -> Result<Self> {
        match v.trim() {
            "gzip" => Ok(Self::Gzip),
            "none" => Ok(Self::None),
            other => bail!("{var}={other:?} is not a known OTLP compression; use gzip or none"),
        }
    }
}

/// Per-signal overrides (`OTEL_EXPORTER_OTLP_{LOGS,TRACES,METRICS}_*`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct SignalConfig {
    /// Full URL for this signal (HTTP: used as is, no `/v1/...` appended).
    pub endpoint: Option<String>,
    pub protocol: Option<Protocol>,
    pub headers: BTreeMap<String, String>,
    /// `gzip` or `none` for this signal (`OTEL_EXPORTER_OTLP_{LOGS,...}_COMPRESSION`).
    pub compression: Option<Compression>,
}

/// Where and how OTLP data is sent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct OtlpConfig {
    /// Collector base URL (`OTEL_EXPORTER_OTLP_ENDPOINT`). Unset: no OTLP export.
    pub endpoint: Option<String>,
    /// `grpc` or `http/protobuf` (`OTEL_EXPORTER_OTLP_PROTOCOL`).
    pub protocol: Protocol,
    /// Extra request headers (`OTEL_EXPORTER_OTLP_HEADERS=k1=v1,k2=v2`).
    pub headers: BTreeMap<String, String>,
    /// `gzip` or `none` (`OTEL_EXPORTER_OTLP_COMPRESSION`): compresses every request
    /// body (gRPC message compression; `Content-Encoding: gzip` over HTTP). Costs CPU,
    /// saves bandwidth; the spool keeps requests uncompressed.
    pub compression: Compression,
    pub logs: SignalConfig,
    pub traces: SignalConfig,
    pub metrics: SignalConfig,
    /// Request timeout in ms (`OTEL_EXPORTER_OTLP_TIMEOUT`).
    pub timeout_ms: u64,
    /// PEM CA bundle to verify the collector (`OTEL_EXPORTER_OTLP_CERTIFICATE`).
    pub certificate: Option<PathBuf>,
    /// PEM client certificate and key for mTLS (`OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`/`_KEY`).
    pub client_certificate: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// On-disk spool for data the collector has not accepted yet.
    pub spool_dir: PathBuf,
    /// Spool size cap in bytes; beyond it the oldest batches are dropped (and counted).
    pub spool_max_bytes: u64,
    /// Requests sent to the collector at once, at most (1: one at a time, strictly in
    /// order). With N > 1 requests still leave in spool order (per signal) and each is
    /// removed from the spool only once accepted, but the collector may finish them out of
    /// order: a request can arrive before one up to N - 1 places older. After a failure
    /// the oldest request is retried alone until the collector accepts again.
    pub max_in_flight: usize,
    /// Bytes of one request at most (uncompressed): spooled requests of a signal are
    /// merged up to it when a backlog is replayed. The default is the 4 MiB that gRPC
    /// servers accept by default. Delivery holds at most `max_in_flight` × this in memory.
    pub max_request_bytes: u64,
    /// How long shutdown waits for the collector to take the spool (ms); what is left
    /// stays on disk and is sent by the next aibomd start.
    pub shutdown_timeout_ms: u64,
    /// Interval of aibomd's own metrics (`OTEL_METRIC_EXPORT_INTERVAL`, ms).
    pub metrics_interval_ms: u64,
    /// A partial batch of log records is sealed into the spool (written and fsync'd) at
    /// least this often (ms). Until then its records are only in memory: a SIGKILL or a
    /// power cut loses at most this much; shorter means more, smaller requests.
    pub seal_interval_ms: u64,
    /// Bytes the open `aibom.process` spans may hold (their attributes and span events,
    /// estimated); beyond it the spans holding the most are ended early (exported as they
    /// are; the process's next access starts a new span).
    pub spans_max_bytes: u64,
}

impl Default for OtlpConfig {
    fn default() -> Self {
        let spool = if nix::unistd::geteuid().is_root() {
            PathBuf::from("/var/lib/aibomd/spool")
        } else {
            std::env::var_os("XDG_STATE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
                .unwrap_or_else(std::env::temp_dir)
                .join("aibomd/spool")
        };
        Self {
            endpoint: None,
            protocol: Protocol::Grpc,
            headers: BTreeMap::new(),
            compression: Compression::None,
            logs: SignalConfig::default(),
            traces: SignalConfig::default(),
            metrics: SignalConfig::default(),
            timeout_ms: 10_000,
            certificate: None,
            client_certificate: None,
            client_key: None,
            spool_dir: spool,
            spool_max_bytes: 256 << 20,
            max_in_flight: 4,
            max_request_bytes: 4 << 20,
            shutdown_timeout_ms: 10_000,
            metrics_interval_ms: 10_000,
            seal_interval_ms: 1_000,
            spans_max_bytes: 32 << 20,
        }
    }
}

/// Where one signal goes, fully resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub url: String,
    pub protocol: Protocol,
    pub headers: Vec<(String, String)>,
    pub compression: Compression,
}

impl OtlpConfig {
    /// Applies `OTEL_EXPORTER_OTLP_*` variables from `env`.
    pub fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<()> {
        let p = "OTEL_EXPORTER_OTLP_";
        if let Some(v) = env(&format!("{p}ENDPOINT")) {
            self.endpoint = Some(v);
        }
        if let Some(v) = env(&format!("{p}PROTOCOL")) {
            self.protocol = Protocol::parse(&v)?;
        }
        if let Some(v) = env(&format!("{p}HEADERS")) {
            self.headers.extend(parse_headers(&v)?);
        }
        let var = format!("{p}COMPRESSION");
        if let Some(v) = env(&var) {
            self.compression = Compression::parse(&var, &v)?;
        }
        if let Some(v) = env(&format!("{p}TIMEOUT")) {
            self.timeout_ms = v
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("{p}TIMEOUT={v:?} is not milliseconds"))?;
        }
        for (k, f) in [
            ("CERTIFICATE", &mut self.certificate),
            ("CLIENT_CERTIFICATE", &mut self.client_certificate),
            ("CLIENT_KEY", &mut self.client_key),
        ] {
            if let Some(v) = env(&format!("{p}{k}")) {
                *f = Some(v.into());
            }
        }
        if let Some(v) = env("OTEL_METRIC_EXPORT_INTERVAL") {
            self.metrics_interval_ms = v.trim().parse().map_err(|_| {
                anyhow::anyhow!("OTEL_METRIC_EXPORT_INTERVAL={v:?} is not milliseconds")
            })?;
        }
        for (name, sc) in [
            ("LOGS", &mut self.logs),
            ("TRACES", &mut self.traces),
            ("METRICS", &mut self.metrics),
        ] {
            if let Some(v) = env(&format!("{p}{name}_ENDPOINT")) {
                sc.endpoint = Some(v);
            }
            if let Some(v) = env(&format!("{p}{name}_PROTOCOL")) {
                sc.protocol = Some(Protocol::parse(&v)?);
            }
            if let Some(v) = env(&format!("{p}{name}_HEADERS")) {
                sc.headers.extend(parse_headers(&v)?);
            }
            let var = format!("{p}{name}_COMPRESSION");
            if let Some(v) = env(&var) {
                sc.compression = Some(Compression::parse(&var, &v)?);
            }
        }
        Ok(())
    }

    /// True when any endpoint is configured.
    pub fn enabled(&self) -> bool {
        self.endpoint.is_some()
            || [&self.logs, &self.traces, &self.metrics]
                .iter()
                .any(|s| s.endpoint.is_some())
    }

    /// The resolved target of `signal`, following the OTLP exporter spec: a per-signal
    /// endpoint is used as is; the base endpoint gets `/v1/{signal}` appended for HTTP.
    pub fn target(&self, signal: Signal) -> Option<Target> {
        let sc = match signal {
            Signal::Logs => &self.logs,
            Signal::Traces => &self.traces,
            Signal::Metrics => &self.metrics,
        };
        let protocol = sc.protocol.unwrap_or(self.protocol);
        let url = match (&sc.endpoint, &self.endpoint) {
            (Some(u), _) => u.clone(),
            (None, Some(base)) => match protocol {
                Protocol::Grpc => base.clone(),
                Protocol::HttpProtobuf => {
                    format!("{}/v1/{}", base.trim_end_matches('/'), signal.path())
                }
            },
            (None, None) => return None,
        };
        let mut headers: BTreeMap<_, _> = self.headers.clone();
        headers.extend(sc.headers.clone());
        Some(Target {
            url,
            protocol,
            headers: headers.into_iter().collect(),
            compression: sc.compression.unwrap_or(self.compression),
        })
    }
}

/// `k1=v1,k2=v2` with percent-decoded values (W3C baggage style, as the spec says).
pub fn parse_headers(s: &str) -> Result<Vec<(String, String)>> {
    s.split(',')
        .filter(|kv| !kv.trim().is_empty())
        .map(|kv| {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("OTLP header {kv:?} is not key=value"))?;
            Ok((k.trim().to_ascii_lowercase(), percent_decode(v.trim())))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn http_base_endpoint_gets_signal_paths_and_signal_overrides_win() {
        let mut c = OtlpConfig::default();
        c.apply_env(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://col:4318/"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "Authorization=Bearer%20x,team=ml",
            ),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://other:9999/custom",
            ),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "team=infra"),
        ]))
        .unwrap();
        let logs = c.target(Signal::Logs).unwrap();
        assert_eq!(logs.url, "http://col:4318/v1/logs");
        assert!(logs
            .headers
            .contains(&("authorization".into(), "Bearer x".into())));
        let traces = c.target(Signal::Traces).unwrap();
        assert_eq!(traces.url, "http://other:9999/custom");
        assert!(traces.headers.contains(&("team".into(), "infra".into())));
    }

    #[test]
    fn grpc_endpoint_is_used_as_is_and_bad_protocols_are_named() {
        let mut c = OtlpConfig::default();
        assert!(!c.enabled());
        c.apply_env(env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://col:4317")]))
            .unwrap();
        assert_eq!(c.target(Signal::Metrics).unwrap().url, "https://col:4317");
        let err = c
            .apply_env(env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "thrift")]))
            .unwrap_err();
        assert!(err.to_string().contains("thrift"));
    }

    #[test]
    fn compression_per_signal_overrides_and_unknown_values_name_the_variable() {
        let mut c = OtlpConfig::default();
        c.apply_env(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://col:4317"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
            ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "none"),
        ]))
        .unwrap();
        assert_eq!(
            c.target(Signal::Logs).unwrap().compression,
            Compression::Gzip
        );
        assert_eq!(
            c.target(Signal::Metrics).unwrap().compression,
            Compression::None
        );
        let err = c
            .apply_env(env(&[("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "zstd")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION") && err.contains("zstd"),
            "{err}"
        );
        assert_eq!(OtlpConfig::default().max_in_flight, 4);
    }
}

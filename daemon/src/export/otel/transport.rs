//! Sending one encoded request to the collector over OTLP/gRPC (tonic) or OTLP/HTTP with
//! protobuf bodies (reqwest), optionally gzip-compressed, with the OTLP spec's retry rules.
use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use tonic::metadata::{MetadataKey, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use super::config::{Compression, OtlpConfig, Protocol, Target};
use super::grpc;
use super::request::Signal;

/// Why a send failed, and whether trying again can help.
#[derive(Debug)]
pub struct SendError {
    pub retryable: bool,
    pub kind: Failure,
    pub message: String,
}

/// What kind of refusal a failed send was, beyond retryable or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Down, slow, or refused for a reason `retryable` describes.
    Other,
    /// The credentials were refused (HTTP 401/403, gRPC UNAUTHENTICATED/PERMISSION_DENIED):
    /// kept and retried, a token rotation must not lose the spool.
    Auth,
    /// The request is over the collector's size limit (HTTP 413, gRPC RESOURCE_EXHAUSTED
    /// or OUT_OF_RANGE): a run of several spooled requests is split and sent again.
    TooLarge,
}

/// What the collector said about an accepted request.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Items it refused (`partial_success.rejected_*`).
    pub rejected: u64,
    /// Its `partial_success.error_message`.
    pub message: String,
}

/// The `partial_success` of an `Export*ServiceResponse` of `signal` (an empty or
/// undecodable body: nothing rejected).
pub fn partial_success(signal: Signal, body: &[u8]) -> Accepted {
    use opentelemetry_proto::tonic::collector::{logs, metrics, trace};
    use prost::Message;
    let got = match signal {
        Signal::Logs => logs::v1::ExportLogsServiceResponse::decode(body)
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| (p.rejected_log_records, p.error_message)),
        Signal::Traces => trace::v1::ExportTraceServiceResponse::decode(body)
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| (p.rejected_spans, p.error_message)),
        Signal::Metrics => metrics::v1::ExportMetricsServiceResponse::decode(body)
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| (p.rejected_data_points, p.error_message)),
    };
    got.map(|(n, message)| Accepted {
        rejected: n.max(0) as u64,
        message,
    })
    .unwrap_or_default()
}

/// The client of one signal.
enum Client {
    Grpc {
        channel: Channel,
        headers: Vec<(String, String)>,
        gzip: bool,
    },
    Http {
        client: reqwest::Client,
        url: String,
        headers: Vec<(String, String)>,
        gzip: bool,
    },
}

/// Clients for the configured signals.
pub struct Transport {
    logs: Option<Client>,
    traces: Option<Client>,
    metrics: Option<Client>,
}

impl Transport {
    /// Builds clients (connections are made lazily, so a collector that is down at start
    /// is not an error).
    pub fn new(cfg: &OtlpConfig) -> Result<Self> {
        let build = |s| cfg.target(s).map(|t| client(cfg, t)).transpose();
        Ok(Self {
            logs: build(Signal::Logs)?,
            traces: build(Signal::Traces)?,
            metrics: build(Signal::Metrics)?,
        })
    }

    /// True when `signal` has a destination.
    pub fn has(&self, signal: Signal) -> bool {
        self.client(signal).is_some()
    }

    fn client(&self, signal: Signal) -> Option<&Client> {
        match signal {
            Signal::Logs => self.logs.as_ref(),
            Signal::Traces => self.traces.as_ref(),
            Signal::Metrics => self.metrics.as_ref(),
        }
    }

    /// Sends the protobuf bytes of an export request of `signal`; Ok when the collector
    /// accepted it.
    pub async fn send(&self, signal: Signal, body: Bytes) -> Result<Accepted, SendError> {
        self.send_parts(signal, vec![body]).await
    }

    /// Sends export requests of `signal` as one (their bytes back to back: protobuf's
    /// merge), without concatenating them first over gRPC; Ok when the collector
    /// accepted it.
    pub async fn send_parts(
        &self,
        signal: Signal,
        body: Vec<Bytes>,
    ) -> Result<Accepted, SendError> {
        let Some(c) = self.client(signal) else {
            return Ok(Accepted::default()); // signal not exported: nothing to do
        };
        match c {
            Client::Grpc {
                channel,
                headers,
                gzip,
            } => send_grpc(channel.clone(), headers, signal, body, *gzip)
                .await
                .map(|b| partial_success(signal, &b)),
            Client::Http {
                client,
                url,
                headers,
                gzip,
            } => {
                let body = match <[Bytes; 1]>::try_from(body) {
                    Ok([one]) => one,
                    Err(parts) => parts.concat().into(),
                };
                send_http(client, url, headers, body, *gzip)
                    .await
                    .map(|b| partial_success(signal, &b))
            }
        }
    }
}

fn read(p: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(p).with_context(|| format!("reading {}", p.display()))
}

fn client(cfg: &OtlpConfig, t: Target) -> Result<Client> {
    let gzip = t.compression == Compression::Gzip;
    let timeout = Duration::from_millis(cfg.timeout_ms);
    match t.protocol {
        Protocol::Grpc => {
            let mut ep = Endpoint::from_shared(t.url.clone())
                .with_context(|| format!("invalid OTLP endpoint {:?}", t.url))?
                .timeout(timeout)
                .connect_timeout(timeout.min(Duration::from_secs(5)));
            if t.url.starts_with("https://") {
                let mut tls = ClientTlsConfig::new().with_native_roots();
                if let Some(ca) = &cfg.certificate {
                    tls = tls.ca_certificate(Certificate::from_pem(read(ca)?));
                }
                if let (Some(c), Some(k)) = (&cfg.client_certificate, &cfg.client_key) {
                    tls = tls.identity(Identity::from_pem(read(c)?, read(k)?));
                }
                ep = ep.tls_config(tls).context("OTLP TLS configuration")?;
            }
            Ok(Client::Grpc {
                channel: ep.connect_lazy(),
                headers: t.headers,
                gzip,
            })
        }
        Protocol::HttpProtobuf => {
            let mut b = reqwest::Client::builder().timeout(timeout);
            if let Some(ca) = &cfg.certificate {
                b = b.add_root_certificate(
                    reqwest::Certificate::from_pem(&read(ca)?).context("OTLP CA certificate")?,
                );
            }
            if let (Some(c), Some(k)) = (&cfg.client_certificate, &cfg.client_key) {
                let mut pem = read(c)?;
                pem.extend(read(k)?);
                b = b.identity(
                    reqwest::Identity::from_pem(&pem).context("OTLP client certificate")?,
                );
            }
            Ok(Client::Http {
                client: b.build().context("building the OTLP HTTP client")?,
                url: t.url,
                headers: t.headers,
                gzip,
            })
        }
    }
}

async fn send_grpc(
    channel: Channel,
    headers: &[(String, String)],
    signal: Signal,
    body: Vec<Bytes>,
    gzip: bool,
) -> Result<Bytes, SendError> {
    let mut req = tonic::Request::new(body);
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            MetadataKey::from_bytes(k.as_bytes()),
            MetadataValue::try_from(v.as_str()),
        ) {
            req.metadata_mut().insert(k, v);
        }
    }
    let res = grpc::export(channel, signal, req, gzip).await;
    res.map_err(|s| {
        use tonic::Code::*;
        SendError {
            retryable: matches!(
                s.code(),
                Unavailable
                    | ResourceExhausted
                    | DeadlineExceeded
                    | Aborted
                    | Cancelled
                    | DataLoss
                    | Unknown
            ),
            // OUT_OF_RANGE is what tonic and grpc servers answer for a message over their
            // receive limit: the same bytes can never pass (a run of several is split)
            kind: match s.code() {
                Unauthenticated | PermissionDenied => Failure::Auth,
                ResourceExhausted | OutOfRange => Failure::TooLarge,
                _ => Failure::Other,
            },
            message: format!("gRPC {:?}: {}", s.code(), s.message()),
        }
    })
}

async fn send_http(
    client: &reqwest::Client,
    url: &str,
    headers: &[(String, String)],
    body: Bytes,
    gzip: bool,
) -> Result<Bytes, SendError> {
    let mut rb = client
        .post(url)
        .header("content-type", "application/x-protobuf");
    rb = if gzip {
        rb.header("content-encoding", "gzip")
            .body(gzip_bytes(&body))
    } else {
        rb.body(body)
    };
    for (k, v) in headers {
        rb = rb.header(k, v);
    }
    match rb.send().await {
        // the body is an Export*ServiceResponse (we send protobuf); read for partial_success
        Ok(r) if r.status().is_success() => Ok(r.bytes().await.unwrap_or_default()),
        Ok(r) => {
            let code = r.status().as_u16();
            Err(SendError {
                retryable: matches!(code, 408 | 429 | 502 | 503 | 504),
                kind: match code {
                    401 | 403 => Failure::Auth,
                    413 => Failure::TooLarge,
                    _ => Failure::Other,
                },
                message: format!("HTTP {code} from {url}"),
            })
        }
        Err(e) => Err(SendError {
            retryable: true,
            kind: Failure::Other,
            message: format!("{url}: {e}"),
        }),
    }
}

/// gzip of `body`. Level 1: request bodies are repetitive (the same keys, resource and
/// paths again and again), so the fastest level already shrinks them several times over.
fn gzip_bytes(body: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::fast(),
    );
    e.write_all(body).expect("writing to a Vec cannot fail");
    e.finish().expect("writing to a Vec cannot fail")
}

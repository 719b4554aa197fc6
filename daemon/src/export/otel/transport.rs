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
    pub message: String,
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
    pub async fn send(&self, signal: Signal, body: Bytes) -> Result<(), SendError> {
        self.send_parts(signal, vec![body]).await
    }

    /// Sends export requests of `signal` as one (their bytes back to back: protobuf's
    /// merge), without concatenating them first over gRPC; Ok when the collector
    /// accepted it.
    pub async fn send_parts(&self, signal: Signal, body: Vec<Bytes>) -> Result<(), SendError> {
        let Some(c) = self.client(signal) else {
            return Ok(()); // signal not exported: nothing to do
        };
        match c {
            Client::Grpc {
                channel,
                headers,
                gzip,
            } => send_grpc(channel.clone(), headers, signal, body, *gzip).await,
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
                send_http(client, url, headers, body, *gzip).await
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
) -> Result<(), SendError> {
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
                    | OutOfRange
                    | DataLoss
                    | Unknown
            ),
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
) -> Result<(), SendError> {
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
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => {
            let code = r.status().as_u16();
            Err(SendError {
                retryable: matches!(code, 408 | 429 | 502 | 503 | 504),
                message: format!("HTTP {code} from {url}"),
            })
        }
        Err(e) => Err(SendError {
            retryable: true,
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

//! One OTLP export request, of any signal, as it travels through spool and transport.
use std::borrow::Cow;

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::{
    logs::v1::ExportLogsServiceRequest, metrics::v1::ExportMetricsServiceRequest,
    trace::v1::ExportTraceServiceRequest,
};
use prost::Message;

/// The OTLP signal of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    Logs,
    Traces,
    Metrics,
}

impl Signal {
    /// Path segment of the OTLP/HTTP endpoint (`/v1/{path}`), also used in spool file names.
    pub fn path(self) -> &'static str {
        match self {
            Signal::Logs => "logs",
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
        }
    }

    /// Inverse of [`Signal::path`].
    pub fn from_path(s: &str) -> Option<Self> {
        [Signal::Logs, Signal::Traces, Signal::Metrics]
            .into_iter()
            .find(|x| x.path() == s)
    }
}

/// An export request: typed (built by the SDK processors) or already protobuf-encoded
/// (access records, encoded straight from the model by [`super::logs`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Logs(ExportLogsServiceRequest),
    Traces(ExportTraceServiceRequest),
    Metrics(ExportMetricsServiceRequest),
    Encoded(Encoded),
}

/// The protobuf bytes of an `Export{Logs,Trace,Metrics}ServiceRequest`.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub signal: Signal,
    /// Log records, spans or data points inside.
    pub items: u64,
    /// Shared, not copied, between the spool's in-memory cache and the transport.
    pub body: Bytes,
}

impl Request {
    pub fn signal(&self) -> Signal {
        match self {
            Request::Logs(_) => Signal::Logs,
            Request::Traces(_) => Signal::Traces,
            Request::Metrics(_) => Signal::Metrics,
            Request::Encoded(e) => e.signal,
        }
    }

    /// Log records, spans or data points inside.
    pub fn items(&self) -> u64 {
        let n: usize = match self {
            Request::Logs(r) => r
                .resource_logs
                .iter()
                .flat_map(|r| &r.scope_logs)
                .map(|s| s.log_records.len())
                .sum(),
            Request::Traces(r) => r
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .map(|s| s.spans.len())
                .sum(),
            Request::Metrics(r) => r
                .resource_metrics
                .iter()
                .flat_map(|r| &r.scope_metrics)
                .map(|s| s.metrics.len())
                .sum(),
            Request::Encoded(e) => return e.items,
        };
        n as u64
    }

    /// Appends `other` (same signal) to this request; false if the signals differ.
    /// Encoded requests are concatenated: in protobuf, the concatenation of two messages
    /// is their merge, and every field of an export request is a repeated one.
    pub fn merge(&mut self, other: Request) -> bool {
        if self.signal() != other.signal() {
            return false;
        }
        match (&mut *self, other) {
            (Request::Logs(a), Request::Logs(b)) => a.resource_logs.extend(b.resource_logs),
            (Request::Traces(a), Request::Traces(b)) => a.resource_spans.extend(b.resource_spans),
            (Request::Metrics(a), Request::Metrics(b)) => {
                a.resource_metrics.extend(b.resource_metrics)
            }
            (_, other) => {
                let items = self.items() + other.items();
                let mut body =
                    std::mem::replace(self, Request::Logs(Default::default())).into_bytes();
                body.extend_from_slice(&other.bytes());
                *self = Request::Encoded(Encoded {
                    signal: other.signal(),
                    items,
                    body: body.into(),
                });
            }
        }
        true
    }

    /// Protobuf bytes (a copy).
    pub fn encode(&self) -> Vec<u8> {
        self.bytes().into_owned()
    }

    /// Protobuf bytes, borrowed when the request is already encoded.
    pub fn bytes(&self) -> Cow<'_, [u8]> {
        match self {
            Request::Logs(r) => Cow::Owned(r.encode_to_vec()),
            Request::Traces(r) => Cow::Owned(r.encode_to_vec()),
            Request::Metrics(r) => Cow::Owned(r.encode_to_vec()),
            Request::Encoded(e) => Cow::Borrowed(&e.body),
        }
    }

    /// Protobuf bytes (a copy when the request is already encoded).
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            Request::Encoded(e) => e.body.into(),
            typed => typed.encode(),
        }
    }

    /// Protobuf bytes, shared without a copy when the request is already encoded.
    pub fn body(&self) -> Bytes {
        match self {
            Request::Encoded(e) => e.body.clone(),
            typed => typed.encode().into(),
        }
    }

    /// The typed form (decodes an encoded request).
    pub fn typed(self) -> Result<Self, prost::DecodeError> {
        match self {
            Request::Encoded(e) => Self::decode(e.signal, &e.body),
            typed => Ok(typed),
        }
    }

    /// From protobuf bytes of `signal`.
    pub fn decode(signal: Signal, b: &[u8]) -> Result<Self, prost::DecodeError> {
        Ok(match signal {
            Signal::Logs => Request::Logs(ExportLogsServiceRequest::decode(b)?),
            Signal::Traces => Request::Traces(ExportTraceServiceRequest::decode(b)?),
            Signal::Metrics => Request::Metrics(ExportMetricsServiceRequest::decode(b)?),
        })
    }

    /// OTLP JSON (protobuf JSON mapping), as the collector's file exporter writes it.
    pub fn to_json(&self) -> String {
        match self {
            Request::Logs(r) => serde_json::to_string(r),
            Request::Traces(r) => serde_json::to_string(r),
            Request::Metrics(r) => serde_json::to_string(r),
            Request::Encoded(e) => {
                return Self::decode(e.signal, &e.body)
                    .expect("aibomd's own encoding decodes")
                    .to_json()
            }
        }
        .expect("OTLP requests serialize")
    }
}

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

    /// Two requests with the first and the second half of the items (log records, spans,
    /// metrics), each under its resource and scope; `None` for fewer than two items.
    pub fn halves(self) -> Result<Option<(Request, Request)>, prost::DecodeError> {
        let n = self.items() as usize;
        if n < 2 {
            return Ok(None);
        }
        let at = n / 2;
        Ok(Some(match self.typed()? {
            Request::Logs(r) => {
                let (a, b) = split_nested(
                    r.resource_logs,
                    at,
                    |r| &mut r.scope_logs,
                    |s| &mut s.log_records,
                );
                (
                    Request::Logs(ExportLogsServiceRequest { resource_logs: a }),
                    Request::Logs(ExportLogsServiceRequest { resource_logs: b }),
                )
            }
            Request::Traces(r) => {
                let (a, b) = split_nested(
                    r.resource_spans,
                    at,
                    |r| &mut r.scope_spans,
                    |s| &mut s.spans,
                );
                (
                    Request::Traces(ExportTraceServiceRequest { resource_spans: a }),
                    Request::Traces(ExportTraceServiceRequest { resource_spans: b }),
                )
            }
            Request::Metrics(r) => {
                let (a, b) = split_nested(
                    r.resource_metrics,
                    at,
                    |r| &mut r.scope_metrics,
                    |s| &mut s.metrics,
                );
                (
                    Request::Metrics(ExportMetricsServiceRequest {
                        resource_metrics: a,
                    }),
                    Request::Metrics(ExportMetricsServiceRequest {
                        resource_metrics: b,
                    }),
                )
            }
            Request::Encoded(_) => unreachable!("typed() decodes"),
        }))
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

/// Splits resources (`R`) of scopes (`S`) of items (`I`) after `at` items: a scope the cut
/// goes through is in both halves (its own fields copied), each with its part of the items.
fn split_nested<R: Clone, S: Clone, I>(
    resources: Vec<R>,
    at: usize,
    scopes: fn(&mut R) -> &mut Vec<S>,
    items: fn(&mut S) -> &mut Vec<I>,
) -> (Vec<R>, Vec<R>) {
    let (mut first, mut second) = (Vec::new(), Vec::new());
    let mut left = at;
    for mut r in resources {
        if left == 0 {
            second.push(r);
            continue;
        }
        let all = std::mem::take(scopes(&mut r));
        let mut r2 = r.clone();
        let (mut keep, mut rest) = (Vec::new(), Vec::new());
        for mut s in all {
            let k = items(&mut s).len();
            if left == 0 {
                rest.push(s);
            } else if k <= left {
                left -= k;
                keep.push(s);
            } else {
                let tail = items(&mut s).split_off(left);
                let head = std::mem::take(items(&mut s));
                let mut s2 = s.clone();
                *items(&mut s) = head;
                *items(&mut s2) = tail;
                left = 0;
                keep.push(s);
                rest.push(s2);
            }
        }
        *scopes(&mut r) = keep;
        first.push(r);
        if !rest.is_empty() {
            *scopes(&mut r2) = rest;
            second.push(r2);
        }
    }
    (first, second)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};

    fn logs(shape: &[&[u64]]) -> Request {
        let resource_logs = shape
            .iter()
            .map(|scopes| ResourceLogs {
                scope_logs: scopes
                    .iter()
                    .enumerate()
                    .map(|(i, &n)| ScopeLogs {
                        schema_url: format!("scope-{i}"),
                        log_records: (0..n)
                            .map(|t| LogRecord {
                                time_unix_nano: t,
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect();
        Request::Logs(ExportLogsServiceRequest { resource_logs })
    }

    #[test]
    fn halves_keep_every_item_once_under_its_scope() {
        let req = logs(&[&[3, 4], &[5]]);
        let enc = Request::Encoded(Encoded {
            signal: Signal::Logs,
            items: 12,
            body: req.encode().into(),
        });
        let (a, b) = enc.halves().unwrap().unwrap();
        assert_eq!((a.items(), b.items()), (6, 6));
        let (Request::Logs(a), Request::Logs(b)) = (a, b) else {
            panic!("logs stay logs")
        };
        // the cut went through the second scope of the first resource
        assert_eq!(a.resource_logs.len(), 1);
        assert_eq!(a.resource_logs[0].scope_logs[1].schema_url, "scope-1");
        assert_eq!(a.resource_logs[0].scope_logs[1].log_records.len(), 3);
        assert_eq!(b.resource_logs[0].scope_logs[0].schema_url, "scope-1");
        assert_eq!(
            b.resource_logs[0].scope_logs[0].log_records[0].time_unix_nano,
            3
        );
        assert_eq!(b.resource_logs[1].scope_logs[0].log_records.len(), 5);
        assert!(
            logs(&[&[1]]).halves().unwrap().is_none(),
            "one item: nothing to split"
        );
    }
}

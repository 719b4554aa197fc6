//! Log records straight from the model: each access record (and each scan summary)
//! becomes an OTLP `LogRecord` written as protobuf bytes ([`super::wire`]), with no OTel
//! SDK record and no `opentelemetry_proto` struct in between; [`LogBatch`] collects them
//! into `ExportLogsServiceRequest`s bounded in records and bytes.
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Buf, BytesMut};
use opentelemetry::trace::SpanContext;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::Resource;
use prost::Message;

use super::processor::{pb_resource, pb_scope};
use super::request::{Encoded, Request, Signal};
use super::wire::{
    any_value_field, bytes_field, fixed32_field, fixed64_field, key_value_field, len_field_len,
    len_prefix, varint_field,
};
use crate::export::Value;

/// Records per request at most.
pub const BATCH_RECORDS: u64 = 512;
/// Encoded log records per request at most, in bytes (a single bigger record still goes).
pub const BATCH_BYTES: usize = 1 << 20;

/// A log record's severity (OTLP `SeverityNumber` and its text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Severity {
    #[default]
    Info,
    Warn,
    Error,
}

impl Severity {
    fn number(self) -> u64 {
        match self {
            Severity::Info => 9,
            Severity::Warn => 13,
            Severity::Error => 17,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Warn => "WARN",
            Severity::Error => "ERROR",
        }
    }
}

/// `LogRecord` field tags (opentelemetry/proto/logs/v1/logs.proto).
mod tag {
    pub const TIME: u32 = 1;
    pub const SEVERITY_NUMBER: u32 = 2;
    pub const SEVERITY_TEXT: u32 = 3;
    pub const BODY: u32 = 5;
    pub const ATTRIBUTES: u32 = 6;
    pub const FLAGS: u32 = 8;
    pub const TRACE_ID: u32 = 9;
    pub const SPAN_ID: u32 = 10;
    pub const OBSERVED_TIME: u32 = 11;
    pub const EVENT_NAME: u32 = 12;
}

/// What a log record carries besides its attributes.
pub struct Header<'a> {
    pub event_name: &'a str,
    pub time: SystemTime,
    pub observed: SystemTime,
    /// A string body (the file path of an access).
    pub body: Option<&'a str>,
    /// The span the record belongs to (its process span, its scan span).
    pub span: Option<&'a SpanContext>,
    pub severity: Severity,
}

/// Writes the attributes of one log record (see [`LogBatch::push`]).
pub struct Attributes<'b>(&'b mut Vec<u8>);

impl Attributes<'_> {
    /// Adds one attribute.
    pub fn add(&mut self, key: &str, value: &Value<'_>) {
        key_value_field(tag::ATTRIBUTES, key, value, self.0);
    }
}

/// Encoded log records waiting to be sealed into one request, with the resource and
/// scope every request repeats (encoded once).
pub struct LogBatch {
    /// Encoded `Resource` message, and its schema URL.
    resource: Vec<u8>,
    schema_url: String,
    /// Encoded `InstrumentationScope` message.
    scope: Vec<u8>,
    /// The request being built: [`LogBatch::head_room`] bytes left free for the
    /// enclosing messages' headers (written at [`LogBatch::seal`], once their lengths are
    /// known), then the `log_records` fields of a `ScopeLogs`, back to back. Sealing
    /// hands this buffer over as the request body: records are not copied again.
    buf: BytesMut,
    /// Bytes at the front of `buf` reserved for the headers.
    head_room: usize,
    items: u64,
    scratch: Vec<u8>,
}

impl LogBatch {
    /// An empty batch for records of `resource`, in instrumentation scope `scope`.
    pub fn new(resource: &Resource, scope: &'static str) -> Self {
        let (res, schema_url) = pb_resource(resource);
        let resource = res.encode_to_vec();
        let scope = pb_scope(&InstrumentationScope::builder(scope).build()).encode_to_vec();
        // ExportLogsServiceRequest.resource_logs and ResourceLogs.scope_logs: a one-byte
        // key and a varint length (at most 10 bytes) each; resource and scope fields
        let head_room = 2 * 11 + len_field_len(1, resource.len()) + len_field_len(1, scope.len());
        let mut batch = Self {
            resource,
            schema_url,
            scope,
            buf: BytesMut::new(),
            head_room,
            items: 0,
            scratch: Vec::with_capacity(4096),
        };
        batch.reset(BATCH_BYTES / 4);
        batch
    }

    /// A fresh buffer of `capacity` record bytes, with the head room reserved.
    fn reset(&mut self, capacity: usize) {
        self.buf = BytesMut::with_capacity(
            self.head_room + capacity + len_field_len(3, self.schema_url.len()),
        );
        self.buf.resize(self.head_room, 0);
    }

    /// Bytes of encoded log records in the batch.
    fn records_len(&self) -> usize {
        self.buf.len() - self.head_room
    }

    /// Appends one log record; `attrs` adds its attributes.
    pub fn push(&mut self, h: &Header<'_>, attrs: impl FnOnce(&mut Attributes<'_>)) {
        let b = &mut self.scratch;
        b.clear();
        // fields in tag order, as prost writes them
        fixed64_field(tag::TIME, nanos(h.time), b);
        varint_field(tag::SEVERITY_NUMBER, h.severity.number(), b);
        bytes_field(tag::SEVERITY_TEXT, h.severity.text().as_bytes(), b);
        if let Some(body) = h.body {
            any_value_field(tag::BODY, &Value::Str(body.into()), b);
        }
        attrs(&mut Attributes(b));
        if let Some(cx) = h.span.filter(|c| c.is_valid()) {
            let flags = cx.trace_flags().to_u8();
            if flags != 0 {
                fixed32_field(tag::FLAGS, flags.into(), b);
            }
            bytes_field(tag::TRACE_ID, &cx.trace_id().to_bytes(), b);
            bytes_field(tag::SPAN_ID, &cx.span_id().to_bytes(), b);
        }
        fixed64_field(tag::OBSERVED_TIME, nanos(h.observed), b);
        bytes_field(tag::EVENT_NAME, h.event_name.as_bytes(), b);
        // ScopeLogs.log_records = 2
        len_prefix(2, b.len(), &mut self.buf);
        self.buf.extend_from_slice(b);
        self.items += 1;
    }

    /// True when the batch should be sealed now.
    pub fn full(&self) -> bool {
        self.items >= BATCH_RECORDS || self.records_len() >= BATCH_BYTES
    }

    /// Records in the batch.
    pub fn len(&self) -> u64 {
        self.items
    }

    /// True when the batch holds no record.
    pub fn is_empty(&self) -> bool {
        self.items == 0
    }

    /// The batch as one `ExportLogsServiceRequest` (None when empty); the batch is empty
    /// afterwards.
    pub fn seal(&mut self) -> Option<Request> {
        if self.items == 0 {
            return None;
        }
        let records = self.records_len();
        // ScopeLogs { scope = 1, log_records = 2 }
        let scope_logs = len_field_len(1, self.scope.len()) + records;
        // ResourceLogs { resource = 1, scope_logs = 2, schema_url = 3 }
        let mut resource_logs =
            len_field_len(1, self.resource.len()) + len_field_len(2, scope_logs);
        if !self.schema_url.is_empty() {
            resource_logs += len_field_len(3, self.schema_url.len());
        }
        // ExportLogsServiceRequest { resource_logs = 1 }: everything before the records,
        // written into the head room, right-aligned against them
        let mut head = Vec::with_capacity(self.head_room);
        len_prefix(1, resource_logs, &mut head);
        bytes_field(1, &self.resource, &mut head);
        len_prefix(2, scope_logs, &mut head);
        bytes_field(1, &self.scope, &mut head);
        let skip = self.head_room - head.len();
        self.buf[skip..self.head_room].copy_from_slice(&head);
        if !self.schema_url.is_empty() {
            let mut tail = Vec::with_capacity(len_field_len(3, self.schema_url.len()));
            bytes_field(3, self.schema_url.as_bytes(), &mut tail);
            self.buf.extend_from_slice(&tail);
        }
        let items = std::mem::take(&mut self.items);
        let mut body = self.buf.split();
        body.advance(skip);
        // the next batch's buffer, sized like this one so it does not grow while filling
        self.reset((records + records / 8).clamp(BATCH_BYTES / 4, BATCH_BYTES + BATCH_BYTES / 4));
        Some(Request::Encoded(Encoded {
            signal: Signal::Logs,
            items,
            body: body.freeze(),
        }))
    }
}

/// Nanoseconds since the Unix epoch (0 before it).
fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanId, TraceFlags, TraceId, TraceState};
    use opentelemetry::KeyValue;
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue as PbKv};
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};

    fn any(v: &Value) -> Option<AnyValue> {
        Some(AnyValue {
            value: Some(match v {
                Value::Str(s) => any_value::Value::StringValue(s.to_string()),
                Value::Int(i) => any_value::Value::IntValue(*i),
                Value::Bool(v) => any_value::Value::BoolValue(*v),
            }),
        })
    }

    #[test]
    fn encodes_what_prost_would_for_the_same_record() {
        let resource = Resource::builder_empty()
            .with_attributes([KeyValue::new("service.name", "aibomd")])
            .with_schema_url([], "https://opentelemetry.io/schemas/1.30.0")
            .build();
        let cx = SpanContext::new(
            TraceId::from_bytes([7; 16]),
            SpanId::from_bytes([3; 8]),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        );
        let t = UNIX_EPOCH + std::time::Duration::from_nanos(1_700_000_000_123_456_789);
        let attrs = [
            ("file.path", Value::Str("/m/ü.gguf".into())),
            ("aibom.access.count", Value::Int(3)),
            ("neg", Value::Int(-5)),
            ("aibom.policy.enforced", Value::Bool(true)),
            ("off", Value::Bool(false)),
            ("empty", Value::Str("".into())),
        ];
        let mut batch = LogBatch::new(&resource, "aibomd");
        for i in 0..2 {
            batch.push(
                &Header {
                    event_name: "aibom.artifact.access",
                    time: t,
                    observed: t + std::time::Duration::from_secs(i),
                    body: Some("/m/ü.gguf"),
                    span: (i == 0).then_some(&cx),
                    severity: if i == 0 {
                        Severity::Info
                    } else {
                        Severity::Error
                    },
                },
                |a| attrs.iter().for_each(|(k, v)| a.add(k, v)),
            );
        }
        assert_eq!(batch.len(), 2);
        let Some(Request::Encoded(e)) = batch.seal() else {
            panic!("sealed batch is encoded")
        };
        assert!(batch.is_empty() && batch.seal().is_none());
        assert_eq!((e.signal, e.items), (Signal::Logs, 2));

        let (res, schema_url) = pb_resource(&resource);
        let record = |i: u64| LogRecord {
            time_unix_nano: nanos(t),
            observed_time_unix_nano: nanos(t) + i * 1_000_000_000,
            severity_number: if i == 0 { 9 } else { 17 },
            severity_text: if i == 0 { "INFO" } else { "ERROR" }.into(),
            body: any(&Value::Str("/m/ü.gguf".into())),
            attributes: attrs
                .iter()
                .map(|(k, v)| PbKv {
                    key: k.to_string(),
                    value: any(v),
                    ..Default::default()
                })
                .collect(),
            flags: if i == 0 { 1 } else { 0 },
            trace_id: if i == 0 { vec![7; 16] } else { vec![] },
            span_id: if i == 0 { vec![3; 8] } else { vec![] },
            event_name: "aibom.artifact.access".into(),
            ..Default::default()
        };
        let want = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(res),
                scope_logs: vec![ScopeLogs {
                    scope: Some(pb_scope(&InstrumentationScope::builder("aibomd").build())),
                    log_records: vec![record(0), record(1)],
                    schema_url: String::new(),
                }],
                schema_url,
            }],
        };
        assert!(!want.resource_logs[0].schema_url.is_empty());
        let got = ExportLogsServiceRequest::decode(&e.body[..]).unwrap();
        assert_eq!(got, want);
        // and byte for byte what prost writes
        assert_eq!(e.body, want.encode_to_vec());
    }
}

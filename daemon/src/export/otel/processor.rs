//! OTel SDK processors that batch into OTLP requests and hand them to the [`Outbox`].
//!
//! Written instead of the SDK's batch processors because those drop data when their queue
//! is full or the exporter fails; here a batch is sealed into the on-disk spool at once
//! (a fast local write), and the network is the delivery task's business.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope as PbScope;
use opentelemetry_proto::tonic::logs::v1::{LogRecord as PbLog, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource as PbResource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as PbSpan};
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;

use super::outbox::Outbox;
use super::request::Request;

/// Records per sealed request.
const BATCH: usize = 512;

fn pb_resource(r: &Resource) -> (PbResource, String) {
    let a = ResourceAttributesWithSchema::from(r);
    (
        PbResource {
            attributes: a.attributes.0,
            ..Default::default()
        },
        a.schema_url.unwrap_or_default(),
    )
}

fn pb_scope(s: &InstrumentationScope) -> PbScope {
    (s.clone(), None).into()
}

struct Pending<T> {
    items: Vec<T>,
    scope: PbScope,
}

/// Log processor: batches log records into `ExportLogsServiceRequest`s.
#[derive(Debug)]
pub struct LogBatcher {
    outbox: Arc<Outbox>,
    resource: Mutex<(PbResource, String)>,
    pending: Mutex<Pending<PbLog>>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Outbox")
    }
}

impl<T> std::fmt::Debug for Pending<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pending({})", self.items.len())
    }
}

impl LogBatcher {
    pub fn new(outbox: Arc<Outbox>) -> Self {
        Self {
            outbox,
            resource: Mutex::new((PbResource::default(), String::new())),
            pending: Mutex::new(Pending {
                items: Vec::new(),
                scope: PbScope::default(),
            }),
        }
    }

    fn seal(&self, p: &mut Pending<PbLog>) {
        if p.items.is_empty() {
            return;
        }
        let (resource, schema_url) = self.resource.lock().expect("resource lock").clone();
        let req = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(resource),
                scope_logs: vec![ScopeLogs {
                    scope: Some(p.scope.clone()),
                    log_records: std::mem::take(&mut p.items),
                    schema_url: String::new(),
                }],
                schema_url,
            }],
        };
        self.outbox.submit(Request::Logs(req));
    }
}

impl LogProcessor for LogBatcher {
    fn emit(&self, data: &mut SdkLogRecord, scope: &InstrumentationScope) {
        let mut p = self.pending.lock().expect("log batch lock");
        if p.items.is_empty() {
            p.scope = pb_scope(scope);
        }
        p.items.push(PbLog::from(&*data));
        if p.items.len() >= BATCH {
            self.seal(&mut p);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        let mut p = self.pending.lock().expect("log batch lock");
        self.seal(&mut p);
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        *self.resource.lock().expect("resource lock") = pb_resource(resource);
    }
}

/// Span processor: batches ended spans into `ExportTraceServiceRequest`s.
#[derive(Debug)]
pub struct SpanBatcher {
    outbox: Arc<Outbox>,
    resource: Mutex<(PbResource, String)>,
    pending: Mutex<Pending<PbSpan>>,
}

impl SpanBatcher {
    pub fn new(outbox: Arc<Outbox>) -> Self {
        Self {
            outbox,
            resource: Mutex::new((PbResource::default(), String::new())),
            pending: Mutex::new(Pending {
                items: Vec::new(),
                scope: PbScope::default(),
            }),
        }
    }

    fn seal(&self, p: &mut Pending<PbSpan>) {
        if p.items.is_empty() {
            return;
        }
        let (resource, schema_url) = self.resource.lock().expect("resource lock").clone();
        let req = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(resource),
                scope_spans: vec![ScopeSpans {
                    scope: Some(p.scope.clone()),
                    spans: std::mem::take(&mut p.items),
                    schema_url: String::new(),
                }],
                schema_url,
            }],
        };
        self.outbox.submit(Request::Traces(req));
    }
}

impl SpanProcessor for SpanBatcher {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        let mut p = self.pending.lock().expect("span batch lock");
        if p.items.is_empty() {
            p.scope = pb_scope(&span.instrumentation_scope);
        }
        p.items.push(PbSpan::from(span));
        if p.items.len() >= BATCH {
            self.seal(&mut p);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        let mut p = self.pending.lock().expect("span batch lock");
        self.seal(&mut p);
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        *self.resource.lock().expect("resource lock") = pb_resource(resource);
    }
}

/// Metric exporter for the SDK's periodic reader.
#[derive(Debug)]
pub struct MetricSink {
    pub outbox: Arc<Outbox>,
}

impl PushMetricExporter for MetricSink {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        self.outbox
            .submit(Request::Metrics(ExportMetricsServiceRequest::from(metrics)));
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

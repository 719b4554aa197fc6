//! OTel SDK processors that batch spans and metrics into OTLP requests and hand them to
//! the [`Outbox`] (log records do not go through the SDK: see [`super::logs`]).
//!
//! Written instead of the SDK's batch processors because those drop data when their queue
//! is full or the exporter fails; here a batch is sealed into the on-disk spool at once
//! (a fast local write), and the network is the delivery task's business.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope as PbScope;
use opentelemetry_proto::tonic::resource::v1::Resource as PbResource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as PbSpan};
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;

use super::outbox::Outbox;
use super::request::Request;

/// Spans per sealed request.
const BATCH: usize = 512;

/// The resource as its OTLP message, and its schema URL.
pub(super) fn pb_resource(r: &Resource) -> (PbResource, String) {
    let a = ResourceAttributesWithSchema::from(r);
    (
        PbResource {
            attributes: a.attributes.0,
            ..Default::default()
        },
        a.schema_url.unwrap_or_default(),
    )
}

/// The instrumentation scope as its OTLP message.
pub(super) fn pb_scope(s: &InstrumentationScope) -> PbScope {
    (s.clone(), None).into()
}

/// Items waiting to be sealed into one request, and the scope they share.
struct Pending<T> {
    items: Vec<T>,
    scope: PbScope,
}

/// Builds one request from a resource (+ schema URL), a scope and items.
type Wrap<T> = fn(PbResource, String, PbScope, Vec<T>) -> Request;

/// The batching both processors share: collect, seal at [`BATCH`] or on flush.
struct Batcher<T> {
    outbox: Arc<Outbox>,
    resource: Mutex<(PbResource, String)>,
    pending: Mutex<Pending<T>>,
    wrap: Wrap<T>,
}

impl<T> Batcher<T> {
    fn new(outbox: Arc<Outbox>, wrap: Wrap<T>) -> Self {
        Self {
            outbox,
            resource: Mutex::new((PbResource::default(), String::new())),
            pending: Mutex::new(Pending {
                items: Vec::new(),
                scope: PbScope::default(),
            }),
            wrap,
        }
    }

    fn push(&self, scope: &InstrumentationScope, item: T) {
        let mut p = self.pending.lock().expect("batch lock");
        if p.items.is_empty() {
            p.scope = pb_scope(scope);
        }
        p.items.push(item);
        if p.items.len() >= BATCH {
            self.seal(&mut p);
        }
    }

    fn flush(&self) -> OTelSdkResult {
        let mut p = self.pending.lock().expect("batch lock");
        self.seal(&mut p);
        Ok(())
    }

    fn seal(&self, p: &mut Pending<T>) {
        if p.items.is_empty() {
            return;
        }
        let (resource, schema_url) = self.resource.lock().expect("resource lock").clone();
        let req = (self.wrap)(
            resource,
            schema_url,
            p.scope.clone(),
            std::mem::take(&mut p.items),
        );
        self.outbox.submit(req);
    }

    fn set_resource(&self, resource: &Resource) {
        *self.resource.lock().expect("resource lock") = pb_resource(resource);
    }
}

impl<T> std::fmt::Debug for Batcher<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Batcher")
    }
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Outbox")
    }
}

/// Span processor: batches ended spans into `ExportTraceServiceRequest`s.
#[derive(Debug)]
pub struct SpanBatcher(Batcher<PbSpan>);

impl SpanBatcher {
    pub fn new(outbox: Arc<Outbox>) -> Self {
        Self(Batcher::new(
            outbox,
            |resource, schema_url, scope, spans| {
                Request::Traces(ExportTraceServiceRequest {
                    resource_spans: vec![ResourceSpans {
                        resource: Some(resource),
                        scope_spans: vec![ScopeSpans {
                            scope: Some(scope),
                            spans,
                            schema_url: String::new(),
                        }],
                        schema_url,
                    }],
                })
            },
        ))
    }
}

impl SpanProcessor for SpanBatcher {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        let scope = span.instrumentation_scope.clone();
        self.0.push(&scope, PbSpan::from(span));
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.flush()
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.0.flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
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

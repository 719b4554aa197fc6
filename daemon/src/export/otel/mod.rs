//! The OpenTelemetry sink: access records become OTLP log records (events, encoded
//! straight from the model by [`logs`]), traced workloads and processes become spans
//! (OTel SDK), aibomd's own counters become metrics (OTel SDK). Everything leaves as OTLP requests through the [`outbox::Outbox`]:
//! to a collector (gRPC or HTTP/protobuf, spooled on disk while it is down) and/or to an
//! OTLP JSON file.
pub mod config;
mod delivery;
mod grpc;
pub mod logs;
pub mod outbox;
pub mod processor;
pub mod request;
mod resource;
pub mod spool;
pub mod transport;
mod wire;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aibom_semconv::{attr, span as span_name};
use anyhow::Result;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{
    Span as _, SpanContext, TraceContextExt, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use self::config::OtlpConfig;
use self::logs::{Header, LogBatch, Severity};
use self::outbox::Outbox;
use self::processor::{MetricSink, SpanBatcher};
use super::{path_string, visit_attributes, Sink, Value};
use crate::model::{AccessRecord, ExecInfo};
use crate::stats::Stats;

/// What `aibomd run` traces, for the workload span.
#[derive(Debug, Clone)]
pub struct Workload {
    pub command: Vec<String>,
    pub project: String,
}

/// Keeps delivery running after the sink is gone; `shutdown` drains the spool.
pub struct OtelHandle {
    outbox: Arc<Outbox>,
    stop: CancellationToken,
    delivery: Option<JoinHandle<()>>,
    drain_timeout: Duration,
}

impl OtelHandle {
    /// Waits (bounded) for the collector to take what is spooled, then stops delivery.
    pub async fn shutdown(mut self) -> usize {
        let left = self.outbox.drain(self.drain_timeout).await;
        self.stop.cancel();
        if let Some(d) = self.delivery.take() {
            let _ = d.await;
        }
        left
    }
}

/// The OTel sink.
pub struct OtelSink {
    /// Log records not sealed into a request yet.
    logs: LogBatch,
    outbox: Arc<Outbox>,
    tracer: SdkTracer,
    tracer_provider: SdkTracerProvider,
    meter_provider: SdkMeterProvider,
    workload: Option<opentelemetry_sdk::trace::Span>,
    /// Open process spans by pid.
    processes: HashMap<u32, ProcessSpan>,
    /// Open `aibom.scan` spans by scan id.
    scans: HashMap<String, opentelemetry_sdk::trace::Span>,
    exec_times: HashMap<u32, (SystemTime, ExecInfo)>,
    project: String,
    last_seal: std::time::Instant,
    /// `seal_interval_ms`.
    seal_every: Duration,
    /// Bytes the open process spans hold (estimated), and `spans_max_bytes`.
    span_bytes: u64,
    span_max_bytes: u64,
}

/// An open `aibom.process` span and what is set on it when it ends.
struct ProcessSpan {
    span: opentelemetry_sdk::trace::Span,
    /// Span events added so far.
    events: u32,
    /// `aibom.accelerator.devices`: the accelerators the process opened.
    accelerators: std::collections::BTreeSet<String>,
    /// `aibom.accelerator.memory.max`.
    memory_max: Option<u64>,
    /// What it holds, estimated: its attributes and events (see [`SPAN_BYTES`]).
    bytes: u64,
}

/// Estimated bytes of a span, or of a span event, beyond its strings.
const SPAN_BYTES: u64 = 256;

/// What a span or span event with `attrs` holds, estimated: [`SPAN_BYTES`] and the
/// attributes' values.
fn span_bytes(attrs: &[KeyValue]) -> u64 {
    SPAN_BYTES
        + attrs
            .iter()
            .map(|kv| kv.value.as_str().len() as u64)
            .sum::<u64>()
}

impl ProcessSpan {
    /// Sets the attributes gathered over the process's life and ends the span (span
    /// attributes are not deduplicated, so they are set once, here).
    fn end(mut self) {
        if !self.accelerators.is_empty() {
            let list: Vec<opentelemetry::StringValue> =
                self.accelerators.into_iter().map(Into::into).collect();
            self.span.set_attribute(KeyValue::new(
                attr::ACCELERATOR_DEVICES,
                opentelemetry::Value::Array(list.into()),
            ));
        }
        if let Some(m) = self.memory_max {
            self.span.set_attribute(KeyValue::new(
                attr::ACCELERATOR_MEMORY_MAX,
                i64::try_from(m).unwrap_or(i64::MAX),
            ));
        }
        self.span.end();
    }
}

/// The instrumentation scope of everything aibomd exports.
const SCOPE: &str = "aibomd";

/// Most process spans open at once; beyond it the oldest ones are ended.
const MAX_OPEN_SPANS: usize = 16_384;

/// Span events kept per span (the SDK's default; past it, events are only counted as
/// dropped): the sink knows it, so an access past it costs no event attributes.
const MAX_EVENTS_PER_SPAN: u32 = 128;

impl OtelSink {
    /// Builds the sink and starts delivery (needs a tokio runtime). `file` writes OTLP JSON
    /// lines; the collector is used when `cfg` has an endpoint.
    pub fn start(
        cfg: &OtlpConfig,
        file: Option<&Path>,
        stats: Arc<Stats>,
        workload: Option<Workload>,
        project: &str,
    ) -> Result<(Self, OtelHandle)> {
        let spool = if cfg.enabled() {
            Some(spool::Spool::open(&cfg.spool_dir, cfg.spool_max_bytes)?)
        } else {
            None
        };
        let transport = transport::Transport::new(cfg)?;
        let outbox = Arc::new(Outbox::new(spool, file, stats.clone())?);
        let stop = CancellationToken::new();
        let delivery = cfg.enabled().then(|| {
            tokio::spawn(delivery::deliver(
                outbox.clone(),
                transport,
                delivery::Limits::of(cfg),
                stop.clone(),
            ))
        });
        let resource = resource::detect();
        let logs = LogBatch::new(&resource, SCOPE);
        let tracer_provider = SdkTracerProvider::builder()
            .with_max_events_per_span(MAX_EVENTS_PER_SPAN)
            .with_resource(resource.clone())
            .with_span_processor(SpanBatcher::new(outbox.clone()))
            .build();
        let tracer = tracer_provider.tracer(SCOPE);
        let reader = PeriodicReader::builder(MetricSink {
            outbox: outbox.clone(),
        })
        .with_interval(Duration::from_millis(cfg.metrics_interval_ms.max(100)))
        .build();
        let meter_provider = SdkMeterProvider::builder()
            .with_resource(resource)
            .with_reader(reader)
            .build();
        register_metrics(&meter_provider, stats);

        let workload = workload.map(|w| {
            let mut attrs = vec![KeyValue::new(attr::PROJECT_ID, w.project.clone())];
            attrs.push(KeyValue::new(
                attr::PROCESS_COMMAND_ARGS,
                opentelemetry::Value::Array(
                    w.command
                        .iter()
                        .map(|s| opentelemetry::StringValue::from(s.clone()))
                        .collect::<Vec<_>>()
                        .into(),
                ),
            ));
            tracer
                .span_builder(span_name::WORKLOAD)
                .with_kind(opentelemetry::trace::SpanKind::Internal)
                .with_attributes(attrs)
                .start(&tracer)
        });
        let sink = Self {
            logs,
            outbox: outbox.clone(),
            tracer,
            tracer_provider,
            meter_provider,
            workload,
            processes: HashMap::new(),
            scans: HashMap::new(),
            exec_times: HashMap::new(),
            project: project.to_string(),
            last_seal: std::time::Instant::now(),
            seal_every: Duration::from_millis(cfg.seal_interval_ms),
            span_bytes: 0,
            span_max_bytes: cfg.spans_max_bytes,
        };
        let handle = OtelHandle {
            outbox,
            stop,
            delivery,
            drain_timeout: Duration::from_millis(cfg.shutdown_timeout_ms),
        };
        Ok((sink, handle))
    }

    /// The span context of `rec`'s process span, starting the span if needed.
    fn process_span(&mut self, rec: &AccessRecord) -> SpanContext {
        if let Some(p) = self.processes.get(&rec.pid()) {
            return p.span.span_context().clone();
        }
        if self.processes.len() >= MAX_OPEN_SPANS {
            let pids: Vec<u32> = self
                .processes
                .keys()
                .take(MAX_OPEN_SPANS / 8)
                .copied()
                .collect();
            for p in pids {
                self.end_process(p);
            }
        }
        let parent = match &self.workload {
            Some(w) => Context::new().with_remote_span_context(w.span_context().clone()),
            None => Context::new(),
        };
        let (start, exe) = match self.exec_times.get(&rec.pid()) {
            Some((t, e)) => (*t, Some(e.path.clone())),
            None => (rec.time, None),
        };
        let mut attrs = vec![
            KeyValue::new(attr::PROCESS_PID, rec.pid() as i64),
            KeyValue::new(attr::PROJECT_ID, self.project.clone()),
        ];
        let w = &*rec.process;
        if let Some(p) = w.ppid {
            attrs.push(KeyValue::new(attr::PROCESS_PARENT_PID, p as i64));
        }
        if let Some(n) = &w.comm {
            attrs.push(KeyValue::new(attr::PROCESS_EXECUTABLE_NAME, n.clone()));
        }
        if let Some(p) = w.exe.clone().or(exe) {
            attrs.push(KeyValue::new(
                attr::PROCESS_EXECUTABLE_PATH,
                path_string(p.as_os_str().as_encoded_bytes()),
            ));
        }
        if let Some(o) = &w.owner {
            attrs.push(KeyValue::new(attr::PROCESS_OWNER, o.clone()));
        }
        let bytes = span_bytes(&attrs);
        let span = self
            .tracer
            .span_builder(span_name::PROCESS)
            .with_start_time(start)
            .with_attributes(attrs)
            .start_with_context(&self.tracer, &parent);
        let cx = span.span_context().clone();
        self.span_bytes += bytes;
        self.processes.insert(
            rec.pid(),
            ProcessSpan {
                span,
                events: 0,
                accelerators: Default::default(),
                memory_max: None,
                bytes,
            },
        );
        cx
    }

    /// Ends the open process spans holding the most until they hold at most 7/8 of
    /// `spans_max_bytes` (once over it).
    fn fit_spans(&mut self) {
        if self.span_bytes <= self.span_max_bytes {
            return;
        }
        let mut by_size: Vec<(u64, u32)> = self
            .processes
            .iter()
            .map(|(pid, p)| (p.bytes, *pid))
            .collect();
        by_size.sort_unstable_by(|a, b| b.cmp(a));
        let goal = self.span_max_bytes / 8 * 7;
        for (_, pid) in by_size {
            if self.span_bytes <= goal {
                break;
            }
            self.end_process(pid);
        }
    }

    /// Hands the pending log records to the outbox as one request.
    fn seal_logs(&mut self) {
        if let Some(req) = self.logs.seal() {
            self.outbox.submit(req);
        }
    }

    fn end_process(&mut self, pid: u32) {
        if let Some(p) = self.processes.remove(&pid) {
            self.span_bytes -= p.bytes;
            p.end();
        }
    }
}

/// The `aibom.scan` span's attributes known at its start; state and counts are set once,
/// at the end (span attributes are not deduplicated: setting one twice exports both).
const SCAN_START_ATTRIBUTES: [&str; 3] = [attr::SCAN_ID, attr::PROJECT_ID, attr::SCAN_DURATION];

fn to_kv((k, v): (&'static str, Value)) -> KeyValue {
    match v {
        Value::Str(s) => KeyValue::new(k, s.into_owned()),
        Value::Int(i) => KeyValue::new(k, i),
        Value::Bool(b) => KeyValue::new(k, b),
    }
}

impl Sink for OtelSink {
    fn name(&self) -> &'static str {
        "otlp"
    }

    fn emit(&mut self, rec: &AccessRecord) -> Result<()> {
        let cx = self.process_span(rec);
        let path = match (&rec.api, rec.file_path.to_str()) {
            (Some(call), _) => std::borrow::Cow::Owned(call.body()),
            (None, Some(p)) => std::borrow::Cow::Borrowed(p),
            (None, None) => path_string(rec.file_path.as_os_str().as_encoded_bytes()).into(),
        };
        if let Some(ProcessSpan {
            span: s,
            events,
            accelerators,
            bytes,
            ..
        }) = self.processes.get_mut(&rec.pid())
        {
            if let Some(acc) = rec.artifact.as_ref().and_then(|a| a.accelerator) {
                let device = acc.device();
                if !accelerators.contains(&device) {
                    *bytes += device.len() as u64;
                    self.span_bytes += device.len() as u64;
                    accelerators.insert(device);
                }
            }
            // the artifact as a span event too, so trace views show what the process loaded
            if *events < MAX_EVENTS_PER_SPAN {
                *events += 1;
                let attrs = match &rec.api {
                    Some(call) => vec![
                        KeyValue::new(attr::API_PROVIDER, call.provider),
                        KeyValue::new(attr::SERVER_ADDRESS, call.server_address.clone()),
                    ],
                    None => vec![
                        KeyValue::new(attr::FILE_PATH, path.clone().into_owned()),
                        KeyValue::new(attr::ACCESS_MODE, rec.mode.as_str()),
                    ],
                };
                let cost = span_bytes(&attrs);
                *bytes += cost;
                self.span_bytes += cost;
                s.add_event(rec.event_name(), attrs);
            } else {
                // past the limit the SDK only counts the event as dropped: same span
                // exported, without building the attributes (nor reading the clock)
                s.add_event_with_timestamp(rec.event_name(), rec.time, Vec::new());
            }
        }
        self.fit_spans();
        let (body, severity) = match &rec.violation {
            Some(v) => (
                std::borrow::Cow::Owned(format!("{}: {path}", v.rule)),
                if v.severity >= crate::model::Severity::High {
                    Severity::Error
                } else {
                    Severity::Warn
                },
            ),
            None => (std::borrow::Cow::Borrowed(path.as_ref()), Severity::Info),
        };
        let header = Header {
            event_name: rec.event_name(),
            time: rec.time,
            observed: SystemTime::now(),
            body: Some(body.as_ref()),
            span: Some(&cx),
            severity,
        };
        self.logs.push(&header, |a| {
            // Also as an attribute: some collectors (rotel's ClickHouse exporter) drop EventName.
            a.add(
                aibom_semconv::record::EVENT_NAME,
                &Value::Str(rec.event_name().into()),
            );
            visit_attributes(rec, |k, v| a.add(k, &v));
        });
        // a violation leaves at once: alerts are not batched for a second
        if self.logs.full() || rec.violation.is_some() {
            self.seal_logs();
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        // Seal partial batches once per `seal_interval_ms` (1 s by default): bigger
        // requests, and still at most that long between an access and its record being
        // durable in the spool.
        if self.last_seal.elapsed() >= self.seal_every {
            self.last_seal = std::time::Instant::now();
            self.seal_logs();
            let _ = self.tracer_provider.force_flush();
        }
        Ok(())
    }

    fn process_exec(&mut self, e: &ExecInfo) {
        if self.exec_times.len() >= MAX_OPEN_SPANS {
            self.exec_times.clear();
        }
        self.exec_times.insert(e.pid, (e.time, e.clone()));
    }

    fn process_exit(&mut self, pid: u32) {
        self.exec_times.remove(&pid);
        self.end_process(pid);
    }

    fn accelerator_memory(&mut self, pid: u32, bytes: u64) {
        // only processes with a span: those that accessed something traced
        if let Some(p) = self.processes.get_mut(&pid) {
            p.memory_max = p.memory_max.max(Some(bytes));
        }
    }

    fn scan_started(&mut self, s: &crate::model::ScanReport) {
        let span = self
            .tracer
            .span_builder(span_name::SCAN)
            .with_kind(opentelemetry::trace::SpanKind::Internal)
            .with_attributes(
                super::scan_attributes(s)
                    .into_iter()
                    .filter(|(k, _)| SCAN_START_ATTRIBUTES.contains(k))
                    .map(to_kv),
            )
            .start(&self.tracer);
        self.scans.insert(s.scan_id.clone(), span);
    }

    fn scan_ended(&mut self, s: &crate::model::ScanReport) {
        let attrs = super::scan_attributes(s);
        let mut span = self.scans.remove(&s.scan_id);
        let now = SystemTime::now();
        let cx = span.as_ref().map(|sp| sp.span_context().clone());
        let header = Header {
            event_name: aibom_semconv::event::SCAN_SUMMARY,
            time: now,
            observed: now,
            body: None,
            span: cx.as_ref(),
            severity: Severity::Info,
        };
        self.logs.push(&header, |a| {
            a.add(
                aibom_semconv::record::EVENT_NAME,
                &Value::Str(aibom_semconv::event::SCAN_SUMMARY.into()),
            );
            attrs.iter().for_each(|(k, v)| a.add(k, v));
        });
        if let Some(sp) = span.as_mut() {
            sp.set_attributes(
                attrs
                    .iter()
                    .filter(|(k, _)| !SCAN_START_ATTRIBUTES.contains(k))
                    .cloned()
                    .map(to_kv),
            );
            sp.add_event(
                aibom_semconv::event::SCAN_SUMMARY,
                attrs.into_iter().map(to_kv).collect(),
            );
            sp.end();
        }
        self.seal_logs();
        let _ = self.tracer_provider.force_flush();
    }

    fn close(&mut self) -> Result<()> {
        let pids: Vec<u32> = self.processes.keys().copied().collect();
        for p in pids {
            self.end_process(p);
        }
        if let Some(mut w) = self.workload.take() {
            w.end();
        }
        self.seal_logs();
        let _ = self.tracer_provider.force_flush();
        let _ = self.meter_provider.force_flush();
        let _ = self.tracer_provider.shutdown();
        let _ = self.meter_provider.shutdown();
        Ok(())
    }
}

/// Registers every semconv metric as an observable instrument reading its [`Stats`]
/// counter; kind, unit and description come from the registry.
fn register_metrics(mp: &SdkMeterProvider, stats: Arc<Stats>) {
    let meter = mp.meter(SCOPE);
    for def in aibom_semconv::METRICS
        .iter()
        .filter_map(|m| aibom_semconv::metric_def(m))
    {
        let name = def.name;
        if stats.metric(name).is_none() {
            continue; // no counter behind it (a test pins that there always is)
        }
        let st = stats.clone();
        if name == aibom_semconv::metric::POLICY_VIOLATIONS {
            // one series per rule and action
            meter
                .u64_observable_counter(name)
                .with_description(def.brief)
                .with_unit(def.unit)
                .with_callback(move |o| {
                    for (rule, action, n) in st.violations() {
                        let attrs = [
                            KeyValue::new(attr::POLICY_RULE, rule.to_string()),
                            KeyValue::new(attr::POLICY_ACTION, action.as_str()),
                        ];
                        o.observe(n, &attrs);
                    }
                })
                .build();
            continue;
        }
        if name == aibom_semconv::metric::API_CALLS {
            // one series per provider and way seen
            meter
                .u64_observable_counter(name)
                .with_description(def.brief)
                .with_unit(def.unit)
                .with_callback(move |o| {
                    for (provider, seen_by, n) in st.api_calls() {
                        let attrs = [
                            KeyValue::new(attr::API_PROVIDER, provider),
                            KeyValue::new(attr::API_SEEN_BY, seen_by),
                        ];
                        o.observe(n, &attrs);
                    }
                })
                .build();
            continue;
        }
        let read = move || Stats::get(st.metric(name).expect("checked above"));
        match def.instrument {
            aibom_semconv::Instrument::Gauge | aibom_semconv::Instrument::UpDownCounter => {
                meter
                    .u64_observable_gauge(name)
                    .with_description(def.brief)
                    .with_unit(def.unit)
                    .with_callback(move |o| o.observe(read(), &[]))
                    .build();
            }
            _ => {
                meter
                    .u64_observable_counter(name)
                    .with_description(def.brief)
                    .with_unit(def.unit)
                    .with_callback(move |o| o.observe(read(), &[]))
                    .build();
            }
        }
    }
}

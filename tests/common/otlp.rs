//! A test OTLP/gRPC receiver built on the official `opentelemetry-proto` service types.
//!
//! Used behind a real collector (rotel exports to it), and on its own for fault tests
//! (down, UNAVAILABLE, slow), where a real collector cannot be told to misbehave on cue.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::trace::v1::Span;
use tonic::codec::CompressionEncoding::Gzip;
use tonic::{Request, Response, Status};

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Accept,
    /// Answer UNAVAILABLE (a retryable error) without keeping the data.
    Unavailable,
    /// Accept after a delay.
    Slow(Duration),
    /// Answer UNAUTHENTICATED (a token the collector does not take) without keeping the data.
    Unauthenticated,
    /// Keep the data but report one log record per request as rejected (`partial_success`).
    RejectOne,
}

/// Everything received, in arrival order.
#[derive(Default)]
pub struct Received {
    pub logs: Vec<ExportLogsServiceRequest>,
    pub traces: Vec<ExportTraceServiceRequest>,
    pub metrics: Vec<ExportMetricsServiceRequest>,
    /// Requests answered with an error.
    pub refused: usize,
    /// Requests that came gzip-compressed (`grpc-encoding: gzip`), of any signal.
    pub gzip: usize,
}

#[derive(Clone)]
pub struct State {
    pub mode: Arc<Mutex<Mode>>,
    pub got: Arc<Mutex<Received>>,
}

impl State {
    /// Counts a gzip-compressed request.
    fn saw<T>(&self, r: &Request<T>) {
        if r.metadata()
            .get("grpc-encoding")
            .is_some_and(|v| v == "gzip")
        {
            self.got.lock().unwrap().gzip += 1;
        }
    }

    async fn gate(&self) -> Result<(), Status> {
        let mode = *self.mode.lock().unwrap();
        match mode {
            Mode::Accept | Mode::RejectOne => Ok(()),
            Mode::Unauthenticated => {
                self.got.lock().unwrap().refused += 1;
                Err(Status::unauthenticated("test receiver: bad token"))
            }
            Mode::Unavailable => {
                self.got.lock().unwrap().refused += 1;
                Err(Status::unavailable("test receiver: unavailable"))
            }
            Mode::Slow(d) => {
                tokio::time::sleep(d).await;
                Ok(())
            }
        }
    }
}

#[tonic::async_trait]
impl LogsService for State {
    async fn export(
        &self,
        r: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        self.gate().await?;
        self.saw(&r);
        self.got.lock().unwrap().logs.push(r.into_inner());
        let mut resp = ExportLogsServiceResponse::default();
        if *self.mode.lock().unwrap() == Mode::RejectOne {
            resp.partial_success = Some(ExportLogsPartialSuccess {
                rejected_log_records: 1,
                error_message: "test receiver: one record rejected".into(),
            });
        }
        Ok(Response::new(resp))
    }
}

#[tonic::async_trait]
impl TraceService for State {
    async fn export(
        &self,
        r: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.gate().await?;
        self.saw(&r);
        self.got.lock().unwrap().traces.push(r.into_inner());
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for State {
    async fn export(
        &self,
        r: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.gate().await?;
        self.saw(&r);
        self.got.lock().unwrap().metrics.push(r.into_inner());
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

/// A running receiver on its own runtime thread; dropping it stops it.
pub struct Receiver {
    pub addr: SocketAddr,
    pub state: State,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    /// Starts on `addr` (port 0: any free port).
    pub fn start(addr: SocketAddr, state: State) -> Self {
        Self::start_limited(addr, state, 4 << 20)
    }

    /// [`Receiver::start`] refusing messages over `max_bytes` as a real gRPC server does
    /// (tonic's receive limit: OUT_OF_RANGE), like a collector with a small limit.
    pub fn start_limited(addr: SocketAddr, state: State, max_bytes: usize) -> Self {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let st = state.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .expect("bind receiver");
                ready_tx.send(listener.local_addr().unwrap()).unwrap();
                let incoming = tonic::transport::server::TcpIncoming::from(listener);
                tonic::transport::Server::builder()
                    .add_service(
                        LogsServiceServer::new(st.clone())
                            .accept_compressed(Gzip)
                            .max_decoding_message_size(max_bytes),
                    )
                    .add_service(
                        TraceServiceServer::new(st.clone())
                            .accept_compressed(Gzip)
                            .max_decoding_message_size(max_bytes),
                    )
                    .add_service(
                        MetricsServiceServer::new(st)
                            .accept_compressed(Gzip)
                            .max_decoding_message_size(max_bytes),
                    )
                    .serve_with_incoming_shutdown(incoming, async {
                        let _ = rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let addr = ready_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("receiver ready");
        Self {
            addr,
            state,
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn fresh() -> Self {
        Self::fresh_limited(4 << 20)
    }

    /// A fresh receiver refusing messages over `max_bytes`.
    pub fn fresh_limited(max_bytes: usize) -> Self {
        Self::start_limited(
            "127.0.0.1:0".parse().unwrap(),
            State {
                mode: Arc::new(Mutex::new(Mode::Accept)),
                got: Arc::default(),
            },
            max_bytes,
        )
    }

    /// The largest value received of the counter `name` (its data points' int values).
    pub fn counter(&self, name: &str) -> Option<i64> {
        use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point::Value};
        let g = self.state.got.lock().unwrap();
        g.metrics
            .iter()
            .flat_map(|r| &r.resource_metrics)
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
            .filter(|m| m.name == name)
            .filter_map(|m| match &m.data {
                Some(Data::Sum(s)) => Some(s.data_points.clone()),
                _ => None,
            })
            .flatten()
            .filter_map(|p| match p.value {
                Some(Value::AsInt(i)) => Some(i),
                Some(Value::AsDouble(d)) => Some(d as i64),
                None => None,
            })
            .max()
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_mode(&self, m: Mode) {
        *self.state.mode.lock().unwrap() = m;
    }

    /// All log records received, in order.
    pub fn log_records(&self) -> Vec<LogRecord> {
        let g = self.state.got.lock().unwrap();
        g.logs
            .iter()
            .flat_map(|r| &r.resource_logs)
            .flat_map(|r| &r.scope_logs)
            .flat_map(|s| s.log_records.clone())
            .collect()
    }

    pub fn spans(&self) -> Vec<Span> {
        let g = self.state.got.lock().unwrap();
        g.traces
            .iter()
            .flat_map(|r| &r.resource_spans)
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| s.spans.clone())
            .collect()
    }

    pub fn metric_names(&self) -> Vec<String> {
        let g = self.state.got.lock().unwrap();
        g.metrics
            .iter()
            .flat_map(|r| &r.resource_metrics)
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| s.metrics.iter().map(|m| m.name.clone()))
            .collect()
    }

    /// Resource attributes of the first log request.
    pub fn log_resource(&self) -> Vec<KeyValue> {
        let g = self.state.got.lock().unwrap();
        g.logs
            .first()
            .and_then(|r| r.resource_logs.first())
            .and_then(|r| r.resource.clone())
            .map(|r| r.attributes)
            .unwrap_or_default()
    }

    /// Requests received gzip-compressed.
    pub fn gzip_requests(&self) -> usize {
        self.state.got.lock().unwrap().gzip
    }

    /// Log requests received.
    pub fn log_requests(&self) -> usize {
        self.state.got.lock().unwrap().logs.len()
    }

    pub fn refused(&self) -> usize {
        self.state.got.lock().unwrap().refused
    }

    /// Stops the receiver (the port is closed).
    pub fn stop(mut self) -> State {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.state.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A string attribute of a key-value list.
pub fn attr_str(kvs: &[KeyValue], key: &str) -> Option<String> {
    kvs.iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match &kv.value {
            Some(AnyValue {
                value: Some(any_value::Value::StringValue(s)),
            }) => Some(s.clone()),
            _ => None,
        })
}

/// An integer attribute of a key-value list.
pub fn attr_int(kvs: &[KeyValue], key: &str) -> Option<i64> {
    kvs.iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match &kv.value {
            Some(AnyValue {
                value: Some(any_value::Value::IntValue(i)),
            }) => Some(*i),
            _ => None,
        })
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

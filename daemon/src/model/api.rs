//! AI API calls: what the kernel saw of a connection ([`ApiEvent`]) and the call the
//! `api` stage assembles from it ([`ApiCall`]).
use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

/// Which connection of a process an [`ApiEvent`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnRef {
    /// A socket, by fd (plain HTTP, a TLS ClientHello).
    Sock(i32),
    /// An OpenSSL `SSL` object, by address (uprobes).
    Ssl(u64),
}

/// Which way bytes went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Request,
    Response,
}

/// A fixed field taken from a request or response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiField {
    /// The `model` (request) or the model that answered (response).
    Model(String),
    InputTokens(u64),
    OutputTokens(u64),
}

/// What was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiEventKind {
    /// The server name a TLS client asked for; `ai_host`: the kernel knew it as an AI
    /// API's host (its requests are parsed).
    Sni { host: String, ai_host: bool },
    /// A request line, its query string already cut in the kernel.
    Request { method: String, path: String },
    /// A field of a request or response body.
    Field(Direction, ApiField),
    /// A response's HTTP status.
    Status(u16),
    /// The SSL object talks over socket `fd`.
    Link { fd: i32 },
    /// The socket was closed.
    Close,
}

/// One API event of a process, as a tracer saw it.
#[derive(Debug, Clone)]
pub struct ApiEvent {
    pub time: SystemTime,
    pub pid: u32,
    pub ppid: Option<u32>,
    pub uid: Option<u32>,
    pub cgroup_id: Option<u64>,
    pub comm: Option<String>,
    pub conn: ConnRef,
    /// The socket, when known.
    pub fd: Option<i32>,
    /// The destination, when the connect was seen.
    pub dest: Option<(IpAddr, u16)>,
    pub kind: ApiEventKind,
    /// The TLS library whose uprobes saw it, as the process maps it (on server names
    /// from the uprobes).
    pub tls_library: Option<Arc<str>>,
    /// Which tracer saw it (`aibom.tracer`).
    pub tracer: &'static str,
}

/// One AI API call (or several folded into one record: [`ApiCall::count`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiCall {
    /// `aibom.api.provider`.
    pub provider: &'static str,
    /// `gen_ai.provider.name`, when OpenTelemetry names the provider.
    pub gen_ai_provider: Option<&'static str>,
    /// `server.address`: the server name (SNI, Host) or the address.
    pub server_address: String,
    pub server_port: u16,
    pub request_model: Option<String>,
    pub response_model: Option<String>,
    /// `gen_ai.operation.name`.
    pub operation: Option<&'static str>,
    /// `url.path`, never with a query string.
    pub path: Option<String>,
    pub method: Option<String>,
    pub status: Option<u16>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    /// `aibom.api.seen_by`.
    pub seen_by: &'static str,
    /// The TLS library whose uprobes showed it.
    pub tls_library: Option<Arc<str>>,
    /// Calls folded into this one (`aibom.api.count`).
    pub count: u64,
}

impl ApiCall {
    /// The record's body: provider, model (or `-`) and server.
    pub fn body(&self) -> String {
        format!(
            "{} {} {}:{}",
            self.provider,
            self.request_model.as_deref().unwrap_or("-"),
            self.server_address,
            self.server_port
        )
    }
}

/// Adds a token count to a sum that stays `None` while no count was known (unknown is
/// not zero): folding calls, the run table and the BOM sum usage this way.
pub fn add_tokens(sum: &mut Option<u64>, n: Option<u64>) {
    if let Some(n) = n {
        *sum = Some(sum.unwrap_or(0) + n);
    }
}

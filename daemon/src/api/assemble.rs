//! Turns a process's API events into calls: one per request, complete at the next
//! request on its connection, its close, the process's exit, or `quiet` of silence
//! after its response started (a minute without any response).
//! TLS server names seen only in a ClientHello (clients with their own TLS) become one
//! call per connection, unless the OpenSSL uprobes turn out to see that connection.
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use aibom_semconv::api_seen_by;

use std::sync::Arc;

use super::providers;
use crate::model::{ApiCall, ApiEvent, ApiEventKind, ApiField, Attribution, ConnRef, Direction};

/// Looks up who process `who.pid` is (called when a connection is first kept, so the
/// process is still there to be read).
pub type Attribute<'a> = &'a mut dyn FnMut(&Who) -> Arc<Attribution>;

/// How long a request waits for its response before it is reported without one.
const RESPONSE_WAIT: Duration = Duration::from_secs(60);

/// Who made a call (for attribution) and when.
#[derive(Debug, Clone)]
pub struct Who {
    pub pid: u32,
    pub ppid: Option<u32>,
    pub uid: Option<u32>,
    pub cgroup_id: Option<u64>,
    pub comm: Option<String>,
    pub tracer: &'static str,
}

/// A call, complete.
#[derive(Debug, Clone)]
pub struct Finished {
    pub call: ApiCall,
    pub time: SystemTime,
    pub who: Who,
    /// The process as it was when its connection was first seen.
    pub process: Arc<Attribution>,
}

#[derive(Debug, Default)]
struct Req {
    method: Option<String>,
    path: Option<String>,
    model: Option<String>,
    response_model: Option<String>,
    status: Option<u16>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    time: Option<SystemTime>,
}

#[derive(Debug)]
struct Conn {
    who: Who,
    process: Arc<Attribution>,
    tls_library: Option<Arc<str>>,
    host: Option<String>,
    dest: Option<(IpAddr, u16)>,
    ssl: bool,
    req: Option<Req>,
    last: Instant,
}

#[derive(Debug)]
struct PendingSni {
    who: Who,
    process: Arc<Attribution>,
    host: String,
    port: u16,
    time: SystemTime,
    seen: Instant,
}

/// The assembler (see the module docs).
pub struct Assembler {
    conns: HashMap<(u32, ConnRef), Conn>,
    ssl_by_fd: HashMap<(u32, i32), u64>,
    sni: HashMap<(u32, i32), PendingSni>,
    /// Configured host → provider pairs (shared with every completion).
    extra: Arc<[(String, &'static str)]>,
    quiet: Duration,
    max: usize,
    /// Processes that exited, completed after [`EXIT_GRACE`].
    exits: Vec<(u32, Instant)>,
}

/// How long after a process's exit its calls are completed: its last API events may be
/// read from their ring buffer after the exit was read from the other.
const EXIT_GRACE: Duration = Duration::from_millis(300);

fn who(ev: &ApiEvent) -> Who {
    Who {
        pid: ev.pid,
        ppid: ev.ppid,
        uid: ev.uid,
        cgroup_id: ev.cgroup_id,
        comm: ev.comm.clone(),
        tracer: ev.tracer,
    }
}

impl Assembler {
    /// `extra`: configured host → provider pairs; `quiet`: silence that completes a call;
    /// `max`: connections followed at once.
    pub fn new(extra: Vec<(String, &'static str)>, quiet: Duration, max: usize) -> Self {
        Self {
            conns: HashMap::new(),
            ssl_by_fd: HashMap::new(),
            sni: HashMap::new(),
            extra: extra.into(),
            quiet,
            max: max.max(1),
            exits: Vec::new(),
        }
    }

    /// Connections followed now.
    pub fn len(&self) -> usize {
        self.conns.len() + self.sni.len()
    }

    /// True when nothing is followed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes one event; returns the calls it completed.
    pub fn on_event(&mut self, ev: ApiEvent, now: Instant, attr: Attribute) -> Vec<Finished> {
        let mut out = Vec::new();
        let pid = ev.pid;
        match (&ev.kind, ev.conn) {
            (ApiEventKind::Sni { host, ai_host }, ConnRef::Ssl(_)) => {
                if !ai_host && providers::by_host(host, &self.extra).is_none() {
                    return out; // TLS to somewhere else
                }
                let host = host.clone();
                if let Some(fd) = ev.fd {
                    self.link(pid, fd, ev.conn);
                }
                let lib = ev.tls_library.clone();
                let c = self.conn(&ev, now, &mut out, attr);
                c.host = Some(host);
                c.tls_library = lib.or(c.tls_library.take());
            }
            (ApiEventKind::Sni { host, .. }, ConnRef::Sock(fd)) => {
                if providers::by_host(host, &self.extra).is_none()
                    || self.ssl_by_fd.contains_key(&(pid, fd))
                {
                    return out;
                }
                let w = who(&ev);
                self.sni.insert(
                    (pid, fd),
                    PendingSni {
                        process: attr(&w),
                        who: w,
                        host: host.clone(),
                        port: ev.dest.map_or(443, |d| d.1),
                        time: ev.time,
                        seen: now,
                    },
                );
            }
            (ApiEventKind::Link { fd }, conn) => {
                self.link(pid, *fd, conn);
                if let Some(c) = self.conns.get_mut(&(pid, conn)) {
                    c.dest = ev.dest.or(c.dest);
                    c.last = now;
                }
            }
            (ApiEventKind::Close, ConnRef::Sock(fd)) => {
                self.close(pid, fd, &mut out);
            }
            (ApiEventKind::Request { method, path }, _) => {
                let (method, path) = (method.clone(), path.clone());
                let time = ev.time;
                let extra = self.extra.clone();
                let c = self.conn(&ev, now, &mut out, attr);
                out.extend(take_call(c, &extra));
                c.req = Some(Req {
                    method: Some(method),
                    path: Some(path),
                    time: Some(time),
                    ..Default::default()
                });
            }
            (ApiEventKind::Field(dir, f), _) => {
                let (dir, f) = (*dir, f.clone());
                let time = ev.time;
                let c = self.conn(&ev, now, &mut out, attr);
                let r = c.req.get_or_insert_with(Req::default);
                r.time.get_or_insert(time);
                match (dir, f) {
                    (Direction::Request, ApiField::Model(m)) => r.model = Some(m),
                    (Direction::Response, ApiField::Model(m)) => r.response_model = Some(m),
                    (Direction::Response, ApiField::InputTokens(n)) => r.input_tokens = Some(n),
                    (Direction::Response, ApiField::OutputTokens(n)) => r.output_tokens = Some(n),
                    _ => {}
                }
            }
            (ApiEventKind::Status(s), _) => {
                let s = *s;
                let c = self.conn(&ev, now, &mut out, attr);
                c.req.get_or_insert_with(Req::default).status = Some(s);
            }
            _ => {}
        }
        out
    }

    /// Completes calls whose connection has been quiet long enough, and ClientHello
    /// names no uprobe claimed; forgets connections idle for a minute.
    pub fn tick(&mut self, now: Instant) -> Vec<Finished> {
        let mut out = Vec::new();
        let (gone, waiting): (Vec<_>, Vec<_>) = self
            .exits
            .drain(..)
            .partition(|(_, t)| now.duration_since(*t) >= EXIT_GRACE);
        self.exits = waiting;
        for (pid, _) in gone {
            out.extend(self.complete(pid));
        }
        let quiet = self.quiet;
        for c in self.conns.values_mut() {
            // a call waits for its response (models take seconds to answer), then for
            // the rest of it (`quiet`)
            let answered = c.req.as_ref().is_some_and(|r| r.status.is_some());
            let wait = if answered { quiet } else { RESPONSE_WAIT };
            if now.duration_since(c.last) >= wait {
                out.extend(take_call(c, &self.extra));
            }
        }
        self.conns
            .retain(|_, c| c.req.is_some() || now.duration_since(c.last) < RESPONSE_WAIT);
        let old: Vec<_> = self
            .sni
            .iter()
            .filter(|(_, s)| now.duration_since(s.seen) >= quiet)
            .map(|(k, _)| *k)
            .collect();
        for k in old {
            if let Some(s) = self.sni.remove(&k) {
                out.extend(self.sni_call(s));
            }
        }
        self.ssl_by_fd
            .retain(|(pid, _), ssl| self.conns.contains_key(&(*pid, ConnRef::Ssl(*ssl))));
        out
    }

    /// Process `pid` exited: its calls are completed a little later (see [`EXIT_GRACE`]).
    pub fn exit(&mut self, pid: u32, now: Instant) {
        self.exits.push((pid, now));
    }

    /// Completes everything of process `pid`.
    fn complete(&mut self, pid: u32) -> Vec<Finished> {
        let mut out = Vec::new();
        let keys: Vec<_> = self.conns.keys().filter(|k| k.0 == pid).copied().collect();
        for k in keys {
            if let Some(mut c) = self.conns.remove(&k) {
                out.extend(take_call(&mut c, &self.extra));
            }
        }
        let keys: Vec<_> = self.sni.keys().filter(|k| k.0 == pid).copied().collect();
        for k in keys {
            if let Some(s) = self.sni.remove(&k) {
                out.extend(self.sni_call(s));
            }
        }
        self.ssl_by_fd.retain(|k, _| k.0 != pid);
        out
    }

    /// Completes everything (shutdown).
    pub fn drain(&mut self) -> Vec<Finished> {
        let pids: std::collections::BTreeSet<u32> = self
            .conns
            .keys()
            .map(|k| k.0)
            .chain(self.sni.keys().map(|k| k.0))
            .collect();
        self.exits.clear();
        pids.into_iter().flat_map(|p| self.complete(p)).collect()
    }

    fn link(&mut self, pid: u32, fd: i32, conn: ConnRef) {
        if let ConnRef::Ssl(s) = conn {
            self.ssl_by_fd.insert((pid, fd), s);
            self.sni.remove(&(pid, fd)); // the uprobes see this connection
        }
    }

    fn close(&mut self, pid: u32, fd: i32, out: &mut Vec<Finished>) {
        if let Some(mut c) = self.conns.remove(&(pid, ConnRef::Sock(fd))) {
            out.extend(take_call(&mut c, &self.extra));
        }
        if let Some(s) = self.ssl_by_fd.remove(&(pid, fd)) {
            if let Some(mut c) = self.conns.remove(&(pid, ConnRef::Ssl(s))) {
                out.extend(take_call(&mut c, &self.extra));
            }
        }
        if let Some(s) = self.sni.remove(&(pid, fd)) {
            out.extend(self.sni_call(s));
        }
    }

    /// The connection of `ev`, made when new (the oldest completed when full).
    fn conn(
        &mut self,
        ev: &ApiEvent,
        now: Instant,
        out: &mut Vec<Finished>,
        attr: Attribute,
    ) -> &mut Conn {
        let key = (ev.pid, ev.conn);
        if !self.conns.contains_key(&key) && self.conns.len() >= self.max {
            if let Some(oldest) = self
                .conns
                .iter()
                .min_by_key(|(_, c)| c.last)
                .map(|(k, _)| *k)
            {
                if let Some(mut c) = self.conns.remove(&oldest) {
                    out.extend(take_call(&mut c, &self.extra));
                }
            }
        }
        let c = self.conns.entry(key).or_insert_with(|| {
            let w = who(ev);
            Conn {
                process: attr(&w),
                who: w,
                tls_library: None,
                host: None,
                dest: None,
                ssl: matches!(ev.conn, ConnRef::Ssl(_)),
                req: None,
                last: now,
            }
        });
        c.last = now;
        if ev.dest.is_some() {
            c.dest = ev.dest;
        }
        c
    }

    fn sni_call(&self, s: PendingSni) -> Option<Finished> {
        let provider = providers::by_host(&s.host, &self.extra)?;
        Some(Finished {
            call: ApiCall {
                provider,
                gen_ai_provider: providers::gen_ai_name(provider),
                server_address: s.host,
                server_port: s.port,
                request_model: None,
                response_model: None,
                operation: None,
                path: None,
                method: None,
                status: None,
                input_tokens: None,
                output_tokens: None,
                seen_by: api_seen_by::SNI,
                tls_library: None,
                count: 1,
            },
            time: s.time,
            who: s.who,
            process: s.process,
        })
    }
}

/// The call of `c`'s current request, if it has one and it is a call (see [`finish`]).
fn take_call(c: &mut Conn, extra: &[(String, &'static str)]) -> Option<Finished> {
    let r = c.req.take()?;
    finish(c, r, extra)
}

/// The call a request made, when it is one: a POST (or a body with a model, HTTP/2) to
/// a known provider or an inference-shaped path. TLS calls are the provider's of their
/// host (`extra`, then the built-in table), else `openai-compatible`.
fn finish(c: &Conn, r: Req, extra: &[(String, &'static str)]) -> Option<Finished> {
    match r.method.as_deref() {
        Some("POST") => {}
        None if r.model.is_some() => {}
        _ => return None,
    }
    let path = r.path.clone();
    let port = c.dest.map(|d| d.1).unwrap_or(if c.ssl { 443 } else { 80 });
    let (provider, address, seen_by) = if c.ssl || c.host.is_some() {
        let host = c.host.clone().or_else(|| c.dest.map(|d| d.0.to_string()))?;
        let p = providers::by_host(&host, extra)
            .unwrap_or(aibom_semconv::api_provider::OPENAI_COMPATIBLE);
        (p, host, api_seen_by::UPROBE)
    } else {
        let p = providers::local_server(port, path.as_deref().unwrap_or(""))?;
        let address = c.dest.map(|d| d.0.to_string())?;
        (p, address, api_seen_by::HTTP)
    };
    let model = r.model.or_else(|| {
        path.as_deref()
            .and_then(providers::model_in_path)
            .map(str::to_string)
    });
    Some(Finished {
        call: ApiCall {
            provider,
            gen_ai_provider: providers::gen_ai_name(provider),
            server_address: address,
            server_port: port,
            request_model: model,
            response_model: r.response_model,
            operation: path.as_deref().and_then(providers::operation),
            path,
            method: r.method,
            status: r.status,
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            seen_by,
            tls_library: c.tls_library.clone(),
            count: 1,
        },
        time: r.time.unwrap_or_else(SystemTime::now),
        who: c.who.clone(),
        process: c.process.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(conn: ConnRef, kind: ApiEventKind) -> ApiEvent {
        ApiEvent {
            time: SystemTime::UNIX_EPOCH,
            pid: 7,
            ppid: None,
            uid: None,
            cgroup_id: None,
            comm: Some("python".into()),
            conn,
            fd: None,
            dest: Some((IpAddr::from([127, 0, 0, 1]), 443)),
            kind,
            tls_library: None,
            tracer: "test",
        }
    }

    fn attr(w: &Who) -> Arc<Attribution> {
        Arc::new(Attribution::bare(w.pid))
    }

    fn feed(a: &mut Assembler, evs: Vec<ApiEvent>, now: Instant) -> Vec<Finished> {
        let mut f = attr;
        evs.into_iter()
            .flat_map(|e| a.on_event(e, now, &mut f))
            .collect()
    }

    const SSL: ConnRef = ConnRef::Ssl(0xabc);

    fn sni(conn: ConnRef, host: &str) -> ApiEvent {
        ev(
            conn,
            ApiEventKind::Sni {
                host: host.into(),
                ai_host: true,
            },
        )
    }

    fn request(path: &str) -> ApiEvent {
        ev(
            SSL,
            ApiEventKind::Request {
                method: "POST".into(),
                path: path.into(),
            },
        )
    }

    #[test]
    fn a_request_its_fields_and_its_response_make_one_call_at_the_close() {
        let mut a = Assembler::new(Vec::new(), Duration::from_secs(1), 16);
        let now = Instant::now();
        let out = feed(
            &mut a,
            vec![
                sni(SSL, "api.openai.com"),
                ev(SSL, ApiEventKind::Link { fd: 5 }),
                request("/v1/chat/completions"),
                ev(
                    SSL,
                    ApiEventKind::Field(Direction::Request, ApiField::Model("gpt-4o".into())),
                ),
                ev(SSL, ApiEventKind::Status(200)),
                ev(
                    SSL,
                    ApiEventKind::Field(Direction::Response, ApiField::OutputTokens(9)),
                ),
            ],
            now,
        );
        assert!(out.is_empty(), "complete only at the close: {out:?}");
        let out = feed(&mut a, vec![ev(ConnRef::Sock(5), ApiEventKind::Close)], now);
        assert_eq!(out.len(), 1);
        let c = &out[0].call;
        assert_eq!(
            (
                c.provider,
                c.request_model.as_deref(),
                c.operation,
                c.status
            ),
            ("openai", Some("gpt-4o"), Some("chat"), Some(200))
        );
        assert_eq!((c.output_tokens, c.seen_by), (Some(9), api_seen_by::UPROBE));
        assert!(a.is_empty());
    }

    #[test]
    fn a_client_hello_seen_by_the_uprobes_too_is_not_a_second_call() {
        let mut a = Assembler::new(Vec::new(), Duration::from_millis(10), 16);
        let now = Instant::now();
        let mut hello = sni(ConnRef::Sock(5), "api.openai.com");
        hello.fd = Some(5);
        feed(
            &mut a,
            vec![hello, ev(SSL, ApiEventKind::Link { fd: 5 })],
            now,
        );
        assert!(a.tick(now + Duration::from_secs(1)).is_empty());
        // without the uprobes (Go, rustls): one `sni` call per connection
        let mut hello = sni(ConnRef::Sock(6), "api.anthropic.com");
        hello.fd = Some(6);
        feed(&mut a, vec![hello], now);
        let out = a.tick(now + Duration::from_secs(1));
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].call.provider, out[0].call.seen_by),
            ("anthropic", api_seen_by::SNI)
        );
        // a host that is no AI API is nothing
        let mut other = sni(ConnRef::Sock(7), "example.com");
        other.fd = Some(7);
        feed(&mut a, vec![other], now);
        assert!(a.tick(now + Duration::from_secs(1)).is_empty());
    }

    #[test]
    fn calls_wait_for_their_response_and_for_late_events_after_an_exit() {
        let mut a = Assembler::new(Vec::new(), Duration::from_secs(1), 16);
        let now = Instant::now();
        feed(
            &mut a,
            vec![sni(SSL, "api.openai.com"), request("/v1/embeddings")],
            now,
        );
        // no response yet: still waiting after the quiet time
        assert!(a.tick(now + Duration::from_secs(2)).is_empty());
        a.exit(7, now + Duration::from_secs(2));
        // the response's events come after the exit was read
        feed(
            &mut a,
            vec![ev(SSL, ApiEventKind::Status(200))],
            now + Duration::from_secs(2),
        );
        assert!(a.tick(now + Duration::from_millis(2100)).is_empty());
        let out = a.tick(now + Duration::from_secs(3));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].call.status, Some(200));
        assert_eq!(out[0].call.operation, Some("embeddings"));
    }

    #[test]
    fn gets_are_not_calls_and_the_next_request_completes_the_last() {
        let mut a = Assembler::new(Vec::new(), Duration::from_secs(1), 16);
        let now = Instant::now();
        let get = ev(
            SSL,
            ApiEventKind::Request {
                method: "GET".into(),
                path: "/v1/models".into(),
            },
        );
        let out = feed(
            &mut a,
            vec![
                sni(SSL, "api.openai.com"),
                get,
                request("/v1/chat/completions"),
                request("/v1/chat/completions"),
            ],
            now,
        );
        assert_eq!(out.len(), 1, "the GET is no call; the first POST is done");
        assert_eq!(a.drain().len(), 1);
    }
}

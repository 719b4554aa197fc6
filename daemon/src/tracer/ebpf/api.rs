//! The AI API side of the eBPF tracer: fills the kernel's host and JSON-key tables,
//! attaches the socket tracepoints and the OpenSSL uprobes (per library file, by
//! identity), and decodes `API_EVENTS` (layout in `ebpf/aibom_api.h`).
use std::collections::HashSet;
use std::mem::{offset_of, size_of};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use aibom_semconv::tracer as tracer_name;
use anyhow::{Context, Result};
use aya::maps::{HashMap as BpfHashMap, MapData, PerCpuArray};
use aya::programs::{TracePoint, UProbe};
use aya::Ebpf;

use crate::api::{providers, ApiConfig};
use crate::model::{ApiEvent, ApiEventKind, ApiField, ConnRef, Direction};

const VALUE_MAX: usize = 128;
const KEY_LEN: usize = 24;
const HOST_LEN: usize = 64;

const KIND_SNI: u32 = 1;
const KIND_REQUEST: u32 = 2;
const KIND_FIELD: u32 = 3;
const KIND_STATUS: u32 = 4;
const KIND_LINK: u32 = 5;
const KIND_CLOSE: u32 = 6;
const CONN_SOCK: u8 = 1;
const FIELD_MODEL: u8 = 1;
const FIELD_INPUT: u8 = 2;
const FIELD_OUTPUT: u8 = 3;
const FLAG_AI_HOST: u8 = 1;

/// Indices of `API_STATS`.
pub const STAT_DROPPED: u32 = 3;
pub const STAT_TRUNCATED: u32 = 4;

/// `struct aibom_api_event`.
#[repr(C)]
#[derive(Clone, Copy)]
struct Event {
    ts_ns: u64,
    cgroup_id: u64,
    conn: u64,
    num: u64,
    kind: u32,
    tgid: u32,
    ppid: u32,
    uid: u32,
    fd: i32,
    port: u16,
    family: u16,
    addr: [u8; 16],
    conn_kind: u8,
    dir: u8,
    field: u8,
    flags: u8,
    value_len: u32,
    comm: [u8; 16],
    value: [u8; VALUE_MAX],
}
const _: () = assert!(size_of::<Event>() == 224 && offset_of!(Event, value) == 96);

/// `struct aibom_json_field`.
#[repr(C)]
#[derive(Clone, Copy)]
struct JsonField {
    field: u8,
    req_depth: u8,
    resp_field: u8,
    resp_depth: u8,
}
// SAFETY: plain old data without padding.
unsafe impl aya::Pod for JsonField {}

/// (program, tracepoint) pairs of the socket side; all optional (a kernel without
/// one still traces files). One program serves syscalls with the same argument
/// positions, so the verifier checks it once (startup time).
const TRACEPOINTS: &[(&str, &str)] = &[
    ("sys_enter_connect", "sys_enter_connect"),
    ("sys_enter_write", "sys_enter_write"),
    ("sys_enter_write", "sys_enter_sendto"),
    ("sys_enter_writev", "sys_enter_writev"),
    ("sys_enter_sendmsg", "sys_enter_sendmsg"),
    ("sys_enter_read", "sys_enter_read"),
    ("sys_enter_read", "sys_enter_recvfrom"),
    ("sys_exit_read", "sys_exit_read"),
    ("sys_exit_read", "sys_exit_recvfrom"),
    ("sys_enter_close", "sys_enter_close"),
];

/// (program, OpenSSL function, entry probe that reads only arguments) triples; the
/// `_ex` ones are OpenSSL 1.1.1+. Argument-only entry probes may sit past the prologue
/// (see `entry.rs`).
const UPROBES: &[(&str, &str, bool)] = &[
    ("ssl_set_fd", "SSL_set_fd", true),
    ("ssl_ctrl", "SSL_ctrl", true),
    ("ssl_write", "SSL_write", true),
    ("ssl_write", "SSL_write_ex", true),
    ("ssl_read", "SSL_read", true),
    ("ssl_read_ex", "SSL_read_ex", true),
    ("ssl_read_ret", "SSL_read", false),
    ("ssl_read_ret", "SSL_read_ex", false),
];

/// JSON keys taken: (key, request field, request depth, response field, response depth).
const JSON_KEYS: &[(&str, u8, u8, u8, u8)] = &[
    ("model", FIELD_MODEL, 1, FIELD_MODEL, 3),
    ("modelVersion", 0, 0, FIELD_MODEL, 1),
    ("prompt_tokens", 0, 0, FIELD_INPUT, 3),
    ("input_tokens", 0, 0, FIELD_INPUT, 4),
    ("promptTokenCount", 0, 0, FIELD_INPUT, 3),
    ("prompt_eval_count", 0, 0, FIELD_INPUT, 1),
    ("completion_tokens", 0, 0, FIELD_OUTPUT, 3),
    ("output_tokens", 0, 0, FIELD_OUTPUT, 4),
    ("candidatesTokenCount", 0, 0, FIELD_OUTPUT, 3),
    ("eval_count", 0, 0, FIELD_OUTPUT, 1),
];

/// Where a system's OpenSSL usually is (the first of each file identity is attached).
const SYSTEM_LIBSSL: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/libssl.so.3",
    "/usr/lib/aarch64-linux-gnu/libssl.so.3",
    "/usr/lib64/libssl.so.3",
    "/usr/lib/libssl.so.3",
    "/lib/x86_64-linux-gnu/libssl.so.3",
    "/lib64/libssl.so.3",
    "/usr/lib/x86_64-linux-gnu/libssl.so.1.1",
    "/usr/lib64/libssl.so.1.1",
];

/// The OpenSSL libraries with uprobes attached, by file identity.
pub struct TlsLibraries {
    attached: HashSet<(u64, u64)>,
    /// responses are parsed (uretprobes on SSL_read/_ex attached)
    responses: bool,
    /// processes whose maps were read already, and the OpenSSL each maps
    looked: lru::LruCache<u32, Looked>,
}

impl TlsLibraries {
    fn new(responses: bool) -> Self {
        Self {
            attached: HashSet::new(),
            responses,
            looked: lru::LruCache::new(std::num::NonZeroUsize::new(4096).unwrap()),
        }
    }

    /// Libraries attached.
    pub fn len(&self) -> usize {
        self.attached.len()
    }

    /// True when none is.
    pub fn is_empty(&self) -> bool {
        self.attached.is_empty()
    }

    /// Attaches the uprobes to `file` (opened as `target`) unless its identity has them.
    fn attach(&mut self, bpf: &mut Ebpf, target: &Path) -> Result<bool> {
        let md = std::fs::metadata(target).with_context(|| format!("{}", target.display()))?;
        if !md.is_file() || !self.attached.insert((md.dev(), md.ino())) {
            return Ok(false);
        }
        let image = super::entry::Image::read(target);
        let mut n = 0;
        for &(prog, func, args_only) in UPROBES {
            if prog == "ssl_read_ret" && !self.responses {
                continue;
            }
            let p: &mut UProbe = bpf
                .program_mut(prog)
                .with_context(|| format!("program {prog} missing"))?
                .try_into()?;
            let skip = if args_only {
                image.as_ref().map_or(0, |i| i.skip(func))
            } else {
                0
            };
            match p.attach(
                aya::programs::uprobe::UProbeAttachLocation::SymbolOffset(func, skip),
                target,
                aya::programs::uprobe::UProbeScope::AllProcesses,
            ) {
                Ok(_) => n += 1,
                Err(e) => {
                    tracing::debug!(library = %target.display(), func, error = %e, "uprobe not attached")
                }
            }
        }
        tracing::info!(library = %target.display(), probes = n, "OpenSSL uprobes attached");
        Ok(n > 0)
    }
}

/// What a process's maps said of its OpenSSL (read once per process).
#[derive(Clone, Default)]
struct Looked {
    /// The `libssl` paths it maps, as it sees them.
    libs: Vec<std::sync::Arc<str>>,
    /// Its libraries were attached.
    attached: bool,
}

impl TlsLibraries {
    /// The OpenSSL libraries process `pid` maps: its `/proc/PID/maps` read once, cached.
    fn looked(&mut self, pid: u32) -> &mut Looked {
        self.looked.get_or_insert_mut(pid, || {
            let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
            let libs: std::collections::BTreeSet<&str> = maps
                .lines()
                .filter_map(|l| l.split_whitespace().nth(5))
                .filter(|p| is_libssl(p))
                .collect();
            Looked {
                libs: libs.into_iter().map(std::sync::Arc::from).collect(),
                attached: false,
            }
        })
    }

    /// Attaches to the OpenSSL libraries process `pid` maps (once per process), read
    /// through its own root so a container's library is the one attached.
    pub fn attach_for(&mut self, bpf: &mut Ebpf, pid: u32) {
        let looked = self.looked(pid);
        if std::mem::replace(&mut looked.attached, true) {
            return;
        }
        for lib in looked.libs.clone() {
            let target = PathBuf::from(format!("/proc/{pid}/root{lib}"));
            if let Err(e) = self.attach(bpf, &target) {
                tracing::debug!(pid, library = %lib, error = %e, "OpenSSL of a process not attached");
            }
        }
    }

    /// The OpenSSL process `pid` maps (the first, when several).
    pub fn library_of(&mut self, pid: u32) -> Option<std::sync::Arc<str>> {
        self.looked(pid).libs.first().cloned()
    }
}

fn is_libssl(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or("");
    name.starts_with("libssl.so")
}

/// Fills the tables, attaches the socket tracepoints and loads the uprobe programs
/// (attached to the system's OpenSSL and `cfg.tls_libraries`).
pub fn setup(bpf: &mut Ebpf, cfg: &ApiConfig) -> Result<TlsLibraries> {
    let extra = cfg.extra_hosts()?;
    {
        let mut hosts: BpfHashMap<&mut MapData, [u8; HOST_LEN], u8> =
            BpfHashMap::try_from(bpf.map_mut("AI_HOSTS").context("AI_HOSTS missing")?)?;
        for h in providers::exact_hosts(&extra) {
            let mut k = [0u8; HOST_LEN];
            let b = h.as_bytes();
            k[..b.len().min(HOST_LEN - 1)].copy_from_slice(&b[..b.len().min(HOST_LEN - 1)]);
            hosts.insert(k, 1, 0)?;
        }
    }
    {
        let mut keys: BpfHashMap<&mut MapData, [u8; KEY_LEN], JsonField> = BpfHashMap::try_from(
            bpf.map_mut("API_JSON_KEYS")
                .context("API_JSON_KEYS missing")?,
        )?;
        for &(k, field, req_depth, resp_field, resp_depth) in JSON_KEYS {
            let mut key = [0u8; KEY_LEN];
            key[..k.len()].copy_from_slice(k.as_bytes());
            let v = JsonField {
                field,
                req_depth,
                resp_field,
                resp_depth,
            };
            keys.insert(key, v, 0)?;
        }
    }
    let mut loaded = std::collections::BTreeSet::new();
    for &(prog, name) in TRACEPOINTS {
        let tp: &mut TracePoint = bpf
            .program_mut(prog)
            .with_context(|| format!("program {prog} missing"))?
            .try_into()?;
        let load = if loaded.insert(prog) {
            tp.load()
        } else {
            Ok(())
        };
        if let Err(e) = load.and_then(|_| tp.attach("syscalls", name).map(|_| ())) {
            tracing::warn!(tracepoint = name, error = %e, "API tracepoint not attached: calls over it are not seen");
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for prog in UPROBES.iter().map(|u| u.0) {
        if prog == "ssl_read_ret" && !cfg.responses {
            continue;
        }
        if seen.insert(prog) {
            let p: &mut UProbe = bpf
                .program_mut(prog)
                .with_context(|| format!("program {prog} missing"))?
                .try_into()?;
            p.load().with_context(|| format!("loading {prog}"))?;
        }
    }
    let mut libs = TlsLibraries::new(cfg.responses);
    let wanted = SYSTEM_LIBSSL
        .iter()
        .map(PathBuf::from)
        .chain(cfg.tls_libraries.iter().cloned());
    for path in wanted {
        if path.exists() {
            if let Err(e) = libs.attach(bpf, &path) {
                tracing::warn!(library = %path.display(), error = format!("{e:#}"), "OpenSSL uprobes not attached");
            }
        }
    }
    Ok(libs)
}

/// (dropped events, truncated scans) from `API_STATS`.
pub fn kernel_stats(bpf: &Ebpf) -> Result<(u64, u64)> {
    let arr: PerCpuArray<&MapData, u64> =
        PerCpuArray::try_from(bpf.map("API_STATS").context("API_STATS missing")?)?;
    let get = |i: u32| -> Result<u64> { Ok(arr.get(&i, 0)?.iter().sum()) };
    Ok((get(STAT_DROPPED)?, get(STAT_TRUNCATED)?))
}

fn text(b: &[u8], len: u32) -> String {
    let n = (len as usize).min(b.len());
    let b = &b[..n];
    let b = b.split(|c| *c == 0).next().unwrap_or(b);
    String::from_utf8_lossy(b).into_owned()
}

/// Decodes one `API_EVENTS` record; `time` converts the kernel's boot-time stamp.
pub fn decode(buf: &[u8], time: impl Fn(u64) -> std::time::SystemTime) -> Option<ApiEvent> {
    if buf.len() < size_of::<Event>() {
        return None;
    }
    // SAFETY: length checked; Event is plain old data, read unaligned.
    let e: Event = unsafe { std::ptr::read_unaligned(buf.as_ptr() as *const Event) };
    let value = || text(&e.value, e.value_len);
    let kind = match e.kind {
        KIND_SNI => ApiEventKind::Sni {
            host: value().to_ascii_lowercase(),
            ai_host: e.flags & FLAG_AI_HOST != 0,
        },
        KIND_REQUEST => {
            let v = value();
            let (method, path) = v.split_once(' ')?;
            ApiEventKind::Request {
                method: method.to_string(),
                path: path.to_string(),
            }
        }
        KIND_FIELD => {
            let dir = if e.dir == 0 {
                Direction::Request
            } else {
                Direction::Response
            };
            let f = match e.field {
                FIELD_MODEL => ApiField::Model(value()),
                FIELD_INPUT => ApiField::InputTokens(e.num),
                FIELD_OUTPUT => ApiField::OutputTokens(e.num),
                _ => return None,
            };
            ApiEventKind::Field(dir, f)
        }
        KIND_STATUS => ApiEventKind::Status(u16::try_from(e.num).ok()?),
        KIND_LINK => ApiEventKind::Link { fd: e.fd },
        KIND_CLOSE => ApiEventKind::Close,
        _ => return None,
    };
    let conn = if e.conn_kind == CONN_SOCK {
        ConnRef::Sock(e.conn as i32)
    } else {
        ConnRef::Ssl(e.conn)
    };
    let addr = match e.family {
        2 => Some(IpAddr::V4(Ipv4Addr::new(
            e.addr[0], e.addr[1], e.addr[2], e.addr[3],
        ))),
        10 => Some(IpAddr::V6(Ipv6Addr::from(e.addr))),
        _ => None,
    };
    let comm = text(&e.comm, 16);
    Some(ApiEvent {
        time: time(e.ts_ns),
        pid: e.tgid,
        ppid: Some(e.ppid).filter(|p| *p != 0),
        uid: Some(e.uid),
        cgroup_id: Some(e.cgroup_id),
        comm: Some(comm),
        conn,
        fd: (e.fd >= 0).then_some(e.fd),
        dest: addr.filter(|_| e.port != 0).map(|a| (a, e.port)),
        kind,
        tls_library: None,
        tracer: tracer_name::EBPF,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(kind: u32, value: &str) -> Vec<u8> {
        let mut e = Event {
            ts_ns: 5,
            cgroup_id: 7,
            conn: 0xdead,
            num: 0,
            kind,
            tgid: 42,
            ppid: 1,
            uid: 1000,
            fd: 3,
            port: 443,
            family: 2,
            addr: [0; 16],
            conn_kind: 2,
            dir: 0,
            field: 0,
            flags: 0,
            value_len: value.len() as u32,
            comm: [0; 16],
            value: [0; VALUE_MAX],
        };
        e.addr[..4].copy_from_slice(&[127, 0, 0, 1]);
        e.value[..value.len()].copy_from_slice(value.as_bytes());
        // SAFETY: Event is plain old data.
        unsafe { std::slice::from_raw_parts(&e as *const Event as *const u8, size_of::<Event>()) }
            .to_vec()
    }

    #[test]
    fn decodes_requests_and_names() {
        let t = |_| std::time::SystemTime::UNIX_EPOCH;
        let ev = decode(&raw(KIND_REQUEST, "POST /v1/chat/completions"), t).unwrap();
        assert_eq!(ev.pid, 42);
        assert_eq!(ev.conn, ConnRef::Ssl(0xdead));
        assert_eq!(ev.dest, Some((IpAddr::V4(Ipv4Addr::LOCALHOST), 443)));
        assert_eq!(
            ev.kind,
            ApiEventKind::Request {
                method: "POST".into(),
                path: "/v1/chat/completions".into()
            }
        );
        let ev = decode(&raw(KIND_SNI, "API.OpenAI.com"), t).unwrap();
        assert!(matches!(ev.kind, ApiEventKind::Sni { ref host, .. } if host == "api.openai.com"));
        assert!(decode(&raw(99, ""), t).is_none());
        assert!(
            decode(&raw(KIND_REQUEST, "x")[..100], t).is_none(),
            "short record"
        );
    }
}

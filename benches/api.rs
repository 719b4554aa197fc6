//! # `api`: what does seeing AI API calls cost the calling process?
//!
//! A `harness = false` benchmark printing Markdown tables (progress on stderr); every
//! ratio is against a baseline measured in the same run, configurations interleaved
//! ([`REPS`] repetitions, medians).
//!
//! 1. **AI calls.** A Python client (CPython's `ssl`, the system OpenSSL) sends
//!    [`REQUESTS`] keep-alive `POST /v1/chat/completions` to a loopback HTTPS server
//!    named `api.openai.com`: each request is parsed in the kernel (uprobes on
//!    `SSL_write_ex`/`SSL_read_ex`, the JSON scan, events). Per request, without aibomd
//!    and under `aibomd run` (only the client traced, so the rest of the host does not
//!    load the measurement).
//! 2. **Other TLS.** The same client writes [`WRITES`] 64-byte records with
//!    `SSL_write` to a server named `internal.example` (not an AI host): the uprobe fires
//!    and returns after one map lookup. The added cost per write.
//!    With `[api] responses = true` the return probes on `SSL_read`/`_ex` are attached
//!    too: both rows again.
//! 3. **Other writes.** `write(2)` of one byte to `/dev/null`, [`WRITES`] times: the
//!    `sys_enter_write` tracepoint's socket lookup misses. The added cost per write.
//!
//! ```sh
//! cargo bench -p aibomd --bench api      # needs root
//! ```
//! Started without `--bench` (e.g. by `cargo test --all-targets`) it does nothing.

#[path = "report.rs"]
mod report;
use report::{median, print_table, ratio};

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context, Result};

const REQUESTS: usize = 1000;
const WRITES: usize = 200_000;
const REPS: usize = 5;

/// The loopback server (`serve`) and the clients (`requests`, `writes`, `devnull`), each
/// client printing its nanoseconds per operation.
const SCRIPT: &str = r#"
import http.client, json, os, socket, ssl, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

mode = sys.argv[1]
if mode == "serve":
    cert, key, port, sink_port = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    body = json.dumps({"id": "x", "object": "chat.completion", "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 1}}).encode()
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls between header and body writes
        def log_message(self, *a): pass
        def do_POST(self):
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    s = ThreadingHTTPServer(("127.0.0.1", port), H)
    s.socket = ctx.wrap_socket(s.socket, server_side=True)
    threading.Thread(target=s.serve_forever, daemon=True).start()
    ls = socket.create_server(("127.0.0.1", sink_port))
    def sink():
        while True:
            c, _ = ls.accept()
            def drain(c=c):
                t = ctx.wrap_socket(c, server_side=True)
                while t.recv(65536):
                    pass
            threading.Thread(target=drain, daemon=True).start()
    threading.Thread(target=sink, daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()

ca, port, n = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if mode == "devnull":
    fd = os.open("/dev/null", os.O_WRONLY)
    t = time.perf_counter_ns()
    for _ in range(n):
        os.write(fd, b"x")
    print((time.perf_counter_ns() - t) / n)
    sys.exit(0)
ctx = ssl.create_default_context(cafile=ca)
name = "api.openai.com" if mode == "requests" else "internal.example"
raw = socket.create_connection(("127.0.0.1", port))
raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
sock = ctx.wrap_socket(raw, server_hostname=name)
if mode == "writes":
    rec = b"x" * 64
    t = time.perf_counter_ns()
    for _ in range(n):
        sock.sendall(rec)
    print((time.perf_counter_ns() - t) / n)
    sys.exit(0)
conn = http.client.HTTPSConnection(name, port, context=ctx)
conn.sock = sock
req = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello " * 40}]})
hdr = {"content-type": "application/json", "authorization": "Bearer sk-bench"}
for _ in range(20):  # warm up
    conn.request("POST", "/v1/chat/completions", req, hdr); conn.getresponse().read()
t = time.perf_counter_ns()
for _ in range(n):
    conn.request("POST", "/v1/chat/completions", req, hdr)
    conn.getresponse().read()
print((time.perf_counter_ns() - t) / n)
"#;

fn main() -> Result<()> {
    if !report::root_bench("api", "eBPF")? {
        return Ok(());
    }
    let tmp = tempfile::Builder::new()
        .prefix("aibomd-bench-api-")
        .tempdir_in("/tmp")?;
    let dir = std::fs::canonicalize(tmp.path())?;
    certs(&dir)?;
    std::fs::write(dir.join("bench.py"), SCRIPT)?;
    let py = std::env::var("AIBOM_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let (port, sink) = (free_port()?, free_port()?);
    let _server = Server::start(&py, &dir, port, sink)?;

    // (label, client mode, server port, operations, parse TLS responses)
    let rows: [(&str, &str, u16, usize, bool); 5] = [
        (
            "AI call: HTTPS POST (defaults)",
            "requests",
            port,
            REQUESTS,
            false,
        ),
        (
            "AI call, [api] responses = true",
            "requests",
            port,
            REQUESTS,
            true,
        ),
        ("other TLS: SSL_write 64 B", "writes", sink, WRITES, false),
        (
            "other TLS: SSL_write, responses = true",
            "writes",
            sink,
            WRITES,
            true,
        ),
        ("other write(2): /dev/null", "devnull", 0, WRITES, false),
    ];
    let mut without = vec![Vec::new(); rows.len()];
    let mut with = vec![Vec::new(); rows.len()];
    for rep in 0..REPS {
        eprintln!("api bench: repetition {}/{REPS}", rep + 1);
        for traced in [false, true] {
            for (i, (_, mode, p, n, responses)) in rows.iter().enumerate() {
                let ns = client(&py, &dir, mode, *p, *n, traced, *responses)?;
                if traced {
                    with[i].push(ns)
                } else {
                    without[i].push(ns)
                }
            }
        }
    }
    println!("# api bench\n");
    println!(
        "## Cost to the calling process ({REPS} repetitions, medians; {REQUESTS} requests, {WRITES} writes)\n"
    );
    let table: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .map(|(i, (label, ..))| {
            let (a, b) = (median(&without[i]), median(&with[i]));
            vec![
                label.to_string(),
                format!("{:.2}", a / 1000.0),
                format!("{:.2}", b / 1000.0),
                format!("{:+.2}", (b - a) / 1000.0),
                ratio(b, a),
            ]
        })
        .collect();
    print_table(
        &[
            "operation",
            "µs/op, no aibomd",
            "µs/op, aibomd run",
            "added µs/op",
            "ratio",
        ],
        &table,
    );
    println!();
    Ok(())
}

fn certs(dir: &Path) -> Result<()> {
    let script = r#"
set -e
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=bench CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj "/CN=api.openai.com" 2>/dev/null
printf 'subjectAltName=DNS:api.openai.com,DNS:internal.example\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n' > ext
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile ext 2>/dev/null
"#;
    let st = Command::new("sh")
        .args(["-c", script])
        .current_dir(dir)
        .status()?;
    if !st.success() {
        bail!("openssl could not make the bench's certificates");
    }
    Ok(())
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// One client run, under `aibomd run` when `traced` (only the client is traced: the
/// host's other processes do not load the measurement).
fn client(
    py: &str,
    dir: &Path,
    mode: &str,
    port: u16,
    n: usize,
    traced: bool,
    responses: bool,
) -> Result<f64> {
    let mut cmd = if traced {
        let mut c = Command::new(env!("CARGO_BIN_EXE_aibomd"));
        c.args([
            "run",
            "--no-console",
            "--tracer",
            "ebpf",
            "--events",
            "/dev/null",
            "--",
        ])
        .arg(py)
        .env("AIBOM_API__RESPONSES", responses.to_string())
        .env("AIBOM_LOG", "error");
        c
    } else {
        Command::new(py)
    };
    let out = cmd
        .arg(dir.join("bench.py"))
        .args([mode, "ca.pem", &port.to_string(), &n.to_string()])
        .current_dir(dir)
        .output()?;
    if !out.status.success() {
        bail!(
            "bench client {mode} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .parse()
        .context("client output")
}

/// The loopback servers, killed on drop.
struct Server(Child);

impl Server {
    fn start(py: &str, dir: &Path, port: u16, sink: u16) -> Result<Self> {
        let mut c = Command::new(py)
            .arg(dir.join("bench.py"))
            .args([
                "serve",
                "srv.pem",
                "srv.key",
                &port.to_string(),
                &sink.to_string(),
            ])
            .current_dir(dir)
            .stdout(Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(c.stdout.take().context("stdout")?).read_line(&mut line)?;
        if !line.contains("ready") {
            bail!("bench server did not start");
        }
        Ok(Self(c))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

//! `aibomd` command line.
use std::path::PathBuf;
use std::process::ExitCode;

use aibomd::app::{self, run::RunOptions};
use aibomd::config::Config;
use aibomd::tracer::TracerChoice;
use anyhow::Result;
use clap::{Args, Parser, Subcommand};

/// aibomd: see which AI artifacts (models, datasets, tokenizers, prompts, tool configs)
/// processes really load, traced from the kernel.
///
/// Examples:
///   aibomd run -- python app.py                 trace one command, print what it loaded
///   aibomd run --events - -- python app.py      ...and every access as JSON Lines on stdout
///   aibomd run --bom bom.cdx.json -- python app.py
///                                               ...and a CycloneDX 1.6 AI-BOM of what it loaded
///   aibomd bom merge declared.cdx.json bom.cdx.json -o merged.cdx.json
///                                               mark which declared models were really loaded
///   aibomd daemon --config /etc/aibomd.toml     trace the whole host until SIGTERM
///   aibomd run --policy policy.toml --fail-on-violation -- python app.py
///                                               ...judge what it loads; exit non-zero on a violation
///   aibomd policy check policy.toml             validate and explain a policy file
///   aibomd config                               print the effective configuration
///   OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 aibomd run -- python app.py
///                                               ...and send logs, spans, metrics over OTLP
///
/// Needs root for the eBPF tracer (and fanotify); `--tracer procfs` works without it.
#[derive(Parser, Debug)]
#[command(version, verbatim_doc_comment)]
struct Cli {
    /// Config file (TOML). Values may be overridden by AIBOM_* env vars, e.g.
    /// AIBOM_TRACER=procfs, AIBOM_EBPF__WAKEUP_BYTES=65536, AIBOM_FILTER__ALLOW_SUFFIXES=.gguf,.onnx
    #[arg(long, short = 'c', global = true, env = "AIBOM_CONFIG")]
    config: Option<PathBuf>,

    /// Log filter (tracing env-filter syntax: info, debug, aibomd=trace).
    #[arg(long, global = true, env = "AIBOM_LOG", default_value = "warn")]
    log: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run CMD, trace it and all its descendants, and report the artifacts they accessed.
    ///
    /// Exits with CMD's exit code (128+N when killed by signal N). SIGINT/SIGTERM are passed
    /// on to CMD; everything traced is drained before aibomd exits.
    Run(RunArgs),
    /// Trace every process on this host until SIGINT/SIGTERM; then drain and flush.
    ///
    /// Serves the control API (scans) on a Unix socket, default /run/aibomd/control.sock:
    ///   curl --unix-socket /run/aibomd/control.sock -H 'Content-Type: application/json' \
    ///        -d '{"project":"demo","duration":10}' http://aibomd/v1/scans
    ///   curl --unix-socket /run/aibomd/control.sock http://aibomd/v1/scans/SCAN_ID
    #[command(verbatim_doc_comment)]
    Daemon(DaemonArgs),
    /// Print the effective configuration (defaults + file + env) as TOML.
    Config,
    /// Work with AI-BOM documents (write one with `aibomd run --bom FILE`).
    #[command(subcommand)]
    Bom(BomCommand),
    /// Work with policy files (`--policy FILE` of `run` and `daemon`).
    #[command(subcommand)]
    Policy(PolicyCommand),
}

#[derive(Subcommand, Debug)]
enum PolicyCommand {
    /// Validate a policy file and explain each rule; exits 1 when it is invalid.
    ///
    /// A policy is TOML:
    ///   enforce_roots = ["/srv/models"]   # where `deny` is enforced, besides the model stores
    ///   [[rules]]
    ///   name = "approved-model-licenses"
    ///   match = { "aibom.artifact.type" = ["model"] }              # all must hold (globs)
    ///   allow = { "aibom.artifact.license" = ["Apache-2.0", "MIT"] } # else a violation
    ///   action = "alert"                   # alert | deny | kill
    ///   severity = "high"                  # low | medium | high | critical
    /// Keys are attribute names from the AI-BOM convention (semconv/README.md); `deny` and
    /// `except` tables take the same form as `allow`.
    #[command(verbatim_doc_comment)]
    Check {
        /// The policy file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum BomCommand {
    /// Merge a statically declared CycloneDX BOM with a runtime one from `aibomd run --bom`.
    ///
    /// Every model and data component of STATIC gets the property aibom:runtime:loaded
    /// (true when RUNTIME has it: same SHA-256 hash, else same purl, else same name);
    /// components loaded at run time that STATIC does not declare are added with
    /// aibom:runtime:undeclared=true. Counts go to stderr.
    ///
    /// Example:
    ///   aibomd run --bom runtime.cdx.json -- python app.py
    ///   aibomd bom merge declared.cdx.json runtime.cdx.json -o merged.cdx.json
    #[command(verbatim_doc_comment)]
    Merge {
        /// The declared BOM (CycloneDX JSON, e.g. from a build or a scanner).
        #[arg(value_name = "STATIC")]
        static_bom: PathBuf,
        /// The runtime BOM (CycloneDX JSON from `aibomd run --bom`).
        #[arg(value_name = "RUNTIME")]
        runtime: PathBuf,
        /// Write the merged BOM here (default: stdout).
        #[arg(long, short = 'o', value_name = "OUT")]
        output: Option<PathBuf>,
    },
}

fn parse_bom_format(s: &str) -> Result<aibom_bom::Format, String> {
    aibom_bom::Format::parse(s)
        .ok_or_else(|| format!("expected one of {}", aibom_bom::Format::NAMES.join(", ")))
}

#[derive(Args, Debug)]
struct CommonArgs {
    /// Write each access as a JSON Lines object to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    /// Also write OTLP JSON lines (logs, traces, metrics) to FILE. OTLP to a collector is
    /// configured with the standard OTEL_EXPORTER_OTLP_* variables.
    #[arg(long, value_name = "FILE")]
    otlp_file: Option<PathBuf>,
    /// Project of the accesses. `run`: every access of CMD's tree (beats AIBOM_PROJECT and
    /// rules). `daemon`: the default, for processes without AIBOM_PROJECT in their environment
    /// and not matched by an [[attribute.rules]] entry.
    #[arg(long, value_name = "ID")]
    project: Option<String>,
    /// Tracer backend: auto picks the best that works (ebpf, then fanotify, then procfs).
    #[arg(long, value_enum)]
    tracer: Option<TracerChoice>,
    /// Fold repeated accesses of a file by a process within this many ms (0: off).
    #[arg(long, value_name = "MS")]
    dedup_window_ms: Option<u64>,
    /// Also print one line per access on stderr.
    #[arg(long, overrides_with = "no_console")]
    console: bool,
    /// Do not print one line per access on stderr.
    #[arg(long)]
    no_console: bool,
    /// Judge every access by the rules of this policy file (TOML; `aibomd policy check
    /// FILE` explains one). Violations are reported as aibom.policy.violation records.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Keep every capability and install no seccomp filter once tracing is set up (for
    /// debugging; same as sandbox.enabled = false).
    #[arg(long)]
    no_sandbox: bool,
}

#[derive(Args, Debug)]
struct DaemonArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Serve the control API on this Unix socket (mode 0600); "" turns the socket off.
    #[arg(long, value_name = "PATH", value_parser = parse_socket_path)]
    control_socket: Option<PathBuf>,
    /// Let members of this group (name or number) use the control socket: it becomes 0660
    /// of the group, for a non-root sidecar (same as control.group).
    #[arg(long, value_name = "GROUP")]
    control_group: Option<String>,
    /// Also serve the control API over HTTP on this loopback address (needs a token:
    /// AIBOM_DAEMON_TOKEN or control.token_file).
    #[arg(long, value_name = "ADDR")]
    control_listen: Option<std::net::SocketAddr>,
}

#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Do not print the artifact table at the end.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// When CMD ends, write an AI-BOM of the AI artifacts it loaded to FILE (`-` for
    /// stdout): models with hash, license, purl and model card facts, datasets, prompts,
    /// tools; where each was loaded from, how it was identified, and by which process.
    #[arg(long, value_name = "FILE")]
    bom: Option<PathBuf>,
    /// Format of --bom: cyclonedx-json (CycloneDX 1.6) or spdx3-json (SPDX 3.0.1 JSON-LD,
    /// AI and Dataset profiles).
    #[arg(long, value_name = "FORMAT", default_value = "cyclonedx-json", value_parser = parse_bom_format)]
    bom_format: aibom_bom::Format,
    /// Exit non-zero (3, unless CMD itself failed) when a policy rule was violated: for CI
    /// jobs.
    #[arg(long)]
    fail_on_violation: bool,
    /// Under sudo, CMD runs as the user who ran sudo (SUDO_UID/SUDO_GID and their groups):
    /// a hostile model file never runs as root. This keeps CMD running as root.
    #[arg(long)]
    as_root: bool,
    /// The command to run, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<String>,
}

impl CommonArgs {
    fn apply(&self, cfg: &mut Config, console_default: bool) {
        if let Some(e) = &self.events {
            cfg.export.events_file = Some(e.clone());
        }
        if let Some(f) = &self.otlp_file {
            cfg.export.otlp_file = Some(f.clone());
        }
        if let Some(p) = &self.project {
            cfg.project = p.clone();
        }
        if let Some(t) = self.tracer {
            cfg.tracer = t;
        }
        if let Some(w) = self.dedup_window_ms {
            cfg.pipeline.dedup_window_ms = w;
        }
        if let Some(p) = &self.policy {
            cfg.policy.file = Some(p.clone());
        }
        if self.no_sandbox {
            cfg.sandbox.enabled = false;
        }
        // The console is the default view only when nothing else is configured.
        cfg.export.console = if self.console {
            true
        } else if self.no_console {
            false
        } else {
            console_default && cfg.export.console && !aibomd::app::has_non_console_sink(cfg)
        };
    }
}

fn main() -> ExitCode {
    one_malloc_arena();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&cli.log))
        .with_writer(std::io::stderr)
        .init();
    let result = real_main(cli);
    aibomd::tracer::ebpf::wait_detached();
    match result {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("aibomd: error: {e:#}");
            ExitCode::from(70)
        }
    }
}

/// Raises the soft open-file limit to the hard one: fanotify hands us one fd per event and
/// a busy host can have many in flight.
fn raise_nofile_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}

fn real_main(cli: Cli) -> Result<i32> {
    raise_nofile_limit();
    let mut cfg = Config::load(cli.config.as_deref())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    match cli.command {
        Command::Run(a) => {
            // `run` prints a table at the end; per-access lines only when asked.
            a.common.apply(&mut cfg, false);
            // `run --project` wins over the environment and the project rules.
            cfg.attribute.cli_project = a.common.project.clone();
            let opts = RunOptions {
                command: a.command,
                summary: !a.quiet,
                bom: a.bom.map(|f| (f, a.bom_format)),
                fail_on_violation: a.fail_on_violation,
                as_root: a.as_root,
            };
            rt.block_on(app::run::run(&cfg, opts))
        }
        Command::Daemon(a) => {
            a.common.apply(&mut cfg, true);
            if let Some(s) = a.control_socket {
                cfg.control.socket = Some(s);
            }
            if let Some(g) = a.control_group {
                cfg.control.group = Some(g);
            }
            if let Some(l) = a.control_listen {
                cfg.control.listen = Some(l);
            }
            rt.block_on(app::daemon::daemon(&cfg))?;
            Ok(0)
        }
        Command::Policy(PolicyCommand::Check { file }) => match aibomd::policy::load(&file) {
            Ok(set) => {
                print!("{}", aibomd::policy::explain::explain(&set));
                Ok(0)
            }
            Err(e) => {
                eprintln!("aibomd: invalid policy: {e}");
                Ok(1)
            }
        },
        Command::Config => {
            print!("{}", cfg.to_toml());
            Ok(0)
        }
        Command::Bom(BomCommand::Merge {
            static_bom,
            runtime,
            output,
        }) => {
            let r = aibomd::export::bom::merge_files(&static_bom, &runtime, output.as_deref())?;
            eprintln!(
                "aibomd: {} declared AI component(s), {} loaded at run time, {} not loaded; {} loaded but undeclared",
                r.declared,
                r.loaded,
                r.declared - r.loaded,
                r.undeclared
            );
            Ok(0)
        }
    }
}

/// `--control-socket`: any path, "" included (it turns the socket off); clap's own path
/// parser refuses an empty value.
fn parse_socket_path(s: &str) -> Result<PathBuf, std::convert::Infallible> {
    Ok(PathBuf::from(s))
}

/// One glibc malloc arena for the whole process, set before any thread starts. With one
/// arena per thread (glibc's default, up to 8 per core) the memory freed after a storm of
/// long paths stays kept by each thread's arena: 64 processes opening distinct 4,000-byte
/// paths left ~89 MiB resident and growing with the default, ~37 MiB flat with one
/// (`tests/memory.rs`). The pipeline is one thread; the tracer and hash workers allocate
/// little, so the contention this trades for is small.
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tunable; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

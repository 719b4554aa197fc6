//! Command line: flags, their environment variables, and the help that explains them.
use crate::routes::scans::Daemon;
use crate::tables::is_identifier;
use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;

const ABOUT: &str =
    "Runtime AI-BOM query sidecar: serves which AI artifacts a project's processes \
opened, from ClickHouse.";

const LONG_ABOUT: &str = "\
Runtime AI-BOM query sidecar: serves which AI artifacts a project's processes opened.

Data path: aibomd -> OTLP logs -> collector (rotel) -> ClickHouse <prefix>_logs -> materialized \
view -> runtime_events <- aibom-query (this) <- your dashboards and tools.

aibom-query owns the ClickHouse schema. Run it once with --migrate before the collector writes: \
rotel never creates tables. Point rotel at the same database and table prefix \
(ROTEL_CLICKHOUSE_EXPORTER_DATABASE=aibom, ROTEL_CLICKHOUSE_TABLE_PREFIX=otel), with Map \
attribute columns (leave --clickhouse-exporter-enable-json off).

Every API route needs `Authorization: Bearer <token>`: set AIBOM_QUERY_TOKEN or --token-file \
(at least 16 characters). Without a token it refuses to start unless --insecure-no-auth. \
DELETE needs a distinct admin token (AIBOM_QUERY_ADMIN_TOKEN or --admin-token-file); without \
one, DELETE is refused. /healthz, /metrics and /openapi.json are open.";

const AFTER_HELP: &str = "\
Routes:
  GET    /projects/{id}/runtime/events    newest first; ?type= provider= license= artifact= \
process= since= until= (RFC 3339) limit= (1..1000, default 100) cursor= (the `next` of a page)
  DELETE /projects/{id}/runtime/events    ?before= (RFC 3339); answers {\"deleted\": N}
  GET    /projects/{id}/runtime/summary   artifacts, counts by type/provider/license, totals
  POST   /scan/runtime                    {\"project\": \"p\", \"duration\": 60} -> 202 {\"scan_id\", \"state\"}
  GET    /scans/{id}                      a scan's state
  POST   /scans/{id}/stop                 ends a running scan early
  GET    /projects                        projects with runtime data
  GET    /projects/{id}/runtime/stream    live events (server-sent events)
  GET    /ui/                             the web UI (enter the token there)
  GET    /healthz  /metrics  /openapi.json

Examples:
  aibom-query --migrate-only --clickhouse-url http://127.0.0.1:8123
  AIBOM_QUERY_TOKEN=$(cat /etc/aibom/token) aibom-query --migrate --daemon http://node1:7070
  curl -H \"Authorization: Bearer $AIBOM_QUERY_TOKEN\" \\
       'http://127.0.0.1:8088/projects/demo/runtime/events?type=model&limit=10'";

/// `aibom-query` command line.
#[derive(Debug, Parser)]
#[command(name = "aibom-query", version, about = ABOUT, long_about = LONG_ABOUT, after_long_help = AFTER_HELP)]
pub struct Cli {
    /// Address the HTTP API listens on.
    #[arg(long, env = "AIBOM_QUERY_LISTEN", default_value = "127.0.0.1:8088")]
    pub listen: SocketAddr,

    /// ClickHouse HTTP interface (compression is not used).
    #[arg(
        long,
        env = "AIBOM_CLICKHOUSE_URL",
        default_value = "http://127.0.0.1:8123"
    )]
    pub clickhouse_url: String,

    /// ClickHouse database holding the collector's tables and runtime_events.
    #[arg(long, env = "AIBOM_CLICKHOUSE_DATABASE", default_value = "aibom", value_parser = identifier)]
    pub database: String,

    /// ClickHouse user.
    #[arg(long, env = "AIBOM_CLICKHOUSE_USER")]
    pub user: Option<String>,

    /// ClickHouse password (prefer the environment variable: flags show in `ps`).
    #[arg(long, env = "AIBOM_CLICKHOUSE_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,

    /// Table prefix of the collector's tables, as rotel's ROTEL_CLICKHOUSE_TABLE_PREFIX:
    /// `otel` means otel_logs, otel_traces and otel_metrics_*.
    #[arg(long, env = "AIBOM_CLICKHOUSE_TABLE_PREFIX", default_value = "otel", value_parser = identifier)]
    pub table_prefix: String,

    /// Create or update the schema (idempotent), then serve.
    #[arg(long)]
    pub migrate: bool,

    /// Create or update the schema, then exit (no token needed).
    #[arg(long, conflicts_with = "migrate")]
    pub migrate_only: bool,

    /// Migrate for a ClickHouse cluster (a `remote_servers` name, with Keeper and the
    /// `{shard}`/`{replica}` macros): every DDL runs ON CLUSTER, tables are Replicated*MergeTree
    /// `<name>_local` under a Distributed `<name>` sharded by project. Serve with it too:
    /// DELETE then goes to the `_local` tables ON CLUSTER. Without it: one node.
    #[arg(long, env = "AIBOM_CLICKHOUSE_CLUSTER", value_name = "NAME", value_parser = identifier)]
    pub cluster: Option<String>,

    /// Days runtime events are kept (applied by --migrate).
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub ttl_days: u32,

    /// Days the collector's raw log and span rows are kept (applied by --migrate).
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub raw_ttl_days: u32,

    /// A daemon's control endpoint for POST /scan/runtime: http://HOST:PORT or
    /// unix:/PATH.sock. Repeat for several. AIBOM_DAEMON_TOKEN, when set, is sent to them.
    #[arg(long = "daemon", value_name = "URL", value_parser = Daemon::parse)]
    pub daemons: Vec<Daemon>,

    /// File holding the API bearer token (instead of AIBOM_QUERY_TOKEN).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// File holding the admin token, the only token DELETE accepts (instead of
    /// AIBOM_QUERY_ADMIN_TOKEN; at least 16 characters, distinct from the read token).
    /// Without one, DELETE answers 403.
    #[arg(long, value_name = "FILE")]
    pub admin_token_file: Option<PathBuf>,

    /// Serve the API without authentication (development only).
    #[arg(long)]
    pub insecure_no_auth: bool,

    /// Seconds a ClickHouse request may take before the API answers 503.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub query_timeout: u64,

    /// ClickHouse's max_execution_time (seconds) sent with every query: ClickHouse stops a
    /// longer query itself and the API answers 504. 0: the server's default.
    #[arg(long, env = "AIBOM_QUERY_MAX_EXECUTION_TIME", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub max_execution_time: u64,

    /// Live streams (GET /projects/{id}/runtime/stream, the UI's activity feed) open at
    /// once; one more is a 503.
    #[arg(long, env = "AIBOM_STREAM_MAX_CLIENTS", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=10000))]
    pub stream_max_clients: u64,
}

fn identifier(s: &str) -> Result<String, String> {
    if is_identifier(s) {
        Ok(s.to_string())
    } else {
        Err("expected [A-Za-z_][A-Za-z0-9_]*, at most 64 characters".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent_and_parses() {
        Cli::command().debug_assert();
        let c = Cli::try_parse_from([
            "aibom-query",
            "--daemon",
            "http://a:1",
            "--daemon",
            "unix:/s.sock",
            "--ttl-days",
            "30",
        ])
        .unwrap();
        assert_eq!(c.daemons.len(), 2);
        assert_eq!(c.ttl_days, 30);
        assert!(Cli::try_parse_from(["aibom-query", "--database", "a-b"]).is_err());
        assert!(Cli::try_parse_from(["aibom-query", "--ttl-days", "0"]).is_err());
        assert_eq!(c.cluster, None);
        let c = Cli::try_parse_from(["aibom-query", "--migrate", "--cluster", "aibom"]).unwrap();
        assert_eq!(c.cluster.as_deref(), Some("aibom"));
        assert!(Cli::try_parse_from(["aibom-query", "--cluster", "a`b"]).is_err());
    }
}

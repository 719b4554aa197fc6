//! `aibom-query`: see `aibom-query --help`.
use aibom_query::auth::{self, Auth};
use aibom_query::cli::Cli;
use aibom_query::db::{Db, DbConfig};
use aibom_query::routes::{self, AppState};
use aibom_query::schema;
use aibom_query::tables::Target;
use anyhow::{bail, Context, Result};
use clap::Parser;
use std::sync::Arc;
use std::time::Duration;

/// The API token from `--token-file` or `AIBOM_QUERY_TOKEN`; `None` only with `--insecure-no-auth`.
fn token(cli: &Cli) -> Result<Option<Arc<str>>> {
    let t = match (
        &cli.token_file,
        std::env::var("AIBOM_QUERY_TOKEN")
            .ok()
            .filter(|t| !t.is_empty()),
    ) {
        (Some(f), _) => Some(
            std::fs::read_to_string(f)
                .with_context(|| format!("reading --token-file {}", f.display()))?
                .trim()
                .to_string(),
        ),
        (None, env) => env,
    };
    match (t, cli.insecure_no_auth) {
        (Some(t), _) => {
            auth::validate_token(&t).map_err(anyhow::Error::msg)?;
            Ok(Some(t.into()))
        }
        (None, true) => {
            tracing::warn!("serving WITHOUT authentication (--insecure-no-auth)");
            Ok(None)
        }
        (None, false) => bail!(
            "no API token: set AIBOM_QUERY_TOKEN or --token-file (or --insecure-no-auth for development)"
        ),
    }
}

/// The admin token (DELETE) from `--admin-token-file` or `AIBOM_QUERY_ADMIN_TOKEN`.
fn admin_token(cli: &Cli, read: Option<&str>) -> Result<Option<Arc<str>>> {
    let t = match &cli.admin_token_file {
        Some(f) => Some(
            std::fs::read_to_string(f)
                .with_context(|| format!("reading --admin-token-file {}", f.display()))?
                .trim()
                .to_string(),
        ),
        None => std::env::var("AIBOM_QUERY_ADMIN_TOKEN")
            .ok()
            .filter(|t| !t.is_empty()),
    };
    let Some(t) = t else {
        tracing::info!("no admin token (AIBOM_QUERY_ADMIN_TOKEN): DELETE is refused");
        return Ok(None);
    };
    auth::validate_token(&t).map_err(|e| anyhow::anyhow!("admin token: {e}"))?;
    if read == Some(t.as_str()) {
        bail!("the admin token must differ from the read token (AIBOM_QUERY_TOKEN)");
    }
    Ok(Some(t.into()))
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "aibom_query=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let db = Db::new(&DbConfig {
        url: cli.clickhouse_url.clone(),
        user: cli.user.clone(),
        password: cli.password.clone(),
        target: Target {
            database: cli.database.clone(),
            prefix: cli.table_prefix.clone(),
        },
        timeout: Duration::from_secs(cli.query_timeout),
        max_execution_time: Some(cli.max_execution_time).filter(|&s| s > 0),
        cluster: cli.cluster.clone(),
    });
    if cli.migrate || cli.migrate_only {
        let r = schema::migrate(&db, cli.ttl_days, cli.raw_ttl_days, cli.cluster.as_deref())
            .await
            .with_context(|| format!("migrating the schema at {}", cli.clickhouse_url))?;
        tracing::info!(applied = ?r.applied, already = r.already.len(), ttl_days = cli.ttl_days, "schema up to date");
        if cli.migrate_only {
            return Ok(());
        }
    }
    let token = token(&cli)?;
    let admin = admin_token(&cli, token.as_deref())?;
    let auth = Auth { token, admin };
    let state = Arc::new(AppState {
        db,
        scans: Default::default(),
        daemons: cli.daemons.clone(),
        daemon_token: std::env::var("AIBOM_DAEMON_TOKEN")
            .ok()
            .filter(|t| !t.is_empty()),
        stream: routes::stream::Hub::new(cli.stream_max_clients as usize),
    });
    let app = routes::app(state, auth);
    let listener = tokio::net::TcpListener::bind(cli.listen)
        .await
        .with_context(|| format!("listening on {}", cli.listen))?;
    tracing::info!(addr = %listener.local_addr()?, clickhouse = %cli.clickhouse_url, "serving");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        })
        .await?;
    Ok(())
}

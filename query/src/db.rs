//! The ClickHouse connection: the official `clickhouse` crate over HTTP, compression off
//! (plain bodies work with every ClickHouse HTTP front), every value a server-side
//! `{name:Type}` parameter, every call bounded by the query timeout.
use crate::error::ApiError;
use crate::tables::{Target, EVENTS_TABLE};
use clickhouse::Client;
use std::future::Future;
use std::time::Duration;

/// How to reach ClickHouse.
#[derive(Clone, Debug)]
pub struct DbConfig {
    pub url: String,
    pub user: Option<String>,
    pub password: Option<String>,
    pub target: Target,
    pub timeout: Duration,
    /// ClickHouse's `max_execution_time` (seconds) for every query, so the server stops a
    /// runaway query itself; `None`: the server's default.
    pub max_execution_time: Option<u64>,
    /// The cluster the schema was migrated for (`--cluster`): deletes then go to the
    /// replicated local tables `ON CLUSTER`; `None`: one node.
    pub cluster: Option<String>,
}

/// Clients for the sidecar's database (and one without a database, to create it).
#[derive(Clone)]
pub struct Db {
    client: Client,
    admin: Client,
    target: Target,
    timeout: Duration,
    cluster: Option<String>,
}

impl Db {
    pub fn new(cfg: &DbConfig) -> Self {
        let mut admin = Client::default()
            .with_url(cfg.url.trim_end_matches('/'))
            .with_compression(clickhouse::Compression::None)
            .with_product_info("aibom-query", env!("CARGO_PKG_VERSION"));
        if let Some(u) = &cfg.user {
            admin = admin.with_user(u);
        }
        if let Some(p) = &cfg.password {
            admin = admin.with_password(p);
        }
        if let Some(s) = cfg.max_execution_time {
            admin = admin.with_setting("max_execution_time", s.to_string());
        }
        let client = admin.clone().with_database(&cfg.target.database);
        Db {
            client,
            admin,
            target: cfg.target.clone(),
            timeout: cfg.timeout,
            cluster: cfg.cluster.clone(),
        }
    }

    /// Client bound to the sidecar's database.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Client with no database selected (for `CREATE DATABASE`).
    pub fn admin(&self) -> &Client {
        &self.admin
    }

    pub fn target(&self) -> Target {
        self.target.clone()
    }

    /// `DELETE FROM` the table `table` (see [`crate::cluster::delete_from`]).
    pub fn delete_from(&self, table: &str) -> String {
        crate::cluster::delete_from(&self.target.database, table, self.cluster.as_deref())
    }

    /// Settings of an `INSERT ... SELECT` the caller reads back at once: on a cluster the
    /// `Distributed` table delivers the rows to their shards before it returns.
    pub fn insert_settings(&self) -> &'static [(&'static str, &'static str)] {
        if self.cluster.is_some() {
            &[("distributed_foreground_insert", "1")]
        } else {
            &[]
        }
    }

    /// Runs a ClickHouse call with the query timeout, mapping failures to API errors.
    pub async fn run<T>(
        &self,
        f: impl Future<Output = clickhouse::error::Result<T>>,
    ) -> Result<T, ApiError> {
        match tokio::time::timeout(self.timeout, f).await {
            Ok(r) => r.map_err(ApiError::clickhouse),
            Err(_) => Err(ApiError::timeout(self.timeout.as_secs())),
        }
    }

    /// Ready to serve: ClickHouse answers and the runtime table exists.
    pub async fn health(&self) -> Result<(), ApiError> {
        let n: u64 = self
            .run(
                self.client
                    .query_raw("SELECT count() FROM system.tables WHERE database = {db:String} AND name = {t:String}")
                    .param("db", &self.target.database)
                    .param("t", EVENTS_TABLE)
                    .fetch_one(),
            )
            .await?;
        if n == 0 {
            return Err(ApiError::Unavailable(
                "ClickHouse lacks the runtime schema: run aibom-query --migrate".into(),
            ));
        }
        Ok(())
    }
}

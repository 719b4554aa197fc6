//! aibom-query: the runtime query sidecar of aibomd. It owns the ClickHouse schema that the
//! collector writes into (`schema/`), and serves a project's runtime AI-BOM events, summary
//! and on-demand scans over an authenticated HTTP API.
pub mod auth;
pub mod cli;
pub mod cluster;
pub mod db;
pub mod error;
pub mod metrics;
pub mod params;
pub mod routes;
pub mod schema;
pub mod tables;
pub mod ui;

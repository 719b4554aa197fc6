//! Where the sidecar's tables are: the database and collector table prefix ([`Target`]),
//! the names of the tables the sidecar owns, and how a name becomes a ClickHouse identifier.
//!
//! A leaf: [`crate::db`], [`crate::schema`] and the routes use it; it uses none of them.

/// The per-(project, path, month) aggregate the summary reads (migration 0007).
pub const ARTIFACTS_TABLE: &str = "runtime_artifacts";

/// The typed table the HTTP API reads.
pub const EVENTS_TABLE: &str = "runtime_events";

/// Policy violations (migration 0010): what `GET .../violations` lists.
pub const VIOLATIONS_TABLE: &str = "runtime_violations";

/// AI API calls (migration 0011): what `GET .../api-calls` lists.
pub const API_CALLS_TABLE: &str = "runtime_api_calls";

/// Scans of pickle-based files for dangerous imports (migration 0012): the summary's
/// `unsafe_artifacts`, the AI-BOM marks.
pub const UNSAFE_SCANS_TABLE: &str = "runtime_unsafe_scans";

/// Where the rendered SQL goes: database and collector table prefix (validated identifiers).
#[derive(Clone, Debug)]
pub struct Target {
    pub database: String,
    pub prefix: String,
}

impl Target {
    /// The collector's table `<prefix>_<name>`.
    pub fn table(&self, name: &str) -> String {
        format!("{}_{name}", self.prefix)
    }
}

/// `name` as a ClickHouse identifier. Callers pass validated names ([`is_identifier`]).
pub fn quote_ident(name: &str) -> String {
    format!("`{name}`")
}

/// `[A-Za-z_][A-Za-z0-9_]{0,63}`: what we accept for database and table names.
pub fn is_identifier(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && s.len() <= 64
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

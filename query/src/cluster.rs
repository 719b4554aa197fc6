//! The schema on a ClickHouse cluster (`aibom-query --migrate --cluster NAME`).
//!
//! The single-node migrations are the only source: each rendered statement is rewritten here,
//! so both modes create the same columns, keys, views and backfills.
//!
//! - A table `T` becomes a replicated local table `T_local` on every node
//!   (`Replicated*MergeTree('/clickhouse/tables/{shard}/<db>/T_local', '{replica}')`) and a
//!   `Distributed` table named `T` over it, sharded by project ([`shard_key`]), so one
//!   project's rows (and so its summary) live on one shard. Readers and writers keep using
//!   `T`: the collector inserts through it and the sidecar reads through it unchanged.
//! - A materialized view is created on every node and reads and writes the local tables: it
//!   fires on the rows the `Distributed` table delivered to that shard, so the typed tables
//!   are sharded exactly as the collector's.
//! - `ALTER ... ADD COLUMN` goes to both tables; other `ALTER`s and `TRUNCATE` to the local
//!   one; every DDL statement runs `ON CLUSTER NAME`. Backfills (`INSERT ... SELECT`) stay
//!   as they are: they read and write through the `Distributed` tables.
//!
//! The cluster's `remote_servers` entry needs `<internal_replication>true</internal_replication>`
//! on every shard: the local tables replicate themselves, so a `Distributed` insert must write
//! one replica per shard (otherwise every row would be stored once per replica).
//!
//! A statement of another kind is an error, so a new migration cannot slip through
//! unclustered.
use crate::tables::quote_ident;
use aibom_semconv::attr;
use anyhow::{bail, Context, Result};
use std::collections::BTreeSet;

/// Suffix of the replicated local table under a `Distributed` table of the same name.
pub const LOCAL_SUFFIX: &str = "_local";

/// How one migration's statements are rewritten for the cluster `name` (a validated
/// identifier) and the database `database`.
#[derive(Clone, Debug)]
pub struct Cluster {
    pub name: String,
    pub database: String,
    /// Collector table prefix (`otel`): which tables carry OTLP resource attributes.
    pub prefix: String,
    /// Every table the migrations create (their single-node names).
    pub tables: BTreeSet<String>,
}

/// The `Distributed` sharding key of `table`: the project, so a project's rows share a shard.
pub fn shard_key(table: &str, prefix: &str) -> String {
    let project = attr::PROJECT_ID;
    match table.strip_prefix(prefix).and_then(|t| t.strip_prefix('_')) {
        // The log record's project, else its resource's: what the views store as project_id.
        Some("logs") => format!("cityHash64({})", crate::schema::either_expr(project)),
        // Filled only by its view from the (already sharded) traces: never inserted through.
        Some("traces_trace_id_ts") => "cityHash64(TraceId)".to_string(),
        Some(_) => format!("cityHash64(ResourceAttributes['{project}'])"),
        None => "cityHash64(project_id)".to_string(),
    }
}

impl Cluster {
    fn on(&self) -> String {
        format!(" ON CLUSTER {}", quote_ident(&self.name))
    }

    fn dbq(&self) -> String {
        quote_ident(&self.database)
    }

    /// The DDL that creates the database on every node.
    pub fn create_database(&self) -> String {
        format!("CREATE DATABASE IF NOT EXISTS {}{}", self.dbq(), self.on())
    }

    /// The migrations ledger: one replicated table with a single, cluster-wide path (no
    /// `{shard}`), so every node reads every applied version.
    pub fn schema_migrations(&self) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {}.schema_migrations{} (version UInt32, name String, \
             checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) \
             ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/{}/schema_migrations', '{{replica}}') \
             ORDER BY version",
            self.dbq(),
            self.on(),
            self.database
        )
    }

    /// `ALTER TABLE t MODIFY TTL expr` for the cluster: on the local tables.
    pub fn alter_ttl(&self, table: &str, expr: &str) -> String {
        format!(
            "ALTER TABLE {}.{}{} MODIFY TTL {expr}",
            self.dbq(),
            quote_ident(&format!("{table}{LOCAL_SUFFIX}")),
            self.on()
        )
    }

    /// The cluster statements for one single-node statement.
    pub fn rewrite(&self, stmt: &str) -> Result<Vec<String>> {
        let head = words(stmt, 6);
        let on = self.on();
        let refs = refs(stmt, &self.dbq());
        let first = refs
            .first()
            .with_context(|| format!("no {}.<table> in: {}", self.dbq(), first_line(stmt)))?;
        let local = |name: &str| format!("{name}{LOCAL_SUFFIX}");
        let h: Vec<&str> = head.iter().map(|s| s.as_str()).collect();
        Ok(match h.as_slice() {
            ["CREATE", "TABLE", "IF", "NOT", "EXISTS", ..] => {
                let name = &first.name;
                let l = local(name);
                let mut s = replace_ref(
                    stmt,
                    first,
                    &format!("{}.{}{on}", self.dbq(), quote_ident(&l)),
                );
                s = replicated_engine(&s, &self.database, &l)?;
                let dist = format!(
                    "CREATE TABLE IF NOT EXISTS {db}.{n}{on} AS {db}.{lq} \
                     ENGINE = Distributed('{c}', '{d}', '{l}', {key})",
                    db = self.dbq(),
                    n = quote_ident(name),
                    lq = quote_ident(&l),
                    c = self.name,
                    d = self.database,
                    key = shard_key(name, &self.prefix),
                );
                vec![s, dist]
            }
            ["CREATE", "MATERIALIZED", "VIEW", "IF", "NOT", "EXISTS"] => {
                // The view itself keeps its name; the tables it reads and fills are local.
                let mut s = String::new();
                let mut at = 0;
                for (i, r) in refs.iter().enumerate() {
                    s.push_str(&stmt[at..r.start]);
                    if i == 0 {
                        s.push_str(&format!("{}.{}{on}", self.dbq(), quote_ident(&r.name)));
                    } else if self.tables.contains(&r.name) {
                        s.push_str(&format!("{}.{}", self.dbq(), quote_ident(&local(&r.name))));
                    } else {
                        s.push_str(&stmt[r.start..r.end]);
                    }
                    at = r.end;
                }
                s.push_str(&stmt[at..]);
                vec![s]
            }
            ["ALTER", "TABLE", ..] => {
                let name = &first.name;
                let rest = stmt[first.end..].trim_start().to_ascii_uppercase();
                let columns_only = [
                    "ADD COLUMN",
                    "DROP COLUMN",
                    "MODIFY COLUMN",
                    "COMMENT COLUMN",
                ]
                .iter()
                .any(|p| rest.starts_with(p));
                let l = replace_ref(
                    stmt,
                    first,
                    &format!("{}.{}{on}", self.dbq(), quote_ident(&local(name))),
                );
                if columns_only {
                    let d = replace_ref(
                        stmt,
                        first,
                        &format!("{}.{}{on}", self.dbq(), quote_ident(name)),
                    );
                    vec![l, d]
                } else {
                    vec![l]
                }
            }
            ["TRUNCATE", "TABLE", ..] => vec![replace_ref(
                stmt,
                first,
                &format!("{}.{}{on}", self.dbq(), quote_ident(&local(&first.name))),
            )],
            ["DROP", "VIEW", ..] => vec![replace_ref(
                stmt,
                first,
                &format!("{}.{}{on}", self.dbq(), quote_ident(&first.name)),
            )],
            ["INSERT", "INTO", ..] => vec![stmt.to_string()],
            _ => bail!("no cluster rendering for: {}", first_line(stmt)),
        })
    }
}

/// The head of a lightweight delete of `table`'s rows (`DELETE FROM ... `, a `WHERE`
/// follows): on one node the table itself; on the cluster `name` its replicated local table
/// on every node (`<table>_local ON CLUSTER name`), since ClickHouse refuses a lightweight
/// `DELETE` on a `Distributed` table. `database` and `name` are validated identifiers.
pub fn delete_from(database: &str, table: &str, cluster: Option<&str>) -> String {
    match cluster {
        None => format!("DELETE FROM {}", quote_ident(table)),
        Some(name) => format!(
            "DELETE FROM {}.{} ON CLUSTER {}",
            quote_ident(database),
            quote_ident(&format!("{table}{LOCAL_SUFFIX}")),
            quote_ident(name)
        ),
    }
}

/// `Engine` (a `*MergeTree` family member) → `ReplicatedEngine('<path>', '{replica}'[, args])`.
fn replicated_engine(stmt: &str, db: &str, local: &str) -> Result<String> {
    let at = stmt
        .find("ENGINE = ")
        .with_context(|| format!("no ENGINE in {}", first_line(stmt)))?
        + "ENGINE = ".len();
    let rest = &stmt[at..];
    let end = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let engine = &rest[..end];
    if !engine.ends_with("MergeTree") || engine.starts_with("Replicated") {
        bail!("cannot replicate ENGINE = {engine}");
    }
    let path = format!("'/clickhouse/tables/{{shard}}/{db}/{local}', '{{replica}}'");
    let after = &rest[end..];
    let args = match after.strip_prefix('(') {
        Some(a) if a.trim_start().starts_with(')') => {
            format!("({path}){}", &a[a.find(')').unwrap() + 1..])
        }
        Some(a) => format!("({path}, {a}"),
        None => format!("({path}){after}"),
    };
    Ok(format!("{}Replicated{engine}{args}", &stmt[..at]))
}

/// A `<db>.<name>` reference in a statement (byte range of the whole reference).
#[derive(Debug)]
struct Ref {
    start: usize,
    end: usize,
    name: String,
}

/// Every `` `db`.name `` or `` `db`.`name` `` in `stmt`, in order.
fn refs(stmt: &str, dbq: &str) -> Vec<Ref> {
    let mut out = Vec::new();
    let pat = format!("{dbq}.");
    let mut from = 0;
    while let Some(i) = stmt[from..].find(&pat) {
        let start = from + i;
        let mut j = start + pat.len();
        let quoted = stmt[j..].starts_with('`');
        if quoted {
            j += 1;
        }
        let len = stmt[j..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(stmt.len() - j);
        let name = stmt[j..j + len].to_string();
        let mut end = j + len;
        if quoted && stmt[end..].starts_with('`') {
            end += 1;
        }
        if !name.is_empty() {
            out.push(Ref { start, end, name });
        }
        from = end.max(start + 1);
    }
    out
}

fn replace_ref(stmt: &str, r: &Ref, with: &str) -> String {
    format!("{}{with}{}", &stmt[..r.start], &stmt[r.end..])
}

fn words(stmt: &str, n: usize) -> Vec<String> {
    stmt.split_whitespace()
        .take(n)
        .map(|w| w.to_ascii_uppercase())
        .collect()
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{self, migration_statements, render, MIGRATIONS};
    use crate::tables::Target;

    fn target() -> Target {
        Target {
            database: "aibom".into(),
            prefix: "otel".into(),
        }
    }

    fn cluster() -> Cluster {
        schema::cluster(&target(), "fleet").unwrap()
    }

    /// A cluster statement read back as single-node: no `ON CLUSTER`, no `_local`, no
    /// `Replicated` engine arguments; `None` for what only a cluster has (the `Distributed`
    /// tables and the ALTERs that keep them in step).
    fn normalize(stmt: &str, c: &Cluster) -> Option<String> {
        if stmt.contains("ENGINE = Distributed(") {
            return None;
        }
        let on = format!(" ON CLUSTER `{}`", c.name);
        if stmt.starts_with("ALTER TABLE ") && !stmt.contains(&format!("{LOCAL_SUFFIX}`{on}")) {
            return None;
        }
        let mut s = stmt.replace(&on, "");
        for t in &c.tables {
            s = s.replace(&format!("`{t}{LOCAL_SUFFIX}`"), &format!("`{t}`"));
        }
        // ReplicatedX('<path>', '{replica}') -> X
        while let Some(i) = s.find("ENGINE = Replicated") {
            let rest = &s[i + "ENGINE = Replicated".len()..];
            let open = rest.find('(').unwrap();
            let close = rest.find("'{replica}'").unwrap() + "'{replica}'".len();
            let engine = &rest[..open];
            let tail = &rest[close..];
            let tail = tail
                .strip_prefix(')')
                .map(str::to_string)
                .unwrap_or_else(|| format!("({}", tail.trim_start_matches(',').trim_start()));
            s = format!("{}ENGINE = {engine}{tail}", &s[..i]);
        }
        Some(s)
    }

    /// Single-node text with every `db.name` written `` `db`.`name` `` (the cluster
    /// rewrite quotes the names it touches).
    fn quote_refs(stmt: &str) -> String {
        let dbq = "`aibom`";
        let mut out = String::new();
        let mut at = 0;
        for r in refs(stmt, dbq) {
            out.push_str(&stmt[at..r.start]);
            out.push_str(&format!("{dbq}.`{}`", r.name));
            at = r.end;
        }
        out.push_str(&stmt[at..]);
        out
    }

    #[test]
    fn every_migration_renders_the_same_schema_on_a_cluster_but_engines_and_on_cluster() {
        let c = cluster();
        for (_, name, tpl) in MIGRATIONS {
            let (single, _) = migration_statements(tpl, &target(), None).unwrap();
            let (clustered, _) = migration_statements(tpl, &target(), Some(&c)).unwrap();
            let back: Vec<String> = clustered
                .iter()
                .filter_map(|s| normalize(s, &c))
                .map(|s| quote_refs(&s))
                .collect();
            let single: Vec<String> = single.iter().map(|s| quote_refs(s)).collect();
            assert_eq!(back, single, "{name}");
            // every DDL statement runs on the whole cluster; only backfills do not
            for s in &clustered {
                assert!(
                    s.contains(" ON CLUSTER `fleet`") != s.starts_with("INSERT INTO "),
                    "{name}: {s}"
                );
            }
        }
    }

    #[test]
    fn tables_are_replicated_locals_under_distributed_tables_sharded_by_project() {
        let c = cluster();
        let mut distributed = BTreeSet::new();
        for (_, name, tpl) in MIGRATIONS {
            let (stmts, _) = migration_statements(tpl, &target(), Some(&c)).unwrap();
            for s in stmts {
                if s.starts_with("CREATE TABLE") && !s.contains("Distributed(") {
                    assert!(
                        s.contains("ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/aibom/")
                            || s.contains(
                                "ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/aibom/"
                            ),
                        "{name}: {s}"
                    );
                    assert!(s.contains("_local', '{replica}')"), "{name}");
                }
                if let Some(i) = s.find("ENGINE = Distributed('fleet', 'aibom', '") {
                    distributed.insert(s[i..].to_string());
                }
                if s.starts_with("CREATE MATERIALIZED VIEW") {
                    // a view reads and fills local tables only
                    for r in refs(&s, "`aibom`").iter().skip(1) {
                        assert!(r.name.ends_with(LOCAL_SUFFIX), "{name}: {}", r.name);
                    }
                }
            }
        }
        assert_eq!(distributed.len(), c.tables.len());
        let project = attr::PROJECT_ID;
        for t in [
            "runtime_events",
            "runtime_artifacts",
            "runtime_violations",
            "runtime_api_calls",
            "runtime_unsafe_scans",
        ] {
            assert!(c.tables.contains(t));
            assert!(distributed.contains(&format!(
                "ENGINE = Distributed('fleet', 'aibom', '{t}_local', cityHash64(project_id))"
            )));
        }
        // the collector's logs are sharded by the project the views store, so a project's
        // typed rows land on the shard of its logs
        assert!(distributed.contains(&format!(
            "ENGINE = Distributed('fleet', 'aibom', 'otel_logs_local', cityHash64({}))",
            schema::either_expr(project)
        )));
        assert!(distributed.contains(&format!(
            "ENGINE = Distributed('fleet', 'aibom', 'otel_traces_local', cityHash64(ResourceAttributes['{project}']))"
        )));
    }

    #[test]
    fn column_alters_reach_both_tables_and_ttl_the_local_one() {
        let c = cluster();
        let (v3, _) = migration_statements(MIGRATIONS[8].2, &target(), Some(&c)).unwrap();
        assert!(v3[0].starts_with("ALTER TABLE `aibom`.`runtime_events_local` ON CLUSTER `fleet`"));
        assert!(v3[1].starts_with("ALTER TABLE `aibom`.`runtime_events` ON CLUSTER `fleet`"));
        assert!(v3[2]
            .starts_with("DROP VIEW IF EXISTS `aibom`.`runtime_events_mv_v2` ON CLUSTER `fleet`"));
        assert_eq!(
            c.alter_ttl("runtime_events", "toDateTime(time) + toIntervalDay(9)"),
            "ALTER TABLE `aibom`.`runtime_events_local` ON CLUSTER `fleet` MODIFY TTL toDateTime(time) + toIntervalDay(9)"
        );
        assert!(c.schema_migrations().contains(
            "ReplicatedMergeTree('/clickhouse/tables/all/aibom/schema_migrations', '{replica}')"
        ));
    }

    #[test]
    fn engines_with_arguments_keep_them_and_unknown_statements_fail() {
        let c = cluster();
        let s = c
            .rewrite("CREATE TABLE IF NOT EXISTS `aibom`.x (v UInt8) ENGINE = ReplacingMergeTree(v) ORDER BY v")
            .unwrap();
        assert_eq!(
            s[0],
            "CREATE TABLE IF NOT EXISTS `aibom`.`x_local` ON CLUSTER `fleet` (v UInt8) ENGINE = \
             ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/aibom/x_local', '{replica}', v) ORDER BY v"
        );
        assert!(c
            .rewrite("CREATE TABLE IF NOT EXISTS `aibom`.x (v UInt8) ENGINE = Memory")
            .is_err());
        assert!(c.rewrite("RENAME TABLE `aibom`.a TO `aibom`.b").is_err());
        assert!(c.rewrite("OPTIMIZE TABLE `aibom`.a FINAL").is_err());
    }

    /// The single-node rendering is what it was before `--cluster` existed: the checksums in
    /// deployed `schema_migrations` tables depend on it. Regenerate (only on purpose) with
    /// `AIBOM_BLESS=1`.
    #[test]
    fn single_node_rendering_is_unchanged() {
        let golden = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/single_node.sql");
        let mut all = String::new();
        for (_, name, tpl) in MIGRATIONS {
            all.push_str(&format!(
                "-- ==== {name}\n{}\n",
                render(tpl, &target()).unwrap()
            ));
        }
        if std::env::var_os("AIBOM_BLESS").is_some() {
            std::fs::write(golden, &all).unwrap();
        }
        let want = std::fs::read_to_string(golden).unwrap();
        assert!(
            want == all,
            "single-node rendering changed: diff against {golden}"
        );
    }

    /// The sidecar's deletes: the table itself on one node; on a cluster the local table of
    /// every table it deletes from (each one the migrations create with a `_local`), on
    /// every node.
    #[test]
    fn deletes_target_the_local_tables_on_a_cluster() {
        use crate::tables::{API_CALLS_TABLE, ARTIFACTS_TABLE, EVENTS_TABLE, VIOLATIONS_TABLE};
        assert_eq!(
            delete_from("aibom", EVENTS_TABLE, None),
            "DELETE FROM `runtime_events`"
        );
        assert_eq!(
            delete_from("aibom", "otel_logs", Some("fleet")),
            "DELETE FROM `aibom`.`otel_logs_local` ON CLUSTER `fleet`"
        );
        let c = cluster();
        for t in [
            EVENTS_TABLE,
            ARTIFACTS_TABLE,
            VIOLATIONS_TABLE,
            API_CALLS_TABLE,
            &target().table("logs"),
        ] {
            assert!(c.tables.contains(t), "{t} is not a clustered table");
            let d = delete_from(&c.database, t, Some(&c.name));
            assert_eq!(
                d,
                format!("DELETE FROM `aibom`.`{t}_local` ON CLUSTER `fleet`")
            );
            // the table it names is one the cluster DDL creates, on every node
            let ddl: Vec<String> = MIGRATIONS
                .iter()
                .flat_map(|(_, _, tpl)| migration_statements(tpl, &target(), Some(&c)).unwrap().0)
                .collect();
            assert!(
                ddl.iter().any(|s| s.starts_with(&format!(
                    "CREATE TABLE IF NOT EXISTS `aibom`.`{t}_local` ON CLUSTER `fleet`"
                ))),
                "{t}_local"
            );
        }
    }
}

//! The schema the sidecar owns: `query/schema/*.sql` templates, rendered with names from
//! `aibom-semconv` and applied in order by `aibom-query --migrate`.
//!
//! Templates say `{{attr.ARTIFACT_SHA256}}`, `{{event.ARTIFACT_ACCESS}}`,
//! `{{record.EVENT_NAME}}`, `{{names.HOST_NAME}}` for names, `{{either:NAME}}` for "the log
//! attribute NAME, else the resource attribute NAME", and `{{db}}` for the quoted database. An unknown placeholder is an error, so a renamed
//! constant breaks the build's tests rather than the view.
//!
//! `{{t:NAME}}` is the collector's table `<prefix>_NAME` (rotel's `--clickhouse-exporter-table-prefix`),
//! `{{t:NAME_mv}}` the view that fills it.
//! `{{sql:NAME}}` inlines the rendered `schema/NAME.sql` fragment (see [`FRAGMENTS`]).
//! `{{once:TABLE}}` is a view's condition "this record is not in TABLE yet" ([`once_expr`]).
use crate::cluster::Cluster;
use crate::db::Db;
use crate::tables::{
    quote_ident, Target, API_CALLS_TABLE, ARTIFACTS_TABLE, EVENTS_TABLE, UNSAFE_SCANS_TABLE,
    VIOLATIONS_TABLE,
};
use aibom_semconv::{attr, event, record};
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

/// The migrations, in the order they are applied: (version, file name, template).
pub const MIGRATIONS: &[(u32, &str, &str)] = &[
    (
        1,
        "0001_otel_logs.sql",
        include_str!("../schema/0001_otel_logs.sql"),
    ),
    (
        2,
        "0002_otel_traces.sql",
        include_str!("../schema/0002_otel_traces.sql"),
    ),
    (
        3,
        "0003_otel_metrics.sql",
        include_str!("../schema/0003_otel_metrics.sql"),
    ),
    (
        4,
        "0004_runtime_events.sql",
        include_str!("../schema/0004_runtime_events.sql"),
    ),
    (
        5,
        "0005_runtime_events_mv.sql",
        include_str!("../schema/0005_runtime_events_mv.sql"),
    ),
    (
        6,
        "0006_runtime_events_v2.sql",
        include_str!("../schema/0006_runtime_events_v2.sql"),
    ),
    (
        7,
        "0007_runtime_artifacts.sql",
        include_str!("../schema/0007_runtime_artifacts.sql"),
    ),
    (
        8,
        "0008_otel_traces_trace_id.sql",
        include_str!("../schema/0008_otel_traces_trace_id.sql"),
    ),
    (
        9,
        "0009_runtime_events_v3.sql",
        include_str!("../schema/0009_runtime_events_v3.sql"),
    ),
    (
        10,
        "0010_runtime_violations.sql",
        include_str!("../schema/0010_runtime_violations.sql"),
    ),
    (
        11,
        "0011_runtime_api_calls.sql",
        include_str!("../schema/0011_runtime_api_calls.sql"),
    ),
    (
        12,
        "0012_runtime_events_parts.sql",
        include_str!("../schema/0012_runtime_events_parts.sql"),
    ),
    (
        13,
        "0013_runtime_unsafe_scans.sql",
        include_str!("../schema/0013_runtime_unsafe_scans.sql"),
    ),
    (
        14,
        "0014_record_once.sql",
        include_str!("../schema/0014_record_once.sql"),
    ),
];

/// SQL fragments templates inline with `{{sql:NAME}}` (not migrations themselves).
pub const FRAGMENTS: &[(&str, &str)] = &[
    (
        "runtime_artifacts.select",
        include_str!("../schema/runtime_artifacts.select.sql"),
    ),
    (
        "runtime_violations.select",
        include_str!("../schema/runtime_violations.select.sql"),
    ),
    (
        "runtime_api_calls.select",
        include_str!("../schema/runtime_api_calls.select.sql"),
    ),
    (
        "runtime_unsafe_scans.select",
        include_str!("../schema/runtime_unsafe_scans.select.sql"),
    ),
];

/// Every name a template may use, keyed by its placeholder.
const NAMES: &[(&str, &str)] = &[
    ("attr.PROJECT_ID", attr::PROJECT_ID),
    ("attr.ARTIFACT_ID", attr::ARTIFACT_ID),
    ("attr.ARTIFACT_NAME", attr::ARTIFACT_NAME),
    ("attr.ARTIFACT_TYPE", attr::ARTIFACT_TYPE),
    ("attr.ARTIFACT_ROLE", attr::ARTIFACT_ROLE),
    ("attr.ARTIFACT_FORMAT", attr::ARTIFACT_FORMAT),
    (
        "attr.ARTIFACT_FORMAT_MISMATCH",
        attr::ARTIFACT_FORMAT_MISMATCH,
    ),
    ("attr.ARTIFACT_PROVIDER", attr::ARTIFACT_PROVIDER),
    ("attr.ARTIFACT_LICENSE", attr::ARTIFACT_LICENSE),
    ("attr.ARTIFACT_REVISION", attr::ARTIFACT_REVISION),
    ("attr.ARTIFACT_SHA256", attr::ARTIFACT_SHA256),
    ("attr.ARTIFACT_WHOLE_ID", attr::ARTIFACT_WHOLE_ID),
    ("attr.ARTIFACT_PART_INDEX", attr::ARTIFACT_PART_INDEX),
    ("attr.ARTIFACT_PART_COUNT", attr::ARTIFACT_PART_COUNT),
    ("attr.ARTIFACT_WHOLE_FILES", attr::ARTIFACT_WHOLE_FILES),
    ("attr.ARTIFACT_WHOLE_BYTES", attr::ARTIFACT_WHOLE_BYTES),
    ("attr.ARTIFACT_WHOLE_SHA256", attr::ARTIFACT_WHOLE_SHA256),
    ("attr.ARTIFACT_EMBEDDED", attr::ARTIFACT_EMBEDDED),
    ("attr.FILE_PATH", attr::FILE_PATH),
    ("attr.FILE_SIZE", attr::FILE_SIZE),
    ("attr.ACCESS_MODE", attr::ACCESS_MODE),
    ("attr.ACCESS_COUNT", attr::ACCESS_COUNT),
    ("attr.PROCESS_PID", attr::PROCESS_PID),
    ("attr.PROCESS_PARENT_PID", attr::PROCESS_PARENT_PID),
    (
        "attr.PROCESS_EXECUTABLE_NAME",
        attr::PROCESS_EXECUTABLE_NAME,
    ),
    (
        "attr.PROCESS_EXECUTABLE_PATH",
        attr::PROCESS_EXECUTABLE_PATH,
    ),
    ("attr.PROCESS_OWNER", attr::PROCESS_OWNER),
    ("attr.TRACER", attr::TRACER),
    ("event.ARTIFACT_ACCESS", event::ARTIFACT_ACCESS),
    ("event.ARTIFACT_IDENTIFIED", event::ARTIFACT_IDENTIFIED),
    ("record.EVENT_NAME", record::EVENT_NAME),
    ("attr.CONTAINER_ID", attr::CONTAINER_ID),
    ("attr.CONTAINER_RUNTIME_NAME", attr::CONTAINER_RUNTIME_NAME),
    ("attr.K8S_POD_NAME", attr::K8S_POD_NAME),
    ("attr.K8S_POD_UID", attr::K8S_POD_UID),
    ("attr.K8S_NAMESPACE_NAME", attr::K8S_NAMESPACE_NAME),
    ("attr.HOST_NAME", attr::HOST_NAME),
    ("attr.SERVICE_INSTANCE_ID", attr::SERVICE_INSTANCE_ID),
    ("attr.SCAN_ID", attr::SCAN_ID),
    ("attr.ACCESS_ORIGIN", attr::ACCESS_ORIGIN),
    ("attr.PROJECT_SOURCE", attr::PROJECT_SOURCE),
    ("attr.PROCESS_COMMAND_LINE", attr::PROCESS_COMMAND_LINE),
    ("attr.POLICY_RULE", attr::POLICY_RULE),
    ("attr.POLICY_ACTION", attr::POLICY_ACTION),
    ("attr.POLICY_SEVERITY", attr::POLICY_SEVERITY),
    ("attr.POLICY_ENFORCED", attr::POLICY_ENFORCED),
    ("event.POLICY_VIOLATION", event::POLICY_VIOLATION),
    ("attr.API_PROVIDER", attr::API_PROVIDER),
    ("attr.API_SEEN_BY", attr::API_SEEN_BY),
    ("attr.API_COUNT", attr::API_COUNT),
    ("attr.API_TLS_LIBRARY", attr::API_TLS_LIBRARY),
    ("attr.GEN_AI_PROVIDER_NAME", attr::GEN_AI_PROVIDER_NAME),
    ("attr.GEN_AI_REQUEST_MODEL", attr::GEN_AI_REQUEST_MODEL),
    ("attr.GEN_AI_RESPONSE_MODEL", attr::GEN_AI_RESPONSE_MODEL),
    ("attr.GEN_AI_OPERATION_NAME", attr::GEN_AI_OPERATION_NAME),
    (
        "attr.GEN_AI_USAGE_INPUT_TOKENS",
        attr::GEN_AI_USAGE_INPUT_TOKENS,
    ),
    (
        "attr.GEN_AI_USAGE_OUTPUT_TOKENS",
        attr::GEN_AI_USAGE_OUTPUT_TOKENS,
    ),
    ("attr.SERVER_ADDRESS", attr::SERVER_ADDRESS),
    ("attr.SERVER_PORT", attr::SERVER_PORT),
    ("attr.URL_PATH", attr::URL_PATH),
    ("attr.HTTP_REQUEST_METHOD", attr::HTTP_REQUEST_METHOD),
    (
        "attr.HTTP_RESPONSE_STATUS_CODE",
        attr::HTTP_RESPONSE_STATUS_CODE,
    ),
    ("event.API_CALL", event::API_CALL),
    ("attr.ARTIFACT_UNSAFE", attr::ARTIFACT_UNSAFE),
    ("attr.RECORD_ID", attr::RECORD_ID),
    ("attr.ARTIFACT_UNSAFE_REASON", attr::ARTIFACT_UNSAFE_REASON),
    (
        "attr.ARTIFACT_UNSAFE_SCAN_ERROR",
        attr::ARTIFACT_UNSAFE_SCAN_ERROR,
    ),
    // Placeholders of migration 0005 (deployed, so unchanged), written before semconv had
    // these names: the same semconv constants.
    ("names.CONTAINER_ID", attr::CONTAINER_ID),
    ("names.K8S_POD_NAME", attr::K8S_POD_NAME),
    ("names.K8S_NAMESPACE_NAME", attr::K8S_NAMESPACE_NAME),
    ("names.HOST_NAME", attr::HOST_NAME),
    ("names.SERVICE_INSTANCE_ID", attr::SERVICE_INSTANCE_ID),
    ("names.SCAN_ID", attr::SCAN_ID),
];

/// The collector's tables (suffixes of `<prefix>_`) and the time column their TTL uses.
pub const COLLECTOR_TABLES: &[(&str, &str)] = &[
    ("logs", "TimestampTime"),
    ("traces", "toDateTime(Timestamp)"),
    ("traces_trace_id_ts", "Start"),
    ("metrics_sum", "toDateTime(TimeUnix)"),
    ("metrics_gauge", "toDateTime(TimeUnix)"),
    ("metrics_histogram", "toDateTime(TimeUnix)"),
    ("metrics_exponential_histogram", "toDateTime(TimeUnix)"),
    ("metrics_summary", "toDateTime(TimeUnix)"),
];

/// The attribute `name` from the event's own attributes, else from its resource.
pub fn either_expr(name: &str) -> String {
    format!(
        "if(LogAttributes['{name}'] != '', LogAttributes['{name}'], ResourceAttributes['{name}'])"
    )
}

fn name_value(key: &str) -> Result<&'static str> {
    let v = NAMES
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| *v)
        .with_context(|| format!("unknown schema placeholder {{{{{key}}}}}"))?;
    // Names go inside '...' literals: keep them to characters that need no escaping.
    if v.is_empty()
        || !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        bail!("semconv name {v:?} for {key} is not a plain dotted name");
    }
    Ok(v)
}

/// Renders a template for `target`.
pub fn render(template: &str, target: &Target) -> Result<String> {
    let mut out = String::with_capacity(template.len() + 1024);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("}}")
            .context("unclosed {{ in schema template")?
            + start;
        let key = rest[start + 2..end].trim();
        let value = match key {
            "db" => quote_ident(&target.database),
            k if k.starts_with("t:") => {
                let name = &k["t:".len()..];
                // A collector table, or the view `<table>_mv` that fills one.
                let table = name.strip_suffix("_mv").unwrap_or(name);
                if !COLLECTOR_TABLES.iter().any(|(t, _)| *t == table) {
                    bail!("unknown collector table {{{{{k}}}}}");
                }
                quote_ident(&target.table(name))
            }
            k if k.starts_with("either:") => either_expr(name_value(&k["either:".len()..])?),
            k if k.starts_with("sql:") => fragment(&k["sql:".len()..], target)?,
            k if k.starts_with("once:") => once_expr(&k["once:".len()..], target)?,
            k => name_value(k)?.to_string(),
        };
        out.push_str(&value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The typed tables whose views store each record once (migration 0014).
const ONCE_TABLES: &[&str] = &[
    EVENTS_TABLE,
    VIOLATIONS_TABLE,
    API_CALLS_TABLE,
    UNSAFE_SCANS_TABLE,
];

/// A view's condition that the row being inserted into `table` is not stored there yet: it
/// has no record id (its event_id is random: kept as before), or its `(project_id, time,
/// event_id)` (event_id a hash of the id), `table`'s whole primary key, is not among
/// `table`'s rows with the (project, time) of a row of the inserted block (inside a view the
/// logs table names the block, not the table). A record delivered again has the same
/// project, time and id, so this finds its earlier copy, reading only the granules of those
/// primary-key prefixes. No scalar subquery: chDB's streaming insert (what scripts/chdb-http
/// uses) silently skips a view that has one. On a cluster the tables become the shard's
/// local ones: a record's project, the sharding key, puts every delivery of it on the same
/// shard.
pub fn once_expr(table: &str, target: &Target) -> Result<String> {
    if !ONCE_TABLES.contains(&table) {
        bail!("{{{{once:{table}}}}}: not a table whose records are kept once");
    }
    let db = quote_ident(&target.database);
    Ok(format!(
        "(LogAttributes['{id}'] = '' OR (project_id, time, event_id) NOT IN (\n        \
         SELECT project_id, time, event_id FROM {db}.{t}\n        \
         WHERE (project_id, time) IN (SELECT {project}, Timestamp FROM {db}.{logs})))",
        id = attr::RECORD_ID,
        t = quote_ident(table),
        project = either_expr(attr::PROJECT_ID),
        logs = quote_ident(&target.table("logs")),
    ))
}

/// The rendered fragment `name` without its `--` comment lines.
pub fn fragment(name: &str, target: &Target) -> Result<String> {
    let (_, tpl) = FRAGMENTS
        .iter()
        .find(|(n, _)| *n == name)
        .with_context(|| format!("unknown SQL fragment {{{{sql:{name}}}}}"))?;
    let body: Vec<&str> = tpl
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect();
    render(body.join("\n").trim_end(), target)
}

/// Splits a rendered file into statements: `;` ends a statement at the end of a line;
/// `--` comment lines are dropped.
pub fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in sql.lines() {
        if line.trim_start().starts_with("--") {
            continue;
        }
        let t = line.trim_end();
        if let Some(body) = t.strip_suffix(';') {
            cur.push_str(body);
            if !cur.trim().is_empty() {
                out.push(cur.trim().to_string());
            }
            cur.clear();
        } else {
            cur.push_str(line);
            cur.push('\n');
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// Every table the migrations create, by its single-node name.
pub fn created_tables(target: &Target) -> Result<std::collections::BTreeSet<String>> {
    let mut out = std::collections::BTreeSet::new();
    let dbq = format!("{}.", quote_ident(&target.database));
    for (_, name, tpl) in MIGRATIONS {
        let sql = render(tpl, target).with_context(|| format!("rendering {name}"))?;
        for stmt in statements(&sql) {
            if let Some(rest) = stmt.strip_prefix("CREATE TABLE IF NOT EXISTS ") {
                let rest = rest
                    .strip_prefix(&dbq)
                    .context("CREATE TABLE outside {{db}}")?;
                let t: String = rest
                    .trim_start_matches('`')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                out.insert(t);
            }
        }
    }
    Ok(out)
}

/// The rewriting of the migrations for the cluster `name` (see [`crate::cluster`]).
pub fn cluster(target: &Target, name: &str) -> Result<Cluster> {
    Ok(Cluster {
        name: name.to_string(),
        database: target.database.clone(),
        prefix: target.prefix.clone(),
        tables: created_tables(target)?,
    })
}

/// One migration's statements: as rendered for a single node, or rewritten for `cluster`.
/// The checksum recorded in `schema_migrations` covers the same text.
pub fn migration_statements(
    template: &str,
    target: &Target,
    cluster: Option<&Cluster>,
) -> Result<(Vec<String>, String)> {
    let sql = render(template, target)?;
    let Some(c) = cluster else {
        let sum = hex::encode(Sha256::digest(sql.as_bytes()));
        return Ok((statements(&sql), sum));
    };
    let mut out = Vec::new();
    for stmt in statements(&sql) {
        out.extend(c.rewrite(&stmt)?);
    }
    let sum = hex::encode(Sha256::digest(out.join(";\n").as_bytes()));
    Ok((out, sum))
}

/// What `--migrate` did.
#[derive(Debug, Default)]
pub struct MigrateReport {
    pub applied: Vec<String>,
    pub already: Vec<String>,
}

/// Creates the database and `schema_migrations`, applies pending migrations, then sets the
/// retention of every table. Every statement is idempotent, so two sidecars migrating at once
/// or a run cut short are harmless.
///
/// With `cluster` (`--cluster NAME`), every statement runs `ON CLUSTER NAME` and tables are
/// replicated and distributed (see [`crate::cluster`]).
pub async fn migrate(
    db: &Db,
    ttl_days: u32,
    raw_ttl_days: u32,
    cluster: Option<&str>,
) -> Result<MigrateReport> {
    let t = db.target();
    let dbq = quote_ident(&t.database);
    let cluster = cluster.map(|c| self::cluster(&t, c)).transpose()?;
    let cluster = cluster.as_ref();
    db.admin()
        .query_raw(&match cluster {
            Some(c) => c.create_database(),
            None => format!("CREATE DATABASE IF NOT EXISTS {dbq}"),
        })
        .execute()
        .await
        .context("CREATE DATABASE")?;
    db.client()
        .query_raw(&match cluster {
            Some(c) => c.schema_migrations(),
            None => format!(
                "CREATE TABLE IF NOT EXISTS {dbq}.schema_migrations (version UInt32, name String, \
                 checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) \
                 ENGINE = MergeTree ORDER BY version"
            ),
        })
        .execute()
        .await
        .context("CREATE TABLE schema_migrations")?;
    let done: Vec<(u32, String)> = db
        .client()
        .query_raw(&format!(
            "SELECT version, any(checksum) FROM {dbq}.schema_migrations GROUP BY version"
        ))
        .fetch_all()
        .await
        .context("reading schema_migrations")?;
    let mut report = MigrateReport::default();
    for (version, name, template) in MIGRATIONS {
        let (stmts, sum) = migration_statements(template, &t, cluster)
            .with_context(|| format!("rendering {name}"))?;
        if let Some((_, old)) = done.iter().find(|(v, _)| v == version) {
            if *old != sum {
                tracing::warn!(
                    migration = name,
                    "applied migration differs from this build's; not re-applied"
                );
            }
            report.already.push(name.to_string());
            continue;
        }
        for stmt in stmts {
            db.client()
                .query_raw(&stmt)
                .execute()
                .await
                .with_context(|| format!("{name}: {}", first_line(&stmt)))?;
        }
        db.client()
            .query_raw(&format!(
                "INSERT INTO {dbq}.schema_migrations (version, name, checksum) \
                 SELECT {{v:UInt32}}, {{n:String}}, {{c:String}}"
            ))
            .param("v", version)
            .param("n", name)
            .param("c", &sum)
            .execute()
            .await
            .with_context(|| format!("recording {name}"))?;
        tracing::info!(migration = name, "applied");
        report.applied.push(name.to_string());
    }
    let mut ttls = vec![
        (
            EVENTS_TABLE.to_string(),
            format!("toDateTime(time) + toIntervalDay({ttl_days})"),
        ),
        (
            ARTIFACTS_TABLE.to_string(),
            format!("month + toIntervalMonth(1) + toIntervalDay({ttl_days})"),
        ),
        (
            VIOLATIONS_TABLE.to_string(),
            format!("toDateTime(time) + toIntervalDay({ttl_days})"),
        ),
        (
            API_CALLS_TABLE.to_string(),
            format!("toDateTime(time) + toIntervalDay({ttl_days})"),
        ),
        (
            UNSAFE_SCANS_TABLE.to_string(),
            format!("toDateTime(time) + toIntervalDay({ttl_days})"),
        ),
    ];
    for (name, col) in COLLECTOR_TABLES {
        ttls.push((
            t.table(name),
            format!("{col} + toIntervalDay({raw_ttl_days})"),
        ));
    }
    for (table, expr) in ttls {
        let sql = match cluster {
            Some(c) => c.alter_ttl(&table, &expr),
            None => format!(
                "ALTER TABLE {dbq}.{} MODIFY TTL {expr}",
                quote_ident(&table)
            ),
        };
        db.client()
            .query_raw(&sql)
            .execute()
            .await
            .with_context(|| format!("setting the TTL of {table}"))?;
    }
    Ok(report)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::is_identifier;

    fn target() -> Target {
        Target {
            database: "aibom".into(),
            prefix: "otel".into(),
        }
    }

    #[test]
    fn every_template_renders_without_placeholders() {
        for (_, name, tpl) in MIGRATIONS {
            let sql = render(tpl, &target()).unwrap();
            assert!(!sql.contains("{{") && !sql.contains("}}"), "{name}");
            let stmts = statements(&sql);
            for (i, stmt) in stmts.iter().enumerate() {
                // CREATE/ALTER ... IF NOT EXISTS, DROP/TRUNCATE ... IF EXISTS, or an INSERT
                // into a table this file truncated just before (a rebuild).
                let ok = if let Some(rest) = stmt.strip_prefix("INSERT INTO ") {
                    let table = rest.split_whitespace().next().unwrap();
                    i > 0 && stmts[i - 1] == format!("TRUNCATE TABLE IF EXISTS {table}")
                } else if stmt.starts_with("DROP ") || stmt.starts_with("TRUNCATE ") {
                    stmt.contains(" IF EXISTS ")
                } else {
                    stmt.contains("IF NOT EXISTS")
                };
                assert!(ok, "{name}: not idempotent: {stmt}");
            }
        }
    }

    /// Deployed databases recorded these checksums: a migration, once released, never changes.
    #[test]
    fn released_migrations_render_as_deployed() {
        let pinned = [
            (
                1,
                "375db8c11cd247cd3d1bf6cf34c94bf891c044355474680369654b277aaee8cf",
            ),
            (
                2,
                "ca90f2c7a0d326d5b7bf8df1866fe006d01ef465658c1000ee677a6ca165700a",
            ),
            (
                3,
                "b2a181da41749f31d0a120d650b759a14ea15b740627a072dfed3e3206d5984b",
            ),
            (
                4,
                "f771bf5c5239250b6fb612ced0d42f9aabe891c89c75f5ab9bca786ce9f28b2c",
            ),
            (
                5,
                "252a4a239b07fc724209b9dd610813f41e874f1907c465b0dc7e898a16d2b786",
            ),
        ];
        for (v, sum) in pinned {
            let (_, name, tpl) = MIGRATIONS.iter().find(|m| m.0 == v).unwrap();
            let sql = render(tpl, &target()).unwrap();
            assert_eq!(hex::encode(Sha256::digest(sql.as_bytes())), sum, "{name}");
        }
    }

    #[test]
    fn the_new_view_fills_the_container_and_pod_columns() {
        let sql = render(MIGRATIONS[5].2, &target()).unwrap();
        for (name, col) in [
            (attr::CONTAINER_RUNTIME_NAME, "container_runtime_name"),
            (attr::K8S_POD_UID, "k8s_pod_uid"),
            (attr::SCAN_ID, "scan_id"),
        ] {
            assert!(
                sql.contains(&format!("{} AS {col}", either_expr(name))),
                "{col}"
            );
        }
        let agg = render(MIGRATIONS[6].2, &target()).unwrap();
        assert!(agg.contains(&format!("event_name = '{}'", event::ARTIFACT_ACCESS)));
        let select = fragment("runtime_artifacts.select", &target()).unwrap();
        assert!(select.contains(&format!(
            "groupUniqArrayState({})",
            crate::routes::summary::PROCESS_CAP
        )));
        assert!(agg.contains(&format!(
            "groupUniqArray({}), Tuple(String, UInt32)",
            crate::routes::summary::PROCESS_CAP
        )));
        assert!(agg.contains(&select) && !select.contains("--"));
    }

    #[test]
    fn the_violations_view_keeps_violation_records_with_their_verdict() {
        let (v, name, tpl) = MIGRATIONS.iter().find(|m| m.0 == 10).unwrap();
        assert_eq!((*v, *name), (10, "0010_runtime_violations.sql"));
        let sql = render(tpl, &target()).unwrap();
        for (name, col) in [
            (attr::POLICY_RULE, "policy_rule"),
            (attr::POLICY_ACTION, "policy_action"),
            (attr::POLICY_SEVERITY, "policy_severity"),
            (attr::PROCESS_COMMAND_LINE, "process_command_line"),
        ] {
            assert!(
                sql.contains(&format!("LogAttributes['{name}'] AS {col}")),
                "{col}"
            );
        }
        assert!(sql.contains(&format!(
            "LogAttributes['{}'] = 'true' AS policy_enforced",
            attr::POLICY_ENFORCED
        )));
        assert!(sql.contains(&format!("= '{}'", event::POLICY_VIOLATION)));
        assert!(sql.contains(&format!(
            "{} AS container_id",
            either_expr(attr::CONTAINER_ID)
        )));
        // the view and the backfill read the same rows
        let select = fragment("runtime_violations.select", &target()).unwrap();
        assert_eq!(sql.matches(&select).count(), 2);
    }

    #[test]
    fn the_api_calls_view_keeps_api_call_records_with_typed_columns() {
        let (v, name, tpl) = MIGRATIONS.iter().find(|m| m.0 == 11).unwrap();
        assert_eq!((*v, *name), (11, "0011_runtime_api_calls.sql"));
        let sql = render(tpl, &target()).unwrap();
        for (name, col) in [
            (attr::API_PROVIDER, "api_provider"),
            (attr::GEN_AI_PROVIDER_NAME, "gen_ai_provider_name"),
            (attr::GEN_AI_REQUEST_MODEL, "gen_ai_request_model"),
            (attr::GEN_AI_OPERATION_NAME, "gen_ai_operation_name"),
            (attr::SERVER_ADDRESS, "server_address"),
            (attr::API_SEEN_BY, "api_seen_by"),
            (attr::PROCESS_COMMAND_LINE, "process_command_line"),
        ] {
            assert!(
                sql.contains(&format!("LogAttributes['{name}'] AS {col}")),
                "{col}"
            );
        }
        assert!(sql.contains(&format!(
            "toUInt16OrZero(LogAttributes['{}']) AS server_port",
            attr::SERVER_PORT
        )));
        assert!(sql.contains(&format!(
            "toUInt64OrNull(LogAttributes['{}']) AS gen_ai_usage_input_tokens",
            attr::GEN_AI_USAGE_INPUT_TOKENS
        )));
        assert!(sql.contains(&format!("= '{}'", event::API_CALL)));
        let select = fragment("runtime_api_calls.select", &target()).unwrap();
        assert_eq!(sql.matches(&select).count(), 2, "view and backfill");
    }

    #[test]
    fn the_unsafe_scans_view_keeps_scanned_identified_records_with_their_verdict() {
        let (_, name, tpl) = MIGRATIONS.iter().find(|m| m.0 == 13).unwrap();
        assert_eq!(*name, "0013_runtime_unsafe_scans.sql");
        let sql = render(tpl, &target()).unwrap();
        for (name, col) in [
            (attr::ARTIFACT_UNSAFE_REASON, "artifact_unsafe_reason"),
            (
                attr::ARTIFACT_UNSAFE_SCAN_ERROR,
                "artifact_unsafe_scan_error",
            ),
            (attr::ARTIFACT_SHA256, "artifact_sha256"),
        ] {
            assert!(
                sql.contains(&format!("LogAttributes['{name}'] AS {col}")),
                "{col}"
            );
        }
        // true/false as sent, NULL (unknown) when absent
        assert!(sql.contains(&format!(
            "LogAttributes['{}'] = 'false', false, NULL) AS artifact_unsafe",
            attr::ARTIFACT_UNSAFE
        )));
        assert!(sql.contains(&format!("= '{}'", event::ARTIFACT_IDENTIFIED)));
        let select = fragment("runtime_unsafe_scans.select", &target()).unwrap();
        assert_eq!(sql.matches(&select).count(), 2, "view and backfill");
    }

    /// Each view of 0014 looks records up in the table it fills (a copied view checking
    /// another table would let repeats through).
    #[test]
    fn each_record_view_checks_the_table_it_fills() {
        let (_, _, tpl) = MIGRATIONS.iter().find(|m| m.0 == 14).unwrap();
        let sql = render(tpl, &target()).unwrap();
        let views: Vec<String> = statements(&sql)
            .into_iter()
            .filter(|s| s.starts_with("CREATE MATERIALIZED VIEW"))
            .collect();
        assert_eq!(views.len(), ONCE_TABLES.len());
        for table in ONCE_TABLES {
            let to = format!(" TO `aibom`.{table} AS");
            let view = views.iter().find(|v| v.contains(&to)).expect(table);
            assert!(
                view.contains(&once_expr(table, &target()).unwrap()),
                "{table}"
            );
            let id = format!("LogAttributes['{}']", attr::RECORD_ID);
            assert!(view.contains(&format!("cityHash64({id})) AS event_id")));
            assert!(view.ends_with("LIMIT 1 BY project_id, time, event_id"));
        }
    }

    #[test]
    fn the_view_reads_semconv_names() {
        let sql = render(MIGRATIONS[4].2, &target()).unwrap();
        assert!(sql.contains(&format!(
            "LogAttributes['{}'] AS artifact_sha256",
            attr::ARTIFACT_SHA256
        )));
        assert!(sql.contains(&either_expr(attr::PROJECT_ID)));
        assert!(sql.contains(&format!("'{}'", event::ARTIFACT_ACCESS)));
        assert!(sql.contains("FROM `aibom`.`otel_logs`"));
    }

    #[test]
    fn unknown_placeholders_and_bad_identifiers_fail() {
        assert!(render("SELECT '{{attr.NOPE}}'", &target()).is_err());
        assert!(render("SELECT '{{attr.FILE_PATH'", &target()).is_err());
        assert!(render("SELECT 1 FROM {{t:nope}}", &target()).is_err());
        assert!(render("{{once:otel_logs}}", &target()).is_err());
        assert_eq!(
            render("{{db}}.{{t:metrics_sum}}", &target()).unwrap(),
            "`aibom`.`otel_metrics_sum`"
        );
        assert!(is_identifier("aibom_1") && is_identifier("_x"));
        for bad in ["", "1a", "a-b", "a`b", "a.b", &"a".repeat(65)] {
            assert!(!is_identifier(bad), "{bad}");
        }
    }

    #[test]
    fn statements_split_at_line_end_semicolons() {
        let s = statements("-- c\nCREATE A\n  (x);\n\nALTER B;\n");
        assert_eq!(
            s,
            vec!["CREATE A\n  (x)".to_string(), "ALTER B".to_string()]
        );
    }
}

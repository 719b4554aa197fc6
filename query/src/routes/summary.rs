//! `GET /projects/{id}/runtime/summary`: the project's runtime AI-BOM at a glance.
//!
//! An artifact is keyed by `aibom.artifact.id`, else the file's `aibom.artifact.sha256`, else
//! `file.path`. Access counts sum `aibom.access.count` of access events only. An
//! `identified` event repeats its access event (same time, pid and path): when the exporter
//! lost event names (rotel alpha10 does), such twins are folded by (time, pid, path) so
//! accesses are not counted twice.
use super::events::Where;
use super::{put_num, put_str, Shared};
use crate::error::ApiError;
use crate::params;
use crate::schema::EVENTS_TABLE;
use aibom_semconv::{attr, event};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use clickhouse::Row;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

/// Artifacts listed when `limit` is absent.
pub const DEFAULT_ARTIFACTS: u32 = 1000;
/// Most artifacts listed.
pub const MAX_ARTIFACTS: u32 = 10_000;
/// Most values of each list inside an artifact (hashes, paths, processes).
const LIST_CAP: u32 = 100;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// Artifacts listed, most recently seen first: 1..=10000, default 1000. Counts and totals
    /// always cover every artifact.
    pub limit: Option<u32>,
}

/// Artifacts and accesses for one value of a dimension.
#[derive(Debug, Serialize, ToSchema)]
pub struct Count {
    /// The value; `null` when the attribute is absent (e.g. unknown license).
    pub value: Option<String>,
    pub artifacts: u64,
    pub accesses: u64,
}

/// Project totals.
#[derive(Debug, Serialize, ToSchema)]
pub struct Totals {
    /// Events stored (access and identified).
    pub events: u64,
    /// Distinct artifacts.
    pub artifacts: u64,
    /// Sum of `aibom.access.count` over access events.
    pub accesses: u64,
    /// Distinct (executable name, pid) pairs.
    pub processes: u64,
    /// Artifacts with no license known.
    pub unknown_license: u64,
    /// Artifacts whose header contradicts their extension.
    pub format_mismatch: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Summary {
    pub project: String,
    pub totals: Totals,
    pub by_type: Vec<Count>,
    pub by_provider: Vec<Count>,
    pub by_license: Vec<Count>,
    /// Artifacts, most recently seen first. Keys: `key`, semantic-convention names
    /// (`aibom.artifact.sha256` and `file.path` are lists), `first_seen`, `last_seen`,
    /// `aibom.access.count`, `processes` (list of `process.executable.name`/`process.pid`).
    #[schema(value_type = Vec<Object>)]
    pub artifacts: Vec<Map<String, Value>>,
    /// True when more artifacts exist than `limit`.
    pub truncated: bool,
}

/// Per-artifact aggregation (see the module doc). Parameters: `project`, `identified`.
fn artifacts_sql() -> String {
    let a = |col: &str, alias: &str| format!("toString(anyIf({col}, {col} != '')) AS {alias}");
    let b = |col: &str, alias: &str| format!("argMaxIf({col}, a_time, {col} != '') AS {alias}");
    let c = |col: &str, alias: &str| format!("anyIf({col}, {col} != '') AS {alias}");
    let cols = [
        ("artifact_id", "a_id", "b_id", "id"),
        ("artifact_name", "a_name", "b_name", "name"),
        ("artifact_type", "a_type", "b_type", "atype"),
        ("artifact_provider", "a_provider", "b_provider", "provider"),
        ("artifact_license", "a_license", "b_license", "license"),
        ("artifact_format", "a_format", "b_format", "format"),
        (
            "artifact_format_mismatch",
            "a_mismatch",
            "b_mismatch",
            "mismatch",
        ),
    ];
    let join = |v: Vec<String>| v.join(",\n        ");
    let level_a = join(cols.iter().map(|x| a(x.0, x.1)).collect());
    let level_b = join(cols.iter().map(|x| b(x.1, x.2)).collect());
    let level_c = join(cols.iter().map(|x| c(x.2, x.3)).collect());
    format!(
        "SELECT
        if(b_id != '', b_id, if(b_sha != '', b_sha, b_path)) AS key,
        {level_c},
        groupUniqArrayIf({LIST_CAP})(b_sha, b_sha != '') AS sha256,
        groupUniqArray({LIST_CAP})(b_path) AS paths,
        toUnixTimestamp64Nano(min(b_first)) AS first_ns,
        toUnixTimestamp64Nano(max(b_last)) AS last_ns,
        sum(b_n) AS accesses,
        arraySlice(arrayDistinct(arrayFlatten(groupArray(b_procs))), 1, {LIST_CAP}) AS processes
    FROM (
        SELECT
        a_path AS b_path,
        {level_b},
        argMaxIf(a_sha, a_time, a_sha != '') AS b_sha,
        min(a_time) AS b_first,
        max(a_time) AS b_last,
        sum(a_n) AS b_n,
        groupUniqArray({LIST_CAP})(tuple(a_exe, a_pid)) AS b_procs
        FROM (
            SELECT
            file_path AS a_path,
            time AS a_time,
            process_pid AS a_pid,
            maxIf(access_count, event_name != {{identified:String}}) AS a_n,
            {level_a},
            anyIf(artifact_sha256, artifact_sha256 != '') AS a_sha,
            toString(any(process_executable_name)) AS a_exe
            FROM {EVENTS_TABLE}
            WHERE project_id = {{project:String}}
            GROUP BY file_path, time, process_pid
        )
        GROUP BY a_path
    )
    GROUP BY key"
    )
}

#[derive(Debug, Row, Deserialize)]
struct ArtifactRow {
    key: String,
    id: String,
    name: String,
    atype: String,
    provider: String,
    license: String,
    format: String,
    mismatch: String,
    sha256: Vec<String>,
    paths: Vec<String>,
    first_ns: i64,
    last_ns: i64,
    accesses: u64,
    processes: Vec<(String, u32)>,
}

impl ArtifactRow {
    fn into_json(self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("key".into(), Value::String(self.key));
        put_str(&mut m, attr::ARTIFACT_ID, self.id);
        put_str(&mut m, attr::ARTIFACT_NAME, self.name);
        put_str(&mut m, attr::ARTIFACT_TYPE, self.atype);
        put_str(&mut m, attr::ARTIFACT_PROVIDER, self.provider);
        put_str(&mut m, attr::ARTIFACT_LICENSE, self.license);
        put_str(&mut m, attr::ARTIFACT_FORMAT, self.format);
        put_str(&mut m, attr::ARTIFACT_FORMAT_MISMATCH, self.mismatch);
        m.insert(attr::ARTIFACT_SHA256.into(), Value::from(self.sha256));
        m.insert(attr::FILE_PATH.into(), Value::from(self.paths));
        m.insert(
            "first_seen".into(),
            Value::String(params::rfc3339(self.first_ns)),
        );
        m.insert(
            "last_seen".into(),
            Value::String(params::rfc3339(self.last_ns)),
        );
        put_num(&mut m, attr::ACCESS_COUNT, Some(self.accesses));
        let procs = self
            .processes
            .into_iter()
            .map(|(exe, pid)| {
                let mut p = Map::new();
                put_str(&mut p, attr::PROCESS_EXECUTABLE_NAME, exe);
                put_num(
                    &mut p,
                    attr::PROCESS_PID,
                    Some(pid.into()).filter(|p| *p != 0),
                );
                Value::Object(p)
            })
            .collect::<Vec<_>>();
        m.insert("processes".into(), Value::Array(procs));
        m
    }
}

#[derive(Debug, Row, Deserialize)]
struct CountRow {
    dim: String,
    value: String,
    artifacts: u64,
    accesses: u64,
}

#[derive(Debug, Row, Deserialize)]
struct ArtifactTotals {
    artifacts: u64,
    accesses: u64,
    unknown_license: u64,
    format_mismatch: u64,
}

#[derive(Debug, Row, Deserialize)]
struct EventTotals {
    events: u64,
    processes: u64,
    first_ns: i64,
    last_ns: i64,
}

/// Summarizes a project's runtime events.
#[utoipa::path(get, path = "/projects/{id}/runtime/summary",
    params(("id" = String, Path, description = "Project id"), SummaryQuery),
    responses(
        (status = 200, description = "The summary (zeros for a project with no events)", body = Summary),
        (status = 400, description = "Invalid id or limit", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or invalid token", body = crate::error::ErrorBody),
        (status = 503, description = "ClickHouse unavailable", body = crate::error::ErrorBody),
    ))]
pub async fn get(
    State(st): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<SummaryQuery>, QueryRejection>,
) -> Result<Json<Summary>, ApiError> {
    let Path(id) = id?;
    let Query(q) = q?;
    let project = params::project_id(&id)?;
    let limit = params::limit(q.limit, DEFAULT_ARTIFACTS, MAX_ARTIFACTS)?;
    let per_artifact = artifacts_sql();
    let c = st.db.client();
    let bind = |sql: &str| {
        c.query_raw(sql)
            .param("project", project)
            .param("identified", event::ARTIFACT_IDENTIFIED)
    };
    let list_sql = format!("{per_artifact}\n    ORDER BY last_ns DESC, key LIMIT {{lim:UInt32}}");
    let counts_sql = format!(
        "SELECT tupleElement(d, 1) AS dim, tupleElement(d, 2) AS value, count() AS artifacts, \
         sum(accesses) AS accesses FROM ({per_artifact}) \
         ARRAY JOIN [('type', atype), ('provider', provider), ('license', license)] AS d \
         GROUP BY dim, value ORDER BY dim, artifacts DESC, value"
    );
    let totals_sql = format!(
        "SELECT count() AS artifacts, sum(accesses) AS accesses, \
         countIf(license = '') AS unknown_license, countIf(mismatch != '') AS format_mismatch \
         FROM ({per_artifact})"
    );
    let events_sql = format!(
        "SELECT count() AS events, uniqExact(process_executable_name, process_pid) AS processes, \
         toUnixTimestamp64Nano(min(time)) AS first_ns, toUnixTimestamp64Nano(max(time)) AS last_ns \
         FROM {EVENTS_TABLE} WHERE {}",
        Where::project(project).sql()
    );
    let (mut rows, counts, at, et) = tokio::try_join!(
        st.db.run(
            bind(&list_sql)
                .param("lim", limit + 1)
                .fetch_all::<ArtifactRow>()
        ),
        st.db.run(bind(&counts_sql).fetch_all::<CountRow>()),
        st.db.run(bind(&totals_sql).fetch_one::<ArtifactTotals>()),
        st.db.run(
            c.query_raw(&events_sql)
                .param("project", project)
                .fetch_one::<EventTotals>()
        ),
    )?;
    let truncated = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let by = |dim: &str| -> Vec<Count> {
        counts
            .iter()
            .filter(|r| r.dim == dim)
            .map(|r| Count {
                value: Some(r.value.clone()).filter(|v| !v.is_empty()),
                artifacts: r.artifacts,
                accesses: r.accesses,
            })
            .collect()
    };
    let (by_type, by_provider, by_license) = (by("type"), by("provider"), by("license"));
    let seen = |ns: i64| (et.events > 0).then(|| params::rfc3339(ns));
    Ok(Json(Summary {
        project: project.to_string(),
        totals: Totals {
            events: et.events,
            artifacts: at.artifacts,
            accesses: at.accesses,
            processes: et.processes,
            unknown_license: at.unknown_license,
            format_mismatch: at.format_mismatch,
            first_seen: seen(et.first_ns),
            last_seen: seen(et.last_ns),
        },
        by_type,
        by_provider,
        by_license,
        artifacts: rows.into_iter().map(ArtifactRow::into_json).collect(),
        truncated,
    }))
}

//! `GET /projects/{id}/runtime/summary`: the project's runtime AI-BOM at a glance.
//!
//! An artifact is keyed by `aibom.artifact.id`, else the file's `aibom.artifact.sha256`, else
//! `file.path`. Access counts sum `aibom.access.count` of access events only. An
//! `identified` event repeats its access event (same time, pid and path): when the exporter
//! lost event names (old exporters with old daemons), such twins are folded by (time, pid,
//! count) per path so accesses are not counted twice.
//!
//! Reads only the `runtime_artifacts` aggregate (migration 0007, one row per project, path and
//! month, kept up to date by a materialized view and rebuilt on DELETE): two small queries, the
//! artifact list and the project totals; counts are derived from the list here.
use super::{put_num, put_str, Shared};
use crate::db::Db;
use crate::error::ApiError;
use crate::params;
use crate::schema::ARTIFACTS_TABLE;
use aibom_semconv::attr;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use clickhouse::Row;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
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
    #[param(minimum = 1, maximum = 10000)]
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

/// Per-artifact rows of a project from the `runtime_artifacts` aggregate: first folded per
/// file path (latest non-empty attribute of each), then grouped by key. Parameter: `project`.
fn artifacts_sql() -> String {
    let attrs = [
        ("artifact_id", "b_id", "id"),
        ("artifact_name", "b_name", "name"),
        ("artifact_type", "b_type", "atype"),
        ("artifact_provider", "b_provider", "provider"),
        ("artifact_license", "b_license", "license"),
        ("artifact_format", "b_format", "format"),
        ("artifact_format_mismatch", "b_mismatch", "mismatch"),
        ("artifact_sha256", "b_sha", "sha"),
    ];
    let join = |v: Vec<String>| v.join(",\n        ");
    let by_path = join(
        attrs
            .iter()
            .map(|(col, b, _)| format!("argMaxIfMerge({col}) AS {b}"))
            .collect(),
    );
    let by_key = join(
        attrs[..7]
            .iter()
            .map(|(_, b, c)| format!("anyIf({b}, {b} != '') AS {c}"))
            .collect(),
    );
    format!(
        "SELECT
        if(b_id != '', b_id, if(b_sha != '', b_sha, file_path)) AS key,
        {by_key},
        groupUniqArrayIf({LIST_CAP})(b_sha, b_sha != '') AS sha256,
        groupUniqArray({LIST_CAP})(file_path) AS paths,
        toUnixTimestamp64Nano(min(b_first)) AS first_ns,
        toUnixTimestamp64Nano(max(b_last)) AS last_ns,
        sum(b_n) AS accesses,
        arraySlice(arrayDistinct(arrayFlatten(groupArray(b_procs))), 1, {LIST_CAP}) AS processes
    FROM (
        SELECT
        file_path,
        {by_path},
        min(first_seen) AS b_first,
        max(last_seen) AS b_last,
        sum(accesses) + arraySum(x -> tupleElement(x, 3), groupUniqArrayIfMerge(legacy)) AS b_n,
        groupUniqArrayMerge({LIST_CAP})(processes) AS b_procs
        FROM {ARTIFACTS_TABLE}
        WHERE project_id = {{project:String}}
        GROUP BY file_path
    )
    GROUP BY key
    ORDER BY last_ns DESC, key"
    )
}

/// One artifact of a project's runtime AI-BOM, as the summary lists it.
#[derive(Debug, Clone, Row, Deserialize)]
pub struct Artifact {
    /// `aibom.artifact.id`, else the file's sha256, else its path.
    pub key: String,
    /// `aibom.artifact.id` (`''` when absent, as every string field here).
    pub id: String,
    /// `aibom.artifact.name`.
    pub name: String,
    /// `aibom.artifact.type`.
    pub atype: String,
    /// `aibom.artifact.provider`.
    pub provider: String,
    /// `aibom.artifact.license`.
    pub license: String,
    /// `aibom.artifact.format`.
    pub format: String,
    /// `aibom.artifact.format_mismatch`: the format the header shows when it contradicts the
    /// extension.
    pub mismatch: String,
    /// Hashes seen (at most 100).
    pub sha256: Vec<String>,
    /// File paths seen (at most 100).
    pub paths: Vec<String>,
    /// First and last event, ns since the epoch.
    pub first_ns: i64,
    pub last_ns: i64,
    /// Sum of `aibom.access.count` over access events.
    pub accesses: u64,
    /// (executable name, pid) pairs that opened it (at most 100).
    pub processes: Vec<(String, u32)>,
}

impl Artifact {
    /// The artifact as the summary's JSON: semantic-convention keys, absent values left out.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("key".into(), Value::String(self.key.clone()));
        put_str(&mut m, attr::ARTIFACT_ID, self.id.clone());
        put_str(&mut m, attr::ARTIFACT_NAME, self.name.clone());
        put_str(&mut m, attr::ARTIFACT_TYPE, self.atype.clone());
        put_str(&mut m, attr::ARTIFACT_PROVIDER, self.provider.clone());
        put_str(&mut m, attr::ARTIFACT_LICENSE, self.license.clone());
        put_str(&mut m, attr::ARTIFACT_FORMAT, self.format.clone());
        put_str(
            &mut m,
            attr::ARTIFACT_FORMAT_MISMATCH,
            self.mismatch.clone(),
        );
        m.insert(
            attr::ARTIFACT_SHA256.into(),
            Value::from(self.sha256.clone()),
        );
        m.insert(attr::FILE_PATH.into(), Value::from(self.paths.clone()));
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
            .iter()
            .map(|(exe, pid)| {
                let mut p = Map::new();
                put_str(&mut p, attr::PROCESS_EXECUTABLE_NAME, exe.clone());
                put_num(
                    &mut p,
                    attr::PROCESS_PID,
                    Some(u64::from(*pid)).filter(|p| *p != 0),
                );
                Value::Object(p)
            })
            .collect::<Vec<_>>();
        m.insert("processes".into(), Value::Array(procs));
        m
    }
}

/// Every artifact of `project` (already validated with [`params::project_id`]), most recently
/// seen first: one query over the `runtime_artifacts` aggregate, so its cost follows the
/// number of artifacts, not of events. Used by the summary; other routes (e.g. the runtime
/// AI-BOM) may build on it.
pub async fn artifacts(db: &Db, project: &str) -> Result<Vec<Artifact>, ApiError> {
    db.run(
        db.client()
            .query_raw(&artifacts_sql())
            .param("project", project)
            .fetch_all::<Artifact>(),
    )
    .await
}

#[derive(Debug, Row, Deserialize)]
struct ProjectTotals {
    events: u64,
    processes: u64,
    first_ns: i64,
    last_ns: i64,
}

/// Counts by type, provider and license, largest first, then by value (`None` last).
fn counts(arts: &[Artifact], dim: impl Fn(&Artifact) -> &str) -> Vec<Count> {
    let mut by: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for a in arts {
        let e = by.entry(dim(a)).or_default();
        e.0 += 1;
        e.1 += a.accesses;
    }
    let mut v: Vec<Count> = by
        .into_iter()
        .map(|(value, (artifacts, accesses))| Count {
            value: Some(value.to_string()).filter(|v| !v.is_empty()),
            artifacts,
            accesses,
        })
        .collect();
    v.sort_by(|a, b| {
        b.artifacts
            .cmp(&a.artifacts)
            .then_with(|| a.value.is_none().cmp(&b.value.is_none()))
            .then_with(|| a.value.cmp(&b.value))
    });
    v
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
    let arts = artifacts(&st.db, project).await?;
    let totals_sql = format!(
        "SELECT sum(events) AS events, uniqExactMerge(process_set) AS processes, \
         toUnixTimestamp64Nano(min(first_seen)) AS first_ns, \
         toUnixTimestamp64Nano(max(last_seen)) AS last_ns \
         FROM {ARTIFACTS_TABLE} WHERE project_id = {{project:String}}"
    );
    let pt: ProjectTotals = st
        .db
        .run(
            st.db
                .client()
                .query_raw(&totals_sql)
                .param("project", project)
                .fetch_one(),
        )
        .await?;
    let by_type = counts(&arts, |a| &a.atype);
    let by_provider = counts(&arts, |a| &a.provider);
    let by_license = counts(&arts, |a| &a.license);
    let seen = |ns: i64| (pt.events > 0).then(|| params::rfc3339(ns));
    let truncated = arts.len() > limit as usize;
    let totals = Totals {
        events: pt.events,
        artifacts: arts.len() as u64,
        accesses: arts.iter().map(|a| a.accesses).sum(),
        processes: pt.processes,
        unknown_license: arts.iter().filter(|a| a.license.is_empty()).count() as u64,
        format_mismatch: arts.iter().filter(|a| !a.mismatch.is_empty()).count() as u64,
        first_seen: seen(pt.first_ns),
        last_seen: seen(pt.last_ns),
    };
    Ok(Json(Summary {
        project: project.to_string(),
        totals,
        by_type,
        by_provider,
        by_license,
        artifacts: arts
            .iter()
            .take(limit as usize)
            .map(Artifact::to_json)
            .collect(),
        truncated,
    }))
}

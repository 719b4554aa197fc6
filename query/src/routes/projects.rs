//! `GET /projects`: the projects that have runtime data (what the UI lists first).
use super::Shared;
use crate::error::ApiError;
use crate::params;
use crate::tables::ARTIFACTS_TABLE;
use axum::extract::State;
use axum::Json;
use clickhouse::Row;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most projects listed.
pub const MAX_PROJECTS: u32 = 1000;

/// One project with runtime data.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectInfo {
    /// The `aibom.project.id`.
    pub id: String,
    /// Files its processes accessed.
    pub files: u64,
    /// Events stored.
    pub events: u64,
    /// Its latest event (RFC 3339).
    pub last_seen: String,
}

/// `GET /projects` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Projects {
    /// Most recently active first, at most 1000.
    pub projects: Vec<ProjectInfo>,
}

#[derive(Debug, Row, Deserialize)]
struct ProjectRow {
    project_id: String,
    files: u64,
    events: u64,
    last_ns: i64,
}

/// Lists the projects with runtime events, most recently active first (from the
/// `runtime_artifacts` aggregate: cheap however many events there are).
#[utoipa::path(get, path = "/projects", responses(
    (status = 200, description = "Projects with runtime data", body = Projects),
    (status = 401, description = "Missing or invalid token", body = crate::error::ErrorBody),
    (status = 503, description = "ClickHouse unavailable", body = crate::error::ErrorBody),
))]
pub async fn list(State(st): State<Shared>) -> Result<Json<Projects>, ApiError> {
    let sql = format!(
        "SELECT toString(project_id) AS project_id, uniqExact(file_path) AS files, sum(events) AS events, \
           toUnixTimestamp64Nano(max(last_seen)) AS last_ns \
         FROM {ARTIFACTS_TABLE} GROUP BY project_id ORDER BY last_ns DESC, project_id LIMIT {{lim:UInt32}}"
    );
    let q = st.db.client().query_raw(&sql).param("lim", MAX_PROJECTS);
    let rows: Vec<ProjectRow> = st.db.run(q.fetch_all()).await?;
    Ok(Json(Projects {
        projects: rows
            .into_iter()
            .map(|r| ProjectInfo {
                id: r.project_id,
                files: r.files,
                events: r.events,
                last_seen: params::rfc3339(r.last_ns),
            })
            .collect(),
    }))
}

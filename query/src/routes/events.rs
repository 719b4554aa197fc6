//! `GET` and `DELETE /projects/{id}/runtime/events`.
use super::{put_num, put_str, Shared};
use crate::error::ApiError;
use crate::params::{self, Cursor, DEFAULT_LIMIT, MAX_LIMIT};
use crate::schema::{either_expr, fragment};
use crate::tables::{
    API_CALLS_TABLE, ARTIFACTS_TABLE, EVENTS_TABLE, UNSAFE_SCANS_TABLE, VIOLATIONS_TABLE,
};
use aibom_semconv::{attr, record};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use clickhouse::Row;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

/// Filters and paging of the event list. Empty values of the equality filters mean "no filter";
/// `since` and `until` must be RFC 3339 times when given.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// `aibom.artifact.type` equals (model, dataset, prompt, tool, config).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    #[param(max_length = 1024)]
    pub kind: Option<String>,
    /// `aibom.artifact.provider` equals (huggingface, openai, local, ...).
    #[param(max_length = 1024)]
    pub provider: Option<String>,
    /// `aibom.artifact.license` equals (an SPDX id).
    #[param(max_length = 1024)]
    pub license: Option<String>,
    /// `aibom.artifact.id` or `aibom.artifact.name` equals.
    #[param(max_length = 1024)]
    pub artifact: Option<String>,
    /// `process.executable.name` equals, or `process.pid` when a number.
    #[param(max_length = 1024)]
    pub process: Option<String>,
    /// `aibom.record.id` equals (a hyphenated UUID, as the exporter gave it): the one
    /// stored copy of that record.
    #[param(
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub record: Option<String>,
    /// Events at or after this RFC 3339 time.
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Events before this RFC 3339 time.
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// Events per page: 1..=1000, default 100; more is a 400.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next` of the previous page (also accepted as `next`).
    #[serde(alias = "next")]
    #[param(pattern = "^[0-9a-f]{32}$")]
    pub cursor: Option<String>,
}

/// One page of events, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventsPage {
    /// Events; keys are aibom semantic-convention names plus `timestamp` and `event.name`.
    /// Absent attributes are left out.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<Map<String, Value>>,
    /// Cursor of the next page, `null` on the last page.
    pub next: Option<String>,
}

/// `DELETE` options.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// Delete only events before this RFC 3339 time (default: all).
    #[param(format = DateTime)]
    pub before: Option<String>,
}

/// How many events were deleted.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {
    pub deleted: u64,
}

/// A bound query value.
pub(crate) enum P {
    S(String),
    I(i64),
    U(u64),
    U32(u32),
    B(bool),
}

/// A WHERE clause whose values are all server-side parameters.
pub(crate) struct Where {
    conds: Vec<String>,
    params: Vec<(String, P)>,
}

impl Where {
    pub(crate) fn project(id: &str) -> Self {
        Where {
            conds: vec!["project_id = {project:String}".into()],
            params: vec![("project".into(), P::S(id.into()))],
        }
    }

    pub(crate) fn add(&mut self, cond: &str, params: Vec<(&str, P)>) {
        self.conds.push(cond.to_string());
        self.params
            .extend(params.into_iter().map(|(k, v)| (k.to_string(), v)));
    }

    pub(crate) fn sql(&self) -> String {
        self.conds.join(" AND ")
    }

    pub(crate) fn bind(&self, mut q: clickhouse::query::Query) -> clickhouse::query::Query {
        for (k, v) in &self.params {
            q = match v {
                P::S(s) => q.param(k, s),
                P::I(i) => q.param(k, i),
                P::U(u) => q.param(k, u),
                P::U32(u) => q.param(k, u),
                P::B(b) => q.param(k, b),
            };
        }
        q
    }
}

fn build_where(project: &str, q: &EventsQuery) -> Result<Where, ApiError> {
    let mut w = Where::project(project);
    if let Some(v) = params::filter("type", &q.kind)? {
        w.add(
            "artifact_type = {type:String}",
            vec![("type", P::S(v.into()))],
        );
    }
    if let Some(v) = params::filter("provider", &q.provider)? {
        w.add(
            "artifact_provider = {provider:String}",
            vec![("provider", P::S(v.into()))],
        );
    }
    if let Some(v) = params::filter("license", &q.license)? {
        w.add(
            "artifact_license = {license:String}",
            vec![("license", P::S(v.into()))],
        );
    }
    if let Some(v) = params::filter("artifact", &q.artifact)? {
        w.add(
            "(artifact_id = {artifact:String} OR artifact_name = {artifact:String})",
            vec![("artifact", P::S(v.into()))],
        );
    }
    add_process(&mut w, &q.process)?;
    if let Some(v) = q.record.as_deref() {
        let id = uuid::Uuid::try_parse(v)
            .ok()
            .filter(|_| v.len() == 36)
            .ok_or_else(|| ApiError::BadRequest("record: not a hyphenated UUID".into()))?;
        w.add(
            "record_id = toUUID({record:String})",
            vec![("record", P::S(id.hyphenated().to_string()))],
        );
    }
    add_window(&mut w, &q.since, &q.until, &q.cursor)?;
    Ok(w)
}

/// `process`: the executable name, or the pid when numeric (either matches then).
pub(crate) fn add_process(w: &mut Where, process: &Option<String>) -> Result<(), ApiError> {
    if let Some(v) = params::filter("process", process)? {
        match v.parse::<u32>() {
            Ok(pid) => w.add(
                "(process_pid = {pid:UInt32} OR process_executable_name = {process:String})",
                vec![("pid", P::U32(pid)), ("process", P::S(v.into()))],
            ),
            Err(_) => w.add(
                "process_executable_name = {process:String}",
                vec![("process", P::S(v.into()))],
            ),
        }
    }
    Ok(())
}

/// `since` (>=), `until` (<) and the keyset `cursor` over `(time, event_id)`, newest first:
/// the paging every list over a `time`/`event_id` table shares.
pub(crate) fn add_window(
    w: &mut Where,
    since: &Option<String>,
    until: &Option<String>,
    cursor: &Option<String>,
) -> Result<(), ApiError> {
    if let Some(ns) = params::time_filter("since", since)? {
        w.add(
            "time >= fromUnixTimestamp64Nano({since:Int64}, 'UTC')",
            vec![("since", P::I(ns))],
        );
    }
    if let Some(ns) = params::time_filter("until", until)? {
        w.add(
            "time < fromUnixTimestamp64Nano({until:Int64}, 'UTC')",
            vec![("until", P::I(ns))],
        );
    }
    if let Some(v) = cursor.as_deref() {
        let c = Cursor::decode(v)?;
        w.add(
            "time <= fromUnixTimestamp64Nano({c_time:Int64}, 'UTC') \
             AND (time, event_id) < (fromUnixTimestamp64Nano({c_time:Int64}, 'UTC'), {c_id:UInt64})",
            vec![("c_time", P::I(c.time_ns)), ("c_id", P::U(c.event_id))],
        );
    }
    Ok(())
}

/// One row of `runtime_events`, in SELECT order.
#[derive(Debug, Row, Deserialize)]
struct EventRow {
    time_ns: i64,
    event_id: u64,
    /// `aibom.record.id`, "" without one (not aliased `record_id`: WHERE would take the alias)
    record_text: String,
    event_name: String,
    project_id: String,
    artifact_id: String,
    artifact_name: String,
    artifact_type: String,
    artifact_role: String,
    artifact_format: String,
    artifact_format_mismatch: String,
    artifact_provider: String,
    artifact_license: String,
    artifact_revision: String,
    artifact_sha256: String,
    file_path: String,
    file_size: Option<u64>,
    access_mode: String,
    access_count: u64,
    process_pid: u32,
    process_parent_pid: Option<u32>,
    process_executable_name: String,
    process_executable_path: String,
    process_owner: String,
    container_id: String,
    container_runtime_name: String,
    k8s_pod_name: String,
    k8s_pod_uid: String,
    k8s_namespace_name: String,
    tracer: String,
    scan_id: String,
    access_origin: String,
    project_source: String,
    process_command_line: String,
    host_name: String,
    service_instance_id: String,
}

const SELECT: &str = "toUnixTimestamp64Nano(time) AS time_ns, event_id, \
    if(record_id = toUUID('00000000-0000-0000-0000-000000000000'), '', toString(record_id)) AS record_text, \
    event_name, project_id, \
    artifact_id, artifact_name, artifact_type, artifact_role, artifact_format, \
    artifact_format_mismatch, artifact_provider, artifact_license, artifact_revision, \
    artifact_sha256, file_path, file_size, access_mode, access_count, process_pid, \
    process_parent_pid, process_executable_name, process_executable_path, process_owner, \
    container_id, container_runtime_name, k8s_pod_name, k8s_pod_uid, k8s_namespace_name, tracer, scan_id, access_origin, project_source, process_command_line, \
    host_name, service_instance_id";

impl EventRow {
    /// The event as JSON, keyed by semantic-convention names.
    fn into_json(self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            record::TIMESTAMP.into(),
            Value::String(params::rfc3339(self.time_ns)),
        );
        put_str(&mut m, record::EVENT_NAME, self.event_name);
        put_str(&mut m, attr::RECORD_ID, self.record_text);
        put_str(&mut m, attr::PROJECT_ID, self.project_id);
        put_str(&mut m, attr::FILE_PATH, self.file_path);
        put_num(&mut m, attr::FILE_SIZE, self.file_size);
        put_str(&mut m, attr::ACCESS_MODE, self.access_mode);
        put_num(&mut m, attr::ACCESS_COUNT, Some(self.access_count));
        put_num(
            &mut m,
            attr::PROCESS_PID,
            Some(self.process_pid.into()).filter(|p| *p != 0),
        );
        put_num(
            &mut m,
            attr::PROCESS_PARENT_PID,
            self.process_parent_pid.map(u64::from),
        );
        put_str(
            &mut m,
            attr::PROCESS_EXECUTABLE_NAME,
            self.process_executable_name,
        );
        put_str(
            &mut m,
            attr::PROCESS_EXECUTABLE_PATH,
            self.process_executable_path,
        );
        put_str(&mut m, attr::PROCESS_OWNER, self.process_owner);
        put_str(&mut m, attr::TRACER, self.tracer);
        put_str(&mut m, attr::ARTIFACT_TYPE, self.artifact_type);
        put_str(&mut m, attr::ARTIFACT_ROLE, self.artifact_role);
        put_str(&mut m, attr::ARTIFACT_FORMAT, self.artifact_format);
        put_str(
            &mut m,
            attr::ARTIFACT_FORMAT_MISMATCH,
            self.artifact_format_mismatch,
        );
        put_str(&mut m, attr::ARTIFACT_PROVIDER, self.artifact_provider);
        put_str(&mut m, attr::ARTIFACT_ID, self.artifact_id);
        put_str(&mut m, attr::ARTIFACT_NAME, self.artifact_name);
        put_str(&mut m, attr::ARTIFACT_REVISION, self.artifact_revision);
        put_str(&mut m, attr::ARTIFACT_LICENSE, self.artifact_license);
        put_str(&mut m, attr::ARTIFACT_SHA256, self.artifact_sha256);
        put_str(&mut m, attr::CONTAINER_ID, self.container_id);
        put_str(
            &mut m,
            attr::CONTAINER_RUNTIME_NAME,
            self.container_runtime_name,
        );
        put_str(&mut m, attr::K8S_POD_NAME, self.k8s_pod_name);
        put_str(&mut m, attr::K8S_POD_UID, self.k8s_pod_uid);
        put_str(&mut m, attr::K8S_NAMESPACE_NAME, self.k8s_namespace_name);
        put_str(&mut m, attr::SCAN_ID, self.scan_id);
        put_str(&mut m, attr::ACCESS_ORIGIN, self.access_origin);
        put_str(&mut m, attr::PROJECT_SOURCE, self.project_source);
        put_str(
            &mut m,
            attr::PROCESS_COMMAND_LINE,
            self.process_command_line,
        );
        put_str(&mut m, attr::HOST_NAME, self.host_name);
        put_str(&mut m, attr::SERVICE_INSTANCE_ID, self.service_instance_id);
        m
    }
}

/// Lists a project's runtime events, newest first.
#[utoipa::path(get, path = "/projects/{id}/runtime/events",
    params(("id" = String, Path, description = "Project id: 1-128 of A-Z a-z 0-9 . _ -"), EventsQuery),
    responses(
        (status = 200, description = "A page of events", body = EventsPage),
        (status = 400, description = "Invalid id, filter, cursor or limit", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or invalid token", body = crate::error::ErrorBody),
        (status = 503, description = "ClickHouse unavailable", body = crate::error::ErrorBody),
    ))]
pub async fn list(
    State(st): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Json<EventsPage>, ApiError> {
    let Path(id) = id?;
    let Query(q) = q?;
    let project = params::project_id(&id)?;
    let limit = params::limit(q.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let w = build_where(project, &q)?;
    let (rows, next) = fetch_page(&st.db, EVENTS_TABLE, SELECT, &w, limit, |r: &EventRow| {
        Cursor {
            time_ns: r.time_ns,
            event_id: r.event_id,
        }
    })
    .await?;
    Ok(Json(EventsPage {
        events: rows.into_iter().map(EventRow::into_json).collect(),
        next,
    }))
}

/// One page of `table`'s rows matching `w`, newest first (`time`, then `event_id`), read
/// with `select`; and the cursor of the next page (`key` of the last row) when there is one.
pub(crate) async fn fetch_page<R>(
    db: &crate::db::Db,
    table: &str,
    select: &str,
    w: &Where,
    limit: u32,
    key: impl Fn(&R) -> Cursor,
) -> Result<(Vec<R>, Option<String>), ApiError>
where
    R: clickhouse::RowOwned + clickhouse::RowRead,
{
    let sql = format!(
        "SELECT {select} FROM {table} WHERE {} ORDER BY time DESC, event_id DESC LIMIT {{lim:UInt32}}",
        w.sql()
    );
    let query = w.bind(db.client().query_raw(&sql)).param("lim", limit + 1);
    let mut rows: Vec<R> = db.run(query.fetch_all()).await?;
    let next = next_page(&mut rows, limit, key);
    Ok((rows, next))
}

/// Cuts `rows` (fetched with `LIMIT limit + 1`) to `limit`, and returns the cursor of the
/// next page (the last row kept) when there was one more.
pub(crate) fn next_page<R>(
    rows: &mut Vec<R>,
    limit: u32,
    key: impl Fn(&R) -> Cursor,
) -> Option<String> {
    if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|r| key(r).encode())
    } else {
        None
    }
}

/// Deletes a project's runtime events, policy violations and AI API calls (all, or those
/// before `before`), and the raw log rows they came from (`deleted` counts the events). The
/// summary reflects it at once: the project's summary aggregates for the affected months are
/// rebuilt from the events that remain.
#[utoipa::path(delete, path = "/projects/{id}/runtime/events",
    params(("id" = String, Path, description = "Project id"), DeleteQuery),
    responses(
        (status = 200, description = "Events deleted", body = Deleted),
        (status = 400, description = "Invalid id or time", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or invalid token", body = crate::error::ErrorBody),
        (status = 403, description = "Not the admin token, or no admin token configured", body = crate::error::ErrorBody),
        (status = 503, description = "ClickHouse unavailable", body = crate::error::ErrorBody),
        (status = 504, description = "The query exceeded max_execution_time", body = crate::error::ErrorBody),
    ))]
pub async fn delete(
    State(st): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<DeleteQuery>, QueryRejection>,
) -> Result<Json<Deleted>, ApiError> {
    let Path(id) = id?;
    let Query(q) = q?;
    let project = params::project_id(&id)?;
    let before = params::time_filter("before", &q.before)?;
    let mut w = Where::project(project);
    if let Some(ns) = before {
        w.add(
            "time < fromUnixTimestamp64Nano({before:Int64}, 'UTC')",
            vec![("before", P::I(ns))],
        );
    }
    let count_sql = format!("SELECT count() FROM {EVENTS_TABLE} WHERE {}", w.sql());
    let n: u64 = st
        .db
        .run(w.bind(st.db.client().query_raw(&count_sql)).fetch_one())
        .await?;
    if n > 0 {
        let sql = format!("{} WHERE {}", st.db.delete_from(EVENTS_TABLE), w.sql());
        let del = w
            .bind(st.db.client().query_raw(&sql))
            .with_setting("lightweight_deletes_sync", "2");
        st.db.run(del.execute()).await?;
        rebuild_artifacts(&st, project, before).await?;
    }
    // Its policy violations, AI API calls and unsafe-import scans (tables of their own) over
    // the same time span.
    for table in [VIOLATIONS_TABLE, API_CALLS_TABLE, UNSAFE_SCANS_TABLE] {
        let sql = format!("{} WHERE {}", st.db.delete_from(table), w.sql());
        let del = w
            .bind(st.db.client().query_raw(&sql))
            .with_setting("lightweight_deletes_sync", "2");
        st.db.run(del.execute()).await?;
    }
    // The raw rows too: deleting a project's data must not leave it in the collector's table.
    let t = st.db.target();
    let mut raw = format!(
        "{} WHERE {} = {{project:String}}",
        st.db.delete_from(&t.table("logs")),
        either_expr(attr::PROJECT_ID)
    );
    if before.is_some() {
        raw.push_str(" AND Timestamp < fromUnixTimestamp64Nano({before:Int64}, 'UTC')");
    }
    let raw = w
        .bind(st.db.client().query_raw(&raw))
        .with_setting("lightweight_deletes_sync", "2");
    st.db.run(raw.execute()).await?;
    Ok(Json(Deleted { deleted: n }))
}

/// Recomputes `runtime_artifacts` rows of `project` (the months up to `before`'s, or all) from
/// `runtime_events`, after events were deleted. Rows of that project ingested during the
/// rebuild (between its two statements) may be counted twice in the summary until the next
/// rebuild; the event list is exact regardless.
async fn rebuild_artifacts(
    st: &Shared,
    project: &str,
    before: Option<i64>,
) -> Result<(), ApiError> {
    let t = st.db.target();
    let select = fragment("runtime_artifacts.select", &t)
        .map_err(|e| ApiError::Internal(format!("{e:#}")))?;
    let mut w = Where::project(project);
    let mut months = Where::project(project);
    if let Some(ns) = before {
        w.add(
            "toStartOfMonth(time) <= toStartOfMonth(fromUnixTimestamp64Nano({before:Int64}, 'UTC'))",
            vec![("before", P::I(ns))],
        );
        months.add(
            "month <= toStartOfMonth(fromUnixTimestamp64Nano({before:Int64}, 'UTC'))",
            vec![("before", P::I(ns))],
        );
    }
    let clear = format!(
        "{} WHERE {}",
        st.db.delete_from(ARTIFACTS_TABLE),
        months.sql()
    );
    let clear = months
        .bind(st.db.client().query_raw(&clear))
        .with_setting("lightweight_deletes_sync", "2");
    st.db.run(clear.execute()).await?;
    let fill = format!(
        "INSERT INTO {ARTIFACTS_TABLE} {select} WHERE {} GROUP BY project_id, file_path, month",
        w.sql()
    );
    let mut fill = w.bind(st.db.client().query_raw(&fill));
    for (k, v) in st.db.insert_settings() {
        fill = fill.with_setting(*k, *v);
    }
    st.db.run(fill.execute()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use aibom_semconv::provider;

    #[test]
    fn every_filter_is_a_parameter() {
        let q = EventsQuery {
            kind: Some("model' OR 1=1 --".into()),
            provider: Some(provider::HUGGINGFACE.into()),
            license: Some("mit".into()),
            artifact: Some("org/name".into()),
            process: Some("1234".into()),
            record: Some("46032893-E28A-80B5-8000-000000000003".into()),
            since: Some("2026-01-01T00:00:00Z".into()),
            until: Some("2026-02-01T00:00:00Z".into()),
            limit: None,
            cursor: Some(
                Cursor {
                    time_ns: 5,
                    event_id: 6,
                }
                .encode(),
            ),
        };
        let w = build_where("p", &q).unwrap();
        let sql = w.sql();
        assert!(
            !sql.contains("OR 1=1")
                && !sql.contains(provider::HUGGINGFACE)
                && !sql.contains("1234")
                && !sql.contains("46032893")
        );
        assert!(sql.contains("{pid:UInt32}") && sql.contains("{c_id:UInt64}"));
        assert_eq!(w.params.len(), 12);
        let bad = EventsQuery {
            since: Some("nope".into()),
            ..Default::default()
        };
        assert!(build_where("p", &bad).is_err());
    }
}

//! `GET /projects/{id}/runtime/violations`: the policy violations aibomd reported for a
//! project (`aibom.policy.violation` records, table `runtime_violations`, migration 0010),
//! newest first, with the paging of the event list.
use super::events::{add_process, add_window, fetch_page, Where, P};
use super::{put_num, put_str, Shared};
use crate::db::Db;
use crate::error::ApiError;
use crate::params::{self, Cursor, DEFAULT_LIMIT, MAX_LIMIT};
use crate::tables::VIOLATIONS_TABLE;
use aibom_semconv::{attr, policy_action, policy_severity, record};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use clickhouse::Row;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};

/// The OpenAPI schema of a filter that takes one of `values` (semconv's list).
pub(crate) fn one_of(values: &[&str]) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}

fn action_schema() -> Object {
    one_of(policy_action::ALL)
}

fn severity_schema() -> Object {
    one_of(policy_severity::ALL)
}

/// Filters and paging of the violation list. Empty values of the free-text filters (`rule`,
/// `artifact`, `path`, `process`) mean "no filter"; `action` and `severity` must be one of
/// their values, `enforced` `true` or `false`, `since` and `until` RFC 3339 times.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ViolationsQuery {
    /// `aibom.policy.rule` equals (the rule's name in the policy file).
    #[param(max_length = 1024)]
    pub rule: Option<String>,
    /// `aibom.policy.action` equals: alert, deny or kill.
    #[param(schema_with = action_schema)]
    pub action: Option<String>,
    /// `aibom.policy.severity` equals: low, medium, high or critical.
    #[param(schema_with = severity_schema)]
    pub severity: Option<String>,
    /// `aibom.policy.enforced`: `true` for violations whose action took effect (open refused,
    /// process killed), `false` for the others.
    pub enforced: Option<bool>,
    /// `aibom.artifact.id` or `aibom.artifact.name` equals.
    #[param(max_length = 1024)]
    pub artifact: Option<String>,
    /// `file.path` equals.
    #[param(max_length = 1024)]
    pub path: Option<String>,
    /// `process.executable.name` equals, or `process.pid` when a number.
    #[param(max_length = 1024)]
    pub process: Option<String>,
    /// Violations at or after this RFC 3339 time.
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Violations before this RFC 3339 time.
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// Violations per page: 1..=1000, default 100; more is a 400.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next` of the previous page (also accepted as `next`).
    #[serde(alias = "next")]
    #[param(pattern = "^[0-9a-f]{32}$")]
    pub cursor: Option<String>,
}

/// One page of violations, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViolationsPage {
    /// Violations; keys are aibom semantic-convention names (`aibom.policy.rule`,
    /// `aibom.policy.action`, `aibom.policy.severity`, `aibom.policy.enforced` (a boolean),
    /// `file.path`, `aibom.artifact.*`, `process.*`, `container.id`, `aibom.scan.id`, ...)
    /// plus `timestamp`. Absent attributes are left out.
    #[schema(value_type = Vec<Object>)]
    pub violations: Vec<Map<String, Value>>,
    /// Cursor of the next page, `null` on the last page.
    pub next: Option<String>,
}

/// `v` when it is one of `allowed`, else a 400 naming them. Absent: no filter.
pub(crate) fn one_of_filter<'a>(
    name: &str,
    v: &'a Option<String>,
    allowed: &[&str],
) -> Result<Option<&'a str>, ApiError> {
    match v.as_deref() {
        None => Ok(None),
        Some(s) if allowed.contains(&s) => Ok(Some(s)),
        Some(_) => Err(ApiError::BadRequest(format!(
            "{name}: expected one of {}",
            allowed.join(", ")
        ))),
    }
}

fn build_where(project: &str, q: &ViolationsQuery) -> Result<Where, ApiError> {
    let mut w = Where::project(project);
    if let Some(v) = params::filter("rule", &q.rule)? {
        w.add(
            "policy_rule = {rule:String}",
            vec![("rule", P::S(v.into()))],
        );
    }
    if let Some(v) = one_of_filter("action", &q.action, policy_action::ALL)? {
        w.add(
            "policy_action = {action:String}",
            vec![("action", P::S(v.into()))],
        );
    }
    if let Some(v) = one_of_filter("severity", &q.severity, policy_severity::ALL)? {
        w.add(
            "policy_severity = {severity:String}",
            vec![("severity", P::S(v.into()))],
        );
    }
    if let Some(v) = q.enforced {
        w.add(
            "policy_enforced = {enforced:Bool}",
            vec![("enforced", P::B(v))],
        );
    }
    if let Some(v) = params::filter("artifact", &q.artifact)? {
        w.add(
            "(artifact_id = {artifact:String} OR artifact_name = {artifact:String})",
            vec![("artifact", P::S(v.into()))],
        );
    }
    if let Some(v) = params::filter("path", &q.path)? {
        w.add("file_path = {path:String}", vec![("path", P::S(v.into()))]);
    }
    add_process(&mut w, &q.process)?;
    add_window(&mut w, &q.since, &q.until, &q.cursor)?;
    Ok(w)
}

/// One row of `runtime_violations`, in SELECT order.
#[derive(Debug, Row, Deserialize)]
struct ViolationRow {
    time_ns: i64,
    event_id: u64,
    project_id: String,
    policy_rule: String,
    policy_action: String,
    policy_severity: String,
    policy_enforced: bool,
    artifact_id: String,
    artifact_name: String,
    artifact_type: String,
    artifact_role: String,
    artifact_format: String,
    artifact_provider: String,
    artifact_license: String,
    artifact_revision: String,
    artifact_sha256: String,
    file_path: String,
    access_mode: String,
    process_pid: u32,
    process_executable_name: String,
    process_executable_path: String,
    process_command_line: String,
    process_owner: String,
    container_id: String,
    k8s_pod_name: String,
    k8s_namespace_name: String,
    tracer: String,
    scan_id: String,
    host_name: String,
    service_instance_id: String,
}

const SELECT: &str = "toUnixTimestamp64Nano(time) AS time_ns, event_id, project_id, \
    policy_rule, policy_action, policy_severity, policy_enforced, \
    artifact_id, artifact_name, artifact_type, artifact_role, artifact_format, \
    artifact_provider, artifact_license, artifact_revision, artifact_sha256, \
    file_path, access_mode, process_pid, process_executable_name, process_executable_path, \
    process_command_line, process_owner, container_id, k8s_pod_name, k8s_namespace_name, \
    tracer, scan_id, host_name, service_instance_id";

impl ViolationRow {
    /// The violation as JSON, keyed by semantic-convention names.
    fn into_json(self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            record::TIMESTAMP.into(),
            Value::String(params::rfc3339(self.time_ns)),
        );
        put_str(&mut m, attr::PROJECT_ID, self.project_id);
        put_str(&mut m, attr::POLICY_RULE, self.policy_rule);
        put_str(&mut m, attr::POLICY_ACTION, self.policy_action);
        put_str(&mut m, attr::POLICY_SEVERITY, self.policy_severity);
        m.insert(
            attr::POLICY_ENFORCED.into(),
            Value::Bool(self.policy_enforced),
        );
        put_str(&mut m, attr::FILE_PATH, self.file_path);
        put_str(&mut m, attr::ACCESS_MODE, self.access_mode);
        put_str(&mut m, attr::ARTIFACT_TYPE, self.artifact_type);
        put_str(&mut m, attr::ARTIFACT_ROLE, self.artifact_role);
        put_str(&mut m, attr::ARTIFACT_FORMAT, self.artifact_format);
        put_str(&mut m, attr::ARTIFACT_PROVIDER, self.artifact_provider);
        put_str(&mut m, attr::ARTIFACT_ID, self.artifact_id);
        put_str(&mut m, attr::ARTIFACT_NAME, self.artifact_name);
        put_str(&mut m, attr::ARTIFACT_REVISION, self.artifact_revision);
        put_str(&mut m, attr::ARTIFACT_LICENSE, self.artifact_license);
        put_str(&mut m, attr::ARTIFACT_SHA256, self.artifact_sha256);
        put_num(
            &mut m,
            attr::PROCESS_PID,
            Some(self.process_pid.into()).filter(|p| *p != 0),
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
        put_str(
            &mut m,
            attr::PROCESS_COMMAND_LINE,
            self.process_command_line,
        );
        put_str(&mut m, attr::PROCESS_OWNER, self.process_owner);
        put_str(&mut m, attr::CONTAINER_ID, self.container_id);
        put_str(&mut m, attr::K8S_POD_NAME, self.k8s_pod_name);
        put_str(&mut m, attr::K8S_NAMESPACE_NAME, self.k8s_namespace_name);
        put_str(&mut m, attr::TRACER, self.tracer);
        put_str(&mut m, attr::SCAN_ID, self.scan_id);
        put_str(&mut m, attr::HOST_NAME, self.host_name);
        put_str(&mut m, attr::SERVICE_INSTANCE_ID, self.service_instance_id);
        m
    }
}

/// Lists a project's policy violations, newest first.
#[utoipa::path(get, path = "/projects/{id}/runtime/violations",
    params(("id" = String, Path, description = "Project id: 1-128 of A-Z a-z 0-9 . _ -"), ViolationsQuery),
    responses(
        (status = 200, description = "A page of violations", body = ViolationsPage),
        (status = 400, description = "Invalid id, filter, cursor or limit", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or invalid token", body = crate::error::ErrorBody),
        (status = 503, description = "ClickHouse unavailable", body = crate::error::ErrorBody),
    ))]
pub async fn list(
    State(st): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<ViolationsQuery>, QueryRejection>,
) -> Result<Json<ViolationsPage>, ApiError> {
    let Path(id) = id?;
    let Query(q) = q?;
    let project = params::project_id(&id)?;
    let limit = params::limit(q.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let w = build_where(project, &q)?;
    let (rows, next) = fetch_page(
        &st.db,
        VIOLATIONS_TABLE,
        SELECT,
        &w,
        limit,
        |r: &ViolationRow| Cursor {
            time_ns: r.time_ns,
            event_id: r.event_id,
        },
    )
    .await?;
    Ok(Json(ViolationsPage {
        violations: rows.into_iter().map(ViolationRow::into_json).collect(),
        next,
    }))
}

#[derive(Debug, Row, Deserialize)]
struct PathRules {
    file_path: String,
    rules: Vec<String>,
}

/// Most rules listed per file path by [`rules_by_path`].
const RULES_CAP: u32 = 100;

/// The rules each file path of `project` broke, sorted: what marks the AI-BOM's components.
/// At most `max_paths` paths (those with the latest violations).
pub async fn rules_by_path(
    db: &Db,
    project: &str,
    max_paths: u32,
) -> Result<HashMap<String, Vec<String>>, ApiError> {
    let sql = format!(
        "SELECT file_path, arraySort(groupUniqArray({RULES_CAP})(toString(policy_rule))) AS rules \
         FROM {VIOLATIONS_TABLE} WHERE project_id = {{project:String}} AND policy_rule != '' \
         GROUP BY file_path ORDER BY max(time) DESC LIMIT {{lim:UInt32}}"
    );
    let rows: Vec<PathRules> = db
        .run(
            db.client()
                .query_raw(&sql)
                .param("project", project)
                .param("lim", max_paths)
                .fetch_all(),
        )
        .await?;
    Ok(rows.into_iter().map(|r| (r.file_path, r.rules)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_parameters_and_enums_are_checked() {
        let q = ViolationsQuery {
            rule: Some("r' OR 1=1 --".into()),
            action: Some(policy_action::DENY.into()),
            severity: Some(policy_severity::HIGH.into()),
            enforced: Some(true),
            path: Some("/m/x.pkl".into()),
            process: Some("42".into()),
            ..Default::default()
        };
        let w = build_where("p", &q).unwrap();
        let sql = w.sql();
        assert!(!sql.contains("OR 1=1") && !sql.contains(policy_action::DENY));
        assert!(sql.contains("{enforced:Bool}") && sql.contains("{pid:UInt32}"));
        for bad in [
            ViolationsQuery {
                action: Some("block".into()),
                ..Default::default()
            },
            ViolationsQuery {
                severity: Some(String::new()),
                ..Default::default()
            },
            ViolationsQuery {
                until: Some("tomorrow".into()),
                ..Default::default()
            },
        ] {
            assert!(build_where("p", &bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_documented_enums_are_semconv_values() {
        let doc = serde_json::to_value(action_schema()).unwrap();
        assert_eq!(doc["enum"], serde_json::json!(policy_action::ALL));
        let doc = serde_json::to_value(severity_schema()).unwrap();
        assert_eq!(doc["enum"], serde_json::json!(policy_severity::ALL));
    }
}

//! `GET /projects/{id}/runtime/api-calls`: the AI API calls aibomd saw a project's processes
//! make (`aibom.api.call` records, table `runtime_api_calls`, migration 0011), newest first,
//! with the paging of the event list. Also what the summary's `api_calls` section and the
//! AI-BOM's services are made of ([`counts`], [`services`]).
use super::events::{add_process, add_window, fetch_page, Where, P};
use super::violations::{one_of, one_of_filter};
use super::{put_num, put_str, Shared};
use crate::db::Db;
use crate::error::ApiError;
use crate::params::{self, Cursor, DEFAULT_LIMIT, MAX_LIMIT};
use crate::tables::API_CALLS_TABLE;
use aibom_bom::{ApiService, Process};
use aibom_semconv::{api_provider, api_seen_by, attr, record};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use clickhouse::Row;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::openapi::schema::Object;
use utoipa::{IntoParams, ToSchema};

fn provider_schema() -> Object {
    one_of(api_provider::ALL)
}

fn seen_by_schema() -> Object {
    one_of(api_seen_by::ALL)
}

/// Filters and paging of the API-call list. Empty values of the free-text filters (`model`,
/// `host`, `operation`, `process`) mean "no filter"; `provider` and `seen_by` must be one of
/// their values, `since` and `until` RFC 3339 times.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApiCallsQuery {
    /// `aibom.api.provider` equals (openai, anthropic, gcp.gemini, ollama, vllm, ...).
    #[param(schema_with = provider_schema)]
    pub provider: Option<String>,
    /// `gen_ai.request.model` or `gen_ai.response.model` equals.
    #[param(max_length = 1024)]
    pub model: Option<String>,
    /// `server.address` equals (the API's host name or address).
    #[param(max_length = 1024)]
    pub host: Option<String>,
    /// `gen_ai.operation.name` equals (chat, embeddings, generate_content, ...).
    #[param(max_length = 1024)]
    pub operation: Option<String>,
    /// `process.executable.name` equals, or `process.pid` when a number.
    #[param(max_length = 1024)]
    pub process: Option<String>,
    /// `aibom.api.seen_by` equals: uprobe, sni or http.
    #[param(schema_with = seen_by_schema)]
    pub seen_by: Option<String>,
    /// Calls at or after this RFC 3339 time.
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Calls before this RFC 3339 time.
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// Records per page: 1..=1000, default 100; more is a 400.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next` of the previous page (also accepted as `next`).
    #[serde(alias = "next")]
    #[param(pattern = "^[0-9a-f]{32}$")]
    pub cursor: Option<String>,
}

/// One page of API-call records, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiCallsPage {
    /// API-call records; keys are semantic-convention names (`aibom.api.provider`,
    /// `gen_ai.provider.name`, `gen_ai.request.model`, `gen_ai.operation.name`,
    /// `server.address`, `server.port`, `url.path`, `aibom.api.seen_by`, `aibom.api.count`
    /// (calls folded into the record), `gen_ai.usage.*`, `process.*`, `container.id`, ...)
    /// plus `timestamp`. Absent attributes are left out.
    #[schema(value_type = Vec<Object>)]
    pub api_calls: Vec<Map<String, Value>>,
    /// Cursor of the next page, `null` on the last page.
    pub next: Option<String>,
}

fn build_where(project: &str, q: &ApiCallsQuery) -> Result<Where, ApiError> {
    let mut w = Where::project(project);
    if let Some(v) = one_of_filter("provider", &q.provider, api_provider::ALL)? {
        w.add(
            "api_provider = {provider:String}",
            vec![("provider", P::S(v.into()))],
        );
    }
    if let Some(v) = params::filter("model", &q.model)? {
        w.add(
            "(gen_ai_request_model = {model:String} OR gen_ai_response_model = {model:String})",
            vec![("model", P::S(v.into()))],
        );
    }
    if let Some(v) = params::filter("host", &q.host)? {
        w.add(
            "server_address = {host:String}",
            vec![("host", P::S(v.into()))],
        );
    }
    if let Some(v) = params::filter("operation", &q.operation)? {
        w.add(
            "gen_ai_operation_name = {operation:String}",
            vec![("operation", P::S(v.into()))],
        );
    }
    if let Some(v) = one_of_filter("seen_by", &q.seen_by, api_seen_by::ALL)? {
        w.add(
            "api_seen_by = {seen_by:String}",
            vec![("seen_by", P::S(v.into()))],
        );
    }
    add_process(&mut w, &q.process)?;
    add_window(&mut w, &q.since, &q.until, &q.cursor)?;
    Ok(w)
}

/// One row of `runtime_api_calls`, in SELECT order.
#[derive(Debug, Row, Deserialize)]
struct ApiCallRow {
    time_ns: i64,
    event_id: u64,
    project_id: String,
    api_provider: String,
    gen_ai_provider_name: String,
    gen_ai_request_model: String,
    gen_ai_response_model: String,
    gen_ai_operation_name: String,
    server_address: String,
    server_port: u16,
    url_path: String,
    http_request_method: String,
    http_response_status_code: u16,
    api_seen_by: String,
    api_count: u64,
    api_tls_library: String,
    gen_ai_usage_input_tokens: Option<u64>,
    gen_ai_usage_output_tokens: Option<u64>,
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
    toString(api_provider) AS api_provider, toString(gen_ai_provider_name) AS gen_ai_provider_name, \
    toString(gen_ai_request_model) AS gen_ai_request_model, \
    toString(gen_ai_response_model) AS gen_ai_response_model, \
    toString(gen_ai_operation_name) AS gen_ai_operation_name, \
    toString(server_address) AS server_address, server_port, url_path, \
    toString(http_request_method) AS http_request_method, http_response_status_code, \
    toString(api_seen_by) AS api_seen_by, api_count, toString(api_tls_library) AS api_tls_library, \
    gen_ai_usage_input_tokens, gen_ai_usage_output_tokens, \
    process_pid, process_executable_name, process_executable_path, \
    process_command_line, process_owner, container_id, k8s_pod_name, k8s_namespace_name, \
    tracer, scan_id, host_name, service_instance_id";

impl ApiCallRow {
    /// The record as JSON, keyed by semantic-convention names.
    fn into_json(self) -> Map<String, Value> {
        let nz = |v: u64| Some(v).filter(|v| *v != 0);
        let mut m = Map::new();
        m.insert(
            record::TIMESTAMP.into(),
            Value::String(params::rfc3339(self.time_ns)),
        );
        put_str(&mut m, attr::PROJECT_ID, self.project_id);
        put_str(&mut m, attr::API_PROVIDER, self.api_provider);
        put_str(
            &mut m,
            attr::GEN_AI_PROVIDER_NAME,
            self.gen_ai_provider_name,
        );
        put_str(
            &mut m,
            attr::GEN_AI_REQUEST_MODEL,
            self.gen_ai_request_model,
        );
        put_str(
            &mut m,
            attr::GEN_AI_RESPONSE_MODEL,
            self.gen_ai_response_model,
        );
        put_str(
            &mut m,
            attr::GEN_AI_OPERATION_NAME,
            self.gen_ai_operation_name,
        );
        put_str(&mut m, attr::SERVER_ADDRESS, self.server_address);
        put_num(&mut m, attr::SERVER_PORT, nz(self.server_port.into()));
        put_str(&mut m, attr::URL_PATH, self.url_path);
        put_str(&mut m, attr::HTTP_REQUEST_METHOD, self.http_request_method);
        put_num(
            &mut m,
            attr::HTTP_RESPONSE_STATUS_CODE,
            nz(self.http_response_status_code.into()),
        );
        put_str(&mut m, attr::API_SEEN_BY, self.api_seen_by);
        put_num(&mut m, attr::API_COUNT, Some(self.api_count));
        put_str(&mut m, attr::API_TLS_LIBRARY, self.api_tls_library);
        put_num(
            &mut m,
            attr::GEN_AI_USAGE_INPUT_TOKENS,
            self.gen_ai_usage_input_tokens,
        );
        put_num(
            &mut m,
            attr::GEN_AI_USAGE_OUTPUT_TOKENS,
            self.gen_ai_usage_output_tokens,
        );
        put_num(&mut m, attr::PROCESS_PID, nz(self.process_pid.into()));
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

/// Lists a project's AI API calls, newest first.
#[utoipa::path(get, path = "/projects/{id}/runtime/api-calls",
    params(("id" = String, Path, description = "Project id: 1-128 of A-Z a-z 0-9 . _ -"), ApiCallsQuery),
    responses(
        (status = 200, description = "A page of API-call records", body = ApiCallsPage),
        (status = 400, description = "Invalid id, filter, cursor or limit", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or invalid token", body = crate::error::ErrorBody),
        (status = 503, description = "ClickHouse unavailable", body = crate::error::ErrorBody),
    ))]
pub async fn list(
    State(st): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<ApiCallsQuery>, QueryRejection>,
) -> Result<Json<ApiCallsPage>, ApiError> {
    let Path(id) = id?;
    let Query(q) = q?;
    let project = params::project_id(&id)?;
    let limit = params::limit(q.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let w = build_where(project, &q)?;
    let (rows, next) = fetch_page(
        &st.db,
        API_CALLS_TABLE,
        SELECT,
        &w,
        limit,
        |r: &ApiCallRow| Cursor {
            time_ns: r.time_ns,
            event_id: r.event_id,
        },
    )
    .await?;
    Ok(Json(ApiCallsPage {
        api_calls: rows.into_iter().map(ApiCallRow::into_json).collect(),
        next,
    }))
}

// ---------------------------------------------------------------- summary

/// Most (provider, host, port, model, operation) rows the summary lists; totals cover all.
pub const MAX_APIS: u32 = 1000;
/// Most values of each list per AI-BOM service (paths, models, processes...).
const LIST_CAP: u32 = 100;

/// Project totals of the API calls.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiCallTotals {
    /// Calls: the sum of `aibom.api.count` (a record folds repeated calls).
    pub calls: u64,
    /// `aibom.api.call` records stored.
    pub records: u64,
    /// Distinct (executable name, pid) pairs that called an API.
    pub processes: u64,
    /// Distinct (provider, host, port, model, operation) keys: the rows of `apis`.
    pub apis: u64,
    /// Sum of `gen_ai.usage.input_tokens`; `null` when no record had it.
    pub input_tokens: Option<u64>,
    /// Sum of `gen_ai.usage.output_tokens`; `null` when no record had it.
    pub output_tokens: Option<u64>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
}

/// The project's AI API calls per provider, server, model and operation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiCallCounts {
    pub totals: ApiCallTotals,
    /// Most calls first (at most 1000). Keys: `aibom.api.provider`, `gen_ai.provider.name`
    /// (hosted providers), `server.address`, `server.port`, `gen_ai.request.model` and
    /// `gen_ai.operation.name` (left out when unknown, e.g. only the TLS server name was seen),
    /// `calls`, `processes`, `first_seen`, `last_seen`, `gen_ai.usage.input_tokens` and
    /// `gen_ai.usage.output_tokens` (sums, left out when no record had them).
    #[schema(value_type = Vec<Object>)]
    pub apis: Vec<Map<String, Value>>,
    /// True when more keys exist than listed.
    pub truncated: bool,
}

/// Per-key rows. Parameters: `project`, `lim`.
fn by_key_sql() -> String {
    format!(
        "SELECT toString(api_provider) AS provider, \
         toString(argMax(gen_ai_provider_name, time)) AS gen_ai_provider, \
         toString(server_address) AS host, server_port AS port, \
         toString(gen_ai_request_model) AS model, toString(gen_ai_operation_name) AS operation, \
         sum(api_count) AS calls, uniqExact(process_executable_name, process_pid) AS processes, \
         toUnixTimestamp64Nano(min(time)) AS first_ns, toUnixTimestamp64Nano(max(time)) AS last_ns, \
         sum(gen_ai_usage_input_tokens) AS input_tokens, \
         sum(gen_ai_usage_output_tokens) AS output_tokens \
         FROM {API_CALLS_TABLE} WHERE project_id = {{project:String}} \
         GROUP BY provider, host, port, model, operation \
         ORDER BY calls DESC, provider, host, port, model, operation \
         LIMIT {{lim:UInt32}}"
    )
}

/// Project totals. Parameter: `project`.
fn totals_sql() -> String {
    format!(
        "SELECT sum(api_count) AS calls, count() AS records, \
         uniqExact(process_executable_name, process_pid) AS processes, \
         uniqExact(api_provider, server_address, server_port, gen_ai_request_model, \
                   gen_ai_operation_name) AS apis, \
         sum(gen_ai_usage_input_tokens) AS input_tokens, \
         sum(gen_ai_usage_output_tokens) AS output_tokens, \
         toUnixTimestamp64Nano(min(time)) AS first_ns, toUnixTimestamp64Nano(max(time)) AS last_ns \
         FROM {API_CALLS_TABLE} WHERE project_id = {{project:String}}"
    )
}

#[derive(Debug, Row, Deserialize)]
struct KeyRow {
    provider: String,
    gen_ai_provider: String,
    host: String,
    port: u16,
    model: String,
    operation: String,
    calls: u64,
    processes: u64,
    first_ns: i64,
    last_ns: i64,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
}

impl KeyRow {
    fn into_json(self) -> Map<String, Value> {
        let mut m = Map::new();
        put_str(&mut m, attr::API_PROVIDER, self.provider);
        put_str(&mut m, attr::GEN_AI_PROVIDER_NAME, self.gen_ai_provider);
        put_str(&mut m, attr::SERVER_ADDRESS, self.host);
        put_num(
            &mut m,
            attr::SERVER_PORT,
            Some(u64::from(self.port)).filter(|p| *p != 0),
        );
        put_str(&mut m, attr::GEN_AI_REQUEST_MODEL, self.model);
        put_str(&mut m, attr::GEN_AI_OPERATION_NAME, self.operation);
        m.insert("calls".into(), Value::from(self.calls));
        m.insert("processes".into(), Value::from(self.processes));
        m.insert(
            "first_seen".into(),
            Value::String(params::rfc3339(self.first_ns)),
        );
        m.insert(
            "last_seen".into(),
            Value::String(params::rfc3339(self.last_ns)),
        );
        put_num(&mut m, attr::GEN_AI_USAGE_INPUT_TOKENS, self.input_tokens);
        put_num(&mut m, attr::GEN_AI_USAGE_OUTPUT_TOKENS, self.output_tokens);
        m
    }
}

#[derive(Debug, Row, Deserialize)]
struct TotalsRow {
    calls: u64,
    records: u64,
    processes: u64,
    apis: u64,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    first_ns: i64,
    last_ns: i64,
}

/// The summary's `api_calls` section of `project` (already validated): two small queries.
pub async fn counts(db: &Db, project: &str) -> Result<ApiCallCounts, ApiError> {
    let (rows, t) = tokio::try_join!(
        db.run(
            db.client()
                .query_raw(&by_key_sql())
                .param("project", project)
                .param("lim", MAX_APIS + 1)
                .fetch_all::<KeyRow>(),
        ),
        db.run(
            db.client()
                .query_raw(&totals_sql())
                .param("project", project)
                .fetch_one::<TotalsRow>(),
        ),
    )?;
    let truncated = rows.len() > MAX_APIS as usize;
    let seen = |ns: i64| (t.records > 0).then(|| params::rfc3339(ns));
    Ok(ApiCallCounts {
        totals: ApiCallTotals {
            calls: t.calls,
            records: t.records,
            processes: t.processes,
            apis: t.apis,
            input_tokens: t.input_tokens,
            output_tokens: t.output_tokens,
            first_seen: seen(t.first_ns),
            last_seen: seen(t.last_ns),
        },
        apis: rows
            .into_iter()
            .take(MAX_APIS as usize)
            .map(KeyRow::into_json)
            .collect(),
        truncated,
    })
}

// ---------------------------------------------------------------- AI-BOM services

/// Per (provider, host, port) rows for the AI-BOM. Parameters: `project`, `lim`.
fn services_sql() -> String {
    let list = |col: &str, alias: &str| {
        format!(
            "arraySort(arrayFilter(x -> x != '', groupUniqArray({LIST_CAP})(toString({col})))) AS {alias}"
        )
    };
    format!(
        "SELECT toString(api_provider) AS provider, \
         toString(argMax(gen_ai_provider_name, time)) AS gen_ai_provider, \
         toString(server_address) AS host, server_port AS port, \
         {}, {}, {}, {}, \
         sum(api_count) AS calls, \
         sum(gen_ai_usage_input_tokens) AS input_tokens, \
         sum(gen_ai_usage_output_tokens) AS output_tokens, \
         arraySort(groupUniqArray({LIST_CAP})(tuple(toString(process_executable_name), process_pid))) AS processes \
         FROM {API_CALLS_TABLE} WHERE project_id = {{project:String}} \
         GROUP BY provider, host, port \
         ORDER BY provider, host, port \
         LIMIT {{lim:UInt32}}",
        list("url_path", "paths"),
        list("gen_ai_request_model", "models"),
        list("gen_ai_operation_name", "operations"),
        list("api_seen_by", "seen_by"),
    )
}

#[derive(Debug, Row, Deserialize)]
struct ServiceRow {
    provider: String,
    gen_ai_provider: String,
    host: String,
    port: u16,
    paths: Vec<String>,
    models: Vec<String>,
    operations: Vec<String>,
    seen_by: Vec<String>,
    calls: u64,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    processes: Vec<(String, u32)>,
}

/// The AI APIs `project` called, one per (provider, server address, port), by provider: what
/// the AI-BOM lists as services. At most `max` of them.
pub async fn services(db: &Db, project: &str, max: u32) -> Result<Vec<ApiService>, ApiError> {
    let rows = db
        .run(
            db.client()
                .query_raw(&services_sql())
                .param("project", project)
                .param("lim", max)
                .fetch_all::<ServiceRow>(),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| ApiService {
            provider: r.provider,
            gen_ai_provider: Some(r.gen_ai_provider).filter(|g| !g.is_empty()),
            host: r.host,
            port: Some(r.port).filter(|p| *p != 0),
            paths: r.paths,
            models: r.models,
            operations: r.operations,
            seen_by: r.seen_by,
            calls: r.calls,
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            processes: r
                .processes
                .into_iter()
                .map(|(exe, pid)| Process {
                    exe: if exe.is_empty() { "?".into() } else { exe },
                    pid: Some(pid).filter(|p| *p != 0),
                })
                .collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_parameters_and_enums_are_checked() {
        let q = ApiCallsQuery {
            provider: Some(api_provider::OPENAI.into()),
            model: Some("m' OR 1=1 --".into()),
            host: Some("api.openai.com".into()),
            operation: Some("chat".into()),
            seen_by: Some(api_seen_by::SNI.into()),
            process: Some("42".into()),
            ..Default::default()
        };
        let w = build_where("p", &q).unwrap();
        let sql = w.sql();
        assert!(!sql.contains("OR 1=1") && !sql.contains("api.openai.com"));
        assert!(sql.contains("{seen_by:String}") && sql.contains("{pid:UInt32}"));
        for bad in [
            ApiCallsQuery {
                provider: Some("OpenAI".into()),
                ..Default::default()
            },
            ApiCallsQuery {
                seen_by: Some(String::new()),
                ..Default::default()
            },
            ApiCallsQuery {
                since: Some("tomorrow".into()),
                ..Default::default()
            },
            ApiCallsQuery {
                host: Some("h".repeat(2000)),
                ..Default::default()
            },
        ] {
            assert!(build_where("p", &bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_documented_enums_are_semconv_values() {
        let doc = serde_json::to_value(provider_schema()).unwrap();
        assert_eq!(doc["enum"], serde_json::json!(api_provider::ALL));
        let doc = serde_json::to_value(seen_by_schema()).unwrap();
        assert_eq!(doc["enum"], serde_json::json!(api_seen_by::ALL));
    }
}

//! The HTTP API: routes, shared state, the OpenAPI document.
pub mod aibom;
pub mod api_calls;
pub mod events;
pub mod projects;
pub mod scan_stop;
pub mod scans;
pub mod stream;
pub mod summary;
pub mod unsafe_scans;
pub mod violations;

use crate::auth::{self, Auth};
use crate::db::Db;
use crate::error::{ApiError, ErrorBody};
use crate::metrics;
use crate::params;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Json, Router};
use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::Arc;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::RefOr;
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Largest request body accepted (413 above).
pub const MAX_BODY: usize = 64 * 1024;

/// What every handler shares.
pub struct AppState {
    pub db: Db,
    pub scans: scans::Scans,
    pub daemons: Vec<scans::Daemon>,
    /// Sent to daemons as a bearer token (`AIBOM_DAEMON_TOKEN`).
    pub daemon_token: Option<String>,
    /// Open live streams (`GET .../runtime/stream`) and their cap.
    pub stream: stream::Hub,
}

pub type Shared = Arc<AppState>;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "aibom-query",
        description = "Runtime AI-BOM query sidecar: which AI artifacts a project's processes opened, from ClickHouse. \
                       Event fields are named by the aibom semantic convention (aibom-semconv)."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let c = api.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Documents what the handlers enforce on ids, in one place for every route (also those
/// added later): `{id}` under `/projects/` is a project id ([`params::PROJECT_ID_PATTERN`],
/// 1-128 characters), under `/scans/` a scan id (UUID); so is the `project` of a scan request.
struct IdPatterns;

fn project_id_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(params::PROJECT_ID_PATTERN))
        .min_length(Some(1))
        .max_length(Some(128))
        .build()
}

impl Modify for IdPatterns {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        for (path, item) in api.paths.paths.iter_mut() {
            let schema = if path.starts_with("/projects/{id}") {
                project_id_schema()
            } else if path.starts_with("/scans/{id}") {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::Custom("uuid".into())))
                    .pattern(Some(params::SCAN_ID_PATTERN))
                    .build()
            } else {
                continue;
            };
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
            ];
            for op in ops.into_iter().flatten() {
                for p in op.parameters.iter_mut().flatten() {
                    if p.name == "id" && p.parameter_in == ParameterIn::Path {
                        p.schema = Some(RefOr::T(Schema::Object(schema.clone())));
                    }
                }
            }
        }
        let scan = api
            .components
            .as_mut()
            .and_then(|c| c.schemas.get_mut("ScanRequest"));
        if let Some(RefOr::T(Schema::Object(o))) = scan {
            o.properties.insert(
                "project".into(),
                RefOr::T(Schema::Object(project_id_schema())),
            );
        }
    }
}

/// The routes and their OpenAPI document (with [`IdPatterns`] applied): API routes behind the
/// bearer token; `/healthz` and `/metrics` open.
fn api_routes(auth: Auth) -> (Router<Shared>, utoipa::openapi::OpenApi) {
    let protected = OpenApiRouter::new()
        .routes(routes!(events::list, events::delete))
        .routes(routes!(summary::get))
        .routes(routes!(violations::list))
        .routes(routes!(api_calls::list))
        .routes(routes!(aibom::get))
        .routes(routes!(scans::start))
        .routes(routes!(scans::status))
        .routes(routes!(scan_stop::stop))
        .routes(routes!(projects::list))
        .routes(routes!(stream::stream))
        .route_layer(middleware::from_fn_with_state(auth, auth::require));
    let open = OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(metrics_text));
    let (router, mut api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(protected)
        .merge(open)
        .split_for_parts();
    // After the merge: the paths exist only now.
    IdPatterns.modify(&mut api);
    (router, api)
}

/// Builds the application: API routes behind the bearer token; `/healthz`, `/metrics` and
/// `/openapi.json` open (they carry no project data).
pub fn app(state: Shared, auth: Auth) -> Router {
    let (router, api) = api_routes(auth);
    let api = Arc::new(api);
    router
        .route(
            "/openapi.json",
            get(move || async move { Json(api.as_ref().clone()) }),
        )
        .merge(crate::ui::routes())
        .fallback(|| async { ApiError::NotFound("no such route: see /openapi.json".into()) })
        .layer(middleware::from_fn(metrics::track))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

#[derive(Serialize, ToSchema)]
struct Health {
    /// `ok`, or `unavailable` with `error`.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The fixed `error` of an unready `/healthz` (the cause is logged).
pub const HEALTH_UNAVAILABLE: &str =
    "ClickHouse is unavailable or lacks the runtime schema (see the aibom-query log)";

/// Ready when ClickHouse answers and the runtime schema exists.
#[utoipa::path(get, path = "/healthz", security(()), responses(
    (status = 200, description = "ClickHouse reachable, schema present", body = Health),
    (status = 503, description = "ClickHouse unreachable or schema missing", body = Health),
))]
async fn healthz(State(st): State<Shared>) -> Response {
    match st.db.health().await {
        Ok(()) => Json(Health {
            status: "ok",
            error: None,
        })
        .into_response(),
        Err(e) => {
            // The detail (ClickHouse's own text: hosts, users, paths) goes to the log only;
            // this route is open, so it answers with a fixed message.
            tracing::warn!(error = %e.message(), "healthz: not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable",
                    error: Some(HEALTH_UNAVAILABLE.into()),
                }),
            )
                .into_response()
        }
    }
}

/// Prometheus text: requests, latencies, ClickHouse errors.
#[utoipa::path(get, path = "/metrics", security(()), responses(
    (status = 200, description = "Prometheus text exposition", content_type = "text/plain", body = String),
))]
async fn metrics_text() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics::render(),
    )
        .into_response()
}

/// Inserts `v` under `key` unless it is empty: absent attributes are left out, as in
/// aibomd's JSON Lines records.
pub(crate) fn put_str(m: &mut Map<String, Value>, key: &str, v: String) {
    if !v.is_empty() {
        m.insert(key.to_string(), Value::String(v));
    }
}

/// Inserts a number under `key` when present.
pub(crate) fn put_num(m: &mut Map<String, Value>, key: &str, v: Option<u64>) {
    if let Some(v) = v {
        m.insert(key.to_string(), Value::from(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The document states what the handlers enforce, from the same constants.
    #[test]
    fn the_openapi_document_states_the_limits() {
        let (_, api) = api_routes(Auth::default());
        let doc = serde_json::to_value(&api).unwrap();
        let param = |path: &str, method: &str, name: &str| -> Value {
            doc["paths"][path][method]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name)
                .unwrap_or_else(|| panic!("{method} {path}: no {name}"))["schema"]
                .clone()
        };
        for (path, method) in [
            ("/projects/{id}/runtime/events", "get"),
            ("/projects/{id}/runtime/events", "delete"),
            ("/projects/{id}/runtime/summary", "get"),
            ("/projects/{id}/runtime/violations", "get"),
        ] {
            let id = param(path, method, "id");
            assert_eq!(id["pattern"], params::PROJECT_ID_PATTERN, "{path}");
            assert_eq!(
                (&id["minLength"], &id["maxLength"]),
                (&json!(1), &json!(128))
            );
        }
        let events = "/projects/{id}/runtime/events";
        assert_eq!(
            param(events, "get", "limit")["maximum"],
            json!(params::MAX_LIMIT)
        );
        assert_eq!(
            param("/projects/{id}/runtime/summary", "get", "limit")["maximum"],
            json!(summary::MAX_ARTIFACTS)
        );
        assert_eq!(
            param(events, "get", "cursor")["pattern"],
            params::CURSOR_PATTERN
        );
        let violations = "/projects/{id}/runtime/violations";
        assert_eq!(
            param(violations, "get", "limit")["maximum"],
            json!(params::MAX_LIMIT)
        );
        assert_eq!(
            param(violations, "get", "cursor")["pattern"],
            params::CURSOR_PATTERN
        );
        assert_eq!(
            param(violations, "get", "severity")["enum"],
            json!(aibom_semconv::policy_severity::ALL)
        );
        assert_eq!(param(violations, "get", "enforced")["type"], "boolean");
        let api_calls = "/projects/{id}/runtime/api-calls";
        assert_eq!(
            param(api_calls, "get", "id")["pattern"],
            params::PROJECT_ID_PATTERN
        );
        assert_eq!(
            param(api_calls, "get", "limit")["maximum"],
            json!(params::MAX_LIMIT)
        );
        assert_eq!(
            param(api_calls, "get", "provider")["enum"],
            json!(aibom_semconv::api_provider::ALL)
        );
        assert_eq!(
            param(api_calls, "get", "seen_by")["enum"],
            json!(aibom_semconv::api_seen_by::ALL)
        );
        assert_eq!(
            param("/scans/{id}", "get", "id")["pattern"],
            params::SCAN_ID_PATTERN
        );
        let scan = &doc["components"]["schemas"]["ScanRequest"]["properties"];
        assert_eq!(scan["project"]["pattern"], params::PROJECT_ID_PATTERN);
        assert_eq!(scan["duration"]["maximum"], json!(scans::MAX_DURATION));
        assert!(doc["paths"]["/scan/runtime"]["post"]["responses"]["415"].is_object());
    }
}

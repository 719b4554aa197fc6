//! The HTTP API: routes, shared state, the OpenAPI document.
pub mod aibom;
pub mod events;
pub mod scans;
pub mod summary;

use crate::auth::{self, Auth};
use crate::db::Db;
use crate::error::{ApiError, ErrorBody};
use crate::metrics;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Json, Router};
use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::Arc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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

/// Builds the application: API routes behind the bearer token; `/healthz`, `/metrics` and
/// `/openapi.json` open (they carry no project data).
pub fn app(state: Shared, auth: Auth) -> Router {
    let protected = OpenApiRouter::new()
        .routes(routes!(events::list, events::delete))
        .routes(routes!(summary::get))
        .routes(routes!(aibom::get))
        .routes(routes!(scans::start))
        .routes(routes!(scans::status))
        .route_layer(middleware::from_fn_with_state(auth, auth::require));
    let open = OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(metrics_text));
    let (router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(protected)
        .merge(open)
        .split_for_parts();
    let api = Arc::new(api);
    router
        .route(
            "/openapi.json",
            get(move || async move { Json(api.as_ref().clone()) }),
        )
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
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "unavailable",
                error: Some(e.message()),
            }),
        )
            .into_response(),
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

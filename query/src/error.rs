//! API errors: every failure is a JSON body `{"error": "..."}` with a fitting status.
use crate::metrics;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a person.
    pub error: String,
}

/// An error a handler returns.
#[derive(Debug)]
pub enum ApiError {
    /// 400: the request is malformed (bad id, filter, cursor, limit, body).
    BadRequest(String),
    /// 401: no or wrong bearer token.
    Unauthorized,
    /// 404: no such resource.
    NotFound(String),
    /// 503: ClickHouse is unreachable, timed out, or lacks the schema.
    Unavailable(String),
    /// 500: anything else (a ClickHouse error the request could not cause).
    Internal(String),
    /// Another status with a message (body too large, unsupported media type, ...).
    Status(StatusCode, String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Status(s, _) => *s,
        }
    }

    /// The message of the JSON body.
    pub fn message(&self) -> String {
        match self {
            ApiError::BadRequest(m)
            | ApiError::NotFound(m)
            | ApiError::Unavailable(m)
            | ApiError::Internal(m)
            | ApiError::Status(_, m) => m.clone(),
            ApiError::Unauthorized => "missing or invalid bearer token".into(),
        }
    }

    /// A ClickHouse failure: counted, logged, classified.
    pub fn clickhouse(e: clickhouse::error::Error) -> Self {
        use clickhouse::error::Error as E;
        let text = e.to_string();
        let (kind, err) = match &e {
            E::Network(_) | E::TimedOut => (
                "unavailable",
                ApiError::Unavailable(format!("ClickHouse is unavailable: {}", short(&text))),
            ),
            E::BadResponse(m) if is_schema_missing(m) => (
                "schema",
                ApiError::Unavailable(
                    "ClickHouse lacks the runtime schema: run aibom-query --migrate".into(),
                ),
            ),
            E::BadResponse(m) if is_timeout(m) => (
                "timeout",
                ApiError::Status(
                    StatusCode::GATEWAY_TIMEOUT,
                    "ClickHouse stopped the query: it exceeded max_execution_time \
(aibom-query --max-execution-time); narrow the time range or raise the limit"
                        .into(),
                ),
            ),
            E::BadResponse(m) if m.contains("Code: ") => (
                "query",
                ApiError::Internal(format!("ClickHouse error: {}", short(m))),
            ),
            // Not a ClickHouse answer (a proxy's page, a server going down mid-reply).
            _ => (
                "unavailable",
                ApiError::Unavailable(format!("ClickHouse is unavailable: {}", short(&text))),
            ),
        };
        metrics::clickhouse_error(kind);
        tracing::warn!(kind, error = %text, "ClickHouse request failed");
        err
    }

    /// A ClickHouse request that took longer than the query timeout.
    pub fn timeout(secs: u64) -> Self {
        metrics::clickhouse_error("timeout");
        ApiError::Unavailable(format!("ClickHouse did not answer within {secs} s"))
    }
}

/// TIMEOUT_EXCEEDED (159): the query ran past `max_execution_time`.
fn is_timeout(m: &str) -> bool {
    m.contains("Code: 159.") || m.contains("(TIMEOUT_EXCEEDED)")
}

/// UNKNOWN_TABLE (60), UNKNOWN_DATABASE (81).
fn is_schema_missing(m: &str) -> bool {
    m.contains("Code: 60.") || m.contains("Code: 81.")
}

fn short(s: &str) -> String {
    let line = s.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    line.chars().take(300).collect()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = Json(ErrorBody {
            error: self.message(),
        });
        if matches!(self, ApiError::Unauthorized) {
            (status, [(header::WWW_AUTHENTICATE, "Bearer")], body).into_response()
        } else {
            (status, body).into_response()
        }
    }
}

/// Extractor rejections (bad JSON, query string, path; body over the limit) become JSON
/// errors: 400 for anything malformed (axum's 422 included), 413 and 415 kept.
macro_rules! from_rejection {
    ($($t:ty),*) => {$(
        impl From<$t> for ApiError {
            fn from(r: $t) -> Self {
                match r.status() {
                    StatusCode::UNPROCESSABLE_ENTITY => ApiError::BadRequest(r.body_text()),
                    s => ApiError::Status(s, r.body_text()),
                }
            }
        }
    )*};
}
from_rejection!(
    axum::extract::rejection::JsonRejection,
    axum::extract::rejection::QueryRejection,
    axum::extract::rejection::PathRejection
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_clickhouse_errors() {
        let e = ApiError::clickhouse(clickhouse::error::Error::BadResponse(
            "Code: 60. DB::Exception: Unknown table expression identifier 'runtime_events'".into(),
        ));
        assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
        let e = ApiError::clickhouse(clickhouse::error::Error::BadResponse(
            "Code: 62. DB::Exception: Syntax error".into(),
        ));
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let e = ApiError::clickhouse(clickhouse::error::Error::BadResponse(
            "Code: 159. DB::Exception: Timeout exceeded: elapsed 1.2 seconds, maximum: 1. (TIMEOUT_EXCEEDED)".into(),
        ));
        assert_eq!(e.status(), StatusCode::GATEWAY_TIMEOUT);
        assert!(!e.message().contains("elapsed"), "{}", e.message());
        assert_eq!(
            ApiError::clickhouse(clickhouse::error::Error::TimedOut).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}

//! Bearer-token authentication of the API routes.
use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Shortest token accepted at startup.
pub const MIN_TOKEN_LEN: usize = 16;

/// The expected token, or `None` when started with `--insecure-no-auth`.
#[derive(Clone)]
pub struct Auth(pub Option<Arc<str>>);

/// Checks a configured token's shape.
pub fn validate_token(t: &str) -> Result<(), String> {
    if t.len() < MIN_TOKEN_LEN {
        return Err(format!(
            "the API token must be at least {MIN_TOKEN_LEN} characters"
        ));
    }
    if !t.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the API token must be printable ASCII without spaces".into());
    }
    Ok(())
}

/// Compares in time independent of where the inputs differ (`subtle`); only a length
/// mismatch returns at once.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Whether `headers` carry `Authorization: Bearer <token>`.
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let given = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    given.is_some_and(|g| same(g.as_bytes(), token.as_bytes()))
}

/// Middleware: `Authorization: Bearer <token>` or 401.
pub async fn require(State(auth): State<Auth>, req: Request, next: Next) -> Response {
    if let Some(token) = &auth.0 {
        if !authorized(req.headers(), token) {
            return ApiError::Unauthorized.into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert!(validate_token("short").is_err());
        assert!(validate_token("0123456789abcdef").is_ok());
        assert!(validate_token("0123456789 abcdef").is_err());
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"abc", b"ab"));
    }

    #[test]
    fn only_the_exact_bearer_token_passes() {
        let token = "0123456789abcdef";
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, v.parse().unwrap());
            h
        };
        assert!(authorized(&with("Bearer 0123456789abcdef"), token));
        assert!(authorized(&with("bearer 0123456789abcdef "), token));
        for (given, why) in [
            ("Bearer 0123456789abcdeF", "wrong, same length"),
            ("Bearer 0123456789abcde", "prefix"),
            ("Bearer 0123456789abcdef0", "longer"),
            ("Bearer ", "empty"),
            ("0123456789abcdef", "no scheme"),
            ("Basic 0123456789abcdef", "other scheme"),
        ] {
            assert!(!authorized(&with(given), token), "{why}");
        }
        assert!(!authorized(&HeaderMap::new(), token), "no header");
    }
}

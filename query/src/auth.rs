//! Bearer-token authentication of the API routes: a read token for every route, and a
//! distinct admin token that alone may `DELETE`.
use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Shortest token accepted at startup.
pub const MIN_TOKEN_LEN: usize = 16;

/// The expected read token (`None` when started with `--insecure-no-auth`), and the admin
/// token that `DELETE` requires (`None`: `DELETE` is refused, unless `--insecure-no-auth`).
#[derive(Clone, Default)]
pub struct Auth {
    pub token: Option<Arc<str>>,
    pub admin: Option<Arc<str>>,
}

/// The 403 of a `DELETE` when no admin token is configured.
pub const NO_ADMIN_TOKEN: &str = "DELETE needs the admin token, and none is configured: start \
aibom-query with AIBOM_QUERY_ADMIN_TOKEN or --admin-token-file (distinct from the read token)";
/// The 403 of a `DELETE` with the read token (or another valid-looking one).
pub const NEEDS_ADMIN: &str =
    "DELETE needs the admin token (Authorization: Bearer <admin token>), \
not the read token";

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

/// Middleware: `Authorization: Bearer <token>` (the read or the admin token) or 401; a
/// `DELETE` needs the admin token, else 403 (401 when no known token is given at all).
pub async fn require(State(auth): State<Auth>, req: Request, next: Next) -> Response {
    let Some(token) = &auth.token else {
        return next.run(req).await; // --insecure-no-auth
    };
    let h = req.headers();
    let admin = auth.admin.as_ref().is_some_and(|a| authorized(h, a));
    let read = authorized(h, token);
    if req.method() == Method::DELETE {
        if !admin {
            if !read {
                return ApiError::Unauthorized.into_response();
            }
            let msg = if auth.admin.is_none() {
                NO_ADMIN_TOKEN
            } else {
                NEEDS_ADMIN
            };
            return ApiError::Status(StatusCode::FORBIDDEN, msg.into()).into_response();
        }
    } else if !read && !admin {
        return ApiError::Unauthorized.into_response();
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

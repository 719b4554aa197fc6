//! The web UI at `/ui/`: static files embedded in the binary (`query/ui/`, nothing fetched at
//! run time), served with a strict Content-Security-Policy. The UI is a client of the API: it
//! asks for the bearer token once, keeps it in the tab's `sessionStorage` and sends it as the
//! `Authorization` header of every call (the live feed too: `fetch`, not `EventSource`).
use crate::routes::Shared;
use axum::extract::{Path, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

/// `(path under /ui/, content type, bytes)`.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_bytes!("../ui/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../ui/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../ui/app.css"),
    ),
    (
        "vendor/uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../ui/vendor/uPlot.iife.min.js"),
    ),
    (
        "vendor/uPlot.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../ui/vendor/uPlot.min.css"),
    ),
    (
        "vendor/uPlot.LICENSE",
        "text/plain; charset=utf-8",
        include_bytes!("../ui/vendor/uPlot.LICENSE"),
    ),
];

/// The policy of every `/ui` response: only this origin's scripts, styles and API; no
/// inline script, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
    connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn file(name: &str) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, ctype, body)) => (
            [
                (header::CONTENT_TYPE, *ctype),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "no such file in the UI: open /ui/",
        )
            .into_response(),
    }
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    for (k, v) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ] {
        h.insert(k, HeaderValue::from_static(v));
    }
    resp
}

/// `/ui` (redirects to `/ui/`), `/ui/` and its files; open (no project data in them).
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route("/ui/", get(|| async { file("index.html") }))
        .route(
            "/ui/{*file}",
            get(|Path(name): Path<String>| async move { file(&name) }),
        )
        .layer(middleware::from_fn(security_headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file the page references is embedded; no inline script or style, no remote URL.
    #[test]
    fn the_page_references_only_embedded_files() {
        let html = std::str::from_utf8(FILES[0].2).unwrap();
        for attr in ["src=\"", "href=\""] {
            for part in html.split(attr).skip(1) {
                let url = &part[..part.find('"').unwrap()];
                if url.starts_with('#') || url == "data:," || url == "/openapi.json" {
                    continue;
                }
                let name = url.strip_prefix("/ui/").unwrap_or_else(|| panic!("{url}"));
                assert!(FILES.iter().any(|(n, _, _)| *n == name), "{url}");
            }
        }
        assert!(!html.contains("<script>") && !html.contains("style="));
        assert!(!html.contains("onclick=") && !html.contains("onload="));
        for (name, _, body) in FILES {
            let text = String::from_utf8_lossy(body);
            if name.ends_with(".js") && !name.starts_with("vendor/") {
                // no remote URL (the example command's local collector address is text)
                assert!(!text.contains("https://"), "{name}");
                assert!(
                    text.split("http://")
                        .skip(1)
                        .all(|r| r.starts_with("127.0.0.1")),
                    "{name}"
                );
                assert!(!text.contains("innerHTML"), "{name}: build nodes, not HTML");
            }
        }
    }

    /// The attribute names the script reads are the API's (semantic-convention) names.
    #[test]
    fn the_script_uses_semconv_names() {
        let js = std::str::from_utf8(FILES[1].2).unwrap();
        let map = &js[js.find("const A = {").unwrap()..];
        let map = &map[..map.find("};").unwrap()];
        let names: Vec<&str> = map.split('"').skip(1).step_by(2).collect();
        assert!(names.len() > 20, "{names:?}");
        for n in names {
            assert!(
                aibom_semconv::ALL_ATTRIBUTES.contains(&n)
                    || [
                        aibom_semconv::record::TIMESTAMP,
                        aibom_semconv::record::EVENT_NAME
                    ]
                    .contains(&n),
                "{n} is no aibom-semconv attribute"
            );
        }
    }
}

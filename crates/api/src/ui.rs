//! The screens — login, cockpit (大屏), console (中屏), mobile app (小屏) — served from files
//! built into the binary (`ui/app`), so running Linli needs no Node.js and no web server beside it.
//! Debug builds read the files from disk, so editing them needs no rebuild.
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};

use crate::error::ApiError;

#[derive(rust_embed::RustEmbed)]
#[folder = "../../ui/app"]
struct Assets;

/// Answers a GET for a screen's file, else the API's JSON 404. `/x/` serves `/x/index.html`;
/// `/x` redirects to `/x/` when that is a screen, so relative links inside it resolve.
pub(crate) async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if !matches!(method, Method::GET | Method::HEAD) || path.starts_with("/api/") || path.starts_with("/open311/") {
        return not_found();
    }
    let relative = path.trim_start_matches('/');
    let name = if relative.is_empty() || relative.ends_with('/') { format!("{relative}index.html") } else { relative.to_string() };
    let Some(file) = Assets::get(&name) else {
        if !relative.is_empty() && Assets::get(&format!("{relative}/index.html")).is_some() {
            return Redirect::permanent(&format!("/{relative}/")).into_response();
        }
        return not_found();
    };
    let hash: String = file.metadata.sha256_hash().iter().take(16).map(|b| format!("{b:02x}")).collect();
    let etag = format!("\"{hash}\"");
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.split(',').any(|t| t.trim() == etag)) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let mut response = file.data.into_owned().into_response();
    let response_headers = response.headers_mut();
    response_headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_str(file.metadata.mimetype()).unwrap_or(HeaderValue::from_static("application/octet-stream")));
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        response_headers.insert(header::ETAG, etag);
    }
    // Revalidated every time (a cheap 304), so an upgraded binary's screens show at once.
    response_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response_headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

fn not_found() -> Response {
    ApiError::not_found("no such endpoint").into_response()
}

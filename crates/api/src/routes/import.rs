//! `POST /import/{kind}`: the same all-or-nothing import as `linli import`, over HTTP.
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use linli_domain::Role;
use linli_import::{Format, ImportKind};
use linli_store::ImportSummary;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Actor, ApiPath};
use crate::AppState;

/// Largest import body accepted over HTTP; bigger files go through `linli import`.
pub const MAX_IMPORT_BYTES: usize = 256 * 1024 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(import)).layer(axum::extract::DefaultBodyLimit::max(MAX_IMPORT_BYTES))
}

/// Imports a CSV (`text/csv`) or GeoJSON (`application/geo+json` or `application/json`) file of
/// regions, buildings, dwellings, residents, organisations or devices, in one transaction.
/// On any bad row nothing is written and every bad row is listed in `errors`.
#[utoipa::path(post, path = "/import/{kind}", tag = "import", params(("kind" = String, Path, description = "regions, buildings, dwellings, residents, organisations or devices")),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportSummary), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn import(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(kind): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<axum::Json<ImportSummary>> {
    actor.require(Role::imports, "import files")?;
    let kind = ImportKind::parse(&kind).ok_or_else(|| ApiError::bad_request("kind", format!("must be one of {}", ImportKind::NAMES.join(", "))))?;
    let content_type = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("text/csv");
    let format = if content_type.contains("json") { Format::GeoJson } else { Format::Csv };
    let parsed = tokio::task::spawn_blocking(move || linli_import::parse_partial(kind, format, body.as_ref())).await.map_err(|_| ApiError::internal())?;
    let summary = linli_import::write(state.store.as_ref(), &actor.scope, parsed).await?;
    tracing::info!(kind = ?kind, inserted = summary.inserted, user = %actor.user.username, "import");
    Ok(axum::Json(summary))
}

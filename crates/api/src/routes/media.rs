//! `/media`: photos, snapshots and clips attached to events and orders, kept in a local folder
//! under their SHA-256 (so an upload repeated is stored once, and ids cannot be guessed).
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use linli_domain::governance::event::parse_media_id;
use linli_store::MediaInfo;
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Actor, ApiPath};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    // The size is checked while reading, to answer with the API's own error.
    OpenApiRouter::new().routes(routes!(upload_media)).routes(routes!(get_media)).layer(DefaultBodyLimit::disable())
}

/// Refuses anything but an image, video, audio or PDF, naming `field`.
pub(crate) fn check_media_type(field: &str, content_type: &str) -> ApiResult<()> {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if ["image/", "video/", "audio/"].iter().any(|p| essence.starts_with(p)) || essence == "application/pdf" {
        Ok(())
    } else {
        Err(ApiError::bad_request(field, format!("{content_type:?} is not an image, video, audio or PDF type")))
    }
}

/// Uploads one file (the request body, with its Content-Type: an image, video, audio or PDF).
/// Returns its id, to list in an event's `evidence` or an action's `attachments`.
#[utoipa::path(post, path = "/media", tag = "events", request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = MediaInfo), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
/// Every signed-in user may attach evidence.
pub async fn upload_media(State(state): State<AppState>, _actor: Actor, headers: HeaderMap, body: Body) -> ApiResult<(StatusCode, axum::Json<MediaInfo>)> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    check_media_type("content_type", &content_type)?;
    let max = state.max_media_bytes;
    let bytes = axum::body::to_bytes(body, max + 1).await.map_err(|_| ApiError::bad_request("file", format!("the attachment is larger than {max} bytes")))?;
    Ok((StatusCode::CREATED, axum::Json(store_media(&state, "file", &content_type, &bytes).await?)))
}

/// Keeps a file of a checked type (see [`check_media_type`]) in the media store under its SHA-256
/// and records it; `field` names the upload in errors.
pub(crate) async fn store_media(state: &AppState, field: &str, content_type: &str, bytes: &[u8]) -> ApiResult<MediaInfo> {
    let max = state.max_media_bytes;
    if bytes.len() > max {
        return Err(ApiError::bad_request(field, format!("the attachment is larger than {max} bytes")));
    }
    if bytes.is_empty() {
        return Err(ApiError::bad_request(field, "the attachment is empty"));
    }
    let id = format!("{:x}", Sha256::digest(bytes));
    let dir = state.media_dir.as_ref().clone();
    let path = dir.join(&id);
    // Written to a temporary name and renamed, so a crash never leaves a partial file under the id.
    let tmp = dir.join(format!(".{id}.{}", std::process::id()));
    let write = async {
        tokio::fs::create_dir_all(&dir).await?;
        tokio::fs::write(&tmp, bytes).await?;
        tokio::fs::rename(&tmp, &path).await
    };
    write.await.map_err(|e| {
        tracing::error!(error = %e, dir = %dir.display(), "media store write failed");
        ApiError::internal()
    })?;
    let info = MediaInfo { id, content_type: content_type.to_string(), size: bytes.len() as i64, created_at: state.now() };
    state.store.record_media(&info).await?;
    Ok(info)
}

/// Downloads a file. Ids are SHA-256 digests, unguessable, so links can be shared with
/// Open311 clients without a token.
#[utoipa::path(get, path = "/media/{id}", tag = "events", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = ErrorBody)))]
pub async fn get_media(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<Response> {
    let id = parse_media_id("id", &id)?;
    let info = state.store.get_media(&id).await?.ok_or_else(|| ApiError::not_found(format!("media {id:?} not found")))?;
    let bytes = tokio::fs::read(state.media_dir.join(&id)).await.map_err(|_| ApiError::not_found(format!("media {id:?} is missing from the media store")))?;
    Ok(([(header::CONTENT_TYPE, info.content_type)], bytes).into_response())
}

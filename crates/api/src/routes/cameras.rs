//! `/cameras`: the video analytics the server runs on camera devices — what each camera is asked to
//! watch (its source, a facade for thrown objects, scene rules) and what it is doing.
use axum::extract::State;
use axum::http::StatusCode;
use linli_domain::{Device, DeviceKind, Role};
use linli_store::{DevicePatch, Jurisdiction};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::cameras::{check_config, hide_credentials, CameraStatus, VIDEO_ATTRIBUTE};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Actor, ApiJson, ApiPath};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_cameras)).routes(routes!(get_camera)).routes(routes!(put_video, delete_video))
}

/// A camera device, what it is asked to watch, and what it is doing.
#[derive(Debug, Serialize, ToSchema)]
pub struct CameraView {
    pub device: Device,
    /// The video configuration, when the server watches this camera.
    #[schema(value_type = Option<Object>)]
    pub video: Option<serde_json::Value>,
    /// Absent until the server has picked the configuration up (within seconds).
    pub status: Option<CameraStatus>,
}

/// The cameras the server watches in the caller's jurisdiction, with their state.
#[utoipa::path(get, path = "/cameras", tag = "cameras",
    responses((status = 200, body = Vec<CameraStatus>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_cameras(State(state): State<AppState>, actor: Actor) -> ApiResult<axum::Json<Vec<CameraStatus>>> {
    actor.require(Role::edits_registry, "see the cameras' state")?;
    let mut visible = Vec::new();
    for status in state.cameras.statuses() {
        let in_scope = match state.store.get_device(&actor.scope, &status.code).await {
            Ok(_) => true,
            Err(linli_store::StoreError::NotFound { .. } | linli_store::StoreError::OutOfScope { .. }) => false,
            Err(error) => return Err(error.into()),
        };
        if in_scope {
            visible.push(status);
        }
    }
    Ok(axum::Json(visible))
}

/// One camera: the device, its video configuration and its state.
#[utoipa::path(get, path = "/cameras/{code}", tag = "cameras", params(("code" = String, Path)),
    responses((status = 200, body = CameraView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_camera(State(state): State<AppState>, actor: Actor, ApiPath(code): ApiPath<String>) -> ApiResult<axum::Json<CameraView>> {
    actor.require(Role::edits_registry, "see the cameras' state")?;
    let device = camera(&state, &actor.scope, &code).await?;
    Ok(axum::Json(view(&state, device)))
}

/// Sets what a camera watches, and starts (or restarts) watching it. The body:
/// `{"source": "/videos/gate.mp4" | "rtsp://user:password@host/path", "realtime": true, "repeat": false,
///   "throw": CALIB.json, "scene": {"rules": [...], "filters": {...}},
///   "detections": "file.jsonl" | "detector": {"model", "input_size", "classes", ...},
///   "clip_before_s": 3, "clip_after_s": 2}`; give `throw`, `scene` (with `detections` or a
/// `detector`), or both. Scene rules are those of `linli vision scene`, with an optional
/// `alarm_type` each (`illegal_parking`, `fire_lane_blocked`, `intrusion`, `crowd`). A device in
/// maintenance or decommissioned keeps its configuration but is not watched. A stream's
/// credentials are never shown back.
#[utoipa::path(put, path = "/cameras/{code}/video", tag = "cameras", params(("code" = String, Path)), request_body = Object,
    responses((status = 200, body = CameraView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_video(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<axum::Json<CameraView>> {
    actor.require(Role::configures_analytics, "configure cameras")?;
    let device = camera(&state, &actor.scope, &code).await?;
    let config = check_config(body).map_err(|e| ApiError::bad_request(&e.field, e.message))?;
    let mut attributes = device.attributes.clone();
    // Stored with every default spelled out, so what is shown is what runs.
    attributes.insert(VIDEO_ATTRIBUTE.into(), serde_json::to_value(&config).map_err(|_| ApiError::internal())?);
    let patch = DevicePatch { attributes: Some(attributes), ..Default::default() };
    let device = state.store.update_device(&actor.scope, &code, &patch).await?;
    state.cameras.restart(&code);
    Ok(axum::Json(view(&state, device)))
}

/// Stops watching a camera (the device stays registered).
#[utoipa::path(delete, path = "/cameras/{code}/video", tag = "cameras", params(("code" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_video(State(state): State<AppState>, actor: Actor, ApiPath(code): ApiPath<String>) -> ApiResult<StatusCode> {
    actor.require(Role::configures_analytics, "configure cameras")?;
    let device = camera(&state, &actor.scope, &code).await?;
    if device.attributes.contains_key(VIDEO_ATTRIBUTE) {
        let mut attributes = device.attributes;
        attributes.remove(VIDEO_ATTRIBUTE);
        let patch = DevicePatch { attributes: Some(attributes), ..Default::default() };
        state.store.update_device(&actor.scope, &code, &patch).await?;
        state.cameras.reload();
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The device, refused unless it is a camera.
async fn camera(state: &AppState, scope: &Jurisdiction, code: &str) -> ApiResult<Device> {
    let device = state.store.get_device(scope, code).await?;
    if device.kind != DeviceKind::Camera {
        return Err(ApiError::bad_request("code", format!("device {code:?} is a {}, not a camera", device.kind.as_str())));
    }
    Ok(device)
}

fn view(state: &AppState, mut device: Device) -> CameraView {
    hide_credentials(&mut device);
    let status = state.cameras.status(&device.code);
    let video = device.attributes.get(VIDEO_ATTRIBUTE).cloned();
    CameraView { device, video, status }
}

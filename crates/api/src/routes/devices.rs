//! `/devices`: cameras, gates, meters, bins, sensors, signal controllers, elevator monitors.
use axum::extract::State;
use axum::http::StatusCode;
use linli_domain::device::DeviceInput;
use linli_domain::{Attributes, Device, DeviceKind, DeviceStatus, NewDevice, Position, Role};
use linli_store::{DeviceFilter, DevicePatch, Page};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{code_param, double_option, search_param, spatial};
use crate::cameras::{hide_credentials, VIDEO_ATTRIBUTE};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{page_request, Actor, ApiJson, ApiPath, ApiQuery};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_devices, create_device)).routes(routes!(get_device, update_device, delete_device))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeviceQuery {
    /// camera, access_gate, smart_meter, smart_bin, parking_sensor, signal_controller, smoke_sensor, gas_sensor, water_leak_sensor, elevator_monitor or other.
    kind: Option<String>,
    /// online, offline, fault, maintenance or decommissioned.
    status: Option<String>,
    /// Only devices installed at this node or below it.
    within: Option<String>,
    /// Only devices owned by this organisation.
    owner: Option<String>,
    /// Substring of the name or code.
    q: Option<String>,
    /// `minLon,minLat,maxLon,maxLat`.
    bbox: Option<String>,
    /// `lon,lat` centre of a radius query.
    near: Option<String>,
    /// Radius in metres (default 500).
    radius: Option<f64>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Lists devices in the caller's jurisdiction.
#[utoipa::path(get, path = "/devices", tag = "devices", params(DeviceQuery),
    responses((status = 200, body = Page<Device>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_devices(State(state): State<AppState>, actor: Actor, ApiQuery(query): ApiQuery<DeviceQuery>) -> ApiResult<axum::Json<Page<Device>>> {
    let filter = DeviceFilter {
        kind: query.kind.as_deref().filter(|s| !s.is_empty()).map(|k| DeviceKind::parse("kind", k)).transpose()?,
        status: query.status.as_deref().filter(|s| !s.is_empty()).map(|k| DeviceStatus::parse("status", k)).transpose()?,
        within_code: code_param("within", query.within.as_deref())?,
        owner_org_code: code_param("owner", query.owner.as_deref())?,
        q: search_param(query.q.as_deref())?,
        spatial: spatial(query.bbox.as_deref(), query.near.as_deref(), query.radius)?,
    };
    let mut page = state.store.list_devices(&actor.scope, &filter, &page_request(query.limit, query.cursor.as_deref())?).await?;
    page.items.iter_mut().for_each(hide_credentials);
    Ok(axum::Json(page))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DeviceBody {
    code: String,
    name: String,
    kind: String,
    /// The node the device is installed at.
    region_code: String,
    /// Position; the node's position when absent.
    lon: Option<f64>,
    lat: Option<f64>,
    owner_org_code: Option<String>,
    /// Default offline until the device reports.
    status: Option<String>,
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    attributes: Attributes,
}

/// Registers a device.
#[utoipa::path(post, path = "/devices", tag = "devices", request_body = DeviceBody,
    responses((status = 201, body = Device), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_device(State(state): State<AppState>, actor: Actor, ApiJson(body): ApiJson<DeviceBody>) -> ApiResult<(StatusCode, axum::Json<Device>)> {
    actor.require(Role::edits_registry, "change the registry")?;
    check_video_attribute(&actor, &body.attributes)?;
    let new = NewDevice::parse(DeviceInput {
        code: Some(&body.code),
        name: Some(&body.name),
        kind: Some(&body.kind),
        region_code: Some(&body.region_code),
        lon: body.lon,
        lat: body.lat,
        owner_org_code: body.owner_org_code.as_deref(),
        status: body.status.as_deref(),
        attributes: body.attributes,
    })?;
    let mut device = state.store.create_device(&actor.scope, &new).await?;
    hide_credentials(&mut device);
    Ok((StatusCode::CREATED, axum::Json(device)))
}

/// One device.
#[utoipa::path(get, path = "/devices/{code}", tag = "devices", params(("code" = String, Path)),
    responses((status = 200, body = Device), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_device(State(state): State<AppState>, actor: Actor, ApiPath(code): ApiPath<String>) -> ApiResult<axum::Json<Device>> {
    let mut device = state.store.get_device(&actor.scope, &code).await?;
    hide_credentials(&mut device);
    Ok(axum::Json(device))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevicePatchBody {
    name: Option<String>,
    region_code: Option<String>,
    /// `{"lon": .., "lat": ..}`, or `null` to clear.
    #[serde(default, deserialize_with = "double_option")]
    position: Option<Option<Position>>,
    #[serde(default, deserialize_with = "double_option")]
    owner_org_code: Option<Option<String>>,
    status: Option<String>,
    #[schema(value_type = Option<Object>)]
    attributes: Option<Attributes>,
}

/// Changes a device.
#[utoipa::path(patch, path = "/devices/{code}", tag = "devices", params(("code" = String, Path)), request_body = DevicePatchBody,
    responses((status = 200, body = Device), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn update_device(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<DevicePatchBody>,
) -> ApiResult<axum::Json<Device>> {
    actor.require(Role::edits_registry, "change the registry")?;
    let current = state.store.get_device(&actor.scope, &code).await?;
    if let Some(attributes) = &body.attributes {
        // The video configuration goes through /cameras/{code}/video; a patch keeps it as it is.
        if attributes.get(VIDEO_ATTRIBUTE) != current.attributes.get(VIDEO_ATTRIBUTE) {
            check_video_attribute(&actor, attributes)?;
        }
    }
    let mut errors = linli_domain::Invalid::default();
    let patch = DevicePatch {
        name: body.name.as_deref().and_then(|n| errors.check(linli_domain::text::parse_name("name", n))),
        region_code: body.region_code.as_deref().and_then(|c| errors.check(linli_domain::text::parse_code("region_code", c))),
        position: body.position.map(|p| p.and_then(|p| errors.check(Position::parse("position", p.lon, p.lat)))),
        owner_org_code: body.owner_org_code.map(|o| o.and_then(|c| errors.check(linli_domain::text::parse_code("owner_org_code", &c)))),
        status: body.status.as_deref().and_then(|s| errors.check(DeviceStatus::parse("status", s))),
        last_seen_at: None,
        attributes: body.attributes,
    };
    errors.into_result()?;
    let mut device = state.store.update_device(&actor.scope, &code, &patch).await?;
    if device.attributes.get(VIDEO_ATTRIBUTE) != current.attributes.get(VIDEO_ATTRIBUTE) {
        state.cameras.restart(&code);
    }
    hide_credentials(&mut device);
    Ok(axum::Json(device))
}

/// Only those who may configure cameras may set what the server watches (it opens the source).
fn check_video_attribute(actor: &Actor, attributes: &Attributes) -> ApiResult<()> {
    if attributes.contains_key(VIDEO_ATTRIBUTE) && !Role::configures_analytics(actor.role()) {
        return Err(crate::error::ApiError::forbidden(format!("the {} role may not set attributes.video; see PUT /cameras/{{code}}/video", actor.role())));
    }
    Ok(())
}

/// Removes a device.
#[utoipa::path(delete, path = "/devices/{code}", tag = "devices", params(("code" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_device(State(state): State<AppState>, actor: Actor, ApiPath(code): ApiPath<String>) -> ApiResult<StatusCode> {
    actor.require(Role::edits_registry, "change the registry")?;
    state.store.delete_device(&actor.scope, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}

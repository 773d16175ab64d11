//! `/regions`: the hierarchy from city to dwelling.
use axum::extract::State;
use axum::http::StatusCode;
use linli_domain::region::{RegionInput, RegionPatch};
use linli_domain::{Attributes, Geometry, Level, NewRegion, Region, Role};
use linli_store::{Page, RegionFilter};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{code_param, double_option, search_param, spatial};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{page_request, Actor, ApiJson, ApiPath, ApiQuery};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_regions, create_region))
        .routes(routes!(get_region, update_region, delete_region))
        .routes(routes!(region_ancestors))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RegionQuery {
    /// city, district, street, town, community, village, grid, building, unit or dwelling (or the Chinese term).
    level: Option<String>,
    /// Only direct children of this node.
    parent: Option<String>,
    /// Only this node and everything below it.
    within: Option<String>,
    /// Substring of the name or code.
    q: Option<String>,
    /// `minLon,minLat,maxLon,maxLat` (WGS84).
    bbox: Option<String>,
    /// `lon,lat` centre of a radius query.
    near: Option<String>,
    /// Radius in metres around `near` (default 500, at most 100000).
    radius: Option<f64>,
    /// Page size, 1 to 1000 (default 50).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Lists nodes in the caller's jurisdiction, filtered and paginated.
#[utoipa::path(get, path = "/regions", tag = "regions", params(RegionQuery),
    responses((status = 200, body = Page<Region>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_regions(State(state): State<AppState>, actor: Actor, ApiQuery(query): ApiQuery<RegionQuery>) -> ApiResult<axum::Json<Page<Region>>> {
    let filter = RegionFilter {
        level: query.level.as_deref().filter(|l| !l.is_empty()).map(|l| Level::parse("level", l)).transpose()?,
        parent_code: code_param("parent", query.parent.as_deref())?,
        within_code: code_param("within", query.within.as_deref())?,
        q: search_param(query.q.as_deref())?,
        spatial: spatial(query.bbox.as_deref(), query.near.as_deref(), query.radius)?,
    };
    let page = page_request(query.limit, query.cursor.as_deref())?;
    Ok(axum::Json(state.store.list_regions(&actor.scope, &filter, &page).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegionBody {
    code: String,
    level: String,
    name: String,
    parent_code: Option<String>,
    /// A GeoJSON Point, Polygon or MultiPolygon in WGS84.
    #[schema(value_type = Option<Object>)]
    geometry: Option<Value>,
    /// Longitude, as an alternative to a Point geometry.
    lon: Option<f64>,
    lat: Option<f64>,
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    attributes: Attributes,
}

/// Creates a node under a parent in the caller's jurisdiction.
#[utoipa::path(post, path = "/regions", tag = "regions", request_body = RegionBody,
    responses((status = 201, body = Region), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_region(State(state): State<AppState>, actor: Actor, ApiJson(body): ApiJson<RegionBody>) -> ApiResult<(StatusCode, axum::Json<Region>)> {
    actor.require(Role::edits_registry, "change the registry")?;
    let new = NewRegion::parse(RegionInput {
        code: Some(&body.code),
        level: Some(&body.level),
        name: Some(&body.name),
        parent_code: body.parent_code.as_deref(),
        geometry: body.geometry.as_ref(),
        lon: body.lon,
        lat: body.lat,
        attributes: body.attributes,
    })?;
    Ok((StatusCode::CREATED, axum::Json(state.store.create_region(&actor.scope, &new).await?)))
}

/// One node.
#[utoipa::path(get, path = "/regions/{code}", tag = "regions", params(("code" = String, Path)),
    responses((status = 200, body = Region), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_region(State(state): State<AppState>, actor: Actor, ApiPath(code): ApiPath<String>) -> ApiResult<axum::Json<Region>> {
    Ok(axum::Json(state.store.get_region(&actor.scope, &code).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionPatchBody {
    name: Option<String>,
    /// Moves the node (and everything below it) under another parent.
    parent_code: Option<String>,
    /// A new GeoJSON geometry, or `null` to remove it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Object>)]
    geometry: Option<Option<Value>>,
    #[schema(value_type = Option<Object>)]
    attributes: Option<Attributes>,
}

/// Changes a node's name, geometry or attributes, or moves it under another parent.
#[utoipa::path(patch, path = "/regions/{code}", tag = "regions", params(("code" = String, Path)), request_body = RegionPatchBody,
    responses((status = 200, body = Region), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn update_region(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<RegionPatchBody>,
) -> ApiResult<axum::Json<Region>> {
    actor.require(Role::edits_registry, "change the registry")?;
    let patch = RegionPatch {
        name: body.name.as_deref().map(|n| linli_domain::text::parse_name("name", n)).transpose()?,
        parent_code: code_param("parent_code", body.parent_code.as_deref())?,
        geometry: match body.geometry {
            Some(Some(g)) => Some(Some(Geometry::parse("geometry", &g)?)),
            Some(None) => Some(None),
            None => None,
        },
        attributes: body.attributes,
    };
    Ok(axum::Json(state.store.update_region(&actor.scope, &code, &patch).await?))
}

/// Deletes a node that has nothing attached.
#[utoipa::path(delete, path = "/regions/{code}", tag = "regions", params(("code" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_region(State(state): State<AppState>, actor: Actor, ApiPath(code): ApiPath<String>) -> ApiResult<StatusCode> {
    actor.require(Role::edits_registry, "change the registry")?;
    state.store.delete_region(&actor.scope, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The chain from the top of the caller's jurisdiction down to the node.
#[utoipa::path(get, path = "/regions/{code}/ancestors", tag = "regions", params(("code" = String, Path)),
    responses((status = 200, body = Vec<Region>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn region_ancestors(State(state): State<AppState>, actor: Actor, ApiPath(code): ApiPath<String>) -> ApiResult<axum::Json<Vec<Region>>> {
    Ok(axum::Json(state.store.region_ancestors(&actor.scope, &code).await?))
}

//! The configuration of the closed loop: the taxonomy, settings (merging, rules, time limits,
//! whistle deadlines, rate formulas), the business calendar and the routing table.
use axum::extract::State;
use axum::http::StatusCode;
use linli_domain::governance::calendar::{parse_date, CalendarDay, DayKind};
use linli_domain::governance::settings::Settings;
use linli_domain::governance::taxonomy::{self, check_taxonomy, Category};
use linli_domain::Role;
use linli_store::Route;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Actor, ApiJson, ApiPath, ApiQuery};
use crate::workflow::{SETTINGS_KEY, TAXONOMY_KEY};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_taxonomy, put_taxonomy))
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(get_calendar))
        .routes(routes!(put_calendar_day, delete_calendar_day))
        .routes(routes!(list_routes, put_route, delete_route))
}

/// The taxonomy of problem categories (Open311's services).
#[utoipa::path(get, path = "/taxonomy", tag = "config", responses((status = 200, body = Vec<Category>)), security(("bearer" = [])))]
pub async fn get_taxonomy(State(state): State<AppState>, _actor: Actor) -> ApiResult<axum::Json<Vec<Category>>> {
    Ok(axum::Json(state.taxonomy().await?))
}

/// Replaces the taxonomy (administrators).
#[utoipa::path(put, path = "/taxonomy", tag = "config", request_body = Vec<Category>,
    responses((status = 200, body = Vec<Category>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn put_taxonomy(State(state): State<AppState>, actor: Actor, ApiJson(categories): ApiJson<Vec<Category>>) -> ApiResult<axum::Json<Vec<Category>>> {
    actor.require(Role::administers, "change the taxonomy")?;
    check_taxonomy(&categories)?;
    state.store.put_setting(TAXONOMY_KEY, &serde_json::to_string(&categories).expect("categories serialize"), state.now()).await?;
    Ok(axum::Json(categories))
}

/// The settings in force.
#[utoipa::path(get, path = "/settings", tag = "config", responses((status = 200, body = Settings)), security(("bearer" = [])))]
pub async fn get_settings(State(state): State<AppState>, _actor: Actor) -> ApiResult<axum::Json<Settings>> {
    Ok(axum::Json(state.settings().await?))
}

/// Replaces the settings (administrators); a section left out returns to its default.
#[utoipa::path(put, path = "/settings", tag = "config", request_body = Settings,
    responses((status = 200, body = Settings), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn put_settings(State(state): State<AppState>, actor: Actor, ApiJson(settings): ApiJson<Settings>) -> ApiResult<axum::Json<Settings>> {
    actor.require(Role::administers, "change the settings")?;
    settings.check()?;
    state.store.put_setting(SETTINGS_KEY, &serde_json::to_string(&settings).expect("settings serialize"), state.now()).await?;
    Ok(axum::Json(settings))
}

/// The listed days of the business calendar: holidays and make-up working days. Other days work
/// Monday to Friday.
#[utoipa::path(get, path = "/calendar", tag = "config", responses((status = 200, body = Vec<CalendarDay>)), security(("bearer" = [])))]
pub async fn get_calendar(State(state): State<AppState>, _actor: Actor) -> ApiResult<axum::Json<Vec<CalendarDay>>> {
    Ok(axum::Json(state.store.calendar_days().await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CalendarDayBody {
    /// holiday or workday.
    pub kind: String,
    #[serde(default)]
    pub name: String,
}

/// Lists a date as a holiday or a make-up working day (administrators).
#[utoipa::path(put, path = "/calendar/{date}", tag = "config", params(("date" = String, Path, description = "YYYY-MM-DD")), request_body = CalendarDayBody,
    responses((status = 200, body = CalendarDay), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn put_calendar_day(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(date): ApiPath<String>,
    ApiJson(body): ApiJson<CalendarDayBody>,
) -> ApiResult<axum::Json<CalendarDay>> {
    actor.require(Role::administers, "edit the calendar")?;
    parse_date("date", &date)?;
    let name = linli_domain::governance::event::parse_text("name", Some(&body.name), 100)?.unwrap_or_default();
    let day = CalendarDay { date, kind: DayKind::parse("kind", &body.kind)?, name };
    state.store.put_calendar_day(&day).await?;
    Ok(axum::Json(day))
}

/// Removes a date from the calendar (administrators).
#[utoipa::path(delete, path = "/calendar/{date}", tag = "config", params(("date" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_calendar_day(State(state): State<AppState>, actor: Actor, ApiPath(date): ApiPath<String>) -> ApiResult<StatusCode> {
    actor.require(Role::administers, "edit the calendar")?;
    state.store.delete_calendar_day(&date).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The routing table: which organisation handles a category where (defaults: the taxonomy's).
#[utoipa::path(get, path = "/routes", tag = "config", responses((status = 200, body = Vec<Route>)), security(("bearer" = [])))]
pub async fn list_routes(State(state): State<AppState>, actor: Actor) -> ApiResult<axum::Json<Vec<Route>>> {
    Ok(axum::Json(state.store.list_routes(&actor.scope).await?))
}

fn may_route(role: Role) -> bool {
    matches!(role, Role::Admin | Role::DistrictDispatcher | Role::StreetDispatcher | Role::Leader)
}

/// Sets the organisation for a category at and below a node.
#[utoipa::path(put, path = "/routes", tag = "config", request_body = Route,
    responses((status = 200, body = Route), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn put_route(State(state): State<AppState>, actor: Actor, ApiJson(route): ApiJson<Route>) -> ApiResult<axum::Json<Route>> {
    actor.require(may_route, "edit the routing table")?;
    taxonomy::find(&state.taxonomy().await?, "category", &route.category)?;
    state.store.put_route(&actor.scope, &route).await?;
    Ok(axum::Json(route))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RouteKey {
    category: String,
    region_code: String,
}

/// Removes a routing entry.
#[utoipa::path(delete, path = "/routes", tag = "config", params(RouteKey),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_route(State(state): State<AppState>, actor: Actor, ApiQuery(key): ApiQuery<RouteKey>) -> ApiResult<StatusCode> {
    actor.require(may_route, "edit the routing table")?;
    if key.category.is_empty() {
        return Err(ApiError::bad_request("category", "is required"));
    }
    state.store.delete_route(&actor.scope, &key.category, &key.region_code).await?;
    Ok(StatusCode::NO_CONTENT)
}

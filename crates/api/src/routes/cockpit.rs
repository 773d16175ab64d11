//! `/cockpit`: what the leadership cockpit (大屏) shows of a place in one request — today's orders
//! and events, the month's three rates, each area below it, trends and device health.
use axum::extract::State;
use linli_domain::governance::calendar::{beijing_day_start, beijing_month_start};
use linli_domain::governance::rates::{three_rates, ThreeRates};
use linli_domain::{Region, Role};
use linli_store::{PageRequest, RateQuery, RegionFilter, Situation, SituationQuery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::code_param;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Actor, ApiQuery};
use crate::AppState;

const DAY_MS: i64 = 86_400_000;
/// The trend covers this many days, today included.
const TREND_DAYS: i64 = 14;
/// At most this many areas are broken down (a district's streets, a street's communities).
const MAX_AREAS: u32 = 64;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_cockpit))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CockpitQuery {
    /// The place: a node in the caller's jurisdiction; the top of the jurisdiction when absent.
    region: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CockpitReport {
    /// The place shown, `null` for everywhere (an administrator bound to nothing).
    pub region: Option<Region>,
    /// The nodes directly below it (streets of a district, communities of a street), with their
    /// geometry and counts.
    pub areas: Vec<CockpitArea>,
    #[serde(flatten)]
    pub situation: Situation,
    /// The three rates over orders created this month.
    pub rates: ThreeRates,
    #[serde(with = "linli_domain::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CockpitArea {
    #[serde(flatten)]
    pub region: Region,
    pub orders_open: i64,
    pub orders_overdue: i64,
    pub events_today: i64,
}

/// The cockpit's figures for a place: orders today, open and overdue; events today by category
/// and scene (the scene counters); orders per day and category for two weeks; the three rates this month; the same counts
/// for each area below; devices by kind and status.
#[utoipa::path(get, path = "/cockpit", tag = "rates", params(CockpitQuery),
    responses((status = 200, body = CockpitReport), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_cockpit(State(state): State<AppState>, actor: Actor, ApiQuery(query): ApiQuery<CockpitQuery>) -> ApiResult<axum::Json<CockpitReport>> {
    actor.require(Role::reads_people, "open the cockpit")?;
    let now = state.now();
    let code = code_param("region", query.region.as_deref())?.or_else(|| actor.scope.root_code().map(str::to_string));
    let region = match &code {
        Some(code) => Some(state.store.get_region(&actor.scope, code).await?),
        None => None,
    };
    let areas = match &region {
        Some(region) => {
            let filter = RegionFilter { parent_code: Some(region.code.clone()), ..Default::default() };
            state.store.list_regions(&actor.scope, &filter, &PageRequest { limit: MAX_AREAS, after: None }).await?.items
        }
        None => {
            let filter = RegionFilter { level: Some(linli_domain::Level::District), ..Default::default() };
            state.store.list_regions(&actor.scope, &filter, &PageRequest { limit: MAX_AREAS, after: None }).await?.items
        }
    };
    let day_start = beijing_day_start(now);
    let situation_query = SituationQuery {
        within_code: code.clone(),
        day_start,
        trend_from: day_start - (TREND_DAYS - 1) * DAY_MS,
        areas: areas.iter().map(|a| a.code.clone()).collect(),
    };
    let mut situation = state.store.situation(&actor.scope, &situation_query).await?;
    let counts = std::mem::take(&mut situation.areas);
    let areas = areas
        .into_iter()
        .zip(counts)
        .map(|(region, c)| CockpitArea { region, orders_open: c.orders_open, orders_overdue: c.orders_overdue, events_today: c.events_today })
        .collect();
    let counts =
        state.store.rate_counts(&actor.scope, &RateQuery { within_code: code, org_code: None, from: beijing_month_start(now), to: now + 1, now }).await?;
    let formula = state.settings().await?.rates;
    Ok(axum::Json(CockpitReport { region, areas, situation, rates: three_rates(counts, &formula), at: now }))
}

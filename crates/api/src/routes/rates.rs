//! `/rates`: the three rates (响应率, 解决率, 满意率) per region, organisation and period.
use axum::extract::State;
use linli_domain::governance::calendar::beijing_month_start;
use linli_domain::governance::rates::{three_rates, ThreeRates};
use linli_domain::governance::settings::RateFormula;
use linli_domain::Role;
use linli_store::RateQuery;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::code_param;
use super::events::time_param;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Actor, ApiQuery};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_rates))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RatesQuery {
    /// Orders located at this node or below; the caller's jurisdiction when absent.
    region: Option<String>,
    /// Orders handled by this organisation.
    org: Option<String>,
    /// Start of the period: `YYYY-MM-DD` (Beijing) or RFC 3339; the first of this month by default.
    from: Option<String>,
    /// End of the period, exclusive: `YYYY-MM-DD` (Beijing) or RFC 3339; now by default.
    to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RatesReport {
    pub region: Option<String>,
    pub org: Option<String>,
    #[serde(with = "linli_domain::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub from: i64,
    #[serde(with = "linli_domain::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub to: i64,
    #[serde(flatten)]
    pub rates: ThreeRates,
    /// The weights in force (PUT /settings changes them).
    pub formula: RateFormula,
}

/// The three rates over orders created in a period (terminated orders do not count). Formulas:
/// 响应率 = responded within the response limit ÷ orders due; 解决率 = confirmed solved ÷ called
/// back; 满意率 = (满意 + 基本满意) ÷ rated — each weighted as `/settings` says; the latest callback
/// of an order counts.
#[utoipa::path(get, path = "/rates", tag = "rates", params(RatesQuery),
    responses((status = 200, body = RatesReport), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_rates(State(state): State<AppState>, actor: Actor, ApiQuery(query): ApiQuery<RatesQuery>) -> ApiResult<axum::Json<RatesReport>> {
    actor.require(Role::reads_people, "read the three rates")?;
    let now = state.now();
    let to = time_param("to", query.to.as_deref())?.unwrap_or(now + 1);
    let from = match time_param("from", query.from.as_deref())? {
        Some(from) => from,
        None => beijing_month_start(now),
    };
    if from >= to {
        return Err(ApiError::bad_request("from", "must be before to"));
    }
    let region = code_param("region", query.region.as_deref())?;
    let org = code_param("org", query.org.as_deref())?;
    let counts = state.store.rate_counts(&actor.scope, &RateQuery { within_code: region.clone(), org_code: org.clone(), from, to, now }).await?;
    let formula = state.settings().await?.rates;
    Ok(axum::Json(RatesReport { region, org, from, to, rates: three_rates(counts, &formula), formula }))
}

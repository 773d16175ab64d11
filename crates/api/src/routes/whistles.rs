//! `/whistles`: 吹哨报到. A street or community summons departments to a problem; each reports
//! (acknowledges, checks in on site, records what it did) against a deadline.
use axum::extract::State;
use axum::http::StatusCode;
use linli_domain::governance::event::parse_text;
use linli_domain::governance::order::{ActorRef, HistoryEntry};
use linli_domain::governance::rates::ReportRate;
use linli_domain::governance::whistle::{self, may_blow, Report, Summons, WhistleUrgency};
use linli_domain::governance::Whistle;
use linli_domain::{InvalidField, Position, Role};
use linli_store::{Page, WhistleFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::code_param;
use super::events::time_param;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{page_request, Actor, ApiJson, ApiPath, ApiQuery};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_whistles, blow_whistle))
        .routes(routes!(get_whistle))
        .routes(routes!(report))
        .routes(routes!(close_whistle))
        .routes(routes!(report_rates))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WhistleBody {
    pub title: String,
    pub note: Option<String>,
    /// emergency (arrive within 30 min by default) or routine (within 24 h).
    pub urgency: String,
    /// The organisations summoned.
    pub departments: Vec<String>,
    /// Overrides the default deadline (RFC 3339, in the future).
    pub deadline: Option<String>,
    /// The place; the order's place, else the caller's node, when absent.
    pub region_code: Option<String>,
    pub order_id: Option<i64>,
    pub incident_id: Option<i64>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
}

/// Blows the whistle: summons departments to a problem with a deadline to report.
#[utoipa::path(post, path = "/whistles", tag = "whistles", request_body = WhistleBody,
    responses((status = 201, body = Whistle), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn blow_whistle(State(state): State<AppState>, actor: Actor, ApiJson(body): ApiJson<WhistleBody>) -> ApiResult<(StatusCode, axum::Json<Whistle>)> {
    actor.require(may_blow, "blow the whistle")?;
    let (whistle, entry) = prepare_whistle(&state, &actor, body).await?;
    Ok((StatusCode::CREATED, axum::Json(state.store.create_whistle(&actor.scope, &whistle, &[entry]).await?)))
}

/// Validates a whistle's fields and builds it, led by the caller's unit, with its `summoned` entry.
pub(crate) async fn prepare_whistle(state: &AppState, actor: &Actor, body: WhistleBody) -> ApiResult<(Whistle, HistoryEntry)> {
    let now = state.now();
    let settings = state.settings().await?;
    let mut errors = linli_domain::Invalid::default();
    let title = errors.check(linli_domain::text::parse_name("title", &body.title));
    let note = errors.check(parse_text("note", body.note.as_deref(), 2000)).flatten();
    let urgency = errors.check(WhistleUrgency::parse("urgency", &body.urgency));
    let asked = body.deadline.as_deref().and_then(|d| errors.check(linli_domain::time::parse_rfc3339("deadline", d)));
    let position = match (body.lon, body.lat) {
        (Some(lon), Some(lat)) => errors.check(Position::parse("lon", lon, lat)),
        (None, None) => None,
        _ => errors.check(Err(InvalidField::new("lat", "lon and lat go together"))),
    };
    if body.departments.is_empty() {
        errors.push("departments", "summon at least one department");
    }
    let mut codes = Vec::new();
    for (i, code) in body.departments.iter().enumerate() {
        if let Some(code) = errors.check(linli_domain::text::parse_code(&format!("departments[{i}]"), code)) {
            if codes.contains(&code) {
                errors.push(format!("departments[{i}]"), format!("{code:?} is listed twice"));
            }
            codes.push(code);
        }
    }
    errors.into_result()?;
    let (Some(title), Some(urgency)) = (title, urgency) else { unreachable!("checked above") };
    let deadline = whistle::deadline(now, urgency, asked, &settings.whistle)?;
    let order = match body.order_id {
        Some(id) => Some(state.store.get_order(&actor.scope, id).await?),
        None => None,
    };
    if let Some((_, false)) = &order {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "out_of_jurisdiction", "that order is outside your jurisdiction"));
    }
    let incident = match body.incident_id {
        Some(id) => Some(state.store.get_incident(&actor.scope, id).await?),
        None => None,
    };
    let region_code = match (&body.region_code, &order, &incident, &actor.user.region_code) {
        (Some(code), ..) => linli_domain::text::parse_code("region_code", code)?,
        (None, Some((order, _)), ..) => order.region_code.clone(),
        (None, None, Some(incident), _) => incident.region_code.clone(),
        (None, None, None, Some(own)) => own.clone(),
        _ => return Err(ApiError::bad_request("region_code", "is required")),
    };
    let lead = state.unit_of(&actor.user).await?.ok_or_else(|| ApiError::forbidden("your account is bound to no unit to lead a whistle"))?;
    let mut summons = Vec::new();
    for (i, code) in codes.iter().enumerate() {
        let org = state.org_unit(&format!("departments[{i}]"), code).await?;
        summons.push(Summons { org, acknowledged_at: None, checked_in_at: None, check_in_position: None, action: None, on_time: None });
    }
    let whistle = Whistle {
        id: 0,
        version: 1,
        title,
        note: note.clone(),
        urgency,
        status: "open".into(),
        region_code,
        position: position.or(order.as_ref().and_then(|(o, _)| o.position)),
        order_id: body.order_id,
        incident_id: body.incident_id.or(order.as_ref().and_then(|(o, _)| o.incident_id)),
        lead,
        blown_by: ActorRef::of(&actor.user),
        created_at: now,
        deadline,
        closed_at: None,
        summons,
    };
    let mut entry = HistoryEntry::new(now, "summoned", Some(ActorRef::of(&actor.user)));
    entry.note = note;
    entry.data = serde_json::json!({ "departments": codes, "deadline": linli_domain::time::format_rfc3339(deadline) });
    Ok((whistle, entry))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WhistleView {
    #[serde(flatten)]
    pub whistle: Whistle,
    pub history: Vec<HistoryEntry>,
}

fn may_see(actor: &Actor, whistle: &Whistle, covered: bool) -> bool {
    covered || whistle.lead.has_member(&actor.user) || whistle.summons.iter().any(|s| s.org.has_member(&actor.user))
}

/// One whistle with its history.
#[utoipa::path(get, path = "/whistles/{id}", tag = "whistles", params(("id" = i64, Path)),
    responses((status = 200, body = WhistleView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_whistle(State(state): State<AppState>, actor: Actor, ApiPath(id): ApiPath<i64>) -> ApiResult<axum::Json<WhistleView>> {
    let (whistle, covered) = state.store.get_whistle(&actor.scope, id).await?;
    if !may_see(&actor, &whistle, covered) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "out_of_jurisdiction", format!("whistle {id} is outside your jurisdiction")));
    }
    let history = state.store.history("whistle", id).await?;
    Ok(axum::Json(WhistleView { whistle, history }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WhistleQuery {
    within: Option<String>,
    /// open or closed.
    status: Option<String>,
    /// Only whistles summoning this organisation.
    org: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Lists whistles in the caller's jurisdiction, newest first.
#[utoipa::path(get, path = "/whistles", tag = "whistles", params(WhistleQuery),
    responses((status = 200, body = Page<Whistle>), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_whistles(State(state): State<AppState>, actor: Actor, ApiQuery(query): ApiQuery<WhistleQuery>) -> ApiResult<axum::Json<Page<Whistle>>> {
    actor.require(Role::reads_people, "list whistles")?;
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s @ ("open" | "closed")) => Some(s.to_string()),
        Some(_) => return Err(ApiError::bad_request("status", "must be open or closed")),
        None => None,
    };
    let filter = WhistleFilter { within_code: code_param("within", query.within.as_deref())?, status, org_code: code_param("org", query.org.as_deref())? };
    Ok(axum::Json(state.store.list_whistles(&actor.scope, &filter, &page_request(query.limit, query.cursor.as_deref())?).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    /// acknowledge, check_in (with lon and lat: arrival on site, judged against the deadline) or record (what was done).
    pub step: String,
    /// The reporting department; the caller's organisation when absent.
    pub org_code: Option<String>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub note: Option<String>,
    /// For `record`: what the department did.
    pub action: Option<String>,
}

/// A summoned department reports (报到).
#[utoipa::path(post, path = "/whistles/{id}/reports", tag = "whistles", params(("id" = i64, Path)), request_body = ReportBody,
    responses((status = 200, body = Whistle), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn report(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ReportBody>,
) -> ApiResult<axum::Json<Whistle>> {
    let org_code = match (&body.org_code, &actor.user.org_code) {
        (Some(code), _) => linli_domain::text::parse_code("org_code", code)?,
        (None, Some(own)) => own.clone(),
        (None, None) => return Err(ApiError::bad_request("org_code", "is required: your account belongs to no organisation")),
    };
    if actor.user.org_code.as_deref() != Some(org_code.as_str()) && actor.role() != Role::Admin {
        return Err(ApiError::forbidden(format!("only staff of {org_code} may report for it")));
    }
    let note = parse_text("note", body.note.as_deref(), 2000)?;
    let step = match body.step.as_str() {
        "acknowledge" => Report::Acknowledge { note },
        "check_in" => {
            let (Some(lon), Some(lat)) = (body.lon, body.lat) else {
                return Err(ApiError::bad_request("lon", "check_in needs lon and lat of the place reached"));
            };
            Report::CheckIn { position: Position::parse("lon", lon, lat)?, note }
        }
        "record" => {
            let action = parse_text("action", body.action.as_deref().or(body.note.as_deref()), 4000)?;
            Report::Record { action: action.ok_or_else(|| ApiError::bad_request("action", "is required to record what was done"))? }
        }
        other => return Err(ApiError::bad_request("step", format!("unknown step {other:?}; expected acknowledge, check_in or record"))),
    };
    let now = state.now();
    let who = ActorRef::of(&actor.user);
    let decide = move |whistle: &Whistle, _: bool| {
        let mut next = whistle.clone();
        let entry = whistle::report(&mut next, &org_code, step.clone(), now, who.clone()).map_err(|why| ApiError::conflict("refused", why).refuse())?;
        Ok((next, vec![entry]))
    };
    let (whistle, _) = state.store.update_whistle(&actor.scope, id, &decide).await?;
    Ok(axum::Json(whistle))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CloseBody {
    pub note: Option<String>,
}

/// The lead closes the whistle once every department has reported.
#[utoipa::path(post, path = "/whistles/{id}/close", tag = "whistles", params(("id" = i64, Path)), request_body = CloseBody,
    responses((status = 200, body = Whistle), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn close_whistle(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<CloseBody>,
) -> ApiResult<axum::Json<Whistle>> {
    let note = parse_text("note", body.note.as_deref(), 2000)?;
    let now = state.now();
    let user = actor.user.clone();
    let decide = move |whistle: &Whistle, _: bool| {
        let mut next = whistle.clone();
        let entry = whistle::close(&mut next, now, &user, note.clone()).map_err(|why| {
            if why.starts_with("only") {
                ApiError::forbidden(why).refuse()
            } else {
                ApiError::conflict("refused", why).refuse()
            }
        })?;
        Ok((next, vec![entry]))
    };
    let (whistle, _) = state.store.update_whistle(&actor.scope, id, &decide).await?;
    Ok(axum::Json(whistle))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportRateQuery {
    /// One organisation; every summoned one when absent.
    org: Option<String>,
    /// RFC 3339 or `YYYY-MM-DD` (midnight in Beijing); default 30 days ago.
    from: Option<String>,
    /// RFC 3339 or `YYYY-MM-DD` (midnight in Beijing); default now.
    to: Option<String>,
}

/// On-time report rates of summoned departments: checked in by the deadline ÷ summons due.
#[utoipa::path(get, path = "/whistles/report-rates", tag = "whistles", params(ReportRateQuery),
    responses((status = 200, body = Vec<ReportRate>), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn report_rates(State(state): State<AppState>, actor: Actor, ApiQuery(query): ApiQuery<ReportRateQuery>) -> ApiResult<axum::Json<Vec<ReportRate>>> {
    actor.require(Role::reads_people, "read report rates")?;
    let now = state.now();
    let to = time_param("to", query.to.as_deref())?.unwrap_or(now + 1);
    let from = time_param("from", query.from.as_deref())?.unwrap_or(to - 30 * 86_400_000);
    let org = code_param("org", query.org.as_deref())?;
    Ok(axum::Json(state.store.report_rates(&actor.scope, org.as_deref(), from, to, now).await?))
}

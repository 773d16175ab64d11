//! `/events` and `/incidents`: every report of a problem, whatever its source, and the incidents
//! that merge reports of one problem. Recording an event may open a work order (see the rules in
//! `/settings`).
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use linli_domain::governance::event::{Event, EventInput, Incident, NewEvent};
use linli_domain::governance::order::{open_order, OrderSeed};
use linli_domain::governance::settings::matching_rule;
use linli_domain::governance::{taxonomy, EventSource};
use linli_domain::{Attributes, Level, Position, Role};
use linli_store::{EventFilter, EventOutcome, Jurisdiction, NewEventRecord, Page, RegionFilter, SpatialFilter};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::code_param;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{page_request, Actor, ApiJson, ApiPath, ApiQuery};
use crate::workflow::mask_reporter;
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_events, create_event)).routes(routes!(get_event)).routes(routes!(get_incident))
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct EventBody {
    /// hotline_12345, resident_app, open311, grid_patrol, camera_ai, iot, analytics or whistle.
    /// Residents always report as resident_app.
    pub source: Option<String>,
    /// A taxonomy code (GET /taxonomy).
    pub category: Option<String>,
    /// The node where it happened; found from lon/lat when absent.
    pub region_code: Option<String>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub address: Option<String>,
    /// RFC 3339; now when absent.
    pub occurred_at: Option<String>,
    /// info, minor (default), major or critical.
    pub severity: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
    /// Media ids from POST /media.
    #[serde(default)]
    pub evidence: Vec<String>,
    /// The source's own id; a repeat from the same source is answered with the first record.
    pub external_id: Option<String>,
    pub device_code: Option<String>,
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    pub attributes: Attributes,
}

/// Places coordinates in the registry: the nearest community (or, failing that, street) around them.
pub(crate) async fn locate(state: &AppState, position: Position) -> ApiResult<String> {
    for (level, radius_m) in [(Level::Community, 3_000.0), (Level::Street, 15_000.0), (Level::District, 60_000.0)] {
        let filter = RegionFilter {
            level: Some(level),
            spatial: SpatialFilter { bbox: None, near: Some(linli_domain::geo::Near { center: position, radius_m }) },
            ..Default::default()
        };
        let page = state.store.list_regions(&Jurisdiction::everywhere(), &filter, &linli_store::PageRequest::first(500)).await?;
        let nearest = page.items.into_iter().filter_map(|r| r.position.map(|p| (p.distance_m(position), r.code))).min_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((_, code)) = nearest {
            return Ok(code);
        }
    }
    Err(ApiError::bad_request("location", "the coordinates lie outside every area in the registry; give region_code"))
}

/// Checks every media id names an uploaded file.
pub(crate) async fn check_media(state: &AppState, field: &str, ids: &[String]) -> ApiResult<()> {
    for (i, id) in ids.iter().enumerate() {
        if state.store.get_media(id).await?.is_none() {
            return Err(ApiError::bad_request(&format!("{field}[{i}]"), format!("no media {id:?} was uploaded")));
        }
    }
    Ok(())
}

pub(crate) fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(value) => {
            let key = value.to_str().map_err(|_| ApiError::bad_request("Idempotency-Key", "must be visible ASCII"))?.trim();
            if key.is_empty() || key.len() > 200 {
                return Err(ApiError::bad_request("Idempotency-Key", "must be 1 to 200 characters"));
            }
            Ok(Some(key.to_string()))
        }
    }
}

/// Records an event as `actor`; shared by the API, Open311 and whistles.
pub(crate) async fn record(state: &AppState, actor: Option<&Actor>, body: EventBody, key: Option<String>) -> ApiResult<EventOutcome> {
    let now = state.now();
    let categories = state.taxonomy().await?;
    let settings = state.settings().await?;
    let resident = actor.is_some_and(|a| a.role() == Role::Resident);
    let source = if resident { Some("resident_app") } else { body.source.as_deref() };
    let mut event = NewEvent::parse(
        EventInput {
            source,
            category: body.category.as_deref(),
            region_code: body.region_code.as_deref(),
            lon: body.lon,
            lat: body.lat,
            address: body.address.as_deref(),
            occurred_at: body.occurred_at.as_deref(),
            severity: body.severity.as_deref(),
            title: body.title.as_deref(),
            description: body.description.as_deref(),
            reporter_name: body.reporter_name.as_deref(),
            reporter_phone: body.reporter_phone.as_deref(),
            evidence: body.evidence,
            external_id: body.external_id.as_deref(),
            device_code: body.device_code.as_deref(),
            attributes: body.attributes,
        },
        &categories,
        now,
    )?;
    check_media(state, "evidence", &event.evidence).await?;
    if resident {
        event.reporter.user_id = actor.map(|a| a.user.id);
    }
    let region_code = match (&event.region_code, event.position) {
        (Some(code), _) => code.clone(),
        (None, Some(position)) => locate(state, position).await?,
        (None, None) => return Err(ApiError::bad_request("location", "give region_code or lon and lat")),
    };
    // Residents and the public report anywhere, like calling 12345; staff report within their jurisdiction.
    let scope = match actor {
        Some(actor) if !resident => actor.scope.clone(),
        _ => Jurisdiction::everywhere(),
    };
    let category = taxonomy::find(&categories, "category", &event.category)?;
    let order = match matching_rule(&settings.rules, event.source, event.severity) {
        Some(rule) => {
            let holder = state.receiving_unit(&region_code, event.source).await?;
            let seed = OrderSeed {
                title: event.title.clone(),
                description: event.description.clone(),
                category,
                urgency: None,
                source: event.source,
                proactive: rule.proactive,
                region_code: region_code.clone(),
                event: Some(&event),
                requester: event.reporter.clone(),
                holder,
                suggested_org_code: state.routed_org(category, &region_code).await?,
            };
            Some(open_order(seed, &settings.time_limits, &state.calendar().await?, now))
        }
        None => None,
    };
    let record = NewEventRecord { event, region_code };
    Ok(state.store.record_event(&scope, &record, &settings.merge, order.as_ref(), key.as_deref(), now).await?)
}

/// Reports an event. It joins an open incident of the same category nearby (多人同诉) or opens a
/// new one, and a new incident opens a work order when a rule says so. Send `Idempotency-Key` to
/// make retries safe.
#[utoipa::path(post, path = "/events", tag = "events", request_body = EventBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "retries with the same key return the first result")),
    responses((status = 201, body = EventOutcome), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_event(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
    ApiJson(body): ApiJson<EventBody>,
) -> ApiResult<(StatusCode, axum::Json<EventOutcome>)> {
    if body.source.as_deref().is_some_and(|s| s == EventSource::Whistle.as_str()) {
        return Err(ApiError::bad_request("source", "whistle events are made by POST /whistles"));
    }
    let mut outcome = record(&state, Some(&actor), body, idempotency_key(&headers)?).await?;
    mask_outcome(&mut outcome, actor.role());
    Ok((StatusCode::CREATED, axum::Json(outcome)))
}

pub(crate) fn mask_outcome(outcome: &mut EventOutcome, role: Role) {
    mask_reporter(&mut outcome.event.reporter, role);
    if let Some(order) = &mut outcome.order {
        mask_reporter(&mut order.requester, role);
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Only events at this node or below.
    within: Option<String>,
    category: Option<String>,
    source: Option<String>,
    incident: Option<i64>,
    /// Occurred at or after: RFC 3339, or `YYYY-MM-DD` (midnight in Beijing).
    from: Option<String>,
    /// Occurred before: RFC 3339, or `YYYY-MM-DD` (midnight in Beijing).
    to: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// A time parameter: an RFC 3339 instant, or a `YYYY-MM-DD` date meaning its midnight in Beijing.
pub(crate) fn time_param(field: &str, raw: Option<&str>) -> ApiResult<Option<i64>> {
    use linli_domain::governance::calendar::{parse_date, BEIJING_OFFSET_MS};
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) if s.len() == 10 => Ok(Some(parse_date(field, s)? * 86_400_000 - BEIJING_OFFSET_MS)),
        Some(s) => Ok(Some(linli_domain::time::parse_rfc3339(field, s)?)),
        None => Ok(None),
    }
}

/// Lists events in the caller's jurisdiction, newest first.
#[utoipa::path(get, path = "/events", tag = "events", params(EventQuery),
    responses((status = 200, body = Page<Event>), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_events(State(state): State<AppState>, actor: Actor, ApiQuery(query): ApiQuery<EventQuery>) -> ApiResult<axum::Json<Page<Event>>> {
    actor.require(Role::reads_people, "list events")?;
    let filter = EventFilter {
        within_code: code_param("within", query.within.as_deref())?,
        category: code_param("category", query.category.as_deref())?,
        source: query.source.as_deref().filter(|s| !s.is_empty()).map(|s| EventSource::parse("source", s).map(|s| s.as_str().to_string())).transpose()?,
        incident_id: query.incident,
        from: time_param("from", query.from.as_deref())?,
        to: time_param("to", query.to.as_deref())?,
    };
    let mut page = state.store.list_events(&actor.scope, &filter, &page_request(query.limit, query.cursor.as_deref())?).await?;
    for event in &mut page.items {
        mask_reporter(&mut event.reporter, actor.role());
    }
    Ok(axum::Json(page))
}

/// One event.
#[utoipa::path(get, path = "/events/{id}", tag = "events", params(("id" = i64, Path)),
    responses((status = 200, body = Event), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_event(State(state): State<AppState>, actor: Actor, ApiPath(id): ApiPath<i64>) -> ApiResult<axum::Json<Event>> {
    let mut event = state.store.get_event(&actor.scope, id).await?;
    mask_reporter(&mut event.reporter, actor.role());
    Ok(axum::Json(event))
}

/// One incident: the reports merged into it are `GET /events?incident=ID`.
#[utoipa::path(get, path = "/incidents/{id}", tag = "events", params(("id" = i64, Path)),
    responses((status = 200, body = Incident), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_incident(State(state): State<AppState>, actor: Actor, ApiPath(id): ApiPath<i64>) -> ApiResult<axum::Json<Incident>> {
    Ok(axum::Json(state.store.get_incident(&actor.scope, id).await?))
}

//! `/orders`: work orders (工单) and every action on them, with their append-only history.
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use linli_domain::governance::event::{parse_evidence, parse_text, Reporter};
use linli_domain::governance::order::{allowed_actions, apply, authorize, open_order, sweep, ActionContext, ActorRef, Command, HistoryEntry, OrderSeed};
use linli_domain::governance::{taxonomy, Action, EventSource, OrderStatus, Satisfaction, Unit, UnitKind, Urgency, WorkOrder};
use linli_domain::text::non_empty;
use linli_domain::{InvalidField, Position, Role};
use linli_store::{Jurisdiction, OrderFilter, Page};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::code_param;
use super::events::{check_media, idempotency_key, time_param};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{page_request, Actor, ApiJson, ApiPath, ApiQuery};
use crate::workflow::mask_reporter;
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orders, create_order))
        .routes(routes!(get_order))
        .routes(routes!(act_on_order))
        .routes(routes!(order_history))
        .routes(routes!(run_sweep))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OrderBody {
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: String,
    /// emergency, utility, ordinary or complex; the category's default when absent.
    pub urgency: Option<String>,
    /// Where it came from; hotline_12345 by default (grid_patrol for grid workers).
    pub source: Option<String>,
    /// 未诉先办: found before anyone complained. Default: true for patrols, cameras, sensors and analytics.
    pub proactive: Option<bool>,
    pub region_code: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub address: Option<String>,
    pub requester_name: Option<String>,
    pub requester_phone: Option<String>,
    /// The unit that receives the order: `{"kind": "region"|"organisation", "code": ...}`; the
    /// caller's own unit when absent.
    pub holder: Option<UnitRef>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct UnitRef {
    /// `region` or `organisation`.
    pub kind: String,
    pub code: String,
}

/// Opens a work order directly (orders also open from events). Send `Idempotency-Key` to make
/// retries safe.
#[utoipa::path(post, path = "/orders", tag = "orders", request_body = OrderBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "retries with the same key return the first order")),
    responses((status = 201, body = WorkOrder), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_order(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
    ApiJson(body): ApiJson<OrderBody>,
) -> ApiResult<(StatusCode, axum::Json<WorkOrder>)> {
    actor.require(Role::reads_people, "open work orders directly; report an event instead")?;
    let (order, created) = prepare_order(&state, &actor, body).await?;
    let mut order = state.store.create_order(&actor.scope, &order, &[created], idempotency_key(&headers)?.as_deref()).await?;
    mask_reporter(&mut order.requester, actor.role());
    Ok((StatusCode::CREATED, axum::Json(order)))
}

/// Validates an order's fields and builds it with its `created` entry, held by the given unit or
/// the caller's.
pub(crate) async fn prepare_order(state: &AppState, actor: &Actor, body: OrderBody) -> ApiResult<(WorkOrder, HistoryEntry)> {
    let now = state.now();
    let categories = state.taxonomy().await?;
    let settings = state.settings().await?;
    let mut errors = linli_domain::Invalid::default();
    let category = errors.check(taxonomy::find(&categories, "category", &body.category));
    let urgency = body.urgency.as_deref().filter(|s| !s.is_empty()).and_then(|u| errors.check(Urgency::parse("urgency", u)));
    let default_source = if actor.role() == Role::GridWorker { EventSource::GridPatrol } else { EventSource::Hotline12345 };
    let source = match body.source.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => errors.check(EventSource::parse("source", s)),
        None => Some(default_source),
    };
    let region_code = errors.check(linli_domain::text::parse_code("region_code", &body.region_code));
    let title = errors.check(parse_text("title", body.title.as_deref(), 200)).flatten();
    let description = errors.check(parse_text("description", body.description.as_deref(), 4000)).flatten().unwrap_or_default();
    let address = errors.check(parse_text("address", body.address.as_deref(), 500)).flatten();
    let name = errors.check(parse_text("requester_name", body.requester_name.as_deref(), 100)).flatten();
    let phone = non_empty(body.requester_phone.as_deref()).and_then(|p| errors.check(linli_domain::person::parse_phone("requester_phone", p)));
    let position = match (body.lon, body.lat) {
        (Some(lon), Some(lat)) => errors.check(linli_domain::Position::parse("lon", lon, lat)),
        (None, None) => None,
        _ => errors.check(Err(InvalidField::new("lat", "lon and lat go together"))),
    };
    errors.into_result()?;
    let (Some(category), Some(source), Some(region_code)) = (category, source, region_code) else { unreachable!("checked above") };
    let holder = match &body.holder {
        Some(unit) => state.unit("holder", &unit.kind, &unit.code).await?,
        None => match state.unit_of(&actor.user).await? {
            Some(unit) => unit,
            None => state.receiving_unit(&region_code, source).await?,
        },
    };
    let proactive = body.proactive.unwrap_or(matches!(source, EventSource::GridPatrol | EventSource::CameraAi | EventSource::Iot | EventSource::Analytics));
    let seed = OrderSeed {
        title: title.unwrap_or_else(|| category.name_zh.clone()),
        description,
        category,
        urgency,
        source,
        proactive,
        region_code: region_code.clone(),
        event: None,
        requester: Reporter { name, phone, user_id: None },
        holder,
        suggested_org_code: state.routed_org(category, &region_code).await?,
    };
    let mut order = open_order(seed, &settings.time_limits, &state.calendar().await?, now);
    order.position = position;
    order.address = address;
    let mut created = HistoryEntry::new(now, "created", Some(ActorRef::of(&actor.user)));
    created.to_status = Some(order.status.as_str().to_string());
    created.to_unit = Some(order.holder.clone());
    Ok((order, created))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderQuery {
    /// Comma-separated statuses.
    status: Option<String>,
    /// `region:CODE` or `organisation:CODE`: orders that unit holds.
    holder: Option<String>,
    /// `true`: orders the caller's own unit holds (the dispatcher's queue).
    mine: Option<bool>,
    /// `region:CODE` or `organisation:CODE`: orders escalated to that unit.
    escalated_to: Option<String>,
    category: Option<String>,
    source: Option<String>,
    /// Only orders located at this node or below.
    within: Option<String>,
    proactive: Option<bool>,
    overdue: Option<bool>,
    supervised: Option<bool>,
    /// Created at or after: RFC 3339, or `YYYY-MM-DD` (midnight in Beijing).
    from: Option<String>,
    /// Created before: RFC 3339, or `YYYY-MM-DD` (midnight in Beijing).
    to: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

fn unit_key_param(field: &str, raw: Option<&str>) -> ApiResult<Option<String>> {
    let Some(raw) = raw.filter(|s| !s.is_empty()) else { return Ok(None) };
    let (kind, code) = raw.split_once(':').ok_or_else(|| ApiError::bad_request(field, "must be region:CODE or organisation:CODE"))?;
    let kind = UnitKind::parse(field, kind)?;
    Ok(Some(format!("{kind}:{}", linli_domain::text::parse_code(field, code)?)))
}

/// Lists work orders located in the caller's jurisdiction, newest first. Residents get the orders
/// they asked for (their reports), wherever they are.
#[utoipa::path(get, path = "/orders", tag = "orders", params(OrderQuery),
    responses((status = 200, body = Page<WorkOrder>), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_orders(State(state): State<AppState>, actor: Actor, ApiQuery(query): ApiQuery<OrderQuery>) -> ApiResult<axum::Json<Page<WorkOrder>>> {
    let resident = actor.role() == Role::Resident;
    if !resident {
        actor.require(Role::reads_people, "list work orders")?;
    }
    let statuses = query
        .status
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| OrderStatus::parse("status", s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut holder_key = unit_key_param("holder", query.holder.as_deref())?;
    // A department's staff are bound to the organisation; their queue is what it holds, wherever.
    let mut scope = actor.scope.clone();
    if query.mine == Some(true) {
        let unit = state.unit_of(&actor.user).await?.ok_or_else(|| ApiError::bad_request("mine", "your account is bound to no unit"))?;
        holder_key = Some(unit.key());
        scope = Jurisdiction::everywhere();
    }
    let filter = OrderFilter {
        statuses,
        holder_key,
        escalated_key: unit_key_param("escalated_to", query.escalated_to.as_deref())?,
        category: code_param("category", query.category.as_deref())?,
        source: query.source.as_deref().filter(|s| !s.is_empty()).map(|s| EventSource::parse("source", s).map(|s| s.as_str().to_string())).transpose()?,
        within_code: code_param("within", query.within.as_deref())?,
        proactive: query.proactive,
        overdue: query.overdue,
        supervised: query.supervised,
        requester_id: resident.then_some(actor.user.id),
        created_from: time_param("from", query.from.as_deref())?,
        created_to: time_param("to", query.to.as_deref())?,
    };
    if resident {
        scope = Jurisdiction::everywhere();
    }
    let mut page = state.store.list_orders(&scope, &filter, &page_request(query.limit, query.cursor.as_deref())?).await?;
    for order in &mut page.items {
        mask_reporter(&mut order.requester, actor.role());
    }
    Ok(axum::Json(page))
}

/// An order with its history and what may be done with it now.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    #[serde(flatten)]
    pub order: WorkOrder,
    /// Actions the order's state allows now (the caller's role may allow fewer).
    pub allowed_actions: Vec<Action>,
    pub history: Vec<HistoryEntry>,
}

/// Whether the caller may see an order: it lies in their jurisdiction, they are on its chain, or
/// they asked for it.
fn may_see(actor: &Actor, order: &WorkOrder, covered: bool) -> bool {
    covered || order.chain.iter().any(|u| u.has_member(&actor.user)) || order.requester.user_id == Some(actor.user.id)
}

/// One order with its whole history.
#[utoipa::path(get, path = "/orders/{id}", tag = "orders", params(("id" = i64, Path)),
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_order(State(state): State<AppState>, actor: Actor, ApiPath(id): ApiPath<i64>) -> ApiResult<axum::Json<OrderView>> {
    let (mut order, covered) = state.store.get_order(&actor.scope, id).await?;
    if !may_see(&actor, &order, covered) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "out_of_jurisdiction", format!("order {id} is outside your jurisdiction")));
    }
    mask_reporter(&mut order.requester, actor.role());
    let history = state.store.history("order", id).await?;
    Ok(axum::Json(OrderView { allowed_actions: allowed_actions(&order), order, history }))
}

/// The order's history, oldest first.
#[utoipa::path(get, path = "/orders/{id}/history", tag = "orders", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<HistoryEntry>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn order_history(State(state): State<AppState>, actor: Actor, ApiPath(id): ApiPath<i64>) -> ApiResult<axum::Json<Vec<HistoryEntry>>> {
    let (order, covered) = state.store.get_order(&actor.scope, id).await?;
    if !may_see(&actor, &order, covered) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "out_of_jurisdiction", format!("order {id} is outside your jurisdiction")));
    }
    Ok(axum::Json(state.store.history("order", id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// dispatch, transfer, accept, contact, start, return, request_extension, approve_extension,
    /// reject_extension, suspend, resume, resolve, callback, reopen, close, terminate, supervise, comment.
    pub action: String,
    /// The version the caller last saw; a stale one gets 409. (`If-Match` works too.)
    pub version: Option<i64>,
    /// Where to dispatch or transfer to.
    pub to: Option<UnitRef>,
    pub note: Option<String>,
    /// Required to return, reject an extension, suspend or terminate.
    pub reason: Option<String>,
    /// The new deadline an extension asks for (RFC 3339).
    pub until: Option<String>,
    /// What was done: required to resolve.
    pub result: Option<String>,
    /// Media ids of photos of the result or of a comment.
    #[serde(default)]
    pub attachments: Vec<String>,
    /// Callback: whether the requester says the problem is solved.
    pub solved: Option<bool>,
    /// Callback: satisfied (满意), basically_satisfied (基本满意) or unsatisfied (不满意).
    pub satisfaction: Option<String>,
    /// Where the actor is (WGS84), e.g. a grid worker checking in on site with `start`: kept in the
    /// history entry's `data.position`, with `data.distance_m` from the order's place.
    pub lon: Option<f64>,
    pub lat: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActionOutcome {
    pub order: WorkOrder,
    /// What was appended to the history.
    pub entry: HistoryEntry,
}

fn required(field: &str, value: Option<&str>, max: usize) -> Result<String, InvalidField> {
    parse_text(field, value, max)?.ok_or_else(|| InvalidField::new(field, "is required for this action"))
}

/// Parses an action's body into a command; dispatch targets are resolved by the caller.
fn command(action: Action, body: &ActionBody, to: Option<Unit>, role: Role) -> Result<Command, linli_domain::Invalid> {
    let note = || parse_text("note", body.note.as_deref(), 2000);
    let reason = || required("reason", body.reason.as_deref().or(body.note.as_deref()), 2000);
    let attachments = || parse_evidence("attachments", &body.attachments);
    let command = match action {
        Action::Dispatch => Command::Dispatch { to: to.expect("resolved for dispatch"), note: note()? },
        Action::Transfer => Command::Transfer { to: to.expect("resolved for transfer"), note: note()? },
        Action::Accept => Command::Accept { note: note()? },
        Action::Contact => Command::Contact { note: note()? },
        Action::Start => Command::Start { note: note()? },
        Action::Return => Command::Return { reason: reason()? },
        Action::RequestExtension => {
            let until = body.until.as_deref().ok_or_else(|| InvalidField::new("until", "is required to request an extension"))?;
            Command::RequestExtension { until: linli_domain::time::parse_rfc3339("until", until)?, reason: reason()? }
        }
        Action::ApproveExtension => Command::ApproveExtension { note: note()? },
        Action::RejectExtension => Command::RejectExtension { reason: reason()? },
        Action::Suspend => Command::Suspend { reason: reason()? },
        Action::Resume => Command::Resume { note: note()? },
        Action::Resolve => Command::Resolve { result: required("result", body.result.as_deref().or(body.note.as_deref()), 4000)?, attachments: attachments()? },
        Action::Callback => {
            let mut errors = linli_domain::Invalid::default();
            let solved = body.solved.or_else(|| errors.check(Err(InvalidField::new("solved", "is required for a callback"))));
            let satisfaction = match body.satisfaction.as_deref() {
                Some(s) => errors.check(Satisfaction::parse("satisfaction", s)),
                None => errors.check(Err(InvalidField::new("satisfaction", "is required for a callback"))),
            };
            let note = errors.check(note()).flatten();
            errors.into_result()?;
            let channel = if role == Role::Resident { "requester" } else { "operator" };
            Command::Callback { solved: solved.expect("checked"), satisfaction: satisfaction.expect("checked"), note, channel: channel.to_string() }
        }
        Action::Reopen => Command::Reopen { note: note()? },
        Action::Close => Command::Close { note: note()? },
        Action::Terminate => Command::Terminate { reason: reason()? },
        Action::Supervise => Command::Supervise { note: note()? },
        Action::Comment => Command::Comment { note: required("note", body.note.as_deref(), 2000)?, attachments: attachments()? },
    };
    Ok(command)
}

/// Checks a dispatch or transfer target: it must cover the order's place, and a dispatch from a
/// node goes to a node below it or to an organisation serving the place.
async fn check_target(state: &AppState, order: &WorkOrder, action: Action, to: &Unit) -> ApiResult<()> {
    if !state.unit_covers(to, &order.region_code).await? {
        return Err(ApiError::bad_request("to", format!("{} ({}) does not cover {}, where the order is", to.name, to.code, order.region_code)));
    }
    if action == Action::Dispatch && order.holder.kind == UnitKind::Region && to.kind == UnitKind::Region {
        let below = to.code != order.holder.code && state.region_within(&to.code, &order.holder.code).await?;
        if !below {
            return Err(ApiError::bad_request("to", format!("dispatch goes down: {} is not below {}; use transfer for a peer", to.code, order.holder.code)));
        }
    }
    Ok(())
}

/// Acts on an order: the action must be allowed in its state (409 lists what is) and to the
/// caller (403). The change and its history entry are written together or not at all.
#[utoipa::path(post, path = "/orders/{id}/actions", tag = "orders", params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "the version the caller last saw")),
    request_body = ActionBody,
    responses((status = 200, body = ActionOutcome), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn act_on_order(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ActionBody>,
) -> ApiResult<axum::Json<ActionOutcome>> {
    let action = Action::parse("action", &body.action)?;
    let if_match = match headers.get("if-match") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .map(|s| s.trim().trim_matches('"'))
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or_else(|| ApiError::bad_request("If-Match", "must be the order's version"))?,
        ),
        None => None,
    };
    let expected = body.version.or(if_match);
    let to = match action {
        Action::Dispatch | Action::Transfer => {
            let target = body.to.as_ref().ok_or_else(|| ApiError::bad_request("to", format!("is required to {action}")))?;
            let unit = state.unit("to", &target.kind, &target.code).await?;
            let (current, _) = state.store.get_order(&actor.scope, id).await?;
            check_target(&state, &current, action, &unit).await?;
            Some(unit)
        }
        _ => None,
    };
    let command = command(action, &body, to, actor.role())?;
    let position = match (body.lon, body.lat) {
        (Some(lon), Some(lat)) => Some(Position::parse("lon", lon, lat)?),
        (None, None) => None,
        _ => return Err(ApiError::bad_request(if body.lon.is_none() { "lon" } else { "lat" }, "give lon and lat together")),
    };
    if let Command::Resolve { attachments, .. } | Command::Comment { attachments, .. } = &command {
        check_media(&state, "attachments", attachments).await?;
    }
    let settings = state.settings().await?;
    let calendar = state.calendar().await?;
    let now = state.now();
    let (role, scope, user) = (actor.role(), actor.scope.clone(), actor.user.clone());
    let decide = move |order: &WorkOrder, covered: bool| {
        if !may_see(&actor, order, covered) {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "out_of_jurisdiction", format!("order {} is outside your jurisdiction", order.id)).refuse());
        }
        authorize(&user, order, action, covered).map_err(|why| ApiError::forbidden(why).refuse())?;
        let ctx = ActionContext { now, actor: ActorRef::of(&user), limits: &settings.time_limits, calendar: &calendar };
        let (next, mut entry) = apply(order, command.clone(), &ctx).map_err(|e| ApiError::from(e).refuse())?;
        if let Some(at) = position {
            let mut data = match std::mem::take(&mut entry.data) {
                serde_json::Value::Object(map) => map,
                _ => serde_json::Map::new(),
            };
            data.insert("position".into(), serde_json::json!({ "lon": at.lon, "lat": at.lat }));
            if let Some(place) = order.position {
                data.insert("distance_m".into(), serde_json::json!(at.distance_m(place).round()));
            }
            entry.data = serde_json::Value::Object(data);
        }
        Ok((next, vec![entry]))
    };
    let (mut order, mut entries) = state.store.update_order(&scope, id, expected, &decide).await?;
    mask_reporter(&mut order.requester, role);
    Ok(axum::Json(ActionOutcome { order, entry: entries.remove(0) }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SweepOutcome {
    /// Orders whose deadlines were checked.
    pub checked: usize,
    /// History entries written: warnings, overdue marks, escalations.
    pub recorded: usize,
}

/// Checks deadlines now (the server also does this every few seconds): warns near deadlines,
/// marks orders overdue and escalates them one level up.
#[utoipa::path(post, path = "/orders/sweep", tag = "orders",
    responses((status = 200, body = SweepOutcome), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn run_sweep(State(state): State<AppState>, actor: Actor) -> ApiResult<axum::Json<SweepOutcome>> {
    actor.require(|r| matches!(r, Role::Admin | Role::DistrictDispatcher | Role::StreetDispatcher | Role::Leader), "run the deadline sweep")?;
    let (checked, recorded) = sweep_due_orders(&state).await?;
    Ok(axum::Json(SweepOutcome { checked, recorded }))
}

/// Runs the deadline sweep over every order due for a check at the state's clock.
pub(crate) async fn sweep_due_orders(state: &AppState) -> ApiResult<(usize, usize)> {
    let now = state.now();
    let limits = state.settings().await?.time_limits;
    let (mut checked, mut recorded) = (0, 0);
    // Bounded: orders changed concurrently keep their check due and come back in the next round.
    for _ in 0..50 {
        let ids = state.store.orders_due_for_check(now, 200).await?;
        if ids.is_empty() {
            break;
        }
        for &id in &ids {
            let decide = |order: &WorkOrder, _: bool| match sweep(order, now, &limits) {
                Some(change) => Ok(change),
                // Nothing due after all (the settings changed): only move the next check.
                None => Ok((
                    WorkOrder { next_check_at: linli_domain::governance::order::next_check_at(order, &limits).filter(|t| *t > now), ..order.clone() },
                    Vec::new(),
                )),
            };
            match state.store.update_order(&Jurisdiction::everywhere(), id, None, &decide).await {
                Ok((_, entries)) => recorded += entries.len(),
                // Someone acted on it meanwhile; the next sweep sees the new state.
                Err(linli_store::StoreError::Stale { .. }) => {}
                Err(other) => return Err(other.into()),
            }
            checked += 1;
        }
        if ids.len() < 200 {
            break;
        }
    }
    Ok((checked, recorded))
}

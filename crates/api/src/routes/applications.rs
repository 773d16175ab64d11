//! `/applications`: a community applies for a work order, a whistle or a resource; the street
//! approves (which opens the order or blows the whistle) or rejects with a reason.
use axum::extract::State;
use axum::http::StatusCode;
use linli_domain::governance::event::parse_text;
use linli_domain::governance::order::{ActorRef, HistoryEntry};
use linli_domain::Role;
use linli_store::{Application, Page};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::orders::{prepare_order, OrderBody};
use super::whistles::{prepare_whistle, WhistleBody};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{page_request, Actor, ApiJson, ApiPath, ApiQuery};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_applications, apply)).routes(routes!(get_application)).routes(routes!(decide))
}

fn applies(role: Role) -> bool {
    matches!(role, Role::CommunityWorker | Role::CommunitySecretary | Role::GridWorker | Role::Admin)
}

fn approves(role: Role) -> bool {
    matches!(role, Role::StreetDispatcher | Role::StreetLeader | Role::Admin)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationBody {
    /// work_order, whistle or resource.
    pub kind: String,
    pub title: String,
    pub description: Option<String>,
    /// The applying community; the caller's node when absent.
    pub region_code: Option<String>,
    /// For a work order: the fields of POST /orders; for a whistle: those of POST /whistles;
    /// for a resource: what is needed, free-form.
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
}

/// A community applies.
#[utoipa::path(post, path = "/applications", tag = "applications", request_body = ApplicationBody,
    responses((status = 201, body = Application), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn apply(State(state): State<AppState>, actor: Actor, ApiJson(body): ApiJson<ApplicationBody>) -> ApiResult<(StatusCode, axum::Json<Application>)> {
    actor.require(applies, "apply to the street")?;
    let kind = match body.kind.as_str() {
        k @ ("work_order" | "whistle" | "resource") => k.to_string(),
        other => return Err(ApiError::bad_request("kind", format!("unknown kind {other:?}; expected work_order, whistle or resource"))),
    };
    // The request must be what approval will act on: check its shape now, not at approval.
    match kind.as_str() {
        "work_order" => drop(serde_json::from_value::<OrderBody>(body.request.clone()).map_err(|e| ApiError::bad_request("request", e.to_string()))?),
        "whistle" => drop(serde_json::from_value::<WhistleBody>(body.request.clone()).map_err(|e| ApiError::bad_request("request", e.to_string()))?),
        _ if !body.request.is_object() => return Err(ApiError::bad_request("request", "must be an object")),
        _ => {}
    }
    let region_code = match (&body.region_code, &actor.user.region_code) {
        (Some(code), _) => linli_domain::text::parse_code("region_code", code)?,
        (None, Some(own)) => own.clone(),
        (None, None) => return Err(ApiError::bad_request("region_code", "is required")),
    };
    let application = Application {
        id: 0,
        kind,
        status: "pending".into(),
        region_code,
        title: linli_domain::text::parse_name("title", &body.title)?,
        description: parse_text("description", body.description.as_deref(), 4000)?.unwrap_or_default(),
        request: body.request,
        applicant: ActorRef::of(&actor.user),
        created_at: state.now(),
        decided_by: None,
        decided_at: None,
        reason: None,
        result_id: None,
    };
    Ok((StatusCode::CREATED, axum::Json(state.store.create_application(&actor.scope, &application).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApplicationQuery {
    /// pending, approved or rejected.
    status: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Applications in the caller's jurisdiction, newest first.
#[utoipa::path(get, path = "/applications", tag = "applications", params(ApplicationQuery),
    responses((status = 200, body = Page<Application>), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_applications(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(query): ApiQuery<ApplicationQuery>,
) -> ApiResult<axum::Json<Page<Application>>> {
    actor.require(Role::reads_people, "list applications")?;
    let status = query.status.as_deref().filter(|s| !s.is_empty());
    if status.is_some_and(|s| !matches!(s, "pending" | "approved" | "rejected")) {
        return Err(ApiError::bad_request("status", "must be pending, approved or rejected"));
    }
    Ok(axum::Json(state.store.list_applications(&actor.scope, status, &page_request(query.limit, query.cursor.as_deref())?).await?))
}

/// One application.
#[utoipa::path(get, path = "/applications/{id}", tag = "applications", params(("id" = i64, Path)),
    responses((status = 200, body = Application), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_application(State(state): State<AppState>, actor: Actor, ApiPath(id): ApiPath<i64>) -> ApiResult<axum::Json<Application>> {
    Ok(axum::Json(state.store.get_application(&actor.scope, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    pub approve: bool,
    /// Required to reject.
    pub reason: Option<String>,
}

/// The street decides. Approving a work-order application opens the order (held by the street),
/// approving a whistle application blows the whistle; the application and the approval both
/// appear in the history of what they opened.
#[utoipa::path(post, path = "/applications/{id}/decision", tag = "applications", params(("id" = i64, Path)), request_body = DecisionBody,
    responses((status = 200, body = Application), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn decide(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> ApiResult<axum::Json<Application>> {
    actor.require(approves, "decide on applications")?;
    let mut application = state.store.get_application(&actor.scope, id).await?;
    if application.status != "pending" {
        return Err(ApiError::conflict("already_decided", format!("application {id} is already {}", application.status)));
    }
    let reason = parse_text("reason", body.reason.as_deref(), 2000)?;
    let now = state.now();
    let mut applied = HistoryEntry::new(application.created_at, "applied", Some(application.applicant.clone()));
    applied.note = Some(application.title.clone());
    applied.data = serde_json::json!({ "application_id": id });
    let mut approved = HistoryEntry::new(now, "approved", Some(ActorRef::of(&actor.user)));
    approved.note = reason.clone();
    approved.data = serde_json::json!({ "application_id": id });
    if body.approve {
        application.result_id = match application.kind.as_str() {
            "work_order" => {
                let request: OrderBody = serde_json::from_value(application.request.clone()).map_err(|e| ApiError::bad_request("request", e.to_string()))?;
                let (order, created) = prepare_order(&state, &actor, request).await?;
                // Keyed by the application: a retried or concurrent approval opens one order.
                let key = format!("application:{id}");
                let order = state.store.create_order(&actor.scope, &order, &[applied, approved, created], Some(&key)).await?;
                Some(order.id)
            }
            "whistle" => {
                let request: WhistleBody = serde_json::from_value(application.request.clone()).map_err(|e| ApiError::bad_request("request", e.to_string()))?;
                let (whistle, summoned) = prepare_whistle(&state, &actor, request).await?;
                Some(state.store.create_whistle(&actor.scope, &whistle, &[applied, approved, summoned]).await?.id)
            }
            _ => None,
        };
        application.status = "approved".into();
    } else {
        if reason.is_none() {
            return Err(ApiError::bad_request("reason", "is required to reject"));
        }
        application.status = "rejected".into();
    }
    application.decided_by = Some(ActorRef::of(&actor.user));
    application.decided_at = Some(now);
    application.reason = reason;
    state.store.update_application(&actor.scope, &application).await?;
    Ok(axum::Json(application))
}

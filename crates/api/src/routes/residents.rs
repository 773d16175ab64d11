//! `/residents`: people, masked unless the caller's role may see personal data, and every
//! unmasked read written to the access audit log.
use axum::extract::State;
use axum::http::StatusCode;
use linli_domain::person::{parse_id_number, parse_phone, ResidentInput};
use linli_domain::{Attributes, CareTag, DwellingRelation, NewResident, ResidenceKind, Resident, Role};
use linli_store::{AccessEntry, Page, ResidentFilter, ResidentPatch};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{code_param, double_option, search_param};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{page_request, Actor, ApiJson, ApiPath, ApiQuery};
use crate::{now_ms, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_residents, create_resident))
        .routes(routes!(get_resident, update_resident, delete_resident))
        .routes(routes!(link_dwelling, unlink_dwelling))
}

/// Masks the records for roles without the right to personal data; otherwise audits the read.
async fn release(state: &AppState, actor: &Actor, residents: Vec<Resident>, action: &str) -> ApiResult<Vec<Resident>> {
    if !actor.role().sees_sensitive() {
        return Ok(residents.into_iter().map(Resident::masked).collect());
    }
    let at = now_ms();
    let entries: Vec<AccessEntry> = residents
        .iter()
        .map(|r| AccessEntry {
            at,
            user_id: actor.user.id,
            username: actor.user.username.clone(),
            role: actor.role().as_str().to_string(),
            record_kind: "resident".into(),
            record_id: r.id.to_string(),
            action: action.to_string(),
            request_id: actor.request_id.clone(),
        })
        .collect();
    // Nothing unmasked leaves unless its audit entry is stored.
    state.store.record_access(&entries).await?;
    Ok(residents)
}

async fn release_one(state: &AppState, actor: &Actor, resident: Resident, action: &str) -> ApiResult<axum::Json<Resident>> {
    let mut released = release(state, actor, vec![resident], action).await?;
    released.pop().map(axum::Json).ok_or_else(ApiError::internal)
}

fn require_reader(actor: &Actor) -> ApiResult<()> {
    actor.require(Role::reads_people, "read residents' records")
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResidentQuery {
    /// Only residents registered at this node or below it.
    within: Option<String>,
    /// registered (户籍), permanent (常住) or floating (流动).
    residence_kind: Option<String>,
    /// A care tag, e.g. `elderly_alone` or `独居老人`.
    care_tag: Option<String>,
    /// Substring of the name (roles that see personal data only).
    q: Option<String>,
    /// Exact ID-card number (roles that see personal data only).
    id_number: Option<String>,
    /// Exact phone number (roles that see personal data only).
    phone: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Lists residents in the caller's jurisdiction.
#[utoipa::path(get, path = "/residents", tag = "residents", params(ResidentQuery),
    responses((status = 200, body = Page<Resident>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_residents(State(state): State<AppState>, actor: Actor, ApiQuery(query): ApiQuery<ResidentQuery>) -> ApiResult<axum::Json<Page<Resident>>> {
    require_reader(&actor)?;
    let personal = query.q.is_some() || query.id_number.is_some() || query.phone.is_some();
    if personal && !actor.role().sees_sensitive() {
        return Err(ApiError::forbidden(format!("the {} role may not search residents by name, ID number or phone", actor.role())));
    }
    let filter = ResidentFilter {
        within_code: code_param("within", query.within.as_deref())?,
        residence_kind: query.residence_kind.as_deref().filter(|s| !s.is_empty()).map(|k| ResidenceKind::parse("residence_kind", k)).transpose()?,
        care_tag: query.care_tag.as_deref().filter(|s| !s.is_empty()).map(|t| CareTag::parse("care_tag", t)).transpose()?,
        q: search_param(query.q.as_deref())?,
        id_number: query.id_number.as_deref().filter(|s| !s.is_empty()).map(|v| parse_id_number("id_number", v)).transpose()?,
        phone: query.phone.as_deref().filter(|s| !s.is_empty()).map(|v| parse_phone("phone", v)).transpose()?,
    };
    let page = state.store.list_residents(&actor.scope, &filter, &page_request(query.limit, query.cursor.as_deref())?).await?;
    let items = release(&state, &actor, page.items, "list").await?;
    Ok(axum::Json(Page { items, next_cursor: page.next_cursor }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResidentBody {
    name: String,
    id_number: Option<String>,
    phone: Option<String>,
    gender: Option<String>,
    /// YYYY-MM-DD; derived from an 18-digit ID number when absent.
    birth_date: Option<String>,
    /// registered, permanent (default) or floating.
    residence_kind: Option<String>,
    #[serde(default)]
    care_tags: Vec<String>,
    /// The node the resident lives at, usually a dwelling.
    dwelling_code: String,
    /// owner, tenant or member (default).
    relation: Option<String>,
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    attributes: Attributes,
}

/// Registers a resident at a dwelling in the caller's jurisdiction.
#[utoipa::path(post, path = "/residents", tag = "residents", request_body = ResidentBody,
    responses((status = 201, body = Resident), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_resident(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<ResidentBody>,
) -> ApiResult<(StatusCode, axum::Json<Resident>)> {
    actor.require(Role::edits_registry, "change the registry")?;
    let new = NewResident::parse(ResidentInput {
        name: Some(&body.name),
        id_number: body.id_number.as_deref(),
        phone: body.phone.as_deref(),
        gender: body.gender.as_deref(),
        birth_date: body.birth_date.as_deref(),
        residence_kind: body.residence_kind.as_deref(),
        care_tags: body.care_tags.iter().map(String::as_str).collect(),
        home_code: Some(&body.dwelling_code),
        relation: body.relation.as_deref(),
        attributes: body.attributes,
    })?;
    let resident = state.store.create_resident(&actor.scope, &new).await?;
    Ok((StatusCode::CREATED, release_one(&state, &actor, resident, "create").await?))
}

/// One resident.
#[utoipa::path(get, path = "/residents/{id}", tag = "residents", params(("id" = i64, Path)),
    responses((status = 200, body = Resident), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_resident(State(state): State<AppState>, actor: Actor, ApiPath(id): ApiPath<i64>) -> ApiResult<axum::Json<Resident>> {
    require_reader(&actor)?;
    let resident = state.store.get_resident(&actor.scope, id).await?;
    release_one(&state, &actor, resident, "read").await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResidentPatchBody {
    name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    id_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    phone: Option<Option<String>>,
    residence_kind: Option<String>,
    care_tags: Option<Vec<String>>,
    /// Moves the resident's home.
    dwelling_code: Option<String>,
    #[schema(value_type = Option<Object>)]
    attributes: Option<Attributes>,
}

/// Changes a resident's record.
#[utoipa::path(patch, path = "/residents/{id}", tag = "residents", params(("id" = i64, Path)), request_body = ResidentPatchBody,
    responses((status = 200, body = Resident), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn update_resident(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ResidentPatchBody>,
) -> ApiResult<axum::Json<Resident>> {
    actor.require(Role::edits_registry, "change the registry")?;
    let mut errors = linli_domain::Invalid::default();
    let patch = ResidentPatch {
        name: body.name.as_deref().and_then(|n| errors.check(linli_domain::text::parse_name("name", n))),
        id_number: body.id_number.map(|v| v.filter(|s| !s.is_empty()).and_then(|s| errors.check(parse_id_number("id_number", &s)))),
        phone: body.phone.map(|v| v.filter(|s| !s.is_empty()).and_then(|s| errors.check(parse_phone("phone", &s)))),
        residence_kind: body.residence_kind.as_deref().and_then(|k| errors.check(ResidenceKind::parse("residence_kind", k))),
        care_tags: body.care_tags.map(|tags| tags.iter().filter_map(|t| errors.check(CareTag::parse("care_tags", t))).collect()),
        home_code: body.dwelling_code.as_deref().and_then(|c| errors.check(linli_domain::text::parse_code("dwelling_code", c))),
        attributes: body.attributes,
    };
    errors.into_result()?;
    let resident = state.store.update_resident(&actor.scope, id, &patch).await?;
    release_one(&state, &actor, resident, "update").await
}

/// Removes a resident from the registry.
#[utoipa::path(delete, path = "/residents/{id}", tag = "residents", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_resident(State(state): State<AppState>, actor: Actor, ApiPath(id): ApiPath<i64>) -> ApiResult<StatusCode> {
    actor.require(Role::edits_registry, "change the registry")?;
    state.store.delete_resident(&actor.scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LinkBody {
    /// owner, tenant or member.
    relation: String,
}

/// Ties a resident to a further dwelling (or changes the relation of an existing tie).
#[utoipa::path(put, path = "/residents/{id}/dwellings/{dwelling_code}", tag = "residents", params(("id" = i64, Path), ("dwelling_code" = String, Path)), request_body = LinkBody,
    responses((status = 200, body = Resident), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn link_dwelling(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath((id, dwelling_code)): ApiPath<(i64, String)>,
    ApiJson(body): ApiJson<LinkBody>,
) -> ApiResult<axum::Json<Resident>> {
    actor.require(Role::edits_registry, "change the registry")?;
    let relation = DwellingRelation::parse("relation", &body.relation)?;
    let resident = state.store.link_dwelling(&actor.scope, id, &dwelling_code, relation).await?;
    release_one(&state, &actor, resident, "update").await
}

/// Unties a resident from a further dwelling.
#[utoipa::path(delete, path = "/residents/{id}/dwellings/{dwelling_code}", tag = "residents", params(("id" = i64, Path), ("dwelling_code" = String, Path)),
    responses((status = 200, body = Resident), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn unlink_dwelling(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath((id, dwelling_code)): ApiPath<(i64, String)>,
) -> ApiResult<axum::Json<Resident>> {
    actor.require(Role::edits_registry, "change the registry")?;
    let resident = state.store.unlink_dwelling(&actor.scope, id, &dwelling_code).await?;
    release_one(&state, &actor, resident, "update").await
}

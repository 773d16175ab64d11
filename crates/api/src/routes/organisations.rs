//! `/organisations`: departments, property companies, committees, street offices, operators.
use axum::extract::State;
use axum::http::StatusCode;
use linli_domain::organisation::OrganisationInput;
use linli_domain::{Attributes, NewOrganisation, OrgKind, Organisation, Role};
use linli_store::{OrganisationFilter, OrganisationPatch, Page};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{code_param, double_option, search_param};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{page_request, Actor, ApiJson, ApiPath, ApiQuery};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_organisations, create_organisation)).routes(routes!(get_organisation, update_organisation, delete_organisation))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrganisationQuery {
    /// department, street_office, community_committee, property_company, operator or other.
    kind: Option<String>,
    /// Only organisations serving this node or below it.
    within: Option<String>,
    /// Substring of the name or code.
    q: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Lists organisations serving the caller's jurisdiction or the area above it.
#[utoipa::path(get, path = "/organisations", tag = "organisations", params(OrganisationQuery),
    responses((status = 200, body = Page<Organisation>), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_organisations(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(query): ApiQuery<OrganisationQuery>,
) -> ApiResult<axum::Json<Page<Organisation>>> {
    let filter = OrganisationFilter {
        kind: query.kind.as_deref().filter(|s| !s.is_empty()).map(|k| OrgKind::parse("kind", k)).transpose()?,
        within_code: code_param("within", query.within.as_deref())?,
        q: search_param(query.q.as_deref())?,
    };
    let page = state.store.list_organisations(&actor.scope, &filter, &page_request(query.limit, query.cursor.as_deref())?).await?;
    Ok(axum::Json(page))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OrganisationBody {
    code: String,
    name: String,
    kind: String,
    /// The node the organisation serves.
    region_code: String,
    parent_code: Option<String>,
    phone: Option<String>,
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    attributes: Attributes,
}

/// Registers an organisation serving a node in the caller's jurisdiction.
#[utoipa::path(post, path = "/organisations", tag = "organisations", request_body = OrganisationBody,
    responses((status = 201, body = Organisation), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_organisation(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<OrganisationBody>,
) -> ApiResult<(StatusCode, axum::Json<Organisation>)> {
    actor.require(Role::edits_registry, "change the registry")?;
    let new = NewOrganisation::parse(OrganisationInput {
        code: Some(&body.code),
        name: Some(&body.name),
        kind: Some(&body.kind),
        region_code: Some(&body.region_code),
        parent_code: body.parent_code.as_deref(),
        phone: body.phone.as_deref(),
        attributes: body.attributes,
    })?;
    Ok((StatusCode::CREATED, axum::Json(state.store.create_organisation(&actor.scope, &new).await?)))
}

/// One organisation.
#[utoipa::path(get, path = "/organisations/{code}", tag = "organisations", params(("code" = String, Path)),
    responses((status = 200, body = Organisation), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_organisation(State(state): State<AppState>, actor: Actor, ApiPath(code): ApiPath<String>) -> ApiResult<axum::Json<Organisation>> {
    Ok(axum::Json(state.store.get_organisation(&actor.scope, &code).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationPatchBody {
    name: Option<String>,
    kind: Option<String>,
    region_code: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    phone: Option<Option<String>>,
    #[schema(value_type = Option<Object>)]
    attributes: Option<Attributes>,
}

/// Changes an organisation.
#[utoipa::path(patch, path = "/organisations/{code}", tag = "organisations", params(("code" = String, Path)), request_body = OrganisationPatchBody,
    responses((status = 200, body = Organisation), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn update_organisation(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<OrganisationPatchBody>,
) -> ApiResult<axum::Json<Organisation>> {
    actor.require(Role::edits_registry, "change the registry")?;
    let mut errors = linli_domain::Invalid::default();
    let patch = OrganisationPatch {
        name: body.name.as_deref().and_then(|n| errors.check(linli_domain::text::parse_name("name", n))),
        kind: body.kind.as_deref().and_then(|k| errors.check(OrgKind::parse("kind", k))),
        region_code: body.region_code.as_deref().and_then(|c| errors.check(linli_domain::text::parse_code("region_code", c))),
        phone: body.phone.map(|p| p.filter(|s| !s.is_empty()).and_then(|s| errors.check(linli_domain::person::parse_phone("phone", &s)))),
        attributes: body.attributes,
    };
    errors.into_result()?;
    Ok(axum::Json(state.store.update_organisation(&actor.scope, &code, &patch).await?))
}

/// Deletes an organisation with no devices, users or child organisations.
#[utoipa::path(delete, path = "/organisations/{code}", tag = "organisations", params(("code" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_organisation(State(state): State<AppState>, actor: Actor, ApiPath(code): ApiPath<String>) -> ApiResult<StatusCode> {
    actor.require(Role::edits_registry, "change the registry")?;
    state.store.delete_organisation(&actor.scope, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}

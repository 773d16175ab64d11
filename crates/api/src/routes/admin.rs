//! `/users` and `/audit/access`: administrators manage accounts and read who saw personal data.
use axum::extract::State;
use axum::http::StatusCode;
use linli_domain::user::{check_password, parse_username};
use linli_domain::{Role, User};
use linli_store::{AccessEntry, AccessFilter, NewUser, Page, Store, UserPatch};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{code_param, double_option};
use crate::auth::hash_password;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{page_request, Actor, ApiJson, ApiPath, ApiQuery};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_users, create_user)).routes(routes!(get_user, update_user)).routes(routes!(list_access))
}

/// A user to create, as given by the API or the CLI.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct UserBody {
    pub username: String,
    pub password: String,
    pub role: String,
    pub display_name: Option<String>,
    /// The node the user is bound to.
    pub region_code: Option<String>,
    /// The organisation the user works for.
    pub org_code: Option<String>,
}

/// Validates and stores a new user; shared by `POST /users` and `linli user create`.
pub async fn provision_user(store: &dyn Store, body: UserBody) -> ApiResult<User> {
    let mut errors = linli_domain::Invalid::default();
    let username = errors.check(parse_username(&body.username));
    errors.check(check_password(&body.password));
    let role = errors.check(Role::parse("role", &body.role));
    let region_code = body.region_code.as_deref().filter(|s| !s.is_empty()).and_then(|c| errors.check(linli_domain::text::parse_code("region_code", c)));
    let org_code = body.org_code.as_deref().filter(|s| !s.is_empty()).and_then(|c| errors.check(linli_domain::text::parse_code("org_code", c)));
    if role.is_some_and(|r| r != Role::Admin) && region_code.is_none() && org_code.is_none() {
        errors.push("region_code", "every role but admin must be bound to a region or an organisation");
    }
    errors.into_result()?;
    let username = username.unwrap_or_default();
    let display_name = body.display_name.as_deref().map(|n| linli_domain::text::parse_name("display_name", n)).transpose()?.unwrap_or_else(|| username.clone());
    let password = body.password;
    let password_hash = tokio::task::spawn_blocking(move || hash_password(&password)).await.map_err(|_| ApiError::internal())??;
    Ok(store.create_user(&NewUser { username, display_name, password_hash, role: role.unwrap_or(Role::Resident), region_code, org_code }).await?)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Lists users bound inside the caller's jurisdiction.
#[utoipa::path(get, path = "/users", tag = "admin", params(UserQuery), responses((status = 200, body = Page<User>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_users(State(state): State<AppState>, actor: Actor, ApiQuery(query): ApiQuery<UserQuery>) -> ApiResult<axum::Json<Page<User>>> {
    actor.require(Role::administers, "manage users")?;
    let page = state.store.list_users(&actor.scope, &page_request(query.limit, query.cursor.as_deref())?).await?;
    Ok(axum::Json(page))
}

/// Creates a user bound to a region or organisation inside the caller's jurisdiction.
#[utoipa::path(post, path = "/users", tag = "admin", request_body = UserBody,
    responses((status = 201, body = User), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_user(State(state): State<AppState>, actor: Actor, ApiJson(body): ApiJson<UserBody>) -> ApiResult<(StatusCode, axum::Json<User>)> {
    actor.require(Role::administers, "manage users")?;
    check_binding(&state, &actor, body.region_code.as_deref(), body.org_code.as_deref()).await?;
    let user = provision_user(state.store.as_ref(), body).await?;
    Ok((StatusCode::CREATED, axum::Json(user)))
}

/// Refuses a binding that would put a user outside a bound administrator's jurisdiction: every
/// node and organisation named must lie inside it, and such an administrator cannot make
/// unbound (everywhere) users.
async fn check_binding(state: &AppState, actor: &Actor, region_code: Option<&str>, org_code: Option<&str>) -> ApiResult<()> {
    if actor.scope.root_code().is_none() {
        return Ok(());
    }
    if region_code.is_none() && org_code.is_none() {
        return Err(ApiError::forbidden("an administrator bound to a region cannot make users bound to nothing"));
    }
    if let Some(region) = region_code {
        state.store.get_region(&actor.scope, region).await?;
    }
    if let Some(org) = org_code {
        let org = state.store.get_organisation(&linli_store::Jurisdiction::everywhere(), org).await?;
        state.store.get_region(&actor.scope, &org.region_code).await?;
    }
    Ok(())
}

/// One user.
#[utoipa::path(get, path = "/users/{id}", tag = "admin", params(("id" = i64, Path)), responses((status = 200, body = User), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_user(State(state): State<AppState>, actor: Actor, ApiPath(id): ApiPath<i64>) -> ApiResult<axum::Json<User>> {
    actor.require(Role::administers, "manage users")?;
    let user = state.store.get_user(id).await?;
    state.check_user_in_scope(&actor, &user).await?;
    Ok(axum::Json(user))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatchBody {
    display_name: Option<String>,
    /// A new password; ends the user's sessions.
    password: Option<String>,
    role: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    region_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    org_code: Option<Option<String>>,
    /// Disabling ends the user's sessions and refuses their API tokens.
    disabled: Option<bool>,
}

/// Changes a user: role, binding, password reset, disabling.
#[utoipa::path(patch, path = "/users/{id}", tag = "admin", params(("id" = i64, Path)), request_body = UserPatchBody,
    responses((status = 200, body = User), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn update_user(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<UserPatchBody>,
) -> ApiResult<axum::Json<User>> {
    actor.require(Role::administers, "manage users")?;
    let user = state.store.get_user(id).await?;
    state.check_user_in_scope(&actor, &user).await?;
    let mut errors = linli_domain::Invalid::default();
    if let Some(password) = &body.password {
        errors.check(check_password(password));
    }
    let role = body.role.as_deref().and_then(|r| errors.check(Role::parse("role", r)));
    let display_name = body.display_name.as_deref().and_then(|n| errors.check(linli_domain::text::parse_name("display_name", n)));
    errors.into_result()?;
    let password_hash = match body.password {
        Some(password) => Some(tokio::task::spawn_blocking(move || hash_password(&password)).await.map_err(|_| ApiError::internal())??),
        None => None,
    };
    let region_code = body.region_code.map(|c| code_param("region_code", c.as_deref())).transpose()?;
    let org_code = body.org_code.map(|c| code_param("org_code", c.as_deref())).transpose()?;
    // The binding the user will have once the patch applies.
    let bound_region = region_code.clone().unwrap_or(user.region_code.clone());
    let bound_org = org_code.clone().unwrap_or(user.org_code.clone());
    if role.unwrap_or(user.role) != Role::Admin && bound_region.is_none() && bound_org.is_none() {
        return Err(ApiError::bad_request("region_code", "every role but admin must be bound to a region or an organisation"));
    }
    check_binding(&state, &actor, bound_region.as_deref(), bound_org.as_deref()).await?;
    let patch = UserPatch { display_name, password_hash, role, region_code, org_code, disabled: body.disabled };
    Ok(axum::Json(state.store.update_user(id, &patch).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccessQuery {
    username: Option<String>,
    /// e.g. `resident`.
    record_kind: Option<String>,
    record_id: Option<String>,
    /// From this instant (RFC 3339 or epoch milliseconds), inclusive.
    from: Option<String>,
    /// Up to this instant, exclusive.
    to: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Who read which personal record unmasked, and when.
#[utoipa::path(get, path = "/audit/access", tag = "admin", params(AccessQuery), responses((status = 200, body = Page<AccessEntry>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_access(State(state): State<AppState>, actor: Actor, ApiQuery(query): ApiQuery<AccessQuery>) -> ApiResult<axum::Json<Page<AccessEntry>>> {
    actor.require(Role::administers, "read the access audit log")?;
    // Entries are not tied to a region, so only an administrator of everywhere reads them.
    if actor.scope.root_code().is_some() {
        return Err(ApiError::forbidden("only an administrator bound to no region reads the access audit log"));
    }
    let filter = AccessFilter {
        username: query.username.filter(|s| !s.is_empty()),
        record_kind: query.record_kind.filter(|s| !s.is_empty()),
        record_id: query.record_id.filter(|s| !s.is_empty()),
        from_ms: query.from.as_deref().map(|t| parse_instant("from", t)).transpose()?,
        to_ms: query.to.as_deref().map(|t| parse_instant("to", t)).transpose()?,
    };
    let page = state.store.list_access(&filter, &page_request(query.limit, query.cursor.as_deref())?).await?;
    Ok(axum::Json(page))
}

/// Epoch milliseconds, or RFC 3339 in UTC (`2026-11-25T08:00:00Z`, fraction optional), or a date.
fn parse_instant(field: &str, raw: &str) -> ApiResult<i64> {
    let raw = raw.trim();
    if let Ok(ms) = raw.parse::<i64>() {
        return Ok(ms);
    }
    let bad = || ApiError::bad_request(field, "must be epoch milliseconds or an RFC 3339 UTC time like 2026-11-25T08:00:00Z");
    let (date, time) = raw.split_once('T').unwrap_or((raw, "00:00:00Z"));
    let ymd: Vec<&str> = date.split('-').collect();
    let [y, m, d] = ymd.as_slice() else {
        return Err(bad());
    };
    let (y, m, d): (i64, u32, u32) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
    if !(1..=9999).contains(&y) || !linli_domain::time::is_valid_date(y, m, d) {
        return Err(bad());
    }
    let time = time.strip_suffix('Z').or_else(|| time.strip_suffix("+00:00")).ok_or_else(bad)?;
    let (hms, fraction) = time.split_once('.').unwrap_or((time, "0"));
    if fraction.is_empty() || fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let parts: Vec<u32> = hms.split(':').map(|p| p.parse().map_err(|_| bad())).collect::<ApiResult<_>>()?;
    let [h, min, s] = parts.as_slice() else {
        return Err(bad());
    };
    if *h > 23 || *min > 59 || *s > 60 {
        return Err(bad());
    }
    let millis: i64 = format!("{fraction:0<3}")[..3].parse().map_err(|_| bad())?;
    let days = linli_domain::time::days_from_civil(y, m, d);
    Ok(((days * 86_400 + i64::from(*h) * 3600 + i64::from(*min) * 60 + i64::from(*s)) * 1000) + millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants() {
        assert_eq!(parse_instant("from", "1795593600123").unwrap(), 1_795_593_600_123);
        assert_eq!(parse_instant("from", "2026-11-25T08:00:00.123Z").unwrap(), 1_795_593_600_123);
        assert_eq!(parse_instant("from", "2026-11-25").unwrap(), 1_795_564_800_000);
        assert!(parse_instant("from", "2026-13-01").is_err());
        assert!(parse_instant("from", "yesterday").is_err());
        assert!(parse_instant("from", "2026-01-01T00:00:00.12éZ").is_err());
        assert!(parse_instant("from", "99999999-01-01").is_err());
    }
}

//! Request extractors whose rejections use the API's error shape, and the authenticated caller.
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use linli_domain::{Role, User};
use linli_store::{Jurisdiction, PageRequest};

use crate::auth::hash_token;
use crate::error::ApiError;
use crate::AppState;

/// `axum::Json` with JSON errors.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Query` with JSON errors.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `axum::extract::Path` with JSON errors.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// The caller: who they are, where they may act, and the request id to cite in audit entries.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: User,
    pub scope: Jurisdiction,
    pub request_id: Option<String>,
    pub token_hash: String,
}

impl Actor {
    pub fn role(&self) -> Role {
        self.user.role
    }

    /// Refuses the request unless the role passes `allowed`.
    pub fn require(&self, allowed: fn(Role) -> bool, what: &str) -> Result<(), ApiError> {
        if allowed(self.user.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("the {} role may not {what}", self.user.role)))
        }
    }
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // Browsers cannot set headers on a WebSocket, so the live stream also takes `access_token`.
        let from_query = || {
            let wants_socket = parts.headers.get(axum::http::header::UPGRADE).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
            let query = parts.uri.query().filter(|_| wants_socket)?;
            query.split('&').find_map(|pair| pair.strip_prefix("access_token=")).map(str::to_string)
        };
        let token = match parts.headers.get(axum::http::header::AUTHORIZATION) {
            Some(header) => header
                .to_str()
                .ok()
                .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .ok_or_else(|| ApiError::unauthenticated("the Authorization header must be \"Bearer <token>\""))?,
            None => from_query().ok_or_else(|| ApiError::unauthenticated("missing Authorization: Bearer token"))?,
        };
        let token = token.as_str();
        let token_hash = hash_token(token);
        let (user, _) =
            state.store.token_user(&token_hash, crate::now_ms()).await?.ok_or_else(|| ApiError::unauthenticated("token is invalid, expired or revoked"))?;
        let scope = state.jurisdiction_of(&user).await?;
        let request_id = parts.headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string);
        Ok(Actor { user, scope, request_id, token_hash })
    }
}

/// Reads the `limit` and `cursor` query parameters every list takes.
/// (Each list's query struct carries them itself: `serde(flatten)` breaks numbers in query strings.)
pub fn page_request(limit: Option<u32>, cursor: Option<&str>) -> Result<PageRequest, ApiError> {
    let limit = limit.unwrap_or(PageRequest::DEFAULT_LIMIT);
    if limit == 0 || limit > PageRequest::MAX_LIMIT {
        return Err(ApiError::bad_request("limit", format!("must be between 1 and {}", PageRequest::MAX_LIMIT)));
    }
    // The store checks the cursor's shape; here only its size is bounded.
    let after = cursor.filter(|c| !c.is_empty()).map(str::to_string);
    if after.as_ref().is_some_and(|c| c.len() > 512) {
        return Err(ApiError::bad_request("cursor", "is not a cursor this API returned"));
    }
    Ok(PageRequest { limit, after })
}

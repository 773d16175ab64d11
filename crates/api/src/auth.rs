//! Passwords (argon2id), bearer tokens and the login, logout, me and token endpoints.
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use linli_domain::{Role, User};
use linli_store::{NewToken, TokenKind};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Actor, ApiJson};
use crate::{now_ms, AppState};

pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        ApiError::internal()
    })
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Tokens are 32 random bytes; only their SHA-256 is stored, so a leaked database leaks no token.
pub fn new_token() -> String {
    format!("lk_{}", random_token_body())
}

/// 256 random bits, URL-safe: the secret part of tokens and keys.
pub fn random_token_body() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A verifying hash for unknown usernames, so a login for a missing user costs as much as a wrong password.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("linli-no-such-user").unwrap_or_default())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub token_type: &'static str,
    #[schema(format = DateTime)]
    pub expires_at: String,
    pub user: User,
}

/// Exchanges a username and password for a session token.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody), (status = 400, body = ErrorBody)))]
pub async fn login(State(state): State<AppState>, ApiJson(request): ApiJson<LoginRequest>) -> ApiResult<axum::Json<LoginResponse>> {
    if request.username.trim().is_empty() {
        return Err(ApiError::bad_request("username", "is required"));
    }
    let found = state.store.find_user(request.username.trim()).await?;
    let password = request.password.clone();
    let hash = found.as_ref().map(|(_, h)| h.clone()).unwrap_or_else(|| dummy_hash().to_string());
    // Argon2 takes tens of milliseconds of CPU: keep it off the async workers.
    let verified = tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await.unwrap_or(false);
    let user = match found {
        Some((user, _)) if verified && !user.disabled => user,
        _ => {
            tracing::info!(username = %request.username, "login refused");
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "wrong username or password"));
        }
    };
    let token = new_token();
    let now = now_ms();
    let expires_at = now + state.session_ttl_ms;
    state
        .store
        .insert_token(&NewToken {
            token_hash: hash_token(&token),
            user_id: user.id,
            kind: TokenKind::Session,
            name: "login".into(),
            created_at: now,
            expires_at: Some(expires_at),
        })
        .await?;
    tracing::info!(username = %user.username, role = %user.role, "login");
    Ok(axum::Json(LoginResponse { token, token_type: "Bearer", expires_at: linli_domain::time::format_rfc3339(expires_at), user }))
}

/// Ends the session of the token used to call it.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", responses((status = 204), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn logout(State(state): State<AppState>, actor: Actor) -> ApiResult<StatusCode> {
    state.store.revoke_token(&actor.token_hash, now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub user: User,
    /// The node at the top of the caller's jurisdiction; absent means everywhere.
    pub jurisdiction: Option<String>,
    /// Whether residents' names, ID numbers and phones are shown unmasked to this caller.
    pub sees_sensitive: bool,
}

/// Who the token belongs to and where they may act.
#[utoipa::path(get, path = "/auth/me", tag = "auth", responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn me(actor: Actor) -> axum::Json<MeResponse> {
    let sees_sensitive = actor.role().sees_sensitive();
    axum::Json(MeResponse { jurisdiction: actor.scope.root_code().map(str::to_string), user: actor.user, sees_sensitive })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// What the token is for, e.g. the integrating system's name.
    pub name: String,
    /// Issue the token for another user (administrators only); defaults to the caller.
    pub user_id: Option<i64>,
    /// Days until it expires; absent means it lives until revoked.
    pub expires_in_days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Shown once; only its hash is kept.
    pub token: String,
    pub user_id: i64,
    pub name: String,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

/// Issues a long-lived API token for integrations.
#[utoipa::path(post, path = "/auth/tokens", tag = "auth", request_body = TokenRequest,
    responses((status = 201, body = TokenResponse), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_token(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(request): ApiJson<TokenRequest>,
) -> ApiResult<(StatusCode, axum::Json<TokenResponse>)> {
    let name = linli_domain::text::parse_name("name", &request.name)?;
    let user_id = match request.user_id {
        Some(id) if id != actor.user.id => {
            actor.require(Role::administers, "issue tokens for other users")?;
            let user = state.store.get_user(id).await?;
            state.check_user_in_scope(&actor, &user).await?;
            id
        }
        _ => {
            actor.require(Role::holds_api_tokens, "issue long-lived API tokens")?;
            actor.user.id
        }
    };
    let now = now_ms();
    let expires_at = request.expires_in_days.map(|days| now + i64::from(days.clamp(1, 3650)) * 86_400_000);
    let token = new_token();
    state
        .store
        .insert_token(&NewToken { token_hash: hash_token(&token), user_id, kind: TokenKind::Api, name: name.clone(), created_at: now, expires_at })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(TokenResponse { token, user_id, name, expires_at: expires_at.map(linli_domain::time::format_rfc3339) })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_tokens() {
        let hash = hash_password("linli-demo").unwrap();
        assert!(verify_password("linli-demo", &hash));
        assert!(!verify_password("linli-dem0", &hash));
        assert!(!verify_password("x", "not a hash"));
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(hash_token(&a).len(), 64);
    }
}

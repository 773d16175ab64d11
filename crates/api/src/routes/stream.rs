//! Integrations: the live WebSocket stream of changes for the screens, HMAC-signed webhooks, and
//! Open311 API keys.
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use linli_domain::Role;
use linli_store::{NewWebhook, OutboxMessage, Webhook};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Actor, ApiJson, ApiPath, ApiQuery};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(live_stream))
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(delete_webhook))
        .routes(routes!(create_open311_key))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Topic prefixes, comma-separated (`order.,whistle.`); everything when absent.
    topics: Option<String>,
    /// The bearer token, for browsers, which cannot set headers on a WebSocket.
    #[allow(dead_code)]
    access_token: Option<String>,
}

/// A WebSocket of changes as they commit: each text frame is an outbox message
/// (`{"id", "at", "topic", "payload"}`). Requesters' personal data is left out for roles that
/// may not see it.
#[utoipa::path(get, path = "/stream", tag = "integrations", params(StreamQuery), responses((status = 101), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn live_stream(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(query): ApiQuery<StreamQuery>,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    actor.require(Role::reads_people, "follow the live stream")?;
    let topics: Vec<String> = query.topics.unwrap_or_default().split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect();
    let receiver = state.live.subscribe();
    let sensitive = actor.role().sees_sensitive();
    Ok(upgrade.on_upgrade(move |socket| follow(socket, receiver, topics, sensitive)))
}

async fn follow(mut socket: WebSocket, mut receiver: tokio::sync::broadcast::Receiver<std::sync::Arc<OutboxMessage>>, topics: Vec<String>, sensitive: bool) {
    loop {
        tokio::select! {
            message = receiver.recv() => {
                let message = match message {
                    Ok(message) => message,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                        let note = serde_json::json!({ "topic": "stream.lagged", "payload": { "missed": missed } });
                        if socket.send(Message::Text(note.to_string().into())).await.is_err() { return; }
                        continue;
                    }
                    Err(_) => return,
                };
                if !crate::workers::wants(&topics, &message.topic) {
                    continue;
                }
                let mut message = (*message).clone();
                if !sensitive {
                    strip_personal(&mut message.payload);
                }
                let text = serde_json::to_string(&message).expect("outbox messages serialize");
                if socket.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                _ => {}
            }
        }
    }
}

/// Removes requesters' and reporters' names and phones from a payload.
fn strip_personal(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for key in ["requester", "reporter"] {
                if let Some(person) = map.get_mut(key) {
                    *person = serde_json::json!({ "user_id": person.get("user_id").cloned().unwrap_or_default() });
                }
            }
            map.values_mut().for_each(strip_personal);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_personal),
        _ => {}
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    /// Where to POST each change (http:// or https://).
    pub url: String,
    /// The HMAC-SHA256 key: `X-Linli-Signature: sha256=hex(HMAC(secret, timestamp + "." + body))`,
    /// with the timestamp in `X-Linli-Timestamp`.
    pub secret: String,
    /// Topic prefixes wanted (`order.`, `order.resolved`, `whistle.`); all when empty.
    #[serde(default)]
    pub topics: Vec<String>,
}

/// Registers a webhook (administrators and integrators). Changes after now are delivered in
/// order, each retried with backoff.
#[utoipa::path(post, path = "/webhooks", tag = "integrations", request_body = WebhookBody,
    responses((status = 201, body = Webhook), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_webhook(State(state): State<AppState>, actor: Actor, ApiJson(body): ApiJson<WebhookBody>) -> ApiResult<(StatusCode, axum::Json<Webhook>)> {
    actor.require(|r| matches!(r, Role::Admin | Role::Integrator), "register webhooks")?;
    let url = body.url.trim();
    let valid = (url.starts_with("http://") || url.starts_with("https://")) && url.len() <= 2000 && reqwest::Url::parse(url).is_ok();
    if !valid {
        return Err(ApiError::bad_request("url", "must be an http:// or https:// URL"));
    }
    if !(16..=256).contains(&body.secret.len()) {
        return Err(ApiError::bad_request("secret", "must be 16 to 256 characters"));
    }
    if body.topics.iter().any(|t| t.is_empty() || t.len() > 100) {
        return Err(ApiError::bad_request("topics", "each topic must be 1 to 100 characters"));
    }
    let new = NewWebhook {
        url: url.to_string(),
        secret: body.secret,
        topics: body.topics,
        created_by: actor.user.id,
        created_at: state.now(),
        cursor: state.store.outbox_head().await?,
    };
    Ok((StatusCode::CREATED, axum::Json(state.store.create_webhook(&new).await?)))
}

/// The registered webhooks with their delivery state.
#[utoipa::path(get, path = "/webhooks", tag = "integrations", responses((status = 200, body = Vec<Webhook>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_webhooks(State(state): State<AppState>, actor: Actor) -> ApiResult<axum::Json<Vec<Webhook>>> {
    actor.require(|r| matches!(r, Role::Admin | Role::Integrator), "list webhooks")?;
    Ok(axum::Json(state.store.list_webhooks().await?))
}

/// Removes a webhook.
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "integrations", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_webhook(State(state): State<AppState>, actor: Actor, ApiPath(id): ApiPath<i64>) -> ApiResult<StatusCode> {
    actor.require(|r| matches!(r, Role::Admin | Role::Integrator), "remove webhooks")?;
    state.store.delete_webhook(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct KeyBody {
    /// Who the key is for.
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedKey {
    /// Shown once; pass it as `api_key` when POSTing Open311 requests.
    pub api_key: String,
    pub name: String,
}

/// Issues an Open311 API key (administrators).
#[utoipa::path(post, path = "/open311/keys", tag = "integrations", request_body = KeyBody,
    responses((status = 201, body = IssuedKey), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_open311_key(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<KeyBody>,
) -> ApiResult<(StatusCode, axum::Json<IssuedKey>)> {
    actor.require(Role::administers, "issue Open311 API keys")?;
    let name = linli_domain::text::parse_name("name", &body.name)?;
    let api_key = format!("o311_{}", crate::auth::random_token_body());
    state.store.create_api_key(&crate::auth::hash_token(&api_key), &name, state.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(IssuedKey { api_key, name })))
}

//! Integrations: the live WebSocket stream of changes for the screens, HMAC-signed webhooks, and
//! Open311 API keys.
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use linli_domain::Role;
use std::collections::HashMap;
use std::sync::Arc;

use linli_store::{Jurisdiction, NewWebhook, OutboxMessage, Webhook};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
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
    /// Replay what committed after this message id first: a screen that lost its connection
    /// passes the last id it saw and misses nothing. Live only when absent.
    after: Option<i64>,
    /// The bearer token, for browsers, which cannot set headers on a WebSocket.
    #[allow(dead_code)]
    access_token: Option<String>,
}

/// At most this many missed messages are replayed; further behind, the stream says
/// `stream.lagged` and the screen reloads its view instead.
const MAX_REPLAY: usize = 5_000;

/// A WebSocket of changes as they commit: each text frame is an outbox message
/// (`{"id", "at", "topic", "payload"}`) about a place in the caller's jurisdiction. Requesters'
/// personal data is left out for roles that may not see it. The first frame is
/// `{"topic": "stream.hello", "payload": {"head": ID}}`: messages after ID follow (pass it back as
/// `after` on reconnecting). With `after`, missed messages come first, in order, then live ones,
/// each once. `{"topic": "stream.lagged"}` says messages were lost (the reader fell too far
/// behind) and the view should be reloaded. Residents follow only the orders they asked for.
#[utoipa::path(get, path = "/stream", tag = "integrations", params(StreamQuery), responses((status = 101), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn live_stream(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(query): ApiQuery<StreamQuery>,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    if query.after.is_some_and(|after| after < 0) {
        return Err(ApiError::bad_request("after", "must be a message id (0 or more)"));
    }
    let topics: Vec<String> = query.topics.unwrap_or_default().split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect();
    // Subscribed before reading the head or replaying, so nothing committed in between is missed.
    let receiver = state.live.subscribe();
    let head = match query.after {
        Some(after) => after,
        None => state.store.outbox_head().await?,
    };
    // Residents see no area, only their own requests: each follows the orders they asked for.
    let requester = (!actor.role().reads_people()).then_some(actor.user.id);
    let follower =
        Follower { state, scope: actor.scope.clone(), requester, sensitive: actor.role().sees_sensitive(), topics, places: HashMap::new(), seen: head };
    Ok(upgrade.on_upgrade(move |socket| follower.follow(socket, receiver, query.after, head)))
}

/// One screen's subscription: what it wants and may see, and how far it has read.
struct Follower {
    state: AppState,
    scope: Jurisdiction,
    /// Set for a resident: only orders this user asked for are sent.
    requester: Option<i64>,
    sensitive: bool,
    topics: Vec<String>,
    /// Whether each place named by a message lies in the jurisdiction, asked once per place.
    places: HashMap<String, bool>,
    /// The newest message id handled (sent or filtered out).
    seen: i64,
}

impl Follower {
    async fn follow(mut self, mut socket: WebSocket, mut receiver: broadcast::Receiver<Arc<OutboxMessage>>, after: Option<i64>, head: i64) {
        let hello = serde_json::json!({ "topic": "stream.hello", "payload": { "head": head } });
        if socket.send(Message::Text(hello.to_string().into())).await.is_err() {
            return;
        }
        if after.is_some() && self.catch_up(&mut socket, None).await.is_err() {
            return;
        }
        loop {
            tokio::select! {
                message = receiver.recv() => {
                    let message = match message {
                        Ok(message) => message,
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            if send_lagged(&mut socket, missed).await.is_err() { return; }
                            continue;
                        }
                        Err(_) => return,
                    };
                    // The broadcast may begin after messages this screen is owed (it starts when
                    // the first screen connects): fill the gap from the outbox first.
                    if message.id > self.seen + 1 && self.catch_up(&mut socket, Some(message.id)).await.is_err() {
                        return;
                    }
                    if self.send(&mut socket, &message).await.is_err() {
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

    /// Sends what committed after the last message seen (and before `until`), page by page, up to
    /// [`MAX_REPLAY`].
    async fn catch_up(&mut self, socket: &mut WebSocket, until: Option<i64>) -> Result<(), axum::Error> {
        let mut replayed = 0;
        loop {
            let page = match self.state.store.outbox_after(self.seen, 500).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(error = %e, "live stream cannot replay the outbox");
                    return send_lagged(socket, 0).await;
                }
            };
            let full = page.len() == 500;
            for message in &page {
                if until.is_some_and(|until| message.id >= until) {
                    return Ok(());
                }
                self.send(socket, message).await?;
            }
            replayed += page.len();
            if !full {
                return Ok(());
            }
            if replayed >= MAX_REPLAY {
                return send_lagged(socket, 0).await;
            }
        }
    }

    async fn send(&mut self, socket: &mut WebSocket, message: &OutboxMessage) -> Result<(), axum::Error> {
        if message.id <= self.seen {
            return Ok(());
        }
        self.seen = message.id;
        if !crate::workers::wants(&self.topics, &message.topic) || !self.covers(message).await {
            return Ok(());
        }
        let mut message = message.clone();
        if !self.sensitive {
            strip_personal(&mut message.payload);
        }
        socket.send(Message::Text(serde_json::to_string(&message).expect("outbox messages serialize").into())).await
    }

    /// Whether the message is about a place in the jurisdiction. A message naming no place is
    /// shown only to callers who see everywhere.
    async fn covers(&mut self, message: &OutboxMessage) -> bool {
        if let Some(user) = self.requester {
            return message.payload.get("order").and_then(|o| o.get("requester")?.get("user_id")?.as_i64()) == Some(user);
        }
        if self.scope.root_code().is_none() {
            return true;
        }
        let Some(code) = message_place(&message.payload) else { return false };
        if let Some(&inside) = self.places.get(code) {
            return inside;
        }
        let inside = self.state.store.get_region(&self.scope, code).await.is_ok();
        if self.places.len() >= 10_000 {
            self.places.clear();
        }
        self.places.insert(code.to_string(), inside);
        inside
    }
}

async fn send_lagged(socket: &mut WebSocket, missed: u64) -> Result<(), axum::Error> {
    let note = serde_json::json!({ "topic": "stream.lagged", "payload": { "missed": missed } });
    socket.send(Message::Text(note.to_string().into())).await
}

/// The place an outbox message is about: its event's, order's, whistle's or application's node.
fn message_place(payload: &serde_json::Value) -> Option<&str> {
    ["event", "order", "whistle", "application"].iter().find_map(|key| payload.get(key)?.get("region_code")?.as_str())
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

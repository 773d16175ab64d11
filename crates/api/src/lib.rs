//! Linli's HTTP API: axum routers grouped by resource under `/api/v1`, the operational endpoints
//! (`/healthz`, `/readyz`, `/metrics`) and the OpenAPI document generated from the handlers.
//!
//! Architecture invariant: this is the only crate that knows HTTP and JSON shapes. It reaches
//! storage only through the [`Store`] trait and never writes SQL.

pub mod auth;
pub mod cameras;
pub mod error;
pub mod extract;
mod open311;
mod ops;
mod routes;
pub mod sensing;
mod ui;
pub mod workers;
mod workflow;

use std::sync::Arc;

use axum::http::{HeaderName, Request};
use axum::Router;
use linli_domain::{Role, User};
use linli_store::{Jurisdiction, Store};
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use error::{ApiError, ApiResult};
pub use routes::admin::{provision_user, UserBody};
pub use routes::events::EventBody;

/// Records an event as the platform itself (no user): how the demo and importers feed the event
/// centre. Rules, merging and routing apply as for any report.
pub async fn report_event(state: &AppState, body: EventBody) -> ApiResult<linli_store::EventOutcome> {
    routes::events::record(state, None, body, None).await
}

/// The time, as epoch milliseconds. Injected so tests can move it; the server uses the system clock.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// How long a login session lasts.
    pub session_ttl_ms: i64,
    pub clock: Clock,
    /// Where uploaded photos, snapshots and clips are kept, named by their SHA-256.
    pub media_dir: Arc<std::path::PathBuf>,
    /// The largest attachment accepted, in bytes.
    pub max_media_bytes: usize,
    /// Changes as they are committed, for the live stream (fed from the outbox).
    pub live: tokio::sync::broadcast::Sender<Arc<linli_store::OutboxMessage>>,
    /// The platform's connection to the device broker (commands, credentials), when configured.
    pub broker: Option<Arc<linli_bus::control::MqttControl>>,
    /// How long telemetry is kept (applied hourly by the workers).
    pub retention: Retention,
    /// The cameras the server watches itself, and what they are doing.
    pub cameras: Arc<cameras::Cameras>,
    /// Whether this node runs the configured cameras (in a cluster, one node should).
    pub watch_cameras: bool,
}

/// Days raw readings are kept before they become hourly roll-ups, and days roll-ups are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub raw_days: u32,
    pub hourly_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention { raw_days: 30, hourly_days: 730 }
    }
}

impl AppState {
    pub fn new(store: Arc<dyn Store>) -> Self {
        let (live, _) = tokio::sync::broadcast::channel(1024);
        AppState {
            store,
            session_ttl_ms: 12 * 3_600_000,
            clock: Arc::new(now_ms),
            media_dir: Arc::new(std::env::temp_dir().join("linli-media")),
            max_media_bytes: 10 * 1024 * 1024,
            live,
            broker: None,
            retention: Retention::default(),
            cameras: Arc::default(),
            watch_cameras: true,
        }
    }

    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// A user's jurisdiction: their node, else their organisation's region, else (for an
    /// administrator bound to nothing) everywhere.
    pub async fn jurisdiction_of(&self, user: &User) -> Result<Jurisdiction, ApiError> {
        if let Some(code) = &user.region_code {
            return Ok(self.store.jurisdiction(Some(code)).await?);
        }
        if let Some(org) = &user.org_code {
            let org = self.store.get_organisation(&Jurisdiction::everywhere(), org).await?;
            return Ok(self.store.jurisdiction(Some(&org.region_code)).await?);
        }
        if user.role == Role::Admin {
            return Ok(Jurisdiction::everywhere());
        }
        Err(ApiError::forbidden("your account is bound to no region or organisation; ask an administrator"))
    }

    /// Refuses to act on a user whose jurisdiction is not inside the caller's.
    pub async fn check_user_in_scope(&self, actor: &extract::Actor, user: &User) -> Result<(), ApiError> {
        if actor.scope.root_code().is_none() {
            return Ok(());
        }
        let theirs = self.jurisdiction_of(user).await.unwrap_or_else(|_| Jurisdiction::everywhere());
        match theirs.root_code() {
            Some(code) => {
                self.store.get_region(&actor.scope, code).await?;
                Ok(())
            }
            None => Err(ApiError::forbidden(format!("user {:?} is outside your jurisdiction", user.username))),
        }
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Linli API", description = "Linli (邻里) smart-community governance platform: the registry of people, places, things and organisations, and the event centre with its work-order loop."),
    modifiers(&BearerAuth),
    tags((name = "auth"), (name = "regions", description = "the hierarchy 市 → 区 → 街道 → 社区 → 网格 → 楼栋 → 单元 → 房屋"), (name = "residents"), (name = "organisations"), (name = "devices"), (name = "cameras", description = "cameras the server watches: thrown objects and scene rules"), (name = "admin"), (name = "import"),
        (name = "events", description = "every report of a problem, incidents merging reports, media"), (name = "orders", description = "work orders (工单) and their lifecycle"),
        (name = "whistles", description = "吹哨报到"), (name = "applications", description = "community applies, street approves"),
        (name = "rates", description = "响应率, 解决率, 满意率"), (name = "config", description = "taxonomy, settings, business calendar, routing"),
        (name = "integrations", description = "webhooks, the live stream, Open311 keys"))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

/// The `/api/v1` routes with their OpenAPI description.
fn api_v1() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(utoipa_axum::routes!(auth::login))
        .routes(utoipa_axum::routes!(auth::logout))
        .routes(utoipa_axum::routes!(auth::me))
        .routes(utoipa_axum::routes!(auth::create_token))
        .merge(routes::regions::router())
        .merge(routes::residents::router())
        .merge(routes::organisations::router())
        .merge(routes::devices::router())
        .merge(routes::admin::router())
        .merge(routes::import::router())
        .merge(routes::events::router())
        .merge(routes::orders::router())
        .merge(routes::whistles::router())
        .merge(routes::applications::router())
        .merge(routes::rates::router())
        .merge(routes::cockpit::router())
        .merge(routes::config::router())
        .merge(routes::media::router())
        .merge(routes::stream::router())
        .merge(routes::sensing::router())
        .merge(routes::alarms::router())
        .merge(routes::cameras::router())
        .split_for_parts();
    openapi.servers = Some(vec![utoipa::openapi::Server::new("/api/v1")]);
    (router, openapi)
}

/// The generated OpenAPI document, as served at `/api/v1/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_v1().1
}

/// The whole application: API, operational endpoints, request ids, tracing and metrics.
pub fn app(state: AppState) -> Router {
    let (api, openapi) = api_v1();
    let openapi = Arc::new(openapi);
    let api = api.route(
        "/openapi.json",
        axum::routing::get(move || {
            let openapi = openapi.clone();
            async move { axum::Json(openapi.as_ref().clone()) }
        }),
    );
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .nest("/api/v1", api)
        .nest("/open311/v2", open311::router())
        .merge(ops::router())
        .fallback(ui::serve)
        .method_not_allowed_fallback(|| async {
            ApiError::new(axum::http::StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this endpoint does not accept that method")
        })
        .layer(axum::middleware::from_fn(ops::record_metrics))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<axum::body::Body>| {
                    let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
                })
                // One line per request at the default level, carrying the span's request id.
                .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, NextRequestId::default()))
        .with_state(state)
}

/// Request ids: a per-process random prefix and a counter, cheap and unique enough to grep logs.
#[derive(Clone)]
struct NextRequestId {
    prefix: Arc<str>,
    counter: Arc<std::sync::atomic::AtomicU64>,
}

impl Default for NextRequestId {
    fn default() -> Self {
        let prefix: u32 = rand::random();
        NextRequestId { prefix: format!("{prefix:08x}").into(), counter: Arc::default() }
    }
}

impl MakeRequestId for NextRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{}-{n}", self.prefix).parse().ok().map(RequestId::new)
    }
}

/// Serves the app on a bound listener until `shutdown` resolves, letting requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Installed before anything counts, so nothing counted before the first request is lost.
    ops::recorder();
    workers::spawn(state.clone());
    let app = app(state);
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

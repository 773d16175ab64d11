//! Sensing over HTTP: a device's latest values and time series, the attribute catalogue, the
//! telemetry rules (editable) and the dead letters of refused device messages.
use axum::extract::State;
use axum::http::StatusCode;
use linli_domain::sensing::catalogue::{self, AttributeSpec};
use linli_domain::sensing::rules::check_rules;
use linli_domain::sensing::{Reading, TelemetryRule};
use linli_domain::{DeviceKind, DeviceStatus, Role};
use linli_store::{Aggregate, DeadLetter, DeviceFilter, PageRequest, SeriesPoint, SeriesQuery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::events::time_param;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Actor, ApiJson, ApiPath, ApiQuery};
use crate::workflow::SENSING_RULES_KEY;
use crate::AppState;

/// The longest bucket: a year.
const MAX_BUCKET_SECONDS: i64 = 366 * 86_400;
/// The most buckets one series request returns per device.
const MAX_BUCKETS: i64 = 10_000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(latest_telemetry))
        .routes(routes!(telemetry_series))
        .routes(routes!(area_series))
        .routes(routes!(attribute_catalogue))
        .routes(routes!(get_rules, put_rules))
        .routes(routes!(dead_letters))
        .routes(routes!(issue_credentials, revoke_credentials))
        .routes(routes!(send_command))
}

/// The latest value of each attribute a device has reported.
#[utoipa::path(get, path = "/devices/{code}/telemetry", tag = "sensing", params(("code" = String, Path)),
    responses((status = 200, body = Vec<Reading>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn latest_telemetry(State(state): State<AppState>, actor: Actor, ApiPath(code): ApiPath<String>) -> ApiResult<axum::Json<Vec<Reading>>> {
    let device = state.store.get_device(&actor.scope, &code).await?;
    Ok(axum::Json(state.store.latest_telemetry(&device.code).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SeriesParams {
    /// The attribute, e.g. `fillingLevel`.
    name: String,
    /// Start: RFC 3339 or `YYYY-MM-DD`; 24 hours before `to` by default.
    from: Option<String>,
    /// End, exclusive: RFC 3339 or `YYYY-MM-DD`; now by default.
    to: Option<String>,
    /// Bucket length in seconds (default 3600).
    bucket: Option<i64>,
    /// avg (default), min, max, sum or count.
    aggregate: Option<Aggregate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Series {
    pub device_code: String,
    pub name: String,
    pub aggregate: Aggregate,
    pub bucket_seconds: i64,
    pub points: Vec<SeriesPoint>,
}

/// One attribute of a device over time, aggregated per bucket.
#[utoipa::path(get, path = "/devices/{code}/telemetry/series", tag = "sensing", params(("code" = String, Path), SeriesParams),
    responses((status = 200, body = Series), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn telemetry_series(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(code): ApiPath<String>,
    ApiQuery(params): ApiQuery<SeriesParams>,
) -> ApiResult<axum::Json<Series>> {
    let device = state.store.get_device(&actor.scope, &code).await?;
    let window = SeriesWindow::parse(&state, &params)?;
    let points = state.store.telemetry_series(&window.query(vec![device.code.clone()], &params.name)).await?;
    Ok(axum::Json(Series { device_code: device.code, name: params.name, aggregate: window.aggregate, bucket_seconds: window.bucket_seconds, points }))
}

/// A series request's period, buckets and aggregate, checked.
struct SeriesWindow {
    from: i64,
    to: i64,
    bucket_seconds: i64,
    aggregate: Aggregate,
}

impl SeriesWindow {
    fn parse(state: &AppState, params: &SeriesParams) -> ApiResult<Self> {
        let to = time_param("to", params.to.as_deref())?.unwrap_or(state.now() + 1);
        let from = time_param("from", params.from.as_deref())?.unwrap_or(to - 86_400_000);
        if from >= to {
            return Err(ApiError::bad_request("from", "must be before to"));
        }
        let bucket_seconds = params.bucket.unwrap_or(3_600);
        if !(1..=MAX_BUCKET_SECONDS).contains(&bucket_seconds) {
            return Err(ApiError::bad_request("bucket", format!("must be 1 to {MAX_BUCKET_SECONDS} seconds (a year)")));
        }
        if (to - from) / (bucket_seconds * 1_000) > MAX_BUCKETS {
            return Err(ApiError::bad_request("bucket", format!("the period holds more than {MAX_BUCKETS} buckets; choose longer buckets")));
        }
        Ok(SeriesWindow { from, to, bucket_seconds, aggregate: params.aggregate.unwrap_or(Aggregate::Avg) })
    }

    fn query(&self, device_codes: Vec<String>, name: &str) -> SeriesQuery {
        SeriesQuery { device_codes, name: name.to_string(), from: self.from, to: self.to, bucket_ms: self.bucket_seconds * 1_000, aggregate: self.aggregate }
    }
}

/// The most devices one area series combines.
const MAX_AREA_DEVICES: usize = 10_000;

#[derive(Debug, Deserialize, IntoParams)]
pub struct KindParam {
    /// Only devices of this kind, e.g. `smart_bin`.
    kind: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AreaPoint {
    /// Start of the bucket.
    pub at: i64,
    pub value: Option<f64>,
    /// Readings in the bucket, over all devices.
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AreaSeries {
    pub region_code: String,
    pub name: String,
    pub kind: Option<DeviceKind>,
    pub aggregate: Aggregate,
    pub bucket_seconds: i64,
    /// Devices in the area (and of the kind) whose readings were combined.
    pub devices: usize,
    pub points: Vec<AreaPoint>,
}

/// One attribute over every device in an area (a building, a community, a street…), combined
/// per bucket: e.g. the average fill of a community's bins by hour.
#[utoipa::path(get, path = "/regions/{code}/telemetry/series", tag = "sensing", params(("code" = String, Path), KindParam, SeriesParams),
    responses((status = 200, body = AreaSeries), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn area_series(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(code): ApiPath<String>,
    ApiQuery(only): ApiQuery<KindParam>,
    ApiQuery(params): ApiQuery<SeriesParams>,
) -> ApiResult<axum::Json<AreaSeries>> {
    let region = state.store.get_region(&actor.scope, &code).await?;
    let kind = only.kind.as_deref().filter(|k| !k.is_empty()).map(|k| DeviceKind::parse("kind", k)).transpose()?;
    let window = SeriesWindow::parse(&state, &params)?;
    let filter = DeviceFilter { kind, within_code: Some(region.code.clone()), ..Default::default() };
    let mut devices = Vec::new();
    let mut page = PageRequest { limit: 1_000, after: None };
    loop {
        let found = state.store.list_devices(&actor.scope, &filter, &page).await?;
        devices.extend(found.items.into_iter().map(|d| d.code));
        if devices.len() > MAX_AREA_DEVICES {
            return Err(ApiError::bad_request("kind", format!("the area holds more than {MAX_AREA_DEVICES} devices; choose a smaller area or a kind")));
        }
        match found.next_cursor {
            Some(cursor) => page.after = Some(cursor),
            None => break,
        }
    }
    let count = devices.len();
    let per_device = state.store.telemetry_series(&window.query(devices, &params.name)).await?;
    Ok(axum::Json(AreaSeries {
        region_code: region.code,
        name: params.name,
        kind,
        aggregate: window.aggregate,
        bucket_seconds: window.bucket_seconds,
        devices: count,
        points: combine(window.aggregate, &per_device),
    }))
}

/// Combines devices' buckets into one per bucket: an average weighs each device's by its count.
fn combine(aggregate: Aggregate, points: &[SeriesPoint]) -> Vec<AreaPoint> {
    let mut buckets: std::collections::BTreeMap<i64, (Option<f64>, i64)> = Default::default();
    for point in points {
        let (value, count) = buckets.entry(point.at).or_insert((None, 0));
        let incoming = match aggregate {
            Aggregate::Avg => point.value.map(|v| v * point.count as f64),
            _ => point.value,
        };
        *value = match (*value, incoming) {
            (None, v) | (v, None) => v.or(*value),
            (Some(a), Some(b)) => Some(match aggregate {
                Aggregate::Min => a.min(b),
                Aggregate::Max => a.max(b),
                Aggregate::Avg | Aggregate::Sum | Aggregate::Count => a + b,
            }),
        };
        *count += point.count;
    }
    buckets
        .into_iter()
        .map(|(at, (value, count))| AreaPoint { at, value: if aggregate == Aggregate::Avg { value.map(|v| v / count.max(1) as f64) } else { value }, count })
        .collect()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KindAttributes {
    pub kind: DeviceKind,
    pub attributes: Vec<AttributeSpec>,
}

/// What each kind of device reports: attribute names (FIWARE Smart Data Models where one
/// exists), types, units and accepted ranges.
#[utoipa::path(get, path = "/sensing/attributes", tag = "sensing", responses((status = 200, body = Vec<KindAttributes>)), security(("bearer" = [])))]
pub async fn attribute_catalogue(_actor: Actor) -> axum::Json<Vec<KindAttributes>> {
    axum::Json(DeviceKind::ALL.iter().map(|kind| KindAttributes { kind: *kind, attributes: catalogue::attributes(*kind).to_vec() }).collect())
}

/// The telemetry rules in force.
#[utoipa::path(get, path = "/sensing/rules", tag = "sensing", responses((status = 200, body = Vec<TelemetryRule>)), security(("bearer" = [])))]
pub async fn get_rules(State(state): State<AppState>, _actor: Actor) -> ApiResult<axum::Json<Vec<TelemetryRule>>> {
    Ok(axum::Json(state.sensing_rules().await?))
}

/// Replaces the telemetry rules (administrators); ingestion picks them up within seconds.
#[utoipa::path(put, path = "/sensing/rules", tag = "sensing", request_body = Vec<TelemetryRule>,
    responses((status = 200, body = Vec<TelemetryRule>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn put_rules(State(state): State<AppState>, actor: Actor, ApiJson(rules): ApiJson<Vec<TelemetryRule>>) -> ApiResult<axum::Json<Vec<TelemetryRule>>> {
    actor.require(Role::administers, "change the telemetry rules")?;
    check_rules(&rules, &state.taxonomy().await?)?;
    state.store.put_setting(SENSING_RULES_KEY, &serde_json::to_string(&rules).expect("rules serialize"), state.now()).await?;
    Ok(axum::Json(rules))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DeadLetterParams {
    /// Letters older than this id (the last id of the previous page).
    before: Option<i64>,
    /// 1 to 500, default 100.
    limit: Option<u32>,
}

/// Refused device messages, newest first, with the reason (administrators).
#[utoipa::path(get, path = "/sensing/dead-letters", tag = "sensing", params(DeadLetterParams),
    responses((status = 200, body = Vec<DeadLetter>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn dead_letters(State(state): State<AppState>, actor: Actor, ApiQuery(params): ApiQuery<DeadLetterParams>) -> ApiResult<axum::Json<Vec<DeadLetter>>> {
    actor.require(Role::administers, "read the dead letters")?;
    let limit = params.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request("limit", "must be between 1 and 500"));
    }
    Ok(axum::Json(state.store.list_dead_letters(params.before, limit).await?))
}

/// A device's broker login, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceCredentials {
    pub device_code: String,
    /// The MQTT username (the device id); use it as the client id too.
    pub username: String,
    pub password: String,
    /// What the device may publish to.
    pub publish: String,
    /// Where its commands arrive.
    pub commands: String,
}

/// The broker connection, or 503 when none is configured.
fn broker(state: &AppState) -> ApiResult<&linli_bus::control::MqttControl> {
    state.broker.as_deref().ok_or_else(|| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "no MQTT broker is configured (mqtt.url)"))
}

fn broker_error(error: linli_bus::BusError) -> ApiError {
    tracing::error!(%error, "the MQTT broker refused or did not answer");
    ApiError::new(StatusCode::BAD_GATEWAY, "broker_error", error.to_string())
}

/// Issues a device its broker credentials (integrators, administrators): a new password, shown
/// only in this answer; issuing again replaces it. The broker (Mosquitto's dynamic-security
/// plugin) then lets the device publish only under its own topics and receive only its commands.
#[utoipa::path(post, path = "/devices/{code}/credentials", tag = "sensing", params(("code" = String, Path)),
    responses((status = 201, body = DeviceCredentials), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)), security(("bearer" = [])))]
pub async fn issue_credentials(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(code): ApiPath<String>,
) -> ApiResult<(StatusCode, axum::Json<DeviceCredentials>)> {
    actor.require(Role::manages_devices, "issue device credentials")?;
    let device = state.store.get_device(&actor.scope, &code).await?;
    if device.status == DeviceStatus::Decommissioned {
        return Err(ApiError::conflict("decommissioned", format!("device {code:?} is decommissioned")));
    }
    let broker = broker(&state)?;
    if !broker.provisions() {
        return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "device provisioning is off (mqtt.provisioning)"));
    }
    let password = crate::auth::random_token_body();
    broker.issue_credentials(&device.code, &password).await.map_err(broker_error)?;
    tracing::info!(device = %device.code, by = %actor.user.username, "device credentials issued");
    let (publish, commands) = linli_bus::control::device_topics(&device.code);
    Ok((StatusCode::CREATED, axum::Json(DeviceCredentials { device_code: device.code.clone(), username: device.code, password, publish, commands })))
}

/// Revokes a device's broker credentials (integrators, administrators): the broker disconnects
/// it and refuses it from then on.
#[utoipa::path(delete, path = "/devices/{code}/credentials", tag = "sensing", params(("code" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_credentials(State(state): State<AppState>, actor: Actor, ApiPath(code): ApiPath<String>) -> ApiResult<StatusCode> {
    actor.require(Role::manages_devices, "revoke device credentials")?;
    let device = state.store.get_device(&actor.scope, &code).await?;
    if !broker(&state)?.revoke_credentials(&device.code).await.map_err(broker_error)? {
        return Err(ApiError::not_found(format!("device {code:?} has no broker credentials")));
    }
    tracing::info!(device = %device.code, by = %actor.user.username, "device credentials revoked");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CommandRequest {
    /// What the device is to do, e.g. `open`, `reboot`, `set_interval`.
    pub command: Option<String>,
    /// The command's arguments, passed through to the device.
    #[serde(default)]
    pub params: Option<serde_json::Value>,
}

/// A command as published to the device.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceCommand {
    /// Unique; a device that answers (on its event topic) names it.
    pub id: String,
    pub topic: String,
    pub command: String,
    pub params: serde_json::Value,
    /// When it was sent, RFC 3339.
    pub ts: String,
}

/// Sends a command to a device over MQTT (`linli/v1/devices/{code}/command`, QoS 1): integrators
/// and administrators.
#[utoipa::path(post, path = "/devices/{code}/commands", tag = "sensing", params(("code" = String, Path)), request_body = CommandRequest,
    responses((status = 202, body = DeviceCommand), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)), security(("bearer" = [])))]
pub async fn send_command(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(code): ApiPath<String>,
    ApiJson(request): ApiJson<CommandRequest>,
) -> ApiResult<(StatusCode, axum::Json<DeviceCommand>)> {
    actor.require(Role::manages_devices, "send commands to devices")?;
    let command = linli_domain::text::parse_code("command", request.command.as_deref().unwrap_or_default())?;
    let params = request.params.unwrap_or(serde_json::Value::Object(Default::default()));
    if !params.is_object() {
        return Err(ApiError::bad_request("params", "must be a JSON object"));
    }
    let device = state.store.get_device(&actor.scope, &code).await?;
    if device.status == DeviceStatus::Decommissioned {
        return Err(ApiError::conflict("decommissioned", format!("device {code:?} is decommissioned")));
    }
    let broker = broker(&state)?;
    let now = state.now();
    let sent = DeviceCommand {
        id: format!("cmd-{now}-{}", &crate::auth::random_token_body()[..8]),
        topic: linli_domain::sensing::payload::command_topic(&device.code),
        command,
        params,
        ts: linli_domain::time::format_rfc3339(now),
    };
    let payload = serde_json::json!({"id": sent.id, "command": sent.command, "params": sent.params, "ts": sent.ts});
    broker.send_command(&device.code, payload.to_string().into_bytes()).await.map_err(broker_error)?;
    tracing::info!(device = %device.code, command = %sent.command, id = %sent.id, by = %actor.user.username, "command sent");
    Ok((StatusCode::ACCEPTED, axum::Json(sent)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_area_average_weighs_each_device_by_its_readings() {
        let point = |device: &str, at: i64, value: f64, count: i64| SeriesPoint { device_code: device.into(), at, value: Some(value), count };
        let points = [point("a", 0, 0.2, 1), point("b", 0, 0.8, 3), point("b", 60, 0.5, 1)];
        let avg = combine(Aggregate::Avg, &points);
        assert_eq!(avg.len(), 2);
        assert!((avg[0].value.unwrap() - (0.2 + 0.8 * 3.0) / 4.0).abs() < 1e-12);
        assert_eq!((avg[0].count, avg[1].value), (4, Some(0.5)));
        assert_eq!(combine(Aggregate::Min, &points)[0].value, Some(0.2));
        assert_eq!(combine(Aggregate::Sum, &points)[0].value, Some(1.0));
    }
}

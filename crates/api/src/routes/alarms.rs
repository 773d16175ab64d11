//! `/alarms`: alarms pushed by AI cameras and edge boxes (高空抛物, 违停, 消防通道占用, 周界入侵,
//! 人员聚集), as JSON or as multipart with the snapshot attached. Each becomes an event from
//! `camera_ai` at the camera's place, with the snapshot as evidence; the event centre merges
//! repeats into one incident and opens an order when the rules say so.
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{header, StatusCode};
use linli_domain::sensing::alarms::{Alarm, AlarmInput, ImageRegion};
use linli_domain::Role;
use linli_store::EventOutcome;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::events::{mask_outcome, record};
use super::media::{check_media_type, store_media};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Actor;
use crate::{AppState, EventBody};

pub fn router() -> OpenApiRouter<AppState> {
    // Sizes are checked while reading, to answer with the API's own error.
    OpenApiRouter::new().routes(routes!(push_alarm)).layer(DefaultBodyLimit::disable())
}

/// An alarm from a camera or edge box. As `multipart/form-data`, the part `alarm` holds this JSON
/// and the part `snapshot` the image.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlarmBody {
    /// The camera's device code in the registry.
    pub camera_id: Option<String>,
    /// throwing (高空抛物), illegal_parking (违停), fire_lane_blocked (消防通道占用), intrusion
    /// (周界入侵) or crowd (人员聚集); the Chinese names are accepted too.
    #[serde(rename = "type")]
    pub alarm_type: Option<String>,
    /// RFC 3339 or epoch milliseconds; receipt time when absent.
    #[schema(value_type = Option<Object>)]
    pub time: Option<serde_json::Value>,
    /// 0 to 1.
    pub confidence: Option<f64>,
    /// Where in the image, as fractions of its width and height.
    pub region: Option<ImageRegion>,
    /// The camera's own id for the alarm; a repeat is answered with the first event.
    pub alarm_id: Option<String>,
    /// A snapshot already uploaded with POST /media.
    pub snapshot: Option<String>,
    pub description: Option<String>,
}

/// Receives an alarm (integrators' and administrators' tokens): 201 with the event, its incident
/// and the order it opened or joined.
#[utoipa::path(post, path = "/alarms", tag = "sensing", request_body(content = AlarmBody, content_type = "application/json"),
    responses((status = 201, body = EventOutcome), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn push_alarm(State(state): State<AppState>, actor: Actor, request: Request) -> ApiResult<(StatusCode, axum::Json<EventOutcome>)> {
    actor.require(Role::pushes_alarms, "push camera alarms")?;
    // The alarm as sent, kept with the reason when it is refused.
    let mut raw = Vec::new();
    let result = receive_alarm(&state, &actor, request, &mut raw).await;
    if let Err(error) = &result {
        if matches!(error.status, StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND) {
            metrics::counter!("linli_alarms_refused_total").increment(1);
            let fields: Vec<String> = error.errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
            let reason = if fields.is_empty() { error.message.clone() } else { fields.join("; ") };
            // Read loosely: the alarm may be refused for not being an alarm at all.
            let camera = serde_json::from_slice::<serde_json::Value>(&raw).ok().and_then(|v| v["camera_id"].as_str().map(str::to_string));
            let payload = String::from_utf8_lossy(&raw[..raw.len().min(ALARM_BYTES)]).into_owned();
            let letter = linli_store::DeadLetter { id: 0, at: state.now(), source: "http:/api/v1/alarms".into(), device_code: camera, reason, payload };
            if let Err(error) = state.store.record_dead_letter(&letter).await {
                tracing::error!(%error, "keeping a refused alarm as a dead letter failed");
            }
        }
    }
    result
}

async fn receive_alarm(state: &AppState, actor: &Actor, request: Request, raw: &mut Vec<u8>) -> ApiResult<(StatusCode, axum::Json<EventOutcome>)> {
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let snapshot = if content_type.starts_with("multipart/form-data") {
        read_multipart(state, request, raw).await?
    } else {
        *raw = axum::body::to_bytes(request.into_body(), ALARM_BYTES).await.map_err(|_| ApiError::bad_request("body", "larger than 64 KiB"))?.to_vec();
        None
    };
    let body = parse_body(raw)?;
    let alarm = Alarm::parse(
        AlarmInput {
            camera_id: body.camera_id.as_deref(),
            alarm_type: body.alarm_type.as_deref(),
            time: body.time.as_ref(),
            confidence: body.confidence,
            region: body.region,
            alarm_id: body.alarm_id.as_deref(),
        },
        state.now(),
    )?;
    let camera = state.store.get_device(&actor.scope, &alarm.camera_code).await?;
    // Kept only once the alarm is known good, so a refused alarm leaves nothing behind.
    let snapshot = match snapshot {
        Some((content_type, bytes)) => Some(store_media(state, "snapshot", &content_type, &bytes).await?.id),
        None => body.snapshot.clone(),
    };
    let (category, severity) = alarm.alarm_type.event();
    let evidence = snapshot.into_iter().collect();
    let mut attributes = linli_domain::Attributes::new();
    attributes.insert("alarm_type".into(), alarm.alarm_type.as_str().into());
    if let Some(confidence) = alarm.confidence {
        attributes.insert("confidence".into(), confidence.into());
    }
    if let Some(region) = alarm.region {
        attributes.insert("region".into(), serde_json::to_value(region).expect("regions serialize"));
    }
    let event = EventBody {
        source: Some("camera_ai".into()),
        category: Some(category.into()),
        severity: Some(severity.as_str().into()),
        title: Some(format!("{}：{}", alarm.alarm_type.label_zh(), camera.name)),
        description: body.description,
        region_code: Some(camera.region_code.clone()),
        lon: camera.position.map(|p| p.lon),
        lat: camera.position.map(|p| p.lat),
        occurred_at: Some(linli_domain::time::format_rfc3339(alarm.at)),
        evidence,
        external_id: alarm.alarm_id.map(|id| format!("{}/{id}", camera.code)),
        device_code: Some(camera.code.clone()),
        attributes,
        ..EventBody::default()
    };
    let mut outcome = record(state, Some(actor), event, None).await?;
    metrics::counter!("linli_alarms_total", "type" => alarm.alarm_type.as_str()).increment(1);
    mask_outcome(&mut outcome, actor.role());
    Ok((StatusCode::CREATED, axum::Json(outcome)))
}

fn parse_body(bytes: &[u8]) -> ApiResult<AlarmBody> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request("body", format!("not a valid alarm: {e}")))
}

/// The largest alarm (JSON) accepted, alone or as a multipart part.
const ALARM_BYTES: usize = 64 * 1024;

/// A multipart part, read in chunks so an oversized one is refused without holding it all.
async fn read_part(field: &mut axum::extract::multipart::Field<'_>, name: &str, max: usize) -> ApiResult<Vec<u8>> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| ApiError::bad_request(name, format!("unreadable: {e}")))? {
        if bytes.len() + chunk.len() > max {
            return Err(ApiError::bad_request(name, format!("larger than {max} bytes")));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The `alarm` part (JSON) and the `snapshot` part (its content type and bytes).
async fn read_multipart(state: &AppState, request: Request, alarm: &mut Vec<u8>) -> ApiResult<Option<(String, Vec<u8>)>> {
    let mut multipart = Multipart::from_request(request, state).await.map_err(|e| ApiError::bad_request("body", format!("bad multipart body: {e}")))?;
    let mut body = None;
    let mut snapshot = None;
    let max = state.max_media_bytes;
    while let Some(mut field) = multipart.next_field().await.map_err(|e| ApiError::bad_request("body", format!("bad multipart body: {e}")))? {
        match field.name().unwrap_or("") {
            "alarm" => body = Some(read_part(&mut field, "alarm", ALARM_BYTES).await?),
            "snapshot" => {
                let content_type = field.content_type().unwrap_or("application/octet-stream").to_string();
                check_media_type("snapshot", &content_type)?;
                let bytes = read_part(&mut field, "snapshot", max).await?;
                snapshot = Some((content_type, bytes));
            }
            other => return Err(ApiError::bad_request(other, "unexpected part; send `alarm` and optionally `snapshot`")),
        }
    }
    *alarm = body.ok_or_else(|| ApiError::bad_request("alarm", "the multipart body has no `alarm` part"))?;
    Ok(snapshot)
}

//! Open311 GeoReport v2 (<http://wiki.open311.org/GeoReport_v2>) at `/open311/v2`: discovery,
//! services (one per taxonomy category), service definitions, service requests (POST with an API
//! key, GET by id, by filter, by token), in JSON and XML, with the specification's error array.
//! A service request is a Linli event from the `open311` source; its status follows the work
//! order of its incident.
use std::collections::HashMap;

use axum::extract::{Query, RawForm, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use linli_domain::governance::event::Event;
use linli_domain::governance::{taxonomy, Category, OrderStatus, WorkOrder};
use linli_domain::time::format_rfc3339;
use linli_domain::{Level, Position};
use linli_store::{EventFilter, Jurisdiction, PageRequest, RegionFilter};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::routes::events::{locate, record, EventBody};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/{file}", get(get_root).post(post_root))
        .route("/services/{file}", get(service_definition))
        .route("/requests/{file}", get(one_request))
        .route("/tokens/{file}", get(token))
}

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Json,
    Xml,
}

/// An Open311 error: HTTP status and the specification's `[{code, description}]` body.
struct Open311Error {
    status: StatusCode,
    description: String,
}

impl Open311Error {
    fn new(status: StatusCode, description: impl Into<String>) -> Self {
        Open311Error { status, description: description.into() }
    }
}

impl From<ApiError> for Open311Error {
    fn from(error: ApiError) -> Self {
        Open311Error::new(error.status, error.message)
    }
}

impl From<linli_store::StoreError> for Open311Error {
    fn from(error: linli_store::StoreError) -> Self {
        ApiError::from(error).into()
    }
}

type Reply = Result<Response, (Format, Open311Error)>;

fn split(file: &str) -> Result<(&str, Format), (Format, Open311Error)> {
    match file.rsplit_once('.') {
        Some((stem, "json")) => Ok((stem, Format::Json)),
        Some((stem, "xml")) => Ok((stem, Format::Xml)),
        _ => Err((Format::Json, Open311Error::new(StatusCode::NOT_FOUND, "unknown format: end the path with .json or .xml"))),
    }
}

fn respond(format: Format, status: StatusCode, root: &str, item: &str, value: &Value) -> Response {
    match format {
        Format::Json => (status, axum::Json(value.clone())).into_response(),
        Format::Xml => (status, [(header::CONTENT_TYPE, "text/xml; charset=utf-8")], to_xml(root, item, value)).into_response(),
    }
}

fn fail(format: Format, error: Open311Error) -> Response {
    let body = json!([{ "code": error.status.as_u16(), "description": error.description }]);
    respond(format, error.status, "errors", "error", &body)
}

fn finish(reply: Reply) -> Response {
    reply.unwrap_or_else(|(format, error)| fail(format, error))
}

/// The XML form of a JSON reply. Written by hand: GeoReport's XML is a fixed, shallow mapping of
/// its JSON (a root element, one element per array item, one per field), which no serde XML
/// crate produces without a struct per document.
fn to_xml(root: &str, item: &str, value: &Value) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    match value {
        Value::Array(items) => {
            out.push_str(&format!("<{root}>"));
            for v in items {
                write_element(&mut out, item, v);
            }
            out.push_str(&format!("</{root}>"));
        }
        other => write_element(&mut out, root, other),
    }
    out
}

/// The element name of one item of a nested list.
fn singular(name: &str) -> &str {
    match name {
        "endpoints" => "endpoint",
        "formats" => "format",
        "attributes" => "attribute",
        "values" => "value",
        other => other,
    }
}

fn write_element(out: &mut String, name: &str, value: &Value) {
    out.push_str(&format!("<{name}>"));
    match value {
        Value::Null => {}
        Value::String(s) => out.push_str(&escape(s)),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::Array(items) => items.iter().for_each(|v| write_element(out, singular(name), v)),
        Value::Object(map) => map.iter().for_each(|(k, v)| write_element(out, k, v)),
    }
    out.push_str(&format!("</{name}>"));
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

async fn get_root(
    State(state): State<AppState>,
    axum::extract::Path(file): axum::extract::Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    finish(get_root_inner(&state, &file, &params).await)
}

async fn get_root_inner(state: &AppState, file: &str, params: &HashMap<String, String>) -> Reply {
    let (stem, format) = split(file)?;
    let fail = |e: Open311Error| (format, e);
    match stem {
        "discovery" => Ok(respond(format, StatusCode::OK, "discovery", "discovery", &discovery())),
        "services" => {
            let services: Vec<Value> = state.taxonomy().await.map_err(|e| fail(e.into()))?.iter().map(service).collect();
            Ok(respond(format, StatusCode::OK, "services", "service", &Value::Array(services)))
        }
        "requests" => {
            let requests = list_requests(state, params).await.map_err(fail)?;
            Ok(respond(format, StatusCode::OK, "service_requests", "request", &Value::Array(requests)))
        }
        _ => Err(fail(Open311Error::new(StatusCode::NOT_FOUND, format!("no such resource {stem:?}")))),
    }
}

fn discovery() -> Value {
    json!({
        "changeset": "2026-11-25T00:00:00Z",
        "contact": "the street office running this Linli platform",
        "key_service": "API keys are issued by the platform's administrators (POST /api/v1/open311/keys)",
        "endpoints": [{
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": "/open311/v2",
            "changeset": "2026-11-25T00:00:00Z",
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    })
}

fn service(category: &Category) -> Value {
    json!({
        "service_code": category.code,
        "service_name": category.name_zh,
        "description": category.covers,
        "metadata": true,
        "type": "realtime",
        "keywords": category.code.replace('.', ","),
        "group": category.code.split('.').next().unwrap_or(&category.code),
    })
}

/// The one optional attribute every service takes: how serious the problem is.
fn definition(category: &Category) -> Value {
    json!({
        "service_code": category.code,
        "attributes": [{
            "variable": true,
            "code": "severity",
            "datatype": "singlevaluelist",
            "required": false,
            "datatype_description": "one of the keys listed",
            "order": 1,
            "description": "how serious the problem is (严重程度)",
            "values": [
                { "key": "info", "name": "提示 information" },
                { "key": "minor", "name": "一般 minor" },
                { "key": "major", "name": "重要 major" },
                { "key": "critical", "name": "紧急 critical" },
            ],
        }],
    })
}

async fn service_definition(State(state): State<AppState>, axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let inner = async {
        let (code, format) = split(&file)?;
        let categories = state.taxonomy().await.map_err(|e| (format, e.into()))?;
        let category = taxonomy::find(&categories, "service_code", code)
            .map_err(|_| (format, Open311Error::new(StatusCode::NOT_FOUND, format!("service_code {code:?} not found"))))?;
        Ok(respond(format, StatusCode::OK, "service_definition", "service_definition", &definition(category)))
    };
    finish(inner.await)
}

async fn post_root(
    State(state): State<AppState>,
    axum::extract::Path(file): axum::extract::Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    headers: axum::http::HeaderMap,
    RawForm(form): RawForm,
) -> Response {
    let inner = async {
        let (stem, format) = split(&file)?;
        let fail = |e: Open311Error| (format, e);
        if stem != "requests" {
            return Err(fail(Open311Error::new(StatusCode::NOT_FOUND, format!("cannot POST to {stem:?}"))));
        }
        let is_json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"));
        let mut params: HashMap<String, String> = query.into_iter().collect();
        if is_json {
            let body: HashMap<String, Value> =
                serde_json::from_slice(&form).map_err(|e| fail(Open311Error::new(StatusCode::BAD_REQUEST, format!("malformed JSON body: {e}"))))?;
            for (k, v) in body {
                params.insert(k, v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
            }
        } else {
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_bytes(&form).map_err(|e| fail(Open311Error::new(StatusCode::BAD_REQUEST, format!("malformed form body: {e}"))))?;
            params.extend(pairs);
        }
        let created = create_request(&state, &params).await.map_err(fail)?;
        Ok(respond(format, StatusCode::CREATED, "service_requests", "request", &json!([created])))
    };
    finish(inner.await)
}

fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    params.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
}

fn bad(description: impl Into<String>) -> Open311Error {
    Open311Error::new(StatusCode::BAD_REQUEST, description)
}

async fn create_request(state: &AppState, params: &HashMap<String, String>) -> Result<Value, Open311Error> {
    let key = param(params, "api_key").ok_or_else(|| Open311Error::new(StatusCode::FORBIDDEN, "api_key is required to submit service requests"))?;
    if !state.store.api_key_valid(&crate::auth::hash_token(key)).await? {
        return Err(Open311Error::new(StatusCode::FORBIDDEN, "api_key is not valid"));
    }
    let service_code = param(params, "service_code").ok_or_else(|| bad("service_code is required"))?;
    let categories = state.taxonomy().await?;
    taxonomy::find(&categories, "service_code", service_code).map_err(|_| bad(format!("service_code {service_code:?} not found")))?;
    let number = |name: &str| -> Result<Option<f64>, Open311Error> {
        param(params, name).map(|v| v.parse::<f64>().map_err(|_| bad(format!("{name} must be a number")))).transpose()
    };
    let (lat, lon) = (number("lat")?, number("long")?);
    let address = param(params, "address_string");
    let address_id = param(params, "address_id");
    let region_code = match (lat, lon, address_id, address) {
        (Some(lat), Some(lon), ..) => {
            let position = Position::parse("lat", lon, lat).map_err(|e| bad(e.to_string()))?;
            Some(locate(state, position).await.map_err(|_| bad("lat/long lie outside the area this service covers"))?)
        }
        (Some(_), None, ..) | (None, Some(_), ..) => return Err(bad("lat and long must be given together")),
        (None, None, Some(id), _) => {
            state.store.get_region(&Jurisdiction::everywhere(), id).await.map_err(|_| bad(format!("address_id {id:?} is not a known place")))?;
            Some(id.to_string())
        }
        (None, None, None, Some(address)) => Some(place_address(state, address).await?),
        (None, None, None, None) => return Err(bad("a location is required: lat and long, address_string or address_id")),
    };
    let name = [param(params, "first_name"), param(params, "last_name")].into_iter().flatten().collect::<Vec<_>>().join(" ");
    let mut attributes = linli_domain::Attributes::new();
    for field in ["email", "device_id", "account_id", "media_url", "jurisdiction_id"] {
        if let Some(v) = param(params, field) {
            attributes.insert(field.to_string(), Value::String(v.to_string()));
        }
    }
    let body = EventBody {
        source: Some("open311".into()),
        category: Some(service_code.to_string()),
        region_code,
        lon,
        lat,
        address: address.map(str::to_string),
        occurred_at: None,
        severity: param(params, "attribute[severity]").map(str::to_string),
        title: None,
        description: param(params, "description").map(str::to_string),
        reporter_name: (!name.is_empty()).then_some(name),
        reporter_phone: param(params, "phone").map(str::to_string),
        evidence: Vec::new(),
        external_id: None,
        device_code: None,
        attributes,
    };
    let outcome = record(state, None, body, None).await.map_err(|e| bad(e.message))?;
    let notice = match &outcome.order {
        Some(order) => format!("received; work order {} will be handled by {}", order.id, order.holder.name),
        None => "received".to_string(),
    };
    Ok(json!({
        "service_request_id": outcome.event.id.to_string(),
        "token": outcome.event.id.to_string(),
        "service_notice": notice,
        "account_id": param(params, "account_id"),
    }))
}

/// Finds the place an address names: the longest community or street name it contains.
async fn place_address(state: &AppState, address: &str) -> Result<String, Open311Error> {
    let mut best: Option<(usize, String)> = None;
    for level in [Level::Community, Level::Street] {
        let filter = RegionFilter { level: Some(level), ..Default::default() };
        let page = state.store.list_regions(&Jurisdiction::everywhere(), &filter, &PageRequest::first(PageRequest::MAX_LIMIT)).await?;
        for region in page.items {
            if address.contains(&region.name) && best.as_ref().is_none_or(|(len, _)| region.name.len() > *len) {
                best = Some((region.name.len(), region.code));
            }
        }
        if best.is_some() {
            break;
        }
    }
    best.map(|(_, code)| code).ok_or_else(|| bad("address_string names no community or street this service covers; send lat and long"))
}

/// A service request as GeoReport shows it.
fn request_view(event: &Event, order: Option<&WorkOrder>, categories: &[Category]) -> Value {
    let closed = order.is_some_and(|o| matches!(o.status, OrderStatus::Resolved | OrderStatus::Callback | OrderStatus::Closed | OrderStatus::Terminated));
    let updated = order
        .map(|o| [Some(o.created_at), o.responded_at, o.resolved_at, o.closed_at].into_iter().flatten().max().unwrap_or(o.created_at))
        .unwrap_or(event.received_at);
    let media_url = event
        .evidence
        .first()
        .map(|id| format!("/api/v1/media/{id}"))
        .or_else(|| event.attributes.get("media_url").and_then(|v| v.as_str()).map(str::to_string));
    json!({
        "service_request_id": event.id.to_string(),
        "status": if closed { "closed" } else { "open" },
        "status_notes": order.and_then(|o| o.result.clone().or(o.termination_reason.clone())),
        "service_name": categories.iter().find(|c| c.code == event.category).map(|c| c.name_zh.clone()).unwrap_or_else(|| event.category.clone()),
        "service_code": event.category,
        "description": event.description,
        "agency_responsible": order.map(|o| o.holder.name.clone()),
        "service_notice": Value::Null,
        "requested_datetime": format_rfc3339(event.received_at),
        "updated_datetime": format_rfc3339(updated),
        "expected_datetime": order.map(|o| format_rfc3339(o.resolve_due_at)),
        "address": event.address,
        "address_id": event.region_code,
        "zipcode": Value::Null,
        "lat": event.position.map(|p| p.lat),
        "long": event.position.map(|p| p.lon),
        "media_url": media_url,
    })
}

async fn views(state: &AppState, events: Vec<Event>) -> Result<Vec<Value>, Open311Error> {
    let categories = state.taxonomy().await?;
    let everywhere = Jurisdiction::everywhere();
    let mut orders: HashMap<i64, Option<WorkOrder>> = HashMap::new();
    let mut out = Vec::with_capacity(events.len());
    for event in events {
        let order = match orders.get(&event.incident_id) {
            Some(order) => order.clone(),
            None => {
                let incident = state.store.get_incident(&everywhere, event.incident_id).await?;
                let order = match incident.order_id {
                    Some(id) => Some(state.store.get_order(&everywhere, id).await?.0),
                    None => None,
                };
                orders.insert(event.incident_id, order.clone());
                order
            }
        };
        out.push(request_view(&event, order.as_ref(), &categories));
    }
    Ok(out)
}

/// GeoReport's date parameters: W3C date-times.
fn date_param(params: &HashMap<String, String>, name: &str) -> Result<Option<i64>, Open311Error> {
    param(params, name).map(|v| linli_domain::time::parse_rfc3339(name, v).map_err(|e| bad(e.to_string()))).transpose()
}

async fn list_requests(state: &AppState, params: &HashMap<String, String>) -> Result<Vec<Value>, Open311Error> {
    let everywhere = Jurisdiction::everywhere();
    if let Some(ids) = param(params, "service_request_id") {
        let mut events = Vec::new();
        for id in ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let id: i64 = id.parse().map_err(|_| bad(format!("service_request_id {id:?} is not a request id")))?;
            match state.store.get_event(&everywhere, id).await {
                Ok(event) => events.push(event),
                Err(linli_store::StoreError::NotFound { .. }) => {}
                Err(other) => return Err(other.into()),
            }
        }
        return views(state, events).await;
    }
    let now = state.now();
    let end = date_param(params, "end_date")?.unwrap_or(now + 1);
    let start = date_param(params, "start_date")?.unwrap_or(end - 90 * 86_400_000);
    let statuses: Vec<&str> = param(params, "status").map(|s| s.split(',').map(str::trim).collect()).unwrap_or_default();
    if let Some(bad_status) = statuses.iter().find(|s| !matches!(**s, "open" | "closed")) {
        return Err(bad(format!("status {bad_status:?} must be open or closed")));
    }
    let codes: Vec<&str> = param(params, "service_code").map(|s| s.split(',').map(str::trim).collect()).unwrap_or_default();
    let filter = EventFilter { from: Some(start), to: Some(end), category: (codes.len() == 1).then(|| codes[0].to_string()), ..Default::default() };
    let mut out = Vec::new();
    let mut page = PageRequest::first(500);
    // GeoReport caps a response at 1000 requests.
    while out.len() < 1000 {
        let batch = state.store.list_events(&everywhere, &filter, &page).await?;
        let events: Vec<Event> = batch.items.into_iter().filter(|e| codes.is_empty() || codes.contains(&e.category.as_str())).collect();
        for view in views(state, events).await? {
            if statuses.is_empty() || statuses.contains(&view["status"].as_str().unwrap_or("")) {
                out.push(view);
            }
        }
        match batch.next_cursor {
            Some(cursor) => page.after = Some(cursor),
            None => break,
        }
    }
    out.truncate(1000);
    Ok(out)
}

async fn one_request(State(state): State<AppState>, axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let inner = async {
        let (id, format) = split(&file)?;
        let fail = |e: Open311Error| (format, e);
        let not_found = || fail(Open311Error::new(StatusCode::NOT_FOUND, format!("service request {id:?} not found")));
        let id: i64 = id.parse().map_err(|_| not_found())?;
        let event = match state.store.get_event(&Jurisdiction::everywhere(), id).await {
            Ok(event) => event,
            Err(linli_store::StoreError::NotFound { .. }) => return Err(not_found()),
            Err(other) => return Err(fail(other.into())),
        };
        let views = views(&state, vec![event]).await.map_err(fail)?;
        Ok(respond(format, StatusCode::OK, "service_requests", "request", &Value::Array(views)))
    };
    finish(inner.await)
}

/// Tokens: every request gets its id at once, so a token is the id itself.
async fn token(State(state): State<AppState>, axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let inner = async {
        let (token, format) = split(&file)?;
        let fail = |e: Open311Error| (format, e);
        let not_found = || fail(Open311Error::new(StatusCode::NOT_FOUND, format!("token {token:?} not found")));
        let id: i64 = token.parse().map_err(|_| not_found())?;
        match state.store.get_event(&Jurisdiction::everywhere(), id).await {
            Ok(event) => {
                Ok(respond(format, StatusCode::OK, "service_requests", "request", &json!([{ "service_request_id": event.id.to_string(), "token": token }])))
            }
            Err(linli_store::StoreError::NotFound { .. }) => Err(not_found()),
            Err(other) => Err(fail(other.into())),
        }
    };
    finish(inner.await)
}

//! Values that cross the [`Store`](crate::Store) boundary for the event centre and work orders.
use linli_domain::governance::event::{Event, Incident, NewEvent};
use linli_domain::governance::order::HistoryEntry;
use linli_domain::governance::{OrderStatus, WorkOrder};
use serde::Serialize;

use crate::StoreError;

/// Decides a change to a record read inside the writing transaction: the new value and what to
/// append to its history, or why not. `covered` says whether the record lies in the caller's
/// jurisdiction. The store writes the result atomically, or nothing.
pub type Decide<'a, T> = &'a (dyn Fn(&T, bool) -> Result<(T, Vec<HistoryEntry>), StoreError> + Send + Sync);

/// A validated event placed at a node of the registry.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEventRecord {
    pub event: NewEvent,
    pub region_code: String,
}

/// What recording an event did.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EventOutcome {
    pub event: Event,
    pub incident: Incident,
    /// The order opened for the event, or the order of the incident it joined.
    pub order: Option<WorkOrder>,
    /// Whether the event joined an existing incident.
    pub merged: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrderFilter {
    pub statuses: Vec<OrderStatus>,
    /// `region:CODE` or `organisation:CODE`: orders that unit holds now.
    pub holder_key: Option<String>,
    /// Orders escalated to this unit.
    pub escalated_key: Option<String>,
    pub category: Option<String>,
    pub source: Option<String>,
    pub within_code: Option<String>,
    pub proactive: Option<bool>,
    pub overdue: Option<bool>,
    pub supervised: Option<bool>,
    /// Orders a platform user asked for (a resident's own reports).
    pub requester_id: Option<i64>,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventFilter {
    pub within_code: Option<String>,
    pub category: Option<String>,
    pub source: Option<String>,
    pub incident_id: Option<i64>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct WhistleFilter {
    pub within_code: Option<String>,
    pub status: Option<String>,
    pub org_code: Option<String>,
}

/// Which orders the three rates are computed over: created in `[from, to)`, located within a
/// node and/or handled by an organisation; deadlines are judged at `now`.
#[derive(Debug, Clone, PartialEq)]
pub struct RateQuery {
    pub within_code: Option<String>,
    pub org_code: Option<String>,
    pub from: i64,
    pub to: i64,
    pub now: i64,
}

/// A routing-table entry: orders of `category` at or below `region_code` go to `org_code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Route {
    pub category: String,
    pub region_code: String,
    pub org_code: String,
}

/// A community's application for a work order, a whistle or a resource, and the street's decision.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Application {
    pub id: i64,
    /// `work_order`, `whistle` or `resource`.
    pub kind: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub region_code: String,
    pub title: String,
    pub description: String,
    /// What is asked for: the order's or whistle's fields, or the resource wanted.
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
    pub applicant: linli_domain::governance::order::ActorRef,
    #[serde(with = "linli_domain::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    pub decided_by: Option<linli_domain::governance::order::ActorRef>,
    #[serde(with = "linli_domain::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<i64>,
    pub reason: Option<String>,
    /// The order or whistle the approval opened.
    pub result_id: Option<i64>,
}

/// One change in the outbox: what webhooks deliver and the live stream carries.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OutboxMessage {
    pub id: i64,
    #[serde(with = "linli_domain::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: i64,
    /// e.g. `order.dispatched`, `event.created`, `whistle.checked_in`.
    pub topic: String,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    /// Topic prefixes delivered, e.g. `order.` or `order.resolved`; empty means all.
    pub topics: Vec<String>,
    /// The last outbox message handled.
    pub cursor: i64,
    pub last_status: Option<String>,
    #[serde(with = "linli_domain::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    #[serde(skip)]
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewWebhook {
    pub url: String,
    pub secret: String,
    pub topics: Vec<String>,
    pub created_by: i64,
    pub created_at: i64,
    /// Deliveries start after this outbox message (the newest one at creation).
    pub cursor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MediaInfo {
    pub id: String,
    pub content_type: String,
    pub size: i64,
    #[serde(with = "linli_domain::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
}

/// What the cockpit asks of a place (`within_code`, default the caller's jurisdiction): counts
/// since `day_start` (today), orders per day and category since `trend_from`, and the same open
/// and overdue counts for each of `areas` (codes of nodes below, such as its streets).
#[derive(Debug, Clone, PartialEq)]
pub struct SituationQuery {
    pub within_code: Option<String>,
    pub day_start: i64,
    pub trend_from: i64,
    pub areas: Vec<String>,
}

/// A place's situation: its orders, events and devices, counted.
#[derive(Debug, Clone, PartialEq, Default, Serialize, utoipa::ToSchema)]
pub struct Situation {
    /// Orders created today.
    pub orders_today: i64,
    /// Orders whose resolution clock runs (new, dispatched, accepted, in progress, returned).
    pub orders_open: i64,
    /// Open orders past their resolution deadline.
    pub orders_overdue: i64,
    /// Orders closed today.
    pub orders_closed_today: i64,
    /// Events reported today.
    pub events_today: i64,
    /// Today's events by category, most first.
    pub events_by_category: Vec<CategoryCount>,
    /// Today's events by scene (`throwing`, `illegal_parking`, `fire_lane_blocked`, `intrusion`,
    /// `crowd`, `group_rental`, `bin_overflow`); scenes without events are left out.
    pub scenes: Vec<SceneCount>,
    /// Orders created per Beijing day and category since `trend_from`.
    pub trend: Vec<DayCount>,
    /// Counts for each requested area, in the order asked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub areas: Vec<AreaCount>,
    /// Devices by kind and status.
    pub devices: Vec<DeviceCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CategoryCount {
    pub category: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SceneCount {
    pub scene: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DayCount {
    /// The Beijing date, `YYYY-MM-DD`.
    pub day: String,
    pub category: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AreaCount {
    pub code: String,
    pub orders_open: i64,
    pub orders_overdue: i64,
    pub events_today: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeviceCount {
    pub kind: String,
    pub status: String,
    pub count: i64,
}

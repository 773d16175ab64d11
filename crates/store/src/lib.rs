//! Storage for Linli: the [`Store`] trait and its implementation over SQLite (embedded default)
//! and PostgreSQL (production), chosen by URL at start.
//!
//! Architecture invariant: this is the only crate that talks SQL. It knows nothing of HTTP.
//! Both backends share one implementation ([`sql::SqlStore`]) on sqlx's `Any` driver; what differs
//! between them (migrations, the spatial index, pool shape) is confined to `sql/dialect.rs` and
//! the two migration folders, and both pass the same test suite (`tests/suite.rs`).

mod error;
mod governance;
mod model;
mod sensing;
pub mod sql;

use async_trait::async_trait;
use linli_domain::governance::calendar::CalendarDay;
use linli_domain::governance::event::{Event, Incident};
use linli_domain::governance::order::HistoryEntry;
use linli_domain::governance::rates::{RateCounts, ReportRate};
use linli_domain::governance::settings::MergeSettings;
use linli_domain::governance::{Whistle, WorkOrder};
use linli_domain::{
    device::NewDevice,
    organisation::NewOrganisation,
    region::{NewRegion, RegionPatch},
    Device, NewResident, Organisation, Region, Resident, User,
};

pub use error::{RowError, StoreError};
pub use governance::*;
pub use model::*;
pub use sensing::*;
pub use sql::SqlStore;
/// The database driver's error, for callers that classify [`StoreError::Database`].
pub use sqlx::Error as DatabaseError;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything Linli keeps. Every read and write of registry records takes the caller's
/// [`Jurisdiction`], and records outside it are neither returned nor changed.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Checks the database answers.
    async fn ping(&self) -> Result<()>;
    /// Which backend this is, for logs and `/readyz`.
    fn backend(&self) -> &'static str;

    /// The jurisdiction of a node (everything when `None`).
    async fn jurisdiction(&self, region_code: Option<&str>) -> Result<Jurisdiction>;

    async fn create_region(&self, scope: &Jurisdiction, new: &NewRegion) -> Result<Region>;
    async fn get_region(&self, scope: &Jurisdiction, code: &str) -> Result<Region>;
    async fn update_region(&self, scope: &Jurisdiction, code: &str, patch: &RegionPatch) -> Result<Region>;
    /// Deletes a node with no children, people, devices or organisations attached.
    async fn delete_region(&self, scope: &Jurisdiction, code: &str) -> Result<()>;
    async fn list_regions(&self, scope: &Jurisdiction, filter: &RegionFilter, page: &PageRequest) -> Result<Page<Region>>;
    /// The chain from the top of the jurisdiction down to (and including) the node.
    async fn region_ancestors(&self, scope: &Jurisdiction, code: &str) -> Result<Vec<Region>>;

    async fn create_resident(&self, scope: &Jurisdiction, new: &NewResident) -> Result<Resident>;
    async fn get_resident(&self, scope: &Jurisdiction, id: i64) -> Result<Resident>;
    async fn update_resident(&self, scope: &Jurisdiction, id: i64, patch: &ResidentPatch) -> Result<Resident>;
    async fn delete_resident(&self, scope: &Jurisdiction, id: i64) -> Result<()>;
    async fn list_residents(&self, scope: &Jurisdiction, filter: &ResidentFilter, page: &PageRequest) -> Result<Page<Resident>>;
    /// Ties a resident to a further dwelling, or changes the relation of an existing tie.
    async fn link_dwelling(&self, scope: &Jurisdiction, id: i64, dwelling_code: &str, relation: linli_domain::DwellingRelation) -> Result<Resident>;
    async fn unlink_dwelling(&self, scope: &Jurisdiction, id: i64, dwelling_code: &str) -> Result<Resident>;

    async fn create_organisation(&self, scope: &Jurisdiction, new: &NewOrganisation) -> Result<Organisation>;
    async fn get_organisation(&self, scope: &Jurisdiction, code: &str) -> Result<Organisation>;
    async fn update_organisation(&self, scope: &Jurisdiction, code: &str, patch: &OrganisationPatch) -> Result<Organisation>;
    async fn delete_organisation(&self, scope: &Jurisdiction, code: &str) -> Result<()>;
    async fn list_organisations(&self, scope: &Jurisdiction, filter: &OrganisationFilter, page: &PageRequest) -> Result<Page<Organisation>>;

    async fn create_device(&self, scope: &Jurisdiction, new: &NewDevice) -> Result<Device>;
    async fn get_device(&self, scope: &Jurisdiction, code: &str) -> Result<Device>;
    async fn update_device(&self, scope: &Jurisdiction, code: &str, patch: &DevicePatch) -> Result<Device>;
    async fn delete_device(&self, scope: &Jurisdiction, code: &str) -> Result<()>;
    async fn list_devices(&self, scope: &Jurisdiction, filter: &DeviceFilter, page: &PageRequest) -> Result<Page<Device>>;

    /// Writes a whole batch in one transaction, or nothing: on failure every bad row is reported.
    async fn import(&self, scope: &Jurisdiction, batch: &ImportBatch) -> Result<ImportSummary>;
    /// Runs every check of [`Store::import`] and writes nothing: the bad rows, if any.
    async fn check_import(&self, scope: &Jurisdiction, batch: &ImportBatch) -> Result<Vec<RowError>>;

    async fn create_user(&self, new: &NewUser) -> Result<User>;
    async fn get_user(&self, id: i64) -> Result<User>;
    async fn find_user(&self, username: &str) -> Result<Option<(User, String)>>;
    async fn update_user(&self, id: i64, patch: &UserPatch) -> Result<User>;
    async fn list_users(&self, scope: &Jurisdiction, page: &PageRequest) -> Result<Page<User>>;

    async fn insert_token(&self, token: &NewToken) -> Result<()>;
    /// The user holding a live (unexpired, unrevoked) token, with the token's kind.
    async fn token_user(&self, token_hash: &str, now_ms: i64) -> Result<Option<(User, TokenKind)>>;
    async fn revoke_token(&self, token_hash: &str, now_ms: i64) -> Result<()>;

    async fn record_access(&self, entries: &[AccessEntry]) -> Result<()>;
    async fn list_access(&self, filter: &AccessFilter, page: &PageRequest) -> Result<Page<AccessEntry>>;

    /// Counts of each record kind in a jurisdiction, for dashboards and the demo's banner.
    async fn counts(&self, scope: &Jurisdiction) -> Result<RegistryCounts>;

    // --- Configuration of the closed loop ---------------------------------------------------

    /// A stored configuration value (JSON text), if one was stored.
    async fn get_setting(&self, key: &str) -> Result<Option<String>>;
    async fn put_setting(&self, key: &str, value: &str, at: i64) -> Result<()>;
    /// Every listed day of the business calendar.
    async fn calendar_days(&self) -> Result<Vec<CalendarDay>>;
    async fn put_calendar_day(&self, day: &CalendarDay) -> Result<()>;
    async fn delete_calendar_day(&self, date: &str) -> Result<()>;
    async fn list_routes(&self, scope: &Jurisdiction) -> Result<Vec<Route>>;
    async fn put_route(&self, scope: &Jurisdiction, route: &Route) -> Result<()>;
    async fn delete_route(&self, scope: &Jurisdiction, category: &str, region_code: &str) -> Result<()>;
    /// The organisation routed for `category` at the node: the entry of the nearest node at or above it.
    async fn route_for(&self, category: &str, region_code: &str) -> Result<Option<String>>;

    // --- Events, incidents, work orders ---------------------------------------------------

    /// Records an event, merges it into an open incident nearby (see `merge_target`) or opens a
    /// new incident, and, for an incident without an order yet (new, or begun by a report that
    /// opened none), opens `order` (its id, event and incident filled in).
    /// Merging into an incident that has an order counts the report on that order.
    async fn record_event(
        &self,
        scope: &Jurisdiction,
        record: &NewEventRecord,
        merge: &MergeSettings,
        order: Option<&WorkOrder>,
        idempotency_key: Option<&str>,
        at: i64,
    ) -> Result<EventOutcome>;
    async fn get_event(&self, scope: &Jurisdiction, id: i64) -> Result<Event>;
    async fn list_events(&self, scope: &Jurisdiction, filter: &EventFilter, page: &PageRequest) -> Result<Page<Event>>;
    async fn get_incident(&self, scope: &Jurisdiction, id: i64) -> Result<Incident>;

    /// Opens an order (its id assigned) with its first history entries. With an idempotency key
    /// already used, returns the order that key created.
    async fn create_order(&self, scope: &Jurisdiction, order: &WorkOrder, entries: &[HistoryEntry], idempotency_key: Option<&str>) -> Result<WorkOrder>;
    /// An order wherever it is, and whether it lies in `scope` (the caller decides what that allows).
    async fn get_order(&self, scope: &Jurisdiction, id: i64) -> Result<(WorkOrder, bool)>;
    /// Changes an order atomically: reads it, lets `decide` produce the new value and history,
    /// writes both and an outbox message, or nothing. A version other than `expected_version`
    /// fails with [`StoreError::Stale`].
    async fn update_order(
        &self,
        scope: &Jurisdiction,
        id: i64,
        expected_version: Option<i64>,
        decide: Decide<'_, WorkOrder>,
    ) -> Result<(WorkOrder, Vec<HistoryEntry>)>;
    /// Orders in the scope, newest first.
    async fn list_orders(&self, scope: &Jurisdiction, filter: &OrderFilter, page: &PageRequest) -> Result<Page<WorkOrder>>;
    /// The history of an order or whistle (`subject` is `order` or `whistle`), oldest first.
    async fn history(&self, subject: &str, id: i64) -> Result<Vec<HistoryEntry>>;
    /// Ids of orders whose next deadline check is due at `now`.
    async fn orders_due_for_check(&self, now: i64, limit: u32) -> Result<Vec<i64>>;
    async fn rate_counts(&self, scope: &Jurisdiction, query: &RateQuery) -> Result<RateCounts>;
    /// The cockpit's counts of a place (see [`SituationQuery`]).
    async fn situation(&self, scope: &Jurisdiction, query: &SituationQuery) -> Result<Situation>;

    // --- Whistles and applications ------------------------------------------------------------

    async fn create_whistle(&self, scope: &Jurisdiction, whistle: &Whistle, entries: &[HistoryEntry]) -> Result<Whistle>;
    async fn get_whistle(&self, scope: &Jurisdiction, id: i64) -> Result<(Whistle, bool)>;
    async fn update_whistle(&self, scope: &Jurisdiction, id: i64, decide: Decide<'_, Whistle>) -> Result<(Whistle, Vec<HistoryEntry>)>;
    async fn list_whistles(&self, scope: &Jurisdiction, filter: &WhistleFilter, page: &PageRequest) -> Result<Page<Whistle>>;
    /// On-time report rates of departments summoned in `[from, to)`, judged at `now`.
    async fn report_rates(&self, scope: &Jurisdiction, org_code: Option<&str>, from: i64, to: i64, now: i64) -> Result<Vec<ReportRate>>;

    async fn create_application(&self, scope: &Jurisdiction, application: &Application) -> Result<Application>;
    async fn get_application(&self, scope: &Jurisdiction, id: i64) -> Result<Application>;
    async fn update_application(&self, scope: &Jurisdiction, application: &Application) -> Result<()>;
    async fn list_applications(&self, scope: &Jurisdiction, status: Option<&str>, page: &PageRequest) -> Result<Page<Application>>;

    // --- Media, keys, webhooks, the outbox ------------------------------------------------------

    async fn record_media(&self, info: &MediaInfo) -> Result<()>;
    async fn get_media(&self, id: &str) -> Result<Option<MediaInfo>>;
    /// Stores an Open311 API key by its hash.
    async fn create_api_key(&self, key_hash: &str, name: &str, at: i64) -> Result<()>;
    async fn api_key_valid(&self, key_hash: &str) -> Result<bool>;
    async fn create_webhook(&self, new: &NewWebhook) -> Result<Webhook>;
    async fn list_webhooks(&self) -> Result<Vec<Webhook>>;
    async fn delete_webhook(&self, id: i64) -> Result<()>;
    async fn advance_webhook(&self, id: i64, cursor: i64, status: &str) -> Result<()>;
    /// Outbox messages after `after`, oldest first.
    async fn outbox_after(&self, after: i64, limit: u32) -> Result<Vec<OutboxMessage>>;
    async fn outbox_head(&self) -> Result<i64>;

    // --- Sensing --------------------------------------------------------------------------------

    /// Writes a batch of devices' readings, rule states and last-seen times in one transaction.
    /// A reading already stored (same device, attribute and time) is kept once.
    async fn record_telemetry(&self, batch: &[DeviceTelemetry]) -> Result<()>;
    async fn rule_states(&self, device_code: &str) -> Result<Vec<(String, linli_domain::sensing::RuleState)>>;
    /// The latest value of each attribute of a device.
    async fn latest_telemetry(&self, device_code: &str) -> Result<Vec<linli_domain::sensing::Reading>>;
    /// Raw readings and hourly roll-ups together, so a series reaches past the raw retention.
    async fn telemetry_series(&self, query: &SeriesQuery) -> Result<Vec<SeriesPoint>>;
    /// Retention: numeric readings older than `before` become hourly roll-ups and every raw
    /// reading older than it goes; roll-ups older than `hours_before` go too.
    async fn compact_telemetry(&self, before: i64, hours_before: i64) -> Result<Compaction>;
    async fn record_dead_letter(&self, letter: &DeadLetter) -> Result<i64>;
    /// Dead letters newest first, before the id given.
    async fn list_dead_letters(&self, before_id: Option<i64>, limit: u32) -> Result<Vec<DeadLetter>>;
}

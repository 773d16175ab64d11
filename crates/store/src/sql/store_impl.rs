//! Binds the [`Store`] trait to the per-resource methods of [`SqlStore`].
use async_trait::async_trait;
use linli_domain::region::{NewRegion, RegionPatch};
use linli_domain::{Device, DwellingRelation, NewDevice, NewOrganisation, NewResident, Organisation, Region, Resident, User};

use super::{push_path_range, row_get, SqlStore};
use crate::governance::*;
use crate::model::*;
use crate::sensing::*;
use crate::{Result, Store};
use linli_domain::governance::calendar::CalendarDay;
use linli_domain::governance::event::{Event, Incident};
use linli_domain::governance::order::HistoryEntry;
use linli_domain::governance::rates::{RateCounts, ReportRate};
use linli_domain::governance::settings::MergeSettings;
use linli_domain::governance::{Whistle, WorkOrder};

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> Result<()> {
        self.sql("SELECT 1 AS one").fetch_optional(&self.reader).await?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        self.dialect.name()
    }

    async fn jurisdiction(&self, region_code: Option<&str>) -> Result<Jurisdiction> {
        self.jurisdiction_of(region_code).await
    }

    async fn create_region(&self, scope: &Jurisdiction, new: &NewRegion) -> Result<Region> {
        self.create_region_impl(scope, new).await
    }
    async fn get_region(&self, scope: &Jurisdiction, code: &str) -> Result<Region> {
        self.get_region_impl(scope, code).await
    }
    async fn update_region(&self, scope: &Jurisdiction, code: &str, patch: &RegionPatch) -> Result<Region> {
        self.update_region_impl(scope, code, patch).await
    }
    async fn delete_region(&self, scope: &Jurisdiction, code: &str) -> Result<()> {
        self.delete_region_impl(scope, code).await
    }
    async fn list_regions(&self, scope: &Jurisdiction, filter: &RegionFilter, page: &PageRequest) -> Result<Page<Region>> {
        self.list_regions_impl(scope, filter, page).await
    }
    async fn region_ancestors(&self, scope: &Jurisdiction, code: &str) -> Result<Vec<Region>> {
        self.region_ancestors_impl(scope, code).await
    }

    async fn create_resident(&self, scope: &Jurisdiction, new: &NewResident) -> Result<Resident> {
        self.create_resident_impl(scope, new).await
    }
    async fn get_resident(&self, scope: &Jurisdiction, id: i64) -> Result<Resident> {
        self.get_resident_impl(scope, id).await
    }
    async fn update_resident(&self, scope: &Jurisdiction, id: i64, patch: &ResidentPatch) -> Result<Resident> {
        self.update_resident_impl(scope, id, patch).await
    }
    async fn delete_resident(&self, scope: &Jurisdiction, id: i64) -> Result<()> {
        self.delete_resident_impl(scope, id).await
    }
    async fn list_residents(&self, scope: &Jurisdiction, filter: &ResidentFilter, page: &PageRequest) -> Result<Page<Resident>> {
        self.list_residents_impl(scope, filter, page).await
    }
    async fn link_dwelling(&self, scope: &Jurisdiction, id: i64, dwelling_code: &str, relation: DwellingRelation) -> Result<Resident> {
        self.link_dwelling_impl(scope, id, dwelling_code, relation).await
    }
    async fn unlink_dwelling(&self, scope: &Jurisdiction, id: i64, dwelling_code: &str) -> Result<Resident> {
        self.unlink_dwelling_impl(scope, id, dwelling_code).await
    }

    async fn create_organisation(&self, scope: &Jurisdiction, new: &NewOrganisation) -> Result<Organisation> {
        self.create_organisation_impl(scope, new).await
    }
    async fn get_organisation(&self, scope: &Jurisdiction, code: &str) -> Result<Organisation> {
        self.get_organisation_impl(scope, code).await
    }
    async fn update_organisation(&self, scope: &Jurisdiction, code: &str, patch: &OrganisationPatch) -> Result<Organisation> {
        self.update_organisation_impl(scope, code, patch).await
    }
    async fn delete_organisation(&self, scope: &Jurisdiction, code: &str) -> Result<()> {
        self.delete_organisation_impl(scope, code).await
    }
    async fn list_organisations(&self, scope: &Jurisdiction, filter: &OrganisationFilter, page: &PageRequest) -> Result<Page<Organisation>> {
        self.list_organisations_impl(scope, filter, page).await
    }

    async fn create_device(&self, scope: &Jurisdiction, new: &NewDevice) -> Result<Device> {
        self.create_device_impl(scope, new).await
    }
    async fn get_device(&self, scope: &Jurisdiction, code: &str) -> Result<Device> {
        self.get_device_impl(scope, code).await
    }
    async fn update_device(&self, scope: &Jurisdiction, code: &str, patch: &DevicePatch) -> Result<Device> {
        self.update_device_impl(scope, code, patch).await
    }
    async fn delete_device(&self, scope: &Jurisdiction, code: &str) -> Result<()> {
        self.delete_device_impl(scope, code).await
    }
    async fn list_devices(&self, scope: &Jurisdiction, filter: &DeviceFilter, page: &PageRequest) -> Result<Page<Device>> {
        self.list_devices_impl(scope, filter, page).await
    }

    async fn import(&self, scope: &Jurisdiction, batch: &ImportBatch) -> Result<ImportSummary> {
        self.import_impl(scope, batch, false).await
    }
    async fn check_import(&self, scope: &Jurisdiction, batch: &ImportBatch) -> Result<Vec<crate::RowError>> {
        match self.import_impl(scope, batch, true).await {
            Ok(_) => Ok(Vec::new()),
            Err(crate::StoreError::Import(rows)) => Ok(rows),
            Err(other) => Err(other),
        }
    }

    async fn create_user(&self, new: &NewUser) -> Result<User> {
        self.create_user_impl(new).await
    }
    async fn get_user(&self, id: i64) -> Result<User> {
        self.get_user_impl(id).await
    }
    async fn find_user(&self, username: &str) -> Result<Option<(User, String)>> {
        self.find_user_impl(username).await
    }
    async fn update_user(&self, id: i64, patch: &UserPatch) -> Result<User> {
        self.update_user_impl(id, patch).await
    }
    async fn list_users(&self, scope: &Jurisdiction, page: &PageRequest) -> Result<Page<User>> {
        self.list_users_impl(scope, page).await
    }

    async fn insert_token(&self, token: &NewToken) -> Result<()> {
        self.insert_token_impl(token).await
    }
    async fn token_user(&self, token_hash: &str, now_ms: i64) -> Result<Option<(User, TokenKind)>> {
        self.token_user_impl(token_hash, now_ms).await
    }
    async fn revoke_token(&self, token_hash: &str, now_ms: i64) -> Result<()> {
        self.revoke_token_impl(token_hash, now_ms).await
    }

    async fn record_access(&self, entries: &[AccessEntry]) -> Result<()> {
        self.record_access_impl(entries).await
    }
    async fn list_access(&self, filter: &AccessFilter, page: &PageRequest) -> Result<Page<AccessEntry>> {
        self.list_access_impl(filter, page).await
    }

    async fn counts(&self, scope: &Jurisdiction) -> Result<RegistryCounts> {
        let mut counts = RegistryCounts::default();
        let queries: [(&mut i64, &str, &str); 5] = [
            (&mut counts.regions, "SELECT COUNT(*) AS n FROM regions r WHERE 1 = 1", "r.path"),
            (&mut counts.dwellings, "SELECT COUNT(*) AS n FROM regions r WHERE r.level = 'dwelling'", "r.path"),
            (&mut counts.residents, "SELECT COUNT(*) AS n FROM residents s WHERE 1 = 1", "s.region_path"),
            (&mut counts.organisations, "SELECT COUNT(*) AS n FROM organisations o WHERE 1 = 1", "o.region_path"),
            (&mut counts.devices, "SELECT COUNT(*) AS n FROM devices d WHERE 1 = 1", "d.region_path"),
        ];
        for (slot, query, column) in queries {
            let mut sql = self.sql(query);
            push_path_range(&mut sql, column, scope.path_range());
            let row = sql.fetch_optional(&self.reader).await?;
            *slot = row.map(|r| row_get::<i64>(&r, "n")).transpose()?.unwrap_or(0);
        }
        Ok(counts)
    }

    async fn get_setting(&self, key: &str) -> Result<Option<String>> {
        self.get_setting_impl(key).await
    }
    async fn put_setting(&self, key: &str, value: &str, at: i64) -> Result<()> {
        self.put_setting_impl(key, value, at).await
    }
    async fn calendar_days(&self) -> Result<Vec<CalendarDay>> {
        self.calendar_days_impl().await
    }
    async fn put_calendar_day(&self, day: &CalendarDay) -> Result<()> {
        self.put_calendar_day_impl(day).await
    }
    async fn delete_calendar_day(&self, date: &str) -> Result<()> {
        self.delete_calendar_day_impl(date).await
    }
    async fn list_routes(&self, scope: &Jurisdiction) -> Result<Vec<Route>> {
        self.list_routes_impl(scope).await
    }
    async fn put_route(&self, scope: &Jurisdiction, route: &Route) -> Result<()> {
        self.put_route_impl(scope, route).await
    }
    async fn delete_route(&self, scope: &Jurisdiction, category: &str, region_code: &str) -> Result<()> {
        self.delete_route_impl(scope, category, region_code).await
    }
    async fn route_for(&self, category: &str, region_code: &str) -> Result<Option<String>> {
        self.route_for_impl(category, region_code).await
    }

    async fn record_event(
        &self,
        scope: &Jurisdiction,
        record: &NewEventRecord,
        merge: &MergeSettings,
        order: Option<&WorkOrder>,
        idempotency_key: Option<&str>,
        at: i64,
    ) -> Result<EventOutcome> {
        self.record_event_impl(scope, record, merge, order, idempotency_key, at).await
    }
    async fn get_event(&self, scope: &Jurisdiction, id: i64) -> Result<Event> {
        self.get_event_impl(scope, id).await
    }
    async fn list_events(&self, scope: &Jurisdiction, filter: &EventFilter, page: &PageRequest) -> Result<Page<Event>> {
        self.list_events_impl(scope, filter, page).await
    }
    async fn get_incident(&self, scope: &Jurisdiction, id: i64) -> Result<Incident> {
        self.get_incident_impl(scope, id).await
    }

    async fn create_order(&self, scope: &Jurisdiction, order: &WorkOrder, entries: &[HistoryEntry], idempotency_key: Option<&str>) -> Result<WorkOrder> {
        self.create_order_impl(scope, order, entries, idempotency_key).await
    }
    async fn get_order(&self, scope: &Jurisdiction, id: i64) -> Result<(WorkOrder, bool)> {
        self.get_order_impl(scope, id).await
    }
    async fn update_order(
        &self,
        scope: &Jurisdiction,
        id: i64,
        expected_version: Option<i64>,
        decide: Decide<'_, WorkOrder>,
    ) -> Result<(WorkOrder, Vec<HistoryEntry>)> {
        self.update_order_impl(scope, id, expected_version, decide).await
    }
    async fn list_orders(&self, scope: &Jurisdiction, filter: &OrderFilter, page: &PageRequest) -> Result<Page<WorkOrder>> {
        self.list_orders_impl(scope, filter, page).await
    }
    async fn history(&self, subject: &str, id: i64) -> Result<Vec<HistoryEntry>> {
        self.history_impl(subject, id).await
    }
    async fn orders_due_for_check(&self, now: i64, limit: u32) -> Result<Vec<i64>> {
        self.orders_due_for_check_impl(now, limit).await
    }
    async fn rate_counts(&self, scope: &Jurisdiction, query: &RateQuery) -> Result<RateCounts> {
        self.rate_counts_impl(scope, query).await
    }
    async fn situation(&self, scope: &Jurisdiction, query: &SituationQuery) -> Result<Situation> {
        self.situation_impl(scope, query).await
    }

    async fn create_whistle(&self, scope: &Jurisdiction, whistle: &Whistle, entries: &[HistoryEntry]) -> Result<Whistle> {
        self.create_whistle_impl(scope, whistle, entries).await
    }
    async fn get_whistle(&self, scope: &Jurisdiction, id: i64) -> Result<(Whistle, bool)> {
        self.get_whistle_impl(scope, id).await
    }
    async fn update_whistle(&self, scope: &Jurisdiction, id: i64, decide: Decide<'_, Whistle>) -> Result<(Whistle, Vec<HistoryEntry>)> {
        self.update_whistle_impl(scope, id, decide).await
    }
    async fn list_whistles(&self, scope: &Jurisdiction, filter: &WhistleFilter, page: &PageRequest) -> Result<Page<Whistle>> {
        self.list_whistles_impl(scope, filter, page).await
    }
    async fn report_rates(&self, scope: &Jurisdiction, org_code: Option<&str>, from: i64, to: i64, now: i64) -> Result<Vec<ReportRate>> {
        self.report_rates_impl(scope, org_code, from, to, now).await
    }

    async fn create_application(&self, scope: &Jurisdiction, application: &Application) -> Result<Application> {
        self.create_application_impl(scope, application).await
    }
    async fn get_application(&self, scope: &Jurisdiction, id: i64) -> Result<Application> {
        self.get_application_impl(scope, id).await
    }
    async fn update_application(&self, scope: &Jurisdiction, application: &Application) -> Result<()> {
        self.update_application_impl(scope, application).await
    }
    async fn list_applications(&self, scope: &Jurisdiction, status: Option<&str>, page: &PageRequest) -> Result<Page<Application>> {
        self.list_applications_impl(scope, status, page).await
    }

    async fn record_media(&self, info: &MediaInfo) -> Result<()> {
        self.record_media_impl(info).await
    }
    async fn get_media(&self, id: &str) -> Result<Option<MediaInfo>> {
        self.get_media_impl(id).await
    }
    async fn create_api_key(&self, key_hash: &str, name: &str, at: i64) -> Result<()> {
        self.create_api_key_impl(key_hash, name, at).await
    }
    async fn api_key_valid(&self, key_hash: &str) -> Result<bool> {
        self.api_key_valid_impl(key_hash).await
    }
    async fn create_webhook(&self, new: &NewWebhook) -> Result<Webhook> {
        self.create_webhook_impl(new).await
    }
    async fn list_webhooks(&self) -> Result<Vec<Webhook>> {
        self.list_webhooks_impl().await
    }
    async fn delete_webhook(&self, id: i64) -> Result<()> {
        self.delete_webhook_impl(id).await
    }
    async fn advance_webhook(&self, id: i64, cursor: i64, status: &str) -> Result<()> {
        self.advance_webhook_impl(id, cursor, status).await
    }
    async fn outbox_after(&self, after: i64, limit: u32) -> Result<Vec<OutboxMessage>> {
        self.outbox_after_impl(after, limit).await
    }
    async fn outbox_head(&self) -> Result<i64> {
        self.outbox_head_impl().await
    }

    async fn record_telemetry(&self, batch: &[DeviceTelemetry]) -> Result<()> {
        self.record_telemetry_impl(batch).await
    }

    async fn rule_states(&self, device_code: &str) -> Result<Vec<(String, linli_domain::sensing::RuleState)>> {
        self.rule_states_impl(device_code).await
    }

    async fn latest_telemetry(&self, device_code: &str) -> Result<Vec<linli_domain::sensing::Reading>> {
        self.latest_telemetry_impl(device_code).await
    }

    async fn telemetry_series(&self, query: &SeriesQuery) -> Result<Vec<SeriesPoint>> {
        self.telemetry_series_impl(query).await
    }

    async fn compact_telemetry(&self, before: i64, hours_before: i64) -> Result<Compaction> {
        self.compact_telemetry_impl(before, hours_before).await
    }

    async fn record_dead_letter(&self, letter: &DeadLetter) -> Result<i64> {
        self.record_dead_letter_impl(letter).await
    }

    async fn list_dead_letters(&self, before_id: Option<i64>, limit: u32) -> Result<Vec<DeadLetter>> {
        self.list_dead_letters_impl(before_id, limit).await
    }
}

//! What the event-centre handlers share: the configuration in force, units, where orders are
//! received, and the order template built from an event.
use linli_domain::governance::calendar::BusinessCalendar;
use linli_domain::governance::event::{EventSource, Reporter};
use linli_domain::governance::settings::Settings;
use linli_domain::governance::taxonomy::{default_taxonomy, Category};
use linli_domain::governance::{Unit, UnitKind};
use linli_domain::{Level, Role, User};
use linli_store::Jurisdiction;

use crate::error::{ApiError, ApiResult};
use crate::AppState;

pub(crate) const SETTINGS_KEY: &str = "governance";
pub(crate) const TAXONOMY_KEY: &str = "taxonomy";
pub(crate) const SENSING_RULES_KEY: &str = "sensing_rules";

impl AppState {
    /// A stored configuration value, or its default when none was stored.
    async fn stored<T: serde::de::DeserializeOwned>(&self, key: &str, default: impl FnOnce() -> T) -> ApiResult<T> {
        match self.store.get_setting(key).await? {
            Some(raw) => serde_json::from_str(&raw).map_err(|e| {
                tracing::error!(error = %e, key, "stored configuration is unreadable");
                ApiError::internal()
            }),
            None => Ok(default()),
        }
    }

    /// The settings in force: the stored ones, or the shipped defaults.
    pub(crate) async fn settings(&self) -> ApiResult<Settings> {
        self.stored(SETTINGS_KEY, Settings::default).await
    }

    /// The telemetry rules in force: the stored ones, or the shipped defaults.
    pub(crate) async fn sensing_rules(&self) -> ApiResult<Vec<linli_domain::sensing::TelemetryRule>> {
        self.stored(SENSING_RULES_KEY, linli_domain::sensing::rules::default_rules).await
    }

    pub(crate) async fn taxonomy(&self) -> ApiResult<Vec<Category>> {
        self.stored(TAXONOMY_KEY, default_taxonomy).await
    }

    pub(crate) async fn calendar(&self) -> ApiResult<BusinessCalendar> {
        let days = self.store.calendar_days().await?;
        BusinessCalendar::from_days(&days).map_err(|e| {
            tracing::error!(error = %e, "stored calendar is unreadable");
            ApiError::internal()
        })
    }

    /// A node of the hierarchy as a unit.
    pub(crate) async fn region_unit(&self, field: &str, code: &str) -> ApiResult<Unit> {
        let region = self.store.get_region(&Jurisdiction::everywhere(), code).await.map_err(|e| missing(e, field, "region", code))?;
        Ok(Unit { kind: UnitKind::Region, code: region.code, name: region.name })
    }

    pub(crate) async fn org_unit(&self, field: &str, code: &str) -> ApiResult<Unit> {
        let org = self.store.get_organisation(&Jurisdiction::everywhere(), code).await.map_err(|e| missing(e, field, "organisation", code))?;
        Ok(Unit { kind: UnitKind::Organisation, code: org.code, name: org.name })
    }

    /// A unit named by kind and code, e.g. a dispatch target.
    pub(crate) async fn unit(&self, field: &str, kind: &str, code: &str) -> ApiResult<Unit> {
        match UnitKind::parse(&format!("{field}.kind"), kind)? {
            UnitKind::Region => self.region_unit(&format!("{field}.code"), code).await,
            UnitKind::Organisation => self.org_unit(&format!("{field}.code"), code).await,
        }
    }

    /// The unit a user acts for: their node, else their organisation.
    pub(crate) async fn unit_of(&self, user: &User) -> ApiResult<Option<Unit>> {
        if let Some(code) = &user.region_code {
            return Ok(Some(self.region_unit("region_code", code).await?));
        }
        if let Some(code) = &user.org_code {
            return Ok(Some(self.org_unit("org_code", code).await?));
        }
        Ok(None)
    }

    /// Whether the node `inner` lies at or below the node `outer`.
    pub(crate) async fn region_within(&self, inner: &str, outer: &str) -> ApiResult<bool> {
        let scope = self.store.jurisdiction(Some(outer)).await?;
        match self.store.get_region(&scope, inner).await {
            Ok(_) => Ok(true),
            Err(linli_store::StoreError::OutOfScope { .. }) => Ok(false),
            Err(other) => Err(other.into()),
        }
    }

    /// Whether a unit's area covers the node `place`: a node covers what lies below it, an
    /// organisation what lies below the node it serves.
    pub(crate) async fn unit_covers(&self, unit: &Unit, place: &str) -> ApiResult<bool> {
        match unit.kind {
            UnitKind::Region => self.region_within(place, &unit.code).await,
            UnitKind::Organisation => {
                let org = self.store.get_organisation(&Jurisdiction::everywhere(), &unit.code).await?;
                self.region_within(place, &org.region_code).await
            }
        }
    }

    /// Where an order about `region_code` is received: the district above the place for
    /// complaints (接诉即办 comes down from the city's hotline through the district), the street
    /// for what the platform found itself. Falls back to the highest node above the place.
    pub(crate) async fn receiving_unit(&self, region_code: &str, source: EventSource) -> ApiResult<Unit> {
        let chain = self.store.region_ancestors(&Jurisdiction::everywhere(), region_code).await?;
        let wanted = match source {
            EventSource::Hotline12345 | EventSource::Open311 | EventSource::ResidentApp => Level::District,
            _ => Level::Street,
        };
        let region = chain
            .iter()
            .find(|r| r.level == wanted)
            .or_else(|| chain.first())
            .ok_or_else(|| ApiError::not_found(format!("region {region_code:?} not found")))?;
        Ok(Unit { kind: UnitKind::Region, code: region.code.clone(), name: region.name.clone() })
    }

    /// The organisation routed for a category at a place: the routing table, else the category's default.
    pub(crate) async fn routed_org(&self, category: &Category, region_code: &str) -> ApiResult<Option<String>> {
        Ok(self.store.route_for(&category.code, region_code).await?.or_else(|| Some(category.default_org_code.clone())))
    }
}

fn missing(error: linli_store::StoreError, field: &str, kind: &str, code: &str) -> ApiError {
    match error {
        linli_store::StoreError::NotFound { .. } => ApiError::bad_request(field, format!("{kind} {code:?} does not exist")),
        other => other.into(),
    }
}

/// Hides the requester's personal data from roles that may not see it.
pub(crate) fn mask_reporter(reporter: &mut Reporter, role: Role) {
    if !role.sees_sensitive() {
        reporter.name = reporter.name.as_deref().map(linli_domain::masking::mask_name);
        reporter.phone = reporter.phone.as_deref().map(linli_domain::masking::mask_phone);
    }
}

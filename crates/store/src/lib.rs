//! Storage for Linli: the [`Store`] trait and its implementation over SQLite (embedded default)
//! and PostgreSQL (production), chosen by URL at start.
//!
//! Architecture invariant: this is the only crate that talks SQL. It knows nothing of HTTP.
//! Both backends share one implementation ([`sql::SqlStore`]) on sqlx's `Any` driver; what differs
//! between them (migrations, the spatial index, pool shape) is confined to `sql/dialect.rs` and
//! the two migration folders, and both pass the same test suite (`tests/suite.rs`).

mod error;
mod model;
pub mod sql;

use async_trait::async_trait;
use linli_domain::{
    device::NewDevice,
    organisation::NewOrganisation,
    region::{NewRegion, RegionPatch},
    Device, NewResident, Organisation, Region, Resident, User,
};

pub use error::{RowError, StoreError};
pub use model::*;
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
}

//! Values that cross the [`Store`](crate::Store) boundary besides the domain's own records.
use linli_domain::{
    device::NewDevice, geo::Near, organisation::NewOrganisation, region::NewRegion, Attributes, BBox, CareTag, DeviceKind, DeviceStatus, Geometry, Level,
    NewResident, OrgKind, Position, ResidenceKind, Role,
};
use serde::Serialize;

/// Where a caller may look and act: a node and everything below it, or everywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jurisdiction {
    pub(crate) root: Option<ScopeRoot>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScopeRoot {
    pub code: String,
    pub id: i64,
    /// The root's path: every descendant's path starts with it.
    pub path: String,
}

impl Jurisdiction {
    pub fn everywhere() -> Self {
        Jurisdiction { root: None }
    }

    /// The code of the node at the top of the jurisdiction, `None` for everywhere.
    pub fn root_code(&self) -> Option<&str> {
        self.root.as_ref().map(|r| r.code.as_str())
    }

    /// Whether a record whose region path is `path` lies inside.
    pub(crate) fn covers_path(&self, path: &str) -> bool {
        self.root.as_ref().is_none_or(|r| path.starts_with(&r.path))
    }

    /// The half-open byte range of region paths inside, for index range scans. Paths are digits
    /// and '/', so replacing the trailing '/' by '0' (the next byte) bounds the prefix.
    pub(crate) fn path_range(&self) -> Option<(String, String)> {
        self.root.as_ref().map(|r| prefix_range(&r.path))
    }
}

pub(crate) fn prefix_range(path: &str) -> (String, String) {
    let upper = format!("{}0", &path[..path.len() - 1]);
    (path.to_string(), upper)
}

/// Keyset pagination: at most `limit` records after the cursor. Registry records come in
/// hierarchy order (by the path of their node), users and audit entries in creation order.
/// The cursor is the opaque `next_cursor` of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<String>,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 1000;

    pub fn first(limit: u32) -> Self {
        PageRequest { limit, after: None }
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest::first(Self::DEFAULT_LIMIT)
    }
}

/// A page of records, as the API sends it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass back as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Parses a cursor made of a region path and a record id, `"/1/5/~42"`.
pub(crate) fn parse_path_cursor(cursor: &str) -> Option<(String, i64)> {
    let (path, id) = cursor.rsplit_once('~')?;
    let well_formed = path.starts_with('/') && path.ends_with('/') && path.bytes().all(|b| b.is_ascii_digit() || b == b'/');
    well_formed.then_some(())?;
    Some((path.to_string(), id.parse().ok()?))
}

/// Spatial filters shared by regions and devices.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SpatialFilter {
    pub bbox: Option<BBox>,
    pub near: Option<Near>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RegionFilter {
    pub level: Option<Level>,
    pub parent_code: Option<String>,
    /// Only this node and what lies below it.
    pub within_code: Option<String>,
    /// Substring of the name or code.
    pub q: Option<String>,
    pub spatial: SpatialFilter,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResidentFilter {
    pub within_code: Option<String>,
    pub residence_kind: Option<ResidenceKind>,
    pub care_tag: Option<CareTag>,
    /// Substring of the name.
    pub q: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrganisationFilter {
    pub kind: Option<OrgKind>,
    pub within_code: Option<String>,
    pub q: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeviceFilter {
    pub kind: Option<DeviceKind>,
    pub status: Option<DeviceStatus>,
    pub within_code: Option<String>,
    pub owner_org_code: Option<String>,
    pub q: Option<String>,
    pub spatial: SpatialFilter,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResidentPatch {
    pub name: Option<String>,
    pub id_number: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub residence_kind: Option<ResidenceKind>,
    pub care_tags: Option<Vec<CareTag>>,
    pub home_code: Option<String>,
    pub attributes: Option<Attributes>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrganisationPatch {
    pub name: Option<String>,
    pub kind: Option<OrgKind>,
    pub region_code: Option<String>,
    pub phone: Option<Option<String>>,
    pub attributes: Option<Attributes>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DevicePatch {
    pub name: Option<String>,
    pub region_code: Option<String>,
    pub position: Option<Option<Position>>,
    pub owner_org_code: Option<Option<String>>,
    pub status: Option<DeviceStatus>,
    pub last_seen_at: Option<i64>,
    pub attributes: Option<Attributes>,
}

/// Validated records to import, each with the row it came from.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportBatch {
    Regions(Vec<(usize, NewRegion)>),
    Residents(Vec<(usize, NewResident)>),
    Organisations(Vec<(usize, NewOrganisation)>),
    Devices(Vec<(usize, NewDevice)>),
    /// Work orders closed or open elsewhere (a previous 12345 system), with their history.
    Orders(Vec<(usize, ImportedOrder)>),
}

impl ImportBatch {
    /// The number of records in the batch.
    pub fn len(&self) -> usize {
        match self {
            ImportBatch::Regions(rows) => rows.len(),
            ImportBatch::Residents(rows) => rows.len(),
            ImportBatch::Organisations(rows) => rows.len(),
            ImportBatch::Devices(rows) => rows.len(),
            ImportBatch::Orders(rows) => rows.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An order brought in from elsewhere: stored as given under a new id, its history numbered
/// from 1. No notification goes out: it is history, not news.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedOrder {
    pub order: linli_domain::governance::WorkOrder,
    pub history: Vec<linli_domain::governance::order::HistoryEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportSummary {
    pub inserted: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub region_code: Option<String>,
    pub org_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub password_hash: Option<String>,
    pub role: Option<Role>,
    pub region_code: Option<Option<String>>,
    pub org_code: Option<Option<String>>,
    pub disabled: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// Issued by password login; expires.
    Session,
    /// Long-lived, for integrations; revocable.
    Api,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Api => "api",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewToken {
    pub token_hash: String,
    pub user_id: i64,
    pub kind: TokenKind,
    pub name: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

/// One read of an unmasked personal record.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AccessEntry {
    #[serde(with = "linli_domain::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: i64,
    pub user_id: i64,
    pub username: String,
    pub role: String,
    pub record_kind: String,
    pub record_id: String,
    pub action: String,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccessFilter {
    pub username: Option<String>,
    pub record_kind: Option<String>,
    pub record_id: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, utoipa::ToSchema)]
pub struct RegistryCounts {
    pub regions: i64,
    pub dwellings: i64,
    pub residents: i64,
    pub organisations: i64,
    pub devices: i64,
}

/// The geometry's position if it has one, else the parent's: where spatial queries place a node.
pub(crate) fn effective_position(geometry: Option<&Geometry>, parent: Option<Position>) -> Option<Position> {
    geometry.and_then(Geometry::centroid).or(parent)
}

//! Linli's domain: the registry of people, places, things and organisations (人地事物),
//! roles and jurisdictions, and the masking of sensitive personal data.
//!
//! Architecture invariant: this crate does no I/O, knows no SQL and no HTTP, and is not async.
//! Values are parsed once at the edge into types whose constructors refuse bad input.

pub mod access;
pub mod device;
pub mod error;
pub mod geo;
pub mod governance;
pub mod masking;
pub mod organisation;
pub mod person;
pub mod region;
pub mod sensing;
pub mod text;
pub mod time;
pub mod user;

pub use access::Role;
pub use device::{Device, DeviceKind, DeviceStatus, NewDevice};
pub use error::{Invalid, InvalidField};
pub use geo::{BBox, Geometry, Position};
pub use organisation::{NewOrganisation, OrgKind, Organisation};
pub use person::{CareTag, DwellingLink, DwellingRelation, Gender, NewResident, ResidenceKind, Resident};
pub use region::{Level, NewRegion, Region};
pub use user::User;

/// Free-form key/value attributes every registry record may carry.
pub type Attributes = serde_json::Map<String, serde_json::Value>;

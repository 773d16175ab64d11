//! One module per resource; each returns an `OpenApiRouter` so its handlers document themselves.
pub mod admin;
pub mod alarms;
pub mod applications;
pub mod cameras;
pub mod cockpit;
pub mod config;
pub mod devices;
pub mod events;
pub mod import;
pub mod media;
pub mod orders;
pub mod organisations;
pub mod rates;
pub mod regions;
pub mod residents;
pub mod sensing;
pub mod stream;
pub mod whistles;

use linli_domain::geo::Near;
use linli_domain::BBox;
use linli_store::SpatialFilter;
use serde::{Deserialize, Deserializer};

use crate::error::ApiError;

/// Deserializes a field that distinguishes "absent" (`None`) from `null` (`Some(None)`), for PATCH.
pub(crate) fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Parses the `bbox`, `near` and `radius` query parameters.
pub(crate) fn spatial(bbox: Option<&str>, near: Option<&str>, radius: Option<f64>) -> Result<SpatialFilter, ApiError> {
    let bbox = bbox.filter(|b| !b.is_empty()).map(|b| BBox::parse("bbox", b)).transpose()?;
    let near = match (near.filter(|n| !n.is_empty()), radius) {
        (Some(center), radius) => Some(Near::parse("near", center, radius.unwrap_or(500.0))?),
        (None, Some(_)) => return Err(ApiError::bad_request("near", "is required with radius")),
        (None, None) => None,
    };
    Ok(SpatialFilter { bbox, near })
}

/// Parses an optional code-like query parameter.
pub(crate) fn code_param(field: &str, raw: Option<&str>) -> Result<Option<String>, ApiError> {
    Ok(raw.filter(|s| !s.trim().is_empty()).map(|s| linli_domain::text::parse_code(field, s)).transpose()?)
}

/// A search string: trimmed, at most 100 characters, no control characters.
pub(crate) fn search_param(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(q) if q.chars().count() > 100 => Err(ApiError::bad_request("q", "must be at most 100 characters")),
        Some(q) if q.chars().any(char::is_control) => Err(ApiError::bad_request("q", "must not contain control characters")),
        other => Ok(other.map(str::to_string)),
    }
}

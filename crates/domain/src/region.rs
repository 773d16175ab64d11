//! The administrative and housing hierarchy: 市 → 区 → 街道/镇 → 社区/村 → 网格 → 楼栋 → 单元 → 房屋.
use serde::Serialize;

use crate::error::{Invalid, InvalidField};
use crate::geo::{Geometry, Position};
use crate::text::{non_empty, parse_code, parse_name};
use crate::{keyword_enum, Attributes};

keyword_enum!(
    /// A level of the hierarchy. Streets and towns share a rank, as do communities and villages.
    Level, "level", {
        City => ["city", "市"],
        District => ["district", "区", "县"],
        Street => ["street", "街道"],
        Town => ["town", "镇", "乡"],
        Community => ["community", "社区"],
        Village => ["village", "村"],
        Grid => ["grid", "网格"],
        Building => ["building", "楼栋", "楼"],
        Unit => ["unit", "单元"],
        Dwelling => ["dwelling", "房屋", "户"],
    }
);

impl Level {
    /// Depth in the hierarchy: a child must rank strictly below its parent.
    /// Levels may be skipped (a building directly under a community with no grids).
    pub fn rank(self) -> u8 {
        match self {
            Level::City => 0,
            Level::District => 1,
            Level::Street | Level::Town => 2,
            Level::Community | Level::Village => 3,
            Level::Grid => 4,
            Level::Building => 5,
            Level::Unit => 6,
            Level::Dwelling => 7,
        }
    }

    /// Position in city … dwelling (0 … 9), distinct for every level.
    pub fn ordinal(self) -> i64 {
        Self::ALL.iter().position(|l| *l == self).unwrap_or(0) as i64
    }

    /// Checks that `self` may sit under `parent`.
    pub fn check_parent(self, parent: Level) -> Result<(), InvalidField> {
        if self.rank() > parent.rank() {
            Ok(())
        } else {
            Err(InvalidField::new("parent_code", format!("a {self} cannot be placed under a {parent}")))
        }
    }
}

/// A node of the hierarchy as stored.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Region {
    pub code: String,
    pub level: Level,
    pub name: String,
    pub parent_code: Option<String>,
    pub geometry: Option<Geometry>,
    /// Where spatial queries place the node: its geometry's centroid, else its parent's position.
    pub position: Option<Position>,
    #[schema(value_type = Object)]
    pub attributes: Attributes,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
}

/// A node to create, already validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRegion {
    pub code: String,
    pub level: Level,
    pub name: String,
    pub parent_code: Option<String>,
    pub geometry: Option<Geometry>,
    pub attributes: Attributes,
}

/// Raw fields of a node as they arrive from JSON or CSV, before validation.
#[derive(Debug, Clone, Default)]
pub struct RegionInput<'a> {
    pub code: Option<&'a str>,
    pub level: Option<&'a str>,
    pub name: Option<&'a str>,
    pub parent_code: Option<&'a str>,
    pub geometry: Option<&'a serde_json::Value>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub attributes: Attributes,
}

impl NewRegion {
    /// Validates every field, reporting all problems at once.
    pub fn parse(input: RegionInput<'_>) -> Result<Self, Invalid> {
        let mut errors = Invalid::default();
        let code = required(&mut errors, "code", input.code).and_then(|c| errors.check(parse_code("code", c)));
        let level = required(&mut errors, "level", input.level).and_then(|l| errors.check(Level::parse("level", l)));
        let name = required(&mut errors, "name", input.name).and_then(|n| errors.check(parse_name("name", n)));
        let parent_code = non_empty(input.parent_code).and_then(|p| errors.check(parse_code("parent_code", p)));
        let geometry = parse_location(&mut errors, input.geometry, input.lon, input.lat);
        if let (Some(code), Some(parent)) = (&code, &parent_code) {
            if code == parent {
                errors.push("parent_code", "a node cannot be its own parent (cycle)");
            }
        }
        if level.is_some_and(|l| l != Level::City) && parent_code.is_none() && errors.is_empty() {
            // Only the top of a tree may lack a parent; a district may also stand alone as a root.
            if !matches!(level, Some(Level::District)) {
                errors.push("parent_code", format!("a {} needs a parent", level.map(Level::as_str).unwrap_or("")));
            }
        }
        errors.into_result()?;
        Ok(NewRegion {
            code: code.unwrap_or_default(),
            level: level.unwrap_or(Level::City),
            name: name.unwrap_or_default(),
            parent_code,
            geometry,
            attributes: input.attributes,
        })
    }
}

/// Reads a location given either as a GeoJSON geometry or as lon/lat.
pub fn parse_location(errors: &mut Invalid, geometry: Option<&serde_json::Value>, lon: Option<f64>, lat: Option<f64>) -> Option<Geometry> {
    match (geometry.filter(|g| !g.is_null()), lon, lat) {
        (Some(g), _, _) => errors.check(Geometry::parse("geometry", g)),
        (None, Some(lon), Some(lat)) => errors.check(Position::parse("lon", lon, lat)).map(Geometry::point),
        (None, Some(_), None) => {
            errors.push("lat", "is required when lon is given");
            None
        }
        (None, None, Some(_)) => {
            errors.push("lon", "is required when lat is given");
            None
        }
        (None, None, None) => None,
    }
}

pub(crate) fn required<'a>(errors: &mut Invalid, field: &str, value: Option<&'a str>) -> Option<&'a str> {
    let value = non_empty(value);
    if value.is_none() {
        errors.push(field, "is required");
    }
    value
}

/// Changes to a node; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegionPatch {
    pub name: Option<String>,
    pub parent_code: Option<String>,
    /// `Some(None)` removes the geometry.
    pub geometry: Option<Option<Geometry>>,
    pub attributes: Option<Attributes>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(code: &'a str, level: &'a str, parent: Option<&'a str>) -> RegionInput<'a> {
        RegionInput { code: Some(code), level: Some(level), name: Some("名"), parent_code: parent, ..Default::default() }
    }

    #[test]
    fn levels_parse_in_both_languages_and_order() {
        assert_eq!(Level::parse("level", "街道").unwrap(), Level::Street);
        assert_eq!(Level::parse("level", "Dwelling").unwrap(), Level::Dwelling);
        assert!(Level::parse("level", "planet").is_err());
        assert!(Level::Building.check_parent(Level::Community).is_ok());
        assert!(Level::Street.check_parent(Level::Town).is_err());
        assert!(Level::District.check_parent(Level::Dwelling).is_err());
    }

    #[test]
    fn reports_every_bad_field() {
        let err = NewRegion::parse(RegionInput { code: Some("a b"), level: Some("x"), name: None, lon: Some(500.0), lat: Some(1.0), ..Default::default() })
            .unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["code", "level", "name", "lon"]);
    }

    #[test]
    fn refuses_self_parent_and_orphans() {
        assert!(NewRegion::parse(input("c1", "community", Some("c1"))).is_err());
        assert!(NewRegion::parse(input("c1", "community", None)).is_err());
        assert!(NewRegion::parse(input("bj", "city", None)).is_ok());
        let r = NewRegion::parse(RegionInput { lon: Some(116.3), lat: Some(40.0), ..input("b1", "楼栋", Some("c1")) }).unwrap();
        assert_eq!(r.geometry.unwrap().centroid().unwrap().lon, 116.3);
    }
}

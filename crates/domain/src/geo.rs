//! WGS84 positions, GeoJSON geometries and the spatial arithmetic the registry needs.
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::InvalidField;

/// A WGS84 longitude/latitude pair in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Position {
    pub lon: f64,
    pub lat: f64,
}

impl Position {
    pub fn parse(field: &str, lon: f64, lat: f64) -> Result<Self, InvalidField> {
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(InvalidField::new(field, format!("longitude {lon} is outside -180..180")));
        }
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(InvalidField::new(field, format!("latitude {lat} is outside -90..90")));
        }
        Ok(Self { lon, lat })
    }

    /// Great-circle distance in metres (haversine on a sphere of the mean Earth radius).
    pub fn distance_m(self, other: Position) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().asin()
    }
}

const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A longitude/latitude box, west/south/east/north.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BBox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

impl BBox {
    /// Parses `minLon,minLat,maxLon,maxLat` as in GeoJSON and OGC APIs.
    pub fn parse(field: &str, raw: &str) -> Result<Self, InvalidField> {
        let parts: Vec<&str> = raw.split(',').map(str::trim).collect();
        if parts.len() != 4 {
            return Err(InvalidField::new(field, "must be minLon,minLat,maxLon,maxLat"));
        }
        let mut n = [0.0f64; 4];
        for (slot, part) in n.iter_mut().zip(&parts) {
            *slot = part.parse().map_err(|_| InvalidField::new(field, format!("{part:?} is not a number")))?;
        }
        let sw = Position::parse(field, n[0], n[1])?;
        let ne = Position::parse(field, n[2], n[3])?;
        if sw.lon > ne.lon || sw.lat > ne.lat {
            return Err(InvalidField::new(field, "minimum corner must be south-west of maximum corner"));
        }
        Ok(Self { min_lon: sw.lon, min_lat: sw.lat, max_lon: ne.lon, max_lat: ne.lat })
    }

    /// The smallest box holding a circle, used to narrow a radius query before measuring distance.
    pub fn around(center: Position, radius_m: f64) -> Self {
        let dlat = (radius_m / EARTH_RADIUS_M).to_degrees();
        let cos = center.lat.to_radians().cos().max(1e-6);
        let dlon = (dlat / cos).min(180.0);
        Self {
            min_lon: (center.lon - dlon).max(-180.0),
            min_lat: (center.lat - dlat).max(-90.0),
            max_lon: (center.lon + dlon).min(180.0),
            max_lat: (center.lat + dlat).min(90.0),
        }
    }

    pub fn contains(&self, p: Position) -> bool {
        p.lon >= self.min_lon && p.lon <= self.max_lon && p.lat >= self.min_lat && p.lat <= self.max_lat
    }
}

/// A circle for radius queries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Near {
    pub center: Position,
    pub radius_m: f64,
}

impl Near {
    /// Parses `lon,lat` and a radius in metres (at most 100 km).
    pub fn parse(field: &str, center: &str, radius_m: f64) -> Result<Self, InvalidField> {
        let parts: Vec<&str> = center.split(',').map(str::trim).collect();
        let numbers: Option<Vec<f64>> = parts.iter().map(|p| p.parse().ok()).collect();
        let Some([lon, lat]) = numbers.as_deref().and_then(|n| <[f64; 2]>::try_from(n).ok()) else {
            return Err(InvalidField::new(field, "must be lon,lat"));
        };
        let center = Position::parse(field, lon, lat)?;
        if !radius_m.is_finite() || radius_m <= 0.0 || radius_m > 100_000.0 {
            return Err(InvalidField::new("radius", "must be between 0 and 100000 metres"));
        }
        Ok(Self { center, radius_m })
    }
}

/// A validated GeoJSON geometry: Point, Polygon or MultiPolygon, WGS84.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object)]
pub struct Geometry(pub Value);

impl Geometry {
    pub fn point(p: Position) -> Self {
        Geometry(serde_json::json!({"type": "Point", "coordinates": [p.lon, p.lat]}))
    }

    /// Checks a GeoJSON geometry object; polygon rings that are not closed are closed.
    pub fn parse(field: &str, value: &Value) -> Result<Self, InvalidField> {
        let kind = value.get("type").and_then(Value::as_str).ok_or_else(|| InvalidField::new(field, "must be a GeoJSON geometry with a \"type\""))?;
        let coords = value.get("coordinates").ok_or_else(|| InvalidField::new(field, "has no \"coordinates\""))?;
        let normalized = match kind {
            "Point" => {
                let p = parse_position(field, coords)?;
                serde_json::json!([p.lon, p.lat])
            }
            "Polygon" => parse_polygon(field, coords)?,
            "MultiPolygon" => {
                let polys = coords.as_array().filter(|a| !a.is_empty()).ok_or_else(|| InvalidField::new(field, "MultiPolygon needs at least one polygon"))?;
                Value::Array(polys.iter().map(|p| parse_polygon(field, p)).collect::<Result<_, _>>()?)
            }
            other => return Err(InvalidField::new(field, format!("geometry type {other:?} is not supported; use Point, Polygon or MultiPolygon"))),
        };
        Ok(Geometry(serde_json::json!({"type": kind, "coordinates": normalized})))
    }

    /// A representative position: the point itself, or the area centroid of the (largest) outer ring.
    pub fn centroid(&self) -> Option<Position> {
        let coords = self.0.get("coordinates")?;
        match self.0.get("type")?.as_str()? {
            "Point" => position_of(coords),
            "Polygon" => ring_centroid(coords.get(0)?).map(|(p, _)| p),
            "MultiPolygon" => coords.as_array()?.iter().filter_map(|poly| ring_centroid(poly.get(0)?)).max_by(|a, b| a.1.total_cmp(&b.1)).map(|(p, _)| p),
            _ => None,
        }
    }
}

fn position_of(v: &Value) -> Option<Position> {
    let a = v.as_array()?;
    Some(Position { lon: a.first()?.as_f64()?, lat: a.get(1)?.as_f64()? })
}

fn parse_position(field: &str, v: &Value) -> Result<Position, InvalidField> {
    let a = v.as_array().filter(|a| a.len() >= 2).ok_or_else(|| InvalidField::new(field, "a position must be [lon, lat]"))?;
    let (Some(lon), Some(lat)) = (a[0].as_f64(), a[1].as_f64()) else {
        return Err(InvalidField::new(field, "a position must hold numbers"));
    };
    Position::parse(field, lon, lat)
}

fn parse_polygon(field: &str, v: &Value) -> Result<Value, InvalidField> {
    let rings = v.as_array().filter(|a| !a.is_empty()).ok_or_else(|| InvalidField::new(field, "a Polygon needs at least one ring"))?;
    let mut out = Vec::with_capacity(rings.len());
    for ring in rings {
        let points = ring.as_array().ok_or_else(|| InvalidField::new(field, "a ring must be an array of positions"))?;
        let mut positions: Vec<Position> = points.iter().map(|p| parse_position(field, p)).collect::<Result<_, _>>()?;
        if positions.first() != positions.last() {
            if let Some(first) = positions.first().copied() {
                positions.push(first);
            }
        }
        if positions.len() < 4 {
            return Err(InvalidField::new(field, "a ring needs at least three distinct positions"));
        }
        out.push(Value::Array(positions.iter().map(|p| serde_json::json!([p.lon, p.lat])).collect()));
    }
    Ok(Value::Array(out))
}

/// Shoelace centroid of a closed ring with its absolute area (in square degrees, only for comparison).
/// Falls back to the vertex mean for degenerate rings. Hand-written: four lines do not justify the geo crate.
fn ring_centroid(ring: &Value) -> Option<(Position, f64)> {
    let pts: Vec<Position> = ring.as_array()?.iter().filter_map(position_of).collect();
    if pts.is_empty() {
        return None;
    }
    let (mut a, mut cx, mut cy) = (0.0, 0.0, 0.0);
    for w in pts.windows(2) {
        let cross = w[0].lon * w[1].lat - w[1].lon * w[0].lat;
        a += cross;
        cx += (w[0].lon + w[1].lon) * cross;
        cy += (w[0].lat + w[1].lat) * cross;
    }
    if a.abs() < 1e-15 {
        let n = pts.len() as f64;
        let p = Position { lon: pts.iter().map(|p| p.lon).sum::<f64>() / n, lat: pts.iter().map(|p| p.lat).sum::<f64>() / n };
        return Some((p, 0.0));
    }
    Some((Position { lon: cx / (3.0 * a), lat: cy / (3.0 * a) }, a.abs() / 2.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refuses_out_of_range_coordinates() {
        assert!(Position::parse("lon", 116.3, 40.07).is_ok());
        assert!(Position::parse("lon", 190.0, 40.0).is_err());
        assert!(Position::parse("lat", 116.0, -91.0).is_err());
        assert!(Position::parse("lat", f64::NAN, 0.0).is_err());
    }

    #[test]
    fn polygon_centroid_and_closing() {
        let g = Geometry::parse("geometry", &json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]]]})).unwrap();
        let c = g.centroid().unwrap();
        assert!((c.lon - 1.0).abs() < 1e-9 && (c.lat - 1.0).abs() < 1e-9);
        assert_eq!(g.0["coordinates"][0].as_array().unwrap().len(), 5);
        assert!(Geometry::parse("geometry", &json!({"type": "LineString", "coordinates": []})).is_err());
        assert!(Geometry::parse("geometry", &json!({"type": "Point", "coordinates": [200, 0]})).is_err());
    }

    #[test]
    fn bbox_and_radius() {
        let b = BBox::parse("bbox", "116.3,40.0,116.4,40.1").unwrap();
        assert!(b.contains(Position { lon: 116.33, lat: 40.07 }));
        assert!(BBox::parse("bbox", "116.4,40.0,116.3,40.1").is_err());
        assert!(BBox::parse("bbox", "1,2,3").is_err());
        let center = Position { lon: 116.33, lat: 40.07 };
        let around = BBox::around(center, 1000.0);
        let east = Position { lon: around.max_lon, lat: 40.07 };
        assert!((center.distance_m(east) - 1000.0).abs() < 5.0);
        assert!(Near::parse("near", "116.3,40.0", 500.0).is_ok());
        assert!(Near::parse("near", "116.3", 500.0).is_err());
        assert!(Near::parse("near", "116.3,40", -1.0).is_err());
    }
}

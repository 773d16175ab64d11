//! Parses registry files — CSV and GeoJSON — into validated batches for
//! [`Store::import`](linli_store::Store::import), reporting every bad row with its number.
//!
//! The columns of each kind are documented in `docs/IMPORT.md`. Columns a kind does not know are
//! kept as string attributes of the record, so local extras survive an import.

use std::collections::HashMap;
use std::io::Read;

use linli_domain::device::DeviceInput;
use linli_domain::organisation::OrganisationInput;
use linli_domain::person::ResidentInput;
use linli_domain::region::RegionInput;
use linli_domain::{Attributes, Invalid, NewDevice, NewOrganisation, NewRegion, NewResident};
use linli_store::{ImportBatch, ImportSummary, Jurisdiction, RowError, Store, StoreError};
use serde_json::Value;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    /// Any level of the hierarchy; the `level` column says which.
    Regions,
    /// Regions whose level is fixed to building.
    Buildings,
    /// Regions whose level is fixed to dwelling.
    Dwellings,
    Residents,
    Organisations,
    Devices,
}

impl ImportKind {
    pub const NAMES: &'static [&'static str] = &["regions", "buildings", "dwellings", "residents", "organisations", "devices"];

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw.trim().to_ascii_lowercase().as_str() {
            "regions" | "region" => ImportKind::Regions,
            "buildings" | "building" => ImportKind::Buildings,
            "dwellings" | "dwelling" => ImportKind::Dwellings,
            "residents" | "resident" | "people" => ImportKind::Residents,
            "organisations" | "organisation" | "organizations" | "organization" | "orgs" => ImportKind::Organisations,
            "devices" | "device" => ImportKind::Devices,
            _ => return None,
        })
    }

    /// The columns this kind reads; all others become attributes.
    fn columns(self) -> &'static [&'static str] {
        match self {
            ImportKind::Regions => &["code", "level", "name", "parent_code", "lon", "lat", "geometry", "attributes"],
            ImportKind::Buildings | ImportKind::Dwellings => &["code", "level", "name", "parent_code", "lon", "lat", "geometry", "attributes"],
            ImportKind::Residents => {
                &["name", "id_number", "phone", "gender", "birth_date", "residence_kind", "care_tags", "dwelling_code", "relation", "attributes"]
            }
            ImportKind::Organisations => &["code", "name", "kind", "region_code", "parent_code", "phone", "attributes"],
            ImportKind::Devices => &["code", "name", "kind", "region_code", "lon", "lat", "owner_org_code", "status", "attributes"],
        }
    }

    /// Columns a file must have (a cell may still be empty where the field is optional).
    fn required(self) -> &'static [&'static str] {
        match self {
            ImportKind::Regions => &["code", "level", "name"],
            ImportKind::Buildings | ImportKind::Dwellings => &["code", "name", "parent_code"],
            ImportKind::Residents => &["name", "dwelling_code"],
            ImportKind::Organisations => &["code", "name", "kind", "region_code"],
            ImportKind::Devices => &["code", "name", "kind", "region_code"],
        }
    }

    fn fixed_level(self) -> Option<&'static str> {
        match self {
            ImportKind::Buildings => Some("building"),
            ImportKind::Dwellings => Some("dwelling"),
            _ => None,
        }
    }
}

/// File formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    GeoJson,
}

impl Format {
    /// Guesses from a file name: `.geojson` and `.json` are GeoJSON, anything else CSV.
    pub fn from_path(path: &std::path::Path) -> Self {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("geojson" | "json") => Format::GeoJson,
            _ => Format::Csv,
        }
    }
}

/// One record's fields by column name, before validation.
type Fields = HashMap<String, String>;

/// Records with their row numbers and, for GeoJSON, their feature geometry.
type Records = Vec<(usize, Fields, Option<Value>)>;

/// Parses a whole file. Either every row is valid and the batch is returned, or every bad row is.
pub fn parse(kind: ImportKind, format: Format, input: impl Read) -> Result<ImportBatch, Vec<RowError>> {
    let parsed = parse_partial(kind, format, input);
    if parsed.errors.is_empty() {
        Ok(parsed.batch)
    } else {
        Err(parsed.errors)
    }
}

/// A file's valid rows and its bad ones. The valid rows can still be checked against the
/// registry ([`Store::check_import`]) so that one report names every bad row, whether its problem
/// lies in the row itself or in what it refers to.
pub struct Parsed {
    pub batch: ImportBatch,
    pub errors: Vec<RowError>,
}

pub fn parse_partial(kind: ImportKind, format: Format, input: impl Read) -> Parsed {
    let (records, mut errors) = match format {
        Format::Csv => read_csv(kind, input),
        Format::GeoJson => read_geojson(input),
    };
    let mut parsed = build_batch(kind, records);
    errors.append(&mut parsed.errors);
    errors.sort_by_key(|e| e.row);
    parsed.errors = errors;
    parsed
}

/// Writes a parsed file all or nothing. When some rows failed to parse, the others are still
/// checked against the registry so the error lists every bad row; nothing is written.
pub async fn write(store: &dyn Store, scope: &Jurisdiction, parsed: Parsed) -> Result<ImportSummary, StoreError> {
    if parsed.errors.is_empty() {
        return store.import(scope, &parsed.batch).await;
    }
    let mut errors = parsed.errors;
    errors.extend(store.check_import(scope, &parsed.batch).await?);
    errors.sort_by(|a, b| a.row.cmp(&b.row).then_with(|| a.field.cmp(&b.field)));
    errors.dedup();
    Err(StoreError::Import(errors))
}

fn row_error(row: usize, field: &str, message: impl Into<String>) -> RowError {
    RowError { row, field: field.to_string(), message: message.into() }
}

/// Reads CSV with a header row; rows are numbered by their line in the file (the header is 1).
fn read_csv(kind: ImportKind, input: impl Read) -> (Records, Vec<RowError>) {
    let mut reader = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(input);
    let headers: Vec<String> = match reader.headers() {
        Ok(headers) => headers,
        Err(e) => return (Vec::new(), vec![row_error(1, "header", format!("unreadable header: {e}"))]),
    }
    .iter()
    .map(|h| h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase())
    .collect();
    let mut errors: Vec<RowError> =
        kind.required().iter().filter(|c| !headers.iter().any(|h| h == *c)).map(|c| row_error(1, c, "required column is missing")).collect();
    let mut seen = std::collections::HashSet::new();
    for h in &headers {
        if h.is_empty() {
            errors.push(row_error(1, "header", "a column has no name"));
        } else if !seen.insert(h) {
            errors.push(row_error(1, h, "column appears twice"));
        }
    }
    if !errors.is_empty() {
        return (Vec::new(), errors);
    }
    let mut records = Vec::new();
    for (index, result) in reader.records().enumerate() {
        let fallback_line = index + 2;
        match result {
            Ok(record) => {
                let line = record.position().map(|p| p.line() as usize).unwrap_or(fallback_line);
                let fields = headers.iter().cloned().zip(record.iter().map(str::to_string)).collect();
                records.push((line, fields, None));
            }
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize).unwrap_or(fallback_line);
                let message = match e.kind() {
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => format!("has {len} fields, the header has {expected_len}"),
                    csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".to_string(),
                    _ => format!("is malformed: {e}"),
                };
                errors.push(row_error(line, "row", message));
            }
        }
    }
    (records, errors)
}

/// Reads a GeoJSON FeatureCollection; rows are numbered by feature, from 1.
fn read_geojson(input: impl Read) -> (Records, Vec<RowError>) {
    match read_features(input) {
        Ok(features) => features,
        Err(errors) => (Vec::new(), errors),
    }
}

fn read_features(mut input: impl Read) -> Result<(Records, Vec<RowError>), Vec<RowError>> {
    let mut text = String::new();
    input.read_to_string(&mut text).map_err(|e| vec![row_error(0, "file", format!("unreadable: {e}"))])?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| vec![row_error(0, "file", format!("is not valid JSON: {e}"))])?;
    let features = match doc.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => {
            doc.get("features").and_then(Value::as_array).cloned().ok_or_else(|| vec![row_error(0, "features", "must be an array")])?
        }
        Some("Feature") => vec![doc.clone()],
        _ => return Err(vec![row_error(0, "type", "must be a GeoJSON FeatureCollection or Feature")]),
    };
    let mut records = Vec::with_capacity(features.len());
    let mut errors = Vec::new();
    for (index, feature) in features.iter().enumerate() {
        let row = index + 1;
        let Some(properties) = feature.get("properties").and_then(Value::as_object) else {
            errors.push(row_error(row, "properties", "a feature needs a properties object"));
            continue;
        };
        let fields: Fields = properties
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Array(items) => items.iter().map(|i| i.as_str().map(str::to_string).unwrap_or_else(|| i.to_string())).collect::<Vec<_>>().join(";"),
                    other => other.to_string(),
                };
                (k.to_ascii_lowercase(), text)
            })
            .collect();
        records.push((row, fields, feature.get("geometry").filter(|g| !g.is_null()).cloned()));
    }
    Ok((records, errors))
}

fn build_batch(kind: ImportKind, records: Records) -> Parsed {
    let mut errors = Vec::new();
    let batch = match kind {
        ImportKind::Regions | ImportKind::Buildings | ImportKind::Dwellings => {
            ImportBatch::Regions(parse_rows(&records, &mut errors, |fields, geometry| parse_region(kind, fields, geometry)))
        }
        ImportKind::Residents => ImportBatch::Residents(parse_rows(&records, &mut errors, |fields, _| {
            NewResident::parse(ResidentInput {
                name: get(fields, "name"),
                id_number: get(fields, "id_number"),
                phone: get(fields, "phone"),
                gender: get(fields, "gender"),
                birth_date: get(fields, "birth_date"),
                residence_kind: get(fields, "residence_kind"),
                care_tags: get(fields, "care_tags").into_iter().collect(),
                home_code: get(fields, "dwelling_code"),
                relation: get(fields, "relation"),
                attributes: attributes(kind, fields)?,
            })
        })),
        ImportKind::Organisations => ImportBatch::Organisations(parse_rows(&records, &mut errors, |fields, _| {
            NewOrganisation::parse(OrganisationInput {
                code: get(fields, "code"),
                name: get(fields, "name"),
                kind: get(fields, "kind"),
                region_code: get(fields, "region_code"),
                parent_code: get(fields, "parent_code"),
                phone: get(fields, "phone"),
                attributes: attributes(kind, fields)?,
            })
        })),
        ImportKind::Devices => ImportBatch::Devices(parse_rows(&records, &mut errors, |fields, geometry| {
            let (lon, lat) = coordinates(fields, geometry)?;
            NewDevice::parse(DeviceInput {
                code: get(fields, "code"),
                name: get(fields, "name"),
                kind: get(fields, "kind"),
                region_code: get(fields, "region_code"),
                lon,
                lat,
                owner_org_code: get(fields, "owner_org_code"),
                status: get(fields, "status"),
                attributes: attributes(kind, fields)?,
            })
        })),
    };
    Parsed { batch, errors }
}

/// Parses every record with `parse`, keeping the valid rows and reporting each bad field of the others.
fn parse_rows<T>(records: &Records, errors: &mut Vec<RowError>, parse: impl Fn(&Fields, Option<&Value>) -> Result<T, Invalid>) -> Vec<(usize, T)> {
    let mut rows = Vec::with_capacity(records.len());
    for (row, fields, geometry) in records {
        match parse(fields, geometry.as_ref()) {
            Ok(record) => rows.push((*row, record)),
            Err(invalid) => errors.extend(invalid.0.into_iter().map(|f| row_error(*row, &f.field, f.message))),
        }
    }
    rows
}

fn get<'a>(fields: &'a Fields, column: &str) -> Option<&'a str> {
    fields.get(column).map(String::as_str).filter(|s| !s.trim().is_empty())
}

/// The `attributes` JSON cell merged with every column the kind does not know.
fn attributes(kind: ImportKind, fields: &Fields) -> Result<Attributes, Invalid> {
    let mut attributes = match get(fields, "attributes") {
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => map,
            _ => return Err(linli_domain::InvalidField::new("attributes", "must be a JSON object").into()),
        },
        None => Attributes::new(),
    };
    for (column, value) in fields {
        if !kind.columns().contains(&column.as_str()) && !value.is_empty() {
            attributes.insert(column.clone(), Value::String(value.clone()));
        }
    }
    Ok(attributes)
}

fn number(fields: &Fields, column: &str) -> Result<Option<f64>, Invalid> {
    match get(fields, column) {
        None => Ok(None),
        Some(text) => text.trim().parse::<f64>().map(Some).map_err(|_| linli_domain::InvalidField::new(column, format!("{text:?} is not a number")).into()),
    }
}

/// lon/lat from columns, or from a GeoJSON Point geometry.
fn coordinates(fields: &Fields, geometry: Option<&Value>) -> Result<(Option<f64>, Option<f64>), Invalid> {
    if let Some(g) = geometry {
        let point = linli_domain::Geometry::parse("geometry", g)?;
        let p = point.centroid().ok_or_else(|| Invalid::from(linli_domain::InvalidField::new("geometry", "has no position")))?;
        return Ok((Some(p.lon), Some(p.lat)));
    }
    let mut errors = Invalid::default();
    let lon = errors.check(number(fields, "lon").map_err(|e| e.0[0].clone()));
    let lat = errors.check(number(fields, "lat").map_err(|e| e.0[0].clone()));
    errors.into_result()?;
    Ok((lon.flatten(), lat.flatten()))
}

fn parse_region(kind: ImportKind, fields: &Fields, feature_geometry: Option<&Value>) -> Result<NewRegion, Invalid> {
    let mut errors = Invalid::default();
    let attributes = errors.check(attributes(kind, fields).map_err(|e| e.0[0].clone())).unwrap_or_default();
    let cell_geometry = match get(fields, "geometry") {
        Some(text) => errors.check(serde_json::from_str::<Value>(text).map_err(|_| linli_domain::InvalidField::new("geometry", "is not valid GeoJSON"))),
        None => None,
    };
    let (lon, lat) = match (number(fields, "lon"), number(fields, "lat")) {
        (Ok(lon), Ok(lat)) => (lon, lat),
        (lon, lat) => {
            for e in [lon.err(), lat.err()].into_iter().flatten() {
                errors.0.extend(e.0);
            }
            (None, None)
        }
    };
    let level = match (kind.fixed_level(), get(fields, "level")) {
        (Some(fixed), Some(given)) if linli_domain::Level::parse("level", given).map(|l| l.as_str()) != Ok(fixed) => {
            errors.push("level", format!("a {} file holds only {fixed} rows, not {given:?}", fixed));
            Some(fixed)
        }
        (Some(fixed), _) => Some(fixed),
        (None, given) => given,
    };
    let parsed = NewRegion::parse(RegionInput {
        code: get(fields, "code"),
        level,
        name: get(fields, "name"),
        parent_code: get(fields, "parent_code"),
        geometry: feature_geometry.or(cell_geometry.as_ref()),
        lon,
        lat,
        attributes,
    });
    match parsed {
        Ok(region) if errors.is_empty() => Ok(region),
        Ok(_) => Err(errors),
        Err(invalid) => {
            errors.0.extend(invalid.0);
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(kind: ImportKind, text: &str) -> Result<ImportBatch, Vec<RowError>> {
        parse(kind, Format::Csv, text.as_bytes())
    }

    #[test]
    fn regions_with_extra_columns_become_attributes() {
        let batch = csv(ImportKind::Regions, "\u{feff}code,level,name,parent_code,lon,lat,households\nc1,社区,龙泽苑社区,hlg,116.33,40.07,1200\n").unwrap();
        let ImportBatch::Regions(rows) = batch else { panic!() };
        assert_eq!(rows[0].0, 2);
        assert_eq!(rows[0].1.attributes["households"], "1200");
        assert!(rows[0].1.geometry.is_some());
    }

    #[test]
    fn every_bad_row_is_named() {
        let text = "code,name,parent_code,lon,lat\nd1,101,u1,,\nd 2,102,u1,,\nd3,,u1,abc,40\nd4,104,,,\n";
        let errors = csv(ImportKind::Dwellings, text).unwrap_err();
        let found: Vec<(usize, &str)> = errors.iter().map(|e| (e.row, e.field.as_str())).collect();
        assert_eq!(found, [(3, "code"), (4, "lon"), (4, "name"), (5, "parent_code")]);
    }

    #[test]
    fn missing_columns_and_ragged_rows() {
        let errors = csv(ImportKind::Residents, "name,phone\n张三,13812345678\n").unwrap_err();
        assert_eq!((errors[0].row, errors[0].field.as_str()), (1, "dwelling_code"));
        let errors = csv(ImportKind::Devices, "code,name,kind,region_code\ncam,摄像头,camera,b1,extra\n").unwrap_err();
        assert_eq!(errors[0].row, 2);
        assert!(errors[0].message.contains("fields"));
    }

    #[test]
    fn geojson_features() {
        let doc = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[116.3,40.0],[116.4,40.0],[116.4,40.1],[116.3,40.0]]]},"properties":{"code":"c1","level":"community","name":"社区","parent_code":"s1"}},
            {"type":"Feature","geometry":{"type":"Point","coordinates":[116.3,95]},"properties":{"code":"c2","level":"community","name":"社区2","parent_code":"s1"}}]}"#;
        let errors = parse(ImportKind::Regions, Format::GeoJson, doc.as_bytes()).unwrap_err();
        assert_eq!((errors[0].row, errors[0].field.as_str()), (2, "geometry"));
        let devices = r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[116.3,40.0]},"properties":{"code":"cam","name":"c","kind":"camera","region_code":"b1"}}]}"#;
        let ImportBatch::Devices(rows) = parse(ImportKind::Devices, Format::GeoJson, devices.as_bytes()).unwrap() else { panic!() };
        assert_eq!(rows[0].1.position.unwrap().lat, 40.0);
        assert!(parse(ImportKind::Devices, Format::GeoJson, "{oops".as_bytes()).is_err());
    }
}

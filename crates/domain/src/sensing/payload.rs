//! Device messages: the MQTT topic layout and the two payload forms, plain JSON and SenML
//! (RFC 8428), parsed into readings.
use serde_json::Value;

use crate::error::InvalidField;
use crate::time::parse_rfc3339;

/// The prefix of every device topic: `linli/v1/devices/{device_id}/{kind}`.
pub const TOPIC_PREFIX: &str = "linli/v1/devices/";
/// The largest payload accepted, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// Readings at most this far in the future (clock skew) or the past (buffered uploads).
pub const MAX_FUTURE_MS: i64 = 5 * 60_000;
pub const MAX_PAST_MS: i64 = 7 * 86_400_000;
/// SenML: times below 2^28 seconds are relative to now (RFC 8428 §4.5.3).
const SENML_RELATIVE_BELOW_S: f64 = 268_435_456.0;

/// What a device sends on a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Telemetry,
    Event,
    Status,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Telemetry => "telemetry",
            MessageKind::Event => "event",
            MessageKind::Status => "status",
        }
    }
}

/// The device id and message kind of a topic the platform subscribes to; `None` for any other
/// topic (the command topic is the platform's own, towards devices).
pub fn parse_topic(topic: &str) -> Option<(&str, MessageKind)> {
    let rest = topic.strip_prefix(TOPIC_PREFIX)?;
    let (device, kind) = rest.split_once('/')?;
    if device.is_empty() || device.contains(['+', '#']) {
        return None;
    }
    let kind = match kind {
        "telemetry" => MessageKind::Telemetry,
        "event" => MessageKind::Event,
        "status" => MessageKind::Status,
        _ => return None,
    };
    Some((device, kind))
}

/// The topic on which the platform sends commands to a device.
pub fn command_topic(device: &str) -> String {
    format!("{TOPIC_PREFIX}{device}/command")
}

/// One measured value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ReadingValue {
    Number(f64),
    Bool(bool),
    Text(String),
}

impl std::fmt::Display for ReadingValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadingValue::Number(n) => write!(f, "{n}"),
            ReadingValue::Bool(b) => write!(f, "{b}"),
            ReadingValue::Text(t) => f.write_str(t),
        }
    }
}

impl ReadingValue {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            ReadingValue::Number(n) => Some(*n),
            ReadingValue::Bool(b) => Some(f64::from(u8::from(*b))),
            ReadingValue::Text(_) => None,
        }
    }
}

/// An attribute's value at an instant, with the unit the device gave, if any.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Reading {
    pub name: String,
    /// Epoch milliseconds.
    pub at: i64,
    pub value: ReadingValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// Why a payload was refused; the field names the part at fault.
pub type PayloadError = InvalidField;

/// Parses a telemetry payload received at `now`: `{"ts": …, "values": {…}}` (ts optional, RFC 3339
/// or epoch milliseconds) or a SenML pack (a JSON array). Times outside the accepted window and
/// non-finite numbers are refused.
pub fn parse_telemetry(bytes: &[u8], now: i64) -> Result<Vec<Reading>, PayloadError> {
    if bytes.len() > MAX_PAYLOAD_BYTES {
        return Err(InvalidField::new("payload", format!("larger than {MAX_PAYLOAD_BYTES} bytes")));
    }
    let json: Value = serde_json::from_slice(bytes).map_err(|e| InvalidField::new("payload", format!("not JSON: {e}")))?;
    let readings = match json {
        Value::Array(records) => parse_senml(&records, now)?,
        Value::Object(map) => parse_plain(&map, now)?,
        _ => return Err(InvalidField::new("payload", "must be an object with values or a SenML array")),
    };
    if readings.is_empty() {
        return Err(InvalidField::new("values", "no values"));
    }
    for reading in &readings {
        if reading.at > now + MAX_FUTURE_MS {
            return Err(InvalidField::new("ts", "is in the future"));
        }
        if reading.at < now - MAX_PAST_MS {
            return Err(InvalidField::new("ts", "is more than 7 days old"));
        }
    }
    Ok(readings)
}

fn parse_plain(map: &serde_json::Map<String, Value>, now: i64) -> Result<Vec<Reading>, PayloadError> {
    let at = match map.get("ts") {
        None | Some(Value::Null) => now,
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| InvalidField::new("ts", "epoch milliseconds must be a whole number"))?,
        Some(Value::String(s)) => parse_rfc3339("ts", s)?,
        Some(_) => return Err(InvalidField::new("ts", "must be RFC 3339 or epoch milliseconds")),
    };
    let Some(Value::Object(values)) = map.get("values") else {
        return Err(InvalidField::new("values", "must be an object of attribute names to values"));
    };
    values.iter().map(|(name, value)| Ok(Reading { name: attribute_name("values", name)?, at, value: plain_value(name, value)?, unit: None })).collect()
}

fn plain_value(name: &str, value: &Value) -> Result<ReadingValue, PayloadError> {
    match value {
        Value::Number(n) => finite(name, n.as_f64()),
        Value::Bool(b) => Ok(ReadingValue::Bool(*b)),
        Value::String(s) if s.chars().count() <= 200 => Ok(ReadingValue::Text(s.clone())),
        Value::String(_) => Err(InvalidField::new(name, "text longer than 200 characters")),
        _ => Err(InvalidField::new(name, "must be a number, true/false or text")),
    }
}

fn finite(field: &str, n: Option<f64>) -> Result<ReadingValue, PayloadError> {
    n.filter(|n| n.is_finite()).map(ReadingValue::Number).ok_or_else(|| InvalidField::new(field, "not a finite number"))
}

fn attribute_name(field: &str, name: &str) -> Result<String, PayloadError> {
    // A code, as it stands: no trimming of what a device sent.
    crate::text::parse_code(field, name)
        .ok()
        .filter(|code| code == name)
        .ok_or_else(|| InvalidField::new(field, format!("attribute name {name:?} must be 1-64 letters, digits, '_', '-' or '.'")))
}

/// SenML (RFC 8428): base fields carry over to later records until replaced; times are seconds.
/// The attribute is the record's own name `n`; without one, the last segment of the base name.
fn parse_senml(records: &[Value], now: i64) -> Result<Vec<Reading>, PayloadError> {
    let mut base_name = String::new();
    let mut base_time = 0.0;
    let mut base_unit: Option<String> = None;
    let mut base_value: Option<f64> = None;
    let mut readings = Vec::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        let field = |name: &str| format!("senml[{i}].{name}");
        let Value::Object(r) = record else { return Err(InvalidField::new(format!("senml[{i}]"), "must be an object")) };
        let text = |key: &str| -> Result<Option<String>, PayloadError> {
            match r.get(key) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(InvalidField::new(field(key), "must be text")),
            }
        };
        let number = |key: &str| -> Result<Option<f64>, PayloadError> {
            match r.get(key) {
                None => Ok(None),
                Some(Value::Number(n)) => n.as_f64().filter(|n| n.is_finite()).map(Some).ok_or_else(|| InvalidField::new(field(key), "not a finite number")),
                Some(_) => Err(InvalidField::new(field(key), "must be a number")),
            }
        };
        if let Some(bn) = text("bn")? {
            base_name = bn;
        }
        if let Some(bt) = number("bt")? {
            base_time = bt;
        }
        if let Some(bu) = text("bu")? {
            base_unit = Some(bu);
        }
        if let Some(bv) = number("bv")? {
            base_value = Some(bv);
        }
        let value = match (number("v")?, r.get("vb"), text("vs")?) {
            (Some(v), None, None) => ReadingValue::Number(v + base_value.unwrap_or(0.0)),
            (None, Some(Value::Bool(b)), None) => ReadingValue::Bool(*b),
            (None, None, Some(s)) => plain_value(&field("vs"), &Value::String(s))?,
            (None, None, None) if r.contains_key("s") || r.contains_key("vd") => {
                return Err(InvalidField::new(field("v"), "sums and data values are not supported"))
            }
            (None, None, None) if r.keys().all(|k| k.starts_with('b')) => continue, // a base-only record
            (None, None, None) => return Err(InvalidField::new(field("v"), "no value (v, vb or vs)")),
            _ => return Err(InvalidField::new(field("v"), "more than one value, or vb is not true/false")),
        };
        let name = match text("n")? {
            Some(n) => n,
            None => base_name.rsplit([':', '/']).next().unwrap_or_default().to_string(),
        };
        let seconds = base_time + number("t")?.unwrap_or(0.0);
        let at = if seconds.abs() < SENML_RELATIVE_BELOW_S { now + (seconds * 1000.0) as i64 } else { (seconds * 1000.0) as i64 };
        let unit = text("u")?.or_else(|| base_unit.clone());
        let (value, unit) = normalise_unit(value, unit);
        readings.push(Reading { name: attribute_name(&field("n"), &name)?, at, value, unit });
    }
    Ok(readings)
}

/// Converts the SenML units that have an obvious canonical form: percent to a ratio, kelvin to
/// degrees Celsius.
fn normalise_unit(value: ReadingValue, unit: Option<String>) -> (ReadingValue, Option<String>) {
    match (value, unit.as_deref()) {
        (ReadingValue::Number(v), Some("%")) => (ReadingValue::Number(v / 100.0), Some("/".to_string())),
        (ReadingValue::Number(v), Some("K")) => (ReadingValue::Number(v - 273.15), Some("Cel".to_string())),
        (value, _) => (value, unit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_000_000_000;

    #[test]
    fn topics_name_device_and_kind() {
        assert_eq!(parse_topic("linli/v1/devices/bin-7/telemetry"), Some(("bin-7", MessageKind::Telemetry)));
        assert_eq!(parse_topic("linli/v1/devices/bin-7/status"), Some(("bin-7", MessageKind::Status)));
        assert_eq!(parse_topic("linli/v1/devices/bin-7/command"), None);
        assert_eq!(parse_topic("linli/v1/devices//telemetry"), None);
        assert_eq!(parse_topic("other/bin-7/telemetry"), None);
        assert_eq!(command_topic("bin-7"), "linli/v1/devices/bin-7/command");
    }

    #[test]
    fn plain_json_with_and_without_time() {
        let r = parse_telemetry(br#"{"values": {"fillingLevel": 0.93, "lidOpen": false, "state": "ok"}}"#, NOW).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!((r[0].name.as_str(), r[0].at, &r[0].value), ("fillingLevel", NOW, &ReadingValue::Number(0.93)));
        assert_eq!(r[1].value, ReadingValue::Bool(false));
        let r = parse_telemetry(br#"{"ts": "2026-05-28T20:26:40Z", "values": {"t": 1}}"#, NOW).unwrap();
        assert_eq!(r[0].at, 1_780_000_000_000);
        let r = parse_telemetry(format!(r#"{{"ts": {}, "values": {{"t": 1}}}}"#, NOW - 1000).as_bytes(), NOW).unwrap();
        assert_eq!(r[0].at, NOW - 1000);
    }

    #[test]
    fn senml_resolves_base_fields_units_and_relative_times() {
        let pack = br#"[{"bn": "urn:dev:bin-7:", "bt": 1780000000, "bu": "%", "n": "fillingLevel", "v": 91},
                        {"n": "temperature", "u": "K", "v": 300.15, "t": -60},
                        {"n": "lidOpen", "vb": true}]"#;
        let r = parse_telemetry(pack, NOW).unwrap();
        assert_eq!(r[0].value, ReadingValue::Number(0.91));
        assert_eq!(r[0].unit.as_deref(), Some("/"));
        assert_eq!((r[1].at, r[1].unit.as_deref()), (NOW - 60_000, Some("Cel")));
        assert!(matches!(r[1].value, ReadingValue::Number(c) if (c - 27.0).abs() < 1e-9));
        assert_eq!(r[2].value, ReadingValue::Bool(true));
        // Relative time and the base name's last segment as the attribute.
        let r = parse_telemetry(br#"[{"bn": "bin-7/fillingLevel", "v": 0.5, "t": -5}]"#, NOW).unwrap();
        assert_eq!((r[0].name.as_str(), r[0].at), ("fillingLevel", NOW - 5_000));
    }

    #[test]
    fn bad_payloads_name_the_fault() {
        let field = |bytes: &[u8]| parse_telemetry(bytes, NOW).unwrap_err().field;
        assert_eq!(field(b"{not json"), "payload");
        assert_eq!(field(b"42"), "payload");
        assert_eq!(field(br#"{"values": []}"#), "values");
        assert_eq!(field(br#"{"values": {}}"#), "values");
        assert_eq!(field(br#"{"values": {"a b": 1}}"#), "values");
        assert_eq!(field(br#"{"values": {"x": [1]}}"#), "x");
        assert_eq!(field(br#"{"ts": "yesterday", "values": {"x": 1}}"#), "ts");
        assert_eq!(field(br#"{"ts": 99999999999999, "values": {"x": 1}}"#), "ts");
        assert_eq!(field(br#"{"ts": 1000, "values": {"x": 1}}"#), "ts");
        assert_eq!(field(br#"[{"n": "x"}]"#), "senml[0].v");
        assert_eq!(field(br#"[{"n": "x", "v": 1, "vs": "a"}]"#), "senml[0].v");
        assert_eq!(field(br#"[{"n": "x", "v": "1"}]"#), "senml[0].v");
        assert_eq!(field(&vec![b' '; MAX_PAYLOAD_BYTES + 1]), "payload");
    }
}

//! Events: every report of a problem, whatever its source, and the incidents that merge reports
//! of one problem (多人同诉).
use serde::{Deserialize, Serialize};

use super::settings::MergeSettings;
use super::taxonomy::{self, Category};
use crate::error::{Invalid, InvalidField};
use crate::geo::Position;
use crate::keyword_enum;
use crate::text::{non_empty, parse_code};
use crate::time::parse_rfc3339;
use crate::Attributes;

keyword_enum!(
    EventSource, "source", {
        Hotline12345 => ["hotline_12345", "12345", "12345热线"],
        ResidentApp => ["resident_app", "居民上报"],
        Open311 => ["open311"],
        GridPatrol => ["grid_patrol", "网格巡查"],
        CameraAi => ["camera_ai", "视频AI"],
        Iot => ["iot", "物联感知"],
        Analytics => ["analytics", "数据分析"],
        Whistle => ["whistle", "吹哨"],
    }
);

keyword_enum!(
    Severity, "severity", {
        Info => ["info", "提示"],
        Minor => ["minor", "一般"],
        Major => ["major", "重要"],
        Critical => ["critical", "紧急"],
    }
);

impl Severity {
    pub fn rank(self) -> u8 {
        match self {
            Severity::Info => 0,
            Severity::Minor => 1,
            Severity::Major => 2,
            Severity::Critical => 3,
        }
    }
}

/// Who reported an event. Name and phone are personal data, masked like residents'.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reporter {
    pub name: Option<String>,
    pub phone: Option<String>,
    /// The platform user who reported, when a user did (a resident in the app, a grid worker).
    pub user_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    pub id: i64,
    pub source: EventSource,
    pub category: String,
    /// The node of the registry where it happened.
    pub region_code: String,
    pub position: Option<Position>,
    pub address: Option<String>,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: i64,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub received_at: i64,
    pub severity: Severity,
    pub title: String,
    pub description: String,
    pub reporter: Reporter,
    /// Ids of photos, snapshots and clips in the media store.
    pub evidence: Vec<String>,
    /// The source's own id (a 12345 ticket number, an alarm id), unique per source.
    pub external_id: Option<String>,
    pub device_code: Option<String>,
    pub incident_id: i64,
    #[schema(value_type = Object)]
    pub attributes: Attributes,
}

/// One problem reported by one or more events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Incident {
    pub id: i64,
    pub category: String,
    pub region_code: String,
    pub position: Option<Position>,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub first_at: i64,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_at: i64,
    /// How many events reported it (多人同诉 when above one).
    pub report_count: i64,
    /// The work order handling it, once one is open.
    pub order_id: Option<i64>,
    /// Still open to further reports: false once its order is closed or terminated.
    pub open: bool,
}

/// A validated event, before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub source: EventSource,
    pub category: String,
    pub region_code: Option<String>,
    pub position: Option<Position>,
    pub address: Option<String>,
    pub occurred_at: i64,
    pub severity: Severity,
    pub title: String,
    pub description: String,
    pub reporter: Reporter,
    pub evidence: Vec<String>,
    pub external_id: Option<String>,
    pub device_code: Option<String>,
    pub attributes: Attributes,
}

#[derive(Debug, Clone, Default)]
pub struct EventInput<'a> {
    pub source: Option<&'a str>,
    pub category: Option<&'a str>,
    pub region_code: Option<&'a str>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub address: Option<&'a str>,
    pub occurred_at: Option<&'a str>,
    pub severity: Option<&'a str>,
    pub title: Option<&'a str>,
    pub description: Option<&'a str>,
    pub reporter_name: Option<&'a str>,
    pub reporter_phone: Option<&'a str>,
    pub evidence: Vec<String>,
    pub external_id: Option<&'a str>,
    pub device_code: Option<&'a str>,
    pub attributes: Attributes,
}

/// Clock skew tolerated on reported times: a report may not claim to come from the future.
const FUTURE_SLACK_MS: i64 = 5 * 60_000;
pub const MAX_EVIDENCE: usize = 20;

/// Bounded free text: trimmed, at most `max` characters.
pub fn parse_text(field: &str, raw: Option<&str>, max: usize) -> Result<Option<String>, InvalidField> {
    match non_empty(raw) {
        Some(text) if text.chars().count() > max => Err(InvalidField::new(field, format!("must be at most {max} characters"))),
        Some(text) if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') => {
            Err(InvalidField::new(field, "must not contain control characters"))
        }
        other => Ok(other.map(str::to_string)),
    }
}

/// A media id as the media store issues it: 64 lowercase hex digits (the content's SHA-256).
pub fn parse_media_id(field: &str, raw: &str) -> Result<String, InvalidField> {
    let id = raw.trim();
    if id.len() == 64 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(id.to_string())
    } else {
        Err(InvalidField::new(field, format!("{id:?} is not a media id returned by POST /api/v1/media")))
    }
}

pub fn parse_evidence(field: &str, ids: &[String]) -> Result<Vec<String>, InvalidField> {
    if ids.len() > MAX_EVIDENCE {
        return Err(InvalidField::new(field, format!("at most {MAX_EVIDENCE} attachments")));
    }
    ids.iter().enumerate().map(|(i, id)| parse_media_id(&format!("{field}[{i}]"), id)).collect()
}

impl NewEvent {
    /// Validates a report against the taxonomy; `now` bounds the reported time.
    pub fn parse(input: EventInput<'_>, categories: &[Category], now: i64) -> Result<Self, Invalid> {
        let mut errors = Invalid::default();
        let source = match non_empty(input.source) {
            Some(s) => errors.check(EventSource::parse("source", s)),
            None => errors.check(Err(InvalidField::new("source", "is required"))),
        };
        let category = match non_empty(input.category) {
            Some(c) => errors.check(taxonomy::find(categories, "category", c)).map(|c| c.code.clone()),
            None => errors.check(Err(InvalidField::new("category", "is required"))),
        };
        let region_code = non_empty(input.region_code).and_then(|c| errors.check(parse_code("region_code", c)));
        let position = match (input.lon, input.lat) {
            (Some(lon), Some(lat)) => errors.check(Position::parse("lon", lon, lat)),
            (None, None) => None,
            (Some(_), None) => errors.check(Err(InvalidField::new("lat", "is required with lon"))),
            (None, Some(_)) => errors.check(Err(InvalidField::new("lon", "is required with lat"))),
        };
        if region_code.is_none() && position.is_none() && errors.is_empty() {
            errors.push("location", "give region_code or lon and lat (or both)");
        }
        let occurred_at = match non_empty(input.occurred_at) {
            Some(raw) => errors.check(parse_rfc3339("occurred_at", raw)),
            None => Some(now),
        };
        if occurred_at.is_some_and(|t| t > now + FUTURE_SLACK_MS) {
            errors.push("occurred_at", "is in the future");
        }
        let severity = match non_empty(input.severity) {
            Some(s) => errors.check(Severity::parse("severity", s)),
            None => Some(Severity::Minor),
        };
        let address = errors.check(parse_text("address", input.address, 500)).flatten();
        let title = errors.check(parse_text("title", input.title, 200)).flatten();
        let description = errors.check(parse_text("description", input.description, 4000)).flatten().unwrap_or_default();
        let reporter_name = errors.check(parse_text("reporter_name", input.reporter_name, 100)).flatten();
        let reporter_phone = non_empty(input.reporter_phone).and_then(|p| errors.check(crate::person::parse_phone("reporter_phone", p)));
        let evidence = errors.check(parse_evidence("evidence", &input.evidence)).unwrap_or_default();
        let external_id = errors.check(parse_text("external_id", input.external_id, 100)).flatten();
        let device_code = non_empty(input.device_code).and_then(|c| errors.check(parse_code("device_code", c)));
        errors.into_result()?;
        let (Some(source), Some(category), Some(occurred_at), Some(severity)) = (source, category, occurred_at, severity) else {
            unreachable!("every required field was checked above")
        };
        let title = title.unwrap_or_else(|| categories.iter().find(|c| c.code == category).map(|c| c.name_zh.clone()).unwrap_or_default());
        Ok(NewEvent {
            source,
            category,
            region_code,
            position,
            address,
            occurred_at,
            severity,
            title,
            description,
            reporter: Reporter { name: reporter_name, phone: reporter_phone, user_id: None },
            evidence,
            external_id,
            device_code,
            attributes: input.attributes,
        })
    }
}

/// Picks the open incident a new event joins: same category, reported within the window of the
/// incident's last report, and within the radius of it (or, without positions, at the same node).
/// The nearest wins.
pub fn merge_target<'a>(candidates: &'a [Incident], event: &NewEvent, region_code: &str, settings: &MergeSettings) -> Option<&'a Incident> {
    let window_ms = settings.window_minutes * 60_000;
    candidates
        .iter()
        .filter(|i| i.open && i.category == event.category && (event.occurred_at - i.last_at).abs() <= window_ms)
        .filter_map(|i| {
            let distance = match (i.position, event.position) {
                (Some(a), Some(b)) => a.distance_m(b),
                _ if i.region_code == region_code => 0.0,
                _ => return None,
            };
            (distance <= settings.radius_m).then_some((distance, i))
        })
        .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.id.cmp(&b.1.id)))
        .map(|(_, i)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::governance::taxonomy::default_taxonomy;

    fn input() -> EventInput<'static> {
        EventInput { source: Some("hotline_12345"), category: Some("env.noise"), region_code: Some("c1"), ..Default::default() }
    }

    #[test]
    fn events_need_a_known_category_and_a_location() {
        let t = default_taxonomy();
        let e = NewEvent::parse(input(), &t, 1000).unwrap();
        assert_eq!((e.source, e.severity, e.occurred_at, e.title.as_str()), (EventSource::Hotline12345, Severity::Minor, 1000, "噪声扰民"));
        let bad = NewEvent::parse(EventInput { category: Some("nope"), ..input() }, &t, 0).unwrap_err();
        assert_eq!(bad.0[0].field, "category");
        let bad = NewEvent::parse(EventInput { region_code: None, ..input() }, &t, 0).unwrap_err();
        assert_eq!(bad.0[0].field, "location");
        let bad = NewEvent::parse(EventInput { occurred_at: Some("2099-01-01T00:00:00Z"), ..input() }, &t, 0).unwrap_err();
        assert_eq!(bad.0[0].field, "occurred_at");
        let bad = NewEvent::parse(EventInput { evidence: vec!["x".into()], ..input() }, &t, 0).unwrap_err();
        assert_eq!(bad.0[0].field, "evidence[0]");
    }

    #[test]
    fn nearby_reports_of_one_category_merge() {
        let t = default_taxonomy();
        let here = Position { lon: 116.33, lat: 40.07 };
        let incident = |id, category: &str, lon: f64, last_at| Incident {
            id,
            category: category.into(),
            region_code: "c1".into(),
            position: Some(Position { lon, lat: here.lat }),
            first_at: 0,
            last_at,
            report_count: 1,
            order_id: None,
            open: true,
        };
        let event = NewEvent::parse(EventInput { lon: Some(here.lon), lat: Some(here.lat), ..input() }, &t, 3_600_000).unwrap();
        let settings = MergeSettings { radius_m: 200.0, window_minutes: 120 };
        let candidates = vec![incident(1, "env.noise", 116.332, 0), incident(2, "env.noise", 116.3305, 0), incident(3, "env.pollution", here.lon, 0)];
        assert_eq!(merge_target(&candidates, &event, "c1", &settings).map(|i| i.id), Some(2));
        let far = vec![incident(4, "env.noise", 116.34, 0)];
        assert!(merge_target(&far, &event, "c1", &settings).is_none());
        let old = vec![incident(5, "env.noise", here.lon, -4 * 3_600_000)];
        assert!(merge_target(&old, &event, "c1", &settings).is_none());
    }
}

//! Alarms pushed by AI cameras and edge boxes: what kind, how sure, where in the image, and the
//! event each kind becomes.
use serde::{Deserialize, Serialize};

use crate::error::{Invalid, InvalidField};
use crate::governance::Severity;
use crate::keyword_enum;

keyword_enum!(
    AlarmType, "alarm type", {
        Throwing => ["throwing", "高空抛物"],
        IllegalParking => ["illegal_parking", "违停", "违章停车"],
        FireLaneBlocked => ["fire_lane_blocked", "消防通道占用"],
        Intrusion => ["intrusion", "周界入侵"],
        Crowd => ["crowd", "人员聚集"],
    }
);

impl AlarmType {
    /// The taxonomy category and severity of the event an alarm of this type raises.
    pub fn event(self) -> (&'static str, Severity) {
        match self {
            AlarmType::Throwing => ("safety.throwing", Severity::Major),
            AlarmType::IllegalParking => ("traffic.parking", Severity::Minor),
            AlarmType::FireLaneBlocked => ("safety.fire", Severity::Major),
            AlarmType::Intrusion => ("safety.public_order", Severity::Major),
            AlarmType::Crowd => ("safety.public_order", Severity::Minor),
        }
    }
}

/// Where in the image the detection is, as fractions of the image's width and height.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImageRegion {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// A validated alarm.
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    pub camera_code: String,
    pub alarm_type: AlarmType,
    pub at: i64,
    pub confidence: Option<f64>,
    pub region: Option<ImageRegion>,
    /// The camera's own id of the alarm: a repeat is answered with the first event.
    pub alarm_id: Option<String>,
}

/// An alarm as received, before checking.
#[derive(Debug, Default)]
pub struct AlarmInput<'a> {
    pub camera_id: Option<&'a str>,
    pub alarm_type: Option<&'a str>,
    /// RFC 3339 or epoch milliseconds; receipt time when absent.
    pub time: Option<&'a serde_json::Value>,
    pub confidence: Option<f64>,
    pub region: Option<ImageRegion>,
    pub alarm_id: Option<&'a str>,
}

impl Alarm {
    /// Checks every field, reporting all that are wrong. Times more than 5 minutes ahead of
    /// `now` or 7 days behind are refused, as for telemetry.
    pub fn parse(input: AlarmInput<'_>, now: i64) -> Result<Alarm, Invalid> {
        use super::payload::{MAX_FUTURE_MS, MAX_PAST_MS};
        let mut errors = Invalid::default();
        let camera = match input.camera_id.map(str::trim).filter(|s| !s.is_empty()) {
            Some(code) => errors.check(crate::text::parse_code("camera_id", code)),
            None => errors.check(Err(InvalidField::new("camera_id", "is required"))),
        };
        let alarm_type = match input.alarm_type {
            Some(raw) => errors.check(AlarmType::parse("type", raw)),
            None => errors.check(Err(InvalidField::new("type", "is required"))),
        };
        let at = match input.time {
            None | Some(serde_json::Value::Null) => Some(now),
            Some(serde_json::Value::Number(n)) => {
                errors.check(n.as_i64().ok_or_else(|| InvalidField::new("time", "epoch milliseconds must be a whole number")))
            }
            Some(serde_json::Value::String(s)) => errors.check(crate::time::parse_rfc3339("time", s)),
            Some(_) => errors.check(Err(InvalidField::new("time", "must be RFC 3339 or epoch milliseconds"))),
        };
        if let Some(at) = at {
            if at > now + MAX_FUTURE_MS {
                errors.push("time", "is in the future");
            } else if at < now - MAX_PAST_MS {
                errors.push("time", "is more than 7 days old");
            }
        }
        if let Some(c) = input.confidence {
            if !(0.0..=1.0).contains(&c) {
                errors.push("confidence", "must be between 0 and 1");
            }
        }
        if let Some(r) = input.region {
            let inside = |v: f64| (0.0..=1.0).contains(&v);
            if !(inside(r.x) && inside(r.y) && inside(r.width) && inside(r.height) && r.x + r.width <= 1.0 + 1e-9 && r.y + r.height <= 1.0 + 1e-9) {
                errors.push("region", "x, y, width and height are fractions of the image (0 to 1) and must stay inside it");
            }
        }
        let alarm_id = match input.alarm_id.map(str::trim).filter(|s| !s.is_empty()) {
            Some(id) if id.chars().count() > 128 => {
                errors.push("alarm_id", "must be at most 128 characters");
                None
            }
            other => other.map(str::to_string),
        };
        errors.into_result()?;
        let (Some(camera_code), Some(alarm_type), Some(at)) = (camera, alarm_type, at) else { unreachable!("checked above") };
        Ok(Alarm { camera_code, alarm_type, at, confidence: input.confidence, region: input.region, alarm_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarms_are_checked_field_by_field() {
        let now = 1_780_000_000_000;
        let time = serde_json::json!("2026-05-28T20:26:00Z");
        let alarm = Alarm::parse(
            AlarmInput { camera_id: Some("cam-1"), alarm_type: Some("高空抛物"), time: Some(&time), confidence: Some(0.9), ..Default::default() },
            now,
        )
        .unwrap();
        assert_eq!((alarm.alarm_type, alarm.at, alarm.alarm_type.event().0), (AlarmType::Throwing, now - 40_000, "safety.throwing"));
        let future = serde_json::json!(now + 3_600_000);
        let bad = AlarmInput {
            camera_id: None,
            alarm_type: Some("ufo"),
            time: Some(&future),
            confidence: Some(1.5),
            region: Some(ImageRegion { x: 0.9, y: 0.1, width: 0.2, height: 0.1 }),
            alarm_id: None,
        };
        let fields: Vec<String> = Alarm::parse(bad, now).unwrap_err().0.into_iter().map(|f| f.field).collect();
        assert_eq!(fields, ["camera_id", "type", "time", "confidence", "region"]);
    }
}

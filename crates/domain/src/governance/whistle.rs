//! 吹哨报到: a street or community blows the whistle on a problem and summons departments, each of
//! which must report (acknowledge, check in on site, record what it did) before a deadline.
use serde::{Deserialize, Serialize};

use super::order::{ActorRef, HistoryEntry};
use super::settings::WhistleLimits;
use super::unit::Unit;
use crate::access::Role;
use crate::error::InvalidField;
use crate::geo::Position;
use crate::keyword_enum;
use crate::user::User;

keyword_enum!(
    WhistleUrgency, "urgency", {
        Emergency => ["emergency", "紧急"],
        Routine => ["routine", "常规"],
    }
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Summons {
    pub org: Unit,
    #[serde(with = "crate::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub acknowledged_at: Option<i64>,
    /// Arrival on site: the report (报到) that the deadline judges.
    #[serde(with = "crate::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub checked_in_at: Option<i64>,
    pub check_in_position: Option<Position>,
    /// What the department did.
    pub action: Option<String>,
    /// Whether it checked in by the deadline; unknown until it checks in or the deadline passes.
    pub on_time: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Whistle {
    pub id: i64,
    pub version: i64,
    pub title: String,
    pub note: Option<String>,
    pub urgency: WhistleUrgency,
    /// `open` until the lead closes it, then `closed`.
    pub status: String,
    pub region_code: String,
    pub position: Option<Position>,
    pub order_id: Option<i64>,
    pub incident_id: Option<i64>,
    /// The unit that blew the whistle and leads the response.
    pub lead: Unit,
    pub blown_by: ActorRef,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub deadline: i64,
    #[serde(with = "crate::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<i64>,
    pub summons: Vec<Summons>,
}

/// Roles that may blow the whistle.
pub fn may_blow(role: Role) -> bool {
    matches!(role, Role::CommunitySecretary | Role::StreetDispatcher | Role::StreetLeader | Role::Leader | Role::Admin)
}

/// The deadline of a new whistle: the one asked for, or the default for its urgency.
pub fn deadline(now: i64, urgency: WhistleUrgency, asked: Option<i64>, limits: &WhistleLimits) -> Result<i64, InvalidField> {
    match asked {
        Some(at) if at <= now => Err(InvalidField::new("deadline", "is in the past")),
        Some(at) => Ok(at),
        None => Ok(now
            + 60_000
                * match urgency {
                    WhistleUrgency::Emergency => limits.emergency_minutes,
                    WhistleUrgency::Routine => limits.routine_minutes,
                }),
    }
}

/// A department's step of reporting.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    Acknowledge { note: Option<String> },
    CheckIn { position: Position, note: Option<String> },
    Record { action: String },
}

/// Applies a department's report step; returns the history entry. Checking in twice, or
/// recording before checking in, is refused with the reason.
pub fn report(whistle: &mut Whistle, org_code: &str, step: Report, now: i64, actor: ActorRef) -> Result<HistoryEntry, String> {
    if whistle.status != "open" {
        return Err("the whistle is closed".to_string());
    }
    let deadline = whistle.deadline;
    let summons = whistle.summons.iter_mut().find(|s| s.org.code == org_code).ok_or_else(|| format!("{org_code} was not summoned by this whistle"))?;
    let mut entry = HistoryEntry::new(now, "", Some(actor));
    entry.from_unit = Some(summons.org.clone());
    match step {
        Report::Acknowledge { note } => {
            if summons.acknowledged_at.is_some() {
                return Err(format!("{org_code} has already acknowledged"));
            }
            summons.acknowledged_at = Some(now);
            entry.action = "acknowledged".into();
            entry.note = note;
        }
        Report::CheckIn { position, note } => {
            if summons.checked_in_at.is_some() {
                return Err(format!("{org_code} has already checked in"));
            }
            summons.acknowledged_at.get_or_insert(now);
            summons.checked_in_at = Some(now);
            summons.check_in_position = Some(position);
            summons.on_time = Some(now <= deadline);
            entry.action = "checked_in".into();
            entry.note = note;
            entry.data = serde_json::json!({ "lon": position.lon, "lat": position.lat, "on_time": now <= deadline });
        }
        Report::Record { action } => {
            if summons.checked_in_at.is_none() {
                return Err(format!("{org_code} must check in on site before recording its action"));
            }
            summons.action = Some(action.clone());
            entry.action = "recorded".into();
            entry.note = Some(action);
        }
    }
    whistle.version += 1;
    Ok(entry)
}

/// Closes a whistle once every department has reported (checked in and recorded its action).
pub fn close(whistle: &mut Whistle, now: i64, user: &User, note: Option<String>) -> Result<HistoryEntry, String> {
    if whistle.status != "open" {
        return Err("the whistle is already closed".to_string());
    }
    if !(whistle.lead.has_member(user) || user.role == Role::Admin || whistle.blown_by.user_id == user.id) {
        return Err(format!("only the lead, {} ({}), may close this whistle", whistle.lead.name, whistle.lead.code));
    }
    let missing: Vec<&str> = whistle.summons.iter().filter(|s| s.checked_in_at.is_none() || s.action.is_none()).map(|s| s.org.code.as_str()).collect();
    if !missing.is_empty() {
        return Err(format!("not every department has reported yet: {}", missing.join(", ")));
    }
    whistle.status = "closed".into();
    whistle.closed_at = Some(now);
    whistle.version += 1;
    let mut entry = HistoryEntry::new(now, "closed", Some(ActorRef::of(user)));
    entry.note = note;
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::governance::unit::UnitKind;

    #[test]
    fn departments_report_and_the_lead_closes() {
        let org = |code: &str| Unit { kind: UnitKind::Organisation, code: code.into(), name: code.into() };
        let summons = |code: &str| Summons { org: org(code), acknowledged_at: None, checked_in_at: None, check_in_position: None, action: None, on_time: None };
        let actor = ActorRef { user_id: 9, username: "u".into(), role: Role::DepartmentHandler };
        let mut w = Whistle {
            id: 1,
            version: 1,
            title: "t".into(),
            note: None,
            urgency: WhistleUrgency::Emergency,
            status: "open".into(),
            region_code: "s".into(),
            position: None,
            order_id: None,
            incident_id: None,
            lead: Unit { kind: UnitKind::Region, code: "s".into(), name: "s".into() },
            blown_by: ActorRef { user_id: 1, username: "lead".into(), role: Role::StreetLeader },
            created_at: 0,
            deadline: deadline(0, WhistleUrgency::Emergency, None, &WhistleLimits::default()).unwrap(),
            closed_at: None,
            summons: vec![summons("a"), summons("b")],
        };
        assert_eq!(w.deadline, 30 * 60_000);
        let here = Position { lon: 116.3, lat: 40.0 };
        assert!(report(&mut w, "a", Report::Record { action: "x".into() }, 10, actor.clone()).is_err());
        report(&mut w, "a", Report::CheckIn { position: here, note: None }, 10, actor.clone()).unwrap();
        report(&mut w, "b", Report::CheckIn { position: here, note: None }, 31 * 60_000, actor.clone()).unwrap();
        assert_eq!(w.summons.iter().map(|s| s.on_time).collect::<Vec<_>>(), [Some(true), Some(false)]);
        assert!(report(&mut w, "c", Report::Acknowledge { note: None }, 10, actor.clone()).is_err());
        let lead = User {
            id: 1,
            username: "lead".into(),
            display_name: "l".into(),
            role: Role::StreetLeader,
            region_code: Some("s".into()),
            org_code: None,
            disabled: false,
            created_at: 0,
        };
        assert!(close(&mut w, 100, &lead, None).unwrap_err().contains("a, b"));
        report(&mut w, "a", Report::Record { action: "cleared".into() }, 50, actor.clone()).unwrap();
        report(&mut w, "b", Report::Record { action: "fixed".into() }, 60, actor).unwrap();
        close(&mut w, 100, &lead, None).unwrap();
        assert_eq!(w.status, "closed");
        assert!(deadline(100, WhistleUrgency::Routine, Some(50), &WhistleLimits::default()).is_err());
    }
}

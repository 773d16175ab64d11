//! Configuration of the closed loop, with the defaults the platform ships: merging of reports,
//! which events open orders, time limits, whistle deadlines and the formulas of the three rates.
//! Admins replace any section through the API; a section left out keeps its default.
use serde::{Deserialize, Serialize};

use super::event::{EventSource, Severity};
use super::taxonomy::Urgency;
use crate::error::Invalid;

/// The longest time limit a setting may give, in minutes (a year): longer ones are mistakes, and
/// far longer ones would overflow deadline arithmetic.
const MAX_MINUTES: i64 = 366 * 24 * 60;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub merge: MergeSettings,
    pub rules: Vec<OrderRule>,
    pub time_limits: TimeLimits,
    pub whistle: WhistleLimits,
    pub rates: RateFormula,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            merge: MergeSettings::default(),
            rules: default_rules(),
            time_limits: TimeLimits::default(),
            whistle: WhistleLimits::default(),
            rates: RateFormula::default(),
        }
    }
}

/// Reports of one category closer than `radius_m` and `window_minutes` join one incident.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MergeSettings {
    pub radius_m: f64,
    pub window_minutes: i64,
}

impl Default for MergeSettings {
    fn default() -> Self {
        MergeSettings { radius_m: 200.0, window_minutes: 24 * 60 }
    }
}

/// Events from `source` at `min_severity` or above open a work order automatically; `proactive`
/// marks those orders 未诉先办 (found before anyone complained).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRule {
    pub source: EventSource,
    pub min_severity: Severity,
    pub proactive: bool,
}

pub fn default_rules() -> Vec<OrderRule> {
    use EventSource::*;
    let rule = |source, min_severity, proactive| OrderRule { source, min_severity, proactive };
    vec![
        rule(Hotline12345, Severity::Info, false),
        rule(ResidentApp, Severity::Info, false),
        rule(Open311, Severity::Info, false),
        rule(Whistle, Severity::Info, false),
        rule(GridPatrol, Severity::Info, true),
        rule(CameraAi, Severity::Major, true),
        rule(Iot, Severity::Major, true),
        rule(Analytics, Severity::Major, true),
    ]
}

/// The rule that opens an order for an event, if any.
pub fn matching_rule(rules: &[OrderRule], source: EventSource, severity: Severity) -> Option<&OrderRule> {
    rules.iter().find(|r| r.source == source && severity.rank() >= r.min_severity.rank())
}

/// How long an order may take, per urgency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TimeLimits {
    pub emergency: Limit,
    pub utility: Limit,
    pub ordinary: Limit,
    pub complex: Limit,
    /// A warning is raised when this share of the time to a deadline has passed.
    pub warn_at_fraction: f64,
}

/// Respond (contact the requester) within `respond_minutes`; resolve within `resolve_minutes` of
/// clock time, or within `resolve_working_days` on the business calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub respond_minutes: i64,
    pub resolve_minutes: Option<i64>,
    pub resolve_working_days: Option<u32>,
}

impl Default for TimeLimits {
    fn default() -> Self {
        let clock = |respond_minutes, resolve_minutes| Limit { respond_minutes, resolve_minutes: Some(resolve_minutes), resolve_working_days: None };
        TimeLimits {
            emergency: clock(30, 120),
            utility: clock(120, 24 * 60),
            ordinary: clock(120, 7 * 24 * 60),
            complex: Limit { respond_minutes: 120, resolve_minutes: None, resolve_working_days: Some(15) },
            warn_at_fraction: 0.8,
        }
    }
}

impl Default for Limit {
    fn default() -> Self {
        TimeLimits::default().ordinary
    }
}

impl TimeLimits {
    pub fn for_urgency(&self, urgency: Urgency) -> Limit {
        match urgency {
            Urgency::Emergency => self.emergency,
            Urgency::Utility => self.utility,
            Urgency::Ordinary => self.ordinary,
            Urgency::Complex => self.complex,
        }
    }
}

/// How long summoned departments have to report, per whistle urgency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WhistleLimits {
    pub emergency_minutes: i64,
    pub routine_minutes: i64,
}

impl Default for WhistleLimits {
    fn default() -> Self {
        WhistleLimits { emergency_minutes: 30, routine_minutes: 24 * 60 }
    }
}

/// The weights of the three rates. 响应率 = Σ weight(on time or late) ÷ orders due;
/// 解决率 = Σ weight(solved or not) ÷ orders called back; 满意率 = Σ weight(rating) ÷ orders rated.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RateFormula {
    pub responded_on_time: f64,
    pub responded_late: f64,
    pub not_responded: f64,
    pub solved: f64,
    pub unsolved: f64,
    pub satisfied: f64,
    pub basically_satisfied: f64,
    pub unsatisfied: f64,
}

impl Default for RateFormula {
    fn default() -> Self {
        RateFormula {
            responded_on_time: 1.0,
            responded_late: 0.0,
            not_responded: 0.0,
            solved: 1.0,
            unsolved: 0.0,
            satisfied: 1.0,
            basically_satisfied: 1.0,
            unsatisfied: 0.0,
        }
    }
}

impl Settings {
    pub fn check(&self) -> Result<(), Invalid> {
        let mut errors = Invalid::default();
        if !(self.merge.radius_m.is_finite() && (0.0..=10_000.0).contains(&self.merge.radius_m)) {
            errors.push("merge.radius_m", "must be between 0 and 10000");
        }
        if !(0..=30 * 24 * 60).contains(&self.merge.window_minutes) {
            errors.push("merge.window_minutes", "must be between 0 and 43200");
        }
        for (name, limit) in [
            ("emergency", self.time_limits.emergency),
            ("utility", self.time_limits.utility),
            ("ordinary", self.time_limits.ordinary),
            ("complex", self.time_limits.complex),
        ] {
            if !(1..=MAX_MINUTES).contains(&limit.respond_minutes) {
                errors.push(format!("time_limits.{name}.respond_minutes"), "must be 1 minute to a year");
            }
            match (limit.resolve_minutes, limit.resolve_working_days) {
                (Some(m), None) if (1..=MAX_MINUTES).contains(&m) => {}
                (None, Some(d)) if (1..=365).contains(&d) => {}
                _ => errors.push(format!("time_limits.{name}"), "give exactly one of resolve_minutes (1 to a year's) or resolve_working_days (1 to 365)"),
            }
        }
        if !(self.time_limits.warn_at_fraction > 0.0 && self.time_limits.warn_at_fraction < 1.0) {
            errors.push("time_limits.warn_at_fraction", "must be between 0 and 1");
        }
        if !(1..=MAX_MINUTES).contains(&self.whistle.emergency_minutes) || !(1..=MAX_MINUTES).contains(&self.whistle.routine_minutes) {
            errors.push("whistle", "deadlines must be 1 minute to a year");
        }
        let r = &self.rates;
        for (name, w) in [
            ("responded_on_time", r.responded_on_time),
            ("responded_late", r.responded_late),
            ("not_responded", r.not_responded),
            ("solved", r.solved),
            ("unsolved", r.unsolved),
            ("satisfied", r.satisfied),
            ("basically_satisfied", r.basically_satisfied),
            ("unsatisfied", r.unsatisfied),
        ] {
            if !(w.is_finite() && (0.0..=1.0).contains(&w)) {
                errors.push(format!("rates.{name}"), "must be between 0 and 1");
            }
        }
        errors.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_settings_are_valid_and_sections_default() {
        Settings::default().check().unwrap();
        let partial: Settings = serde_json::from_str(r#"{"merge": {"radius_m": 50}}"#).unwrap();
        assert_eq!(partial.merge.window_minutes, 1440);
        assert_eq!(partial.time_limits.emergency.resolve_minutes, Some(120));
        assert!(serde_json::from_str::<Settings>(r#"{"nope": 1}"#).is_err());
        assert_eq!(matching_rule(&default_rules(), EventSource::CameraAi, Severity::Minor), None);
        assert!(matching_rule(&default_rules(), EventSource::CameraAi, Severity::Critical).unwrap().proactive);
    }
}

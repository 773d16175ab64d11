//! Telemetry rules: a condition on one attribute raises an event once, and re-arms only when a
//! clearing condition holds (hysteresis), so a bin hovering at 90 % full raises one event, not
//! one a minute. Rules are configuration, editable through the API.
use serde::{Deserialize, Serialize};

use super::payload::{Reading, ReadingValue};
use crate::device::DeviceKind;
use crate::error::Invalid;
use crate::governance::taxonomy::{self, Category};
use crate::governance::Severity;

/// A test on an attribute's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Condition {
    AtLeast {
        value: f64,
    },
    Above {
        value: f64,
    },
    AtMost {
        value: f64,
    },
    Below {
        value: f64,
    },
    Equals {
        value: ReadingValue,
    },
    /// The value has not changed for this many minutes (a stuck meter).
    UnchangedFor {
        minutes: i64,
    },
}

/// One rule: when `trigger` holds for a device's `attribute`, raise an event of `category`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TelemetryRule {
    /// Stable code, e.g. `bin_full`.
    pub code: String,
    /// Devices of this kind only; every kind when absent.
    pub device_kind: Option<DeviceKind>,
    pub attribute: String,
    pub trigger: Condition,
    /// Once raised, the rule re-arms for the device only when this holds; by default, when the
    /// trigger no longer does.
    #[serde(default)]
    pub clear: Option<Condition>,
    /// A taxonomy code for the event.
    pub category: String,
    pub severity: Severity,
    /// The event's title, e.g. 垃圾满溢.
    pub title: String,
}

/// What a rule remembers per device.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleState {
    pub raised: bool,
    /// The time of the latest reading considered; older ones are ignored.
    pub seen_at: Option<i64>,
    pub last_value: Option<ReadingValue>,
    /// When the value last changed.
    pub changed_at: Option<i64>,
}

/// A rule fired: the event to raise.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub rule_code: String,
    pub category: String,
    pub severity: Severity,
    pub title: String,
    pub at: i64,
    pub value: ReadingValue,
}

impl Condition {
    fn holds(&self, value: &ReadingValue, state: &RuleState, at: i64) -> bool {
        let n = value.as_f64();
        match self {
            Condition::AtLeast { value: v } => n.is_some_and(|n| n >= *v),
            Condition::Above { value: v } => n.is_some_and(|n| n > *v),
            Condition::AtMost { value: v } => n.is_some_and(|n| n <= *v),
            Condition::Below { value: v } => n.is_some_and(|n| n < *v),
            Condition::Equals { value: v } => value == v,
            Condition::UnchangedFor { minutes } => {
                state.last_value.as_ref() == Some(value) && state.changed_at.is_some_and(|since| at - since >= minutes * 60_000)
            }
        }
    }
}

impl TelemetryRule {
    pub fn applies_to(&self, kind: DeviceKind, attribute: &str) -> bool {
        self.attribute == attribute && self.device_kind.is_none_or(|k| k == kind)
    }

    /// Feeds one reading to the rule: the state to keep and, on a rising edge, what to raise.
    pub fn evaluate(&self, state: &RuleState, reading: &Reading) -> (RuleState, Option<Firing>) {
        if state.seen_at.is_some_and(|seen| reading.at < seen) {
            return (state.clone(), None);
        }
        let holds = self.trigger.holds(&reading.value, state, reading.at);
        let mut next = state.clone();
        let mut firing = None;
        if !state.raised && holds {
            next.raised = true;
            firing = Some(Firing {
                rule_code: self.code.clone(),
                category: self.category.clone(),
                severity: self.severity,
                title: self.title.clone(),
                at: reading.at,
                value: reading.value.clone(),
            });
        } else if state.raised {
            let cleared = match &self.clear {
                Some(clear) => clear.holds(&reading.value, state, reading.at),
                None => !holds,
            };
            next.raised = !cleared;
        }
        if state.last_value.as_ref() != Some(&reading.value) {
            next.last_value = Some(reading.value.clone());
            next.changed_at = Some(reading.at);
        }
        next.seen_at = Some(reading.at);
        (next, firing)
    }
}

/// The rules shipped: the examples.
pub fn default_rules() -> Vec<TelemetryRule> {
    use Condition::*;
    use DeviceKind::*;
    let rule = |code: &str, kind, attribute: &str, trigger, clear, category: &str, severity, title: &str| TelemetryRule {
        code: code.into(),
        device_kind: Some(kind),
        attribute: attribute.into(),
        trigger,
        clear,
        category: category.into(),
        severity,
        title: title.into(),
    };
    let on = || Equals { value: ReadingValue::Bool(true) };
    vec![
        rule(
            crate::sensing::scenes::BIN_OVERFLOW_RULE,
            SmartBin,
            "fillingLevel",
            AtLeast { value: 0.9 },
            Some(Below { value: 0.7 }),
            "env.sanitation",
            Severity::Major,
            "垃圾满溢",
        ),
        rule("smoke", SmokeSensor, "smokeDetected", on(), None, "safety.fire", Severity::Critical, "烟感报警"),
        rule("gas_leak", GasSensor, "gasConcentration", AtLeast { value: 20.0 }, Some(Below { value: 10.0 }), "util.gas", Severity::Critical, "燃气泄漏报警"),
        rule("water_leak", WaterLeakSensor, "leakDetected", on(), None, "util.water", Severity::Major, "漏水报警"),
        rule("elevator_fault", ElevatorMonitor, "fault", on(), None, "prop.elevator", Severity::Major, "电梯故障"),
        rule("elevator_trapped", ElevatorMonitor, "peopleTrapped", on(), None, "prop.elevator", Severity::Critical, "电梯困人"),
        rule("fever", AccessGate, "bodyTemperature", AtLeast { value: 37.3 }, None, "health.epidemic", Severity::Minor, "体温异常"),
        rule("meter_stuck", SmartMeter, "reading", UnchangedFor { minutes: 7 * 24 * 60 }, None, "util.power", Severity::Minor, "表计疑似故障"),
    ]
}

/// Checks a rule set: unique codes, known categories, sane conditions.
pub fn check_rules(rules: &[TelemetryRule], categories: &[Category]) -> Result<(), Invalid> {
    let mut errors = Invalid::default();
    let mut seen = std::collections::HashSet::new();
    for (i, rule) in rules.iter().enumerate() {
        let field = |name: &str| format!("rules[{i}].{name}");
        if rule.code.is_empty() || !seen.insert(rule.code.as_str()) {
            errors.push(field("code"), "must be present and unique");
        }
        if rule.attribute.is_empty() {
            errors.push(field("attribute"), "must be present");
        }
        if rule.title.trim().is_empty() {
            errors.push(field("title"), "must be present");
        }
        if taxonomy::find(categories, &field("category"), &rule.category).is_err() {
            errors.push(field("category"), format!("unknown category {:?}", rule.category));
        }
        for (name, condition) in [("trigger", Some(&rule.trigger)), ("clear", rule.clear.as_ref())] {
            let bad = match condition {
                Some(Condition::UnchangedFor { minutes }) => *minutes <= 0,
                Some(Condition::AtLeast { value } | Condition::Above { value } | Condition::AtMost { value } | Condition::Below { value }) => {
                    !value.is_finite()
                }
                _ => false,
            };
            if bad {
                errors.push(field(name), "needs a finite value (minutes above 0)");
            }
        }
    }
    errors.into_result()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bin_rule() -> TelemetryRule {
        default_rules().into_iter().find(|r| r.code == "bin_full").unwrap()
    }

    fn fill(at: i64, level: f64) -> Reading {
        Reading { name: "fillingLevel".into(), at, value: ReadingValue::Number(level), unit: None }
    }

    #[test]
    fn hysteresis_raises_once_until_cleared() {
        let rule = bin_rule();
        let mut state = RuleState::default();
        let mut fired = Vec::new();
        for (at, level) in [(1, 0.5), (2, 0.91), (3, 0.95), (4, 0.85), (5, 0.92), (6, 0.6), (7, 0.9)] {
            let (next, firing) = rule.evaluate(&state, &fill(at, level));
            state = next;
            if let Some(f) = firing {
                fired.push(f.at);
            }
        }
        assert_eq!(fired, [2, 7]);
        // A late reading (buffered upload) does not flap the state.
        let (after, firing) = rule.evaluate(&state, &fill(3, 0.1));
        assert_eq!((after, firing), (state, None));
    }

    #[test]
    fn a_flat_meter_fires_after_seven_days() {
        let rule = default_rules().into_iter().find(|r| r.code == "meter_stuck").unwrap();
        let day = 86_400_000;
        let reading = |at, v| Reading { name: "reading".into(), at, value: ReadingValue::Number(v), unit: None };
        let mut state = RuleState::default();
        let mut fired = Vec::new();
        for (at, v) in [(0, 10.0), (3 * day, 10.0), (7 * day, 10.0), (8 * day, 10.0), (9 * day, 11.0), (17 * day, 11.0)] {
            let (next, firing) = rule.evaluate(&state, &reading(at, v));
            state = next;
            fired.extend(firing.map(|f| f.at / day));
        }
        assert_eq!(fired, [7, 17]);
    }

    #[test]
    fn rule_sets_are_checked() {
        let categories = taxonomy::default_taxonomy();
        assert!(check_rules(&default_rules(), &categories).is_ok());
        let mut bad = default_rules();
        bad[1].code = bad[0].code.clone();
        bad[2].category = "nope".into();
        bad[3].trigger = Condition::UnchangedFor { minutes: 0 };
        let fields: Vec<String> = check_rules(&bad, &categories).unwrap_err().0.into_iter().map(|f| f.field).collect();
        assert_eq!(fields, ["rules[1].code", "rules[2].category", "rules[3].trigger"]);
    }
}

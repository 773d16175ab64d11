//! Sensing: what devices send (topics, plain JSON and SenML payloads), the attributes each kind
//! reports, and the telemetry rules that turn readings into events.
pub mod alarms;
pub mod catalogue;
pub mod payload;
pub mod rules;
pub mod scenes;

pub use payload::{parse_telemetry, parse_topic, MessageKind, Reading, ReadingValue};
pub use rules::{Condition, Firing, RuleState, TelemetryRule};

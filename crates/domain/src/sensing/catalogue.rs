//! The attributes each kind of device reports, named after the FIWARE Smart Data Models where
//! one exists, with the ranges a reading must lie in. Attributes not listed are kept as sent.
use super::payload::{Reading, ReadingValue};
use crate::device::DeviceKind;
use crate::error::InvalidField;

/// What values an attribute takes.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AttributeType {
    Number { min: f64, max: f64, unit: &'static str },
    Bool,
    Text { values: &'static [&'static str] },
}

/// One attribute of a kind of device.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct AttributeSpec {
    pub name: &'static str,
    #[serde(flatten)]
    pub kind: AttributeType,
    /// The FIWARE Smart Data Model the name comes from, if any.
    pub model: Option<&'static str>,
    pub description: &'static str,
}

const fn number(name: &'static str, min: f64, max: f64, unit: &'static str, model: Option<&'static str>, description: &'static str) -> AttributeSpec {
    AttributeSpec { name, kind: AttributeType::Number { min, max, unit }, model, description }
}

const fn flag(name: &'static str, model: Option<&'static str>, description: &'static str) -> AttributeSpec {
    AttributeSpec { name, kind: AttributeType::Bool, model, description }
}

const WASTE: Option<&str> = Some("WasteContainer");
const PARKING: Option<&str> = Some("ParkingSpot");

const SMART_BIN: &[AttributeSpec] = &[
    number("fillingLevel", 0.0, 1.0, "/", WASTE, "how full, 0 (empty) to 1 (full)"),
    number("temperature", -40.0, 120.0, "Cel", WASTE, "inside the bin"),
    flag("lidOpen", None, "the lid is open"),
];
const PARKING_SENSOR: &[AttributeSpec] = &[AttributeSpec {
    name: "status",
    kind: AttributeType::Text { values: &["free", "occupied", "closed", "unknown"] },
    model: PARKING,
    description: "whether the spot is taken",
}];
const SMOKE_SENSOR: &[AttributeSpec] =
    &[flag("smokeDetected", None, "smoke in the chamber"), number("batteryLevel", 0.0, 1.0, "/", Some("Device"), "battery charge, 0 to 1")];
const GAS_SENSOR: &[AttributeSpec] = &[
    number("gasConcentration", 0.0, 100.0, "%LEL", None, "flammable gas, percent of the lower explosive limit"),
    number("batteryLevel", 0.0, 1.0, "/", Some("Device"), "battery charge, 0 to 1"),
];
const WATER_LEAK_SENSOR: &[AttributeSpec] =
    &[flag("leakDetected", None, "water on the floor"), number("batteryLevel", 0.0, 1.0, "/", Some("Device"), "battery charge, 0 to 1")];
const ELEVATOR_MONITOR: &[AttributeSpec] = &[
    flag("fault", None, "the elevator reports a fault"),
    flag("peopleTrapped", None, "someone is trapped in the car"),
    number("floor", -10.0, 200.0, "", None, "where the car is"),
];
const ACCESS_GATE: &[AttributeSpec] = &[
    number("bodyTemperature", 30.0, 45.0, "Cel", None, "of the person passing"),
    AttributeSpec { name: "direction", kind: AttributeType::Text { values: &["in", "out"] }, model: None, description: "which way they passed" },
];
const SMART_METER: &[AttributeSpec] = &[number("reading", 0.0, 1e12, "", None, "the meter's cumulative register (kWh or m³)")];
const SIGNAL_CONTROLLER: &[AttributeSpec] = &[
    AttributeSpec {
        name: "mode",
        kind: AttributeType::Text { values: &["fixed", "adaptive", "manual", "flashing", "off"] },
        model: None,
        description: "control mode",
    },
    number("cycleTime", 0.0, 600.0, "s", None, "current cycle length"),
];
const CAMERA: &[AttributeSpec] = &[flag("online", None, "the video stream is up")];
const OTHER: &[AttributeSpec] = &[];

/// The attributes of `kind`.
pub fn attributes(kind: DeviceKind) -> &'static [AttributeSpec] {
    use DeviceKind::*;
    match kind {
        SmartBin => SMART_BIN,
        ParkingSensor => PARKING_SENSOR,
        SmokeSensor => SMOKE_SENSOR,
        GasSensor => GAS_SENSOR,
        WaterLeakSensor => WATER_LEAK_SENSOR,
        ElevatorMonitor => ELEVATOR_MONITOR,
        AccessGate => ACCESS_GATE,
        SmartMeter => SMART_METER,
        SignalController => SIGNAL_CONTROLLER,
        Camera => CAMERA,
        Other => OTHER,
    }
}

/// Checks a reading against its attribute's type and range (unknown attributes pass).
pub fn check(kind: DeviceKind, reading: &Reading) -> Result<(), InvalidField> {
    let Some(spec) = attributes(kind).iter().find(|a| a.name == reading.name) else { return Ok(()) };
    match (&spec.kind, &reading.value) {
        (AttributeType::Number { min, max, unit }, ReadingValue::Number(v)) => {
            if v < min || v > max {
                return Err(InvalidField::new(spec.name, format!("{v} is outside {min}..{max} {unit}")));
            }
        }
        (AttributeType::Bool, ReadingValue::Bool(_)) => {}
        (AttributeType::Text { values }, ReadingValue::Text(t)) => {
            if !values.contains(&t.as_str()) {
                return Err(InvalidField::new(spec.name, format!("{t:?} is not one of {}", values.join(", "))));
            }
        }
        _ => return Err(InvalidField::new(spec.name, "has the wrong type")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(name: &str, value: ReadingValue) -> Reading {
        Reading { name: name.into(), at: 0, value, unit: None }
    }

    #[test]
    fn ranges_and_types_are_checked() {
        assert!(check(DeviceKind::SmartBin, &reading("fillingLevel", ReadingValue::Number(0.5))).is_ok());
        assert_eq!(check(DeviceKind::SmartBin, &reading("fillingLevel", ReadingValue::Number(1.5))).unwrap_err().field, "fillingLevel");
        assert!(check(DeviceKind::SmartBin, &reading("fillingLevel", ReadingValue::Bool(true))).is_err());
        assert!(check(DeviceKind::ParkingSensor, &reading("status", ReadingValue::Text("occupied".into()))).is_ok());
        assert!(check(DeviceKind::ParkingSensor, &reading("status", ReadingValue::Text("busy".into()))).is_err());
        assert!(check(DeviceKind::SmartBin, &reading("vendorSpecific", ReadingValue::Number(7.0))).is_ok());
    }
}

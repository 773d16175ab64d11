//! Things (物): every kind of device the platform meets.
use serde::Serialize;

use crate::error::Invalid;
use crate::geo::Position;
use crate::region::required;
use crate::text::{non_empty, parse_code, parse_name};
use crate::{keyword_enum, Attributes};

keyword_enum!(
    DeviceKind, "device kind", {
        Camera => ["camera", "摄像头", "摄像机"],
        AccessGate => ["access_gate", "门禁", "闸机"],
        SmartMeter => ["smart_meter", "智能电表", "智能水表", "智能表"],
        SmartBin => ["smart_bin", "智能垃圾桶", "垃圾桶"],
        ParkingSensor => ["parking_sensor", "车位传感器", "地磁"],
        SignalController => ["signal_controller", "信号机", "信号控制机"],
        SmokeSensor => ["smoke_sensor", "烟感", "烟雾传感器"],
        GasSensor => ["gas_sensor", "燃气传感器", "燃气报警器"],
        WaterLeakSensor => ["water_leak_sensor", "水浸传感器", "漏水传感器"],
        ElevatorMonitor => ["elevator_monitor", "电梯监测", "电梯监测仪"],
        Other => ["other", "其他"],
    }
);

keyword_enum!(
    DeviceStatus, "device status", {
        Online => ["online", "在线"],
        Offline => ["offline", "离线"],
        Fault => ["fault", "故障"],
        Maintenance => ["maintenance", "维护"],
        Decommissioned => ["decommissioned", "停用"],
    }
);

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Device {
    pub code: String,
    pub name: String,
    pub kind: DeviceKind,
    /// The node the device is installed in; decides jurisdiction.
    pub region_code: String,
    pub position: Option<Position>,
    pub owner_org_code: Option<String>,
    pub status: DeviceStatus,
    #[serde(with = "crate::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_seen_at: Option<i64>,
    #[schema(value_type = Object)]
    pub attributes: Attributes,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewDevice {
    pub code: String,
    pub name: String,
    pub kind: DeviceKind,
    pub region_code: String,
    pub position: Option<Position>,
    pub owner_org_code: Option<String>,
    pub status: DeviceStatus,
    pub attributes: Attributes,
}

#[derive(Debug, Clone, Default)]
pub struct DeviceInput<'a> {
    pub code: Option<&'a str>,
    pub name: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub region_code: Option<&'a str>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub owner_org_code: Option<&'a str>,
    pub status: Option<&'a str>,
    pub attributes: Attributes,
}

impl NewDevice {
    pub fn parse(input: DeviceInput<'_>) -> Result<Self, Invalid> {
        let mut errors = Invalid::default();
        let code = required(&mut errors, "code", input.code).and_then(|c| errors.check(parse_code("code", c)));
        let name = required(&mut errors, "name", input.name).and_then(|n| errors.check(parse_name("name", n)));
        let kind = required(&mut errors, "kind", input.kind).and_then(|k| errors.check(DeviceKind::parse("kind", k)));
        let region_code = required(&mut errors, "region_code", input.region_code).and_then(|c| errors.check(parse_code("region_code", c)));
        let position = crate::region::parse_location(&mut errors, None, input.lon, input.lat).and_then(|g| g.centroid());
        let owner_org_code = non_empty(input.owner_org_code).and_then(|c| errors.check(parse_code("owner_org_code", c)));
        let status = match non_empty(input.status) {
            Some(s) => errors.check(DeviceStatus::parse("status", s)),
            None => Some(DeviceStatus::Offline),
        };
        errors.into_result()?;
        Ok(NewDevice {
            code: code.unwrap_or_default(),
            name: name.unwrap_or_default(),
            kind: kind.unwrap_or(DeviceKind::Other),
            region_code: region_code.unwrap_or_default(),
            position,
            owner_org_code,
            status: status.unwrap_or(DeviceStatus::Offline),
            attributes: input.attributes,
        })
    }
}

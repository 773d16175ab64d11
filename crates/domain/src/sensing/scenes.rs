//! Scenes (场景): the situations the cockpit counts on their own — what cameras detect, bins
//! overflowing, group-rental suspects — recognised from an event's category and attributes.
use crate::keyword_enum;
use crate::sensing::alarms::AlarmType;
use crate::Attributes;

keyword_enum!(
    Scene, "scene", {
        Throwing => ["throwing", "高空抛物"],
        IllegalParking => ["illegal_parking", "违停"],
        FireLaneBlocked => ["fire_lane_blocked", "消防通道占用"],
        Intrusion => ["intrusion", "周界入侵"],
        Crowd => ["crowd", "人员聚集"],
        GroupRental => ["group_rental", "群租房"],
        BinOverflow => ["bin_overflow", "垃圾满溢"],
    }
);

/// The rule whose firing is a bin overflowing (see the default rules).
pub const BIN_OVERFLOW_RULE: &str = "bin_full";

impl Scene {
    /// The scene an event belongs to: a camera alarm's type (`attributes.alarm_type`), a sensing
    /// rule's (`attributes.rule`), or the group-rental category; `None` for everything else.
    pub fn of(category: &str, attributes: &Attributes) -> Option<Scene> {
        let text = |key: &str| attributes.get(key).and_then(|v| v.as_str());
        if let Some(alarm) = text("alarm_type").and_then(|t| AlarmType::parse("alarm_type", t).ok()) {
            return Some(match alarm {
                AlarmType::Throwing => Scene::Throwing,
                AlarmType::IllegalParking => Scene::IllegalParking,
                AlarmType::FireLaneBlocked => Scene::FireLaneBlocked,
                AlarmType::Intrusion => Scene::Intrusion,
                AlarmType::Crowd => Scene::Crowd,
            });
        }
        if text("rule") == Some(BIN_OVERFLOW_RULE) {
            return Some(Scene::BinOverflow);
        }
        (category == "build.group_rental").then_some(Scene::GroupRental)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenes_come_from_alarms_rules_and_the_group_rental_category() {
        let with = |key: &str, value: &str| Attributes::from_iter([(key.to_string(), serde_json::Value::from(value))]);
        assert_eq!(Scene::of("safety.public_order", &with("alarm_type", "crowd")), Some(Scene::Crowd));
        assert_eq!(Scene::of("safety.public_order", &with("alarm_type", "intrusion")), Some(Scene::Intrusion));
        assert_eq!(Scene::of("env.sanitation", &with("rule", "bin_full")), Some(Scene::BinOverflow));
        assert_eq!(Scene::of("build.group_rental", &Attributes::new()), Some(Scene::GroupRental));
        assert_eq!(Scene::of("env.sanitation", &Attributes::new()), None);
        assert_eq!(Scene::of("safety.throwing", &with("alarm_type", "no_such_alarm")), None);
    }
}

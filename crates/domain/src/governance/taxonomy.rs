//! The categories of problems (the taxonomy) and how urgent each kind is by default.
use serde::{Deserialize, Serialize};

use crate::error::{Invalid, InvalidField};
use crate::keyword_enum;
use crate::text::{parse_code, parse_name};

keyword_enum!(
    /// How fast an order must be handled; picks its time limits.
    Urgency, "urgency", {
        Emergency => ["emergency", "紧急"],
        Utility => ["utility", "水电气热"],
        Ordinary => ["ordinary", "一般"],
        Complex => ["complex", "复杂"],
    }
);

/// One category of the taxonomy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Category {
    /// Stable code, e.g. `env.sanitation`; Open311's `service_code`.
    pub code: String,
    pub name_zh: String,
    /// What the category covers, in a few words.
    pub covers: String,
    /// The organisation that handles it unless the routing table says otherwise.
    pub default_org_code: String,
    /// The urgency of an order in this category unless the order says otherwise.
    pub urgency: Urgency,
}

/// The default taxonomy, shipped as configuration that users may replace.
pub fn default_taxonomy() -> Vec<Category> {
    const ROWS: &[(&str, &str, &str, &str)] = &[
        ("env.sanitation", "环境卫生", "garbage piles, dirty roads, public toilets, overflowing bins", "dept.urban_mgmt"),
        ("env.garbage_sorting", "垃圾分类", "sorting compliance, bin stations, mixed collection", "dept.urban_mgmt"),
        ("env.noise", "噪声扰民", "night construction, loudspeakers, square dancing, neighbours", "dept.ecology"),
        ("env.pollution", "环境污染", "cooking fumes, smells, smoke, burning, sewage", "dept.ecology"),
        ("env.greening", "园林绿化", "trees, lawns, pruning, fallen branches", "dept.landscape"),
        ("build.illegal_construction", "违法建设", "illegal extensions, rooftop structures, enclosed public space", "dept.enforcement"),
        ("build.group_rental", "群租房", "partitioned flats, many tenants", "dept.housing"),
        ("prop.service", "物业服务", "property company service, fees, common-part repairs, access cards", "dept.housing"),
        ("prop.elevator", "电梯", "broken elevator, people trapped", "dept.market"),
        ("util.heating", "供暖", "cold radiators, heating season, heating fees", "dept.heating"),
        ("util.water", "供水排水", "no water, water quality, burst pipes, blocked drains", "dept.water"),
        ("util.power", "供电", "power cuts, unsafe wiring", "dept.power"),
        ("util.gas", "燃气", "gas supply, gas smell", "dept.gas"),
        ("traffic.parking", "停车管理", "illegal parking, parking shortage, abandoned cars", "dept.traffic_police"),
        ("traffic.signal", "交通信号与拥堵", "broken or badly timed lights, congestion", "dept.traffic_police"),
        ("traffic.bike", "共享单车", "piled-up or misparked shared bikes", "dept.transport"),
        ("traffic.road", "道路设施", "potholes, manhole covers, street lights", "dept.transport"),
        ("safety.throwing", "高空抛物", "objects thrown or falling from height", "dept.police"),
        ("safety.fire", "消防安全", "blocked fire lanes, e-bikes charged indoors", "dept.fire"),
        ("safety.public_order", "社会治安", "fights, gatherings, intrusion, theft", "dept.police"),
        ("health.epidemic", "公共卫生防疫", "epidemic control, disinfection, health checks", "dept.health"),
        ("animal", "动物管理", "barking or unleashed dogs, stray animals", "dept.police"),
        ("other", "其他", "consultations, praise, anything else", "dept.street"),
    ];
    ROWS.iter()
        .map(|(code, name, covers, org)| Category {
            code: code.to_string(),
            name_zh: name.to_string(),
            covers: covers.to_string(),
            default_org_code: org.to_string(),
            urgency: if code.starts_with("util.") { Urgency::Utility } else { Urgency::Ordinary },
        })
        .collect()
}

/// Checks a replacement taxonomy: valid, unique codes and names, at least one category.
pub fn check_taxonomy(categories: &[Category]) -> Result<(), Invalid> {
    let mut errors = Invalid::default();
    if categories.is_empty() {
        errors.push("categories", "must list at least one category");
    }
    let mut seen = std::collections::HashSet::new();
    for (i, c) in categories.iter().enumerate() {
        let field = |name: &str| format!("categories[{i}].{name}");
        errors.check(parse_code(&field("code"), &c.code));
        errors.check(parse_name(&field("name_zh"), &c.name_zh));
        errors.check(parse_code(&field("default_org_code"), &c.default_org_code));
        if c.covers.chars().count() > 500 {
            errors.push(field("covers"), "must be at most 500 characters");
        }
        if !seen.insert(c.code.as_str()) {
            errors.push(field("code"), format!("{:?} appears twice", c.code));
        }
    }
    errors.into_result()
}

/// Finds a category by code, or says which codes exist.
pub fn find<'a>(categories: &'a [Category], field: &str, code: &str) -> Result<&'a Category, InvalidField> {
    let code = code.trim();
    categories.iter().find(|c| c.code == code).ok_or_else(|| InvalidField::new(field, format!("unknown category {code:?}; see GET /api/v1/taxonomy")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_taxonomy_is_valid_and_complete() {
        let t = default_taxonomy();
        assert_eq!(t.len(), 23);
        check_taxonomy(&t).unwrap();
        assert_eq!(find(&t, "category", "util.gas").unwrap().urgency, Urgency::Utility);
        assert_eq!(find(&t, "category", "animal").unwrap().default_org_code, "dept.police");
        assert_eq!(find(&t, "category", "nope").unwrap_err().field, "category");
    }
}

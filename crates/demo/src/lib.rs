//! The demo world: a deterministic synthetic area modelled on 回天 (Huilongguan–Tiantongyuan),
//! 昌平区 with six streets, about ten communities each, grids, buildings, units, dwellings,
//! residents, departments, property companies and devices of every kind.
//!
//! The same seed and scale always give the same world. The generator does no I/O: it returns
//! import batches that the caller writes through the store.

pub mod history;

use linli_domain::device::DeviceInput;
use linli_domain::organisation::OrganisationInput;
use linli_domain::person::ResidentInput;
use linli_domain::region::RegionInput;
use linli_domain::{Attributes, NewDevice, NewOrganisation, NewRegion, NewResident, Role};
use linli_store::ImportBatch;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

pub const DEFAULT_RESIDENTS: u32 = 50_000;
pub const MAX_RESIDENTS: u32 = 1_000_000;

/// The district every demo record lives in.
pub const DISTRICT_CODE: &str = "110114";

/// (code suffix, name, centre lon, centre lat) of the six streets.
const STREETS: &[(&str, &str, f64, f64)] = &[
    ("001", "回龙观街道", 116.330, 40.078),
    ("002", "龙泽园街道", 116.305, 40.070),
    ("003", "史各庄街道", 116.292, 40.094),
    ("004", "霍营街道", 116.362, 40.073),
    ("005", "天通苑北街道", 116.420, 40.085),
    ("006", "天通苑南街道", 116.418, 40.062),
];

const COMMUNITY_NAMES: &[&str] = &[
    "龙腾苑",
    "云趣园",
    "新龙城",
    "流星花园",
    "龙跃苑",
    "金域华府",
    "风雅园",
    "融泽嘉园",
    "田园风光雅苑",
    "通达园",
    "佰嘉城",
    "矩阵小区",
    "天通东苑",
    "天通西苑",
    "清水园",
    "太平家园",
];
const SURNAMES: &[&str] =
    &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马", "罗", "欧阳", "司马"];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "浩然",
    "子涵", "欣怡", "宇轩", "梓萱",
];

/// Departments from the default taxonomy, with their Chinese names.
pub const DEPARTMENTS: &[(&str, &str)] = &[
    ("dept.urban_mgmt", "城市管理委员会"),
    ("dept.ecology", "生态环境局"),
    ("dept.landscape", "园林绿化局"),
    ("dept.enforcement", "城管执法局"),
    ("dept.housing", "住房和城乡建设委员会"),
    ("dept.market", "市场监督管理局"),
    ("dept.heating", "供热管理办公室"),
    ("dept.water", "水务局"),
    ("dept.power", "供电公司"),
    ("dept.gas", "燃气集团"),
    ("dept.traffic_police", "交通支队"),
    ("dept.transport", "交通委员会"),
    ("dept.police", "公安分局"),
    ("dept.fire", "消防救援支队"),
    ("dept.health", "卫生健康委员会"),
];

/// The whole world, in the order it must be imported.
pub struct World {
    pub regions: ImportBatch,
    pub organisations: ImportBatch,
    pub residents: ImportBatch,
    pub devices: ImportBatch,
    pub users: Vec<DemoUser>,
}

/// A demo account: its username is its role's name.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoUser {
    pub role: Role,
    pub display_name: String,
    pub region_code: Option<String>,
    pub org_code: Option<String>,
}

struct Builder {
    rng: ChaCha8Rng,
    regions: Vec<(usize, NewRegion)>,
    organisations: Vec<(usize, NewOrganisation)>,
    residents: Vec<(usize, NewResident)>,
    devices: Vec<(usize, NewDevice)>,
    next_person: u32,
    used_ids: std::collections::HashSet<String>,
}

fn rect(lon: f64, lat: f64, half_lon: f64, half_lat: f64) -> serde_json::Value {
    json!({"type": "Polygon", "coordinates": [[[lon - half_lon, lat - half_lat], [lon + half_lon, lat - half_lat], [lon + half_lon, lat + half_lat], [lon - half_lon, lat + half_lat], [lon - half_lon, lat - half_lat]]]})
}

impl Builder {
    fn region(&mut self, code: &str, level: &str, name: &str, parent: Option<&str>, geometry: Option<serde_json::Value>, attributes: Attributes) {
        let row = self.regions.len() + 1;
        let region = NewRegion::parse(RegionInput {
            code: Some(code),
            level: Some(level),
            name: Some(name),
            parent_code: parent,
            geometry: geometry.as_ref(),
            attributes,
            ..Default::default()
        })
        .expect("demo regions are valid by construction");
        self.regions.push((row, region));
    }

    fn organisation(&mut self, code: &str, name: &str, kind: &str, region: &str, phone: Option<&str>) {
        let row = self.organisations.len() + 1;
        let org = NewOrganisation::parse(OrganisationInput {
            code: Some(code),
            name: Some(name),
            kind: Some(kind),
            region_code: Some(region),
            phone,
            ..Default::default()
        })
        .expect("demo organisations are valid");
        self.organisations.push((row, org));
    }

    /// `at` is the node the device is installed at and its longitude and latitude.
    fn device(&mut self, code: String, name: String, kind: &str, at: (&str, f64, f64), owner: Option<&str>, attributes: Attributes) {
        let (region, lon, lat) = at;
        let row = self.devices.len() + 1;
        let status = if self.rng.gen_bool(0.93) {
            "online"
        } else if self.rng.gen_bool(0.7) {
            "offline"
        } else {
            "fault"
        };
        let device = NewDevice::parse(DeviceInput {
            code: Some(&code),
            name: Some(&name),
            kind: Some(kind),
            region_code: Some(region),
            lon: Some(lon),
            lat: Some(lat),
            owner_org_code: owner,
            status: Some(status),
            attributes,
        })
        .expect("demo devices are valid");
        self.devices.push((row, device));
    }

    fn person_name(&mut self) -> String {
        let surname = SURNAMES[self.rng.gen_range(0..SURNAMES.len())];
        let given = GIVEN[self.rng.gen_range(0..GIVEN.len())];
        format!("{surname}{given}")
    }

    /// A well-formed 18-digit ID number with a correct ISO 7064 MOD 11-2 check character.
    fn id_number(&mut self, birth_year: i64) -> String {
        let month = self.rng.gen_range(1..=12);
        let mut day = self.rng.gen_range(1..=28);
        let area = if self.rng.gen_bool(0.6) { "110114" } else { ["130102", "370102", "410105", "510104", "230103"][self.rng.gen_range(0..5)] };
        // Area, birth date and sequence make the number; bump the sequence (then the day) until unused.
        let body = loop {
            self.next_person += 1;
            let sequence = self.next_person % 1000;
            let body = format!("{area}{birth_year:04}{month:02}{day:02}{sequence:03}");
            if self.used_ids.insert(body.clone()) {
                break body;
            }
            day = day % 28 + 1;
        };
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = body.bytes().zip(weights).map(|(b, w)| u32::from(b - b'0') * w).sum();
        let check = b"10X98765432"[(sum % 11) as usize] as char;
        format!("{body}{check}")
    }

    fn resident(&mut self, home: &str, relation: &str) {
        let age = self.rng.gen_range(0..95);
        let birth_year = 2026 - age;
        let kind = match self.rng.gen_range(0..10) {
            0..=4 => "registered",
            5..=7 => "permanent",
            _ => "floating",
        };
        let mut tags = Vec::new();
        if age >= 80 {
            tags.push("elderly");
        }
        if age >= 65 && self.rng.gen_bool(0.12) {
            tags.push("elderly_alone");
        }
        if self.rng.gen_bool(0.015) {
            tags.push("disabled");
        }
        if self.rng.gen_bool(0.01) {
            tags.push("low_income");
        }
        let name = self.person_name();
        let id_number = self.id_number(birth_year);
        let phone = (age >= 12).then(|| format!("1{}{:09}", [3, 5, 7, 8, 9][self.rng.gen_range(0..5)], self.rng.gen_range(0..1_000_000_000u32)));
        let tags_text = tags.join(";");
        let row = self.residents.len() + 1;
        let resident = NewResident::parse(ResidentInput {
            name: Some(&name),
            id_number: Some(&id_number),
            phone: phone.as_deref(),
            residence_kind: Some(kind),
            care_tags: vec![&tags_text],
            home_code: Some(home),
            relation: Some(relation),
            ..Default::default()
        })
        .expect("demo residents are valid");
        self.residents.push((row, resident));
    }
}

/// Builds the world for about `residents` people (clamped to 1,000 … 1,000,000) from `seed`.
pub fn generate(seed: u64, residents: u32) -> World {
    let target = residents.clamp(1_000, MAX_RESIDENTS);
    let mut b = Builder {
        rng: ChaCha8Rng::seed_from_u64(seed),
        regions: Vec::new(),
        organisations: Vec::new(),
        residents: Vec::new(),
        devices: Vec::new(),
        next_person: 0,
        used_ids: Default::default(),
    };
    b.region("110000", "city", "北京市", None, None, Attributes::new());
    b.region(DISTRICT_CODE, "district", "昌平区", Some("110000"), Some(rect(116.36, 40.08, 0.10, 0.04)), Attributes::new());
    for (code, name) in DEPARTMENTS {
        b.organisation(code, name, "department", DISTRICT_CODE, Some("010-12345"));
    }
    b.organisation("dept.street", "街道办事处", "street_office", DISTRICT_CODE, None);
    b.organisation("op.linli", "邻里平台运营", "operator", DISTRICT_CODE, None);

    let communities_per_street = 10;
    // Dwellings hold 2.3 people on average once empty and partly filled ones are counted.
    let dwellings_wanted = (f64::from(target) / 2.3).ceil() as u32;
    let dwellings_per_community = (dwellings_wanted / (STREETS.len() as u32 * communities_per_street)).max(12);
    let mut placed_people = 0u32;
    let mut first_grid = None;
    let mut first_dwelling = None;
    for (street_suffix, street_name, street_lon, street_lat) in STREETS {
        let street = format!("{DISTRICT_CODE}{street_suffix}");
        b.region(&street, "street", street_name, Some(DISTRICT_CODE), Some(rect(*street_lon, *street_lat, 0.018, 0.011)), Attributes::new());
        b.organisation(&format!("street.{street}"), &format!("{street_name}办事处"), "street_office", &street, Some("010-80000000"));
        for company in 0..2 {
            b.organisation(
                &format!("pm.{street}.{company}"),
                &format!("{}物业服务有限公司", ["首开", "万科", "金隅", "天鸿"][(company + street_suffix.len()) % 4]),
                "property_company",
                &street,
                Some("010-81234567"),
            );
        }
        b.device(
            format!("sig-{street}"),
            format!("{street_name}路口信号机"),
            "signal_controller",
            (&street, street_lon + 0.01, *street_lat),
            Some("dept.traffic_police"),
            Attributes::new(),
        );
        for c in 0..communities_per_street {
            let community = format!("{street}{:03}", c + 1);
            let (col, row) = (c % 5, c / 5);
            let lon = street_lon - 0.0144 + f64::from(col) * 0.0072;
            let lat = street_lat - 0.0055 + f64::from(row) * 0.011;
            let name = format!(
                "{}{}社区",
                COMMUNITY_NAMES[(c as usize + street_suffix.len() * 3 + street_lon.to_bits() as usize % 7) % COMMUNITY_NAMES.len()],
                ["", "东", "西", "南", "北", "一", "二", "三", "四", "五"][c as usize]
            );
            b.region(&community, "community", &name, Some(&street), Some(rect(lon, lat, 0.0034, 0.0052)), Attributes::new());
            b.organisation(&format!("cc.{community}"), &format!("{name}居委会"), "community_committee", &community, Some("010-80000001"));
            let property = format!("pm.{street}.{}", c % 2);
            b.device(
                format!("gate-{community}"),
                format!("{name}南门门禁"),
                "access_gate",
                (&community, lon, lat - 0.0050),
                Some(&property),
                Attributes::new(),
            );
            let grids = 3;
            let units_per_building = 2 + (c % 2);
            let floors = [6, 11, 18][c as usize % 3];
            let per_floor = 2;
            let per_building = units_per_building * floors * per_floor;
            let buildings = dwellings_per_community.div_ceil(per_building).max(1);
            for g in 0..grids {
                let grid = format!("{community}{:02}", g + 1);
                let grid_lat = lat - 0.0052 + (f64::from(g) + 0.5) * (0.0104 / f64::from(grids));
                b.region(
                    &grid,
                    "grid",
                    &format!("{name}第{}网格", g + 1),
                    Some(&community),
                    Some(rect(lon, grid_lat, 0.0034, 0.0052 / f64::from(grids))),
                    Attributes::new(),
                );
                first_grid.get_or_insert(grid.clone());
                b.device(
                    format!("bin-{grid}"),
                    format!("{name}{}号垃圾分类站", g + 1),
                    "smart_bin",
                    (&grid, lon + 0.002, grid_lat),
                    Some(&property),
                    json!({"fillingLevel": 0.3}).as_object().cloned().unwrap_or_default(),
                );
                b.device(
                    format!("park-{grid}"),
                    format!("{name}{}号车位", g + 1),
                    "parking_sensor",
                    (&grid, lon - 0.002, grid_lat),
                    Some(&property),
                    Attributes::new(),
                );
                for building_no in (g..buildings).step_by(grids as usize) {
                    let building = format!("{community}-{:02}", building_no + 1);
                    let blon = lon - 0.003 + 0.006 * b.rng.gen::<f64>();
                    let blat = grid_lat - 0.0015 + 0.003 * b.rng.gen::<f64>();
                    let mut attributes = Attributes::new();
                    attributes.insert("floors".into(), json!(floors));
                    b.region(
                        &building,
                        "building",
                        &format!("{}号楼", building_no + 1),
                        Some(&grid),
                        Some(json!({"type": "Point", "coordinates": [blon, blat]})),
                        attributes,
                    );
                    b.device(
                        format!("cam-{building}"),
                        format!("{name}{}号楼高空抛物摄像头", building_no + 1),
                        "camera",
                        (&building, blon + 0.0002, blat - 0.0002),
                        Some(&property),
                        json!({"scene": "throwing", "floors": floors}).as_object().cloned().unwrap_or_default(),
                    );
                    b.device(
                        format!("smoke-{building}"),
                        format!("{name}{}号楼烟感", building_no + 1),
                        "smoke_sensor",
                        (&building, blon, blat),
                        Some(&property),
                        Attributes::new(),
                    );
                    b.device(
                        format!("meter-{building}"),
                        format!("{name}{}号楼智能电表", building_no + 1),
                        "smart_meter",
                        (&building, blon, blat),
                        Some("dept.power"),
                        Attributes::new(),
                    );
                    if floors >= 11 {
                        b.device(
                            format!("elev-{building}"),
                            format!("{name}{}号楼电梯监测", building_no + 1),
                            "elevator_monitor",
                            (&building, blon, blat),
                            Some(&property),
                            Attributes::new(),
                        );
                    }
                    if building_no % 4 == 0 {
                        b.device(
                            format!("gas-{building}"),
                            format!("{name}{}号楼燃气报警器", building_no + 1),
                            "gas_sensor",
                            (&building, blon, blat),
                            Some("dept.gas"),
                            Attributes::new(),
                        );
                        b.device(
                            format!("leak-{building}"),
                            format!("{name}{}号楼水浸传感器", building_no + 1),
                            "water_leak_sensor",
                            (&building, blon, blat),
                            Some("dept.water"),
                            Attributes::new(),
                        );
                    }
                    for unit_no in 0..units_per_building {
                        let unit = format!("{building}-{}", unit_no + 1);
                        b.region(&unit, "unit", &format!("{}单元", unit_no + 1), Some(&building), None, Attributes::new());
                        for floor in 1..=floors {
                            for door in 1..=per_floor {
                                let dwelling = format!("{unit}-{floor:02}{door:02}");
                                let mut attributes = Attributes::new();
                                attributes.insert("floor".into(), json!(floor));
                                attributes.insert("area_m2".into(), json!(b.rng.gen_range(45..140)));
                                b.region(&dwelling, "dwelling", &format!("{floor}{door:02}室"), Some(&unit), None, attributes);
                                first_dwelling.get_or_insert(dwelling.clone());
                                // Some dwellings empty, some crowded.
                                let people = match b.rng.gen_range(0..100) {
                                    0..=7 => 0,
                                    8..=27 => 1,
                                    28..=57 => 2,
                                    58..=82 => 3,
                                    83..=96 => 4,
                                    _ => 6,
                                };
                                for p in 0..people {
                                    if placed_people >= target {
                                        break;
                                    }
                                    let relation = if p == 0 {
                                        if b.rng.gen_bool(0.75) {
                                            "owner"
                                        } else {
                                            "tenant"
                                        }
                                    } else {
                                        "member"
                                    };
                                    b.resident(&dwelling, relation);
                                    placed_people += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    let hlg = format!("{DISTRICT_CODE}001");
    let hlg_community = format!("{hlg}001");
    let user = |role: Role, name: &str, region: Option<&str>, org: Option<&str>| DemoUser {
        role,
        display_name: name.to_string(),
        region_code: region.map(str::to_string),
        org_code: org.map(str::to_string),
    };
    let users = vec![
        user(Role::Resident, "居民 王芳", first_dwelling.as_deref(), None),
        user(Role::GridWorker, "网格员 李强", first_grid.as_deref(), None),
        user(Role::CommunityWorker, "社区工作者 张敏", Some(&hlg_community), None),
        user(Role::CommunitySecretary, "社区书记 刘伟", Some(&hlg_community), None),
        user(Role::StreetDispatcher, "街道调度员 陈静", Some(&hlg), None),
        user(Role::StreetLeader, "街道主任 杨军", Some(&hlg), None),
        user(Role::DepartmentHandler, "城管处置员 赵磊", None, Some("dept.urban_mgmt")),
        user(Role::DistrictDispatcher, "区调度员 黄丽", Some(DISTRICT_CODE), None),
        user(Role::Leader, "区领导 周明", Some(DISTRICT_CODE), None),
        user(Role::DataSteward, "数据管理员 吴娟", Some(DISTRICT_CODE), None),
        user(Role::Admin, "系统管理员", None, None),
        user(Role::Integrator, "集成方 平台对接", Some(DISTRICT_CODE), None),
    ];
    World {
        regions: ImportBatch::Regions(b.regions),
        organisations: ImportBatch::Organisations(b.organisations),
        residents: ImportBatch::Residents(b.residents),
        devices: ImportBatch::Devices(b.devices),
        users,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_scaled() {
        let a = generate(7, 5_000);
        let b = generate(7, 5_000);
        assert_eq!(a.regions, b.regions);
        assert_eq!(a.residents, b.residents);
        let people = ImportBatch::len(&a.residents);
        assert!((4_500..=5_000).contains(&people), "{people}");
        assert_ne!(generate(8, 5_000).residents, a.residents);
        assert_eq!(a.users.len(), Role::ALL.len());
        let ImportBatch::Regions(regions) = &a.regions else { panic!() };
        let streets: Vec<&str> = regions.iter().filter(|(_, r)| r.level == linli_domain::Level::Street).map(|(_, r)| r.name.as_str()).collect();
        assert_eq!(streets, ["回龙观街道", "龙泽园街道", "史各庄街道", "霍营街道", "天通苑北街道", "天通苑南街道"]);
        assert_eq!(regions.iter().filter(|(_, r)| r.level == linli_domain::Level::Community).count(), 60);
        let ImportBatch::Devices(devices) = &a.devices else { panic!() };
        for kind in linli_domain::DeviceKind::ALL.iter().filter(|k| **k != linli_domain::DeviceKind::Other) {
            assert!(devices.iter().any(|(_, d)| d.kind == *kind), "no {kind} in the demo");
        }
    }

    #[test]
    fn id_numbers_are_unique() {
        let world = generate(3, 60_000);
        let ImportBatch::Residents(people) = &world.residents else { panic!() };
        let unique: std::collections::HashSet<_> = people.iter().map(|(_, p)| p.id_number.clone()).collect();
        assert_eq!(unique.len(), people.len());
    }

    #[test]
    fn id_numbers_carry_valid_check_digits() {
        let world = generate(1, 1_000);
        let ImportBatch::Residents(people) = &world.residents else { panic!() };
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        for (_, p) in people.iter().take(100) {
            let id = p.id_number.as_deref().unwrap();
            let sum: u32 = id.bytes().take(17).zip(weights).map(|(b, w)| u32::from(b - b'0') * w).sum();
            assert_eq!(id.as_bytes()[17], b"10X98765432"[(sum % 11) as usize]);
        }
    }
}

//! People (人): residents, their links to dwellings and their care tags.
use serde::Serialize;

use crate::error::{Invalid, InvalidField};
use crate::region::required;
use crate::text::{non_empty, parse_code, parse_name};
use crate::time::is_valid_date;
use crate::{keyword_enum, Attributes};

keyword_enum!(
    /// Residence kind: 户籍 registered, 常住 permanent, 流动 floating.
    ResidenceKind, "residence kind", {
        Registered => ["registered", "户籍", "户籍人口"],
        Permanent => ["permanent", "常住", "常住人口"],
        Floating => ["floating", "流动", "流动人口"],
    }
);

keyword_enum!(
    /// How a person is tied to a dwelling.
    DwellingRelation, "relation", {
        Owner => ["owner", "业主", "产权人"],
        Tenant => ["tenant", "租户", "承租人"],
        Member => ["member", "家庭成员", "成员", "同住"],
    }
);

keyword_enum!(Gender, "gender", { Male => ["male", "男", "m"], Female => ["female", "女", "f"] });

/// Known care tags with their Chinese names. Unknown tags are kept as given (trimmed), because
/// communities add local ones (e.g. 失独家庭) and the registry must not refuse them.
const KNOWN_CARE_TAGS: &[(&str, &[&str])] = &[
    ("elderly_alone", &["独居老人", "独居"]),
    ("elderly", &["高龄老人", "老年人", "高龄"]),
    ("disabled", &["残疾", "残疾人"]),
    ("low_income", &["低保", "低保户"]),
    ("extreme_poverty", &["特困", "特困人员"]),
    ("veteran", &["退役军人"]),
    ("left_behind_child", &["留守儿童"]),
    ("serious_illness", &["重病", "大病"]),
    ("pregnant", &["孕产妇"]),
    ("special_care", &["优抚对象", "特扶"]),
];

/// A care tag (关爱标签), canonical English code for known tags.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct CareTag(pub String);

impl CareTag {
    pub fn parse(field: &str, raw: &str) -> Result<Self, InvalidField> {
        let tag = raw.trim();
        if tag.is_empty() || tag.chars().count() > 32 || tag.chars().any(|c| c.is_control() || matches!(c, ',' | ';' | '|')) {
            return Err(InvalidField::new(field, format!("care tag {tag:?} must be 1 to 32 characters without separators")));
        }
        for (code, aliases) in KNOWN_CARE_TAGS {
            if code.eq_ignore_ascii_case(tag) || aliases.contains(&tag) {
                return Ok(CareTag((*code).to_string()));
            }
        }
        Ok(CareTag(tag.to_string()))
    }

    /// Splits a list written as `a;b`, `a|b` or `a,b` (CSV cells use `;` or `|`).
    pub fn parse_list(field: &str, raw: &str) -> Result<Vec<Self>, InvalidField> {
        let mut tags: Vec<CareTag> = Vec::new();
        for part in raw.split([';', '|', ',', '；', '、']).map(str::trim).filter(|s| !s.is_empty()) {
            let tag = Self::parse(field, part)?;
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        Ok(tags)
    }

    pub fn label_zh(&self) -> &str {
        KNOWN_CARE_TAGS.iter().find(|(c, _)| *c == self.0).map(|(_, a)| a[0]).unwrap_or(&self.0)
    }
}

/// A resident's tie to one dwelling.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DwellingLink {
    pub dwelling_code: String,
    pub relation: DwellingRelation,
}

/// A resident as stored. `name`, `id_number` and `phone` are sensitive and masked on the way out
/// unless the reader's role may see them.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Resident {
    pub id: i64,
    pub name: String,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub gender: Option<Gender>,
    pub birth_date: Option<String>,
    pub residence_kind: ResidenceKind,
    pub care_tags: Vec<CareTag>,
    /// The node the resident is registered at (usually a dwelling); decides jurisdiction.
    pub home_code: String,
    pub dwellings: Vec<DwellingLink>,
    #[schema(value_type = Object)]
    pub attributes: Attributes,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
}

/// A resident to create, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NewResident {
    pub name: String,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub gender: Option<Gender>,
    pub birth_date: Option<String>,
    pub residence_kind: ResidenceKind,
    pub care_tags: Vec<CareTag>,
    pub home_code: String,
    pub relation: DwellingRelation,
    pub attributes: Attributes,
}

/// Raw resident fields from JSON or CSV.
#[derive(Debug, Clone, Default)]
pub struct ResidentInput<'a> {
    pub name: Option<&'a str>,
    pub id_number: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub gender: Option<&'a str>,
    pub birth_date: Option<&'a str>,
    pub residence_kind: Option<&'a str>,
    pub care_tags: Vec<&'a str>,
    pub home_code: Option<&'a str>,
    pub relation: Option<&'a str>,
    pub attributes: Attributes,
}

impl NewResident {
    pub fn parse(input: ResidentInput<'_>) -> Result<Self, Invalid> {
        let mut errors = Invalid::default();
        let name = required(&mut errors, "name", input.name).and_then(|n| errors.check(parse_name("name", n)));
        let id_number = non_empty(input.id_number).and_then(|v| errors.check(parse_id_number("id_number", v)));
        let phone = non_empty(input.phone).and_then(|v| errors.check(parse_phone("phone", v)));
        let mut gender = non_empty(input.gender).and_then(|v| errors.check(Gender::parse("gender", v)));
        let mut birth_date = non_empty(input.birth_date).and_then(|v| errors.check(parse_date("birth_date", v)));
        if let Some(id) = &id_number {
            // An 18-digit ID number carries the birth date and sex; fill them in when absent.
            if id.len() == 18 {
                birth_date = birth_date.or_else(|| Some(format!("{}-{}-{}", &id[6..10], &id[10..12], &id[12..14])));
                gender = gender.or(Some(if (id.as_bytes()[16] - b'0') % 2 == 1 { Gender::Male } else { Gender::Female }));
            }
        }
        let residence_kind = match non_empty(input.residence_kind) {
            Some(v) => errors.check(ResidenceKind::parse("residence_kind", v)),
            None => Some(ResidenceKind::Permanent),
        };
        let mut care_tags: Vec<CareTag> = Vec::new();
        for raw in input.care_tags {
            if let Some(tags) = errors.check(CareTag::parse_list("care_tags", raw)) {
                for tag in tags {
                    if !care_tags.contains(&tag) {
                        care_tags.push(tag);
                    }
                }
            }
        }
        let home_code = required(&mut errors, "dwelling_code", input.home_code).and_then(|c| errors.check(parse_code("dwelling_code", c)));
        let relation = match non_empty(input.relation) {
            Some(v) => errors.check(DwellingRelation::parse("relation", v)),
            None => Some(DwellingRelation::Member),
        };
        errors.into_result()?;
        Ok(NewResident {
            name: name.unwrap_or_default(),
            id_number,
            phone,
            gender,
            birth_date,
            residence_kind: residence_kind.unwrap_or(ResidenceKind::Permanent),
            care_tags,
            home_code: home_code.unwrap_or_default(),
            relation: relation.unwrap_or(DwellingRelation::Member),
            attributes: input.attributes,
        })
    }
}

/// Resident-identity-card number (居民身份证号): 18 characters, 17 digits and a check character
/// (digit or X), whose embedded birth date must be a real date. The ISO 7064 check digit is not
/// enforced: registries hold legacy numbers with wrong check digits that must still import.
pub fn parse_id_number(field: &str, raw: &str) -> Result<String, InvalidField> {
    let id = raw.trim().to_ascii_uppercase();
    let bytes = id.as_bytes();
    let well_formed = bytes.len() == 18 && bytes[..17].iter().all(u8::is_ascii_digit) && (bytes[17].is_ascii_digit() || bytes[17] == b'X');
    let legacy = bytes.len() == 15 && bytes.iter().all(u8::is_ascii_digit);
    if !(well_formed || legacy) {
        return Err(InvalidField::new(field, "must be an 18-character ID-card number (17 digits and a digit or X)"));
    }
    if well_formed {
        let y: i64 = id[6..10].parse().unwrap_or(0);
        let m: u32 = id[10..12].parse().unwrap_or(0);
        let d: u32 = id[12..14].parse().unwrap_or(0);
        if !(1850..=2100).contains(&y) || !is_valid_date(y, m, d) {
            return Err(InvalidField::new(field, "holds no valid birth date"));
        }
    }
    Ok(id)
}

/// A phone number: an 11-digit mobile starting with 1, or a landline of 7 to 12 digits with an
/// optional area code and hyphen, optionally prefixed by +86.
pub fn parse_phone(field: &str, raw: &str) -> Result<String, InvalidField> {
    let phone: String = raw.trim().chars().filter(|c| !matches!(c, ' ')).collect();
    let phone = phone.strip_prefix("+86").map(str::to_string).unwrap_or(phone);
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let only_digits_and_hyphen = phone.chars().all(|c| c.is_ascii_digit() || c == '-');
    let mobile = phone.len() == 11 && digits.len() == 11 && phone.starts_with('1');
    let landline = only_digits_and_hyphen && (7..=12).contains(&digits.len()) && !phone.starts_with('-') && !phone.ends_with('-');
    if !(mobile || landline) {
        return Err(InvalidField::new(field, "must be an 11-digit mobile number or a landline number"));
    }
    Ok(phone)
}

/// A calendar date as YYYY-MM-DD.
pub fn parse_date(field: &str, raw: &str) -> Result<String, InvalidField> {
    let raw = raw.trim();
    let parts: Vec<&str> = raw.split('-').collect();
    let ok = parts.len() == 3 && parts[0].len() == 4 && parts[1].len() == 2 && parts[2].len() == 2;
    let numbers =
        (parts.first().and_then(|p| p.parse::<i64>().ok()), parts.get(1).and_then(|p| p.parse::<u32>().ok()), parts.get(2).and_then(|p| p.parse::<u32>().ok()));
    match numbers {
        (Some(y), Some(m), Some(d)) if ok && is_valid_date(y, m, d) => Ok(raw.to_string()),
        _ => Err(InvalidField::new(field, "must be a date written YYYY-MM-DD")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers() {
        assert_eq!(parse_id_number("id_number", "11011419900307123x").unwrap(), "11011419900307123X");
        assert!(parse_id_number("id_number", "110114199013071234").is_err());
        assert!(parse_id_number("id_number", "1101141990").is_err());
        assert!(parse_id_number("id_number", "110114900307123").is_ok());
    }

    #[test]
    fn phones() {
        assert!(parse_phone("phone", "13812345678").is_ok());
        assert_eq!(parse_phone("phone", "+86 138 1234 5678").unwrap(), "13812345678");
        assert!(parse_phone("phone", "010-62345678").is_ok());
        assert!(parse_phone("phone", "12ab").is_err());
        assert!(parse_phone("phone", "23812345678901").is_err());
    }

    #[test]
    fn resident_fills_birth_and_gender_from_id() {
        let r = NewResident::parse(ResidentInput {
            name: Some("张三"),
            id_number: Some("110114199003071234"),
            home_code: Some("d1"),
            care_tags: vec!["独居老人;低保;失独家庭"],
            residence_kind: Some("流动"),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(r.birth_date.as_deref(), Some("1990-03-07"));
        assert_eq!(r.gender, Some(Gender::Male));
        assert_eq!(r.residence_kind, ResidenceKind::Floating);
        let tags: Vec<&str> = r.care_tags.iter().map(|t| t.0.as_str()).collect();
        assert_eq!(tags, ["elderly_alone", "low_income", "失独家庭"]);
    }

    #[test]
    fn resident_reports_missing_fields() {
        let err = NewResident::parse(ResidentInput { phone: Some("x"), ..Default::default() }).unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "phone", "dwelling_code"]);
    }
}

//! Organisations: departments, property companies, community committees, street offices, operators.
use serde::Serialize;

use crate::error::Invalid;
use crate::region::required;
use crate::text::{non_empty, parse_code, parse_name};
use crate::{keyword_enum, Attributes};

keyword_enum!(
    OrgKind, "organisation kind", {
        Department => ["department", "部门", "职能部门"],
        StreetOffice => ["street_office", "街道办", "街道办事处"],
        CommunityCommittee => ["community_committee", "居委会", "社区居委会", "村委会"],
        PropertyCompany => ["property_company", "物业", "物业公司"],
        Operator => ["operator", "运营商", "运营单位"],
        Other => ["other", "其他"],
    }
);

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Organisation {
    pub code: String,
    pub name: String,
    pub kind: OrgKind,
    /// The node of the hierarchy the organisation serves; its jurisdiction.
    pub region_code: String,
    pub parent_code: Option<String>,
    pub phone: Option<String>,
    #[schema(value_type = Object)]
    pub attributes: Attributes,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewOrganisation {
    pub code: String,
    pub name: String,
    pub kind: OrgKind,
    pub region_code: String,
    pub parent_code: Option<String>,
    pub phone: Option<String>,
    pub attributes: Attributes,
}

#[derive(Debug, Clone, Default)]
pub struct OrganisationInput<'a> {
    pub code: Option<&'a str>,
    pub name: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub region_code: Option<&'a str>,
    pub parent_code: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub attributes: Attributes,
}

impl NewOrganisation {
    pub fn parse(input: OrganisationInput<'_>) -> Result<Self, Invalid> {
        let mut errors = Invalid::default();
        let code = required(&mut errors, "code", input.code).and_then(|c| errors.check(parse_code("code", c)));
        let name = required(&mut errors, "name", input.name).and_then(|n| errors.check(parse_name("name", n)));
        let kind = required(&mut errors, "kind", input.kind).and_then(|k| errors.check(OrgKind::parse("kind", k)));
        let region_code = required(&mut errors, "region_code", input.region_code).and_then(|c| errors.check(parse_code("region_code", c)));
        let parent_code = non_empty(input.parent_code).and_then(|c| errors.check(parse_code("parent_code", c)));
        let phone = non_empty(input.phone).and_then(|p| errors.check(crate::person::parse_phone("phone", p)));
        if code.is_some() && code == parent_code {
            errors.push("parent_code", "an organisation cannot be its own parent (cycle)");
        }
        errors.into_result()?;
        Ok(NewOrganisation {
            code: code.unwrap_or_default(),
            name: name.unwrap_or_default(),
            kind: kind.unwrap_or(OrgKind::Other),
            region_code: region_code.unwrap_or_default(),
            parent_code,
            phone,
            attributes: input.attributes,
        })
    }
}

//! The units an order travels between: a node of the hierarchy (district, street, community, …)
//! acting through its users, or an organisation (a department, a property company, …).
use serde::{Deserialize, Serialize};

use crate::keyword_enum;
use crate::user::User;

keyword_enum!(
    UnitKind, "unit kind", {
        Region => ["region", "区域"],
        Organisation => ["organisation", "organization", "单位"],
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Unit {
    pub kind: UnitKind,
    pub code: String,
    pub name: String,
}

impl Unit {
    /// Whether `user` acts for this unit: bound to this node, or a member of this organisation.
    pub fn has_member(&self, user: &User) -> bool {
        match self.kind {
            UnitKind::Region => user.region_code.as_deref() == Some(self.code.as_str()),
            UnitKind::Organisation => user.org_code.as_deref() == Some(self.code.as_str()),
        }
    }

    pub fn same_as(&self, other: &Unit) -> bool {
        self.kind == other.kind && self.code == other.code
    }

    /// `region:CODE` or `organisation:CODE`: how lists filter by unit.
    pub fn key(&self) -> String {
        format!("{}:{}", self.kind, self.code)
    }
}

//! Platform users: who they are, what role they hold and where they may act.
use serde::Serialize;

use crate::access::Role;
use crate::error::InvalidField;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The node of the hierarchy the user is bound to.
    pub region_code: Option<String>,
    /// The organisation the user works for.
    pub org_code: Option<String>,
    pub disabled: bool,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
}

/// A username: 2 to 64 characters of letters, digits, `.`, `_`, `-` and `@`.
pub fn parse_username(raw: &str) -> Result<String, InvalidField> {
    let name = raw.trim();
    let ok = (2..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(name.to_string())
    } else {
        Err(InvalidField::new("username", "must be 2 to 64 letters, digits, '.', '_', '-' or '@'"))
    }
}

/// A password of at least 8 characters (NIST SP 800-63B's floor) and at most 256.
pub fn check_password(raw: &str) -> Result<(), InvalidField> {
    match raw.chars().count() {
        n if n < 8 => Err(InvalidField::new("password", "must be at least 8 characters")),
        n if n > 256 => Err(InvalidField::new("password", "must be at most 256 characters")),
        _ => Ok(()),
    }
}

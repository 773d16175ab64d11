//! Small parsers for the text fields shared by every record kind.
use crate::error::InvalidField;

/// A stable code: 1 to 64 characters of ASCII letters, digits, `.`, `_` and `-`.
/// Codes appear in URLs and CSV files, so they are kept to characters that need no escaping.
pub fn parse_code(field: &str, raw: &str) -> Result<String, InvalidField> {
    let code = raw.trim();
    if code.is_empty() {
        return Err(InvalidField::new(field, "must not be empty"));
    }
    if code.len() > 64 {
        return Err(InvalidField::new(field, "must be at most 64 characters"));
    }
    if let Some(bad) = code.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        return Err(InvalidField::new(field, format!("must use only letters, digits, '.', '_' and '-' (found {bad:?})")));
    }
    Ok(code.to_string())
}

/// A display name: trimmed, 1 to 200 characters, no control characters.
pub fn parse_name(field: &str, raw: &str) -> Result<String, InvalidField> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(InvalidField::new(field, "must not be empty"));
    }
    if name.chars().count() > 200 {
        return Err(InvalidField::new(field, "must be at most 200 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(InvalidField::new(field, "must not contain control characters"));
    }
    Ok(name.to_string())
}

/// An optional text field: empty means absent.
pub fn non_empty(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|s| !s.is_empty())
}

/// Parses an enum-like value from any of its accepted spellings (English code or Chinese term).
pub fn parse_keyword<T: Copy>(field: &str, raw: &str, table: &[(T, &[&str])], kind: &str) -> Result<T, InvalidField> {
    let wanted = raw.trim();
    for (value, spellings) in table {
        if spellings.iter().any(|s| s.eq_ignore_ascii_case(wanted)) {
            return Ok(*value);
        }
    }
    let known: Vec<&str> = table.iter().map(|(_, s)| s[0]).collect();
    Err(InvalidField::new(field, format!("unknown {kind} {wanted:?}; expected one of {}", known.join(", "))))
}

/// Defines a closed keyword enum with its English code first, then accepted aliases.
#[macro_export]
macro_rules! keyword_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal, { $($variant:ident => [$code:literal $(, $spelling:literal)* $(,)?]),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub enum $name { $(#[serde(rename = $code)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            const TABLE: &'static [($name, &'static [&'static str])] = &[$(($name::$variant, &[$code $(, $spelling)*])),+];

            /// The canonical English code, as stored and sent over the API.
            pub fn as_str(self) -> &'static str {
                Self::TABLE.iter().find(|(v, _)| *v == self).map(|(_, s)| s[0]).unwrap_or("")
            }

            /// The Chinese term shown in the UI, when one is defined.
            pub fn label_zh(self) -> &'static str {
                Self::TABLE.iter().find(|(v, _)| *v == self)
                    .and_then(|(_, s)| s.iter().find(|x| !x.is_ascii()).copied())
                    .unwrap_or_else(|| self.as_str())
            }

            pub fn parse(field: &str, raw: &str) -> Result<Self, $crate::error::InvalidField> {
                $crate::text::parse_keyword(field, raw, Self::TABLE, $kind)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_refuse_spaces_and_slashes() {
        assert!(parse_code("code", "110114").is_ok());
        assert!(parse_code("code", "hlg.c01-b3").is_ok());
        assert_eq!(parse_code("code", " ").unwrap_err().field, "code");
        assert!(parse_code("code", "a/b").is_err());
        assert!(parse_code("code", "a b").is_err());
        assert!(parse_code("code", &"x".repeat(65)).is_err());
    }

    crate::keyword_enum!(Sample, "sample", { Hotline12345 => ["hotline_12345", "12345"], Plain => ["plain"] });

    #[test]
    fn keywords_serialize_as_their_code() {
        assert_eq!(serde_json::to_string(&Sample::Hotline12345).unwrap(), "\"hotline_12345\"");
        assert_eq!(serde_json::from_str::<Sample>("\"hotline_12345\"").unwrap(), Sample::Hotline12345);
        assert_eq!(Sample::parse("f", "12345").unwrap(), Sample::Hotline12345);
        assert_eq!((Sample::ALL.len(), Sample::Plain.label_zh()), (2, "plain"));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("name", "  回龙观街道 ").unwrap(), "回龙观街道");
        assert!(parse_name("name", "").is_err());
        assert!(parse_name("name", "a\u{0}b").is_err());
    }
}

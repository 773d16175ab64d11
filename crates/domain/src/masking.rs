//! Masking of sensitive personal data (个人信息去标识化) for roles that may not see it.

/// Keeps the first `head` and last `tail` characters and stars the rest:
/// `110114199003071234` → `110***********1234`, `13812345678` → `138****5678`.
pub fn mask_middle(value: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..head].iter().collect();
    out.extend(std::iter::repeat_n('*', chars.len() - head - tail));
    out.extend(&chars[chars.len() - tail..]);
    out
}

pub fn mask_id_number(id: &str) -> String {
    mask_middle(id, 3, 4)
}

pub fn mask_phone(phone: &str) -> String {
    mask_middle(phone, 3, 4)
}

/// Keeps the family name (first character): `张三` → `张*`, `欧阳娜娜` → `欧***`; a name of one
/// character is starred whole.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match (chars.next(), chars.clone().next()) {
        (Some(first), Some(_)) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        (Some(_), None) => "*".to_string(),
        (None, _) => String::new(),
    }
}

impl crate::person::Resident {
    /// The resident as a reader without the right to sensitive fields sees them.
    pub fn masked(mut self) -> Self {
        self.name = mask_name(&self.name);
        self.id_number = self.id_number.as_deref().map(mask_id_number);
        self.phone = self.phone.as_deref().map(mask_phone);
        // The birth date is derived from the ID number and would un-mask part of it.
        self.birth_date = self.birth_date.map(|d| format!("{}-**-**", d.chars().take(4).collect::<String>()));
        // Free-form attributes may hold anything (an emergency contact's phone): none are shown.
        self.attributes = Default::default();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_as_documented() {
        assert_eq!(mask_id_number("110114199003071234"), "110***********1234");
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_middle("123", 3, 4), "***");
        assert_eq!(mask_name("张"), "*");
    }
}

use std::fmt;

/// A value refused at the edge, naming the field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidField {
    pub field: String,
    pub message: String,
}

impl InvalidField {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// Every problem found in one record, so a caller can report them all at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invalid(pub Vec<InvalidField>);

impl Invalid {
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(InvalidField::new(field, message));
    }

    /// Runs a parse and keeps its error; returns the value when it parsed.
    pub fn check<T>(&mut self, result: Result<T, InvalidField>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(error);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result(self) -> Result<(), Invalid> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for Invalid {}

impl From<InvalidField> for Invalid {
    fn from(field: InvalidField) -> Self {
        Invalid(vec![field])
    }
}

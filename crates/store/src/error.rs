use linli_domain::{Invalid, InvalidField};

/// One bad row of an import: its 1-based line or feature number and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    pub row: usize,
    pub field: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{kind} {key:?} not found")]
    NotFound { kind: &'static str, key: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(Invalid),
    #[error("{kind} {key:?} is outside your jurisdiction")]
    OutOfScope { kind: &'static str, key: String },
    #[error("import refused: {} bad rows", .0.len())]
    Import(Vec<RowError>),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// A [`Decide`](crate::Decide) refused the change; the caller knows the concrete error.
    #[error("{0}")]
    Refused(Box<dyn std::error::Error + Send + Sync>),
    #[error("{kind} {key} was changed by someone else (now version {current}); reload and retry")]
    Stale { kind: &'static str, key: String, current: i64 },
}

impl StoreError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        StoreError::Invalid(Invalid::from(InvalidField::new(field, message)))
    }

    pub(crate) fn not_found(kind: &'static str, key: impl ToString) -> Self {
        StoreError::NotFound { kind, key: key.to_string() }
    }

    pub(crate) fn out_of_scope(kind: &'static str, key: impl ToString) -> Self {
        StoreError::OutOfScope { kind, key: key.to_string() }
    }

    /// Turns a unique-constraint violation into a conflict naming what was duplicated.
    pub(crate) fn from_unique(error: sqlx::Error, what: impl FnOnce() -> String) -> Self {
        let unique = matches!(&error, sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation);
        if unique {
            StoreError::Conflict(what())
        } else {
            StoreError::Database(error)
        }
    }
}

//! The one error shape of the API: `{"code": "...", "message": "..."}`, with `errors` listing
//! every bad field or row where there are several.
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use linli_domain::Invalid;
use linli_store::{RowError, StoreError};
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable machine-readable code, e.g. `invalid_field`, `not_found`, `forbidden`.
    pub code: String,
    /// A human-readable, lowercase explanation naming the field or row.
    pub message: String,
    /// Every problem, when a request or file had several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorDetail>,
    /// For an illegal transition: the actions allowed from the current state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    pub field: String,
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub errors: Vec<ErrorDetail>,
    pub allowed: Option<Vec<String>>,
}

/// Carries an [`ApiError`] through the store's [`Decide`](linli_store::Decide) callbacks.
#[derive(Debug)]
pub struct Refusal(pub ApiError);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for Refusal {}

impl ApiError {
    /// Wraps this error for a [`Decide`](linli_store::Decide) callback.
    pub fn refuse(self) -> StoreError {
        StoreError::Refused(Box::new(Refusal(self)))
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
}

impl From<linli_domain::governance::order::ActionError> for ApiError {
    fn from(error: linli_domain::governance::order::ActionError) -> Self {
        use linli_domain::governance::order::ActionError;
        match error {
            ActionError::Illegal { ref allowed, .. } => {
                let allowed = allowed.iter().map(|a| a.as_str().to_string()).collect();
                ApiError { allowed: Some(allowed), ..ApiError::conflict("illegal_transition", error.to_string()) }
            }
            ActionError::Invalid(invalid) => invalid.into(),
        }
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), errors: Vec::new(), allowed: None }
    }

    pub fn bad_request(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_field",
            message: format!("{field}: {message}"),
            errors: vec![ErrorDetail { row: None, field: field.to_string(), message }],
            allowed: None,
        }
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; the request id in the logs tells what happened")
    }

    pub fn rows(rows: Vec<RowError>) -> Self {
        let message = match rows.first() {
            Some(first) => {
                format!("import refused, nothing was written: {} bad rows; first: row {}, {}: {}", rows.len(), first.row, first.field, first.message)
            }
            None => "import refused".to_string(),
        };
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_rows",
            message,
            errors: rows.into_iter().map(|r| ErrorDetail { row: Some(r.row), field: r.field, message: r.message }).collect(),
            allowed: None,
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_field",
            message: invalid.to_string(),
            errors: invalid.0.into_iter().map(|f| ErrorDetail { row: None, field: f.field, message: f.message }).collect(),
            allowed: None,
        }
    }
}

impl From<linli_domain::InvalidField> for ApiError {
    fn from(field: linli_domain::InvalidField) -> Self {
        Invalid::from(field).into()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { .. } => ApiError::not_found(error.to_string()),
            StoreError::Conflict(message) => ApiError::new(StatusCode::CONFLICT, "conflict", message),
            StoreError::Invalid(invalid) => invalid.into(),
            StoreError::OutOfScope { .. } => ApiError::new(StatusCode::FORBIDDEN, "out_of_jurisdiction", error.to_string()),
            StoreError::Import(rows) => ApiError::rows(rows),
            StoreError::Stale { .. } => ApiError::conflict("stale_version", error.to_string()),
            StoreError::Refused(inner) => match inner.downcast::<Refusal>() {
                Ok(refusal) => refusal.0,
                Err(other) => ApiError::new(StatusCode::CONFLICT, "refused", other.to_string()),
            },
            // PostgreSQL refuses NUL characters in text; SQLite stores them. Either way it is bad input.
            StoreError::Database(sqlx_error) if is_bad_text(&sqlx_error) => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_field", "text must not contain NUL characters")
            }
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::internal()
            }
        }
    }
}

fn is_bad_text(error: &linli_store::DatabaseError) -> bool {
    matches!(error, linli_store::DatabaseError::Database(db) if matches!(db.code().as_deref(), Some("22021" | "22P05")))
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let code = if status == StatusCode::UNSUPPORTED_MEDIA_TYPE { "unsupported_media_type" } else { "invalid_json" };
        ApiError::new(status, code, rejection.body_text().to_lowercase())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_path", rejection.body_text().to_lowercase())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", rejection.body_text().to_lowercase())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { code: self.code.to_string(), message: self.message, errors: self.errors, allowed: self.allowed };
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert("www-authenticate", axum::http::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

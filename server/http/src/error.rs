//! The one error type of the HTTP API. Every failure becomes a status and a JSON body
//! `{ "error": code, "message": text, "details": [...]? }` that says what is wrong; database and
//! other internal errors become 500 without leaking their text.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An API failure, with what the caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is not well-formed (bad JSON, bad query string, bad encoding).
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed, but a value is not acceptable; `details` lists each problem (e.g. CSV lines).
    #[error("{message}")]
    Invalid {
        message: String,
        details: Vec<String>,
    },
    #[error("{0}")]
    Unauthorized(String),
    /// The phone's app is older than the company requires.
    #[error("{0}")]
    UpgradeRequired(String),
    /// The token's device was reported lost: it must erase itself.
    #[error("this device was reported lost; erase its data and confirm")]
    DeviceWipe,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    RangeNotSatisfiable(String),
    #[error("too many failed sign-ins; try again in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("the server could not complete the request")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn invalid(message: impl Into<String>) -> Self {
        AppError::Invalid {
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::DeviceWipe => StatusCode::GONE,
            AppError::UpgradeRequired(_) => StatusCode::UPGRADE_REQUIRED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::RangeNotSatisfiable(_) => StatusCode::RANGE_NOT_SATISFIABLE,
            AppError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::Invalid { .. } => "invalid_input",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::DeviceWipe => "device_wipe",
            AppError::UpgradeRequired(_) => "upgrade_required",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::PayloadTooLarge { .. } => "payload_too_large",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::RangeNotSatisfiable(_) => "range_not_satisfiable",
            AppError::TooManyAttempts { .. } => "too_many_attempts",
            AppError::Internal(_) => "internal",
        }
    }
}

impl AppError {
    /// A raw body that could not be read: too large for `limit`, or cut off.
    pub fn from_body_rejection(
        rejection: axum::extract::rejection::BytesRejection,
        limit: usize,
    ) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge { limit }
        } else {
            AppError::BadRequest(rejection.body_text())
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        if let AppError::Internal(source) = &self {
            tracing::error!(error = ?source, "request failed");
        }
        let mut body = json!({ "error": self.code(), "message": self.to_string() });
        if let AppError::Invalid { details, .. } = &self
            && !details.is_empty()
        {
            body["details"] = json!(details);
        }
        let mut response = (status, Json(body)).into_response();
        if let AppError::TooManyAttempts { retry_after_secs } = self
            && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// The domain's failures, each to its status.
impl From<huifang_core::Error> for AppError {
    fn from(error: huifang_core::Error) -> Self {
        use huifang_core::Error;
        match error {
            Error::Malformed(message) => AppError::BadRequest(message),
            Error::Invalid { message, details } => AppError::Invalid { message, details },
            Error::Unauthorized(message) => AppError::Unauthorized(message),
            Error::DeviceWipe => AppError::DeviceWipe,
            Error::UpgradeRequired(message) => AppError::UpgradeRequired(message),
            Error::Forbidden(message) => AppError::Forbidden(message),
            Error::NotFound(message) => AppError::NotFound(message),
            Error::Conflict(message) => AppError::Conflict(message),
            Error::TooLarge { limit } => AppError::PayloadTooLarge { limit },
            Error::UnsupportedContent(message) => AppError::UnsupportedMediaType(message),
            Error::TooManyAttempts { retry_after_secs } => {
                AppError::TooManyAttempts { retry_after_secs }
            }
            Error::Internal(source) => AppError::Internal(anyhow::Error::from_boxed(source)),
        }
    }
}

/// A refused import: every bad line in `details`.
impl From<huifang_core::imports::ImportError> for AppError {
    fn from(error: huifang_core::imports::ImportError) -> Self {
        huifang_core::Error::from(error).into()
    }
}

/// The store's failures and the review's refusals, read as the domain reads them.
impl From<huifang_store::StoreError> for AppError {
    fn from(error: huifang_store::StoreError) -> Self {
        huifang_core::Error::from(error).into()
    }
}

impl From<huifang_protocol::Refusal> for AppError {
    fn from(refusal: huifang_protocol::Refusal) -> Self {
        huifang_core::Error::from(refusal).into()
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => AppError::invalid(e.body_text()),
            JsonRejection::JsonSyntaxError(e) => AppError::BadRequest(e.body_text()),
            JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType(
                "expected a request with `Content-Type: application/json`".into(),
            ),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::PayloadTooLarge {
                    limit: crate::config::JSON_BODY_LIMIT,
                }
            }
            other => AppError::BadRequest(other.body_text()),
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        AppError::BadRequest(rejection.body_text())
    }
}

pub type AppResult<T> = Result<T, AppError>;

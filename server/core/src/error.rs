//! The domain's one error: what the caller did wrong (and can act on), or that the server failed.
//! The HTTP layer maps each kind to a status; sync tells a device the first kinds and retries on
//! the last.

use huifang_store::StoreError;

/// A failure of a domain operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input cannot be read at all (not the expected encoding or shape).
    #[error("{0}")]
    Malformed(String),
    /// Readable, but a value is not acceptable; `details` lists each problem (e.g. CSV lines).
    #[error("{message}")]
    Invalid {
        message: String,
        details: Vec<String>,
    },
    /// No valid session.
    #[error("{0}")]
    Unauthorized(String),
    /// The token's device was reported lost: it must erase itself (`WIPE_STATUS`).
    #[error("this device was reported lost; its data must be erased")]
    DeviceWipe,
    /// The phone's app is older than the company requires.
    #[error("{0}")]
    UpgradeRequired(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Does not exist, or not within the caller's scope (the two are not told apart).
    #[error("{0}")]
    NotFound(String),
    /// The record's state does not allow it now, or its key is taken.
    #[error("{0}")]
    Conflict(String),
    /// More than the limit.
    #[error("the content is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    /// Content of a kind that is not accepted.
    #[error("{0}")]
    UnsupportedContent(String),
    /// Too many failed sign-ins for this username.
    #[error("too many failed sign-ins; try again in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    /// The server failed; the cause is logged, never shown.
    #[error("the server could not complete the request")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid {
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// The server's own failure, described for the log.
    pub fn internal(message: impl Into<String>) -> Self {
        Error::Internal(message.into().into())
    }
}

/// The store's failures: what the caller's input caused keeps its meaning (invalid, conflict);
/// the rest is the server's.
impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        match error {
            error @ StoreError::Database(_) if error.is_unique_violation() => {
                Error::Conflict("a record with the same key already exists".into())
            }
            error @ StoreError::Database(_) => Error::Internal(Box::new(error)),
            StoreError::Invalid(message) => Error::invalid(message),
            StoreError::Conflict(message) => Error::Conflict(message),
            corrupt @ StoreError::Corrupt(_) => Error::Internal(Box::new(corrupt)),
            lost @ StoreError::NotCommitted(_) => Error::Internal(Box::new(lost)),
        }
    }
}

/// The review of a document change (`huifang_protocol::review_*`): conflict, forbidden or invalid,
/// with every refused field in `details`.
impl From<huifang_protocol::Refusal> for Error {
    fn from(refusal: huifang_protocol::Refusal) -> Self {
        let message = refusal.to_string();
        match refusal.kind {
            huifang_protocol::RefusalKind::Conflict => Error::Conflict(message),
            huifang_protocol::RefusalKind::Forbidden => Error::Forbidden(message),
            huifang_protocol::RefusalKind::Invalid => Error::Invalid {
                message,
                details: refusal.violations.iter().map(ToString::to_string).collect(),
            },
        }
    }
}

pub type CoreResult<T> = Result<T, Error>;

//! The store's one error. What a caller can act on (a value the store cannot hold, a key already
//! taken) is told apart from what only an operator can (the database failed, a stored record is
//! unreadable); the layers above turn it into their own.

/// A storage operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed the statement. A unique violation is told apart by
    /// [`StoreError::is_unique_violation`].
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A value given to the store cannot be stored as it is (a time that does not parse, a unit
    /// that does not exist): the caller's input is wrong.
    #[error("{0}")]
    Invalid(String),
    /// The record would take a key that is already taken.
    #[error("{0}")]
    Conflict(String),
    /// A stored record cannot be read back: the database holds something no release wrote.
    #[error("{0}")]
    Corrupt(String),
    /// The batch a document write was kept in failed to commit (or the writer stopped): nothing
    /// of it is stored, and the write may be tried again.
    #[error("the write was not committed: {0}")]
    NotCommitted(String),
}

impl StoreError {
    pub fn invalid(message: impl Into<String>) -> Self {
        StoreError::Invalid(message.into())
    }

    pub fn corrupt(message: impl Into<String>) -> Self {
        StoreError::Corrupt(message.into())
    }

    /// Whether the database refused a row because its key is taken.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Database(error) => is_unique_violation(error),
            StoreError::Conflict(_) => true,
            _ => false,
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Whether an error is a unique-constraint violation (a duplicate natural key), on either engine.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || db.code().as_deref() == Some("23505")
                || db.message().contains("UNIQUE constraint failed")
        }
        _ => false,
    }
}

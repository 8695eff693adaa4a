//! The one error type of the client core. Flat, with a reason a person can read, so the mobile
//! bindings can hand it to Kotlin and Swift as it is; each variant is one way the app would act
//! differently.

/// Why a call did not do what was asked. Nothing was changed when an error is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// A value given by the app is not acceptable (rating 6, empty name, bad phone …).
    #[error("{reason}")]
    InvalidInput { reason: String },
    /// No such document, household or signature on this phone.
    #[error("{what} is not on this phone")]
    NotFound { what: String },
    /// The signed-in staff member may not make this change (the server would refuse it too).
    #[error("{reason}")]
    PermissionDenied { reason: String },
    /// The change does not fit the record's state (an outcome on a cancelled follow-up …).
    #[error("{reason}")]
    Conflict { reason: String },
    #[error("nobody is signed in on this phone")]
    NotSignedIn,
    /// The server did not accept the credentials or the session (wrong password, signed out on
    /// another device, revoked by an administrator): sign in again.
    #[error("the server did not accept the sign-in: {reason}")]
    Unauthorized { reason: String },
    /// Signing out would lose work that has not reached the server.
    #[error(
        "{count} local change(s) have not reached the server yet; sync first, or sign out discarding them"
    )]
    UnsyncedChanges { count: u64 },
    /// Data on the phone is damaged (a document that does not load).
    #[error("stored data is damaged: {reason}")]
    Corrupt { reason: String },
    /// The server cannot be reached; nothing is lost, sync again later.
    #[error("offline: {reason}")]
    Offline { reason: String },
    /// The server answered with an error (wrong app version, a change it cannot take …).
    #[error("the server refused the request: {reason}")]
    ServerRefused { reason: String },
    /// The store cannot be read with the key given: a wrong key (or not a Huifang store at all).
    /// Nothing was read or changed; open it with the right key.
    #[error("the store on this phone cannot be opened with this key")]
    WrongKey,
    /// The company reported this phone lost: the server told it to erase itself, and its store
    /// (documents, outbox, reference rows, session) is gone. Delete the store's key too; to use
    /// the phone again, sign in on a new store.
    #[error("this phone was reported lost; its Huifang data was erased")]
    Wiped,
    /// The company requires a newer app: update it. Nothing on the phone is lost; it syncs
    /// after the update.
    #[error("{reason}")]
    UpdateRequired { reason: String },
    /// The local database failed (disk full, I/O error).
    #[error("local storage failed: {reason}")]
    Storage { reason: String },
}

impl ClientError {
    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        ClientError::InvalidInput {
            reason: reason.into(),
        }
    }

    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        ClientError::NotFound { what: what.into() }
    }
}

impl From<rusqlite::Error> for ClientError {
    fn from(error: rusqlite::Error) -> Self {
        ClientError::Storage {
            reason: error.to_string(),
        }
    }
}

impl From<huifang_protocol::DocumentError> for ClientError {
    fn from(error: huifang_protocol::DocumentError) -> Self {
        ClientError::Corrupt {
            reason: error.to_string(),
        }
    }
}

impl From<huifang_protocol::Invalid> for ClientError {
    fn from(invalid: huifang_protocol::Invalid) -> Self {
        ClientError::InvalidInput {
            reason: invalid.to_string(),
        }
    }
}

impl From<crate::transport::TransportError> for ClientError {
    fn from(error: crate::transport::TransportError) -> Self {
        use crate::transport::TransportError;
        match error {
            TransportError::Offline { reason } => ClientError::Offline { reason },
            TransportError::Rejected {
                status: 401,
                reason,
            } => ClientError::Unauthorized { reason },
            // Only the calls that carry the token can meet it, and they erase the store before
            // they return it (`ClientStore::erase`).
            TransportError::Rejected { status, .. } if status == huifang_protocol::WIPE_STATUS => {
                ClientError::Wiped
            }
            TransportError::Rejected {
                status: 426,
                reason,
            } => ClientError::UpdateRequired { reason },
            TransportError::Rejected { status, reason } => ClientError::ServerRefused {
                reason: format!("{status}: {reason}"),
            },
        }
    }
}

pub(crate) type Result<T> = std::result::Result<T, ClientError>;

//! The one error of the bindings. Flat: Kotlin and Swift get one exception type per case, each
//! with a message a person can read (the client core's own wording).

use huifang_client::ClientError;

/// Why a call did not do what was asked. Nothing was changed when one is thrown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum MobileError {
    /// A value from the app is not acceptable (rating 6, empty name, bad server URL …).
    #[error("{reason}")]
    InvalidInput { reason: String },
    /// No such follow-up, sheet, household or signature on this phone.
    #[error("{reason}")]
    NotFound { reason: String },
    /// The staff member may not make this change.
    #[error("{reason}")]
    PermissionDenied { reason: String },
    /// The change does not fit the record's state.
    #[error("{reason}")]
    Conflict { reason: String },
    /// Nobody is signed in on this phone.
    #[error("{reason}")]
    NotSignedIn { reason: String },
    /// The server did not accept the password or the session: show the sign-in screen.
    #[error("{reason}")]
    Unauthorized { reason: String },
    /// Signing out would lose work that has not reached the server.
    #[error("{reason}")]
    UnsyncedChanges { reason: String },
    /// Data on the phone is damaged.
    #[error("{reason}")]
    Corrupt { reason: String },
    /// The server cannot be reached; nothing is lost, try again later.
    #[error("{reason}")]
    Offline { reason: String },
    /// The server refused the request (an old app version, say).
    #[error("{reason}")]
    ServerRefused { reason: String },
    /// The key given does not open the store. Nothing was read or changed.
    #[error("{reason}")]
    WrongKey { reason: String },
    /// The company reported this phone lost: its store was erased on the server's order. Delete
    /// the store's key from the Keystore/Keychain and show the sign-in screen.
    #[error("{reason}")]
    Wiped { reason: String },
    /// The company requires a newer app: ask the user to update. Nothing on the phone is lost.
    #[error("{reason}")]
    UpdateRequired { reason: String },
    /// The phone's storage failed (disk full).
    #[error("{reason}")]
    Storage { reason: String },
    /// A defect in the library; the call changed nothing. Please report the message.
    #[error("{reason}")]
    Internal { reason: String },
}

impl From<ClientError> for MobileError {
    fn from(error: ClientError) -> Self {
        let reason = error.to_string();
        match error {
            ClientError::InvalidInput { .. } => MobileError::InvalidInput { reason },
            ClientError::NotFound { .. } => MobileError::NotFound { reason },
            ClientError::PermissionDenied { .. } => MobileError::PermissionDenied { reason },
            ClientError::Conflict { .. } => MobileError::Conflict { reason },
            ClientError::NotSignedIn => MobileError::NotSignedIn { reason },
            ClientError::Unauthorized { .. } => MobileError::Unauthorized { reason },
            ClientError::UnsyncedChanges { .. } => MobileError::UnsyncedChanges { reason },
            ClientError::Corrupt { .. } => MobileError::Corrupt { reason },
            ClientError::Offline { .. } => MobileError::Offline { reason },
            ClientError::ServerRefused { .. } => MobileError::ServerRefused { reason },
            ClientError::WrongKey => MobileError::WrongKey { reason },
            ClientError::Wiped => MobileError::Wiped { reason },
            ClientError::UpdateRequired { .. } => MobileError::UpdateRequired { reason },
            ClientError::Storage { .. } => MobileError::Storage { reason },
        }
    }
}

/// Runs one call of the bindings: a client-core error becomes its [`MobileError`], and a panic
/// becomes [`MobileError::Internal`] instead of unwinding into Kotlin or Swift.
pub(crate) fn guarded<T>(call: impl FnOnce() -> Result<T, ClientError>) -> Result<T, MobileError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)) {
        Ok(result) => result.map_err(MobileError::from),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".to_owned());
            Err(MobileError::Internal {
                reason: format!("internal error in the Huifang library: {what}"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_internal_error() {
        let result: Result<(), _> = guarded(|| panic!("index out of bounds"));
        assert_eq!(
            result,
            Err(MobileError::Internal {
                reason: "internal error in the Huifang library: index out of bounds".into()
            })
        );
    }

    #[test]
    fn each_client_error_keeps_its_kind_and_message() {
        let mapped = MobileError::from(ClientError::Offline {
            reason: "no route".into(),
        });
        assert_eq!(
            mapped,
            MobileError::Offline {
                reason: "offline: no route".into()
            }
        );
        assert!(matches!(
            MobileError::from(ClientError::NotSignedIn),
            MobileError::NotSignedIn { .. }
        ));
    }
}

//! The seam between the store and the network. The sync client (next issue) implements
//! [`Transport`] over HTTPS; tests use an in-memory one, so this crate builds and tests with no
//! network at all.

/// Why a request to the server did not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// No connection: try again later; nothing is lost.
    #[error("the server cannot be reached: {reason}")]
    Offline { reason: String },
    /// The server answered with an error for this request.
    #[error("the server refused the request ({status}): {reason}")]
    Rejected { status: u16, reason: String },
}

/// Sends one request body to a server endpoint and returns the response body.
pub trait Transport: Send + Sync {
    fn post(&self, endpoint: &str, token: &str, body: &[u8]) -> Result<Vec<u8>, TransportError>;
}

/// A local change waiting for the server, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingChange {
    pub outbox_id: i64,
    pub document_id: String,
    /// `sheet` or `follow_up`.
    pub kind: String,
    /// Automerge changes (a document or an incremental save) to apply on the server.
    pub changes: Vec<u8>,
}

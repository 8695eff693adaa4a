//! The seam between the store and the network. [`crate::HttpTransport`] is the real one (HTTPS
//! with rustls); tests may put their own in between (to cut a connection, say), and an app may
//! hand over its platform's HTTP stack by implementing [`Transport`].

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

/// The two methods the client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// One request to the server. `path` is relative to the server URL (`/api/v1/sync`).
#[derive(Clone, Copy)]
pub struct Request<'a> {
    pub method: Method,
    pub path: &'a str,
    /// The session token, sent as a bearer token; `None` for signing in.
    pub token: Option<&'a str>,
    pub content_type: &'a str,
    pub body: &'a [u8],
}

impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("token", &self.token.map(|_| "<hidden>"))
            .field("content_type", &self.content_type)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

impl<'a> Request<'a> {
    pub fn get(path: &'a str, token: &'a str) -> Self {
        Request {
            method: Method::Get,
            path,
            token: Some(token),
            content_type: "",
            body: &[],
        }
    }

    pub fn post(
        path: &'a str,
        token: Option<&'a str>,
        content_type: &'a str,
        body: &'a [u8],
    ) -> Self {
        Request {
            method: Method::Post,
            path,
            token,
            content_type,
            body,
        }
    }
}

/// Sends one request and returns the body of a successful (2xx) answer.
pub trait Transport: Send + Sync {
    fn send(&self, request: Request<'_>) -> Result<Vec<u8>, TransportError>;
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

/// Attempts per request when the server cannot be reached, with doubling pauses between.
const ATTEMPTS: u32 = 3;
const FIRST_PAUSE: std::time::Duration = std::time::Duration::from_millis(200);

/// Sends a request, retrying with doubling pauses while the server cannot be reached.
pub(crate) fn send(
    transport: &dyn Transport,
    request: Request<'_>,
) -> std::result::Result<Vec<u8>, TransportError> {
    let mut pause = FIRST_PAUSE;
    let mut attempt = 1;
    loop {
        match transport.send(request) {
            Ok(bytes) => return Ok(bytes),
            Err(TransportError::Offline { .. }) if attempt < ATTEMPTS => {
                std::thread::sleep(pause);
                pause *= 2;
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

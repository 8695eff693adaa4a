//! The phone's HTTP client: reqwest (blocking: the store's API is synchronous and the apps call
//! it from a background thread) over rustls with the `ring` provider and Mozilla's root
//! certificates compiled in. No OpenSSL and no platform verifier, so the same code builds for
//! Android and iOS without JNI set-up; a company whose server uses a private CA passes that
//! certificate to [`HttpTransport::with_root_certificates`].

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::error::{ClientError, Result};
use crate::transport::{Method, Request, Transport, TransportError};

/// How long to wait for a connection before calling the server unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may take in all (a first sync page of 2,000 documents on a slow line).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the live channel stays open before it is opened anew (the server sends a keep-alive
/// every 15 s, so a dead line is noticed well before).
const LISTEN_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// HTTPS (or, for a server on the same machine, plain HTTP) to one Huifang server.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    server_url: String,
    client: reqwest::blocking::Client,
}

impl HttpTransport {
    /// A transport to `server_url` (`https://huifang.example.com`), trusting the public roots.
    ///
    /// Builds a client with its own I/O thread: call it from a plain (not an async) thread.
    pub fn new(server_url: &str) -> Result<Self> {
        Self::with_root_certificates(server_url, &[])
    }

    /// As [`HttpTransport::new`], also trusting the PEM certificates in `extra_roots_pem` (a
    /// company's own certificate authority).
    pub fn with_root_certificates(server_url: &str, extra_roots_pem: &[u8]) -> Result<Self> {
        let server_url = check_server_url(server_url)?;
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if !extra_roots_pem.is_empty() {
            let mut added = 0;
            for certificate in CertificateDer::pem_slice_iter(extra_roots_pem) {
                let certificate = certificate.map_err(|e| {
                    ClientError::invalid(format!("the root certificate is not valid PEM: {e}"))
                })?;
                roots.add(certificate).map_err(|e| {
                    ClientError::invalid(format!("the root certificate cannot be used: {e}"))
                })?;
                added += 1;
            }
            if added == 0 {
                return Err(ClientError::invalid(
                    "no PEM certificate (-----BEGIN CERTIFICATE-----) in the root certificates",
                ));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::invalid(format!("TLS set-up failed: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::blocking::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("huifang-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::invalid(format!("the HTTP client cannot start: {e}")))?;
        Ok(HttpTransport { server_url, client })
    }

    pub fn server_url(&self) -> &str {
        &self.server_url
    }

    /// Holds the server's live channel (`GET /api/v1/sync/events`) open and calls `on_work` with
    /// the server's change sequence each time something in the staff member's scope changed
    /// after `cursor`. Returns when `on_work` returns `false`, or when the connection ends (the
    /// caller reconnects, after a sync); an error means the server could not be reached.
    pub fn listen_for_work(
        &self,
        token: &str,
        cursor: i64,
        on_work: &dyn Fn(i64) -> bool,
    ) -> std::result::Result<(), TransportError> {
        use std::io::BufRead;
        let offline = |e: reqwest::Error| TransportError::Offline {
            reason: without_url(&e),
        };
        let response = self
            .client
            .get(format!(
                "{}/api/v1/sync/events?cursor={cursor}",
                self.server_url
            ))
            .bearer_auth(token)
            .timeout(LISTEN_TIMEOUT)
            .send()
            .map_err(offline)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.bytes().map_err(offline)?;
            return Err(TransportError::Rejected {
                status: status.as_u16(),
                reason: reason_of(&body),
            });
        }
        let mut event = String::new();
        for line in std::io::BufReader::new(response).lines() {
            let line = line.map_err(|e| TransportError::Offline {
                reason: format!("the live channel broke: {e}"),
            })?;
            if let Some(name) = line.strip_prefix("event:") {
                event = name.trim().to_owned();
            } else if let Some(data) = line.strip_prefix("data:") {
                if event == "sync"
                    && let Ok(sequence) = data.trim().parse()
                    && !on_work(sequence)
                {
                    return Ok(());
                }
            } else if line.is_empty() {
                event.clear();
            }
        }
        Ok(())
    }
}

/// `https://host[:port][/prefix]` without a trailing slash; plain `http://` only for loopback,
/// so a token never crosses a network in clear text.
pub(crate) fn check_server_url(url: &str) -> Result<String> {
    let url = url.trim().trim_end_matches('/');
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        let loopback = ["127.0.0.1", "localhost", "[::1]", "10.0.2.2"]
            .iter()
            .any(|host| {
                rest.strip_prefix(host)
                    .is_some_and(|after| after.is_empty() || after.starts_with([':', '/']))
            });
        if !loopback {
            return Err(ClientError::invalid(format!(
                "{url}: plain http:// is only for a server on this machine (or the Android \
                 emulator's host); use https://"
            )));
        }
        rest
    } else {
        return Err(ClientError::invalid(format!(
            "{url:?}: the server URL must start with https://"
        )));
    };
    if rest.is_empty() || rest.starts_with('/') || url.chars().any(char::is_whitespace) {
        return Err(ClientError::invalid(format!(
            "{url:?}: the server URL has no host"
        )));
    }
    Ok(url.to_owned())
}

/// The `message` of the server's JSON error body, or the body as text.
fn reason_of(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(500).collect())
}

impl Transport for HttpTransport {
    fn send(&self, request: Request<'_>) -> std::result::Result<Vec<u8>, TransportError> {
        let url = format!("{}{}", self.server_url, request.path);
        let mut builder = match request.method {
            Method::Get => self.client.get(url),
            Method::Post => self
                .client
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, request.content_type)
                .body(request.body.to_vec()),
        };
        if let Some(token) = request.token {
            builder = builder.bearer_auth(token);
        }
        let offline = |e: reqwest::Error| TransportError::Offline {
            reason: without_url(&e),
        };
        let response = builder.send().map_err(offline)?;
        let status = response.status();
        let body = response.bytes().map_err(offline)?;
        if status.is_success() {
            Ok(body.to_vec())
        } else if status.is_server_error() {
            // A server that is restarting or overloaded is, for the phone, not there yet.
            Err(TransportError::Offline {
                reason: format!("{status}: {}", reason_of(&body)),
            })
        } else {
            Err(TransportError::Rejected {
                status: status.as_u16(),
                reason: reason_of(&body),
            })
        }
    }
}

/// reqwest's message without the URL (which may carry a query the logs should not hold).
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "the server");
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_must_be_https_except_on_this_machine() {
        assert_eq!(
            check_server_url("https://hf.example.com/").unwrap(),
            "https://hf.example.com"
        );
        assert!(check_server_url("http://127.0.0.1:8080").is_ok());
        assert!(check_server_url("http://10.0.2.2:8080").is_ok());
        for bad in [
            "http://hf.example.com",
            "ftp://x",
            "hf.example.com",
            "https://",
            "https:///x",
            "https://a b",
        ] {
            assert!(
                matches!(check_server_url(bad), Err(ClientError::InvalidInput { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_root_certificate_that_is_not_pem_is_refused() {
        let err = HttpTransport::with_root_certificates("https://hf.example.com", b"not a cert")
            .unwrap_err();
        assert!(err.to_string().contains("PEM"), "{err}");
    }

    #[test]
    fn error_bodies_give_their_message() {
        assert_eq!(
            reason_of(br#"{"error":"forbidden","message":"not yours"}"#),
            "not yours"
        );
        assert_eq!(reason_of(b"plain"), "plain");
    }
}

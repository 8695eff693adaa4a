//! Extractors whose rejections are [`AppError`]s, so malformed input gets the API's JSON error.

use axum::extract::{FromRequest, FromRequestParts};

use crate::error::AppError;

/// `axum::Json`, rejecting with a clear `{error, message}` body.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

/// The address a request came from, for throttling sign-in: the peer's, or — when the peer is
/// this host (a TLS front on the same machine) — the last address that front appended to
/// `X-Forwarded-For`. `None` when the server runs without connection info (in-process tests).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip());
        let forwarded = || {
            parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .next_back()
                .and_then(|last| last.trim().parse().ok())
        };
        Ok(ClientAddress(match peer {
            Some(peer) if peer.is_loopback() => forwarded().or(Some(peer)),
            other => other,
        }))
    }
}

/// `axum::extract::Query`, rejecting with a clear `{error, message}` body.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

/// No text field anywhere accepts NUL (PostgreSQL cannot store it, and no name, note or search
/// needs it). Rather than each handler remembering, this layer refuses it up front in the query
/// string, in JSON bodies (where it can only be written `\u0000`) and in form bodies (`%00`), so
/// the answer is a 422 naming the problem instead of a database error.
pub async fn refuse_nul(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<axum::response::Response, AppError> {
    let refusal = |place: &str| {
        AppError::invalid(format!(
            "the {place} contains a NUL character, which no field accepts"
        ))
    };
    if request
        .uri()
        .query()
        .is_some_and(|q| q.contains("%00") || q.contains('\0'))
    {
        return Err(refusal("query string"));
    }
    let content_type = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let json = content_type.starts_with("application/json");
    let form = content_type.starts_with("application/x-www-form-urlencoded");
    if !json && !form {
        return Ok(next.run(request).await);
    }
    let (parts, body) = request.into_parts();
    let limit = crate::config::JSON_BODY_LIMIT;
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| AppError::PayloadTooLarge { limit })?;
    let has_nul = if json {
        json_has_nul(&bytes)
    } else {
        bytes.windows(3).any(|w| w == b"%00") || bytes.contains(&0)
    };
    if has_nul {
        return Err(refusal("body"));
    }
    let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
    Ok(next.run(request).await)
}

/// Whether JSON text holds a NUL: a raw NUL byte, or the escape `\u0000` (preceded by an odd
/// number of backslashes, so an escaped backslash followed by the letters `u0000` is not one).
fn json_has_nul(bytes: &[u8]) -> bool {
    if bytes.contains(&0) {
        return true;
    }
    bytes.windows(5).enumerate().any(|(at, window)| {
        window.eq_ignore_ascii_case(b"u0000") && {
            let backslashes = bytes[..at]
                .iter()
                .rev()
                .take_while(|b| **b == b'\\')
                .count();
            backslashes % 2 == 1
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn nul_escapes_are_found_and_escaped_backslashes_are_not() {
        assert!(super::json_has_nul(br#"{"q":"a\u0000b"}"#));
        assert!(super::json_has_nul(br#"{"q":"\\\u0000"}"#));
        assert!(!super::json_has_nul(br#"{"q":"\\u0000"}"#));
        assert!(!super::json_has_nul(br#"{"q":"u0000"}"#));
    }
}

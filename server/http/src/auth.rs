//! Who is calling: the session behind a request's bearer token or dashboard cookie, as the
//! domain's [`huifang_core::auth::Caller`] (which decides what they may see), and the sign-in
//! routes.

mod routes;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use huifang_protocol::Role;

use crate::error::AppError;
use crate::state::AppState;

pub use routes::{router, sign_in};

/// The signed-in staff member behind a request, as an extractor: the domain's
/// [`huifang_core::auth::Caller`], which it derefs to.
#[derive(Debug, Clone)]
pub struct Caller(pub huifang_core::auth::Caller);

impl std::ops::Deref for Caller {
    type Target = huifang_core::auth::Caller;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// A caller who is an administrator. As an extractor it comes before the body, so whoever may not
/// call an administrator's route is told so (403) before anything about their request's content.
#[derive(Debug, Clone)]
pub struct Administrator(pub Caller);

impl FromRequestParts<AppState> for Administrator {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require_role(&[Role::Admin])?;
        Ok(Administrator(caller))
    }
}

/// The cookie holding a dashboard session's token (HttpOnly, SameSite=Strict).
pub const SESSION_COOKIE: &str = "huifang_session";
/// The header a browser request signed in by cookie must carry to change anything: a page of
/// another site cannot send it without a CORS preflight, which this server never grants.
pub const BROWSER_WRITE_HEADER: &str = "x-huifang-request";

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    /// Phones and scripts send `Authorization: Bearer <token>`; the dashboard's browser sends the
    /// session cookie (and, for anything but reading, [`BROWSER_WRITE_HEADER`]).
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            let jar = axum_extra::extract::CookieJar::from_headers(&parts.headers);
            let Some(cookie) = jar.get(SESSION_COOKIE) else {
                return Err(AppError::Unauthorized(
                    "missing `Authorization: Bearer <token>` header".into(),
                ));
            };
            if !parts.method.is_safe() && !parts.headers.contains_key(BROWSER_WRITE_HEADER) {
                return Err(AppError::Forbidden(format!(
                    "a change made from the browser must carry the {BROWSER_WRITE_HEADER} header"
                )));
            }
            return Ok(Caller(state.sessions().authenticate(cookie.value()).await?));
        };
        let token = bearer(header)?;
        Ok(Caller(state.sessions().authenticate(token).await?))
    }
}

/// A request's bearer token as sent, not yet authenticated: for the one route a device calls
/// with a token that no longer authenticates (confirming its remote wipe).
#[derive(Debug)]
pub struct BearerToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for BearerToken {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                AppError::Unauthorized("missing `Authorization: Bearer <token>` header".into())
            })?;
        Ok(BearerToken(bearer(header)?.to_owned()))
    }
}

fn bearer(header: &axum::http::HeaderValue) -> Result<&str, AppError> {
    header
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            AppError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
        })
}

//! Signing in and out of the dashboard, and choosing its language.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use cookie::time::Duration;
use serde::Deserialize;

use super::{LANG_COOKIE, WebResult, lang_of, local_path, render};
use crate::auth::{SESSION_COOKIE, sign_in};
use crate::error::AppError;
use crate::state::AppState;
use huifang_protocol::Lang;

/// The device name dashboard sessions are listed under.
const BROWSER_DEVICE: &str = "dashboard (browser)";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    lang: Lang,
    next: String,
    username: String,
    problem: Option<String>,
}

impl LoginPage {
    fn t<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(zh, en)
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn login_page(jar: CookieJar, Query(query): Query<NextQuery>) -> WebResult<Response> {
    let lang = lang_of(&jar);
    render(
        &LoginPage {
            lang,
            next: local_path(query.next.as_deref()),
            username: String::new(),
            problem: None,
        },
        lang,
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

/// Checks the credentials as the API does (same throttle); on success sets the session cookie
/// and goes on to the page asked for, otherwise shows the form again with the reason.
pub async fn login(
    State(state): State<AppState>,
    crate::extract::ClientAddress(client): crate::extract::ClientAddress,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> WebResult<Response> {
    let lang = lang_of(&jar);
    let next = local_path(form.next.as_deref());
    match sign_in(
        &state,
        &form.username,
        form.password,
        BROWSER_DEVICE,
        client,
    )
    .await
    {
        Ok((issued, _staff)) => {
            let cookie = Cookie::build((SESSION_COOKIE, issued.token))
                .path("/")
                .http_only(true)
                .same_site(SameSite::Strict)
                .secure(behind_https(&headers))
                .max_age(Duration::seconds(state.config().session_ttl.num_seconds()))
                .build();
            Ok((jar.add(cookie), Redirect::to(&next)).into_response())
        }
        Err(error @ (AppError::Unauthorized(_) | AppError::TooManyAttempts { .. })) => {
            let problem = match error {
                AppError::Unauthorized(_) => lang
                    .pick("用户名或密码错误。", "Wrong username or password.")
                    .to_owned(),
                other => other.to_string(),
            };
            let mut page = render(
                &LoginPage {
                    lang,
                    next,
                    username: form.username.chars().take(64).collect(),
                    problem: Some(problem),
                },
                lang,
            )?;
            *page.status_mut() = StatusCode::UNAUTHORIZED;
            Ok(page)
        }
        Err(error) => Err(super::WebError { error, lang }),
    }
}

/// Whether the browser reached us over HTTPS through the TLS front (which says so in
/// `X-Forwarded-Proto`); the session cookie is then marked `Secure`, so it never travels in clear.
fn behind_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

/// Ends the browser's session (revoked on the server, so the cookie is worthless afterwards).
pub async fn logout(State(state): State<AppState>, jar: CookieJar) -> WebResult<Response> {
    let lang = lang_of(&jar);
    if let Some(cookie) = jar.get(SESSION_COOKIE)
        && let Ok(caller) = state.sessions().authenticate(cookie.value()).await
    {
        state
            .sessions()
            .revoke(caller.session_id)
            .await
            .map_err(|error| super::WebError {
                error: error.into(),
                lang,
            })?;
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    Ok((jar, Redirect::to("/app/login")).into_response())
}

#[derive(Deserialize)]
pub struct SwitchQuery {
    to: String,
    back: Option<String>,
}

/// Remembers the language chosen and returns to the page.
pub async fn switch_language(jar: CookieJar, Query(query): Query<SwitchQuery>) -> Response {
    let lang = Lang::parse(&query.to);
    let cookie = Cookie::build((LANG_COOKIE, lang.code()))
        .path("/")
        .same_site(SameSite::Lax)
        .max_age(Duration::days(365))
        .build();
    (
        jar.add(cookie),
        Redirect::to(&local_path(query.back.as_deref())),
    )
        .into_response()
}

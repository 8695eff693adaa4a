//! `/api/v1/auth`: sign in, sign out, who am I, password change, and the device sessions an
//! administrator can revoke or order wiped (a lost phone), with the phone's confirmation.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use huifang_protocol::{Role, StaffMember, Unit};
use serde::{Deserialize, Serialize};

use super::{BearerToken, Caller};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiQuery, ClientAddress};
use crate::state::AppState;
use huifang_core::auth::normalise_username;
use huifang_core::auth::sessions::{IssuedToken, SessionInfo};
use huifang_core::auth::{check_new_password, hash_password, verify_password};
use huifang_store::scope::StaffScope;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/password", post(change_password))
        .route("/sessions", get(list_sessions))
        .route("/sessions/{id}", delete(revoke_session))
        .route("/sessions/{id}/wipe", post(wipe_session))
        .route("/wiped", post(confirm_wipe))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    username: String,
    password: String,
    device_name: Option<String>,
}

#[derive(Serialize)]
struct LoginResponse {
    token: String,
    expires_at: String,
    session_id: i64,
    staff: StaffMember,
}

const WRONG_CREDENTIALS: &str = "wrong username or password";

#[tracing::instrument(skip(state, body), fields(username = %normalise_username(&body.username)))]
async fn login(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    ApiJson(body): ApiJson<LoginRequest>,
) -> AppResult<Json<LoginResponse>> {
    let device_name = body.device_name.unwrap_or_default().trim().to_owned();
    if device_name.chars().count() > 100 {
        return Err(AppError::invalid(
            "device_name must have at most 100 characters",
        ));
    }
    let (issued, staff) =
        sign_in(&state, &body.username, body.password, &device_name, client).await?;
    Ok(Json(LoginResponse {
        token: issued.token,
        expires_at: issued.expires_at,
        session_id: issued.session_id,
        staff,
    }))
}

/// Checks a username and password (throttled per account and per client address) and opens a
/// session: the one way in, for phones, scripts and the dashboard alike.
pub async fn sign_in(
    state: &AppState,
    username: &str,
    password: String,
    device_name: &str,
    client: Option<std::net::IpAddr>,
) -> AppResult<(IssuedToken, StaffMember)> {
    let username = normalise_username(username);
    if username.is_empty()
        || username.len() > 64
        || password.len() > huifang_core::auth::MAX_PASSWORD_LEN
    {
        return Err(AppError::Unauthorized(WRONG_CREDENTIALS.into()));
    }
    let throttle = state.throttle();
    let attempt = throttle.begin(&username, client).await?;

    let account = state.registry().staff_login(&username).await?;
    let stored_hash = account
        .as_ref()
        .filter(|a| a.active)
        .and_then(|a| a.password_hash.clone());
    let ok = verify_password(password, stored_hash).await?;
    let Some(account) = account.filter(|_| ok) else {
        tracing::info!("sign-in refused");
        return Err(AppError::Unauthorized(WRONG_CREDENTIALS.into()));
    };
    throttle.succeeded(attempt).await?;
    let issued = state.sessions().issue(account.id, device_name).await?;
    let staff = state
        .registry()
        .get_staff(StaffScope::All, account.id)
        .await?
        .ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("staff {} vanished at sign-in", account.id))
        })?;
    tracing::info!(staff = account.id, session = issued.session_id, "signed in");
    Ok((issued, staff))
}

async fn logout(State(state): State<AppState>, caller: Caller) -> AppResult<StatusCode> {
    state.sessions().revoke(caller.session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
struct Me {
    staff: StaffMember,
    unit: Option<Unit>,
    session_id: i64,
    /// Units whose work the caller does (their own, and for a head the units under it): what a
    /// phone needs to know which unit-wide follow-ups are its own.
    work_units: Vec<i64>,
    /// The company's time zone (IANA name): "today" on a phone is the company's day.
    time_zone: String,
}

#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn me(State(state): State<AppState>, caller: Caller) -> AppResult<Json<Me>> {
    let staff = state
        .registry()
        .get_staff(StaffScope::All, caller.staff_id)
        .await?
        .ok_or_else(|| AppError::Unauthorized("the account no longer exists".into()))?;
    let unit = match staff.unit_id {
        Some(id) => state.registry().get_unit(id).await?,
        None => None,
    };
    Ok(Json(Me {
        staff,
        unit,
        session_id: caller.session_id,
        work_units: caller.work_units.clone(),
        time_zone: state.config().time_zone.name().to_owned(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangePassword {
    current_password: String,
    new_password: String,
}

/// Changing one's password revokes every other session of the account.
#[tracing::instrument(skip(state, caller, body), fields(caller = caller.staff_id))]
async fn change_password(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    caller: Caller,
    ApiJson(body): ApiJson<ChangePassword>,
) -> AppResult<StatusCode> {
    check_new_password(&body.new_password).map_err(AppError::invalid)?;
    // Guessing the current password from a stolen session is throttled like signing in.
    let attempt = state.throttle().begin(&caller.username, client).await?;
    let account = state.registry().staff_login(&caller.username).await?;
    let ok = verify_password(body.current_password, account.and_then(|a| a.password_hash)).await?;
    if !ok {
        return Err(AppError::Forbidden("the current password is wrong".into()));
    }
    state.throttle().succeeded(attempt).await?;
    let hash = hash_password(body.new_password).await?;
    state
        .registry()
        .set_password_hash(caller.staff_id, &hash)
        .await?;
    for session in state.sessions().list_of(caller.staff_id).await? {
        if session.id != caller.session_id && session.revoked_at.is_none() {
            state.sessions().revoke(session.id).await?;
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionsQuery {
    staff_id: Option<i64>,
}

/// A staff member lists their own devices; an administrator anyone's.
#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn list_sessions(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<SessionsQuery>,
) -> AppResult<Json<Vec<SessionInfo>>> {
    let staff_id = query.staff_id.unwrap_or(caller.staff_id);
    if staff_id != caller.staff_id {
        caller.require_role(&[Role::Admin])?;
    }
    Ok(Json(state.sessions().list_of(staff_id).await?))
}

/// Signs a device out: its owner, or an administrator (a lost or stolen phone).
#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn revoke_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    own_or_administered(&state, &caller, id).await?;
    state.sessions().revoke(id).await?;
    tracing::info!(session = id, "session revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// Session `id`, if it is the caller's or the caller is an administrator; otherwise not found
/// (another's sessions are not told apart from none).
async fn own_or_administered(state: &AppState, caller: &Caller, id: i64) -> AppResult<SessionInfo> {
    state
        .sessions()
        .get(id)
        .await?
        .filter(|s| s.staff_id == caller.staff_id || caller.role == Role::Admin)
        .ok_or_else(|| AppError::NotFound(format!("session {id} does not exist or is not yours")))
}

/// Orders a lost device to erase itself: its owner or an administrator. The session is revoked at
/// once; the device's next call with its token (a sync, the live channel) is answered
/// `WIPE_STATUS` until it confirms. The session list shows when it was told and confirmed.
#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn wipe_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<Json<SessionInfo>> {
    own_or_administered(&state, &caller, id).await?;
    if id == caller.session_id {
        return Err(AppError::Conflict(
            "a device cannot order its own wipe; sign out instead".into(),
        ));
    }
    state.sessions().request_wipe(id, caller.staff_id).await?;
    tracing::warn!(session = id, "remote wipe ordered");
    Ok(Json(own_or_administered(&state, &caller, id).await?))
}

/// A device that was told to erase itself says it did, with the token it held.
#[tracing::instrument(skip(state, token))]
async fn confirm_wipe(
    State(state): State<AppState>,
    BearerToken(token): BearerToken,
) -> AppResult<StatusCode> {
    let session = state.sessions().confirm_wipe(&token).await?;
    tracing::info!(session, "a device confirmed its remote wipe");
    Ok(StatusCode::NO_CONTENT)
}

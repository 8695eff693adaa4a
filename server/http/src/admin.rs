//! `/api/v1/admin`: rule settings (R-GOV-1) and the audit log (D-GOV-1), for administrators;
//! `/api/v1/notifications` for everyone.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use huifang_protocol::Role;
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;
use huifang_core::rules::RuleSettings;
use huifang_store::audit::{self, AuditEntry, Verification};
use huifang_store::notifications;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/rules", get(get_rules).put(put_rules))
        .route("/admin/audit", get(list_audit))
        .route("/admin/audit/verify", get(verify_audit))
        .route("/notifications", get(list_notifications))
        .route("/notifications/{id}/read", post(mark_read))
}

#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn get_rules(State(state): State<AppState>, caller: Caller) -> AppResult<Json<RuleSettings>> {
    caller.require_role(&[Role::Admin, Role::GeneralManager])?;
    Ok(Json(RuleSettings::load(state.db()).await?))
}

/// Changes the rule settings; the change and the old value go into the audit chain.
#[tracing::instrument(skip(state, caller, body), fields(caller = caller.staff_id))]
async fn put_rules(
    State(state): State<AppState>,
    crate::auth::Administrator(caller): crate::auth::Administrator,
    ApiJson(body): ApiJson<RuleSettings>,
) -> AppResult<Json<RuleSettings>> {
    body.check().map_err(AppError::invalid)?;
    body.change(state.db(), state.config().time_zone, caller.audit_actor())
        .await?;
    Ok(Json(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    subject: Option<String>,
    limit: Option<u32>,
}

#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn list_audit(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> AppResult<Json<Vec<AuditEntry>>> {
    caller.require_role(&[Role::Admin])?;
    let page = crate::registry::page_request(query.limit, None)?;
    Ok(Json(
        audit::list(state.db(), query.subject.as_deref(), page.limit).await?,
    ))
}

#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn verify_audit(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<Json<Verification>> {
    caller.require_role(&[Role::Admin])?;
    Ok(Json(audit::verify(state.db()).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotificationQuery {
    #[serde(default)]
    unread: bool,
}

#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn list_notifications(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<NotificationQuery>,
) -> AppResult<Json<Vec<notifications::Notification>>> {
    Ok(Json(
        notifications::list(state.db(), caller.staff_id, query.unread).await?,
    ))
}

#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn mark_read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    if !notifications::mark_read(state.db(), caller.staff_id, id).await? {
        return Err(AppError::NotFound(format!(
            "notification {id} does not exist or is not yours"
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}

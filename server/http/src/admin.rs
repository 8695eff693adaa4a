//! `/api/v1/admin`: rule settings (R-GOV-1) and the audit log (D-GOV-1), for administrators;
//! `/api/v1/notifications` for everyone.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use huifang_protocol::Role;
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;
use huifang_core::rules::RuleSettings;
use huifang_store::audit::{self, AuditEntry, Verification};

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

#[derive(Debug, Serialize, sqlx::FromRow)]
struct Notification {
    id: i64,
    document_id: String,
    message: String,
    created_at: String,
    read_at: Option<String>,
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
) -> AppResult<Json<Vec<Notification>>> {
    let sql = if query.unread {
        "SELECT id, document_id, message, created_at, read_at FROM notifications
         WHERE staff_id = $1 AND read_at IS NULL ORDER BY id DESC LIMIT 200"
    } else {
        "SELECT id, document_id, message, created_at, read_at FROM notifications
         WHERE staff_id = $1 ORDER BY id DESC LIMIT 200"
    };
    Ok(Json(
        sqlx::query_as(sql)
            .bind(caller.staff_id)
            .fetch_all(state.db().pool())
            .await?,
    ))
}

#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn mark_read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let done = sqlx::query(
        "UPDATE notifications SET read_at = $1 WHERE id = $2 AND staff_id = $3 AND read_at IS NULL",
    )
    .bind(state.db().now_text())
    .bind(id)
    .bind(caller.staff_id)
    .execute(state.db().pool())
    .await?;
    if done.rows_affected() == 0 {
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM notifications WHERE id = $1 AND staff_id = $2")
                .bind(id)
                .bind(caller.staff_id)
                .fetch_optional(state.db().pool())
                .await?;
        if exists.is_none() {
            return Err(AppError::NotFound(format!(
                "notification {id} does not exist or is not yours"
            )));
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

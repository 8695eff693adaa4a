//! `/api/v1/followups`: lists by role, one follow-up with the rule that assigned it in words,
//! the assignee's outcome and unreachable attempts, heads' reassignment and cancellation.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Duration;
use huifang_protocol::{FollowUp, FollowUpKind, FollowUpStatus, Labelled, Page, Sheet};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::registry::page_request;
use crate::state::AppState;
use huifang_core::followups::{
    self as workflow, CancelFollowUp, ReassignFollowUp, RecordOutcome, RecordUnreachable,
};
use huifang_store::followups::{self as store, FollowUpFilter, FollowUpSummary, FollowUpView};
use huifang_store::scope::WorkScope;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/followups", get(list))
        .route("/followups/{id}", get(show))
        .route("/followups/{id}/outcome", post(outcome))
        .route("/followups/{id}/unreachable", post(unreachable))
        .route("/followups/{id}/reassign", post(reassign))
        .route("/followups/{id}/cancel", post(cancel))
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
enum View {
    #[default]
    Mine,
    Unit,
    All,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    view: View,
    status: Option<FollowUpStatus>,
    kind: Option<FollowUpKind>,
    unit_id: Option<i64>,
    sheet_id: Option<String>,
    overdue: Option<bool>,
    /// Open follow-ups due within this many hours: "due soon".
    due_within_hours: Option<u32>,
    limit: Option<u32>,
    offset: Option<u64>,
}

#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> AppResult<Json<Page<FollowUpSummary>>> {
    let page = page_request(query.limit, query.offset)?;
    let view = match query.view {
        View::Mine => FollowUpView::Mine {
            staff_id: caller.staff_id,
            unit_id: caller.unit.map(|u| u.id),
        },
        // A consultant works alone: their "unit" is their own customers (R-INF-7, R-RTN-1), not
        // the other consultants' of the sales site.
        View::Unit => match caller.work_scope() {
            WorkScope::Units { units, .. } if units.is_empty() => FollowUpView::Mine {
                staff_id: caller.staff_id,
                unit_id: None,
            },
            _ => FollowUpView::Units(caller.work_units.clone()),
        },
        View::All => {
            if caller.work_scope() != WorkScope::All {
                return Err(AppError::Forbidden(
                    "view=all is for the general manager, administrators and the development department".into(),
                ));
            }
            FollowUpView::All
        }
    };
    if query.due_within_hours.is_some_and(|h| h > 24 * 31) {
        return Err(AppError::invalid(
            "due_within_hours must be at most 744 (31 days)",
        ));
    }
    let filter = FollowUpFilter {
        id: None,
        status: query.status,
        kind: query.kind,
        unit_id: query.unit_id,
        sheet_id: query.sheet_id,
        overdue: query.overdue,
        due_before: query.due_within_hours.map(|h| {
            huifang_protocol::format_time(state.db().now() + Duration::hours(i64::from(h)))
        }),
    };
    Ok(Json(store::list(state.db(), &view, &filter, page).await?))
}

#[derive(Serialize)]
pub(crate) struct RuleExplanation {
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
}

/// A follow-up as its readers see it: the API's answer and the dashboard's page.
#[derive(Serialize)]
pub(crate) struct FollowUpDetail {
    pub follow_up: FollowUp,
    /// Why this follow-up exists and is assigned where it is, in words.
    pub rule: RuleExplanation,
    pub assignee_name: Option<String>,
    pub assignee_unit_name: Option<String>,
    /// Done on a phone that has not synced it yet (#18), while the server's copy is open.
    pub done_on_phones: Vec<huifang_store::devices::OnPhone>,
}

#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<Json<FollowUpDetail>> {
    Ok(Json(detail(&state, &caller, &id).await?))
}

/// Follow-up `id` as `caller` may read it (phone numbers masked for those who see them so).
pub(crate) async fn detail(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> AppResult<FollowUpDetail> {
    let not_found = || {
        AppError::NotFound(format!(
            "follow-up {id} does not exist or is outside your scope"
        ))
    };
    if huifang_protocol::check_document_id(id).is_err() {
        return Err(not_found());
    }
    let mut follow_up = huifang_store::documents::read::<FollowUp>(state.db(), id)
        .await?
        .ok_or_else(not_found)?;
    if !workflow::is_visible(state.company(), caller, &follow_up).await? {
        return Err(not_found());
    }
    if !caller.sees_customer_phones() {
        follow_up.contact_phone = huifang_protocol::mask_phone(&follow_up.contact_phone);
    }
    let assignee_name = match follow_up.assignee_staff_id {
        Some(staff) => huifang_store::registry::staff_name(state.db().pool(), staff).await?,
        None => None,
    };
    let assignee_unit_name = state
        .registry()
        .get_unit(follow_up.assignee_unit_id)
        .await?
        .map(|u| u.name);
    let rule = RuleExplanation {
        code: follow_up.rule.code(),
        zh: follow_up.rule.label_zh(),
        en: follow_up.rule.label_en(),
    };
    let done_on_phones = huifang_core::devices::done_on_phones(state.company(), &follow_up).await?;
    Ok(FollowUpDetail {
        follow_up,
        rule,
        assignee_name,
        assignee_unit_name,
        done_on_phones,
    })
}

#[derive(Serialize)]
struct Recorded {
    follow_up: FollowUp,
    /// The new sheet a dissatisfied customer's follow-up opened (D-CB-3).
    reopened_sheet: Option<Sheet>,
}

#[tracing::instrument(skip(state, caller, body), fields(caller = caller.staff_id))]
async fn outcome(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RecordOutcome>,
) -> AppResult<Json<Recorded>> {
    let (follow_up, reopened_sheet) =
        workflow::record_outcome(state.company(), &caller, &id, body).await?;
    Ok(Json(Recorded {
        follow_up,
        reopened_sheet,
    }))
}

#[tracing::instrument(skip(state, caller, body), fields(caller = caller.staff_id))]
async fn unreachable(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RecordUnreachable>,
) -> AppResult<Json<FollowUp>> {
    Ok(Json(
        workflow::record_unreachable(state.company(), &caller, &id, body).await?,
    ))
}

#[tracing::instrument(skip(state, caller, body), fields(caller = caller.staff_id))]
async fn reassign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReassignFollowUp>,
) -> AppResult<Json<FollowUp>> {
    Ok(Json(
        workflow::reassign(state.company(), &caller, &id, body).await?,
    ))
}

#[tracing::instrument(skip(state, caller, body), fields(caller = caller.staff_id))]
async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CancelFollowUp>,
) -> AppResult<Json<FollowUp>> {
    Ok(Json(
        workflow::cancel(state.company(), &caller, &id, body).await?,
    ))
}

//! `/api/v1/sheets`: accept, list and search, read, edit, track, handle, invalidate, archive.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{NaiveDate, TimeZone};
use huifang_protocol::{
    ComplaintLevel, FollowUp, Page, Sheet, SheetCategory, SheetStatus, mask_phone,
};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::registry::page_request;
use crate::state::AppState;
use huifang_core::sheets::{self as workflow, AcceptSheet, HandleSheet, SheetEdit, SheetUpdate};
use huifang_store::followups::{FollowUpSummary, for_sheet};
use huifang_store::sheets::{self as store, SheetFilter, SheetSummary};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sheets", post(accept).get(list))
        .route("/sheets/{id}", get(show).patch(update))
        .route("/sheets/{id}/handling", post(start_handling))
        .route("/sheets/{id}/tracking", post(add_tracking))
        .route("/sheets/{id}/handled", post(handled))
        .route("/sheets/{id}/invalid", post(invalid))
        .route("/sheets/{id}/archive", post(archive))
}

#[tracing::instrument(skip(state, caller, body), fields(caller = caller.staff_id))]
async fn accept(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<AcceptSheet>,
) -> AppResult<(StatusCode, Json<Sheet>)> {
    let (sheet, created) = workflow::accept(state.company(), &caller, body).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(sheet)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    number: Option<String>,
    q: Option<String>,
    level: Option<ComplaintLevel>,
    category: Option<SheetCategory>,
    status: Option<SheetStatus>,
    unit_id: Option<i64>,
    household_id: Option<i64>,
    /// A date (`2026-11-01`, in the company's time zone) or an RFC 3339 time.
    from: Option<String>,
    to: Option<String>,
    limit: Option<u32>,
    offset: Option<u64>,
}

/// A date means its midnight in the company's time zone; a time is taken as given.
fn bound(state: &AppState, field: &str, text: Option<String>) -> AppResult<Option<String>> {
    let Some(text) = text else { return Ok(None) };
    if let Ok(date) = NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
        let midnight = date
            .and_hms_opt(0, 0, 0)
            .and_then(|t| state.config().time_zone.from_local_datetime(&t).earliest())
            .ok_or_else(|| AppError::invalid(format!("{field}: no midnight on {date}")))?;
        return Ok(Some(huifang_protocol::format_time(
            midnight.with_timezone(&chrono::Utc),
        )));
    }
    let time = huifang_protocol::parse_time(field, &text).map_err(|_| {
        AppError::invalid(format!(
            "{field} must be a date (2026-11-01) or an RFC 3339 time"
        ))
    })?;
    Ok(Some(huifang_protocol::format_time(time)))
}

#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> AppResult<Json<Page<SheetSummary>>> {
    let page = page_request(query.limit, query.offset)?;
    let filter = SheetFilter {
        id: None,
        number: query.number,
        text: crate::registry::search_text(query.q)?,
        search_phones: caller.sees_customer_phones(),
        level: query.level,
        category: query.category,
        status: query.status,
        unit_id: query.unit_id,
        household_id: query.household_id,
        from: bound(&state, "from", query.from)?,
        to: bound(&state, "to", query.to)?,
    };
    let mut page = store::list(state.db(), &caller.work_scope(), &filter, page).await?;
    if !caller.sees_customer_phones() {
        for sheet in &mut page.items {
            sheet.contact_phone = mask_phone(&sheet.contact_phone);
        }
    }
    Ok(Json(page))
}

#[derive(Serialize)]
pub(crate) struct SheetDetail {
    pub sheet: Sheet,
    pub follow_ups: Vec<FollowUpSummary>,
}

#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<Json<SheetDetail>> {
    Ok(Json(detail(&state, &caller, &id).await?))
}

/// Sheet `id` as `caller` may read it, with its follow-ups (phone numbers masked for those who
/// see them so).
pub(crate) async fn detail(state: &AppState, caller: &Caller, id: &str) -> AppResult<SheetDetail> {
    let mut sheet = workflow::load_visible(state.company(), caller, id).await?;
    if !caller.sees_customer_phones() {
        sheet.contact_phone = mask_phone(&sheet.contact_phone);
    }
    let follow_ups = for_sheet(state.db(), id).await?;
    Ok(SheetDetail { sheet, follow_ups })
}

#[tracing::instrument(skip(state, caller, body), fields(caller = caller.staff_id))]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SheetUpdate>,
) -> AppResult<Json<Sheet>> {
    Ok(Json(
        workflow::change(state.company(), &caller, &id, SheetEdit::Update(body)).await?,
    ))
}

#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn start_handling(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<Json<Sheet>> {
    Ok(Json(
        workflow::change(state.company(), &caller, &id, SheetEdit::StartHandling).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Note {
    note: String,
}

#[tracing::instrument(skip(state, caller, body), fields(caller = caller.staff_id))]
async fn add_tracking(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Note>,
) -> AppResult<Json<Sheet>> {
    Ok(Json(
        workflow::change(
            state.company(),
            &caller,
            &id,
            SheetEdit::AddTracking(body.note),
        )
        .await?,
    ))
}

#[derive(Serialize)]
struct Handled {
    sheet: Sheet,
    follow_up: FollowUp,
}

#[tracing::instrument(skip(state, caller, body), fields(caller = caller.staff_id))]
async fn handled(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<HandleSheet>,
) -> AppResult<Json<Handled>> {
    let (sheet, follow_up) = workflow::handle(state.company(), &caller, &id, body).await?;
    Ok(Json(Handled { sheet, follow_up }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Reason {
    reason: String,
}

#[tracing::instrument(skip(state, caller, body), fields(caller = caller.staff_id))]
async fn invalid(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Reason>,
) -> AppResult<Json<Sheet>> {
    Ok(Json(
        workflow::change(
            state.company(),
            &caller,
            &id,
            SheetEdit::MarkInvalid(body.reason),
        )
        .await?,
    ))
}

#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn archive(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<Json<Sheet>> {
    Ok(Json(
        workflow::archive(state.company(), &caller, &id).await?,
    ))
}

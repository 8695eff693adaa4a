//! `/api/v1/surveys`: forms and their workflow, distribution, answers and the report.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use huifang_protocol::{SurveyAnswer, SurveyContent};
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::extract::ApiJson;
use crate::state::AppState;
use huifang_core::surveys::report::{self, SurveyReport};
use huifang_core::surveys::{self, Distribution, SurveyForm, require_development};
use huifang_protocol::SurveyChannel;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/surveys", get(list).post(create))
        .route("/surveys/{id}", get(show).put(edit))
        .route("/surveys/{id}/submit", post(submit))
        .route("/surveys/{id}/approve", post(approve))
        .route("/surveys/{id}/distribute", post(distribute))
        .route("/surveys/{id}/close", post(close))
        .route("/surveys/{id}/revise", post(revise))
        .route("/surveys/{id}/responses", post(respond))
        .route("/surveys/{id}/report", get(report_json))
        .route("/surveys/{id}/report.xlsx", get(report_xlsx))
}

/// Forms are read by head office and by the offices that collect answers.
fn require_reader(caller: &Caller) -> Result<(), AppError> {
    use huifang_protocol::Role;
    if matches!(caller.role, Role::GeneralManager | Role::Admin)
        || require_development(caller).is_ok()
    {
        return Ok(());
    }
    let office = caller.unit.is_some_and(|u| {
        matches!(
            u.kind,
            huifang_protocol::UnitKind::PropertyOffice
                | huifang_protocol::UnitKind::CustomerServiceCenter
                | huifang_protocol::UnitKind::OfficeDepartment
        )
    });
    if office {
        return Ok(());
    }
    Err(AppError::Forbidden(
        "survey forms are for head office and the property offices".into(),
    ))
}

async fn list(State(state): State<AppState>, caller: Caller) -> AppResult<Json<Vec<SurveyForm>>> {
    require_reader(&caller)?;
    Ok(Json(surveys::list(state.db()).await?))
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<Json<SurveyForm>> {
    require_reader(&caller)?;
    Ok(Json(surveys::get(state.db(), id).await?))
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(content): ApiJson<SurveyContent>,
) -> AppResult<(StatusCode, Json<SurveyForm>)> {
    require_development(&caller)?;
    let form =
        surveys::create(state.db(), state.config().time_zone, &caller, content, None).await?;
    Ok((StatusCode::CREATED, Json(form)))
}

async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(content): ApiJson<SurveyContent>,
) -> AppResult<Json<SurveyForm>> {
    require_development(&caller)?;
    Ok(Json(
        surveys::edit(state.db(), state.config().time_zone, &caller, id, content).await?,
    ))
}

async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<Json<SurveyForm>> {
    require_development(&caller)?;
    Ok(Json(
        surveys::submit(state.db(), state.config().time_zone, &caller, id).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Approval {
    /// The version the general manager read (D-SUR-2).
    content_sha256: String,
}

async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<Approval>,
) -> AppResult<Json<SurveyForm>> {
    Ok(Json(
        surveys::approve(
            state.db(),
            state.config().time_zone,
            &caller,
            id,
            &body.content_sha256,
        )
        .await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DistributeRequest {
    community_ids: Vec<i64>,
    /// RFC 3339; by default 30 days from now.
    due_at: Option<String>,
}

async fn distribute(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<DistributeRequest>,
) -> AppResult<Json<Distribution>> {
    require_development(&caller)?;
    let due_at = match &body.due_at {
        Some(text) => huifang_protocol::parse_time("due_at", text).map_err(AppError::invalid)?,
        None => state.db().now() + chrono::Duration::days(30),
    };
    Ok(Json(
        surveys::distribute(
            state.db(),
            state.config().time_zone,
            &caller,
            id,
            &body.community_ids,
            due_at,
        )
        .await?,
    ))
}

async fn close(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<Json<SurveyForm>> {
    require_development(&caller)?;
    Ok(Json(
        surveys::close(state.db(), state.config().time_zone, &caller, id).await?,
    ))
}

/// A new draft version with the same questions, to change a frozen form.
async fn revise(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<(StatusCode, Json<SurveyForm>)> {
    require_development(&caller)?;
    let form = surveys::get(state.db(), id).await?;
    let revised = surveys::create(
        state.db(),
        state.config().time_zone,
        &caller,
        form.content,
        Some(id),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(revised)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerSheet {
    follow_up_id: String,
    channel: SurveyChannel,
    answers: Vec<SurveyAnswer>,
}

async fn respond(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<AnswerSheet>,
) -> AppResult<(StatusCode, Json<surveys::StoredResponse>)> {
    let stored = surveys::answer(
        state.db(),
        state.config().time_zone,
        &caller,
        id,
        &body.follow_up_id,
        body.channel,
        &body.answers,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(stored)))
}

async fn report_json(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<Json<SurveyReport>> {
    require_reader(&caller)?;
    Ok(Json(report::build(state.db(), id).await?))
}

async fn report_xlsx(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    require_reader(&caller)?;
    let report = report::build(state.db(), id).await?;
    let bytes = super::workbook::to_xlsx(&report)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("writing the survey report: {e}")))?;
    let name = format!("survey-{}-v{}.xlsx", report.form.year, report.form.version);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

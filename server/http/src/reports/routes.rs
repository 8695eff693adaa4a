//! `/api/v1/reports`: the figures of D-STA-2 for head office (every unit) and unit heads (their
//! own units), and the monthly submissions of R-STA-2.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use huifang_protocol::Role;
use serde::Deserialize;

use axum::response::{IntoResponse, Response};

use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::exports::{self, FileFormat};
use crate::extract::{ApiJson, ApiQuery};
use crate::registry::RegistryStore;
use crate::state::AppState;
use huifang_core::plans::Month;
use huifang_core::reports::figures::{self, FiguresReport, GroupBy};
use huifang_core::reports::submissions::{self, Submission, SubmissionOverview};
use huifang_core::reports::{analyses, bulletin};
use huifang_protocol::Lang;
use huifang_store::scope::WorkScope;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reports/figures", get(show_figures))
        .route(
            "/reports/submissions/{month}",
            get(show_submissions).post(submit),
        )
        .route(
            "/reports/submissions/{month}/{unit_id}",
            get(show_submission),
        )
        .route("/reports/bulletin/{month}", get(show_bulletin))
        .route("/reports/analyses", get(list_analyses).post(write_analysis))
        .route("/reports/analyses/{id}", get(show_analysis))
        .route("/reports/measures", get(list_measures))
}

/// The units whose analyses and measures the caller reads: `None` for head office (all), a unit
/// head's own units otherwise.
pub(crate) async fn analysis_scope(
    state: &AppState,
    caller: &Caller,
) -> Result<Option<Vec<i64>>, AppError> {
    match readable_unit(caller, None)? {
        None => Ok(None),
        Some(unit) => Ok(Some(
            RegistryStore::new(state.db().clone())
                .unit_and_below(unit)
                .await?,
        )),
    }
}

async fn write_analysis(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<analyses::NewAnalysis>,
) -> AppResult<(StatusCode, Json<analyses::Analysis>)> {
    let unit = analyses::writing_unit(&caller)?;
    let written =
        analyses::write(state.db(), state.config().time_zone, &caller, unit, body).await?;
    Ok((StatusCode::CREATED, Json(written)))
}

async fn list_analyses(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<Json<Vec<analyses::AnalysisSummary>>> {
    let units = analysis_scope(&state, &caller).await?;
    Ok(Json(analyses::list(state.db(), units.as_deref()).await?))
}

async fn show_analysis(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<Json<analyses::Analysis>> {
    let units = analysis_scope(&state, &caller).await?;
    let analysis = analyses::get(state.db(), id).await?;
    if units.is_some_and(|units| !units.contains(&analysis.unit_id)) {
        return Err(AppError::NotFound(format!("no analysis report {id}")));
    }
    Ok(Json(analysis))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MeasuresQuery {
    #[serde(default)]
    open: bool,
}

async fn list_measures(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<MeasuresQuery>,
) -> AppResult<Json<Vec<analyses::Measure>>> {
    let units = analysis_scope(&state, &caller).await?;
    Ok(Json(
        analyses::measures(state.db(), units.as_deref(), query.open).await?,
    ))
}

/// The bulletin is published to head office and every unit head (R-STA-1).
pub(crate) fn require_bulletin_reader(caller: &Caller) -> Result<(), AppError> {
    if caller.work_scope() == WorkScope::All || caller.role == Role::UnitHead {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "the Service Bulletin is for head office and unit heads".into(),
        ))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LangQuery {
    lang: Option<String>,
}

/// `GET /reports/bulletin/2026-11` (JSON), `…/2026-11.xlsx` or `…/2026-11.csv` (the unit
/// table), in Chinese or with `?lang=en` in English.
#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn show_bulletin(
    State(state): State<AppState>,
    caller: Caller,
    Path(file): Path<String>,
    ApiQuery(query): ApiQuery<LangQuery>,
) -> AppResult<Response> {
    require_bulletin_reader(&caller)?;
    let (month, format) = exports::split_file_name(&file)?;
    let month = parse_month(month)?;
    let bulletin = bulletin::build(state.db(), state.config().time_zone, month).await?;
    let Some(format) = format else {
        return Ok(Json(bulletin).into_response());
    };
    let lang = Lang::parse(query.lang.as_deref().unwrap_or_default());
    let mut tables = crate::reports::tables::tables(&bulletin, lang);
    if format == FileFormat::Csv {
        // A CSV file holds one table: the per-unit one.
        tables.swap(0, 1);
    }
    exports::download(&format!("service-bulletin-{month}"), format, &tables)
}

/// Whose figures the caller may read: `None` for head office's company-wide view, else one unit
/// (with the units under it): the one asked for, or a unit head's own.
pub(crate) fn readable_unit(caller: &Caller, asked: Option<i64>) -> Result<Option<i64>, AppError> {
    match caller.work_scope() {
        WorkScope::All => Ok(asked),
        WorkScope::Units { units, .. } if caller.role == Role::UnitHead => {
            match asked.or(caller.unit.map(|u| u.id)) {
                Some(id) if units.contains(&id) => Ok(Some(id)),
                _ => Err(AppError::Forbidden(
                    "a unit head sees the figures of their own units".into(),
                )),
            }
        }
        WorkScope::Units { .. } => Err(AppError::Forbidden(
            "figures are for head office and unit heads".into(),
        )),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FiguresQuery {
    from: Month,
    to: Option<Month>,
    #[serde(default = "default_group")]
    by: GroupBy,
    unit_id: Option<i64>,
}

fn default_group() -> GroupBy {
    GroupBy::Total
}

#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn show_figures(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<FiguresQuery>,
) -> AppResult<Json<FiguresReport>> {
    let to = query.to.unwrap_or(query.from);
    let units = match readable_unit(&caller, query.unit_id)? {
        Some(unit) => Some(
            RegistryStore::new(state.db().clone())
                .unit_and_below(unit)
                .await?,
        ),
        None => None,
    };
    Ok(Json(
        figures::compute(state.db(), query.from, to, query.by, units.as_deref()).await?,
    ))
}

fn parse_month(text: &str) -> Result<Month, AppError> {
    text.parse().map_err(AppError::invalid)
}

/// Head office sees every unit that must submit; the head of such a unit sees their own.
#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn show_submissions(
    State(state): State<AppState>,
    caller: Caller,
    Path(month): Path<String>,
) -> AppResult<Json<SubmissionOverview>> {
    let month = parse_month(&month)?;
    let only = match caller.work_scope() {
        WorkScope::All => None,
        WorkScope::Units { .. } => Some(submissions::submitting_unit(&caller, None)?),
    };
    Ok(Json(
        submissions::overview(state.db(), state.config().time_zone, month, only).await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitBody {
    unit_id: Option<i64>,
    #[serde(default)]
    note: String,
}

#[tracing::instrument(skip(state, caller, body), fields(caller = caller.staff_id))]
async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    Path(month): Path<String>,
    ApiJson(body): ApiJson<SubmitBody>,
) -> AppResult<(StatusCode, Json<Submission>)> {
    let month = parse_month(&month)?;
    let unit_id = submissions::submitting_unit(&caller, body.unit_id)?;
    let submission = submissions::submit(
        state.db(),
        state.config().time_zone,
        &caller,
        month,
        unit_id,
        body.note,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(submission)))
}

#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn show_submission(
    State(state): State<AppState>,
    caller: Caller,
    Path((month, unit_id)): Path<(String, i64)>,
) -> AppResult<Json<Submission>> {
    let month = parse_month(&month)?;
    if caller.work_scope() != WorkScope::All {
        submissions::submitting_unit(&caller, Some(unit_id))?;
    }
    submissions::find(state.db(), month, unit_id)
        .await?
        .map(Json)
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "unit {unit_id} has not submitted {month}'s figures"
            ))
        })
}

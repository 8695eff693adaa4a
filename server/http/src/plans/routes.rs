//! `/api/v1/plans`: a month's routine plan with its progress (everyone, within their scope), the
//! planned households with their reasons, a preview or generation by head office, and the quota
//! rates for administrators (R-GOV-1).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use huifang_protocol::{Page, Role, UnitKind};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::registry::page_request;
use crate::state::AppState;
use huifang_core::plans::month::Month;
use huifang_core::plans::planner::MonthPlan;
use huifang_core::plans::quotas::QuotaSettings;
use huifang_core::plans::store::{self, MonthProgress, PlannedFilter, PlannedHousehold};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/plans/{month}", get(show).post(generate))
        .route("/plans/{month}/households", get(households))
        .route("/admin/quotas", get(get_quotas).put(put_quotas))
}

fn parse_month(text: &str) -> Result<Month, AppError> {
    text.parse().map_err(AppError::invalid)
}

/// Plans are head office's: administrators, the general manager and the development
/// department's head (who compiles the company's follow-up work, R-STA-1).
fn require_planner(caller: &Caller) -> Result<(), AppError> {
    let development_head = caller.role == Role::UnitHead
        && caller
            .unit
            .is_some_and(|unit| unit.kind == UnitKind::DevelopmentDepartment);
    if matches!(caller.role, Role::Admin | Role::GeneralManager) || development_head {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only administrators, the general manager and the development department's head \
             preview or generate routine plans"
                .into(),
        ))
    }
}

#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(month): Path<String>,
) -> AppResult<Json<MonthProgress>> {
    let month = parse_month(&month)?;
    store::progress(state.db(), &caller.work_scope(), month)
        .await?
        .map(Json)
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "the routine plan for {month} has not been generated; POST with \
                 {{\"dry_run\": true}} to preview it"
            ))
        })
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GenerateRequest {
    /// Decide and show the plan, writing nothing.
    #[serde(default)]
    dry_run: bool,
}

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum GenerateAnswer {
    Preview(MonthPlan),
    Generated(huifang_core::plans::Generated),
}

#[tracing::instrument(skip(state, caller, body), fields(caller = caller.staff_id))]
async fn generate(
    State(state): State<AppState>,
    caller: Caller,
    Path(month): Path<String>,
    ApiJson(body): ApiJson<GenerateRequest>,
) -> AppResult<(StatusCode, Json<GenerateAnswer>)> {
    require_planner(&caller)?;
    let month = parse_month(&month)?;
    let time_zone = state.config().time_zone;
    huifang_core::plans::check_plannable(month, state.db().now(), time_zone)?;
    if body.dry_run {
        let plan = huifang_core::plans::preview(state.db(), time_zone, month).await?;
        return Ok((StatusCode::OK, Json(GenerateAnswer::Preview(plan))));
    }
    let generated =
        huifang_core::plans::generate(state.db(), time_zone, caller.audit_actor(), month).await?;
    let status = if generated.stored.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(GenerateAnswer::Generated(generated))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HouseholdsQuery {
    unit_id: Option<i64>,
    staff_id: Option<i64>,
    household_id: Option<i64>,
    limit: Option<u32>,
    offset: Option<u64>,
}

#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn households(
    State(state): State<AppState>,
    caller: Caller,
    Path(month): Path<String>,
    ApiQuery(query): ApiQuery<HouseholdsQuery>,
) -> AppResult<Json<Page<PlannedHousehold>>> {
    let month = parse_month(&month)?;
    let page = page_request(query.limit, query.offset)?;
    let filter = PlannedFilter {
        unit_id: query.unit_id,
        staff_id: query.staff_id,
        household_id: query.household_id,
    };
    Ok(Json(
        store::planned_households(state.db(), &caller.work_scope(), month, &filter, page).await?,
    ))
}

#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn get_quotas(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<Json<QuotaSettings>> {
    caller.require_role(&[Role::Admin, Role::GeneralManager])?;
    Ok(Json(store::load_settings(state.db()).await?))
}

#[tracing::instrument(skip(state, caller, body), fields(caller = caller.staff_id))]
async fn put_quotas(
    State(state): State<AppState>,
    crate::auth::Administrator(caller): crate::auth::Administrator,
    ApiJson(body): ApiJson<QuotaSettings>,
) -> AppResult<Json<QuotaSettings>> {
    store::store_settings(
        state.db(),
        state.config().time_zone,
        caller.audit_actor(),
        &body,
    )
    .await?;
    Ok(Json(body))
}

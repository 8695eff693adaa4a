//! `/api/v1/reports`: the figures of D-STA-2 for head office (every unit) and unit heads
//! (their own units).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use huifang_protocol::Role;
use serde::Deserialize;

use super::figures::{self, FiguresReport, GroupBy};
use crate::app::AppState;
use crate::auth::{Caller, WorkScope};
use crate::error::{AppError, AppResult};
use crate::extract::ApiQuery;
use crate::plans::Month;

pub fn router() -> Router<AppState> {
    Router::new().route("/reports/figures", get(show_figures))
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
    let unit = match caller.work_scope() {
        WorkScope::All => query.unit_id,
        WorkScope::Units { units, .. } if caller.role == Role::UnitHead => {
            let unit = query.unit_id.or(caller.unit.map(|u| u.id));
            match unit {
                Some(id) if units.contains(&id) => Some(id),
                _ => {
                    return Err(AppError::Forbidden(
                        "a unit head sees the figures of their own units".into(),
                    ));
                }
            }
        }
        WorkScope::Units { .. } => {
            return Err(AppError::Forbidden(
                "figures are for head office and unit heads".into(),
            ));
        }
    };
    Ok(Json(
        figures::compute(state.db(), query.from, to, query.by, unit).await?,
    ))
}

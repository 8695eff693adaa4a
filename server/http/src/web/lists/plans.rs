//! `/app/plans`: a month's routine plan and how far each person has got.

use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::*;

#[derive(Deserialize)]
pub struct PlanQuery {
    month: Option<String>,
    format: Option<String>,
}

/// Routine plan progress of a month, per plan, as the viewer may see it.
pub async fn plans(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<PlanQuery>,
) -> WebResult<Response> {
    let lang = viewer.lang;
    let tz = state.config().time_zone;
    let format = format_of(&query.format, lang)?;
    let month = match query.month.as_deref().filter(|m| !m.is_empty()) {
        Some(m) => m
            .parse::<Month>()
            .map_err(AppError::invalid)
            .in_lang(lang)?,
        None => Month::of(state.db().now(), tz),
    };
    let progress =
        huifang_core::plans::store::progress(state.db(), &viewer.caller.work_scope(), month)
            .await
            .in_lang(lang)?;
    let staff = names(&state, Named::Staff).await.in_lang(lang)?;
    let mut table = Table::new(
        lang.pick("例行回访进度", "Routine plan progress"),
        &[
            lang.pick("单位", "Unit"),
            lang.pick("置业顾问", "Consultant"),
            lang.pick("规则", "Rule"),
            lang.pick("户数", "Households"),
            lang.pick("配额", "Quota"),
            lang.pick("已计划", "Planned"),
            lang.pick("已完成", "Done"),
            lang.pick("无法联系", "Unreachable"),
            lang.pick("逾期", "Overdue"),
            lang.pick("完成率", "Done rate"),
            lang.pick("说明", "Explanation"),
        ],
    );
    let mut note = None;
    match &progress {
        Some(progress) => {
            for plan in &progress.plans {
                table.push(vec![
                    Cell::text(&plan.unit_name),
                    Cell::text(name_of(
                        &staff,
                        (plan.staff_id != 0).then_some(plan.staff_id),
                    )),
                    Cell::text(&plan.rule),
                    Cell::Int(plan.households),
                    Cell::Int(plan.quota),
                    Cell::Int(plan.planned),
                    Cell::Int(plan.done),
                    Cell::Int(plan.unreachable),
                    Cell::Int(plan.overdue),
                    Cell::optional_percent(huifang_core::reports::figures::ratio(
                        plan.done,
                        plan.planned,
                    )),
                    Cell::text(match lang {
                        Lang::Zh if !plan.explanation_zh.is_empty() => &plan.explanation_zh,
                        _ => &plan.explanation,
                    }),
                ]);
            }
        }
        None => {
            note = Some(
                lang.pick(
                    "该月尚未生成例行回访计划。",
                    "No routine plan for this month yet.",
                )
                .to_owned(),
            );
        }
    }
    let total = table.rows.len() as i64;
    let month_text = Some(month.to_string());
    let listing = Listing {
        title: format!("{} · {month}", lang.pick("例行回访", "Routine follow-ups")),
        action: "/app/plans",
        active: "/app/plans",
        file_stem: format!("routine-plans-{month}"),
        filters: vec![Filter::month(
            "month",
            lang.pick("月份", "Month"),
            &month_text,
            MonthChoices {
                current: Month::of(state.db().now(), state.config().time_zone),
                lang,
                all: false,
            },
        )],
        note,
    };
    respond(&viewer, listing, table, total, 0, format)
}

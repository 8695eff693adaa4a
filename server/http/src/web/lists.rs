//! The dashboard's lists — sheets, follow-ups, the overdue list, routine plan progress, survey
//! forms — with filters, paging and CSV/XLSX downloads of everything the filters select.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono_tz::Tz;
use huifang_protocol::{
    ComplaintLevel, FollowUpKind, FollowUpStatus, Labelled, SheetCategory, SheetStatus, mask_phone,
};
use serde::Deserialize;

use super::{Chrome, InLang, Viewer, WebResult, encode, render};
use crate::auth::Caller;
use crate::error::AppError;
use crate::exports::{self, Cell, FileFormat, Table};
use crate::registry::PageRequest;
use crate::state::AppState;
use huifang_core::plans::Month;
use huifang_protocol::Lang;
use huifang_store::followups::{FollowUpFilter, FollowUpView};
use huifang_store::scope::WorkScope;
use huifang_store::sheets::SheetFilter;

/// Rows on one page of a list.
const PAGE_ROWS: u32 = 100;
/// The most rows a download holds (a larger selection is cut, and the page says so).
const EXPORT_ROWS: u32 = 50_000;

/// One choice of a select filter.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A filter of a list: a text box, a month picker, or a select when it has choices.
pub struct Filter {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    pub input: &'static str,
    pub choices: Vec<Choice>,
}

impl Filter {
    fn text(name: &'static str, label: &'static str, value: &Option<String>) -> Self {
        Filter {
            name,
            label,
            value: value.clone().unwrap_or_default(),
            input: "text",
            choices: Vec::new(),
        }
    }

    fn month(name: &'static str, label: &'static str, value: &Option<String>) -> Self {
        Filter {
            input: "month",
            ..Filter::text(name, label, value)
        }
    }

    /// A select over a labelled enum, with "all" first.
    fn select<L: Labelled>(
        name: &'static str,
        label: &'static str,
        value: &Option<String>,
        lang: Lang,
    ) -> Self {
        let current = value.clone().unwrap_or_default();
        let mut choices = vec![Choice {
            value: String::new(),
            label: lang.pick("全部", "All").to_owned(),
            selected: current.is_empty(),
        }];
        choices.extend(L::ALL.iter().map(|v| Choice {
            value: v.code().to_owned(),
            label: lang.label(*v).to_owned(),
            selected: v.code() == current,
        }));
        Filter {
            name,
            label,
            value: current,
            input: "select",
            choices,
        }
    }
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage {
    chrome: Chrome,
    title: String,
    action: &'static str,
    filters: Vec<Filter>,
    table: Table,
    total: i64,
    first: u64,
    last: u64,
    previous: Option<String>,
    next: Option<String>,
    export_csv: String,
    export_xlsx: String,
    note: Option<String>,
}

/// Parses an optional code from a select ("" means all).
fn code<L: Labelled>(value: &Option<String>, lang: Lang) -> WebResult<Option<L>> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .map(|v| L::parse_code_or_label(v).map_err(|e| AppError::invalid(e.to_string())))
        .transpose()
        .in_lang(lang)
}

/// The query string of the filters in force (without page and format).
fn query_of(filters: &[Filter]) -> String {
    filters
        .iter()
        .filter(|f| !f.value.is_empty())
        .map(|f| format!("{}={}", f.name, encode(&f.value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// What a list page needs beyond its rows.
struct Listing {
    title: String,
    action: &'static str,
    active: &'static str,
    file_stem: String,
    filters: Vec<Filter>,
    note: Option<String>,
}

/// Renders a list page, or the download asked for.
fn respond(
    viewer: &Viewer,
    listing: Listing,
    table: Table,
    total: i64,
    page: u64,
    format: Option<FileFormat>,
) -> WebResult<Response> {
    let lang = viewer.lang;
    if let Some(format) = format {
        return exports::download(&listing.file_stem, format, &[table]).in_lang(lang);
    }
    let query = query_of(&listing.filters);
    let link = |extra: String| {
        let joined = [query.as_str(), extra.as_str()]
            .iter()
            .filter(|p| !p.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("&");
        format!("{}?{joined}", listing.action)
    };
    let first = page * u64::from(PAGE_ROWS);
    let shown = table.rows.len() as u64;
    let note = match (total as u64 > u64::from(EXPORT_ROWS), listing.note) {
        (true, note) => Some(format!(
            "{}{}",
            note.map(|n| format!("{n} ")).unwrap_or_default(),
            lang.pick(
                "下载最多包含 50000 行，请缩小筛选范围。",
                "Downloads hold at most 50,000 rows; narrow the filters."
            )
        )),
        (false, note) => note,
    };
    render(
        &ListPage {
            chrome: Chrome::new(viewer, listing.active, &link(format!("page={page}"))),
            title: listing.title,
            action: listing.action,
            table,
            total,
            first: if shown == 0 { 0 } else { first + 1 },
            last: first + shown,
            previous: (page > 0).then(|| link(format!("page={}", page - 1))),
            next: (first + shown < total as u64).then(|| link(format!("page={}", page + 1))),
            export_csv: link("format=csv".into()),
            export_xlsx: link("format=xlsx".into()),
            filters: listing.filters,
            note,
        },
        lang,
    )
}

fn page_request(page: u64, format: Option<FileFormat>) -> PageRequest {
    match format {
        Some(_) => PageRequest {
            limit: EXPORT_ROWS,
            offset: 0,
        },
        None => PageRequest {
            limit: PAGE_ROWS,
            offset: page.saturating_mul(u64::from(PAGE_ROWS)),
        },
    }
}

fn format_of(asked: &Option<String>, lang: Lang) -> WebResult<Option<FileFormat>> {
    asked
        .as_deref()
        .filter(|f| !f.is_empty())
        .map(FileFormat::parse)
        .transpose()
        .in_lang(lang)
}

/// A stored time as the company reads it: `YYYY-MM-DD HH:MM` in its time zone.
fn local_time(text: &str, tz: Tz) -> String {
    huifang_protocol::local_time_of(text, &tz)
}

/// Ids to names, for units and staff.
async fn names(state: &AppState, table: &str) -> Result<HashMap<i64, String>, AppError> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT id, name FROM {table}")))
            .fetch_all(state.db().pool())
            .await?;
    Ok(rows.into_iter().collect())
}

fn name_of(names: &HashMap<i64, String>, id: Option<i64>) -> String {
    id.and_then(|id| names.get(&id).cloned())
        .unwrap_or_default()
}

/// Phone numbers as the viewer may see them: whole for those who call customers, otherwise
/// masked (138****1234).
fn phone_for(caller: &Caller, phone: &str) -> String {
    if caller.sees_customer_phones() {
        phone.to_owned()
    } else {
        mask_phone(phone)
    }
}

#[derive(Deserialize)]
pub struct SheetQuery {
    month: Option<String>,
    status: Option<String>,
    level: Option<String>,
    category: Option<String>,
    q: Option<String>,
    #[serde(default)]
    page: u64,
    format: Option<String>,
}

/// Customer information sheets in the viewer's scope.
pub async fn sheets(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<SheetQuery>,
) -> WebResult<Response> {
    let lang = viewer.lang;
    let tz = state.config().time_zone;
    let format = format_of(&query.format, lang)?;
    let month = query
        .month
        .as_deref()
        .filter(|m| !m.is_empty())
        .map(|m| m.parse::<Month>().map_err(AppError::invalid))
        .transpose()
        .in_lang(lang)?;
    let filter = SheetFilter {
        text: crate::registry::search_text(query.q.clone()).in_lang(lang)?,
        search_phones: viewer.caller.sees_customer_phones(),
        level: code::<ComplaintLevel>(&query.level, lang)?,
        category: code::<SheetCategory>(&query.category, lang)?,
        status: code::<SheetStatus>(&query.status, lang)?,
        from: month.map(|m| huifang_protocol::format_time(m.start(tz))),
        to: month.map(|m| huifang_protocol::format_time(m.end(tz))),
        ..SheetFilter::default()
    };
    let scope = viewer.caller.work_scope();
    let found = huifang_store::sheets::list(
        state.db(),
        &scope,
        &filter,
        page_request(query.page, format),
    )
    .await
    .in_lang(lang)?;
    let units = names(&state, "units").await.in_lang(lang)?;
    let staff = names(&state, "staff").await.in_lang(lang)?;
    let mut table = Table::new(
        lang.pick("客户信息单", "Sheets"),
        &[
            lang.pick("编号", "Number"),
            lang.pick("受理时间", "Accepted"),
            lang.pick("客户", "Customer"),
            lang.pick("电话", "Phone"),
            lang.pick("地址", "Address"),
            lang.pick("投诉级别", "Level"),
            lang.pick("类别", "Category"),
            lang.pick("状态", "Status"),
            lang.pick("受理单位", "Accepted by unit"),
            lang.pick("受理人", "Accepted by"),
            lang.pick("内容", "Summary"),
        ],
    );
    for sheet in &found.items {
        table.push(vec![
            Cell::text(sheet.number.clone().unwrap_or_default()),
            Cell::text(local_time(&sheet.accepted_at, tz)),
            Cell::text(&sheet.customer_name),
            Cell::text(phone_for(&viewer.caller, &sheet.contact_phone)),
            Cell::text(&sheet.customer_address),
            Cell::text(lang.label_of::<ComplaintLevel>(&sheet.level)),
            Cell::text(lang.label_of::<SheetCategory>(&sheet.category)),
            Cell::text(lang.label_of::<SheetStatus>(&sheet.status)),
            Cell::text(name_of(&units, Some(sheet.accepting_unit_id))),
            Cell::text(name_of(&staff, Some(sheet.accepted_by))),
            Cell::text(&sheet.summary),
        ]);
    }
    let listing = Listing {
        title: lang
            .pick("客户信息单", "Customer information sheets")
            .to_owned(),
        action: "/app/sheets",
        active: "/app/sheets",
        file_stem: "sheets".into(),
        filters: vec![
            Filter::month("month", lang.pick("受理月份", "Accepted in"), &query.month),
            Filter::select::<SheetStatus>(
                "status",
                lang.pick("状态", "Status"),
                &query.status,
                lang,
            ),
            Filter::select::<ComplaintLevel>(
                "level",
                lang.pick("投诉级别", "Level"),
                &query.level,
                lang,
            ),
            Filter::select::<SheetCategory>(
                "category",
                lang.pick("类别", "Category"),
                &query.category,
                lang,
            ),
            Filter::text("q", lang.pick("搜索", "Search"), &query.q),
        ],
        note: None,
    };
    respond(&viewer, listing, table, found.total, query.page, format)
}

#[derive(Deserialize)]
pub struct FollowUpQuery {
    status: Option<String>,
    kind: Option<String>,
    #[serde(default)]
    page: u64,
    format: Option<String>,
}

/// Which follow-ups a viewer's lists show: all for head office, their units' for a unit head,
/// their own otherwise.
fn follow_up_view(caller: &Caller) -> FollowUpView {
    match caller.work_scope() {
        WorkScope::All => FollowUpView::All,
        WorkScope::Units { units, .. } if caller.role == huifang_protocol::Role::UnitHead => {
            FollowUpView::Units(units)
        }
        WorkScope::Units { staff_id, .. } => FollowUpView::Mine {
            staff_id,
            unit_id: caller.unit.map(|u| u.id),
        },
    }
}

/// Follow-ups in the viewer's scope.
pub async fn follow_ups(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<FollowUpQuery>,
) -> WebResult<Response> {
    follow_up_list(state, viewer, query, false).await
}

/// Follow-ups whose deadline passed without them being done.
pub async fn overdue(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<FollowUpQuery>,
) -> WebResult<Response> {
    follow_up_list(state, viewer, query, true).await
}

async fn follow_up_list(
    state: AppState,
    viewer: Viewer,
    query: FollowUpQuery,
    overdue_only: bool,
) -> WebResult<Response> {
    let lang = viewer.lang;
    let tz = state.config().time_zone;
    let format = format_of(&query.format, lang)?;
    let filter = FollowUpFilter {
        status: code::<FollowUpStatus>(&query.status, lang)?,
        kind: code::<FollowUpKind>(&query.kind, lang)?,
        overdue: overdue_only.then_some(true),
        ..FollowUpFilter::default()
    };
    let found = huifang_store::followups::list(
        state.db(),
        &follow_up_view(&viewer.caller),
        &filter,
        page_request(query.page, format),
    )
    .await
    .in_lang(lang)?;
    let units = names(&state, "units").await.in_lang(lang)?;
    let staff = names(&state, "staff").await.in_lang(lang)?;
    let mut table = Table::new(
        lang.pick("回访", "Follow-ups"),
        &[
            lang.pick("客户", "Customer"),
            lang.pick("回访类型", "Kind"),
            lang.pick("回访单位", "Unit"),
            lang.pick("回访人", "Assignee"),
            lang.pick("状态", "Status"),
            lang.pick("应回访时间", "Due"),
            lang.pick("完成时间", "Done"),
            lang.pick("按时", "On time"),
            lang.pick("总体满意度", "Overall satisfaction"),
            lang.pick("逾期时间", "Overdue since"),
        ],
    );
    for f in &found.items {
        table.push(vec![
            Cell::text(&f.customer_name),
            Cell::text(lang.label_of::<FollowUpKind>(&f.kind)),
            Cell::text(name_of(&units, Some(f.assignee_unit_id))),
            Cell::text(name_of(&staff, f.assignee_staff_id)),
            Cell::text(lang.label_of::<FollowUpStatus>(&f.status)),
            Cell::text(local_time(&f.due_at, tz)),
            Cell::text(
                f.done_at
                    .as_deref()
                    .map(|t| local_time(t, tz))
                    .unwrap_or_default(),
            ),
            Cell::text(match f.done_on_time {
                Some(1) => lang.pick("是", "yes"),
                Some(_) => lang.pick("否", "no"),
                None => "",
            }),
            f.rating_overall.map_or(Cell::Empty, Cell::Int),
            Cell::text(
                f.overdue_at
                    .as_deref()
                    .map(|t| local_time(t, tz))
                    .unwrap_or_default(),
            ),
        ]);
    }
    let (title, action, stem) = if overdue_only {
        (
            lang.pick("逾期回访", "Overdue follow-ups"),
            "/app/overdue",
            "overdue-follow-ups",
        )
    } else {
        (
            lang.pick("回访", "Follow-ups"),
            "/app/follow-ups",
            "follow-ups",
        )
    };
    let listing = Listing {
        title: title.to_owned(),
        action,
        active: action,
        file_stem: stem.into(),
        filters: vec![
            Filter::select::<FollowUpStatus>(
                "status",
                lang.pick("状态", "Status"),
                &query.status,
                lang,
            ),
            Filter::select::<FollowUpKind>(
                "kind",
                lang.pick("回访类型", "Kind"),
                &query.kind,
                lang,
            ),
        ],
        note: None,
    };
    respond(&viewer, listing, table, found.total, query.page, format)
}

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
    let staff = names(&state, "staff").await.in_lang(lang)?;
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
                    Cell::text(&plan.explanation),
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
        )],
        note,
    };
    respond(&viewer, listing, table, total, 0, format)
}

#[derive(Template)]
#[template(path = "surveys.html")]
struct SurveysPage {
    chrome: Chrome,
    forms: Vec<FormLine>,
    can_approve: bool,
}

pub struct FormLine {
    pub id: i64,
    pub year: i64,
    pub version: i64,
    pub title: String,
    pub status: String,
    pub status_code: &'static str,
    pub questions: usize,
    pub sha256: String,
    pub approve_body: String,
    pub has_report: bool,
}

/// Survey forms and their workflow; the general manager approves submitted ones here.
pub async fn surveys(State(state): State<AppState>, viewer: Viewer) -> WebResult<Response> {
    let lang = viewer.lang;
    let caller = &viewer.caller;
    let development = huifang_core::surveys::require_development(caller).is_ok();
    if !(caller.role == huifang_protocol::Role::GeneralManager || development) {
        return Err(super::WebError {
            error: AppError::Forbidden(
                "survey forms are drafted by the development department and approved by the \
                 general manager (R-SUR-2)"
                    .into(),
            ),
            lang,
        });
    }
    let forms = huifang_core::surveys::list(state.db())
        .await
        .in_lang(lang)?;
    let lines = forms
        .into_iter()
        .map(|form| {
            let status_code = form.status.code();
            FormLine {
                id: form.id,
                year: form.year,
                version: form.version,
                title: form.content.title.clone(),
                status: survey_status(status_code, lang).to_owned(),
                status_code,
                questions: form.content.questions.len(),
                approve_body: serde_json::json!({ "content_sha256": form.content_sha256 })
                    .to_string(),
                sha256: form.content_sha256.chars().take(12).collect(),
                has_report: matches!(status_code, "distributed" | "closed"),
            }
        })
        .collect();
    render(
        &SurveysPage {
            chrome: Chrome::new(&viewer, "/app/surveys", "/app/surveys"),
            forms: lines,
            can_approve: caller.role == huifang_protocol::Role::GeneralManager,
        },
        lang,
    )
}

fn survey_status(code: &str, lang: Lang) -> &'static str {
    match code {
        "draft" => lang.pick("草稿", "Draft"),
        "submitted" => lang.pick("待审批", "Awaiting approval"),
        "approved" => lang.pick("已批准", "Approved"),
        "distributed" => lang.pick("已发放", "Distributed"),
        _ => lang.pick("已结束", "Closed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_queries_keep_only_what_is_set_and_encode_it() {
        let filters = vec![
            Filter::text("q", "搜索", &Some("陈 志强".into())),
            Filter::text("status", "状态", &None),
            Filter::month("month", "月份", &Some("2026-11".into())),
        ];
        assert_eq!(
            query_of(&filters),
            "q=%E9%99%88%20%E5%BF%97%E5%BC%BA&month=2026-11"
        );
    }
}

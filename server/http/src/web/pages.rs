//! The overview, the Service Bulletin and the submissions pages.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use huifang_protocol::{Role, SheetCategory};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Choice, Chrome, InLang, MonthChoices, Viewer, WebResult, month_label, render};
use crate::exports::{self, Cell, FileFormat, Table};
use crate::registry::RegistryStore;
use crate::state::AppState;
use huifang_core::plans::Month;
use huifang_core::reports::bulletin::{self, Headline, TrendPoint, overall_mean};
use huifang_core::reports::figures::{self, Figures, GroupBy};
use huifang_core::reports::submissions::{self, SubmissionOverview};
use huifang_protocol::Lang;
use huifang_store::scope::WorkScope;

#[derive(Deserialize)]
pub struct MonthQuery {
    month: Option<String>,
    format: Option<String>,
}

/// The month asked for, or the current one in the company's time zone.
fn month_of(state: &AppState, asked: Option<&str>, lang: Lang) -> WebResult<Month> {
    match asked.filter(|m| !m.is_empty()) {
        Some(text) => text
            .parse::<Month>()
            .map_err(crate::error::AppError::invalid)
            .in_lang(lang),
        None => Ok(Month::of(state.db().now(), state.config().time_zone)),
    }
}

fn format_of(asked: Option<&str>, lang: Lang) -> WebResult<Option<FileFormat>> {
    asked
        .filter(|f| !f.is_empty())
        .map(FileFormat::parse)
        .transpose()
        .in_lang(lang)
}

/// The months a page's picker offers, `month` chosen.
fn month_picker(state: &AppState, month: Month, lang: Lang) -> Vec<Choice> {
    MonthChoices {
        current: Month::of(state.db().now(), state.config().time_zone),
        lang,
        all: false,
    }
    .choices(Some(&month.to_string()))
}

/// A headline figure as a card.
pub struct Card {
    pub id: String,
    pub label: &'static str,
    pub value: String,
    pub change: String,
}

fn cards(headline: &[Headline], lang: Lang) -> Vec<Card> {
    headline
        .iter()
        .map(|line| {
            let (value, change) = match line.measure.as_str() {
                "on_time_rate" | "routine_completion_rate" => (
                    line.value
                        .map_or("—".into(), |v| format!("{:.1}%", v * 100.0)),
                    line.change
                        .map(|c| format!("{:+.1} {}", c * 100.0, lang.pick("个百分点", "points"))),
                ),
                "overall_mean" => (
                    line.value.map_or("—".into(), |v| format!("{v:.2}")),
                    line.change.map(|c| format!("{c:+.2}")),
                ),
                _ => (
                    line.value.map_or("0".into(), |v| format!("{v:.0}")),
                    line.change.map(|c| format!("{c:+.0}")),
                ),
            };
            Card {
                id: line.measure.clone(),
                label: crate::reports::tables::measure_label(&line.measure, lang),
                value,
                change: change.map_or_else(String::new, |c| {
                    format!("{} {c}", lang.pick("较上月", "vs last month"))
                }),
            }
        })
        .collect()
}

/// The chart descriptions `app.js` draws with ECharts.
fn trend_chart(trend: &[TrendPoint], lang: Lang) -> Value {
    json!({
        "kind": "bar",
        "title": lang.pick("回访完成与24小时及时率", "Follow-ups done and the 24-hour rate"),
        "labels": trend.iter().map(|p| month_label(p.month, lang)).collect::<Vec<_>>(),
        "series": [
            { "name": lang.pick("已回访", "Done"),
              "values": trend.iter().map(|p| p.follow_ups_done).collect::<Vec<_>>() },
            { "name": lang.pick("24小时及时率", "24-hour rate"), "percent": true, "line": true,
              "values": trend.iter().map(|p| p.on_time_rate.map(|r| (r * 1000.0).round() / 10.0)).collect::<Vec<_>>() },
        ],
    })
}

fn satisfaction_chart(figures: &Figures, lang: Lang) -> Value {
    let labels: Vec<String> = (1..=5)
        .map(|n| format!("{n}{}", lang.pick("分", " points")))
        .collect();
    json!({
        "kind": "pie",
        "title": lang.pick("总体满意度分布", "Overall satisfaction"),
        "labels": labels,
        "series": [{ "name": lang.pick("回访数", "Follow-ups"), "values": figures.overall_distribution }],
    })
}

fn category_chart(by_category: &[Figures], lang: Lang) -> Value {
    let sheets: Vec<&Figures> = by_category
        .iter()
        .filter(|g| g.sheets_accepted > 0)
        .collect();
    json!({
        "kind": "bar",
        "title": lang.pick("信息单类别", "Sheets by category"),
        "labels": sheets.iter().map(|g| lang.label_of::<SheetCategory>(&g.key)).collect::<Vec<_>>(),
        "series": [{ "name": lang.pick("受理", "Accepted"),
                     "values": sheets.iter().map(|g| g.sheets_accepted).collect::<Vec<_>>() }],
    })
}

fn unit_chart(lines: &[(String, Figures)], lang: Lang) -> Value {
    json!({
        "kind": "bar",
        "title": lang.pick("各单位回访", "Follow-ups by unit"),
        "labels": lines.iter().map(|(name, _)| name.clone()).collect::<Vec<_>>(),
        "series": [
            { "name": lang.pick("应回访", "Due"), "values": lines.iter().map(|(_, f)| f.follow_ups_due).collect::<Vec<_>>() },
            { "name": lang.pick("已回访", "Done"), "values": lines.iter().map(|(_, f)| f.follow_ups_done).collect::<Vec<_>>() },
        ],
    })
}

/// JSON safe to place inside a `<script>` element.
fn script_json(value: &Value) -> String {
    value.to_string().replace("</", "<\\/")
}

/// The last day a month's figures may be submitted on time, as the company writes it.
fn last_day(month: Month, state: &AppState) -> String {
    let tz = state.config().time_zone;
    let end = submissions::deadline(month, tz) - chrono::Duration::milliseconds(1);
    end.with_timezone(&tz).format("%Y-%m-%d").to_string()
}

/// Who has not submitted, for the overview's panel.
pub struct SubmissionPanel {
    pub expected: usize,
    pub submitted: usize,
    pub late: usize,
    pub outstanding: Vec<String>,
    pub last_day: String,
    pub deadline_passed: bool,
}

fn panel(overview: &SubmissionOverview, last_day: String) -> SubmissionPanel {
    SubmissionPanel {
        expected: overview.expected,
        submitted: overview.expected - overview.outstanding,
        late: overview.late,
        outstanding: overview
            .units
            .iter()
            .filter(|u| !u.submitted)
            .map(|u| u.unit_name.clone())
            .collect(),
        last_day,
        deadline_passed: overview.deadline_passed,
    }
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    chrome: Chrome,
    month: String,
    /// The month as the reader reads it (`2026年12月`).
    month_label: String,
    months: Vec<Choice>,
    scope: String,
    cards: Vec<Card>,
    charts: String,
    units: Table,
    submissions: Option<SubmissionPanel>,
}

/// This month's figures (or another's) for head office or a unit head's units, with charts.
pub async fn overview(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<MonthQuery>,
) -> WebResult<Response> {
    let lang = viewer.lang;
    let month = month_of(&state, query.month.as_deref(), lang)?;
    let db = state.db();
    let registry = RegistryStore::new(db.clone());
    let unit = crate::reports::readable_unit(&viewer.caller, None).in_lang(lang)?;
    let units = match unit {
        Some(id) => Some(registry.unit_and_below(id).await.in_lang(lang)?),
        None => None,
    };
    let units = units.as_deref();
    let bulletin::RecentMonths {
        this_month: this,
        last_month: last,
        trend,
    } = bulletin::recent_months(db, month, units)
        .await
        .in_lang(lang)?;
    let by_category = figures::compute(db, month, month, GroupBy::Category, units)
        .await
        .in_lang(lang)?;
    let grouping = if unit.is_some() {
        GroupBy::Unit
    } else {
        GroupBy::TopUnit
    };
    let by_unit = figures::compute(db, month, month, grouping, units)
        .await
        .in_lang(lang)?;
    let names = unit_names(&state).await.in_lang(lang)?;
    let lines: Vec<(String, Figures)> = by_unit
        .groups
        .into_iter()
        .map(|g| {
            let name = g
                .key
                .parse::<i64>()
                .ok()
                .and_then(|id| names.iter().find(|(uid, _)| *uid == id))
                .map_or_else(|| g.key.clone(), |(_, name)| name.clone());
            (name, g)
        })
        .collect();

    let mut table = Table::new(
        lang.pick("各单位", "Units"),
        &[
            lang.pick("单位", "Unit"),
            lang.pick("受理", "Accepted"),
            lang.pick("应回访", "Due"),
            lang.pick("已回访", "Done"),
            lang.pick("24小时及时率", "24-hour rate"),
            lang.pick("逾期", "Overdue"),
            lang.pick("无法联系", "Unreachable"),
            lang.pick("总体满意度", "Overall satisfaction"),
            lang.pick("例行计划", "Routine planned"),
            lang.pick("例行完成", "Routine done"),
            lang.pick("例行完成率", "Routine completion"),
        ],
    );
    for (name, f) in &lines {
        table.push(vec![
            Cell::text(name),
            Cell::Int(f.sheets_accepted),
            Cell::Int(f.follow_ups_due),
            Cell::Int(f.follow_ups_done),
            Cell::optional_percent(f.on_time_rate),
            Cell::Int(f.overdue),
            Cell::Int(f.unreachable),
            Cell::optional_number(overall_mean(f)),
            Cell::Int(f.routine_planned),
            Cell::Int(f.routine_done),
            Cell::optional_percent(f.routine_completion_rate),
        ]);
    }
    if let Some(format) = format_of(query.format.as_deref(), lang)? {
        return exports::download(&format!("figures-{month}"), format, &[table]).in_lang(lang);
    }

    let submissions = if viewer.caller.work_scope() == WorkScope::All {
        let overview = submissions::overview(db, state.config().time_zone, month, None)
            .await
            .in_lang(lang)?;
        Some(panel(&overview, last_day(month, &state)))
    } else {
        None
    };
    let charts = json!({
        "trend": trend_chart(&trend, lang),
        "satisfaction": satisfaction_chart(&this, lang),
        "categories": category_chart(&by_category.groups, lang),
        "units": unit_chart(&lines, lang),
        "empty_text": lang.pick("暂无数据", "No data yet"),
    });
    let scope = match unit.and_then(|id| names.iter().find(|(uid, _)| *uid == id)) {
        Some((_, name)) => name.clone(),
        None => lang.pick("全公司", "The whole company").to_owned(),
    };
    render(
        &OverviewPage {
            chrome: Chrome::new(&viewer, "/app", &format!("/app?month={month}")),
            month: month.to_string(),
            month_label: month_label(month, lang),
            months: month_picker(&state, month, lang),
            scope,
            cards: cards(&bulletin::headline(&this, &last), lang),
            charts: script_json(&charts),
            units: table,
            submissions,
        },
        lang,
    )
}

/// Every unit's id and name.
pub async fn unit_names(state: &AppState) -> Result<Vec<(i64, String)>, crate::error::AppError> {
    Ok(huifang_store::registry::names(state.db(), huifang_store::registry::Named::Units).await?)
}

#[derive(Template)]
#[template(path = "bulletin.html")]
struct BulletinPage {
    chrome: Chrome,
    month: String,
    /// The month as the reader reads it (`2026年12月`).
    month_label: String,
    months: Vec<Choice>,
    cards: Vec<Card>,
    charts: String,
    tables: Vec<Table>,
    overdue_total: i64,
    overdue_listed: usize,
    generated: String,
}

/// The Service Bulletin as a printable page, with its XLSX and CSV downloads.
pub async fn bulletin(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<MonthQuery>,
) -> WebResult<Response> {
    let lang = viewer.lang;
    crate::reports::require_bulletin_reader(&viewer.caller).in_lang(lang)?;
    let month = month_of(&state, query.month.as_deref(), lang)?;
    let tz = state.config().time_zone;
    let built = bulletin::build(state.db(), tz, month).await.in_lang(lang)?;
    let tables = crate::reports::tables::tables(&built, lang);
    if let Some(format) = format_of(query.format.as_deref(), lang)? {
        return exports::download(&format!("service-bulletin-{month}"), format, &tables)
            .in_lang(lang);
    }
    let charts = json!({
        "trend": trend_chart(&built.trend, lang),
        "satisfaction": satisfaction_chart(&built.this_month, lang),
        "empty_text": lang.pick("暂无数据", "No data yet"),
    });
    render(
        &BulletinPage {
            chrome: Chrome::new(
                &viewer,
                "/app/bulletin",
                &format!("/app/bulletin?month={month}"),
            ),
            month: month.to_string(),
            month_label: month_label(month, lang),
            months: month_picker(&state, month, lang),
            cards: cards(&built.headline, lang),
            charts: script_json(&charts),
            overdue_total: built.overdue_total,
            overdue_listed: built.overdue.len(),
            tables,
            generated: state
                .db()
                .now()
                .with_timezone(&tz)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
        },
        lang,
    )
}

#[derive(Template)]
#[template(path = "submissions.html")]
struct SubmissionsPage {
    chrome: Chrome,
    month: String,
    /// The month as the reader reads it (`2026年12月`).
    month_label: String,
    months: Vec<Choice>,
    table: Table,
    last_day: String,
    deadline_passed: bool,
    expected: usize,
    outstanding: usize,
    late: usize,
    /// The API path the viewer submits to, when they may and have not yet.
    submit_path: Option<String>,
}

/// Who has and has not submitted a month's figures; the submit button for a unit head.
pub async fn submissions(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<MonthQuery>,
) -> WebResult<Response> {
    let lang = viewer.lang;
    let month = month_of(&state, query.month.as_deref(), lang)?;
    let caller = &viewer.caller;
    let only = match caller.work_scope() {
        WorkScope::All => None,
        WorkScope::Units { .. } => Some(submissions::submitting_unit(caller, None).in_lang(lang)?),
    };
    let overview = submissions::overview(state.db(), state.config().time_zone, month, only)
        .await
        .in_lang(lang)?;
    let mut table = Table::new(
        lang.pick("月报提交", "Submissions"),
        &[
            lang.pick("单位", "Unit"),
            lang.pick("类型", "Kind"),
            lang.pick("状态", "Status"),
            lang.pick("提交人", "Submitted by"),
            lang.pick("提交时间", "Submitted at"),
        ],
    );
    for unit in &overview.units {
        let status = match (unit.submitted, unit.late, unit.missing) {
            (true, true, _) => lang.pick("逾期提交", "Submitted late"),
            (true, false, _) => lang.pick("按时提交", "Submitted on time"),
            (false, _, true) => lang.pick("逾期未交", "Missing"),
            (false, _, false) => lang.pick("未提交", "Not yet submitted"),
        };
        table.push(vec![
            Cell::text(&unit.unit_name),
            Cell::text(lang.label(unit.unit_kind)),
            Cell::text(status),
            Cell::text(unit.submitted_by_name.clone().unwrap_or_default()),
            Cell::text(unit.submitted_at.clone().unwrap_or_default()),
        ]);
    }
    if let Some(format) = format_of(query.format.as_deref(), lang)? {
        return exports::download(&format!("submissions-{month}"), format, &[table]).in_lang(lang);
    }
    let own_pending = caller.role == Role::UnitHead
        && caller.unit.is_some_and(|u| {
            u.kind.submits_monthly_figures()
                && overview
                    .units
                    .iter()
                    .any(|s| s.unit_id == u.id && !s.submitted)
        });
    let current = Month::of(state.db().now(), state.config().time_zone);
    render(
        &SubmissionsPage {
            chrome: Chrome::new(
                &viewer,
                "/app/submissions",
                &format!("/app/submissions?month={month}"),
            ),
            month: month.to_string(),
            month_label: month_label(month, lang),
            months: month_picker(&state, month, lang),
            last_day: last_day(month, &state),
            deadline_passed: overview.deadline_passed,
            expected: overview.expected,
            outstanding: overview.outstanding,
            late: overview.late,
            submit_path: (own_pending && month <= current)
                .then(|| format!("/api/v1/reports/submissions/{month}")),
            table,
        },
        lang,
    )
}

#[derive(Template)]
#[template(path = "analyses.html")]
struct AnalysesPage {
    chrome: Chrome,
    reports: Table,
    measures: Table,
    open_measures: usize,
}

/// Analysis reports and their improvement measures (R-STA-3), newest first; the open measures
/// are what the unit's next report must follow up.
pub async fn analyses(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<MonthQuery>,
) -> WebResult<Response> {
    use huifang_core::reports::analyses;
    let lang = viewer.lang;
    let units = crate::reports::analysis_scope(&state, &viewer.caller)
        .await
        .in_lang(lang)?;
    let reports = analyses::list(state.db(), units.as_deref())
        .await
        .in_lang(lang)?;
    let measures = analyses::measures(state.db(), units.as_deref(), false)
        .await
        .in_lang(lang)?;
    let names = unit_names(&state).await.in_lang(lang)?;
    let mut report_table = Table::new(
        lang.pick("分析报告", "Analysis reports"),
        &[
            lang.pick("单位", "Unit"),
            lang.pick("期间", "Period"),
            lang.pick("标题", "Title"),
            lang.pick("撰写人", "Author"),
            lang.pick("撰写时间", "Written"),
            lang.pick("新措施", "New measures"),
            lang.pick("跟进措施", "Measures followed up"),
        ],
    );
    for report in &reports {
        report_table.push(vec![
            Cell::text(&report.unit_name),
            Cell::text(format!("{} – {}", report.period_from, report.period_to)),
            Cell::text(&report.title),
            Cell::text(&report.author_name),
            Cell::text(&report.created_at),
            Cell::Int(report.measures),
            Cell::Int(report.reviews),
        ]);
    }
    let mut measure_table = Table::new(
        lang.pick("改进措施", "Improvement measures"),
        &[
            lang.pick("单位", "Unit"),
            lang.pick("措施", "Measure"),
            lang.pick("负责人", "Owner"),
            lang.pick("完成期限", "Due"),
            lang.pick("状态", "Status"),
            lang.pick("报告", "Report"),
        ],
    );
    for measure in &measures {
        let unit = names
            .iter()
            .find(|(id, _)| *id == measure.unit_id)
            .map_or_else(String::new, |(_, name)| name.clone());
        measure_table.push(vec![
            Cell::text(unit),
            Cell::text(&measure.description),
            Cell::text(&measure.owner_name),
            Cell::text(measure.due_on.clone().unwrap_or_default()),
            Cell::text(measure.status.label(lang)),
            Cell::Int(measure.report_id),
        ]);
    }
    if let Some(format) = format_of(query.format.as_deref(), lang)? {
        // A CSV file holds one table: the measures, which is what gets followed up.
        let tables = match format {
            FileFormat::Csv => vec![measure_table],
            FileFormat::Xlsx => vec![report_table, measure_table],
        };
        return exports::download("analyses", format, &tables).in_lang(lang);
    }
    render(
        &AnalysesPage {
            chrome: Chrome::new(&viewer, "/app/analyses", "/app/analyses"),
            open_measures: measures.iter().filter(|m| m.status.is_open()).count(),
            reports: report_table,
            measures: measure_table,
        },
        lang,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_the_script_element() {
        let value = json!({ "title": "</script><script>alert(1)</script>" });
        assert!(!script_json(&value).contains("</script>"));
    }

    #[test]
    fn cards_say_the_change_against_last_month() {
        let this = Figures {
            follow_ups_due: 4,
            follow_ups_done: 3,
            on_time_rate: Some(0.5),
            ..Figures::default()
        };
        let last = Figures {
            follow_ups_done: 1,
            on_time_rate: Some(0.25),
            ..Figures::default()
        };
        let cards = cards(&bulletin::headline(&this, &last), Lang::Zh);
        let done = cards.iter().find(|c| c.id == "follow_ups_done").unwrap();
        assert_eq!(
            (done.value.as_str(), done.change.as_str()),
            ("3", "较上月 +2")
        );
        let rate = cards.iter().find(|c| c.id == "on_time_rate").unwrap();
        assert_eq!(rate.value, "50.0%");
        assert_eq!(rate.change, "较上月 +25.0 个百分点");
    }
}

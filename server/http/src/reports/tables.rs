//! The Service Bulletin as people read it: its tables (for the XLSX/CSV downloads and the
//! printable page) and the measures' names, in either language.

use huifang_protocol::{Lang, SheetCategory};

use crate::exports::{Cell, Table};
use huifang_core::reports::bulletin::{Bulletin, overall_mean};

/// A headline measure's name in `lang`.
pub fn measure_label(measure: &str, lang: Lang) -> &'static str {
    match measure {
        "sheets_accepted" => lang.pick("受理信息单", "Sheets accepted"),
        "follow_ups_due" => lang.pick("应回访", "Follow-ups due"),
        "follow_ups_done" => lang.pick("已回访", "Follow-ups done"),
        "on_time_rate" => lang.pick("24小时及时回访率", "24-hour rate"),
        "overall_mean" => lang.pick("总体满意度", "Overall satisfaction"),
        "overdue" => lang.pick("逾期未回访", "Overdue"),
        "unreachable" => lang.pick("无法联系", "Unreachable"),
        "routine_completion_rate" => lang.pick("例行回访完成率", "Routine completion"),
        _ => lang.pick("例行回访完成", "Routine rounds done"),
    }
}

/// The bulletin as tables, for the XLSX download and the printable page.
pub fn tables(bulletin: &Bulletin, lang: Lang) -> Vec<Table> {
    let mut headline = Table::new(
        lang.pick("本月概况", "Headline"),
        &[
            lang.pick("指标", "Measure"),
            &format!("{}", bulletin.month),
            &format!("{}", bulletin.month.previous()),
            lang.pick("变化", "Change"),
        ],
    );
    for line in &bulletin.headline {
        let cell = |value: Option<f64>| match (line.measure.as_str(), value) {
            ("on_time_rate" | "routine_completion_rate", v) => Cell::optional_percent(v),
            ("overall_mean", v) => Cell::optional_number(v),
            (_, Some(v)) => Cell::Int(v as i64),
            (_, None) => Cell::Empty,
        };
        headline.push(vec![
            Cell::text(measure_label(&line.measure, lang)),
            cell(line.value),
            cell(line.previous),
            cell(line.change),
        ]);
    }

    let mut units = Table::new(
        lang.pick("各单位", "Units"),
        &[
            lang.pick("单位", "Unit"),
            lang.pick("受理", "Accepted"),
            lang.pick("有效", "Valid"),
            lang.pick("已处理", "Handled"),
            lang.pick("应回访", "Due"),
            lang.pick("已回访", "Done"),
            lang.pick("24小时及时率", "24-hour rate"),
            lang.pick("逾期", "Overdue"),
            lang.pick("无法联系", "Unreachable"),
            lang.pick("总体满意度", "Overall satisfaction"),
            lang.pick("例行计划", "Routine planned"),
            lang.pick("例行完成", "Routine done"),
            lang.pick("例行完成率", "Routine completion"),
            lang.pick("月报提交", "Submission"),
        ],
    );
    for line in &bulletin.units {
        let f = &line.figures;
        let submission = match (line.submitted, line.late) {
            (None, _) => "",
            (Some(false), _) => lang.pick("未提交", "Not submitted"),
            (Some(true), true) => lang.pick("逾期提交", "Submitted late"),
            (Some(true), false) => lang.pick("已提交", "Submitted"),
        };
        units.push(vec![
            Cell::text(&line.unit_name),
            Cell::Int(f.sheets_accepted),
            Cell::Int(f.sheets_valid),
            Cell::Int(f.sheets_handled),
            Cell::Int(f.follow_ups_due),
            Cell::Int(f.follow_ups_done),
            Cell::optional_percent(f.on_time_rate),
            Cell::Int(f.overdue),
            Cell::Int(f.unreachable),
            Cell::optional_number(overall_mean(f)),
            Cell::Int(f.routine_planned),
            Cell::Int(f.routine_done),
            Cell::optional_percent(f.routine_completion_rate),
            Cell::text(submission),
        ]);
    }

    let mut trend = Table::new(
        lang.pick("满意度趋势", "Satisfaction trend"),
        &[
            lang.pick("月份", "Month"),
            lang.pick("已回访", "Done"),
            lang.pick("24小时及时回访率", "24-hour rate"),
            lang.pick("总体满意度", "Overall satisfaction"),
        ],
    );
    for point in &bulletin.trend {
        trend.push(vec![
            Cell::text(point.month.to_string()),
            Cell::Int(point.follow_ups_done),
            Cell::optional_percent(point.on_time_rate),
            Cell::optional_number(point.overall_mean),
        ]);
    }

    let mut complaints = Table::new(
        lang.pick("投诉类别", "Complaint categories"),
        &[
            lang.pick("类别", "Category"),
            lang.pick("投诉数", "Complaints"),
        ],
    );
    for line in &bulletin.top_complaints {
        complaints.push(vec![
            Cell::text(lang.label_of::<SheetCategory>(&line.category)),
            Cell::Int(line.complaints),
        ]);
    }

    let mut overdue = Table::new(
        lang.pick("逾期回访", "Overdue follow-ups"),
        &[
            lang.pick("回访单位", "Unit"),
            lang.pick("回访人", "Assignee"),
            lang.pick("客户", "Customer"),
            lang.pick("类别", "Category"),
            lang.pick("应回访时间", "Due"),
            lang.pick("逾期时间", "Overdue since"),
        ],
    );
    for line in &bulletin.overdue {
        overdue.push(vec![
            Cell::text(&line.unit_name),
            Cell::text(line.assignee_name.clone().unwrap_or_default()),
            Cell::text(&line.customer_name),
            Cell::text(match &line.category {
                Some(code) => lang.label_of::<SheetCategory>(code),
                None => lang.label_of::<huifang_protocol::FollowUpKind>(&line.kind),
            }),
            Cell::text(&line.due_at),
            Cell::text(&line.overdue_at),
        ]);
    }
    vec![headline, units, trend, complaints, overdue]
}

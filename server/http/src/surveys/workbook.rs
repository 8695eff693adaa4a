//! The Customer Opinion Survey Report (R-SUR-3) as the spreadsheet head office downloads.

use huifang_protocol::QuestionKind;
use rust_xlsxwriter::{Format, Workbook, XlsxError};

use huifang_core::surveys::report::SurveyReport;

/// The report as an XLSX workbook: a summary sheet (one row per community and question) and a
/// sheet of the free-text answers.
pub fn to_xlsx(report: &SurveyReport) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let percent = Format::new().set_num_format("0.0%");
    let decimal = Format::new().set_num_format("0.00");
    let summary = workbook.add_worksheet().set_name("调查汇总")?;
    summary.write_string_with_format(0, 0, report.form.content.title.as_str(), &bold)?;
    summary.write_string(
        1,
        0,
        format!(
            "版本 {} · 内容哈希 {}",
            report.form.version, report.form.content_sha256
        ),
    )?;
    let headers = [
        "小区",
        "发放",
        "回收",
        "回收率",
        "题号",
        "题目",
        "题型",
        "作答数",
        "平均分",
        "1分",
        "2分",
        "3分",
        "4分",
        "5分",
        "选项统计",
    ];
    for (col, header) in headers.iter().enumerate() {
        summary.write_string_with_format(3, col as u16, *header, &bold)?;
    }
    let mut row = 4;
    for community in &report.communities {
        for question in &report.form.content.questions {
            let Some(figures) = community.questions.get(&question.id) else {
                continue;
            };
            summary.write_string(row, 0, community.community_name.as_str())?;
            summary.write_number(row, 1, community.sent as f64)?;
            summary.write_number(row, 2, community.responses as f64)?;
            if let Some(rate) = community.response_rate {
                summary.write_number_with_format(row, 3, rate, &percent)?;
            }
            summary.write_string(row, 4, question.id.as_str())?;
            summary.write_string(row, 5, question.text.as_str())?;
            let kind = match question.kind {
                QuestionKind::Rating => "评分",
                QuestionKind::SingleChoice => "单选",
                QuestionKind::MultipleChoice => "多选",
                QuestionKind::FreeText => "文字",
            };
            summary.write_string(row, 6, kind)?;
            summary.write_number(row, 7, figures.answered as f64)?;
            if let Some(mean) = figures.mean_rating {
                summary.write_number_with_format(row, 8, mean, &decimal)?;
            }
            if question.kind == QuestionKind::Rating {
                for (i, count) in figures.ratings.iter().enumerate() {
                    summary.write_number(row, 9 + i as u16, *count as f64)?;
                }
            }
            let counted: Vec<String> = question
                .options
                .iter()
                .map(|o| format!("{} {}", o.text, figures.choices.get(&o.id).unwrap_or(&0)))
                .collect();
            summary.write_string(row, 14, counted.join(";"))?;
            row += 1;
        }
    }
    summary.autofit();
    let texts = workbook.add_worksheet().set_name("文字意见")?;
    for (col, header) in ["小区", "题号", "意见", "人数"].iter().enumerate() {
        texts.write_string_with_format(0, col as u16, *header, &bold)?;
    }
    let mut row = 1;
    for community in report.communities.iter().skip(1) {
        for (question, figures) in &community.questions {
            for group in &figures.texts {
                texts.write_string(row, 0, community.community_name.as_str())?;
                texts.write_string(row, 1, question.as_str())?;
                texts.write_string(row, 2, group.text.as_str())?;
                texts.write_number(row, 3, group.count as f64)?;
                row += 1;
            }
        }
    }
    texts.autofit();
    workbook.save_to_buffer()
}

//! The dashboard's lists — sheets, follow-ups, the overdue list, routine plan progress, survey
//! forms, phones — with filters, paging and CSV/XLSX downloads of everything the filters select.

use std::collections::HashMap;

use askama::Template;
use axum::response::Response;
use chrono_tz::Tz;
use huifang_protocol::{Labelled, mask_phone};

mod devices;
mod follow_ups;
mod plans;
mod sheets;
mod surveys;

pub use devices::devices;
pub use follow_ups::{follow_ups, overdue};
pub use plans::plans;
pub use sheets::sheets;
pub use surveys::surveys;

use super::{Choice, Chrome, InLang, MonthChoices, Viewer, WebResult, encode, render};
use crate::auth::Caller;
use crate::error::AppError;
use crate::exports::{self, Cell, FileFormat, Table};
use crate::registry::PageRequest;
use crate::state::AppState;
use huifang_core::plans::Month;
use huifang_protocol::Lang;
use huifang_store::followups::{FollowUpFilter, FollowUpView};
use huifang_store::registry::{self, Named};
use huifang_store::scope::WorkScope;
use huifang_store::sheets::SheetFilter;

/// Rows on one page of a list.
const PAGE_ROWS: u32 = 100;
/// The most rows a download holds (a larger selection is cut, and the page says so).
const EXPORT_ROWS: u32 = 50_000;

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

    /// A month, chosen from a list written in the reader's language (a browser's own month
    /// picker speaks the browser's), "all" first when `all` is given.
    fn month(
        name: &'static str,
        label: &'static str,
        value: &Option<String>,
        months: MonthChoices,
    ) -> Self {
        Filter {
            input: "select",
            choices: months.choices(value.as_deref()),
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
async fn names(state: &AppState, table: Named) -> Result<HashMap<i64, String>, AppError> {
    Ok(registry::names(state.db(), table)
        .await?
        .into_iter()
        .collect())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_queries_keep_only_what_is_set_and_encode_it() {
        let filters = vec![
            Filter::text("q", "搜索", &Some("陈 志强".into())),
            Filter::text("status", "状态", &None),
            Filter::month(
                "month",
                "月份",
                &Some("2026-11".into()),
                MonthChoices {
                    current: "2026-12".parse().unwrap(),
                    lang: Lang::Zh,
                    all: true,
                },
            ),
        ];
        assert_eq!(
            query_of(&filters),
            "q=%E9%99%88%20%E5%BF%97%E5%BC%BA&month=2026-11"
        );
    }
}

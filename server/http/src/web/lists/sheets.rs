//! `/app/sheets`: information sheets, filtered, paged, downloadable.

use axum::extract::{Query, State};
use axum::response::Response;
use huifang_protocol::{ComplaintLevel, SheetCategory, SheetStatus};
use serde::Deserialize;

use super::*;

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
    let units = names(&state, Named::Units).await.in_lang(lang)?;
    let staff = names(&state, Named::Staff).await.in_lang(lang)?;
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
            lang.pick("照片", "Photos"),
        ],
    );
    let ids: Vec<&str> = found.items.iter().map(|s| s.id.as_str()).collect();
    let mut photos = huifang_store::photos::of_documents(state.db(), &ids)
        .await
        .in_lang(lang)?;
    for sheet in &found.items {
        table.push(vec![
            Cell::text(sheet.number.clone().unwrap_or_default()),
            Cell::text(local_time(&sheet.accepted_at, tz)),
            Cell::Link {
                text: sheet.customer_name.clone(),
                href: format!("/app/sheets/{}", sheet.id),
            },
            Cell::text(phone_for(&viewer.caller, &sheet.contact_phone)),
            Cell::text(&sheet.customer_address),
            Cell::text(lang.label_of::<ComplaintLevel>(&sheet.level)),
            Cell::text(lang.label_of::<SheetCategory>(&sheet.category)),
            Cell::text(lang.label_of::<SheetStatus>(&sheet.status)),
            Cell::text(name_of(&units, Some(sheet.accepting_unit_id))),
            Cell::text(name_of(&staff, Some(sheet.accepted_by))),
            Cell::text(&sheet.summary),
            Cell::Photos(photos.remove(&sheet.id).unwrap_or_default()),
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
            Filter::month(
                "month",
                lang.pick("受理月份", "Accepted in"),
                &query.month,
                MonthChoices {
                    current: Month::of(state.db().now(), tz),
                    lang,
                    all: true,
                },
            ),
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

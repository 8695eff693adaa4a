//! `/app/follow-ups` and `/app/overdue`: follow-ups, and those past their deadline.

use axum::extract::{Query, State};
use axum::response::Response;
use huifang_protocol::{FollowUpKind, FollowUpStatus};
use serde::Deserialize;

use super::*;

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
    let units = names(&state, Named::Units).await.in_lang(lang)?;
    let staff = names(&state, Named::Staff).await.in_lang(lang)?;
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
            lang.pick("照片", "Photos"),
        ],
    );
    let ids: Vec<&str> = found.items.iter().map(|f| f.id.as_str()).collect();
    let mut photos = huifang_store::photos::of_documents(state.db(), &ids)
        .await
        .in_lang(lang)?;
    for f in &found.items {
        table.push(vec![
            Cell::Link {
                text: f.customer_name.clone(),
                href: format!("/app/follow-ups/{}", f.id),
            },
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
            Cell::Photos(photos.remove(&f.id).unwrap_or_default()),
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

//! `/app/sheets/{id}` and `/app/follow-ups/{id}`: one record's own page — its facts, its photos as
//! thumbnails, what happened to it — linked from the lists. A follow-up done on a phone and not
//! yet synced says so (#18). What the reader may see is the API's (`crate::sheets::detail`,
//! `crate::followups::detail`), so the page and the API never disagree.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono_tz::Tz;
use huifang_protocol::{
    ComplaintLevel, FollowUp, FollowUpKind, FollowUpMethod, FollowUpStatus, InformationSource,
    Lang, PhotoRef, SheetCategory, SheetStatus,
};

use super::{Chrome, InLang, Viewer, WebResult, render};
use crate::error::AppError;
use crate::exports::{Cell, PhotoLink, Table};
use crate::state::AppState;

/// One line of a record's facts.
pub struct Fact {
    pub label: &'static str,
    pub value: String,
    pub href: Option<String>,
}

fn fact(label: &'static str, value: impl Into<String>) -> Fact {
    Fact {
        label,
        value: value.into(),
        href: None,
    }
}

/// A photo with its caption.
pub struct Photo {
    pub link: PhotoLink,
    pub caption: String,
}

#[derive(Template)]
#[template(path = "record.html")]
struct RecordPage {
    chrome: Chrome,
    title: String,
    notices: Vec<String>,
    facts: Vec<Fact>,
    photos: Vec<Photo>,
    tables: Vec<Table>,
}

fn photos_of(photos: &[PhotoRef], lang: Lang) -> Vec<Photo> {
    photos
        .iter()
        .map(|p| Photo {
            link: PhotoLink::to(&p.blob_sha256, p.format),
            caption: if p.caption.is_empty() {
                lang.label(p.purpose).to_owned()
            } else {
                format!("{} · {}", lang.label(p.purpose), p.caption)
            },
        })
        .collect()
}

fn local(text: &str, tz: Tz) -> String {
    huifang_protocol::local_time_of(text, &tz)
}

async fn staff_name(state: &AppState, id: Option<i64>) -> Result<String, AppError> {
    Ok(match id {
        Some(id) => huifang_store::registry::staff_name(state.db().pool(), id)
            .await?
            .unwrap_or_else(|| format!("#{id}")),
        None => String::new(),
    })
}

async fn unit_name(state: &AppState, id: Option<i64>) -> Result<String, AppError> {
    Ok(match id {
        Some(id) => state
            .registry()
            .get_unit(id)
            .await?
            .map_or_else(|| format!("#{id}"), |u| u.name),
        None => String::new(),
    })
}

/// A follow-up's page.
pub async fn follow_up(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let lang = viewer.lang;
    let tz = state.config().time_zone;
    let detail = crate::followups::detail(&state, &viewer.caller, &id)
        .await
        .in_lang(lang)?;
    let f: &FollowUp = &detail.follow_up;
    let mut notices = Vec::new();
    for phone in &detail.done_on_phones {
        notices.push(format!(
            "{} {} ({}) {} · {}",
            lang.pick("已在手机上完成", "Done on the phone"),
            local(&phone.done_at, tz),
            phone.device_name,
            lang.pick("尚未同步", "not yet synced"),
            if phone.in_time {
                lang.pick("在期限内", "within the deadline")
            } else {
                lang.pick("已超期限", "after the deadline")
            },
        ));
    }
    let mut facts = vec![
        fact(lang.pick("客户", "Customer"), &f.customer_name),
        fact(lang.pick("电话", "Phone"), &f.contact_phone),
        fact(lang.pick("回访类型", "Kind"), lang.label(f.kind)),
        fact(
            lang.pick("依据", "Why"),
            lang.pick(detail.rule.zh, detail.rule.en),
        ),
        fact(
            lang.pick("回访单位", "Unit"),
            detail.assignee_unit_name.clone().unwrap_or_default(),
        ),
        fact(
            lang.pick("回访人", "Assignee"),
            detail
                .assignee_name
                .clone()
                .unwrap_or_else(|| lang.pick("单位内任何人", "anyone of the unit").to_owned()),
        ),
        fact(lang.pick("状态", "Status"), lang.label(f.status)),
        fact(lang.pick("应回访时间", "Due"), local(&f.due_at, tz)),
    ];
    if let Some(sheet) = &f.sheet_id {
        facts.push(Fact {
            href: Some(format!("/app/sheets/{sheet}")),
            ..fact(lang.pick("客户信息单", "Sheet"), lang.pick("查看", "open"))
        });
    }
    if let Some(at) = &f.overdue_at {
        facts.push(fact(lang.pick("逾期时间", "Overdue since"), local(at, tz)));
    }
    if let Some(outcome) = &f.outcome {
        let r = &outcome.ratings;
        facts.extend([
            fact(lang.pick("回访方式", "Method"), lang.label(outcome.method)),
            fact(lang.pick("完成时间", "Done"), local(&outcome.done_at, tz)),
            fact(
                lang.pick("评分", "Ratings"),
                format!(
                    "{} {} · {} {} · {} {} · {} {} · {} {}",
                    lang.pick("处理", "handling"),
                    r.handling,
                    lang.pick("效率", "efficiency"),
                    r.efficiency,
                    lang.pick("质量", "quality"),
                    r.quality,
                    lang.pick("态度", "attitude"),
                    r.attitude,
                    lang.pick("总体", "overall"),
                    r.overall
                ),
            ),
            fact(lang.pick("客户意见", "Opinions"), &outcome.opinions),
            fact(
                lang.pick("记录人", "Recorded by"),
                staff_name(&state, Some(outcome.recorded_by))
                    .await
                    .in_lang(lang)?,
            ),
        ]);
    }
    if let Some(signature) = &f.signature {
        facts.push(fact(
            lang.pick("客户签字", "Customer's signature"),
            format!(
                "{} · {}",
                signature.signer_name,
                local(&signature.signed_at, tz)
            ),
        ));
    }
    if let Some(reason) = &f.cancel_reason {
        facts.push(fact(lang.pick("结案原因", "Closed because"), reason));
    }
    let mut tables = Vec::new();
    if !f.unreachable_attempts.is_empty() {
        let mut table = Table::new(
            lang.pick("联系不上的尝试", "Attempts to reach the customer"),
            &[
                lang.pick("时间", "When"),
                lang.pick("回访人", "By"),
                lang.pick("方式", "Method"),
                lang.pick("说明", "Note"),
            ],
        );
        for attempt in &f.unreachable_attempts {
            table.push(vec![
                Cell::text(local(&attempt.at, tz)),
                Cell::text(
                    staff_name(&state, Some(attempt.by_staff_id))
                        .await
                        .in_lang(lang)?,
                ),
                Cell::text(lang.label::<FollowUpMethod>(attempt.method)),
                Cell::text(&attempt.note),
            ]);
        }
        tables.push(table);
    }
    if !f.reassignments.is_empty() {
        let mut table = Table::new(
            lang.pick("改派", "Reassignments"),
            &[
                lang.pick("时间", "When"),
                lang.pick("原单位", "From unit"),
                lang.pick("改派至", "To unit"),
                lang.pick("回访人", "To"),
                lang.pick("原因", "Reason"),
            ],
        );
        for moved in &f.reassignments {
            table.push(vec![
                Cell::text(local(&moved.at, tz)),
                Cell::text(
                    unit_name(&state, Some(moved.from_unit_id))
                        .await
                        .in_lang(lang)?,
                ),
                Cell::text(
                    unit_name(&state, Some(moved.to_unit_id))
                        .await
                        .in_lang(lang)?,
                ),
                Cell::text(staff_name(&state, moved.to_staff_id).await.in_lang(lang)?),
                Cell::text(&moved.reason),
            ]);
        }
        tables.push(table);
    }
    if let Some(response) = &f.survey_response {
        facts.push(fact(
            lang.pick("问卷填写", "Survey answered"),
            format!(
                "{} · {} · {}",
                local(&response.answered_at, tz),
                lang.label(response.channel),
                staff_name(&state, Some(response.entered_by))
                    .await
                    .in_lang(lang)?
            ),
        ));
        let form = huifang_core::surveys::get(state.db(), response.form_id)
            .await
            .ok();
        let mut table = Table::new(
            lang.pick("问卷答案", "Survey answers"),
            &[lang.pick("问题", "Question"), lang.pick("答案", "Answer")],
        );
        for answer in &response.answers {
            let question = form.as_ref().and_then(|form| {
                form.content
                    .questions
                    .iter()
                    .find(|q| q.id == answer.question_id)
            });
            let option_text = |choice: &String| {
                question
                    .and_then(|q| q.options.iter().find(|o| &o.id == choice))
                    .map_or_else(|| choice.clone(), |o| o.text.clone())
            };
            let given = match (&answer.rating, &answer.text) {
                (Some(rating), _) => format!("{rating} / 5"),
                (None, Some(text)) => text.clone(),
                (None, None) => answer
                    .choices
                    .iter()
                    .map(option_text)
                    .collect::<Vec<_>>()
                    .join("、"),
            };
            table.push(vec![
                Cell::text(question.map_or(answer.question_id.as_str(), |q| q.text.as_str())),
                Cell::text(given),
            ]);
        }
        tables.push(table);
    }
    let title = format!(
        "{} · {}",
        lang.label::<FollowUpKind>(f.kind),
        f.customer_name
    );
    let here = format!("/app/follow-ups/{id}");
    render(
        &RecordPage {
            chrome: Chrome::new(&viewer, "/app/follow-ups", &here),
            title,
            notices,
            facts,
            photos: photos_of(&f.photos, lang),
            tables,
        },
        lang,
    )
}

/// A sheet's page, with its follow-ups.
pub async fn sheet(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let lang = viewer.lang;
    let tz = state.config().time_zone;
    let detail = crate::sheets::detail(&state, &viewer.caller, &id)
        .await
        .in_lang(lang)?;
    let s = &detail.sheet;
    let mut facts = vec![
        fact(
            lang.pick("编号", "Number"),
            s.number.clone().unwrap_or_default(),
        ),
        fact(lang.pick("受理时间", "Accepted"), local(&s.accepted_at, tz)),
        fact(lang.pick("客户", "Customer"), &s.customer_name),
        fact(lang.pick("电话", "Phone"), &s.contact_phone),
        fact(lang.pick("地址", "Address"), &s.customer_address),
        fact(
            lang.pick("投诉级别", "Level"),
            lang.label::<ComplaintLevel>(s.level),
        ),
        fact(
            lang.pick("类别", "Category"),
            lang.label::<SheetCategory>(s.category),
        ),
        fact(
            lang.pick("信息来源", "Source"),
            lang.label::<InformationSource>(s.source),
        ),
        fact(
            lang.pick("状态", "Status"),
            lang.label::<SheetStatus>(s.status),
        ),
        fact(
            lang.pick("受理单位", "Accepted by unit"),
            unit_name(&state, Some(s.accepting_unit_id))
                .await
                .in_lang(lang)?,
        ),
        fact(
            lang.pick("受理人", "Accepted by"),
            staff_name(&state, Some(s.accepted_by))
                .await
                .in_lang(lang)?,
        ),
        fact(
            lang.pick("处理单位", "Handled by unit"),
            unit_name(&state, s.handling_unit_id).await.in_lang(lang)?,
        ),
        fact(
            lang.pick("客户反映情况", "What the customer reported"),
            s.items
                .iter()
                .map(|i| i.text.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        fact(
            lang.pick("调查情况及处理方案", "Investigation and plan"),
            &s.investigation,
        ),
        fact(lang.pick("处理结果", "Result"), &s.result),
    ];
    if let Some(at) = &s.handled_at {
        facts.push(fact(lang.pick("处理时间", "Handled"), local(at, tz)));
    }
    if let Some(reason) = &s.invalid_reason {
        facts.push(fact(lang.pick("无效原因", "Invalid because"), reason));
    }
    let mut tables = Vec::new();
    if !s.tracking.is_empty() {
        let mut table = Table::new(
            lang.pick("跟踪情况", "Tracking"),
            &[
                lang.pick("时间", "When"),
                lang.pick("记录人", "By"),
                lang.pick("情况", "Note"),
            ],
        );
        for note in &s.tracking {
            table.push(vec![
                Cell::text(local(&note.at, tz)),
                Cell::text(
                    staff_name(&state, Some(note.by_staff_id))
                        .await
                        .in_lang(lang)?,
                ),
                Cell::text(&note.note),
            ]);
        }
        tables.push(table);
    }
    if !detail.follow_ups.is_empty() {
        let mut table = Table::new(
            lang.pick("回访", "Follow-ups"),
            &[
                lang.pick("回访类型", "Kind"),
                lang.pick("状态", "Status"),
                lang.pick("应回访时间", "Due"),
                lang.pick("完成时间", "Done"),
            ],
        );
        for f in &detail.follow_ups {
            table.push(vec![
                Cell::Link {
                    text: lang.label_of::<FollowUpKind>(&f.kind),
                    href: format!("/app/follow-ups/{}", f.id),
                },
                Cell::text(lang.label_of::<FollowUpStatus>(&f.status)),
                Cell::text(local(&f.due_at, tz)),
                Cell::text(
                    f.done_at
                        .as_deref()
                        .map(|t| local(t, tz))
                        .unwrap_or_default(),
                ),
            ]);
        }
        tables.push(table);
    }
    let title = format!(
        "{} {}",
        lang.pick("客户信息单", "Sheet"),
        s.number.clone().unwrap_or_default()
    );
    let here = format!("/app/sheets/{id}");
    render(
        &RecordPage {
            chrome: Chrome::new(&viewer, "/app/sheets", &here),
            title,
            notices: Vec::new(),
            facts,
            photos: photos_of(&s.photos, lang),
            tables,
        },
        lang,
    )
}

//! `/app/surveys`: the survey forms and where each stands.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use huifang_protocol::Lang;

use super::*;

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
        return Err(crate::web::WebError {
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

//! The annual Customer Opinion Survey (SPEC §3, R-SUR-1…3, D-SUR-1/2).
//!
//! A form is a versioned template of questions. The development department drafts and submits
//! it; only the general manager approves it, and the approval names the content hash they saw, so
//! it is bound to that exact version; from then on the form is frozen (a change is a new version).
//! Distribution creates a survey follow-up for every household of the chosen communities, assigned
//! to each community's customer service centre, which flow to phones like any follow-up; answers
//! are checked against the form and record the version they answered. [`report`] tabulates them.

mod distribution;
pub mod report;
mod responses;

pub use distribution::{Distribution, distribute};
pub use responses::{StoredResponse, answer, record_response};

use huifang_protocol::{Role, SurveyContent, SurveyFormRow, UnitKind};
use serde_json::json;

use crate::auth::Caller;
use crate::error::Error;
use huifang_store::db::Database;
use huifang_store::documents::DocWrite;
use huifang_store::surveys as stored;

pub use huifang_store::surveys::{FormStatus, SurveyForm};

/// R-SUR-1: the development department runs the survey (administrators may too).
pub fn require_development(caller: &Caller) -> Result<(), Error> {
    let development = caller
        .unit
        .is_some_and(|unit| unit.kind == UnitKind::DevelopmentDepartment);
    if caller.role == Role::Admin || development {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "the opinion survey is run by the development department (R-SUR-1)".into(),
        ))
    }
}

fn not_found(id: i64) -> Error {
    Error::NotFound(format!("survey form {id} does not exist"))
}

fn checked(content: &SurveyContent) -> Result<(), Error> {
    content.check().map_err(|problems| Error::Invalid {
        message: format!("the form is not valid: {}", problems.join("; ")),
        details: problems,
    })
}

pub async fn get(db: &Database, id: i64) -> Result<SurveyForm, Error> {
    stored::form(db, id).await?.ok_or_else(|| not_found(id))
}

pub async fn list(db: &Database) -> Result<Vec<SurveyForm>, Error> {
    Ok(stored::forms(db).await?)
}

/// The forms taking answers (distributed, not closed), as phones receive them with their
/// reference rows to answer offline.
pub async fn taking_answers(db: &Database) -> Result<Vec<SurveyFormRow>, Error> {
    Ok(stored::forms(db)
        .await?
        .into_iter()
        .filter(|form| form.status == FormStatus::Distributed)
        .filter_map(|form| {
            Some(SurveyFormRow {
                id: form.id,
                approved_sha256: form.approved_sha256?,
                content: form.content,
            })
        })
        .collect())
}

/// Form `id` after a change phones must learn of (it now takes answers, or no longer does):
/// the reference rows' fingerprint is read afresh.
async fn changed_for_phones(db: &Database, id: i64) -> Result<SurveyForm, Error> {
    db.note_registry_change();
    get(db, id).await
}

/// Loads a form inside a write, for changing it.
async fn load(write: &mut DocWrite, id: i64) -> Result<SurveyForm, Error> {
    stored::form_in(write, id)
        .await?
        .ok_or_else(|| not_found(id))
}

async fn begin(
    db: &Database,
    caller: &Caller,
    time_zone: chrono_tz::Tz,
) -> Result<DocWrite, Error> {
    Ok(DocWrite::begin(db, caller.audit_actor(), time_zone).await?)
}

/// Drafts a new form: the next version of its year.
pub async fn create(
    db: &Database,
    time_zone: chrono_tz::Tz,
    caller: &Caller,
    content: SurveyContent,
    revised_from: Option<i64>,
) -> Result<SurveyForm, Error> {
    checked(&content)?;
    let mut write = begin(db, caller, time_zone).await?;
    let id = stored::insert_draft(&mut write, &content, revised_from, caller.staff_id).await?;
    write
        .audit(
            "survey.drafted",
            &format!("survey/{id}"),
            json!({ "sha256": content.sha256(), "revised_from": revised_from }),
        )
        .await?;
    write.commit().await?;
    get(db, id).await
}

/// Changes a draft; anything past draft is frozen (D-SUR-1).
pub async fn edit(
    db: &Database,
    time_zone: chrono_tz::Tz,
    caller: &Caller,
    id: i64,
    content: SurveyContent,
) -> Result<SurveyForm, Error> {
    checked(&content)?;
    let mut write = begin(db, caller, time_zone).await?;
    let form = load(&mut write, id).await?;
    if form.status != FormStatus::Draft {
        return Err(Error::Conflict(format!(
            "survey form {id} is {}; only a draft can be edited — revise it into a new version",
            form.status.code()
        )));
    }
    if i64::from(content.year) != form.year {
        return Err(Error::invalid(format!(
            "the form is for {}; a form for another year is a new form",
            form.year
        )));
    }
    stored::update_content(&mut write, id, &content).await?;
    write
        .audit(
            "survey.edited",
            &format!("survey/{id}"),
            json!({ "before": form.content_sha256, "after": content.sha256() }),
        )
        .await?;
    write.commit().await?;
    get(db, id).await
}

/// Moves a form from `from` to `to`, noting the step's time (and who, for the approval).
async fn transition(
    write: &mut DocWrite,
    form: &SurveyForm,
    from: &[FormStatus],
    to: FormStatus,
    who: Option<i64>,
) -> Result<(), Error> {
    if !from.contains(&form.status) {
        return Err(Error::Conflict(format!(
            "survey form {} is {}; it cannot become {}",
            form.id,
            form.status.code(),
            to.code()
        )));
    }
    stored::set_status(write, form.id, to, who).await?;
    write
        .audit(
            &format!("survey.{}", to.code()),
            &format!("survey/{}", form.id),
            json!({ "sha256": form.content_sha256, "by": who }),
        )
        .await?;
    Ok(())
}

pub async fn submit(
    db: &Database,
    time_zone: chrono_tz::Tz,
    caller: &Caller,
    id: i64,
) -> Result<SurveyForm, Error> {
    let mut write = begin(db, caller, time_zone).await?;
    let form = load(&mut write, id).await?;
    transition(
        &mut write,
        &form,
        &[FormStatus::Draft],
        FormStatus::Submitted,
        None,
    )
    .await?;
    write.commit().await?;
    get(db, id).await
}

/// R-SUR-2, D-SUR-2: the general manager approves the exact version they read.
pub async fn approve(
    db: &Database,
    time_zone: chrono_tz::Tz,
    caller: &Caller,
    id: i64,
    content_sha256: &str,
) -> Result<SurveyForm, Error> {
    if caller.role != Role::GeneralManager {
        return Err(Error::Forbidden(
            "only the general manager approves the survey form (R-SUR-2)".into(),
        ));
    }
    let mut write = begin(db, caller, time_zone).await?;
    let form = load(&mut write, id).await?;
    if form.content.sha256() != form.content_sha256 || content_sha256 != form.content_sha256 {
        return Err(Error::Conflict(format!(
            "the approval names version {content_sha256}, but form {id} is version {}; read it \
             again before approving (D-SUR-2)",
            form.content_sha256
        )));
    }
    transition(
        &mut write,
        &form,
        &[FormStatus::Submitted],
        FormStatus::Approved,
        Some(caller.staff_id),
    )
    .await?;
    write.commit().await?;
    get(db, id).await
}

/// Why a closed survey's unanswered follow-ups were cancelled (shown on the phones and pages).
pub const CLOSED_REASON: &str = "意见调查已结束（调查表已关闭），不再收集答卷";
/// Unanswered follow-ups cancelled per transaction when a survey closes.
const CLOSING_BATCH: i64 = 500;

/// Ends a survey: its unanswered follow-ups are cancelled (no phone keeps a task nobody can
/// complete, no list shows them overdue), then the form is closed. Cancelled first, in batches,
/// so a close cut short is simply asked for again.
pub async fn close(
    db: &Database,
    time_zone: chrono_tz::Tz,
    caller: &Caller,
    id: i64,
) -> Result<SurveyForm, Error> {
    if get(db, id).await?.status == FormStatus::Distributed {
        loop {
            let open = stored::open_follow_ups(db, id, CLOSING_BATCH).await?;
            if open.is_empty() {
                break;
            }
            let mut write = begin(db, caller, time_zone).await?;
            let mut cancelled = 0;
            for follow_up in &open {
                if crate::followups::cancel_open(&mut write, follow_up, CLOSED_REASON).await? {
                    cancelled += 1;
                }
            }
            write.commit().await?;
            if cancelled == 0 {
                break;
            }
        }
    }
    let mut write = begin(db, caller, time_zone).await?;
    let form = load(&mut write, id).await?;
    transition(
        &mut write,
        &form,
        &[FormStatus::Distributed],
        FormStatus::Closed,
        None,
    )
    .await?;
    write.commit().await?;
    changed_for_phones(db, id).await
}

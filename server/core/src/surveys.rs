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
pub use responses::{Channel, StoredResponse, answer};

use huifang_protocol::{Role, SurveyContent, UnitKind};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::FromRow;

use crate::auth::Caller;
use crate::error::Error;
use huifang_store::db::Database;
use huifang_store::documents::DocWrite;

/// Where a form stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormStatus {
    Draft,
    Submitted,
    Approved,
    Distributed,
    Closed,
}

impl FormStatus {
    pub fn code(self) -> &'static str {
        match self {
            FormStatus::Draft => "draft",
            FormStatus::Submitted => "submitted",
            FormStatus::Approved => "approved",
            FormStatus::Distributed => "distributed",
            FormStatus::Closed => "closed",
        }
    }

    fn parse(code: &str) -> Result<Self, Error> {
        [
            FormStatus::Draft,
            FormStatus::Submitted,
            FormStatus::Approved,
            FormStatus::Distributed,
            FormStatus::Closed,
        ]
        .into_iter()
        .find(|s| s.code() == code)
        .ok_or_else(|| Error::internal(format!("stored form status {code}")))
    }
}

/// A stored form version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyForm {
    pub id: i64,
    pub year: i64,
    pub version: i64,
    pub revised_from: Option<i64>,
    pub status: FormStatus,
    pub content: SurveyContent,
    pub content_sha256: String,
    pub created_by: i64,
    pub created_at: String,
    pub submitted_at: Option<String>,
    pub approved_by: Option<i64>,
    pub approved_at: Option<String>,
    pub approved_sha256: Option<String>,
    pub distributed_at: Option<String>,
    pub closed_at: Option<String>,
}

#[derive(Debug, FromRow)]
struct FormRow {
    id: i64,
    year: i64,
    version: i64,
    revised_from: Option<i64>,
    status: String,
    content: String,
    content_sha256: String,
    created_by: i64,
    created_at: String,
    submitted_at: Option<String>,
    approved_by: Option<i64>,
    approved_at: Option<String>,
    approved_sha256: Option<String>,
    distributed_at: Option<String>,
    closed_at: Option<String>,
}

const FORM_COLUMNS: &str = "id, year, version, revised_from, status, content, content_sha256,
    created_by, created_at, submitted_at, approved_by, approved_at, approved_sha256,
    distributed_at, closed_at";

impl TryFrom<FormRow> for SurveyForm {
    type Error = Error;

    fn try_from(row: FormRow) -> Result<Self, Error> {
        Ok(SurveyForm {
            content: serde_json::from_str(&row.content)
                .map_err(|e| Error::internal(format!("stored survey form: {e}")))?,
            status: FormStatus::parse(&row.status)?,
            id: row.id,
            year: row.year,
            version: row.version,
            revised_from: row.revised_from,
            content_sha256: row.content_sha256,
            created_by: row.created_by,
            created_at: row.created_at,
            submitted_at: row.submitted_at,
            approved_by: row.approved_by,
            approved_at: row.approved_at,
            approved_sha256: row.approved_sha256,
            distributed_at: row.distributed_at,
            closed_at: row.closed_at,
        })
    }
}

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
    let row: Option<FormRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {FORM_COLUMNS} FROM survey_forms WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    row.ok_or_else(|| not_found(id))?.try_into()
}

pub async fn list(db: &Database) -> Result<Vec<SurveyForm>, Error> {
    let rows: Vec<FormRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {FORM_COLUMNS} FROM survey_forms ORDER BY year DESC, version DESC"
    )))
    .fetch_all(db.pool())
    .await?;
    rows.into_iter().map(SurveyForm::try_from).collect()
}

/// Loads a form inside a write, for changing it.
async fn load(write: &mut DocWrite, id: i64) -> Result<SurveyForm, Error> {
    let row: Option<FormRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {FORM_COLUMNS} FROM survey_forms WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut **write.tx())
    .await?;
    row.ok_or_else(|| not_found(id))?.try_into()
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
    let text = serde_json::to_string(&content).map_err(|e| Error::Internal(e.into()))?;
    let mut write = begin(db, caller, time_zone).await?;
    let now = write.now_text();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO survey_forms (year, version, revised_from, status, content, content_sha256,
            created_by, created_at, updated_at)
         VALUES ($1, (SELECT COALESCE(MAX(version), 0) + 1 FROM survey_forms WHERE year = $1),
                 $2, $7, $3, $4, $5, $6, $6)
         RETURNING id",
    )
    .bind(i64::from(content.year))
    .bind(revised_from)
    .bind(text)
    .bind(content.sha256())
    .bind(caller.staff_id)
    .bind(&now)
    .bind(FormStatus::Draft.code())
    .fetch_one(&mut **write.tx())
    .await?;
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
    let text = serde_json::to_string(&content).map_err(|e| Error::Internal(e.into()))?;
    let now = write.now_text();
    sqlx::query(
        "UPDATE survey_forms SET content = $1, content_sha256 = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(text)
    .bind(content.sha256())
    .bind(now)
    .bind(id)
    .execute(&mut **write.tx())
    .await?;
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

/// Moves a form from `from` to `to`, setting the step's time (and who, for the approval).
async fn transition(
    write: &mut DocWrite,
    form: &SurveyForm,
    from: &[FormStatus],
    to: FormStatus,
    set: &str,
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
    let now = write.now_text();
    let sql = format!(
        "UPDATE survey_forms SET status = $1, {set} = $2, updated_at = $2,
             approved_by = COALESCE($3, approved_by),
             approved_sha256 = CASE WHEN $1 = '{approved}' THEN content_sha256 ELSE approved_sha256 END
         WHERE id = $4",
        approved = FormStatus::Approved.code()
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(to.code())
        .bind(now)
        .bind(who)
        .bind(form.id)
        .execute(&mut **write.tx())
        .await?;
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
        "submitted_at",
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
        "approved_at",
        Some(caller.staff_id),
    )
    .await?;
    write.commit().await?;
    get(db, id).await
}

pub async fn close(
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
        &[FormStatus::Distributed],
        FormStatus::Closed,
        "closed_at",
        None,
    )
    .await?;
    write.commit().await?;
    get(db, id).await
}

//! The annual Customer Opinion Survey (SPEC §3, R-SUR-1…3, D-SUR-1/2).
//!
//! A form is a versioned template of questions. The development department drafts and submits
//! it; only the general manager approves it, and the approval names the content hash they saw, so
//! it is bound to that exact version; from then on the form is frozen (a change is a new version).
//! Distribution creates a survey follow-up for every household of the chosen communities, assigned
//! to each community's customer service centre, which flow to phones like any follow-up; answers
//! are checked against the form and record the version they answered. [`report`] tabulates them.

pub mod report;

use automerge::AutoCommit;
use huifang_protocol::{
    FollowUp, FollowUpKind, FollowUpStatus, Labelled, Role, SCHEMA_VERSION, SurveyAnswer,
    SurveyContent, UnitKind, format_time,
};
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

/// What a distribution did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distribution {
    pub form: SurveyForm,
    /// Survey follow-ups written by this distribution (households already sent the form are
    /// skipped, so distributing again changes nothing).
    pub follow_ups_written: usize,
}

/// A household a form goes to: its id and its first customer (id, name, phone), if any.
type Recipient = (i64, Option<i64>, Option<String>, Option<String>);

/// Survey follow-ups written per transaction.
const DISTRIBUTION_BATCH: usize = 200;

/// R-SUR-1: sends an approved form to every household of `communities`: one survey follow-up
/// each, assigned to the community's customer service centre (or its office), due `due_at`.
pub async fn distribute(
    db: &Database,
    time_zone: chrono_tz::Tz,
    caller: &Caller,
    id: i64,
    communities: &[i64],
    due_at: chrono::DateTime<chrono::Utc>,
) -> Result<Distribution, Error> {
    if communities.is_empty() || communities.len() > 1_000 {
        return Err(Error::invalid(
            "name 1 to 1000 communities to send the form to",
        ));
    }
    let form = get(db, id).await?;
    if !matches!(form.status, FormStatus::Approved | FormStatus::Distributed)
        || form.approved_sha256.as_deref() != Some(form.content_sha256.as_str())
    {
        return Err(Error::Conflict(format!(
            "survey form {id} is {}; only a form the general manager approved is sent (R-SUR-2)",
            form.status.code()
        )));
    }
    if due_at <= db.now() {
        return Err(Error::invalid("due_at must be in the future"));
    }
    let mut targets = Vec::new();
    for &community in communities {
        let unit: Option<i64> = sqlx::query_scalar(
            "SELECT u.id FROM units u LEFT JOIN units p ON p.id = u.parent_id
             WHERE COALESCE(u.community_id, p.community_id) = $1
               AND u.kind IN ($2, $3)
             ORDER BY CASE u.kind WHEN $2 THEN 0 ELSE 1 END, u.id LIMIT 1",
        )
        .bind(community)
        .bind(UnitKind::CustomerServiceCenter.code())
        .bind(UnitKind::PropertyOffice.code())
        .fetch_optional(db.pool())
        .await?;
        let Some(unit) = unit else {
            return Err(Error::invalid(format!(
                "community {community} does not exist or has no property office to send the form through"
            )));
        };
        let households: Vec<Recipient> = sqlx::query_as(
            "SELECT h.id, c.id, c.name, c.phone FROM households h
             LEFT JOIN customers c ON c.id = (SELECT MIN(c2.id) FROM customers c2 WHERE c2.household_id = h.id)
             WHERE h.community_id = $1
               AND NOT EXISTS (SELECT 1 FROM survey_distributions d WHERE d.form_id = $2 AND d.household_id = h.id)
             ORDER BY h.id",
        )
        .bind(community)
        .bind(id)
        .fetch_all(db.pool())
        .await?;
        targets.extend(households.into_iter().map(|h| (community, unit, h)));
    }
    let due = format_time(due_at);
    let mut written = 0;
    let mut first = true;
    for batch in targets.chunks(DISTRIBUTION_BATCH) {
        let mut write = begin(db, caller, time_zone).await?;
        for (community, unit, (household, customer, name, phone)) in batch {
            let follow_up = FollowUp {
                schema_version: SCHEMA_VERSION,
                id: huifang_protocol::new_document_id(),
                kind: FollowUpKind::Survey,
                sheet_id: None,
                household_id: Some(*household),
                customer_id: *customer,
                customer_name: name.clone().unwrap_or_default(),
                contact_phone: phone.clone().unwrap_or_default(),
                assignee_unit_id: *unit,
                assignee_staff_id: None,
                rule: huifang_protocol::AssignmentRule::SurveyDistribution,
                due_at: due.clone(),
                status: FollowUpStatus::Open,
                outcome: None,
                unreachable_attempts: Vec::new(),
                signature: None,
                cancel_reason: None,
                overdue_at: None,
                escalations: Vec::new(),
                reassignments: Vec::new(),
                created_at: write.now_text(),
            };
            let inserted = sqlx::query(
                "INSERT INTO survey_distributions (follow_up_id, form_id, household_id, community_id)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (form_id, household_id) DO NOTHING",
            )
            .bind(&follow_up.id)
            .bind(id)
            .bind(household)
            .bind(community)
            .execute(&mut **write.tx())
            .await?;
            if inserted.rows_affected() == 0 {
                continue; // sent meanwhile
            }
            write
                .store(&mut AutoCommit::new(), &follow_up, "follow_up.survey_sent")
                .await?;
            written += 1;
        }
        if first {
            let form = load(&mut write, id).await?;
            if form.status == FormStatus::Approved {
                transition(
                    &mut write,
                    &form,
                    &[FormStatus::Approved],
                    FormStatus::Distributed,
                    "distributed_at",
                    None,
                )
                .await?;
            }
            first = false;
        }
        write.commit().await?;
    }
    Ok(Distribution {
        form: get(db, id).await?,
        follow_ups_written: written,
    })
}

/// How an answer sheet reached the system (D-SUR-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A paper form typed in by office staff.
    Paper,
    /// On a staff phone during a visit.
    Visit,
    /// Filled in by the customer.
    Customer,
}

impl Channel {
    fn code(self) -> &'static str {
        match self {
            Channel::Paper => "paper",
            Channel::Visit => "visit",
            Channel::Customer => "customer",
        }
    }
}

/// Records one household's answers: checked against the form, bound to its version, and the
/// survey follow-up completed, all in one transaction.
/// An answer sheet as stored: which version of the form it answers (D-SUR-2), how it came in,
/// who entered it and when, and the answers kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredResponse {
    pub follow_up_id: String,
    pub form_id: i64,
    pub form_sha256: String,
    pub community_id: i64,
    pub channel: Channel,
    pub entered_by: i64,
    pub entered_at: String,
    pub answers: Vec<SurveyAnswer>,
}

pub async fn answer(
    db: &Database,
    time_zone: chrono_tz::Tz,
    caller: &Caller,
    id: i64,
    follow_up_id: &str,
    channel: Channel,
    answers: &[SurveyAnswer],
) -> Result<StoredResponse, Error> {
    let form = get(db, id).await?;
    if form.status != FormStatus::Distributed {
        return Err(Error::Conflict(format!(
            "survey form {id} is {}; answers are taken while it is distributed",
            form.status.code()
        )));
    }
    form.content
        .check_answers(answers)
        .map_err(|problems| Error::Invalid {
            message: format!("the answers do not fit the form: {}", problems.join("; ")),
            details: problems,
        })?;
    let sent: Option<i64> = sqlx::query_scalar(
        "SELECT community_id FROM survey_distributions WHERE follow_up_id = $1 AND form_id = $2",
    )
    .bind(follow_up_id)
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    let missing = || {
        Error::NotFound(format!(
            "follow-up {follow_up_id} is not a survey follow-up of form {id} in your scope"
        ))
    };
    let community = sent.ok_or_else(missing)?;
    let mut write = begin(db, caller, time_zone).await?;
    // Checked again under the write lock: the form may have been closed meanwhile.
    if load(&mut write, id).await?.status != FormStatus::Distributed {
        return Err(Error::Conflict(format!(
            "survey form {id} was closed; answers are no longer taken"
        )));
    }
    let (mut doc, follow_up) = write
        .load::<FollowUp>(follow_up_id)
        .await?
        .ok_or_else(missing)?;
    // Answers are entered by whoever does the survey follow-up (its person or unit), not by
    // head office on another unit's behalf.
    if !crate::followups::is_assigned_within(&caller.own_work(), &follow_up) {
        return Err(missing());
    }
    if follow_up.status.is_closed() {
        return Err(Error::Conflict(format!(
            "follow-up {follow_up_id} is {} already",
            follow_up.status
        )));
    }
    let now = write.now_text();
    sqlx::query(
        "INSERT INTO survey_responses (follow_up_id, form_id, form_sha256, community_id, channel,
            entered_by, entered_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(follow_up_id)
    .bind(id)
    .bind(&form.content_sha256)
    .bind(community)
    .bind(channel.code())
    .bind(caller.staff_id)
    .bind(&now)
    .execute(&mut **write.tx())
    .await?;
    for answer in answers {
        let rows: Vec<(Option<i64>, Option<&str>, Option<&str>)> =
            if let Some(rating) = answer.rating {
                vec![(Some(i64::from(rating)), None, None)]
            } else if let Some(text) = &answer.text {
                vec![(None, None, Some(text.trim()))]
            } else {
                answer
                    .choices
                    .iter()
                    .map(|c| (None, Some(c.as_str()), None))
                    .collect()
            };
        for (rating, choice, text) in rows {
            sqlx::query(
                "INSERT INTO survey_answers (follow_up_id, question_id, rating, choice, text,
                    form_id, community_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(follow_up_id)
            .bind(&answer.question_id)
            .bind(rating)
            .bind(choice)
            .bind(text)
            .bind(id)
            .bind(community)
            .execute(&mut **write.tx())
            .await?;
        }
    }
    let mut after = follow_up.clone();
    after.status = FollowUpStatus::Completed;
    after
        .validate()
        .map_err(|e| Error::internal(format!("{e}")))?;
    write
        .store(&mut doc, &after, "follow_up.survey_answered")
        .await?;
    write.commit().await?;
    Ok(StoredResponse {
        follow_up_id: follow_up_id.to_owned(),
        form_id: id,
        form_sha256: form.content_sha256,
        community_id: community,
        channel,
        entered_by: caller.staff_id,
        entered_at: now,
        answers: answers
            .iter()
            .map(|a| SurveyAnswer {
                text: a.text.as_ref().map(|t| t.trim().to_owned()),
                ..a.clone()
            })
            .collect(),
    })
}

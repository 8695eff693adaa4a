//! The annual opinion survey as stored (R-SUR-1…3): form versions and their approval, the
//! follow-ups it was sent out with, the responses and their answers, and the counts its report
//! is made of. Who may do what, and checking answers against the form, are the domain's.

use huifang_protocol::{Labelled, SurveyContent, UnitKind};
use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, FromRow};

use crate::db::Database;
use crate::documents::DocWrite;
use crate::error::StoreError;

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
    const ALL: [FormStatus; 5] = [
        FormStatus::Draft,
        FormStatus::Submitted,
        FormStatus::Approved,
        FormStatus::Distributed,
        FormStatus::Closed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            FormStatus::Draft => "draft",
            FormStatus::Submitted => "submitted",
            FormStatus::Approved => "approved",
            FormStatus::Distributed => "distributed",
            FormStatus::Closed => "closed",
        }
    }

    fn parse(code: &str) -> Result<Self, StoreError> {
        Self::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .ok_or_else(|| StoreError::corrupt(format!("stored form status {code}")))
    }

    /// The column that records when a form reached this status.
    fn time_column(self) -> &'static str {
        match self {
            FormStatus::Draft => "created_at",
            FormStatus::Submitted => "submitted_at",
            FormStatus::Approved => "approved_at",
            FormStatus::Distributed => "distributed_at",
            FormStatus::Closed => "closed_at",
        }
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

const FORM_SELECT: &str = "SELECT id, year, version, revised_from, status, content,
    content_sha256, created_by, created_at, submitted_at, approved_by, approved_at,
    approved_sha256, distributed_at, closed_at FROM survey_forms";

impl TryFrom<FormRow> for SurveyForm {
    type Error = StoreError;

    fn try_from(row: FormRow) -> Result<Self, StoreError> {
        Ok(SurveyForm {
            content: serde_json::from_str(&row.content)
                .map_err(|e| StoreError::corrupt(format!("stored survey form: {e}")))?,
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

/// Form `id`, if it exists.
pub async fn form(db: &Database, id: i64) -> Result<Option<SurveyForm>, StoreError> {
    let row: Option<FormRow> =
        sqlx::query_as(AssertSqlSafe(format!("{FORM_SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
    row.map(SurveyForm::try_from).transpose()
}

/// Form `id` inside a write, for changing it.
pub async fn form_in(write: &mut DocWrite, id: i64) -> Result<Option<SurveyForm>, StoreError> {
    let row: Option<FormRow> =
        sqlx::query_as(AssertSqlSafe(format!("{FORM_SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_optional(write.tx())
            .await?;
    row.map(SurveyForm::try_from).transpose()
}

/// Every form, newest year and version first.
pub async fn forms(db: &Database) -> Result<Vec<SurveyForm>, StoreError> {
    let rows: Vec<FormRow> = sqlx::query_as(AssertSqlSafe(format!(
        "{FORM_SELECT} ORDER BY year DESC, version DESC"
    )))
    .fetch_all(db.pool())
    .await?;
    rows.into_iter().map(SurveyForm::try_from).collect()
}

fn content_text(content: &SurveyContent) -> Result<String, StoreError> {
    serde_json::to_string(content).map_err(|e| StoreError::invalid(format!("survey form: {e}")))
}

/// Stores a draft: the next version of its year. Returns its id.
pub async fn insert_draft(
    write: &mut DocWrite,
    content: &SurveyContent,
    revised_from: Option<i64>,
    created_by: i64,
) -> Result<i64, StoreError> {
    let now = write.now_text();
    Ok(sqlx::query_scalar(
        "INSERT INTO survey_forms (year, version, revised_from, status, content, content_sha256,
            created_by, created_at, updated_at)
         VALUES ($1, (SELECT COALESCE(MAX(version), 0) + 1 FROM survey_forms WHERE year = $1),
                 $2, $7, $3, $4, $5, $6, $6)
         RETURNING id",
    )
    .bind(i64::from(content.year))
    .bind(revised_from)
    .bind(content_text(content)?)
    .bind(content.sha256())
    .bind(created_by)
    .bind(&now)
    .bind(FormStatus::Draft.code())
    .fetch_one(write.tx())
    .await?)
}

/// Replaces a form's content.
pub async fn update_content(
    write: &mut DocWrite,
    id: i64,
    content: &SurveyContent,
) -> Result<(), StoreError> {
    let now = write.now_text();
    sqlx::query(
        "UPDATE survey_forms SET content = $1, content_sha256 = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(content_text(content)?)
    .bind(content.sha256())
    .bind(now)
    .bind(id)
    .execute(write.tx())
    .await?;
    Ok(())
}

/// Moves a form to `to`, noting when (and who approved it, and the content they approved).
pub async fn set_status(
    write: &mut DocWrite,
    id: i64,
    to: FormStatus,
    approved_by: Option<i64>,
) -> Result<(), StoreError> {
    let now = write.now_text();
    let sql = format!(
        "UPDATE survey_forms SET status = $1, {set} = $2, updated_at = $2,
             approved_by = COALESCE($3, approved_by),
             approved_sha256 = CASE WHEN $1 = '{approved}' THEN content_sha256 ELSE approved_sha256 END
         WHERE id = $4",
        set = to.time_column(),
        approved = FormStatus::Approved.code()
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(to.code())
        .bind(now)
        .bind(approved_by)
        .bind(id)
        .execute(write.tx())
        .await?;
    Ok(())
}

/// The unit a community's forms go out through: its customer service centre, else its
/// property office.
pub async fn sending_unit(db: &Database, community: i64) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT u.id FROM units u LEFT JOIN units p ON p.id = u.parent_id
         WHERE COALESCE(u.community_id, p.community_id) = $1
           AND u.kind IN ($2, $3)
         ORDER BY CASE u.kind WHEN $2 THEN 0 ELSE 1 END, u.id LIMIT 1",
    )
    .bind(community)
    .bind(UnitKind::CustomerServiceCenter.code())
    .bind(UnitKind::PropertyOffice.code())
    .fetch_optional(db.pool())
    .await?)
}

/// A household a form has not been sent to yet, with its first customer.
#[derive(Debug, Clone, FromRow)]
pub struct Recipient {
    pub household_id: i64,
    pub customer_id: Option<i64>,
    pub name: Option<String>,
    pub phone: Option<String>,
}

/// The households of `community` that form `form_id` has not been sent to.
pub async fn unsent(
    db: &Database,
    form_id: i64,
    community: i64,
) -> Result<Vec<Recipient>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT h.id AS household_id, c.id AS customer_id, c.name, c.phone FROM households h
         LEFT JOIN customers c ON c.id = (SELECT MIN(c2.id) FROM customers c2 WHERE c2.household_id = h.id)
         WHERE h.community_id = $1
           AND NOT EXISTS (SELECT 1 FROM survey_distributions d WHERE d.form_id = $2 AND d.household_id = h.id)
         ORDER BY h.id",
    )
    .bind(community)
    .bind(form_id)
    .fetch_all(db.pool())
    .await?)
}

/// Records that form `form_id` went to `household` with follow-up `follow_up_id`; false if it
/// was sent there meanwhile.
pub async fn record_sent(
    write: &mut DocWrite,
    follow_up_id: &str,
    form_id: i64,
    household: i64,
    community: i64,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO survey_distributions (follow_up_id, form_id, household_id, community_id)
         VALUES ($1, $2, $3, $4) ON CONFLICT (form_id, household_id) DO NOTHING",
    )
    .bind(follow_up_id)
    .bind(form_id)
    .bind(household)
    .bind(community)
    .execute(write.tx())
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Up to `limit` survey follow-ups of form `form_id` still open (nobody has answered them).
pub async fn open_follow_ups(
    db: &Database,
    form_id: i64,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT d.follow_up_id FROM survey_distributions d
         JOIN follow_ups f ON f.id = d.follow_up_id
         WHERE d.form_id = $1 AND f.status = {}
         ORDER BY d.follow_up_id LIMIT $2",
        crate::db::code(huifang_protocol::FollowUpStatus::Open)
    )))
    .bind(form_id)
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

/// The community follow-up `follow_up_id` carried form `form_id` to, if it did.
pub async fn sent_to(
    write: &mut DocWrite,
    follow_up_id: &str,
    form_id: i64,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT community_id FROM survey_distributions WHERE follow_up_id = $1 AND form_id = $2",
    )
    .bind(follow_up_id)
    .bind(form_id)
    .fetch_optional(write.tx())
    .await?)
}

/// A response to a form, as it is stored.
#[derive(Debug, Clone)]
pub struct NewResponse<'a> {
    pub follow_up_id: &'a str,
    pub form_id: i64,
    pub form_sha256: &'a str,
    pub community_id: i64,
    pub channel: &'a str,
    pub entered_by: i64,
}

/// One stored answer: a rating, one choice or a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerValue<'a> {
    Rating(i64),
    Choice(&'a str),
    Text(&'a str),
}

/// Stores a response with its answers (question id, value).
pub async fn insert_response(
    write: &mut DocWrite,
    response: &NewResponse<'_>,
    answers: &[(&str, AnswerValue<'_>)],
) -> Result<(), StoreError> {
    let now = write.now_text();
    sqlx::query(
        "INSERT INTO survey_responses (follow_up_id, form_id, form_sha256, community_id, channel,
            entered_by, entered_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(response.follow_up_id)
    .bind(response.form_id)
    .bind(response.form_sha256)
    .bind(response.community_id)
    .bind(response.channel)
    .bind(response.entered_by)
    .bind(&now)
    .execute(write.tx())
    .await?;
    for (question, value) in answers {
        let (rating, choice, text) = match value {
            AnswerValue::Rating(r) => (Some(*r), None, None),
            AnswerValue::Choice(c) => (None, Some(*c), None),
            AnswerValue::Text(t) => (None, None, Some(*t)),
        };
        sqlx::query(
            "INSERT INTO survey_answers (follow_up_id, question_id, rating, choice, text,
                form_id, community_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(response.follow_up_id)
        .bind(*question)
        .bind(rating)
        .bind(choice)
        .bind(text)
        .bind(response.form_id)
        .bind(response.community_id)
        .execute(write.tx())
        .await?;
    }
    Ok(())
}

/// What a form's report counts, per community and question.
#[derive(Debug, Clone, Default)]
pub struct AnswerCounts {
    /// Community, its name, follow-ups sent.
    pub sent: Vec<(i64, String, i64)>,
    /// Community, responses.
    pub responses: Vec<(i64, i64)>,
    /// Community, question, response sheets answering it.
    pub answered: Vec<(i64, String, i64)>,
    /// Community, question, rating, how many.
    pub ratings: Vec<(i64, String, i64, i64)>,
    /// Community, question, option, how many.
    pub choices: Vec<(i64, String, String, i64)>,
    /// Community, question, text, how many.
    pub texts: Vec<(i64, String, String, i64)>,
}

/// Counts the answers to form `form_id`.
pub async fn answer_counts(db: &Database, form_id: i64) -> Result<AnswerCounts, StoreError> {
    let pool = db.pool();
    Ok(AnswerCounts {
        sent: sqlx::query_as(
            "SELECT d.community_id, c.name, COUNT(*) FROM survey_distributions d
             JOIN communities c ON c.id = d.community_id WHERE d.form_id = $1
             GROUP BY d.community_id, c.name ORDER BY d.community_id",
        )
        .bind(form_id)
        .fetch_all(pool)
        .await?,
        responses: sqlx::query_as(
            "SELECT community_id, COUNT(*) FROM survey_responses WHERE form_id = $1
             GROUP BY community_id",
        )
        .bind(form_id)
        .fetch_all(pool)
        .await?,
        answered: sqlx::query_as(
            "SELECT community_id, question_id, COUNT(DISTINCT follow_up_id) FROM survey_answers
             WHERE form_id = $1 GROUP BY community_id, question_id",
        )
        .bind(form_id)
        .fetch_all(pool)
        .await?,
        ratings: sqlx::query_as(
            "SELECT community_id, question_id, rating, COUNT(*) FROM survey_answers
             WHERE form_id = $1 AND rating IS NOT NULL GROUP BY community_id, question_id, rating",
        )
        .bind(form_id)
        .fetch_all(pool)
        .await?,
        choices: sqlx::query_as(
            "SELECT community_id, question_id, choice, COUNT(*) FROM survey_answers
             WHERE form_id = $1 AND choice IS NOT NULL GROUP BY community_id, question_id, choice",
        )
        .bind(form_id)
        .fetch_all(pool)
        .await?,
        texts: sqlx::query_as(
            "SELECT community_id, question_id, text, COUNT(*) FROM survey_answers
             WHERE form_id = $1 AND text IS NOT NULL AND text <> ''
             GROUP BY community_id, question_id, text",
        )
        .bind(form_id)
        .fetch_all(pool)
        .await?,
    })
}

//! Monthly submissions as stored (R-STA-2, D-STA-1): each unit's snapshot of a month's figures
//! (JSON the domain writes), written once and never changed, flagged late when made after the
//! deadline.

use sqlx::{AssertSqlSafe, FromRow};

use crate::db::Database;
use crate::documents::DocWrite;
use crate::error::{StoreError, is_unique_violation};

/// A submission as stored, with the names of its unit and of who submitted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionRow {
    pub id: i64,
    pub month: String,
    pub unit_id: i64,
    pub unit_code: String,
    pub unit_name: String,
    pub submitted_by: i64,
    pub submitted_by_name: String,
    pub submitted_at: String,
    pub deadline: String,
    pub late: bool,
    pub figures: String,
    pub figures_sha256: String,
    pub note: String,
}

#[derive(FromRow)]
struct Row {
    id: i64,
    month: String,
    unit_id: i64,
    unit_code: String,
    unit_name: String,
    submitted_by: i64,
    submitted_by_name: String,
    submitted_at: String,
    deadline: String,
    late: i64,
    figures: String,
    figures_sha256: String,
    note: String,
}

impl From<Row> for SubmissionRow {
    fn from(row: Row) -> Self {
        SubmissionRow {
            id: row.id,
            month: row.month,
            unit_id: row.unit_id,
            unit_code: row.unit_code,
            unit_name: row.unit_name,
            submitted_by: row.submitted_by,
            submitted_by_name: row.submitted_by_name,
            submitted_at: row.submitted_at,
            deadline: row.deadline,
            late: row.late != 0,
            figures: row.figures,
            figures_sha256: row.figures_sha256,
            note: row.note,
        }
    }
}

const SUBMISSION_SELECT: &str = "SELECT s.id, s.month, s.unit_id, u.code AS unit_code,
        u.name AS unit_name, s.submitted_by, st.name AS submitted_by_name, s.submitted_at,
        s.deadline, s.late, s.figures, s.figures_sha256, s.note
    FROM monthly_submissions s
    JOIN units u ON u.id = s.unit_id
    JOIN staff st ON st.id = s.submitted_by";

/// One unit's submission for `month` (`2026-11`), if made.
pub async fn find(
    db: &Database,
    month: &str,
    unit_id: i64,
) -> Result<Option<SubmissionRow>, StoreError> {
    let row: Option<Row> = sqlx::query_as(AssertSqlSafe(format!(
        "{SUBMISSION_SELECT} WHERE s.month = $1 AND s.unit_id = $2"
    )))
    .bind(month)
    .bind(unit_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(SubmissionRow::from))
}

/// A new submission.
#[derive(Debug, Clone)]
pub struct NewSubmission<'a> {
    pub month: &'a str,
    pub unit_id: i64,
    pub submitted_by: i64,
    pub deadline: &'a str,
    pub late: bool,
    pub figures: &'a str,
    pub figures_sha256: &'a str,
    pub note: &'a str,
}

/// Stores a submission in `write`, made now. False: the unit's month was submitted already
/// (then `write` must be dropped, not committed).
pub async fn insert(write: &mut DocWrite, new: &NewSubmission<'_>) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO monthly_submissions (month, unit_id, submitted_by, submitted_at, deadline,
            late, figures, figures_sha256, note)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(new.month)
    .bind(new.unit_id)
    .bind(new.submitted_by)
    .bind(write.now_text())
    .bind(new.deadline)
    .bind(i64::from(new.late))
    .bind(new.figures)
    .bind(new.figures_sha256)
    .bind(new.note)
    .execute(write.tx())
    .await;
    match inserted {
        Ok(_) => Ok(true),
        Err(error) if is_unique_violation(&error) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// A submission made for a month: unit, when, by whom (name), whether late.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Made {
    pub unit_id: i64,
    pub submitted_at: String,
    pub submitted_by_name: String,
    pub late: bool,
}

/// The submissions made for `month`.
pub async fn made(db: &Database, month: &str) -> Result<Vec<Made>, StoreError> {
    let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT s.unit_id, s.submitted_at, st.name, s.late
         FROM monthly_submissions s JOIN staff st ON st.id = s.submitted_by
         WHERE s.month = $1",
    )
    .bind(month)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(unit_id, submitted_at, submitted_by_name, late)| Made {
            unit_id,
            submitted_at,
            submitted_by_name,
            late: late != 0,
        })
        .collect())
}

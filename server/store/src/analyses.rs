//! Analysis reports as stored (R-STA-3): the report with its figures snapshot (JSON the domain
//! writes), the improvement measures it proposed and its reviews of earlier ones. What a report
//! must say, and who may write it, are the domain's.

use huifang_protocol::Lang;
use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, FromRow};

use crate::db::{Database, id_list};
use crate::documents::DocWrite;
use crate::error::StoreError;

/// Where an improvement measure stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureStatus {
    Planned,
    InProgress,
    Done,
    Dropped,
}

impl MeasureStatus {
    pub const ALL: [MeasureStatus; 4] = [
        MeasureStatus::Planned,
        MeasureStatus::InProgress,
        MeasureStatus::Done,
        MeasureStatus::Dropped,
    ];

    pub fn code(self) -> &'static str {
        match self {
            MeasureStatus::Planned => "planned",
            MeasureStatus::InProgress => "in_progress",
            MeasureStatus::Done => "done",
            MeasureStatus::Dropped => "dropped",
        }
    }

    fn parse(code: &str) -> Result<Self, StoreError> {
        Self::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .ok_or_else(|| StoreError::corrupt(format!("stored measure status {code:?}")))
    }

    /// Still to be followed up by the next report.
    pub fn is_open(self) -> bool {
        matches!(self, MeasureStatus::Planned | MeasureStatus::InProgress)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            MeasureStatus::Planned => lang.pick("计划中", "Planned"),
            MeasureStatus::InProgress => lang.pick("进行中", "In progress"),
            MeasureStatus::Done => lang.pick("已完成", "Done"),
            MeasureStatus::Dropped => lang.pick("已放弃", "Dropped"),
        }
    }
}

/// An improvement measure as it stands now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measure {
    pub id: i64,
    pub report_id: i64,
    pub unit_id: i64,
    pub description: String,
    pub owner_id: i64,
    pub owner_name: String,
    pub due_on: Option<String>,
    pub status: MeasureStatus,
    pub updated_at: String,
}

#[derive(FromRow)]
struct MeasureRow {
    id: i64,
    report_id: i64,
    unit_id: i64,
    description: String,
    owner_id: i64,
    owner_name: String,
    due_on: Option<String>,
    status: String,
    updated_at: String,
}

impl TryFrom<MeasureRow> for Measure {
    type Error = StoreError;

    fn try_from(row: MeasureRow) -> Result<Self, StoreError> {
        Ok(Measure {
            status: MeasureStatus::parse(&row.status)?,
            id: row.id,
            report_id: row.report_id,
            unit_id: row.unit_id,
            description: row.description,
            owner_id: row.owner_id,
            owner_name: row.owner_name,
            due_on: row.due_on,
            updated_at: row.updated_at,
        })
    }
}

const MEASURE_SELECT: &str = "SELECT m.id, m.report_id, m.unit_id, m.description, m.owner_id,
        st.name AS owner_name, m.due_on, m.status, m.updated_at
    FROM improvement_measures m JOIN staff st ON st.id = m.owner_id";

/// A report's word on an earlier measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    pub measure_id: i64,
    pub status: MeasureStatus,
    #[serde(default)]
    pub comment: String,
}

/// A report as stored, with the names of its unit and author.
#[derive(Debug, Clone, FromRow)]
pub struct ReportRow {
    pub id: i64,
    pub unit_id: i64,
    pub unit_name: String,
    pub author_id: i64,
    pub author_name: String,
    pub period_from: String,
    pub period_to: String,
    pub title: String,
    pub findings: String,
    /// The figures snapshot, as the domain's JSON.
    pub figures: String,
    pub figures_sha256: String,
    pub created_at: String,
}

/// A report with its measures and reviews.
#[derive(Debug, Clone)]
pub struct StoredReport {
    pub report: ReportRow,
    pub measures: Vec<Measure>,
    pub reviews: Vec<Review>,
}

/// Report `id`, whole.
pub async fn get(db: &Database, id: i64) -> Result<Option<StoredReport>, StoreError> {
    let report: Option<ReportRow> = sqlx::query_as(
        "SELECT r.id, r.unit_id, u.name AS unit_name, r.author_id, st.name AS author_name,
            r.period_from, r.period_to, r.title, r.findings, r.figures, r.figures_sha256,
            r.created_at
         FROM analysis_reports r
         JOIN units u ON u.id = r.unit_id
         JOIN staff st ON st.id = r.author_id
         WHERE r.id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    let Some(report) = report else {
        return Ok(None);
    };
    let measures: Vec<MeasureRow> = sqlx::query_as(AssertSqlSafe(format!(
        "{MEASURE_SELECT} WHERE m.report_id = $1 ORDER BY m.id"
    )))
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    let reviews: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT measure_id, status, comment FROM measure_reviews WHERE report_id = $1
         ORDER BY measure_id",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    Ok(Some(StoredReport {
        report,
        measures: measures
            .into_iter()
            .map(Measure::try_from)
            .collect::<Result<_, _>>()?,
        reviews: reviews
            .into_iter()
            .map(|(measure_id, status, comment)| {
                Ok(Review {
                    measure_id,
                    status: MeasureStatus::parse(&status)?,
                    comment,
                })
            })
            .collect::<Result<_, StoreError>>()?,
    }))
}

/// A report in a list (without its figures).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromRow)]
pub struct AnalysisSummary {
    pub id: i64,
    pub unit_id: i64,
    pub unit_name: String,
    pub author_name: String,
    pub period_from: String,
    pub period_to: String,
    pub title: String,
    pub created_at: String,
    pub measures: i64,
    pub reviews: i64,
}

/// Reports, newest first, of some units (`None`: every unit).
pub async fn list(
    db: &Database,
    units: Option<&[i64]>,
) -> Result<Vec<AnalysisSummary>, StoreError> {
    let filter = units.map_or_else(String::new, |ids| {
        format!("WHERE r.unit_id IN ({})", id_list(ids))
    });
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT r.id, r.unit_id, u.name AS unit_name, st.name AS author_name, r.period_from,
            r.period_to, r.title, r.created_at,
            (SELECT COUNT(*) FROM improvement_measures m WHERE m.report_id = r.id) AS measures,
            (SELECT COUNT(*) FROM measure_reviews v WHERE v.report_id = r.id) AS reviews
         FROM analysis_reports r
         JOIN units u ON u.id = r.unit_id
         JOIN staff st ON st.id = r.author_id
         {filter}
         ORDER BY r.created_at DESC, r.id DESC"
    )))
    .fetch_all(db.pool())
    .await?)
}

/// Measures of some units (`None`: every unit), optionally only the open ones.
pub async fn measures(
    db: &Database,
    units: Option<&[i64]>,
    open_only: bool,
) -> Result<Vec<Measure>, StoreError> {
    let mut conditions = Vec::new();
    if let Some(ids) = units {
        conditions.push(format!("m.unit_id IN ({})", id_list(ids)));
    }
    if open_only {
        conditions.push(format!(
            "m.status IN ('{}', '{}')",
            MeasureStatus::Planned.code(),
            MeasureStatus::InProgress.code()
        ));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let rows: Vec<MeasureRow> = sqlx::query_as(AssertSqlSafe(format!(
        "{MEASURE_SELECT} {filter} ORDER BY m.unit_id, m.id"
    )))
    .fetch_all(db.pool())
    .await?;
    rows.into_iter().map(Measure::try_from).collect()
}

/// Of `owners`, those who are active staff of `units` (in the write's transaction).
pub async fn active_members(
    write: &mut DocWrite,
    owners: &[i64],
    units: &[i64],
) -> Result<Vec<i64>, StoreError> {
    if owners.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT id FROM staff WHERE id IN ({}) AND unit_id IN ({}) AND deactivated_at IS NULL",
        id_list(owners),
        id_list(units)
    )))
    .fetch_all(write.tx())
    .await?)
}

/// The ids of a unit's open measures (in the write's transaction).
pub async fn open_measures(write: &mut DocWrite, unit_id: i64) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM improvement_measures
         WHERE unit_id = $1 AND status IN ($2, $3) ORDER BY id",
    )
    .bind(unit_id)
    .bind(MeasureStatus::Planned.code())
    .bind(MeasureStatus::InProgress.code())
    .fetch_all(write.tx())
    .await?)
}

/// A new report.
#[derive(Debug, Clone)]
pub struct NewReport<'a> {
    pub unit_id: i64,
    pub author_id: i64,
    pub period_from: &'a str,
    pub period_to: &'a str,
    pub title: &'a str,
    pub findings: &'a str,
    pub figures: &'a str,
    pub figures_sha256: &'a str,
}

/// A new measure: description, owner, due date.
#[derive(Debug, Clone)]
pub struct NewMeasureRow<'a> {
    pub description: &'a str,
    pub owner_id: i64,
    pub due_on: Option<&'a str>,
}

/// Stores a report, its new measures (planned) and its reviews, which move the reviewed
/// measures to their new status. Returns the report's id.
pub async fn insert(
    write: &mut DocWrite,
    report: &NewReport<'_>,
    measures: &[NewMeasureRow<'_>],
    reviews: &[Review],
) -> Result<i64, StoreError> {
    let now = write.now_text();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO analysis_reports (unit_id, author_id, period_from, period_to, title,
            findings, figures, figures_sha256, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(report.unit_id)
    .bind(report.author_id)
    .bind(report.period_from)
    .bind(report.period_to)
    .bind(report.title)
    .bind(report.findings)
    .bind(report.figures)
    .bind(report.figures_sha256)
    .bind(&now)
    .fetch_one(write.tx())
    .await?;
    for measure in measures {
        sqlx::query(
            "INSERT INTO improvement_measures (report_id, unit_id, description, owner_id, due_on,
                status, updated_at)
             VALUES ($1, $2, $3, $4, $5, $7, $6)",
        )
        .bind(id)
        .bind(report.unit_id)
        .bind(measure.description)
        .bind(measure.owner_id)
        .bind(measure.due_on)
        .bind(&now)
        .bind(MeasureStatus::Planned.code())
        .execute(write.tx())
        .await?;
    }
    for review in reviews {
        sqlx::query(
            "INSERT INTO measure_reviews (report_id, measure_id, status, comment)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(review.measure_id)
        .bind(review.status.code())
        .bind(review.comment.trim())
        .execute(write.tx())
        .await?;
        sqlx::query("UPDATE improvement_measures SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(review.status.code())
            .bind(&now)
            .bind(review.measure_id)
            .execute(write.tx())
            .await?;
    }
    Ok(id)
}

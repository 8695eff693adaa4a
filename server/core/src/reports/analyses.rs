//! Analysis reports (R-STA-3): every unit periodically analyses its routine follow-ups and writes
//! a report with improvement measures.
//!
//! A report is written by the unit's head for a run of months; it keeps the figures of those
//! months for the unit (with the units under it) as they were when written, so what the analysis
//! says can always be read against what it was based on. Each improvement measure has an owner in
//! the unit and a status. A later report of the unit must say where every measure still open
//! stands — that is how measures are followed up rather than forgotten; the review updates the
//! measure's status.

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::FromRow;

use super::figures::{self, FiguresReport, GroupBy};
use crate::auth::Caller;
use crate::error::Error;
use crate::plans::Month;
use huifang_store::db::{Database, id_list};
use huifang_store::documents::DocWrite;
use huifang_store::registry::RegistryStore;

mod reading;

pub use reading::{get, list, measures};

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_FINDINGS_CHARS: usize = 20_000;
pub const MAX_MEASURES: usize = 50;
pub const MAX_MEASURE_CHARS: usize = 1_000;
/// The longest period one report analyses.
pub const MAX_PERIOD_MONTHS: usize = 12;

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

    fn parse(code: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .ok_or_else(|| Error::internal(format!("stored measure status {code:?}")))
    }

    /// Still to be followed up by the next report.
    pub fn is_open(self) -> bool {
        matches!(self, MeasureStatus::Planned | MeasureStatus::InProgress)
    }

    pub fn label(self, lang: huifang_protocol::Lang) -> &'static str {
        match self {
            MeasureStatus::Planned => lang.pick("计划中", "Planned"),
            MeasureStatus::InProgress => lang.pick("进行中", "In progress"),
            MeasureStatus::Done => lang.pick("已完成", "Done"),
            MeasureStatus::Dropped => lang.pick("已放弃", "Dropped"),
        }
    }
}

/// A new improvement measure.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMeasure {
    pub description: String,
    pub owner_id: i64,
    /// `YYYY-MM-DD`.
    pub due_on: Option<String>,
}

/// A report's word on an earlier measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    pub measure_id: i64,
    pub status: MeasureStatus,
    #[serde(default)]
    pub comment: String,
}

/// What a unit head writes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAnalysis {
    pub from: Month,
    pub to: Month,
    pub title: String,
    pub findings: String,
    #[serde(default)]
    pub measures: Vec<NewMeasure>,
    #[serde(default)]
    pub reviews: Vec<Review>,
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

/// An analysis report with its figures, the measures it proposed and the reviews it made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub id: i64,
    pub unit_id: i64,
    pub unit_name: String,
    pub author_id: i64,
    pub author_name: String,
    pub from: Month,
    pub to: Month,
    pub title: String,
    pub findings: String,
    /// The unit's figures month by month, as they were when the report was written.
    pub figures: FiguresReport,
    pub figures_sha256: String,
    pub created_at: String,
    pub measures: Vec<Measure>,
    pub reviews: Vec<Review>,
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

fn too_long(what: &str, text: &str, max: usize) -> Option<String> {
    let n = text.chars().count();
    (n > max).then(|| format!("{what} has {n} characters; at most {max}"))
}

/// Checks what does not need the database; every problem is reported at once.
fn check(new: &NewAnalysis, current: Month) -> Result<(), Error> {
    let mut problems = Vec::new();
    if new.from > new.to {
        problems.push(format!("from ({}) is after to ({})", new.from, new.to));
    }
    if new.to > current {
        problems.push(format!(
            "the period ends in {}, which has not begun (it is {current})",
            new.to
        ));
    }
    let mut months = 1;
    let mut month = new.from;
    while month < new.to && months <= MAX_PERIOD_MONTHS {
        month = month.next();
        months += 1;
    }
    if months > MAX_PERIOD_MONTHS {
        problems.push(format!(
            "a report analyses at most {MAX_PERIOD_MONTHS} months"
        ));
    }
    if new.title.trim().is_empty() {
        problems.push("the title is empty".into());
    }
    problems.extend(too_long("the title", &new.title, MAX_TITLE_CHARS));
    if new.findings.trim().is_empty() {
        problems.push("the findings are empty: say what the figures show".into());
    }
    problems.extend(too_long("the findings", &new.findings, MAX_FINDINGS_CHARS));
    if new.measures.len() > MAX_MEASURES {
        problems.push(format!("at most {MAX_MEASURES} measures per report"));
    }
    for (i, measure) in new.measures.iter().enumerate() {
        let n = i + 1;
        if measure.description.trim().is_empty() {
            problems.push(format!("measure {n} has no description"));
        }
        problems.extend(too_long(
            &format!("measure {n}"),
            &measure.description,
            MAX_MEASURE_CHARS,
        ));
        if let Some(due) = &measure.due_on
            && NaiveDate::parse_from_str(due, "%Y-%m-%d").is_err()
        {
            problems.push(format!(
                "measure {n}: due_on {due:?} is not a date (YYYY-MM-DD)"
            ));
        }
    }
    for review in &new.reviews {
        problems.extend(too_long(
            &format!("the review of measure {}", review.measure_id),
            &review.comment,
            MAX_MEASURE_CHARS,
        ));
        if new
            .reviews
            .iter()
            .filter(|r| r.measure_id == review.measure_id)
            .count()
            > 1
        {
            problems.push(format!("measure {} is reviewed twice", review.measure_id));
        }
    }
    problems.dedup();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid {
            message: format!("the analysis report is not valid: {}", problems.join("; ")),
            details: problems,
        })
    }
}

/// The unit a caller writes analyses for: a unit head's own.
pub fn writing_unit(caller: &Caller) -> Result<i64, Error> {
    caller
        .unit
        .filter(|_| caller.role == huifang_protocol::Role::UnitHead)
        .map(|unit| unit.id)
        .ok_or_else(|| {
            Error::Forbidden(
                "an analysis report is written by the head of the unit it analyses (R-STA-3)"
                    .into(),
            )
        })
}

/// Writes a report for `unit_id`: checks it, snapshots the period's figures, records its
/// measures and its reviews of the unit's open measures (all of them, or it is refused), in one
/// transaction.
pub async fn write(
    db: &Database,
    time_zone: Tz,
    caller: &Caller,
    unit_id: i64,
    new: NewAnalysis,
) -> Result<Analysis, Error> {
    check(&new, Month::of(db.now(), time_zone))?;
    let units = RegistryStore::new(db.clone())
        .unit_and_below(unit_id)
        .await?;
    let snapshot = figures::compute(db, new.from, new.to, GroupBy::Month, Some(&units)).await?;
    let text = serde_json::to_string(&snapshot).map_err(|e| Error::Internal(e.into()))?;
    let sha256 = hex::encode(Sha256::digest(text.as_bytes()));

    let mut write = DocWrite::begin(db, caller.audit_actor(), time_zone).await?;
    let mut problems = Vec::new();
    // Owners must be active staff of the unit or the units under it.
    let owners: Vec<i64> = new.measures.iter().map(|m| m.owner_id).collect();
    let eligible: Vec<i64> = if owners.is_empty() {
        Vec::new()
    } else {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM staff WHERE id IN ({}) AND unit_id IN ({}) AND deactivated_at IS NULL",
            id_list(&owners),
            id_list(&units)
        )))
        .fetch_all(&mut **write.tx())
        .await?
    };
    for (i, measure) in new.measures.iter().enumerate() {
        if !eligible.contains(&measure.owner_id) {
            problems.push(format!(
                "measure {}: staff {} is not an active member of the unit",
                i + 1,
                measure.owner_id
            ));
        }
    }
    // Every measure still open must be reviewed, and only those.
    let open: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM improvement_measures
         WHERE unit_id = $1 AND status IN ($2, $3) ORDER BY id",
    )
    .bind(unit_id)
    .bind(MeasureStatus::Planned.code())
    .bind(MeasureStatus::InProgress.code())
    .fetch_all(&mut **write.tx())
    .await?;
    let unreviewed: Vec<String> = open
        .iter()
        .filter(|id| !new.reviews.iter().any(|r| r.measure_id == **id))
        .map(i64::to_string)
        .collect();
    if !unreviewed.is_empty() {
        problems.push(format!(
            "say where the open measures {} stand (reviews)",
            unreviewed.join(", ")
        ));
    }
    for review in &new.reviews {
        if !open.contains(&review.measure_id) {
            problems.push(format!(
                "measure {} is not an open measure of this unit",
                review.measure_id
            ));
        }
    }
    if !problems.is_empty() {
        return Err(Error::Invalid {
            message: format!("the analysis report is not valid: {}", problems.join("; ")),
            details: problems,
        });
    }

    let now = write.now_text();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO analysis_reports (unit_id, author_id, period_from, period_to, title,
            findings, figures, figures_sha256, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(unit_id)
    .bind(caller.staff_id)
    .bind(new.from.to_string())
    .bind(new.to.to_string())
    .bind(new.title.trim())
    .bind(new.findings.trim())
    .bind(&text)
    .bind(&sha256)
    .bind(&now)
    .fetch_one(&mut **write.tx())
    .await?;
    for measure in &new.measures {
        sqlx::query(
            "INSERT INTO improvement_measures (report_id, unit_id, description, owner_id, due_on,
                status, updated_at)
             VALUES ($1, $2, $3, $4, $5, $7, $6)",
        )
        .bind(id)
        .bind(unit_id)
        .bind(measure.description.trim())
        .bind(measure.owner_id)
        .bind(&measure.due_on)
        .bind(&now)
        .bind(MeasureStatus::Planned.code())
        .execute(&mut **write.tx())
        .await?;
    }
    for review in &new.reviews {
        sqlx::query(
            "INSERT INTO measure_reviews (report_id, measure_id, status, comment)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(review.measure_id)
        .bind(review.status.code())
        .bind(review.comment.trim())
        .execute(&mut **write.tx())
        .await?;
        sqlx::query("UPDATE improvement_measures SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(review.status.code())
            .bind(&now)
            .bind(review.measure_id)
            .execute(&mut **write.tx())
            .await?;
    }
    write
        .audit(
            "analysis.written",
            &format!("analysis/{id}"),
            json!({
                "unit_id": unit_id,
                "period": [new.from, new.to],
                "figures_sha256": sha256,
                "measures": new.measures.len(),
                "reviews": new.reviews.iter().map(|r| json!([r.measure_id, r.status])).collect::<Vec<_>>(),
            }),
        )
        .await?;
    write.commit().await?;
    get(db, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analysis() -> NewAnalysis {
        NewAnalysis {
            from: "2026-09".parse().unwrap(),
            to: "2026-11".parse().unwrap(),
            title: "三季度例行回访分析".into(),
            findings: "维修及时率偏低".into(),
            measures: vec![NewMeasure {
                description: "维修完成后当日回访".into(),
                owner_id: 1,
                due_on: Some("2026-12-31".into()),
            }],
            reviews: Vec::new(),
        }
    }

    fn problems(new: &NewAnalysis) -> Vec<String> {
        match check(new, "2026-11".parse().unwrap()) {
            Ok(()) => Vec::new(),
            Err(Error::Invalid { details, .. }) => details,
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn r_sta_3_a_sound_report_passes() {
        assert_eq!(problems(&analysis()), Vec::<String>::new());
    }

    #[test]
    fn r_sta_3_every_problem_is_named_at_once() {
        let mut bad = analysis();
        bad.from = "2026-12".parse().unwrap();
        bad.to = "2026-12".parse().unwrap();
        bad.title = " ".into();
        bad.findings = "很".repeat(MAX_FINDINGS_CHARS + 1);
        bad.measures[0].due_on = Some("2026-02-30".into());
        bad.reviews = vec![
            Review {
                measure_id: 7,
                status: MeasureStatus::Done,
                comment: String::new(),
            },
            Review {
                measure_id: 7,
                status: MeasureStatus::Dropped,
                comment: String::new(),
            },
        ];
        let found = problems(&bad);
        for needle in [
            "has not begun",
            "title is empty",
            "the findings has",
            "is not a date",
            "reviewed twice",
        ] {
            assert!(
                found.iter().any(|p| p.contains(needle)),
                "{needle} in {found:?}"
            );
        }
    }

    #[test]
    fn r_sta_3_a_report_covers_at_most_a_year() {
        let mut long = analysis();
        long.from = "2025-11".parse().unwrap();
        assert!(
            problems(&long)
                .iter()
                .any(|p| p.contains("at most 12 months"))
        );
        long.from = "2025-12".parse().unwrap();
        assert_eq!(problems(&long), Vec::<String>::new());
    }
}

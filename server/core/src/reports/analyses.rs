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

use super::figures::{self, FiguresReport, GroupBy};
use crate::auth::Caller;
use crate::error::Error;
use crate::plans::Month;
use huifang_store::analyses as stored;
use huifang_store::db::Database;
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

pub use huifang_store::analyses::{AnalysisSummary, Measure, MeasureStatus, Review};

/// A new improvement measure.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMeasure {
    pub description: String,
    pub owner_id: i64,
    /// `YYYY-MM-DD`.
    pub due_on: Option<String>,
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
    let eligible = stored::active_members(&mut write, &owners, &units).await?;
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
    let open = stored::open_measures(&mut write, unit_id).await?;
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

    let measures: Vec<stored::NewMeasureRow> = new
        .measures
        .iter()
        .map(|m| stored::NewMeasureRow {
            description: m.description.trim(),
            owner_id: m.owner_id,
            due_on: m.due_on.as_deref(),
        })
        .collect();
    let id = stored::insert(
        &mut write,
        &stored::NewReport {
            unit_id,
            author_id: caller.staff_id,
            period_from: &new.from.to_string(),
            period_to: &new.to.to_string(),
            title: new.title.trim(),
            findings: new.findings.trim(),
            figures: &text,
            figures_sha256: &sha256,
        },
        &measures,
        &new.reviews,
    )
    .await?;
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

//! Monthly submissions (R-STA-2, D-STA-1): the marketing department, every property office and
//! every sales site hand their month's figures to the development department before the 30th.
//!
//! A submission is the unit head's snapshot of the figures of their unit (an office's include its
//! customer service centre and departments) at the moment they submit; it is written once and
//! never changed, so what head office compiled from stays what the unit handed in. One made after
//! the deadline — the end of the 30th, or of the month's last day where the month is shorter, in
//! the company's time zone — is kept and flagged late.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use huifang_protocol::UnitKind;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::figures::{self, Figures, GroupBy};
use crate::auth::Caller;
use crate::error::Error;
use crate::plans::Month;
use huifang_protocol::format_time;
use huifang_store::db::Database;
use huifang_store::documents::DocWrite;
use huifang_store::registry::RegistryStore;
use huifang_store::submissions::{self as stored, NewSubmission, SubmissionRow};
use huifang_store::units::UnitName;

/// The longest note a unit head can attach to a submission.
pub const MAX_NOTE_CHARS: usize = 2_000;

/// The day of the month by which the figures are due (R-STA-2).
const DEADLINE_DAY: u32 = 30;

/// The first instant after the deadline for `month`'s figures: the end of the 30th, or of the
/// last day of a shorter month, in `time_zone`.
pub fn deadline(month: Month, time_zone: Tz) -> DateTime<Utc> {
    month.day_start(month.days().min(DEADLINE_DAY) + 1, time_zone)
}

/// Whether a submission made at `at` for `month` is late (D-STA-1).
pub fn is_late(month: Month, at: DateTime<Utc>, time_zone: Tz) -> bool {
    at >= deadline(month, time_zone)
}

/// What a unit handed in: the figures of the month for the unit and the units under it, in total
/// and unit by unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmittedFigures {
    pub total: Figures,
    pub by_unit: Vec<Figures>,
}

/// One unit's submission for one month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    pub id: i64,
    pub month: Month,
    pub unit_id: i64,
    pub unit_code: String,
    pub unit_name: String,
    pub submitted_by: i64,
    pub submitted_by_name: String,
    pub submitted_at: String,
    pub deadline: String,
    pub late: bool,
    pub figures: SubmittedFigures,
    /// SHA-256 of the stored figures, as recorded in the audit log when submitted.
    pub figures_sha256: String,
    pub note: String,
}

/// Where one unit that must submit stands for a month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmissionState {
    pub unit_id: i64,
    pub unit_code: String,
    pub unit_name: String,
    pub unit_kind: UnitKind,
    pub submitted: bool,
    pub submitted_at: Option<String>,
    pub submitted_by_name: Option<String>,
    pub late: bool,
    /// Not submitted and the deadline has passed.
    pub missing: bool,
}

/// Who has and has not submitted a month's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmissionOverview {
    pub month: Month,
    /// The first instant after the deadline.
    pub deadline: String,
    pub deadline_passed: bool,
    pub expected: usize,
    pub on_time: usize,
    pub late: usize,
    /// Not yet submitted (whether or not the deadline has passed).
    pub outstanding: usize,
    pub units: Vec<SubmissionState>,
}

impl TryFrom<SubmissionRow> for Submission {
    type Error = Error;

    fn try_from(row: SubmissionRow) -> Result<Self, Error> {
        let broken =
            |what: &str| Error::internal(format!("submission {} has a broken {what}", row.id));
        Ok(Submission {
            id: row.id,
            month: row.month.parse().map_err(|_| broken("month"))?,
            unit_id: row.unit_id,
            unit_code: row.unit_code.clone(),
            unit_name: row.unit_name.clone(),
            submitted_by: row.submitted_by,
            submitted_by_name: row.submitted_by_name.clone(),
            submitted_at: row.submitted_at.clone(),
            deadline: row.deadline.clone(),
            late: row.late,
            figures: serde_json::from_str(&row.figures).map_err(|_| broken("snapshot"))?,
            figures_sha256: row.figures_sha256.clone(),
            note: row.note.clone(),
        })
    }
}

async fn reporting_units(db: &Database) -> Result<Vec<UnitName>, Error> {
    Ok(huifang_store::units::names(db, false)
        .await?
        .into_iter()
        .filter(|unit| unit.kind.submits_monthly_figures())
        .collect())
}

/// The unit a unit head submits for: their own, which must be one that submits figures.
pub fn submitting_unit(caller: &Caller, asked: Option<i64>) -> Result<i64, Error> {
    let unit = caller
        .unit
        .filter(|_| caller.role == huifang_protocol::Role::UnitHead)
        .filter(|unit| unit.kind.submits_monthly_figures())
        .ok_or_else(|| {
            Error::Forbidden(
                "monthly figures are submitted by the head of the marketing department, of a \
                 property office or of a sales site (R-STA-2)"
                    .into(),
            )
        })?;
    match asked {
        Some(id) if id != unit.id => Err(Error::Forbidden(format!(
            "you submit the figures of your own unit ({}), not of unit {id}",
            unit.id
        ))),
        _ => Ok(unit.id),
    }
}

/// Submits `month`'s figures of `unit_id` (checked by [`submitting_unit`]) as a locked snapshot.
pub async fn submit(
    db: &Database,
    time_zone: Tz,
    caller: &Caller,
    month: Month,
    unit_id: i64,
    note: String,
) -> Result<Submission, Error> {
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(Error::invalid(format!(
            "the note has {} characters; at most {MAX_NOTE_CHARS} are kept",
            note.chars().count()
        )));
    }
    let current = Month::of(db.now(), time_zone);
    if month > current {
        return Err(Error::invalid(format!(
            "{month} has not begun (it is {current}); a month's figures are submitted during \
             the month"
        )));
    }
    if let Some(existing) = find(db, month, unit_id).await? {
        return Err(already_submitted(&existing));
    }
    let units = RegistryStore::new(db.clone())
        .unit_and_below(unit_id)
        .await?;
    let snapshot = SubmittedFigures {
        total: super::bulletin::total(
            figures::compute(db, month, month, GroupBy::Total, Some(&units)).await?,
        ),
        by_unit: figures::compute(db, month, month, GroupBy::Unit, Some(&units))
            .await?
            .groups,
    };
    let text = serde_json::to_string(&snapshot).map_err(|e| Error::Internal(e.into()))?;
    let sha256 = hex::encode(Sha256::digest(text.as_bytes()));

    let mut write = DocWrite::begin(db, caller.audit_actor(), time_zone).await?;
    let due = deadline(month, time_zone);
    let late = write.now >= due;
    let inserted = stored::insert(
        &mut write,
        &NewSubmission {
            month: &month.to_string(),
            unit_id,
            submitted_by: caller.staff_id,
            deadline: &format_time(due),
            late,
            figures: &text,
            figures_sha256: &sha256,
            note: &note,
        },
    )
    .await?;
    if !inserted {
        drop(write);
        let existing = find(db, month, unit_id).await?;
        return Err(existing.map_or_else(
            || Error::Conflict(format!("{month} has already been submitted")),
            |s| already_submitted(&s),
        ));
    }
    write
        .audit(
            "submission.submitted",
            &format!("submission/{month}/{unit_id}"),
            json!({ "figures_sha256": sha256, "late": late }),
        )
        .await?;
    write.commit().await?;
    find(db, month, unit_id)
        .await?
        .ok_or_else(|| Error::internal("a submission vanished after commit"))
}

fn already_submitted(existing: &Submission) -> Error {
    Error::Conflict(format!(
        "{} submitted the figures of {} for {} at {}; a submission is locked",
        existing.submitted_by_name, existing.unit_name, existing.month, existing.submitted_at
    ))
}

/// One unit's submission for a month, if made.
pub async fn find(db: &Database, month: Month, unit_id: i64) -> Result<Option<Submission>, Error> {
    stored::find(db, &month.to_string(), unit_id)
        .await?
        .map(Submission::try_from)
        .transpose()
}

/// Every unit that must submit `month`'s figures, or only `only_unit`, and where each stands.
pub async fn overview(
    db: &Database,
    time_zone: Tz,
    month: Month,
    only_unit: Option<i64>,
) -> Result<SubmissionOverview, Error> {
    let due = deadline(month, time_zone);
    let deadline_passed = db.now() >= due;
    let made = stored::made(db, &month.to_string()).await?;
    let units: Vec<SubmissionState> = reporting_units(db)
        .await?
        .into_iter()
        .filter(|unit| only_unit.is_none_or(|id| id == unit.id))
        .map(|unit| {
            let submission = made.iter().find(|s| s.unit_id == unit.id);
            SubmissionState {
                unit_id: unit.id,
                unit_code: unit.code,
                unit_name: unit.name,
                unit_kind: unit.kind,
                submitted: submission.is_some(),
                submitted_at: submission.map(|s| s.submitted_at.clone()),
                submitted_by_name: submission.map(|s| s.submitted_by_name.clone()),
                late: submission.is_some_and(|s| s.late),
                missing: submission.is_none() && deadline_passed,
            }
        })
        .collect();
    Ok(SubmissionOverview {
        month,
        deadline: format_time(due),
        deadline_passed,
        expected: units.len(),
        on_time: units.iter().filter(|u| u.submitted && !u.late).count(),
        late: units.iter().filter(|u| u.late).count(),
        outstanding: units.iter().filter(|u| !u.submitted).count(),
        units,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn month(text: &str) -> Month {
        text.parse().unwrap()
    }

    #[test]
    fn d_sta_1_the_deadline_is_the_end_of_the_30th_in_the_company_time_zone() {
        let shanghai = chrono_tz::Asia::Shanghai;
        // 30 November ends at 16:00 UTC in Shanghai (UTC+8).
        let november = month("2026-11");
        assert_eq!(
            format_time(deadline(november, shanghai)),
            "2026-11-30T16:00:00.000Z"
        );
        assert!(!is_late(november, at("2026-11-30T15:59:59.999Z"), shanghai));
        assert!(is_late(november, at("2026-11-30T16:00:00Z"), shanghai));
        // A 31-day month: the 31st is already late.
        let january = month("2027-01");
        assert!(!is_late(january, at("2027-01-30T15:00:00Z"), shanghai));
        assert!(is_late(january, at("2027-01-30T16:00:00Z"), shanghai));
        assert!(is_late(january, at("2027-01-31T03:00:00Z"), shanghai));
    }

    #[test]
    fn d_sta_1_a_shorter_month_is_due_by_its_last_day() {
        let shanghai = chrono_tz::Asia::Shanghai;
        // February 2027 has 28 days: due by the end of the 28th, i.e. the start of March.
        let february = month("2027-02");
        assert_eq!(
            deadline(february, shanghai),
            month("2027-03").start(shanghai)
        );
        assert!(!is_late(february, at("2027-02-28T15:59:59Z"), shanghai));
        assert!(is_late(february, at("2027-02-28T16:00:00Z"), shanghai));
        // A leap February has 29.
        let leap = month("2028-02");
        assert_eq!(
            format_time(deadline(leap, shanghai)),
            "2028-02-29T16:00:00.000Z"
        );
        assert!(!is_late(leap, at("2028-02-29T15:00:00Z"), shanghai));
    }

    #[test]
    fn d_sta_1_the_same_instant_can_be_on_time_in_one_zone_and_late_in_another() {
        let april = month("2026-04");
        // 30 April 20:00 UTC: in Shanghai already 1 May (late), in New York still the 30th.
        let instant = at("2026-04-30T20:00:00Z");
        assert!(is_late(april, instant, chrono_tz::Asia::Shanghai));
        assert!(!is_late(april, instant, chrono_tz::America::New_York));
        // New York's deadline follows its daylight-saving offset (UTC−4 in spring).
        assert_eq!(
            format_time(deadline(april, chrono_tz::America::New_York)),
            "2026-05-01T04:00:00.000Z"
        );
    }
}

//! The figures of D-STA-2 for a range of months: sheets accepted / valid / handled (by the month
//! of acceptance); follow-ups due, done, unreachable and overdue, the 24-hour rate, the mean of
//! each rating and the distribution of overall satisfaction (by the month they were due);
//! routine quota planned against those with an outcome (by plan month). Each measure counts as
//! D-STA-3 says, defined once in [`huifang_store::measures`]. Each part is one grouped SQL query over the
//! projections, so the figures of a large company come from indexes, not from documents.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::plans::Month;
use huifang_store::db::Database;
use huifang_store::figures;

pub use huifang_store::figures::GroupBy;

/// Means of the five ratings of D-CB-1 over the follow-ups done.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RatingMeans {
    pub handling: Option<f64>,
    pub efficiency: Option<f64>,
    pub quality: Option<f64>,
    pub attitude: Option<f64>,
    pub overall: Option<f64>,
}

/// One group's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub key: String,
    pub sheets_accepted: i64,
    pub sheets_valid: i64,
    pub sheets_handled: i64,
    /// Follow-ups of every kind whose deadline falls in the range, except those cancelled as
    /// needless; unreachable ones stay due (D-STA-3).
    pub follow_ups_due: i64,
    /// Completed with the customer's answer.
    pub follow_ups_done: i64,
    /// The 24-hour rate's denominator: information follow-ups due in the range whose deadline
    /// has passed (R-INF-4, D-STA-3).
    pub information_past_deadline: i64,
    /// The 24-hour rate's numerator: of those, the ones whose outcome (done, or unreachable at
    /// the last attempt) was recorded by the deadline.
    pub done_on_time: i64,
    /// `done_on_time ÷ information_past_deadline`; `None` when no deadline has passed.
    pub on_time_rate: Option<f64>,
    /// Past their deadline with no final outcome yet (still open, or with the head).
    pub overdue: i64,
    /// The customer could not be reached (with the head, or closed so by the head).
    pub unreachable: i64,
    pub rating_means: RatingMeans,
    /// Overall satisfaction 1…5: how many of each.
    pub overall_distribution: [i64; 5],
    /// Households of the range's routine plans.
    pub routine_planned: i64,
    /// Of those, the ones whose follow-up has an outcome (done or unreachable).
    pub routine_done: i64,
    /// `routine_done ÷ routine_planned` (R-RTN, D-STA-3).
    pub routine_completion_rate: Option<f64>,
}

/// The figures asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FiguresReport {
    pub from: Month,
    pub to: Month,
    pub by: GroupBy,
    /// Groups in key order.
    pub groups: Vec<Figures>,
}

/// `part / whole`, or `None` when there is nothing to divide by.
pub fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Computes the figures of `from ..= to`, grouped by `by`, optionally only for some units (their
/// sheets accepted, their follow-ups and routine rounds assigned).
pub async fn compute(
    db: &Database,
    from: Month,
    to: Month,
    by: GroupBy,
    units: Option<&[i64]>,
) -> Result<FiguresReport, Error> {
    if from > to {
        return Err(Error::invalid(format!("from ({from}) is after to ({to})")));
    }
    let figures::Counts {
        sheets,
        follow_ups,
        routine,
    } = figures::counts(db, &from.to_string(), &to.to_string(), by, units).await?;

    let mut groups: BTreeMap<String, Figures> = BTreeMap::new();
    fn group(groups: &mut BTreeMap<String, Figures>, key: String) -> &mut Figures {
        groups.entry(key.clone()).or_insert_with(|| Figures {
            key,
            ..Figures::default()
        })
    }
    for figures::SheetCounts {
        key,
        accepted,
        valid,
        handled,
    } in sheets
    {
        let g = group(&mut groups, key);
        g.sheets_accepted = accepted;
        g.sheets_valid = valid;
        g.sheets_handled = handled;
    }
    for row in follow_ups {
        let g = group(&mut groups, row.key);
        g.follow_ups_due = row.due;
        g.follow_ups_done = row.done;
        g.information_past_deadline = row.past_deadline;
        g.done_on_time = row.on_time;
        g.on_time_rate = ratio(row.on_time, row.past_deadline);
        g.overdue = row.overdue;
        g.unreachable = row.unreachable;
        g.rating_means = RatingMeans {
            handling: row.handling,
            efficiency: row.efficiency,
            quality: row.quality,
            attitude: row.attitude,
            overall: row.overall,
        };
        g.overall_distribution = [row.r1, row.r2, row.r3, row.r4, row.r5];
    }
    for figures::RoutineCounts { key, planned, done } in routine {
        let g = group(&mut groups, key);
        g.routine_planned = planned;
        g.routine_done = done;
        g.routine_completion_rate = ratio(done, planned);
    }
    Ok(FiguresReport {
        from,
        to,
        by,
        groups: groups.into_values().collect(),
    })
}

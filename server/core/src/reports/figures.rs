//! The figures of D-STA-2 for a range of months: sheets accepted / valid / handled (by the month
//! of acceptance); follow-ups due, done, unreachable and overdue, the 24-hour rate, the mean of
//! each rating and the distribution of overall satisfaction (by the month they were due);
//! routine quota planned against those with an outcome (by plan month). Each measure counts as
//! D-STA-3 says, defined once in [`huifang_store::measures`]. The counts come from the monthly
//! roll-up the store keeps exact ([`huifang_store::rollups`]), so the figures of a large company
//! add up a few thousand cells instead of reading its follow-ups.

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

impl From<figures::GroupCounts> for Figures {
    fn from(c: figures::GroupCounts) -> Self {
        Figures {
            sheets_accepted: c.sheets_accepted,
            sheets_valid: c.sheets_valid,
            sheets_handled: c.sheets_handled,
            follow_ups_due: c.follow_ups_due,
            follow_ups_done: c.follow_ups_done,
            information_past_deadline: c.information_past_deadline,
            done_on_time: c.information_on_time,
            on_time_rate: ratio(c.information_on_time, c.information_past_deadline),
            overdue: c.overdue,
            unreachable: c.unreachable,
            rating_means: RatingMeans {
                handling: ratio(c.handling_sum, c.handling_rated),
                efficiency: ratio(c.efficiency_sum, c.efficiency_rated),
                quality: ratio(c.quality_sum, c.quality_rated),
                attitude: ratio(c.attitude_sum, c.attitude_rated),
                overall: ratio(c.overall_sum, c.overall_rated),
            },
            overall_distribution: [c.rated_1, c.rated_2, c.rated_3, c.rated_4, c.rated_5],
            routine_planned: c.routine_planned,
            routine_done: c.routine_done,
            routine_completion_rate: ratio(c.routine_done, c.routine_planned),
            key: c.key,
        }
    }
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
    let counts = figures::counts(db, &from.to_string(), &to.to_string(), by, units).await?;
    // Key order, the same on every engine (databases sort text by their own collation).
    let groups: BTreeMap<String, Figures> = counts
        .into_iter()
        .map(|c| (c.key.clone(), Figures::from(c)))
        .collect();
    Ok(FiguresReport {
        from,
        to,
        by,
        groups: groups.into_values().collect(),
    })
}

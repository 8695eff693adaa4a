//! The measures of D-STA-3, each defined once, as a condition on a follow-up's projection row
//! (aliased `f`), beside the projection they read. The figures, the Service Bulletin (JSON, spreadsheet, CSV, printable page), the
//! overview page, the plan progress and the follow-up lists all count with these, so no two
//! places can disagree about what "due", "unreachable" or "on time" means.
//!
//! - **Due**: every follow-up whose deadline falls in the month (in the company's time zone),
//!   except one cancelled because its matter needs none (the sheet was found invalid, or it was
//!   replaced by a reassignment). "Could not be reached" is an outcome: it stays due.
//! - **Done**: completed with the customer's answer.
//! - **Unreachable**: handed to the head after the last attempt, or closed so by the head.
//! - **Outcome**: done or unreachable; routine completion counts these against the plan.
//! - **Overdue**: the deadline passed with no outcome, and still none (or still with the head).
//! - **The 24-hour rate** (R-INF-4): information follow-ups whose outcome was recorded by their
//!   deadline (24 hours after the sheet was handled) ÷ information follow-ups whose deadline fell
//!   in the month *and has passed*. Routine and survey follow-ups never enter it, and one not yet
//!   due counts in neither part.

use huifang_protocol::{FollowUpKind, FollowUpStatus, Labelled, SheetStatus};

use crate::db::{code, codes};

fn status_in(row: &str, statuses: &[FollowUpStatus]) -> String {
    format!("{row}.status IN ({})", codes(statuses))
}

fn statuses(pick: fn(FollowUpStatus) -> bool) -> Vec<FollowUpStatus> {
    FollowUpStatus::ALL
        .iter()
        .copied()
        .filter(|s| pick(*s))
        .collect()
}

/// Due in its month: everything but a follow-up cancelled as needless.
pub fn due() -> String {
    due_of("f")
}

/// Completed with the customer's answer.
pub fn done() -> String {
    done_of("f")
}

/// The customer could not be reached (with the head, or closed so).
pub fn unreachable() -> String {
    unreachable_of("f")
}

/// Has an outcome: done or unreachable.
pub fn has_outcome() -> String {
    has_outcome_of("f")
}

/// Went past its deadline and still has no final outcome.
pub fn overdue() -> String {
    overdue_of("f")
}

/// An information follow-up whose deadline has passed at `now` (a bound parameter such as
/// `$3`, holding a stored timestamp): the 24-hour rate's denominator.
pub fn information_past_deadline(now: &str) -> String {
    format!("{} AND f.due_at <= {now}", information_due_of("f"))
}

/// Of those, the ones whose outcome was recorded by the deadline: the 24-hour rate's numerator.
pub fn information_on_time(now: &str) -> String {
    format!("{} AND f.due_at <= {now}", information_on_time_of("f"))
}

/// [`due`] of the follow-up row named `row` (`f`, or a trigger's `NEW` / `OLD`).
pub fn due_of(row: &str) -> String {
    format!("{row}.status <> {}", code(FollowUpStatus::Cancelled))
}

/// [`done`] of the follow-up row named `row`.
pub fn done_of(row: &str) -> String {
    status_in(row, &[FollowUpStatus::Completed])
}

/// [`unreachable`] of the follow-up row named `row`.
pub fn unreachable_of(row: &str) -> String {
    status_in(row, &statuses(FollowUpStatus::is_unreachable))
}

/// [`has_outcome`] of the follow-up row named `row`.
pub fn has_outcome_of(row: &str) -> String {
    status_in(row, &statuses(FollowUpStatus::has_outcome))
}

/// [`overdue`] of the follow-up row named `row`.
pub fn overdue_of(row: &str) -> String {
    format!(
        "{row}.overdue_at IS NOT NULL AND {}",
        status_in(row, &[FollowUpStatus::Open, FollowUpStatus::Unreachable])
    )
}

/// An information follow-up due in its month, whether or not its deadline has passed: the
/// 24-hour rate's denominator once the month is over.
pub fn information_due_of(row: &str) -> String {
    format!(
        "{row}.kind = {} AND {}",
        code(FollowUpKind::Information),
        due_of(row)
    )
}

/// Of those, the ones whose outcome was recorded by the deadline.
pub fn information_on_time_of(row: &str) -> String {
    format!(
        "{} AND {} AND {row}.done_on_time = 1",
        information_due_of(row),
        has_outcome_of(row)
    )
}

/// A sheet (row `row` of the sheet projection) found valid: every status but invalid.
pub fn sheet_valid_of(row: &str) -> String {
    format!("{row}.status <> {}", code(SheetStatus::Invalid))
}

/// A sheet whose matter has been handled.
pub fn sheet_handled_of(row: &str) -> String {
    format!("{row}.handled_at IS NOT NULL")
}

/// Whether an outcome recorded at `outcome_at` was on time for a deadline `due_at` (both RFC
/// 3339): what the projection stores in `done_on_time`.
pub fn on_time(
    outcome_at: chrono::DateTime<chrono::Utc>,
    due_at: chrono::DateTime<chrono::Utc>,
) -> bool {
    outcome_at <= due_at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn d_sta_3_the_measures_name_every_status_once() {
        assert_eq!(due(), "f.status <> 'cancelled'");
        assert_eq!(
            unreachable(),
            "f.status IN ('unreachable', 'closed_unreachable')"
        );
        assert_eq!(
            has_outcome(),
            "f.status IN ('completed', 'unreachable', 'closed_unreachable')"
        );
        assert!(information_on_time("$3").contains("f.kind = 'information'"));
        assert!(information_on_time("$3").contains("f.due_at <= $3"));
    }
}

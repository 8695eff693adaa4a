//! The figures of D-STA-2 for a range of months: sheets accepted / valid / handled (by the month
//! of acceptance); follow-ups due, done, unreachable and overdue, the 24-hour rate, the mean of
//! each rating and the distribution of overall satisfaction (by the month they were due);
//! routine quota planned against those with an outcome (by plan month). Each measure counts as
//! D-STA-3 says, defined once in [`huifang_store::measures`]. Each part is one grouped SQL query over the
//! projections, so the figures of a large company come from indexes, not from documents.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;

use crate::error::Error;
use crate::plans::Month;
use huifang_protocol::SheetStatus;
use huifang_store::db::{Database, code, count_where, id_list};
use huifang_store::measures;

/// What the figures are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// One row for the whole range.
    Total,
    Month,
    /// Sheets by accepting unit, follow-ups and routine rounds by assigned unit.
    Unit,
    /// As `Unit`, with an office's customer service centre and departments counted under the
    /// office: the units that report to head office (the Service Bulletin's table).
    TopUnit,
    Community,
    /// The sheet's category; follow-ups without a sheet count under their kind
    /// (`routine`, `survey`).
    Category,
    /// The sheet's complaint level; follow-ups without a sheet under `none`.
    Level,
    /// Sheets by acceptor, follow-ups by assignee (`unassigned` when the unit as a whole).
    Staff,
}

/// The three parts of the figures, each one query.
#[derive(Clone, Copy)]
enum Part {
    Sheet,
    FollowUp,
    Routine,
}

/// The SQL giving each part's group key, as text.
struct Keys {
    sheet: &'static str,
    follow_up: &'static str,
    routine: &'static str,
}

impl GroupBy {
    /// The joins a grouping needs beyond each query's own, given the query's unit column:
    /// the unit row (as `tu`) for `TopUnit`; the sheet (`fs`) and household (`h`) of a
    /// follow-up or planned round for the groupings that read them. Joining only what the key
    /// reads keeps a month's figures to one index range scan per part.
    fn joins(self, part: Part) -> String {
        let mut joins = String::new();
        let unit_column = match part {
            Part::Sheet => "s.accepting_unit_id",
            Part::FollowUp => "f.assignee_unit_id",
            Part::Routine => "i.unit_id",
        };
        if self == GroupBy::TopUnit {
            joins.push_str(&format!(" LEFT JOIN units tu ON tu.id = {unit_column}"));
        }
        let sheet = matches!(
            self,
            GroupBy::Community | GroupBy::Category | GroupBy::Level
        );
        match part {
            Part::FollowUp if sheet => joins.push_str(" LEFT JOIN sheets fs ON fs.id = f.sheet_id"),
            _ => {}
        }
        if self == GroupBy::Community {
            match part {
                Part::FollowUp => {
                    joins.push_str(" LEFT JOIN households h ON h.id = f.household_id");
                }
                Part::Routine => {
                    joins.push_str(" LEFT JOIN households h ON h.id = i.household_id");
                }
                Part::Sheet => {}
            }
        }
        joins
    }

    fn keys(self) -> Keys {
        match self {
            // An expression, not a bare literal: PostgreSQL refuses `GROUP BY 'total'`.
            GroupBy::Total => Keys {
                sheet: "CAST('total' AS TEXT)",
                follow_up: "CAST('total' AS TEXT)",
                routine: "CAST('total' AS TEXT)",
            },
            GroupBy::Month => Keys {
                sheet: "s.accepted_month",
                follow_up: "f.due_month",
                routine: "i.month",
            },
            GroupBy::Unit => Keys {
                sheet: "CAST(s.accepting_unit_id AS TEXT)",
                follow_up: "CAST(f.assignee_unit_id AS TEXT)",
                routine: "CAST(i.unit_id AS TEXT)",
            },
            GroupBy::TopUnit => Keys {
                sheet: "CAST(COALESCE(tu.parent_id, tu.id) AS TEXT)",
                follow_up: "CAST(COALESCE(tu.parent_id, tu.id) AS TEXT)",
                routine: "CAST(COALESCE(tu.parent_id, tu.id) AS TEXT)",
            },
            GroupBy::Community => Keys {
                sheet: "COALESCE(CAST(s.community_id AS TEXT), 'none')",
                follow_up: "COALESCE(CAST(COALESCE(fs.community_id, h.community_id) AS TEXT), 'none')",
                routine: "COALESCE(CAST(h.community_id AS TEXT), 'none')",
            },
            GroupBy::Category => Keys {
                sheet: "s.category",
                follow_up: "COALESCE(fs.category, f.kind)",
                routine: "CAST('routine' AS TEXT)",
            },
            GroupBy::Level => Keys {
                sheet: "s.level",
                follow_up: "COALESCE(fs.level, 'none')",
                routine: "CAST('none' AS TEXT)",
            },
            GroupBy::Staff => Keys {
                sheet: "CAST(s.accepted_by AS TEXT)",
                follow_up: "COALESCE(CAST(f.assignee_staff_id AS TEXT), 'unassigned')",
                routine: "COALESCE(CAST(COALESCE(f.assignee_staff_id, i.assignee_staff_id) AS TEXT), 'unassigned')",
            },
        }
    }
}

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

type SheetRow = (String, i64, i64, i64);
/// One group's follow-up counts, as the follow-up query returns them.
#[derive(sqlx::FromRow)]
struct FollowUpRow {
    k: String,
    due: i64,
    done: i64,
    past_deadline: i64,
    on_time: i64,
    overdue: i64,
    unreachable: i64,
    handling: Option<f64>,
    efficiency: Option<f64>,
    quality: Option<f64>,
    attitude: Option<f64>,
    overall: Option<f64>,
    r1: i64,
    r2: i64,
    r3: i64,
    r4: i64,
    r5: i64,
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
    let keys = by.keys();
    let (from_text, to_text) = (from.to_string(), to.to_string());
    let now = db.now_text();
    let unit_filter = |column: &str| match units {
        Some(ids) => format!(" AND {column} IN ({})", id_list(ids)),
        None => String::new(),
    };

    let sheets: Vec<SheetRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {key} AS k, COUNT(*), {valid}, {handled}
         FROM sheets s{join} WHERE s.accepted_month >= $1 AND s.accepted_month <= $2{unit}
         GROUP BY {key}",
        key = keys.sheet,
        join = by.joins(Part::Sheet),
        valid = count_where(&format!("s.status <> {}", code(SheetStatus::Invalid))),
        handled = count_where("s.handled_at IS NOT NULL"),
        unit = unit_filter("s.accepting_unit_id"),
    )))
    .bind(&from_text)
    .bind(&to_text)
    .fetch_all(db.pool())
    .await?;

    let mean = |column: &str| format!("AVG(CAST(f.{column} AS DOUBLE PRECISION))");
    let follow_ups: Vec<FollowUpRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {key} AS k, COUNT(*) AS due, {done} AS done, {past_deadline} AS past_deadline,
            {on_time} AS on_time, {overdue} AS overdue, {unreachable} AS unreachable,
            {handling} AS handling, {efficiency} AS efficiency, {quality} AS quality,
            {attitude} AS attitude, {overall} AS overall, {rated_1} AS r1, {rated_2} AS r2,
            {rated_3} AS r3, {rated_4} AS r4, {rated_5} AS r5
         FROM follow_ups f
{join}
         WHERE f.due_month >= $1 AND f.due_month <= $2 AND {due}{unit}
         GROUP BY {key}",
        key = keys.follow_up,
        join = by.joins(Part::FollowUp),
        due = measures::due(),
        done = count_where(&measures::done()),
        past_deadline = count_where(&measures::information_past_deadline("$3")),
        on_time = count_where(&measures::information_on_time("$3")),
        overdue = count_where(&measures::overdue()),
        unreachable = count_where(&measures::unreachable()),
        handling = mean("rating_handling"),
        efficiency = mean("rating_efficiency"),
        quality = mean("rating_quality"),
        attitude = mean("rating_attitude"),
        overall = mean("rating_overall"),
        rated_1 = count_where(&format!("{} AND f.rating_overall = 1", measures::done())),
        rated_2 = count_where(&format!("{} AND f.rating_overall = 2", measures::done())),
        rated_3 = count_where(&format!("{} AND f.rating_overall = 3", measures::done())),
        rated_4 = count_where(&format!("{} AND f.rating_overall = 4", measures::done())),
        rated_5 = count_where(&format!("{} AND f.rating_overall = 5", measures::done())),
        unit = unit_filter("f.assignee_unit_id"),
    )))
    .bind(&from_text)
    .bind(&to_text)
    .bind(&now)
    .fetch_all(db.pool())
    .await?;

    // A planned round's follow-up is due at the end of the plan's month; saying so in the join
    // lets the database find those follow-ups by month instead of reading them all.
    let routine: Vec<(String, i64, i64)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {key} AS k, COUNT(*), {done}
         FROM routine_plan_items i
         LEFT JOIN follow_ups f ON f.id = i.follow_up_id AND f.due_month >= $1 AND f.due_month <= $2
{join}
         WHERE i.month >= $1 AND i.month <= $2{unit}
         GROUP BY {key}",
        key = keys.routine,
        join = by.joins(Part::Routine),
        done = count_where(&measures::has_outcome()),
        unit = unit_filter("i.unit_id"),
    )))
    .bind(&from_text)
    .bind(&to_text)
    .fetch_all(db.pool())
    .await?;

    let mut groups: BTreeMap<String, Figures> = BTreeMap::new();
    fn group(groups: &mut BTreeMap<String, Figures>, key: String) -> &mut Figures {
        groups.entry(key.clone()).or_insert_with(|| Figures {
            key,
            ..Figures::default()
        })
    }
    for (key, accepted, valid, handled) in sheets {
        let g = group(&mut groups, key);
        g.sheets_accepted = accepted;
        g.sheets_valid = valid;
        g.sheets_handled = handled;
    }
    for row in follow_ups {
        let g = group(&mut groups, row.k);
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
    for (key, planned, done) in routine {
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

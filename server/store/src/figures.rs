//! The grouped counts behind the figures of D-STA-2: one SQL query per part (sheets by month of
//! acceptance, follow-ups by month due, routine rounds by plan month) over the projections, each
//! measure as D-STA-3 defines it in [`crate::measures`], so a large company's figures come from
//! indexes, not from documents. Rates and means of the counts are the domain's.

use huifang_protocol::SheetStatus;
use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, FromRow};

use crate::db::{Database, code, count_where, id_list};
use crate::error::StoreError;
use crate::measures;

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

/// One group's sheet counts.
#[derive(Debug, Clone, FromRow)]
pub struct SheetCounts {
    #[sqlx(rename = "group_key")]
    pub key: String,
    pub accepted: i64,
    pub valid: i64,
    pub handled: i64,
}

/// One group's follow-up counts, as the follow-up query returns them.
#[derive(Debug, Clone, FromRow)]
pub struct FollowUpCounts {
    #[sqlx(rename = "group_key")]
    pub key: String,
    pub due: i64,
    pub done: i64,
    pub past_deadline: i64,
    pub on_time: i64,
    pub overdue: i64,
    pub unreachable: i64,
    pub handling: Option<f64>,
    pub efficiency: Option<f64>,
    pub quality: Option<f64>,
    pub attitude: Option<f64>,
    pub overall: Option<f64>,
    pub r1: i64,
    pub r2: i64,
    pub r3: i64,
    pub r4: i64,
    pub r5: i64,
}

/// One group's routine rounds: planned, and with an outcome.
#[derive(Debug, Clone, FromRow)]
pub struct RoutineCounts {
    #[sqlx(rename = "group_key")]
    pub key: String,
    pub planned: i64,
    pub done: i64,
}

/// The three parts' counts, each in the database's group order.
#[derive(Debug, Clone)]
pub struct Counts {
    pub sheets: Vec<SheetCounts>,
    pub follow_ups: Vec<FollowUpCounts>,
    pub routine: Vec<RoutineCounts>,
}

/// Counts months `from ..= to` (`2026-11`), grouped by `by`, optionally only for some units
/// (their sheets accepted, their follow-ups and routine rounds assigned).
pub async fn counts(
    db: &Database,
    from: &str,
    to: &str,
    by: GroupBy,
    units: Option<&[i64]>,
) -> Result<Counts, StoreError> {
    let keys = by.keys();
    let now = db.now_text();
    let unit_filter = |column: &str| match units {
        Some(ids) => format!(" AND {column} IN ({})", id_list(ids)),
        None => String::new(),
    };

    let sheets = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {key} AS group_key, COUNT(*) AS accepted, {valid} AS valid, {handled} AS handled
         FROM sheets s{join} WHERE s.accepted_month >= $1 AND s.accepted_month <= $2{unit}
         GROUP BY {key}",
        key = keys.sheet,
        join = by.joins(Part::Sheet),
        valid = count_where(&format!("s.status <> {}", code(SheetStatus::Invalid))),
        handled = count_where("s.handled_at IS NOT NULL"),
        unit = unit_filter("s.accepting_unit_id"),
    )))
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;

    let mean = |column: &str| format!("AVG(CAST(f.{column} AS DOUBLE PRECISION))");
    let follow_ups = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {key} AS group_key, COUNT(*) AS due, {done} AS done, {past_deadline} AS past_deadline,
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
    .bind(from)
    .bind(to)
    .bind(&now)
    .fetch_all(db.pool())
    .await?;

    // A planned round's follow-up is due at the end of the plan's month; saying so in the join
    // lets the database find those follow-ups by month instead of reading them all.
    let routine = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {key} AS group_key, COUNT(*) AS planned, {done} AS done
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
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;

    Ok(Counts {
        sheets,
        follow_ups,
        routine,
    })
}

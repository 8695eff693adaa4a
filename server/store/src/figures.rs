//! The grouped counts behind the figures of D-STA-2 (sheets by month of acceptance, follow-ups by
//! month due, routine rounds by plan month), each measure as D-STA-3 defines it in
//! [`crate::measures`]: added up from the monthly roll-up ([`crate::rollups`]) for every grouping
//! a cell answers, recounted from the projections for the rest. Rates and means of the counts
//! are the domain's.

use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, FromRow};

use crate::db::{Database, count_where, id_list};
use crate::error::StoreError;
use crate::{measures, rollups};

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

/// One group's counts, whichever way they were counted: integers only (means are sums over
/// how many were rated), so the roll-up and a recount give identical figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, FromRow)]
pub struct GroupCounts {
    #[sqlx(rename = "group_key")]
    pub key: String,
    pub sheets_accepted: i64,
    pub sheets_valid: i64,
    pub sheets_handled: i64,
    pub follow_ups_due: i64,
    pub follow_ups_done: i64,
    /// Information follow-ups due whose deadline has passed (the 24-hour rate's denominator).
    pub information_past_deadline: i64,
    /// Of those, the ones with an outcome recorded by the deadline.
    pub information_on_time: i64,
    pub overdue: i64,
    pub unreachable: i64,
    pub handling_sum: i64,
    pub handling_rated: i64,
    pub efficiency_sum: i64,
    pub efficiency_rated: i64,
    pub quality_sum: i64,
    pub quality_rated: i64,
    pub attitude_sum: i64,
    pub attitude_rated: i64,
    pub overall_sum: i64,
    pub overall_rated: i64,
    pub rated_1: i64,
    pub rated_2: i64,
    pub rated_3: i64,
    pub rated_4: i64,
    pub rated_5: i64,
    pub routine_planned: i64,
    pub routine_done: i64,
}

/// The columns of a cell as a source names them, for the groupings a cell can answer.
struct CellColumns {
    month: &'static str,
    unit: &'static str,
    community: &'static str,
    category: &'static str,
    level: &'static str,
}

const ROLLUP_CELL: CellColumns = CellColumns {
    month: "r.month",
    unit: "r.unit_id",
    community: "r.community_id",
    category: "r.category",
    level: "r.level",
};

const FOLLOW_UP_CELL: CellColumns = CellColumns {
    month: "f.due_month",
    unit: "f.assignee_unit_id",
    community: "COALESCE(f.community_id, 0)",
    category: "f.category",
    level: "f.level",
};

impl GroupBy {
    /// The group key over a cell's columns, and the join it needs (`None` for `Staff`, which no
    /// cell holds).
    fn cell_key(self, cell: &CellColumns) -> Option<(String, String)> {
        let plain = |key: String| Some((key, String::new()));
        match self {
            GroupBy::Total => plain("CAST('total' AS TEXT)".to_owned()),
            GroupBy::Month => plain(cell.month.to_owned()),
            GroupBy::Unit => plain(format!("CAST({} AS TEXT)", cell.unit)),
            GroupBy::TopUnit => Some((
                "CAST(COALESCE(tu.parent_id, tu.id) AS TEXT)".to_owned(),
                format!(" LEFT JOIN units tu ON tu.id = {}", cell.unit),
            )),
            GroupBy::Community => plain(format!(
                "CASE WHEN {c} = 0 THEN 'none' ELSE CAST({c} AS TEXT) END",
                c = cell.community
            )),
            GroupBy::Category => plain(cell.category.to_owned()),
            GroupBy::Level => plain(cell.level.to_owned()),
            GroupBy::Staff => None,
        }
    }
}

/// `AND column IN (…)` when only some units' figures are asked for.
fn unit_filter(units: Option<&[i64]>, column: &str) -> String {
    match units {
        Some(ids) => format!(" AND {column} IN ({})", id_list(ids)),
        None => String::new(),
    }
}

/// Counts months `from ..= to` (`2026-11`), grouped by `by`, optionally only for some units
/// (their sheets accepted, their follow-ups and routine rounds assigned), in key order. Every
/// grouping but staff adds up the roll-up's cells ([`crate::rollups`]) and takes off the
/// information follow-ups whose deadline has not passed; staff is counted from the projections.
pub async fn counts(
    db: &Database,
    from: &str,
    to: &str,
    by: GroupBy,
    units: Option<&[i64]>,
) -> Result<Vec<GroupCounts>, StoreError> {
    let (Some((key, join)), Some((pending_key, pending_join))) =
        (by.cell_key(&ROLLUP_CELL), by.cell_key(&FOLLOW_UP_CELL))
    else {
        return recount(db, from, to, by, units).await;
    };
    let renamed = |count: &'static str| match count {
        "information_due" => "information_past_deadline",
        other => other,
    };
    let sums: Vec<String> = rollups::COUNTS
        .iter()
        .map(|c| format!("CAST(SUM(r.{c}) AS BIGINT) AS {}", renamed(c)))
        .collect();
    let mut groups: Vec<GroupCounts> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {key} AS group_key, {sums} FROM monthly_rollups r{join}
         WHERE r.month >= $1 AND r.month <= $2{unit}
         GROUP BY {key}
         HAVING SUM(r.sheets_accepted) + SUM(r.follow_ups_due) + SUM(r.routine_planned) > 0
         ORDER BY {key}",
        sums = sums.join(", "),
        unit = unit_filter(units, "r.unit_id"),
    )))
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;

    // The information follow-ups whose deadline is still ahead: a few, found by the index on
    // their deadline, and not yet part of the 24-hour rate.
    let pending: Vec<(String, i64, i64)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {pending_key} AS group_key, COUNT(*), {on_time}
         FROM follow_ups f{pending_join}
         WHERE {information} AND f.due_at > $3 AND f.due_month >= $1 AND f.due_month <= $2{unit}
         GROUP BY {pending_key}",
        on_time = count_where(&measures::information_on_time_of("f")),
        information = measures::information_due_of("f"),
        unit = unit_filter(units, "f.assignee_unit_id"),
    )))
    .bind(from)
    .bind(to)
    .bind(db.now_text())
    .fetch_all(db.pool())
    .await?;
    for (key, not_yet, not_yet_on_time) in pending {
        if let Some(group) = groups.iter_mut().find(|g| g.key == key) {
            group.information_past_deadline -= not_yet;
            group.information_on_time -= not_yet_on_time;
        }
    }
    Ok(groups)
}

/// One group's sheet counts, as the recount's sheet query returns them.
#[derive(FromRow)]
struct SheetRow {
    group_key: String,
    accepted: i64,
    valid: i64,
    handled: i64,
}

/// One group's routine rounds: planned, and with an outcome.
#[derive(FromRow)]
struct RoutineRow {
    group_key: String,
    planned: i64,
    done: i64,
}

/// Counts months `from ..= to` from the projections themselves, joining each follow-up's sheet
/// and household: how staff groupings are counted, and what the roll-up is tested against.
pub async fn recount(
    db: &Database,
    from: &str,
    to: &str,
    by: GroupBy,
    units: Option<&[i64]>,
) -> Result<Vec<GroupCounts>, StoreError> {
    let keys = by.keys();
    let now = db.now_text();
    let mut groups: std::collections::BTreeMap<String, GroupCounts> = Default::default();
    fn group(
        groups: &mut std::collections::BTreeMap<String, GroupCounts>,
        key: String,
    ) -> &mut GroupCounts {
        groups.entry(key.clone()).or_insert_with(|| GroupCounts {
            key,
            ..GroupCounts::default()
        })
    }

    let sheets: Vec<SheetRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {key} AS group_key, COUNT(*) AS accepted, {valid} AS valid, {handled} AS handled
         FROM sheets s{join} WHERE s.accepted_month >= $1 AND s.accepted_month <= $2{unit}
         GROUP BY {key}",
        key = keys.sheet,
        join = by.joins(Part::Sheet),
        valid = count_where(&measures::sheet_valid_of("s")),
        handled = count_where(&measures::sheet_handled_of("s")),
        unit = unit_filter(units, "s.accepting_unit_id"),
    )))
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    for row in sheets {
        let g = group(&mut groups, row.group_key);
        g.sheets_accepted = row.accepted;
        g.sheets_valid = row.valid;
        g.sheets_handled = row.handled;
    }

    let rating = |column: &str, prefix: &str| {
        format!(
            "CAST(COALESCE(SUM(f.{column}), 0) AS BIGINT) AS {prefix}_sum, COUNT(f.{column}) AS {prefix}_rated"
        )
    };
    let stars = |k: u8| {
        format!(
            "{} AS rated_{k}",
            count_where(&format!("{} AND f.rating_overall = {k}", measures::done()))
        )
    };
    let follow_ups: Vec<GroupCounts> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {key} AS group_key, {zero} AS sheets_accepted, {zero} AS sheets_valid,
            {zero} AS sheets_handled,
            COUNT(*) AS follow_ups_due, {done} AS follow_ups_done,
            {past_deadline} AS information_past_deadline, {on_time} AS information_on_time,
            {overdue} AS overdue, {unreachable} AS unreachable,
            {handling}, {efficiency}, {quality}, {attitude}, {overall},
            {r1}, {r2}, {r3}, {r4}, {r5}, {zero} AS routine_planned, {zero} AS routine_done
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
        handling = rating("rating_handling", "handling"),
        efficiency = rating("rating_efficiency", "efficiency"),
        quality = rating("rating_quality", "quality"),
        attitude = rating("rating_attitude", "attitude"),
        overall = rating("rating_overall", "overall"),
        r1 = stars(1),
        r2 = stars(2),
        r3 = stars(3),
        r4 = stars(4),
        r5 = stars(5),
        unit = unit_filter(units, "f.assignee_unit_id"),
        zero = "CAST(0 AS BIGINT)",
    )))
    .bind(from)
    .bind(to)
    .bind(&now)
    .fetch_all(db.pool())
    .await?;
    for row in follow_ups {
        let g = group(&mut groups, row.key.clone());
        *g = GroupCounts {
            key: row.key,
            sheets_accepted: g.sheets_accepted,
            sheets_valid: g.sheets_valid,
            sheets_handled: g.sheets_handled,
            ..row
        };
    }

    // A planned round's follow-up is due at the end of the plan's month: done when that
    // follow-up has an outcome. Saying the range in the join too lets the database find those
    // follow-ups by month instead of reading them all.
    let routine: Vec<RoutineRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {key} AS group_key, COUNT(*) AS planned, {done} AS done
         FROM routine_plan_items i
         LEFT JOIN follow_ups f ON f.id = i.follow_up_id AND f.due_month = i.month
            AND f.due_month >= $1 AND f.due_month <= $2
{join}
         WHERE i.month >= $1 AND i.month <= $2{unit}
         GROUP BY {key}",
        key = keys.routine,
        join = by.joins(Part::Routine),
        done = count_where(&measures::has_outcome()),
        unit = unit_filter(units, "i.unit_id"),
    )))
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    for row in routine {
        let g = group(&mut groups, row.group_key);
        g.routine_planned = row.planned;
        g.routine_done = row.done;
    }
    Ok(groups.into_values().collect())
}

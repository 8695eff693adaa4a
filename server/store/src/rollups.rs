//! The monthly roll-up of the figures (D-STA-2): every count of [`crate::figures`] kept per
//! month × unit × community × category × level in `monthly_rollups`, so a month's figures, the
//! Service Bulletin and its six-month trend add up a few thousand cells instead of reading every
//! follow-up of the company.
//!
//! Exactness comes from where the roll-up is kept: triggers on the three projections it counts
//! (sheets, follow-ups, routine plan items) add each changed row's new contribution and take
//! away its old one in the statement that changes the row, whatever wrote it — a phone's sync,
//! the deadline job marking a batch overdue, a head closing a follow-up months later. A late edit
//! to a closed month therefore moves that month's cells in the same commit. The triggers are
//! generated here from the measures of D-STA-3 ([`crate::measures`]), so no measure is written
//! twice; [`install`] puts them in place when their text changes and recounts the roll-up from
//! the projections then, and [`differences`] recounts it to prove the cells right.
//!
//! Updates fire per row and only when a counted column changed (an edit of a note moves
//! nothing); PostgreSQL's inserts and deletes fire per statement over the statement's transition
//! tables, so a planner writing 80,000 plan items adds to the roll-up in one grouped statement.

use sha2::{Digest, Sha256};

use crate::db::{Backend, Database};
use crate::error::StoreError;
use crate::measures;

/// The columns naming a cell.
pub const CELL: [&str; 5] = ["month", "unit_id", "community_id", "category", "level"];

/// The counts of a cell. The information counts ignore the clock (every information follow-up
/// due in the month); readers take off those whose deadline has not passed yet.
pub const COUNTS: [&str; 26] = [
    "sheets_accepted",
    "sheets_valid",
    "sheets_handled",
    "follow_ups_due",
    "follow_ups_done",
    "information_due",
    "information_on_time",
    "overdue",
    "unreachable",
    "handling_sum",
    "handling_rated",
    "efficiency_sum",
    "efficiency_rated",
    "quality_sum",
    "quality_rated",
    "attitude_sum",
    "attitude_rated",
    "overall_sum",
    "overall_rated",
    "rated_1",
    "rated_2",
    "rated_3",
    "rated_4",
    "rated_5",
    "routine_planned",
    "routine_done",
];

/// The five ratings of D-CB-1, as their projection column and roll-up prefix.
const RATINGS: [(&str, &str); 5] = [
    ("rating_handling", "handling"),
    ("rating_efficiency", "efficiency"),
    ("rating_quality", "quality"),
    ("rating_attitude", "attitude"),
    ("rating_overall", "overall"),
];

/// Where a part reads its rows: a trigger's `NEW`/`OLD` row (SQLite, no table), a transition
/// table (PostgreSQL) or the projection itself (a recount), under the name `row`.
#[derive(Clone, Copy)]
struct Rows<'a> {
    table: Option<&'a str>,
    row: &'a str,
}

impl Rows<'_> {
    /// `FROM table row` (or nothing for a trigger's row), followed by `joins`.
    fn from(&self, joins: &str) -> String {
        match self.table {
            Some(table) => format!("FROM {table} {}{joins}", self.row),
            None if joins.is_empty() => String::new(),
            // A trigger's row with a table to read beside it.
            None => format!("FROM (SELECT 1 AS one) one_row{joins}"),
        }
    }
}

fn indicator(condition: &str) -> String {
    format!("CASE WHEN {condition} THEN 1 ELSE 0 END")
}

/// A `SELECT` of one part's contributions: the cell, then every count (those not given are 0),
/// each multiplied by `sign`.
fn contribution(cell: [String; 5], counts: &[(&str, String)], sign: i64, rest: &str) -> String {
    let mut columns: Vec<String> = cell
        .iter()
        .zip(CELL)
        .map(|(expression, name)| format!("{expression} AS {name}"))
        .collect();
    for name in COUNTS {
        let value = match counts.iter().find(|(count, _)| *count == name) {
            Some((_, expression)) if sign == 1 => format!("({expression})"),
            Some((_, expression)) => format!("{sign} * ({expression})"),
            None => "0".to_owned(),
        };
        columns.push(format!("{value} AS {name}"));
    }
    format!("SELECT {} {rest}", columns.join(", "))
}

/// A sheet counts in the month it was accepted, under its accepting unit.
fn sheet_part(rows: Rows, sign: i64) -> String {
    let r = rows.row;
    contribution(
        [
            format!("{r}.accepted_month"),
            format!("{r}.accepting_unit_id"),
            format!("COALESCE({r}.community_id, 0)"),
            format!("{r}.category"),
            format!("{r}.level"),
        ],
        &[
            ("sheets_accepted", "1".to_owned()),
            ("sheets_valid", indicator(&measures::sheet_valid_of(r))),
            ("sheets_handled", indicator(&measures::sheet_handled_of(r))),
        ],
        sign,
        &format!("{} WHERE true", rows.from("")),
    )
}

/// A follow-up counts in the month it is due, under its assignee unit, unless cancelled as
/// needless (then it counts nowhere, as D-STA-3 says).
fn follow_up_part(rows: Rows, sign: i64) -> String {
    let r = rows.row;
    let mut counts = vec![
        ("follow_ups_due", "1".to_owned()),
        ("follow_ups_done", indicator(&measures::done_of(r))),
        (
            "information_due",
            indicator(&measures::information_due_of(r)),
        ),
        (
            "information_on_time",
            indicator(&measures::information_on_time_of(r)),
        ),
        ("overdue", indicator(&measures::overdue_of(r))),
        ("unreachable", indicator(&measures::unreachable_of(r))),
    ];
    let names: Vec<(String, String)> = RATINGS
        .iter()
        .map(|(_, prefix)| (format!("{prefix}_sum"), format!("{prefix}_rated")))
        .collect();
    for ((column, _), (sum, rated)) in RATINGS.iter().zip(&names) {
        counts.push((sum.as_str(), format!("COALESCE({r}.{column}, 0)")));
        counts.push((
            rated.as_str(),
            indicator(&format!("{r}.{column} IS NOT NULL")),
        ));
    }
    let stars: Vec<String> = (1..=5).map(|k| format!("rated_{k}")).collect();
    for (k, name) in (1..=5).zip(&stars) {
        counts.push((
            name.as_str(),
            indicator(&format!(
                "{} AND {r}.rating_overall = {k}",
                measures::done_of(r)
            )),
        ));
    }
    contribution(
        [
            format!("{r}.due_month"),
            format!("{r}.assignee_unit_id"),
            format!("COALESCE({r}.community_id, 0)"),
            format!("{r}.category"),
            format!("{r}.level"),
        ],
        &counts,
        sign,
        &format!("{} WHERE {}", rows.from(""), measures::due_of(r)),
    )
}

/// The routine cell of a plan item `i`: the plan's month and unit, the household's community.
fn routine_cell(item: &str) -> [String; 5] {
    [
        format!("{item}.month"),
        format!("{item}.unit_id"),
        format!(
            "COALESCE((SELECT hh.community_id FROM households hh WHERE hh.id = {item}.household_id), 0)"
        ),
        "'routine'".to_owned(),
        "'none'".to_owned(),
    ]
}

/// A planned round counts in its plan's month; it is done when its follow-up, due that month,
/// has an outcome (done or unreachable).
fn plan_item_part(rows: Rows, sign: i64) -> String {
    let r = rows.row;
    contribution(
        routine_cell(r),
        &[
            ("routine_planned", "1".to_owned()),
            // Found by its id alone: with a month or status beside it in the WHERE, PostgreSQL
            // (planning the trigger once, on a new table's empty statistics) took the month's
            // index and read the month's follow-ups for each item.
            (
                "routine_done",
                format!(
                    "COALESCE((SELECT {} FROM follow_ups fo WHERE fo.id = {r}.follow_up_id), 0)",
                    indicator(&format!(
                        "fo.due_month = {r}.month AND {}",
                        measures::has_outcome_of("fo")
                    ))
                ),
            ),
        ],
        sign,
        &format!("{} WHERE true", rows.from("")),
    )
}

/// A changed follow-up's part in its plan item's `routine_done`.
fn routine_done_part(rows: Rows, sign: i64) -> String {
    let r = rows.row;
    let from = match rows.table {
        Some(table) => format!("FROM {table} {r}, routine_plan_items pi"),
        None => "FROM routine_plan_items pi".to_owned(),
    };
    // The item found by the follow-up's id alone (see `plan_item_part`), the rest counted.
    contribution(
        routine_cell("pi"),
        &[(
            "routine_done",
            indicator(&format!(
                "pi.month = {r}.due_month AND {}",
                measures::has_outcome_of(r)
            )),
        )],
        sign,
        &format!("{from} WHERE pi.follow_up_id = {r}.id"),
    )
}

/// Adds the parts' contributions to their cells, one grouped statement.
fn add_to_cells(parts: &[String]) -> String {
    let cells = CELL.join(", ");
    let sums: Vec<String> = COUNTS.iter().map(|c| format!("SUM({c})")).collect();
    let any_change: Vec<String> = COUNTS.iter().map(|c| format!("SUM({c}) <> 0")).collect();
    let updates: Vec<String> = COUNTS
        .iter()
        .map(|c| format!("{c} = monthly_rollups.{c} + excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO monthly_rollups ({cells}, {counts})
         SELECT {cells}, {sums} FROM ({parts}) contributions WHERE true
         GROUP BY {cells} HAVING {any_change}
         ON CONFLICT ({cells}) DO UPDATE SET {updates}",
        counts = COUNTS.join(", "),
        sums = sums.join(", "),
        parts = parts.join(" UNION ALL "),
        any_change = any_change.join(" OR "),
        updates = updates.join(", "),
    )
}

/// The whole roll-up counted from the projections (as [`add_to_cells`]' parts).
fn recount_parts() -> Vec<String> {
    vec![
        sheet_part(
            Rows {
                table: Some("sheets"),
                row: "s",
            },
            1,
        ),
        follow_up_part(
            Rows {
                table: Some("follow_ups"),
                row: "f",
            },
            1,
        ),
        plan_item_part(
            Rows {
                table: Some("routine_plan_items"),
                row: "i",
            },
            1,
        ),
    ]
}

/// The community a sheet's follow-up is counted under: the sheet's, else its household's.
fn sheet_follow_up_community(sheet: &str) -> String {
    format!(
        "COALESCE({sheet}.community_id,
            (SELECT hh.community_id FROM households hh WHERE hh.id = follow_ups.household_id))"
    )
}

/// One table's triggers.
struct Watched {
    table: &'static str,
    /// The columns whose change moves a row's contribution (SQLite skips other updates).
    counted: &'static [&'static str],
    /// The parts a row of the table contributes, read from `rows`.
    parts: fn(Rows, i64) -> Vec<String>,
    /// What else follows a change (a sheet's follow-ups take its category, level, community).
    cascade: Option<fn(Backend, Rows, bool) -> String>,
}

const WATCHED: [Watched; 3] = [
    Watched {
        table: "sheets",
        counted: &[
            "accepted_month",
            "accepting_unit_id",
            "community_id",
            "category",
            "level",
            "status",
            "handled_at",
        ],
        parts: |rows, sign| vec![sheet_part(rows, sign)],
        cascade: Some(sheet_cascade),
    },
    Watched {
        table: "follow_ups",
        counted: &[
            "id",
            "kind",
            "due_month",
            "assignee_unit_id",
            "community_id",
            "category",
            "level",
            "status",
            "done_on_time",
            "rating_handling",
            "rating_efficiency",
            "rating_quality",
            "rating_attitude",
            "rating_overall",
            "overdue_at",
        ],
        parts: |rows, sign| vec![follow_up_part(rows, sign), routine_done_part(rows, sign)],
        cascade: None,
    },
    Watched {
        table: "routine_plan_items",
        counted: &["month", "unit_id", "household_id", "follow_up_id"],
        parts: |rows, sign| vec![plan_item_part(rows, sign)],
        cascade: None,
    },
];

/// A sheet's follow-ups take its category, level and community from `rows` (the new rows), or,
/// when the sheet is `gone` (`rows` the old rows), their own kind, no level and their household's
/// community.
fn sheet_cascade(backend: Backend, rows: Rows, gone: bool) -> String {
    let r = rows.row;
    let from = rows
        .table
        .map(|table| format!(" FROM {table} {r}"))
        .unwrap_or_default();
    if gone {
        return format!(
            "UPDATE follow_ups SET category = kind, level = 'none',
                community_id = (SELECT hh.community_id FROM households hh
                                WHERE hh.id = follow_ups.household_id){from}
             WHERE follow_ups.sheet_id = {r}.id"
        );
    }
    let differs = match backend {
        Backend::Sqlite => "IS NOT",
        Backend::Postgres => "IS DISTINCT FROM",
    };
    let community = sheet_follow_up_community(r);
    format!(
        "UPDATE follow_ups SET category = {r}.category, level = {r}.level,
            community_id = {community}{from}
         WHERE follow_ups.sheet_id = {r}.id AND (follow_ups.category {differs} {r}.category
            OR follow_ups.level {differs} {r}.level OR follow_ups.community_id {differs} {community})"
    )
}

/// The statements that install the triggers, in order (each one statement). An update fires
/// per row, and only when a counted column changed (most edits change none); inserts and deletes
/// fire per row on SQLite and per statement on PostgreSQL, where a bulk insert then adds to the
/// roll-up in one grouped statement.
fn trigger_statements(backend: Backend) -> Vec<String> {
    let mut statements = Vec::new();
    let row = |row| Rows { table: None, row };
    for watched in &WATCHED {
        let table = watched.table;
        let parts = watched.parts;
        let cascade = |rows: Rows, gone: bool| {
            watched
                .cascade
                .map(|c| format!("{};", c(backend, rows, gone)))
                .unwrap_or_default()
        };
        let differs = match backend {
            Backend::Sqlite => "IS NOT",
            Backend::Postgres => "IS DISTINCT FROM",
        };
        let changed: Vec<String> = watched
            .counted
            .iter()
            .map(|c| format!("OLD.{c} {differs} NEW.{c}"))
            .collect();
        let (new, old) = (row("NEW"), row("OLD"));
        let update_body = format!(
            "{}; {}",
            add_to_cells(
                &parts(old, -1)
                    .into_iter()
                    .chain(parts(new, 1))
                    .collect::<Vec<_>>()
            ),
            cascade(new, false)
        );
        match backend {
            Backend::Sqlite => {
                statements.push(format!(
                    "CREATE TRIGGER rollup_{table}_insert AFTER INSERT ON {table}
                     BEGIN {}; {} END",
                    add_to_cells(&parts(new, 1)),
                    cascade(new, false)
                ));
                statements.push(format!(
                    "CREATE TRIGGER rollup_{table}_update AFTER UPDATE ON {table} WHEN {}
                     BEGIN {update_body} END",
                    changed.join(" OR "),
                ));
                statements.push(format!(
                    "CREATE TRIGGER rollup_{table}_delete AFTER DELETE ON {table}
                     BEGIN {}; {} END",
                    add_to_cells(&parts(old, -1)),
                    cascade(old, true)
                ));
            }
            Backend::Postgres => {
                let new_rows = Rows {
                    table: Some("new_rows"),
                    row: "n",
                };
                let old_rows = Rows {
                    table: Some("old_rows"),
                    row: "o",
                };
                for (event, body, when) in [
                    (
                        "insert",
                        format!(
                            "{}; {}",
                            add_to_cells(&parts(new_rows, 1)),
                            cascade(new_rows, false)
                        ),
                        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT".to_owned(),
                    ),
                    (
                        "update",
                        update_body.clone(),
                        format!("FOR EACH ROW WHEN ({})", changed.join(" OR ")),
                    ),
                    (
                        "delete",
                        format!(
                            "{}; {}",
                            add_to_cells(&parts(old_rows, -1)),
                            cascade(old_rows, true)
                        ),
                        "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT".to_owned(),
                    ),
                ] {
                    let name = format!("rollup_{table}_{event}");
                    statements.push(format!(
                        "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $body$
                         BEGIN {body} RETURN NULL; END $body$"
                    ));
                    statements.push(format!(
                        "CREATE TRIGGER {name} AFTER {event} ON {table} {when}
                         EXECUTE FUNCTION {name}()",
                        event = event.to_uppercase()
                    ));
                }
            }
        }
    }
    statements
}

/// The statements that remove whatever [`trigger_statements`] installed.
fn drop_statements(backend: Backend) -> Vec<String> {
    let mut statements = Vec::new();
    for watched in &WATCHED {
        for event in ["insert", "update", "delete"] {
            let name = format!("rollup_{}_{event}", watched.table);
            match backend {
                Backend::Sqlite => statements.push(format!("DROP TRIGGER IF EXISTS {name}")),
                Backend::Postgres => {
                    statements.push(format!(
                        "DROP TRIGGER IF EXISTS {name} ON {}",
                        watched.table
                    ));
                    statements.push(format!("DROP FUNCTION IF EXISTS {name}()"));
                }
            }
        }
    }
    statements
}

/// Puts the roll-up's triggers in place if the installed ones differ from these (a new
/// database, or measures that changed), and then recounts the roll-up from the projections —
/// all in one transaction, so no write sees triggers without their counts. Called by
/// [`Database::migrate`].
pub(crate) async fn install(db: &Database) -> Result<(), StoreError> {
    let backend = db.backend();
    let statements = trigger_statements(backend);
    let hash = hex::encode(Sha256::digest(statements.join(";\n").as_bytes()));
    let mut tx = db.begin().await?;
    if backend == Backend::Postgres {
        // Instances starting together install once: the second waits, then finds it done.
        sqlx::query("LOCK TABLE rollup_definition IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
    }
    let installed: Option<String> =
        sqlx::query_scalar("SELECT hash FROM rollup_definition WHERE id = 1")
            .fetch_optional(&mut *tx)
            .await?;
    if installed.as_deref() == Some(hash.as_str()) {
        return Ok(());
    }
    for statement in drop_statements(backend).into_iter().chain(statements) {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DELETE FROM monthly_rollups")
        .execute(&mut *tx)
        .await?;
    sqlx::query(sqlx::AssertSqlSafe(add_to_cells(&recount_parts())))
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO rollup_definition (id, hash) VALUES (1, $1)
         ON CONFLICT (id) DO UPDATE SET hash = excluded.hash",
    )
    .bind(&hash)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!("installed the monthly roll-up's triggers and recounted it");
    Ok(())
}

/// How many cells the roll-up holds that a recount from the projections does not, and how
/// many the recount holds that the roll-up does not (cells all zero count as absent): `(0, 0)`
/// when the roll-up is exact.
pub async fn differences(db: &Database) -> Result<(i64, i64), StoreError> {
    let cells = CELL.join(", ");
    let sums: Vec<String> = COUNTS
        .iter()
        .map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}"))
        .collect();
    let kept: Vec<String> = COUNTS.iter().map(|c| format!("{c} <> 0")).collect();
    let recount = format!(
        "SELECT {cells}, {sums} FROM ({parts}) contributions WHERE true GROUP BY {cells}",
        sums = sums.join(", "),
        parts = recount_parts().join(" UNION ALL "),
    );
    let stored = format!(
        "SELECT {cells}, {counts} FROM monthly_rollups WHERE {kept}",
        counts = COUNTS.join(", "),
        kept = kept.join(" OR "),
    );
    let count = |a: &str, b: &str| format!("SELECT COUNT(*) FROM ({a} EXCEPT {b}) missing");
    let extra: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count(&stored, &recount)))
        .fetch_one(db.pool())
        .await?;
    let missing: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count(&recount, &stored)))
        .fetch_one(db.pool())
        .await?;
    Ok((extra, missing))
}

//! Routine plans as stored (R-RTN-1…4): a planned month, the plan of each quota holder, the
//! households drawn with the reason (JSON the domain writes and reads), the sampling cycles, and
//! the progress of the follow-ups written from them. Months are keys like `2026-11`; drawing the
//! sample and explaining it are the domain's.

use huifang_protocol::{FollowUpKind, Role, UnitKind};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{AssertSqlSafe, FromRow};

use crate::db::{self, ColumnType, Conditions, Database, SqlArg, count_where, id_list};
use crate::documents::DocWrite;
use crate::error::StoreError;
use crate::registry::PageRequest;
use crate::scope::WorkScope;

/// One quota holder's plan for a month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPlan {
    pub unit_id: i64,
    /// The consultant whose own plan this is; 0 for a unit's.
    pub staff_id: i64,
    pub rule: String,
    pub community_id: Option<i64>,
    pub households: i64,
    pub quota: i64,
    pub explanation: String,
    pub explanation_zh: String,
    pub seed: String,
    pub cycle: i64,
    pub new_cycle: bool,
    /// Whether households are sampled (a cycle is kept) rather than all followed up.
    pub sampled: bool,
    pub items: Vec<NewPlanItem>,
}

/// One household drawn into a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPlanItem {
    pub household_id: i64,
    pub customer_id: Option<i64>,
    pub cycle: i64,
    /// Why it was drawn, as the domain's JSON.
    pub reason: String,
    pub assignee_staff_id: Option<i64>,
}

/// How many plans and planned households a month has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanCounts {
    pub plans: usize,
    pub households: usize,
}

async fn counts(conn: &mut sqlx::AnyConnection, month: &str) -> Result<PlanCounts, StoreError> {
    let (plans, households): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM routine_plans WHERE month = $1),
                (SELECT COUNT(*) FROM routine_plan_items WHERE month = $1)",
    )
    .bind(month)
    .fetch_one(&mut *conn)
    .await?;
    Ok(PlanCounts {
        plans: usize::try_from(plans).unwrap_or_default(),
        households: usize::try_from(households).unwrap_or_default(),
    })
}

/// The counts of a planned month; `None` when it is not planned.
pub async fn stored_counts(db: &Database, month: &str) -> Result<Option<PlanCounts>, StoreError> {
    if !is_planned(db, month).await? {
        return Ok(None);
    }
    let mut conn = db.pool().acquire().await?;
    Ok(Some(counts(&mut conn, month).await?))
}

/// Stores a month's plans in `write` unless the month is planned already; then it returns what
/// is stored (`Err` of the counts) and writes nothing. `generated_by` is who asked.
pub async fn insert_month(
    write: &mut DocWrite,
    month: &str,
    generated_by: Option<i64>,
    plans: &[NewPlan],
) -> Result<Result<PlanCounts, PlanCounts>, StoreError> {
    let existing: Option<String> =
        sqlx::query_scalar("SELECT month FROM routine_months WHERE month = $1")
            .bind(month)
            .fetch_optional(write.tx())
            .await?;
    if existing.is_some() {
        return Ok(Err(counts(write.tx(), month).await?));
    }
    let now = write.now_text();
    sqlx::query(
        "INSERT INTO routine_months (month, generated_at, generated_by) VALUES ($1, $2, $3)",
    )
    .bind(month)
    .bind(&now)
    .bind(generated_by)
    .execute(write.tx())
    .await?;
    let backend = write.backend();
    let plan_rows: Vec<serde_json::Value> = plans
        .iter()
        .map(|plan| {
            json!([
                month,
                plan.unit_id,
                plan.staff_id,
                plan.rule,
                plan.community_id,
                plan.households,
                plan.quota,
                plan.explanation,
                plan.explanation_zh,
                plan.seed,
                plan.cycle,
                i64::from(plan.new_cycle)
            ])
        })
        .collect();
    db::insert_rows(
        write.tx(),
        backend,
        "routine_plans",
        &[
            ("month", ColumnType::Text),
            ("unit_id", ColumnType::Int),
            ("staff_id", ColumnType::Int),
            ("rule", ColumnType::Text),
            ("community_id", ColumnType::Int),
            ("households", ColumnType::Int),
            ("quota", ColumnType::Int),
            ("explanation", ColumnType::Text),
            ("explanation_zh", ColumnType::Text),
            ("seed", ColumnType::Text),
            ("cycle", ColumnType::Int),
            ("new_cycle", ColumnType::Int),
        ],
        &plan_rows,
    )
    .await?;
    let item_rows: Vec<serde_json::Value> = plans
        .iter()
        .flat_map(|plan| {
            plan.items.iter().map(move |item| {
                json!([
                    month,
                    plan.unit_id,
                    plan.staff_id,
                    item.household_id,
                    item.customer_id,
                    i64::from(plan.sampled),
                    item.cycle,
                    item.reason,
                    item.assignee_staff_id
                ])
            })
        })
        .collect();
    db::insert_rows(
        write.tx(),
        backend,
        "routine_plan_items",
        &[
            ("month", ColumnType::Text),
            ("unit_id", ColumnType::Int),
            ("staff_id", ColumnType::Int),
            ("household_id", ColumnType::Int),
            ("customer_id", ColumnType::Int),
            ("sampled", ColumnType::Int),
            ("cycle", ColumnType::Int),
            ("reason", ColumnType::Text),
            ("assignee_staff_id", ColumnType::Int),
        ],
        &item_rows,
    )
    .await?;
    if backend == db::Backend::Postgres {
        // A month's items just arrived in one statement: without fresh statistics PostgreSQL
        // took the table for a few rows and claimed each batch by scanning it (seconds a batch
        // by the month's end). ANALYZE samples; it may run inside the write.
        sqlx::query("ANALYZE routine_plan_items")
            .execute(write.tx())
            .await?;
    }
    for plan in plans.iter().filter(|plan| plan.sampled) {
        // The first plan of a unit, or a cycle that began this month.
        sqlx::query(
            "INSERT INTO routine_cycles (unit_id, staff_id, cycle, started_month)
             VALUES ($1, $2, $3, $4) ON CONFLICT (unit_id, staff_id, cycle) DO NOTHING",
        )
        .bind(plan.unit_id)
        .bind(plan.staff_id)
        .bind(plan.cycle)
        .bind(month)
        .execute(write.tx())
        .await?;
    }
    Ok(Ok(PlanCounts {
        plans: plans.len(),
        households: item_rows.len(),
    }))
}

/// A planned household still waiting for its follow-up document.
#[derive(Debug, Clone, FromRow)]
pub struct Waiting {
    pub unit_id: i64,
    pub staff_id: i64,
    pub household_id: i64,
    pub customer_id: Option<i64>,
    pub assignee_staff_id: Option<i64>,
    pub rule: String,
}

/// Up to `limit` planned households of `month` whose follow-up is not written yet, in key
/// order, after `after` (the last of the previous batch: reading on from it along the key
/// instead of from the month's start keeps each batch as cheap as the first).
pub async fn waiting(
    db: &Database,
    month: &str,
    after: Option<&Waiting>,
    limit: i64,
) -> Result<Vec<Waiting>, StoreError> {
    let (unit, staff, household) = after.map_or((i64::MIN, i64::MIN, i64::MIN), |w| {
        (w.unit_id, w.staff_id, w.household_id)
    });
    // The items first, along their key from `after` (a join driven by the plans read every
    // plan's claimed items again for each batch); then each one's plan.
    Ok(sqlx::query_as(
        "SELECT i.unit_id, i.staff_id, i.household_id, i.customer_id, i.assignee_staff_id, p.rule
         FROM (SELECT * FROM routine_plan_items
               WHERE month = $1 AND (unit_id, staff_id, household_id) > ($3, $4, $5)
                 AND follow_up_id IS NULL
               ORDER BY unit_id, staff_id, household_id LIMIT $2) i
         JOIN routine_plans p ON p.month = i.month AND p.unit_id = i.unit_id AND p.staff_id = i.staff_id
         ORDER BY i.unit_id, i.staff_id, i.household_id",
    )
    .bind(month)
    .bind(limit)
    .bind(unit)
    .bind(staff)
    .bind(household)
    .fetch_all(db.pool())
    .await?)
}

/// Claims many waiting households at once, each for the follow-up id beside it, in one
/// statement; returns the ids claimed (a household another writer claimed meanwhile is not).
pub async fn claim_all(
    write: &mut DocWrite,
    month: &str,
    claims: &[(&Waiting, &str)],
) -> Result<std::collections::HashSet<String>, StoreError> {
    use db::ColumnType::{Int, Text};
    let rows: Vec<serde_json::Value> = claims
        .iter()
        .map(|(waiting, id)| {
            serde_json::json!([
                month,
                waiting.unit_id,
                waiting.staff_id,
                waiting.household_id,
                id
            ])
        })
        .collect();
    // Every key column from the rows and the unclaimed test not indexable: so SQLite reads the
    // rows and looks each item up by its key, instead of reading the month's items and the rows
    // once for each.
    let sql = format!(
        "UPDATE routine_plan_items SET follow_up_id = v.follow_up_id FROM ({}) v
         WHERE routine_plan_items.month = v.month AND routine_plan_items.unit_id = v.unit_id
           AND routine_plan_items.staff_id = v.staff_id
           AND routine_plan_items.household_id = v.household_id
           AND COALESCE(routine_plan_items.follow_up_id, '') = ''
         RETURNING routine_plan_items.follow_up_id",
        db::json_rows(
            write.backend(),
            &[
                ("month", Text),
                ("unit_id", Int),
                ("staff_id", Int),
                ("household_id", Int),
                ("follow_up_id", Text),
            ]
        )
    );
    let claimed: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(db::json_param(&rows)?)
        .fetch_all(write.tx())
        .await?;
    Ok(claimed.into_iter().collect())
}

/// Marks the month's documents written, if all are and it was not marked before; then returns
/// each assignee with how many households are theirs (otherwise `None`).
pub async fn finish_month(
    write: &mut DocWrite,
    month: &str,
) -> Result<Option<Vec<(i64, i64)>>, StoreError> {
    let now = write.now_text();
    let finished = sqlx::query(
        "UPDATE routine_months SET documents_done_at = $1
         WHERE month = $2 AND documents_done_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM routine_plan_items WHERE month = $2 AND follow_up_id IS NULL)",
    )
    .bind(&now)
    .bind(month)
    .execute(write.tx())
    .await?;
    if finished.rows_affected() == 0 {
        return Ok(None);
    }
    Ok(Some(
        sqlx::query_as(
            "SELECT assignee_staff_id, COUNT(*) FROM routine_plan_items
             WHERE month = $1 AND assignee_staff_id IS NOT NULL
             GROUP BY assignee_staff_id ORDER BY assignee_staff_id",
        )
        .bind(month)
        .fetch_all(write.tx())
        .await?,
    ))
}

/// Whose plans a caller may read.
fn scope_condition(scope: &WorkScope, conditions: &mut Conditions, table: &str) {
    if let WorkScope::Units { staff_id, units } = scope {
        conditions.add(
            &format!(
                "({table}.unit_id IN ({}) OR {table}.staff_id = ?)",
                id_list(units)
            ),
            [SqlArg::Int(*staff_id)],
        );
    }
}

/// How far one quota holder's plan has come.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
pub struct PlanProgress {
    pub unit_id: i64,
    pub unit_name: String,
    /// The consultant whose own plan this is; 0 for a unit's.
    pub staff_id: i64,
    pub rule: String,
    pub community_id: Option<i64>,
    pub households: i64,
    pub quota: i64,
    pub explanation: String,
    /// The explanation in Chinese (empty for plans written before it was kept).
    pub explanation_zh: String,
    pub cycle: i64,
    pub new_cycle: i64,
    pub planned: i64,
    /// Follow-up documents written so far.
    pub written: i64,
    /// With an outcome: done, or the customer unreachable (D-STA-3's routine completion).
    pub done: i64,
    /// Of `done`, the ones where the customer could not be reached.
    pub unreachable: i64,
    pub overdue: i64,
}

/// Progress per person: the follow-ups of the month's plans assigned to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
pub struct PersonProgress {
    pub staff_id: i64,
    pub name: String,
    pub unit_id: i64,
    pub planned: i64,
    pub done: i64,
    pub unreachable: i64,
    pub overdue: i64,
}

/// A planned month's plans and progress, as one caller may see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProgress {
    pub generated_at: String,
    pub documents_done_at: Option<String>,
    pub plans: Vec<PlanProgress>,
    pub people: Vec<PersonProgress>,
}

/// Planned, written, done, unreachable and overdue, over items `i` joined to follow-ups `f`.
fn progress_counts() -> String {
    format!(
        "COUNT(i.household_id) AS planned, {} AS written, {} AS done, {} AS unreachable, {} AS overdue",
        count_where("i.follow_up_id IS NOT NULL"),
        count_where(&crate::measures::has_outcome()),
        count_where(&crate::measures::unreachable()),
        count_where(&crate::measures::overdue()),
    )
}

/// The month's plans and progress in `scope`; `None` when the month is not planned.
pub async fn progress(
    db: &Database,
    scope: &WorkScope,
    month: &str,
) -> Result<Option<StoredProgress>, StoreError> {
    let header: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT generated_at, documents_done_at FROM routine_months WHERE month = $1",
    )
    .bind(month)
    .fetch_optional(db.pool())
    .await?;
    let Some((generated_at, documents_done_at)) = header else {
        return Ok(None);
    };
    let mut conditions = Conditions::default();
    conditions.add("p.month = ?", [SqlArg::Text(month.to_owned())]);
    scope_condition(scope, &mut conditions, "p");
    let sql = format!(
        "SELECT p.unit_id, u.name AS unit_name, p.staff_id, p.rule, p.community_id, p.households,
            p.quota, p.explanation, p.explanation_zh, p.cycle, p.new_cycle, {counts}
         FROM routine_plans p
         JOIN units u ON u.id = p.unit_id
         LEFT JOIN routine_plan_items i
             ON i.month = p.month AND i.unit_id = p.unit_id AND i.staff_id = p.staff_id
         LEFT JOIN follow_ups f ON f.id = i.follow_up_id
         {}
         GROUP BY p.unit_id, u.name, p.staff_id, p.rule, p.community_id, p.households, p.quota,
            p.explanation, p.explanation_zh, p.cycle, p.new_cycle
         ORDER BY p.unit_id, p.staff_id",
        conditions.where_sql(),
        counts = progress_counts()
    );
    let plans = conditions
        .bind(sqlx::query_as(AssertSqlSafe(sql)))
        .fetch_all(db.pool())
        .await?;
    let mut conditions = Conditions::default();
    conditions.add("i.month = ?", [SqlArg::Text(month.to_owned())]);
    scope_condition(scope, &mut conditions, "i");
    // A follow-up a head reassigned counts for its new assignee.
    let sql = format!(
        "SELECT s.id AS staff_id, s.name, i.unit_id, {counts}
         FROM routine_plan_items i
         LEFT JOIN follow_ups f ON f.id = i.follow_up_id
         JOIN staff s ON s.id = COALESCE(f.assignee_staff_id, i.assignee_staff_id)
         {}
         GROUP BY s.id, s.name, i.unit_id
         ORDER BY i.unit_id, s.id",
        conditions.where_sql(),
        counts = progress_counts()
    );
    let people = conditions
        .bind(sqlx::query_as(AssertSqlSafe(sql)))
        .fetch_all(db.pool())
        .await?;
    Ok(Some(StoredProgress {
        generated_at,
        documents_done_at,
        plans,
        people,
    }))
}

/// A planned household as stored, with where its follow-up stands.
#[derive(Debug, Clone, FromRow)]
pub struct PlannedRow {
    pub unit_id: i64,
    pub staff_id: i64,
    pub household_id: i64,
    pub address: String,
    pub building_id: i64,
    pub cycle: i64,
    /// Why it was drawn, as the domain's JSON.
    pub reason: String,
    pub assignee_staff_id: Option<i64>,
    pub follow_up_id: Option<String>,
    pub status: Option<String>,
}

/// Which planned households to list.
#[derive(Debug, Default, Clone)]
pub struct PlannedFilter {
    pub unit_id: Option<i64>,
    /// A consultant's own plan (0: units' plans).
    pub staff_id: Option<i64>,
    pub household_id: Option<i64>,
}

/// The month's planned households in `scope`, by unit and building; with their total.
pub async fn planned_households(
    db: &Database,
    scope: &WorkScope,
    month: &str,
    filter: &PlannedFilter,
    page: PageRequest,
) -> Result<(Vec<PlannedRow>, i64), StoreError> {
    let mut conditions = Conditions::default();
    conditions.add("i.month = ?", [SqlArg::Text(month.to_owned())]);
    scope_condition(scope, &mut conditions, "i");
    if let Some(unit) = filter.unit_id {
        conditions.add("i.unit_id = ?", [SqlArg::Int(unit)]);
    }
    if let Some(staff) = filter.staff_id {
        conditions.add("i.staff_id = ?", [SqlArg::Int(staff)]);
    }
    if let Some(household) = filter.household_id {
        conditions.add("i.household_id = ?", [SqlArg::Int(household)]);
    }
    let where_sql = conditions.where_sql();
    let (total,): (i64,) = conditions
        .bind(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM routine_plan_items i {where_sql}"
        ))))
        .fetch_one(db.pool())
        .await?;
    let sql = format!(
        "SELECT i.unit_id, i.staff_id, i.household_id, h.address, h.building_id, i.cycle, i.reason,
            COALESCE(f.assignee_staff_id, i.assignee_staff_id) AS assignee_staff_id,
            i.follow_up_id, f.status
         FROM routine_plan_items i
         JOIN households h ON h.id = i.household_id
         LEFT JOIN follow_ups f ON f.id = i.follow_up_id
         {where_sql}
         ORDER BY i.unit_id, i.staff_id, h.building_id, i.household_id LIMIT {} OFFSET {}",
        page.limit, page.offset
    );
    let rows = conditions
        .bind(sqlx::query_as(AssertSqlSafe(sql)))
        .fetch_all(db.pool())
        .await?;
    Ok((rows, total))
}

/// Whether a month's plan is stored.
pub async fn is_planned(db: &Database, month: &str) -> Result<bool, StoreError> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT month FROM routine_months WHERE month = $1")
            .bind(month)
            .fetch_optional(db.pool())
            .await?;
    Ok(found.is_some())
}

/// Whether every follow-up of a planned month is written.
pub async fn documents_done(db: &Database, month: &str) -> Result<bool, StoreError> {
    let done: Option<Option<String>> =
        sqlx::query_scalar("SELECT documents_done_at FROM routine_months WHERE month = $1")
            .bind(month)
            .fetch_optional(db.pool())
            .await?;
    Ok(matches!(done, Some(Some(_))))
}

/// What drawing a month's plans reads, as of the month's first instant (`month_start`).
#[derive(Debug, Clone, Default)]
pub struct PlanningRows {
    /// Units that hold quotas (offices, service centres, office departments): id, kind and
    /// community (their own or their parent's).
    pub units: Vec<(i64, UnitKind, Option<i64>)>,
    /// Active heads and staff of units: id, unit, role.
    pub people: Vec<(i64, i64, Role)>,
    /// Households registered before the month: id, community, building.
    pub households: Vec<(i64, i64, i64)>,
    /// Each unit's current sampling cycle: unit, cycle, the month it started.
    pub cycles: Vec<(i64, i64, String)>,
    /// Households already sampled in a unit's current cycle: unit, household.
    pub sampled: Vec<(i64, i64)>,
    /// Households last found unreachable and not planned since: unit, household.
    pub unreachable: Vec<(i64, i64)>,
    /// Consultants' own households: consultant, unit, household, first customer, building.
    pub consultant_households: Vec<(i64, i64, i64, i64, i64)>,
}

/// Reads what drawing `month`'s plans needs (outside any write).
pub async fn planning_rows(
    db: &Database,
    month: &str,
    month_start: &str,
) -> Result<PlanningRows, StoreError> {
    let pool = db.pool();
    let units: Vec<(i64, String, Option<i64>)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT u.id, u.kind, COALESCE(u.community_id, p.community_id)
         FROM units u LEFT JOIN units p ON p.id = u.parent_id
         WHERE u.kind IN ({})
         ORDER BY u.id",
        db::codes(&[
            UnitKind::PropertyOffice,
            UnitKind::CustomerServiceCenter,
            UnitKind::OfficeDepartment
        ])
    )))
    .fetch_all(pool)
    .await?;
    let units = units
        .into_iter()
        .map(|(id, kind, community)| Ok((id, db::stored_code("unit kind", &kind)?, community)))
        .collect::<Result<_, StoreError>>()?;
    let people: Vec<(i64, i64, String)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT id, unit_id, role FROM staff
         WHERE deactivated_at IS NULL AND unit_id IS NOT NULL AND role IN ({})
         ORDER BY id",
        db::codes(&[Role::UnitHead, Role::Staff])
    )))
    .fetch_all(pool)
    .await?;
    let people = people
        .into_iter()
        .map(|(id, unit, role)| Ok((id, unit, db::stored_code("role", &role)?)))
        .collect::<Result<_, StoreError>>()?;
    let households = sqlx::query_as(
        "SELECT id, community_id, building_id FROM households WHERE created_at < $1 ORDER BY id",
    )
    .bind(month_start)
    .fetch_all(pool)
    .await?;
    let cycles = sqlx::query_as(
        "SELECT c.unit_id, c.cycle, c.started_month FROM routine_cycles c
         WHERE c.staff_id = 0 AND c.cycle = (SELECT MAX(d.cycle) FROM routine_cycles d
                                             WHERE d.unit_id = c.unit_id AND d.staff_id = 0)",
    )
    .fetch_all(pool)
    .await?;
    let sampled = sqlx::query_as(
        "SELECT i.unit_id, i.household_id FROM routine_plan_items i
         JOIN (SELECT unit_id, MAX(cycle) AS cycle FROM routine_cycles WHERE staff_id = 0
               GROUP BY unit_id) c ON c.unit_id = i.unit_id AND c.cycle = i.cycle
         WHERE i.staff_id = 0 AND i.sampled = 1 AND i.month < $1",
    )
    .bind(month)
    .fetch_all(pool)
    .await?;
    // Households not reached last time (with the head, or closed so) are tried again.
    let unreachable = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT i.unit_id, i.household_id FROM follow_ups f
         JOIN routine_plan_items i ON i.follow_up_id = f.id
         WHERE {unreachable} AND f.kind = {routine} AND i.sampled = 1 AND i.month < $1
           AND NOT EXISTS (SELECT 1 FROM routine_plan_items j
                           WHERE j.unit_id = i.unit_id AND j.staff_id = i.staff_id
                             AND j.household_id = i.household_id AND j.month > i.month)
         ORDER BY i.month, i.household_id",
        unreachable = crate::measures::unreachable(),
        routine = db::code(FollowUpKind::Routine),
    )))
    .bind(month)
    .fetch_all(pool)
    .await?;
    let consultant_households = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT cc.consultant_id, s.unit_id, c.household_id, MIN(c.id), h.building_id
         FROM consultant_customers cc
         JOIN staff s ON s.id = cc.consultant_id
         JOIN customers c ON c.id = cc.customer_id
         JOIN households h ON h.id = c.household_id
         WHERE s.deactivated_at IS NULL AND s.role = {consultant} AND s.unit_id IS NOT NULL
           AND h.created_at < $1
         GROUP BY cc.consultant_id, s.unit_id, c.household_id, h.building_id
         ORDER BY cc.consultant_id, c.household_id",
        consultant = db::code(Role::Consultant),
    )))
    .bind(month_start)
    .fetch_all(pool)
    .await?;
    Ok(PlanningRows {
        units,
        people,
        households,
        cycles,
        sampled,
        unreachable,
        consultant_households,
    })
}

/// Households registered in `[from, to)`: id and when.
pub async fn registered_between(
    db: &Database,
    from: &str,
    to: &str,
) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, created_at FROM households WHERE created_at >= $1 AND created_at < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?)
}

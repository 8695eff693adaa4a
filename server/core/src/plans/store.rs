//! Storing a month's plan and turning it into routine follow-ups.
//!
//! A plan is written in one document write (which holds the company's change-sequence lock), after
//! checking that the month is not planned yet: running it twice, or on two server instances at
//! once, writes it once. The follow-up documents are then written in batches, each batch claiming
//! its households (`follow_up_id IS NULL`) in its own transaction, so phones keep syncing while a
//! large month is written, and a run that stops midway resumes where it stopped.

use std::collections::BTreeMap;

use automerge::AutoCommit;
use chrono_tz::Tz;
use huifang_protocol::{FollowUp, FollowUpKind, FollowUpStatus, SCHEMA_VERSION, format_time};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{AssertSqlSafe, FromRow};

use super::month::Month;
use super::planner::MonthPlan;
use super::quotas::{QuotaRule, QuotaSettings};
use super::sampling::Reason;
use crate::error::Error;
use crate::rules;
use huifang_store::audit::AuditActor;
use huifang_store::db::{self, ColumnType, Conditions, Database, SqlArg, count_where, id_list};
use huifang_store::documents::DocWrite;
use huifang_store::registry::PageRequest;
use huifang_store::scope::WorkScope;

const SETTINGS_KEY: &str = "quotas";
/// Follow-up documents written per transaction.
const DOCUMENT_BATCH: i64 = 200;
/// The quota rates in force (R-GOV-1); the defaults of R-RTN-2…4 until an administrator changes them.
pub async fn load_settings(db: &Database) -> Result<QuotaSettings, Error> {
    rules::load_setting(db, SETTINGS_KEY).await
}

/// Changes the quota rates, with the old and new values in the audit chain (R-GOV-1).
pub async fn store_settings(
    db: &Database,
    time_zone: Tz,
    actor: AuditActor,
    settings: &QuotaSettings,
) -> Result<(), Error> {
    settings.validate().map_err(Error::invalid)?;
    rules::change_setting(
        db,
        time_zone,
        actor,
        SETTINGS_KEY,
        settings,
        "quotas.changed",
    )
    .await?;
    Ok(())
}

/// What storing a plan did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stored {
    pub month: Month,
    /// False when the month was already planned: nothing was written.
    pub created: bool,
    pub plans: usize,
    pub households: usize,
}

/// What is stored of a planned month.
async fn existing_plan<'c>(
    executor: impl sqlx::Executor<'c, Database = sqlx::Any>,
    month: Month,
) -> Result<Stored, Error> {
    let (plans, households): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM routine_plans WHERE month = $1),
                (SELECT COUNT(*) FROM routine_plan_items WHERE month = $1)",
    )
    .bind(month.to_string())
    .fetch_one(executor)
    .await?;
    Ok(Stored {
        month,
        created: false,
        plans: usize::try_from(plans).unwrap_or_default(),
        households: usize::try_from(households).unwrap_or_default(),
    })
}

/// The stored plan of `month`, if it is planned.
pub async fn stored_plan(db: &Database, month: Month) -> Result<Option<Stored>, Error> {
    if is_planned(db, month).await? {
        Ok(Some(existing_plan(db.pool(), month).await?))
    } else {
        Ok(None)
    }
}

/// Stores `plan` unless its month is planned already.
pub async fn store_plan(
    db: &Database,
    time_zone: Tz,
    actor: AuditActor,
    plan: &MonthPlan,
) -> Result<Stored, Error> {
    let month = plan.month.to_string();
    let mut write = DocWrite::begin(db, actor, time_zone).await?;
    let existing: Option<String> =
        sqlx::query_scalar("SELECT month FROM routine_months WHERE month = $1")
            .bind(&month)
            .fetch_optional(&mut **write.tx())
            .await?;
    if existing.is_some() {
        return existing_plan(&mut **write.tx(), plan.month).await;
    }
    let now = write.now_text();
    sqlx::query(
        "INSERT INTO routine_months (month, generated_at, generated_by) VALUES ($1, $2, $3)",
    )
    .bind(&month)
    .bind(&now)
    .bind(actor.staff_id)
    .execute(&mut **write.tx())
    .await?;
    let backend = write.backend();
    let plan_rows: Vec<serde_json::Value> = plan
        .plans
        .iter()
        .map(|unit| {
            json!([
                month,
                unit.unit_id,
                unit.staff_id,
                unit.quota.rule_id,
                unit.community_id,
                unit.quota.households,
                unit.quota.quota,
                unit.quota.explanation,
                unit.seed.to_string(),
                unit.cycle,
                i64::from(unit.new_cycle)
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
            ("seed", ColumnType::Text),
            ("cycle", ColumnType::Int),
            ("new_cycle", ColumnType::Int),
        ],
        &plan_rows,
    )
    .await?;
    let mut item_rows = Vec::with_capacity(plan.household_count());
    for unit in &plan.plans {
        for item in &unit.items {
            let reason =
                serde_json::to_string(&item.reason).map_err(|e| Error::Internal(e.into()))?;
            item_rows.push(json!([
                month,
                unit.unit_id,
                unit.staff_id,
                item.household_id,
                item.customer_id,
                i64::from(unit.is_sampled()),
                item.cycle,
                reason,
                item.assignee_staff_id
            ]));
        }
    }
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
    for unit in plan.plans.iter().filter(|unit| unit.is_sampled()) {
        // The first plan of a unit, or a cycle that began this month.
        sqlx::query(
            "INSERT INTO routine_cycles (unit_id, staff_id, cycle, started_month)
             VALUES ($1, $2, $3, $4) ON CONFLICT (unit_id, staff_id, cycle) DO NOTHING",
        )
        .bind(unit.unit_id)
        .bind(unit.staff_id)
        .bind(unit.cycle)
        .bind(&month)
        .execute(&mut **write.tx())
        .await?;
    }
    let mut by_rule: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for unit in &plan.plans {
        let entry = by_rule.entry(unit.quota.rule_id).or_default();
        entry.0 += 1;
        entry.1 += unit.items.len();
    }
    write
        .audit(
            "routine_plan.generated",
            &format!("routine-plan/{month}"),
            json!({ "plans": plan.plans.len(), "households": item_rows.len(), "by_rule": by_rule }),
        )
        .await?;
    write.commit().await?;
    Ok(Stored {
        month: plan.month,
        created: true,
        plans: plan.plans.len(),
        households: item_rows.len(),
    })
}

/// A planned household still waiting for its follow-up document.
#[derive(Debug, FromRow)]
struct Waiting {
    unit_id: i64,
    staff_id: i64,
    household_id: i64,
    customer_id: Option<i64>,
    assignee_staff_id: Option<i64>,
    rule: String,
}

/// Writes the follow-up documents of `month`'s plan that do not exist yet; returns how many it
/// wrote. Tells each assignee once, when the month's last document is written.
pub async fn create_documents(db: &Database, time_zone: Tz, month: Month) -> Result<usize, Error> {
    let key = month.to_string();
    // The month's last millisecond: due within the month it was planned for, so the figures
    // count it there.
    let due_at = format_time(month.end(time_zone) - chrono::Duration::milliseconds(1));
    let mut written = 0;
    loop {
        let batch: Vec<Waiting> = sqlx::query_as(
            "SELECT i.unit_id, i.staff_id, i.household_id, i.customer_id, i.assignee_staff_id, p.rule
             FROM routine_plan_items i
             JOIN routine_plans p ON p.month = i.month AND p.unit_id = i.unit_id AND p.staff_id = i.staff_id
             WHERE i.month = $1 AND i.follow_up_id IS NULL
             ORDER BY i.unit_id, i.staff_id, i.household_id LIMIT $2",
        )
        .bind(&key)
        .bind(DOCUMENT_BATCH)
        .fetch_all(db.pool())
        .await?;
        if batch.is_empty() {
            break;
        }
        let households: Vec<i64> = batch.iter().map(|w| w.household_id).collect();
        let customers: Vec<(i64, i64, String, String)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT household_id, id, name, phone FROM customers WHERE household_id IN ({})
             ORDER BY household_id, id",
            id_list(&households)
        )))
        .fetch_all(db.pool())
        .await?;
        let mut write = DocWrite::begin(db, AuditActor::SERVER, time_zone).await?;
        for waiting in batch {
            let Some(rule) = QuotaRule::from_rule_id(&waiting.rule) else {
                return Err(Error::internal(format!(
                    "routine plan with unknown rule {}",
                    waiting.rule
                )));
            };
            let id = huifang_protocol::new_document_id();
            let claimed = sqlx::query(
                "UPDATE routine_plan_items SET follow_up_id = $1
                 WHERE month = $2 AND unit_id = $3 AND staff_id = $4 AND household_id = $5
                   AND follow_up_id IS NULL",
            )
            .bind(&id)
            .bind(&key)
            .bind(waiting.unit_id)
            .bind(waiting.staff_id)
            .bind(waiting.household_id)
            .execute(&mut **write.tx())
            .await?;
            if claimed.rows_affected() == 0 {
                continue; // another instance wrote it meanwhile
            }
            let customer = customers
                .iter()
                .filter(|c| c.0 == waiting.household_id)
                .find(|c| waiting.customer_id.is_none_or(|wanted| wanted == c.1));
            let follow_up = FollowUp {
                schema_version: SCHEMA_VERSION,
                id,
                kind: FollowUpKind::Routine,
                sheet_id: None,
                household_id: Some(waiting.household_id),
                customer_id: customer.map(|c| c.1),
                customer_name: customer.map(|c| c.2.clone()).unwrap_or_default(),
                contact_phone: customer.map(|c| c.3.clone()).unwrap_or_default(),
                assignee_unit_id: waiting.unit_id,
                assignee_staff_id: waiting.assignee_staff_id,
                rule: rule.assignment_rule(),
                due_at: due_at.clone(),
                status: FollowUpStatus::Open,
                outcome: None,
                unreachable_attempts: Vec::new(),
                signature: None,
                cancel_reason: None,
                overdue_at: None,
                escalations: Vec::new(),
                reassignments: Vec::new(),
                created_at: write.now_text(),
            };
            follow_up
                .validate()
                .map_err(|e| Error::internal(format!("the plan made an invalid follow-up: {e}")))?;
            write
                .store(&mut AutoCommit::new(), &follow_up, "follow_up.planned")
                .await?;
            written += 1;
        }
        write.commit().await?;
    }
    finish_month(db, time_zone, month).await?;
    Ok(written)
}

/// Marks the month's documents written and tells each assignee how many households are theirs.
async fn finish_month(db: &Database, time_zone: Tz, month: Month) -> Result<(), Error> {
    let key = month.to_string();
    let mut write = DocWrite::begin(db, AuditActor::SERVER, time_zone).await?;
    let now = write.now_text();
    let finished = sqlx::query(
        "UPDATE routine_months SET documents_done_at = $1
         WHERE month = $2 AND documents_done_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM routine_plan_items WHERE month = $2 AND follow_up_id IS NULL)",
    )
    .bind(&now)
    .bind(&key)
    .execute(&mut **write.tx())
    .await?;
    if finished.rows_affected() == 0 {
        return Ok(()); // finished before, by this or another instance
    }
    let assignees: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT assignee_staff_id, COUNT(*) FROM routine_plan_items
         WHERE month = $1 AND assignee_staff_id IS NOT NULL
         GROUP BY assignee_staff_id ORDER BY assignee_staff_id",
    )
    .bind(&key)
    .fetch_all(&mut **write.tx())
    .await?;
    for (staff, count) in assignees {
        let message = format!("{key} 例行回访计划已生成:您需回访 {count} 户,月底前完成");
        write
            .notify(staff, &format!("routine-plan/{key}"), &message)
            .await?;
    }
    Ok(write.commit().await?)
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

/// A month's plans with their progress, as one caller may see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthProgress {
    pub month: Month,
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
        count_where(&huifang_store::measures::has_outcome()),
        count_where(&huifang_store::measures::unreachable()),
        count_where(&huifang_store::measures::overdue()),
    )
}

/// The month's plans and progress; `None` when the month is not planned.
pub async fn progress(
    db: &Database,
    scope: &WorkScope,
    month: Month,
) -> Result<Option<MonthProgress>, Error> {
    let key = month.to_string();
    let header: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT generated_at, documents_done_at FROM routine_months WHERE month = $1",
    )
    .bind(&key)
    .fetch_optional(db.pool())
    .await?;
    let Some((generated_at, documents_done_at)) = header else {
        return Ok(None);
    };
    let mut conditions = Conditions::default();
    conditions.add("p.month = ?", [SqlArg::Text(key.clone())]);
    scope_condition(scope, &mut conditions, "p");
    let sql = format!(
        "SELECT p.unit_id, u.name AS unit_name, p.staff_id, p.rule, p.community_id, p.households,
            p.quota, p.explanation, p.cycle, p.new_cycle, {counts}
         FROM routine_plans p
         JOIN units u ON u.id = p.unit_id
         LEFT JOIN routine_plan_items i
             ON i.month = p.month AND i.unit_id = p.unit_id AND i.staff_id = p.staff_id
         LEFT JOIN follow_ups f ON f.id = i.follow_up_id
         {}
         GROUP BY p.unit_id, u.name, p.staff_id, p.rule, p.community_id, p.households, p.quota,
            p.explanation, p.cycle, p.new_cycle
         ORDER BY p.unit_id, p.staff_id",
        conditions.where_sql(),
        counts = progress_counts()
    );
    let plans = conditions
        .bind(sqlx::query_as(AssertSqlSafe(sql)))
        .fetch_all(db.pool())
        .await?;
    let mut conditions = Conditions::default();
    conditions.add("i.month = ?", [SqlArg::Text(key)]);
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
    Ok(Some(MonthProgress {
        month,
        generated_at,
        documents_done_at,
        plans,
        people,
    }))
}

/// A planned household, with why it was chosen and where its follow-up stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedHousehold {
    pub unit_id: i64,
    pub staff_id: i64,
    pub household_id: i64,
    pub address: String,
    pub building_id: i64,
    pub cycle: i64,
    pub reason: Reason,
    /// The reason in words.
    pub why: String,
    pub assignee_staff_id: Option<i64>,
    pub follow_up_id: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, FromRow)]
struct PlannedRow {
    unit_id: i64,
    staff_id: i64,
    household_id: i64,
    address: String,
    building_id: i64,
    cycle: i64,
    reason: String,
    assignee_staff_id: Option<i64>,
    follow_up_id: Option<String>,
    status: Option<String>,
}

/// Which planned households to list.
#[derive(Debug, Default, Clone)]
pub struct PlannedFilter {
    pub unit_id: Option<i64>,
    /// A consultant's own plan (0: units' plans).
    pub staff_id: Option<i64>,
    pub household_id: Option<i64>,
}

/// The month's planned households, by unit and building.
pub async fn planned_households(
    db: &Database,
    scope: &WorkScope,
    month: Month,
    filter: &PlannedFilter,
    page: PageRequest,
) -> Result<huifang_protocol::Page<PlannedHousehold>, Error> {
    let mut conditions = Conditions::default();
    conditions.add("i.month = ?", [SqlArg::Text(month.to_string())]);
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
    let rows: Vec<PlannedRow> = conditions
        .bind(sqlx::query_as(AssertSqlSafe(sql)))
        .fetch_all(db.pool())
        .await?;
    let items = rows
        .into_iter()
        .map(|row| {
            let reason: Reason = serde_json::from_str(&row.reason)
                .map_err(|e| Error::internal(format!("stored plan reason: {e}")))?;
            Ok(PlannedHousehold {
                why: reason.explain(),
                reason,
                unit_id: row.unit_id,
                staff_id: row.staff_id,
                household_id: row.household_id,
                address: row.address,
                building_id: row.building_id,
                cycle: row.cycle,
                assignee_staff_id: row.assignee_staff_id,
                follow_up_id: row.follow_up_id,
                status: row.status,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(huifang_protocol::Page {
        items,
        total,
        limit: page.limit,
        offset: page.offset,
    })
}

/// Whether a month's plan is stored.
pub async fn is_planned(db: &Database, month: Month) -> Result<bool, Error> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT month FROM routine_months WHERE month = $1")
            .bind(month.to_string())
            .fetch_optional(db.pool())
            .await?;
    Ok(found.is_some())
}

/// Whether every follow-up of a planned month is written.
pub async fn documents_done(db: &Database, month: Month) -> Result<bool, Error> {
    let done: Option<Option<String>> =
        sqlx::query_scalar("SELECT documents_done_at FROM routine_months WHERE month = $1")
            .bind(month.to_string())
            .fetch_optional(db.pool())
            .await?;
    Ok(matches!(done, Some(Some(_))))
}

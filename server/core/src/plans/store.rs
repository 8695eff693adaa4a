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

use super::month::Month;
use super::planner::MonthPlan;
use super::quotas::{QuotaRule, QuotaSettings};
use super::sampling::Reason;
use crate::error::Error;
use crate::rules;
use huifang_store::audit::AuditActor;
use huifang_store::db::Database;
use huifang_store::documents::DocWrite;
use huifang_store::registry::PageRequest;
use huifang_store::scope::WorkScope;
use huifang_store::{plans, registry};

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

impl Stored {
    fn of(month: Month, created: bool, counts: plans::PlanCounts) -> Self {
        Stored {
            month,
            created,
            plans: counts.plans,
            households: counts.households,
        }
    }
}

/// The stored plan of `month`, if it is planned.
pub async fn stored_plan(db: &Database, month: Month) -> Result<Option<Stored>, Error> {
    Ok(plans::stored_counts(db, &month.to_string())
        .await?
        .map(|counts| Stored::of(month, false, counts)))
}

/// Stores `plan` unless its month is planned already.
pub async fn store_plan(
    db: &Database,
    time_zone: Tz,
    actor: AuditActor,
    plan: &MonthPlan,
) -> Result<Stored, Error> {
    let month = plan.month.to_string();
    let rows = plan
        .plans
        .iter()
        .map(|unit| {
            let items = unit
                .items
                .iter()
                .map(|item| {
                    Ok(plans::NewPlanItem {
                        household_id: item.household_id,
                        customer_id: item.customer_id,
                        cycle: item.cycle,
                        reason: serde_json::to_string(&item.reason)
                            .map_err(|e| Error::Internal(e.into()))?,
                        assignee_staff_id: item.assignee_staff_id,
                    })
                })
                .collect::<Result<Vec<_>, Error>>()?;
            Ok(plans::NewPlan {
                unit_id: unit.unit_id,
                staff_id: unit.staff_id,
                rule: unit.quota.rule_id.to_owned(),
                community_id: unit.community_id,
                households: i64::from(unit.quota.households),
                quota: i64::from(unit.quota.quota),
                explanation: unit.quota.explanation.clone(),
                seed: unit.seed.to_string(),
                cycle: unit.cycle,
                new_cycle: unit.new_cycle,
                sampled: unit.is_sampled(),
                items,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let mut write = DocWrite::begin(db, actor, time_zone).await?;
    let counts = match plans::insert_month(&mut write, &month, actor.staff_id, &rows).await? {
        Ok(counts) => counts,
        Err(existing) => return Ok(Stored::of(plan.month, false, existing)),
    };
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
            json!({ "plans": counts.plans, "households": counts.households, "by_rule": by_rule }),
        )
        .await?;
    write.commit().await?;
    Ok(Stored::of(plan.month, true, counts))
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
        let batch = plans::waiting(db, &key, DOCUMENT_BATCH).await?;
        if batch.is_empty() {
            break;
        }
        let households: Vec<i64> = batch.iter().map(|w| w.household_id).collect();
        let customers = registry::contacts_of(db, &households).await?;
        let mut write = DocWrite::begin(db, AuditActor::SERVER, time_zone).await?;
        for waiting in batch {
            let Some(rule) = QuotaRule::from_rule_id(&waiting.rule) else {
                return Err(Error::internal(format!(
                    "routine plan with unknown rule {}",
                    waiting.rule
                )));
            };
            let id = huifang_protocol::new_document_id();
            if !plans::claim(&mut write, &key, &waiting, &id).await? {
                continue; // another instance wrote it meanwhile
            }
            let customer = customers
                .iter()
                .filter(|c| c.household_id == waiting.household_id)
                .find(|c| waiting.customer_id.is_none_or(|wanted| wanted == c.id));
            let follow_up = FollowUp {
                schema_version: SCHEMA_VERSION,
                id,
                kind: FollowUpKind::Routine,
                sheet_id: None,
                household_id: Some(waiting.household_id),
                customer_id: customer.map(|c| c.id),
                customer_name: customer.map(|c| c.name.clone()).unwrap_or_default(),
                contact_phone: customer.map(|c| c.phone.clone()).unwrap_or_default(),
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
    let Some(assignees) = plans::finish_month(&mut write, &key).await? else {
        return Ok(()); // finished before, by this or another instance
    };
    for (staff, count) in assignees {
        let message = format!("{key} 例行回访计划已生成:您需回访 {count} 户,月底前完成");
        write
            .notify(staff, &format!("routine-plan/{key}"), &message)
            .await?;
    }
    Ok(write.commit().await?)
}

pub use huifang_store::plans::{PersonProgress, PlanProgress, PlannedFilter};

/// A month's plans with their progress, as one caller may see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthProgress {
    pub month: Month,
    pub generated_at: String,
    pub documents_done_at: Option<String>,
    pub plans: Vec<PlanProgress>,
    pub people: Vec<PersonProgress>,
}

/// The month's plans and progress; `None` when the month is not planned.
pub async fn progress(
    db: &Database,
    scope: &WorkScope,
    month: Month,
) -> Result<Option<MonthProgress>, Error> {
    Ok(plans::progress(db, scope, &month.to_string())
        .await?
        .map(|stored| MonthProgress {
            month,
            generated_at: stored.generated_at,
            documents_done_at: stored.documents_done_at,
            plans: stored.plans,
            people: stored.people,
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

/// The month's planned households, by unit and building.
pub async fn planned_households(
    db: &Database,
    scope: &WorkScope,
    month: Month,
    filter: &PlannedFilter,
    page: PageRequest,
) -> Result<huifang_protocol::Page<PlannedHousehold>, Error> {
    let (rows, total) =
        plans::planned_households(db, scope, &month.to_string(), filter, page).await?;
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
    Ok(plans::is_planned(db, &month.to_string()).await?)
}

/// Whether every follow-up of a planned month is written.
pub async fn documents_done(db: &Database, month: Month) -> Result<bool, Error> {
    Ok(plans::documents_done(db, &month.to_string()).await?)
}

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
use huifang_protocol::{
    Document, FollowUp, FollowUpKind, FollowUpStatus, SCHEMA_VERSION, format_time,
};
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
const DOCUMENT_BATCH: i64 = 500;
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
                explanation_zh: unit.quota.explanation_zh.clone(),
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
    // While one batch is written, the next is read and its documents made (the writer's
    // statements and the Automerge work run side by side).
    let mut written = 0;
    let mut next = prepare_batch(db, &key, None, &due_at).await?;
    while let Some(batch) = next.take() {
        let after = batch.waiting.last().cloned();
        let (stored, prepared) = tokio::join!(
            write_batch(db, time_zone, &key, batch),
            prepare_batch(db, &key, after.as_ref(), &due_at)
        );
        written += stored?;
        next = prepared?;
    }
    finish_month(db, time_zone, month).await?;
    Ok(written)
}

/// A batch of planned households and their new follow-ups, saved, not yet stored.
struct Batch {
    waiting: Vec<plans::Waiting>,
    saved: Vec<(FollowUp, Vec<u8>)>,
}

/// Reads the next batch of waiting households after `after` and makes their follow-ups;
/// `None` when none is left.
async fn prepare_batch(
    db: &Database,
    key: &str,
    after: Option<&plans::Waiting>,
    due_at: &str,
) -> Result<Option<Batch>, Error> {
    let waiting = plans::waiting(db, key, after, DOCUMENT_BATCH).await?;
    if waiting.is_empty() {
        return Ok(None);
    }
    let households: Vec<i64> = waiting.iter().map(|w| w.household_id).collect();
    let customers = registry::contacts_of(db, &households).await?;
    let created_at = format_time(db.now());
    let follow_ups = waiting
        .iter()
        .map(|waiting| {
            let Some(rule) = QuotaRule::from_rule_id(&waiting.rule) else {
                return Err(Error::internal(format!(
                    "routine plan with unknown rule {}",
                    waiting.rule
                )));
            };
            let customer = customers
                .iter()
                .filter(|c| c.household_id == waiting.household_id)
                .find(|c| waiting.customer_id.is_none_or(|wanted| wanted == c.id));
            let follow_up = FollowUp {
                schema_version: SCHEMA_VERSION,
                id: huifang_protocol::new_document_id(),
                kind: FollowUpKind::Routine,
                sheet_id: None,
                household_id: Some(waiting.household_id),
                customer_id: customer.map(|c| c.id),
                customer_name: customer.map(|c| c.name.clone()).unwrap_or_default(),
                contact_phone: customer.map(|c| c.phone.clone()).unwrap_or_default(),
                assignee_unit_id: waiting.unit_id,
                assignee_staff_id: waiting.assignee_staff_id,
                rule: rule.assignment_rule(),
                due_at: due_at.to_owned(),
                status: FollowUpStatus::Open,
                outcome: None,
                unreachable_attempts: Vec::new(),
                signature: None,
                cancel_reason: None,
                overdue_at: None,
                escalations: Vec::new(),
                reassignments: Vec::new(),
                created_at: created_at.clone(),
                survey_form_id: None,
                survey_response: None,
                photos: Vec::new(),
            };
            follow_up
                .validate()
                .map_err(|e| Error::internal(format!("the plan made an invalid follow-up: {e}")))?;
            Ok(follow_up)
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let saved = save_new(follow_ups).await?;
    Ok(Some(Batch { waiting, saved }))
}

/// Claims a batch's households and stores the follow-ups of those still waiting, in one write;
/// returns how many it stored.
async fn write_batch(
    db: &Database,
    time_zone: Tz,
    key: &str,
    batch: Batch,
) -> Result<usize, Error> {
    let Batch { waiting, saved } = batch;
    let mut write = DocWrite::begin(db, AuditActor::SERVER, time_zone).await?;
    let claims: Vec<(&plans::Waiting, &str)> = waiting
        .iter()
        .zip(saved.iter().map(|(f, _)| f.id.as_str()))
        .collect();
    let claimed = plans::claim_all(&mut write, key, &claims).await?;
    // A household another instance claimed meanwhile keeps that instance's follow-up.
    let saved: Vec<_> = saved
        .into_iter()
        .filter(|(follow_up, _)| claimed.contains(&follow_up.id))
        .collect();
    let stored = saved.len();
    write.store_saved_all(saved, "follow_up.planned").await?;
    write.commit().await?;
    Ok(stored)
}

/// Each new follow-up as its own Automerge document, saved (on every core).
async fn save_new(follow_ups: Vec<FollowUp>) -> Result<Vec<(FollowUp, Vec<u8>)>, Error> {
    crate::cores::on_every_core(follow_ups, "saving follow-ups", |part| {
        part.into_iter()
            .map(|follow_up| {
                let mut doc = AutoCommit::new();
                follow_up.reconcile_into(&mut doc).map_err(|e| {
                    Error::internal(format!("writing follow-up {}: {e}", follow_up.id))
                })?;
                let bytes = doc.save();
                Ok((follow_up, bytes))
            })
            .collect()
    })
    .await
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

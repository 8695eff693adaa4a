//! Routine follow-up plans (SPEC §3 "Routine follow-up"): how many households each unit owes a
//! month ([`quotas`], R-RTN-1…4, D-RTN-1), which ones ([`sampling`], R-RTN-5, D-RTN-2), the
//! month's plan for the whole company ([`planner`]), stored once and turned into routine
//! follow-up documents ([`store`]), generated at each month's start ([`spawn_monthly`]) or by
//! hand (`huifang plan`, `POST /api/v1/plans/{month}`).
//!
//! Quotas, sampling and planning are pure functions over data gathered beforehand, so the rules
//! are tested case by case and by property tests, and a plan can be previewed without writing.

pub mod month;
pub mod planner;
pub mod quotas;
pub mod sampling;
pub mod store;

use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

pub use month::Month;
pub use planner::{MonthPlan, PlanFacts, gather, plan_month};

use crate::error::Error;
use huifang_store::audit::AuditActor;
use huifang_store::db::Database;

/// Previews a month's plan: what would be chosen now, writing nothing.
pub async fn preview(db: &Database, time_zone: Tz, month: Month) -> Result<MonthPlan, Error> {
    let settings = store::load_settings(db).await?;
    let facts = gather(db, time_zone, month, settings).await?;
    Ok(plan_month(&facts))
}

/// What generating a month did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Generated {
    pub stored: store::Stored,
    /// Follow-up documents written by this run.
    pub documents_written: usize,
}

/// Plans a month (unless planned already) and writes its follow-up documents (those not
/// written yet). Running it again changes nothing once both are done.
pub async fn generate(
    db: &Database,
    time_zone: Tz,
    actor: AuditActor,
    month: Month,
) -> Result<Generated, Error> {
    let stored = match store::stored_plan(db, month).await? {
        Some(existing) => existing,
        None => {
            let plan = preview(db, time_zone, month).await?;
            store::store_plan(db, time_zone, actor, &plan).await?
        }
    };
    let documents_written = store::create_documents(db, time_zone, month).await?;
    Ok(Generated {
        stored,
        documents_written,
    })
}

/// Which months may be planned at `now`: the current one and the next (a past month cannot be
/// followed up any more; further ahead, households registered meanwhile would be missed).
pub fn check_plannable(month: Month, now: DateTime<Utc>, time_zone: Tz) -> Result<(), Error> {
    let current = Month::of(now, time_zone);
    if month < current {
        return Err(Error::invalid(format!(
            "{month} has passed; only {current} or {} can be planned",
            current.next()
        )));
    }
    if month > current.next() {
        return Err(Error::invalid(format!(
            "{month} is too far ahead; only {current} or {} can be planned (households registered \
             meanwhile would be missed)",
            current.next()
        )));
    }
    Ok(())
}

/// One pass of the monthly job: plans the current month when it owes anything and finishes
/// writing its documents. Safe with several instances (see [`store`]).
pub async fn run_monthly(db: &Database, time_zone: Tz, now: DateTime<Utc>) -> Result<usize, Error> {
    let month = Month::of(now, time_zone);
    if !store::is_planned(db, month).await? {
        let plan = preview(db, time_zone, month).await?;
        if plan.household_count() == 0 {
            return Ok(0); // nothing is owed (no households registered before the month began)
        }
        let stored = store::store_plan(db, time_zone, AuditActor::SERVER, &plan).await?;
        if stored.created {
            tracing::info!(%month, plans = stored.plans, households = stored.households, "routine plan generated");
        }
    } else if store::documents_done(db, month).await? {
        return Ok(0);
    }
    store::create_documents(db, time_zone, month).await
}

/// Runs [`run_monthly`] every `every` until the process ends.
pub fn spawn_monthly(
    db: Database,
    time_zone: Tz,
    every: StdDuration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            match run_monthly(&db, time_zone, db.now()).await {
                Ok(0) => {}
                Ok(written) => tracing::info!(written, "routine follow-ups written"),
                Err(e) => {
                    tracing::warn!(error = %e, "routine planning failed; retrying at the next tick")
                }
            }
        }
    })
}

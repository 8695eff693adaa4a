//! The deadline job (R-INF-4): marks open follow-ups overdue once their due time passes and
//! escalates them to the head of the assigned unit. Safe with several server instances on one
//! database: each follow-up is re-checked inside its own document write, which holds the
//! change-sequence lock, so no follow-up is escalated twice.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use huifang_protocol::{Escalation, FollowUp, FollowUpStatus, format_time};

use crate::audit::AuditActor;
use crate::db::{self, Database};
use crate::documents::{DocWrite, new_id};
use crate::error::AppError;
use crate::followups;

/// Follow-ups escalated per pass at most; the next pass takes the rest.
const BATCH: i64 = 500;

/// Marks every open follow-up due at or before `now` overdue; returns how many it marked.
pub async fn escalate_overdue(
    db: &Database,
    time_zone: Tz,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let due: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM follow_ups WHERE status = 'open' AND overdue_at IS NULL AND due_at <= $1
         ORDER BY due_at LIMIT $2",
    )
    .bind(db::timestamp(now))
    .bind(BATCH)
    .fetch_all(db.pool())
    .await?;
    let mut marked = 0;
    for id in due {
        let mut write = DocWrite::begin(db, AuditActor::SERVER, time_zone).await?;
        let Some((_, before)) = write.load::<FollowUp>(&id).await? else {
            continue;
        };
        if before.status != FollowUpStatus::Open || before.overdue_at.is_some() {
            continue; // another instance got there first, or it was done meanwhile
        }
        let head = followups::unit_head(&mut write, before.assignee_unit_id).await?;
        let mut after = before.clone();
        after.overdue_at = Some(format_time(now));
        after.escalations.push(Escalation {
            id: new_id(),
            at: format_time(now),
            to_staff_id: head,
            reason: format!("due at {} and not done (R-INF-4)", before.due_at),
        });
        write.store_as_server(&after, "follow_up.overdue").await?;
        let message = format!(
            "回访已逾期:客户 {},应于 {} 前完成",
            after.customer_name, after.due_at
        );
        for staff in head
            .into_iter()
            .chain(after.assignee_staff_id)
            .collect::<std::collections::BTreeSet<_>>()
        {
            write.notify(staff, &after.id, &message).await?;
        }
        write.commit().await?;
        marked += 1;
    }
    Ok(marked)
}

/// Runs [`escalate_overdue`] every `every` until the process ends.
pub fn spawn(db: Database, time_zone: Tz, every: StdDuration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            match escalate_overdue(&db, time_zone, db.now()).await {
                Ok(0) => {}
                Ok(marked) => tracing::info!(marked, "follow-ups marked overdue"),
                Err(e) => {
                    tracing::warn!(error = %e, "deadline check failed; retrying at the next tick")
                }
            }
        }
    })
}

//! The deadline job (R-INF-4): marks open follow-ups overdue once their due time passes and
//! escalates them up the chain of heads (never to the assignee, see [`Heads`]).
//!
//! At a month's end thousands of routine follow-ups fall due at the same instant, beside a few
//! information follow-ups whose 24-hour deadline is what R-INF-4 is about. So a pass takes every
//! follow-up that fell due, information follow-ups first, in batches of one transaction each
//! (documents changed off the async threads); an information follow-up's head and assignee are
//! told of it at once, while routine and survey follow-ups reach each person as one digest per
//! pass ("12 routine follow-ups are overdue") instead of one notification each.
//!
//! Safe with several server instances on one database: each batch re-checks its follow-ups
//! inside its own document write, which holds the change-sequence lock, so no follow-up is
//! escalated twice.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use huifang_protocol::{
    Document, Escalation, FollowUp, FollowUpKind, FollowUpStatus, Labelled, format_time,
    local_time, local_time_of,
};

use crate::audit::AuditActor;
use crate::db::{self, Database};
use crate::documents::{DocWrite, new_id};
use crate::error::AppError;
use crate::followups::Heads;

/// Follow-ups changed per transaction: large enough that commits do not dominate, small enough
/// that a phone's sync waits for one batch at most.
const BATCH: usize = 250;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Escalated {
    /// Information follow-ups marked overdue (each told to its head and assignee at once).
    pub information: usize,
    /// Routine and survey follow-ups marked overdue (told as digests).
    pub other: usize,
    /// Digest notifications sent.
    pub digests: usize,
}

impl Escalated {
    pub fn marked(&self) -> usize {
        self.information + self.other
    }
}

/// One follow-up changed in memory: the new value, its saved document and whom to tell.
struct Marked {
    after: FollowUp,
    bytes: Vec<u8>,
    head: Option<i64>,
}

/// Marks every open follow-up due at or before `now` overdue and escalates it.
pub async fn escalate_overdue(
    db: &Database,
    time_zone: Tz,
    now: DateTime<Utc>,
) -> Result<Escalated, AppError> {
    // Information follow-ups first: theirs is the 24-hour deadline (R-INF-4).
    let due: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM follow_ups WHERE status = $1 AND overdue_at IS NULL AND due_at <= $2
         ORDER BY CASE WHEN kind = $3 THEN 0 ELSE 1 END, due_at, id",
    )
    .bind(FollowUpStatus::Open.code())
    .bind(db::timestamp(now))
    .bind(FollowUpKind::Information.code())
    .fetch_all(db.pool())
    .await?;
    let mut done = Escalated::default();
    if due.is_empty() {
        return Ok(done);
    }
    let heads = {
        let mut conn = db.pool().acquire().await?;
        Arc::new(Heads::load(&mut conn).await?)
    };
    // Per person: how many routine or survey follow-ups went overdue in this pass.
    let mut digests: BTreeMap<i64, usize> = BTreeMap::new();
    for batch in due.chunks(BATCH) {
        let mut write = DocWrite::begin(db, AuditActor::SERVER, time_zone).await?;
        let stored = write.load_many_bytes::<FollowUp>(batch).await?;
        let heads = heads.clone();
        let marked = tokio::task::spawn_blocking(move || mark(stored, &heads, now, time_zone))
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("marking overdue: {e}")))??;
        for Marked { after, bytes, head } in marked {
            write
                .store_saved(&after, bytes, "follow_up.overdue")
                .await?;
            let told = head
                .into_iter()
                .chain(after.assignee_staff_id)
                .collect::<std::collections::BTreeSet<_>>();
            if after.kind == FollowUpKind::Information {
                let message = format!(
                    "回访已逾期:客户 {},应于 {} 前完成(R-INF-4)",
                    after.customer_name,
                    write.local(&after.due_at)
                );
                for staff in told {
                    write.notify(staff, &after.id, &message).await?;
                }
                done.information += 1;
            } else {
                for staff in told {
                    *digests.entry(staff).or_default() += 1;
                }
                done.other += 1;
            }
        }
        write.commit().await?;
    }
    if !digests.is_empty() {
        let mut write = DocWrite::begin(db, AuditActor::SERVER, time_zone).await?;
        let day = now.with_timezone(&time_zone).format("%Y-%m-%d");
        let subject = format!("overdue/{day}");
        for (staff, count) in &digests {
            let message = format!(
                "{count} 条例行或调查回访已逾期(截至 {}),请在回访列表中查看逾期项",
                local_time(now, &time_zone)
            );
            write.notify(*staff, &subject, &message).await?;
        }
        write.commit().await?;
        done.digests = digests.len();
    }
    Ok(done)
}

/// Changes each stored follow-up that is still open and not yet overdue: CPU work, run off the
/// async threads.
fn mark(
    stored: Vec<(String, Vec<u8>)>,
    heads: &Heads,
    now: DateTime<Utc>,
    time_zone: Tz,
) -> Result<Vec<Marked>, AppError> {
    let mut marked = Vec::with_capacity(stored.len());
    for (id, bytes) in stored {
        let (mut doc, before) = FollowUp::load(&bytes)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("stored document {id}: {e}")))?;
        if before.status != FollowUpStatus::Open || before.overdue_at.is_some() {
            continue; // another instance got there first, or it was done meanwhile
        }
        let head = heads.above(before.assignee_unit_id, before.assignee_staff_id);
        let mut after = before;
        after.overdue_at = Some(format_time(now));
        after.escalations.push(Escalation {
            id: new_id(),
            at: format_time(now),
            to_staff_id: head,
            reason: format!(
                "应于 {} 前完成,已逾期 (R-INF-4)",
                local_time_of(&after.due_at, &time_zone)
            ),
        });
        after
            .reconcile_into(&mut doc)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("writing document {id}: {e}")))?;
        marked.push(Marked {
            bytes: doc.save(),
            after,
            head,
        });
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
                Ok(done) if done.marked() == 0 => {}
                Ok(done) => tracing::info!(
                    information = done.information,
                    other = done.other,
                    digests = done.digests,
                    "follow-ups marked overdue"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "deadline check failed; retrying at the next tick")
                }
            }
        }
    })
}

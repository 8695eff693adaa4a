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
    Document, Escalation, FollowUp, FollowUpKind, FollowUpStatus, Listed, format_time, local_time,
    local_time_of,
};

use crate::error::Error;
use crate::followups::Heads;
use huifang_store::audit::AuditActor;
use huifang_store::db::Database;
use huifang_store::documents::{DocWrite, Stored};

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
    /// The change sequence of the stored copy it was changed from.
    seq: i64,
    after: FollowUp,
    bytes: Vec<u8>,
    head: Option<i64>,
}

/// Reads a batch with the pool and changes it in memory, before its write begins.
async fn prepare(
    db: Database,
    ids: Vec<String>,
    heads: Arc<Heads>,
    now: DateTime<Utc>,
    time_zone: Tz,
) -> Result<(Vec<String>, Vec<Marked>), Error> {
    let stored = {
        let mut conn = db.connection().await?;
        huifang_store::documents::stored_many::<FollowUp>(&mut conn, &ids).await?
    };
    let marked = mark_in_parallel(stored, &heads, now, time_zone).await?;
    Ok((ids, marked))
}

/// Inside the write: keeps what was prepared from the copy still stored, and changes again
/// the follow-ups written since they were read (done meanwhile, or changed by another instance).
async fn recheck(
    write: &mut DocWrite,
    ids: &[String],
    prepared: Vec<Marked>,
    heads: &Heads,
    now: DateTime<Utc>,
    time_zone: Tz,
) -> Result<Vec<Marked>, Error> {
    let seqs = write.stored_seqs(ids).await?;
    let mut kept: Vec<Marked> = prepared
        .into_iter()
        .filter(|m| seqs.get(&m.after.id) == Some(&m.seq))
        .collect();
    let current: std::collections::HashSet<&str> =
        kept.iter().map(|m| m.after.id.as_str()).collect();
    // Changed since it was read (or passed over then): read again under the lock.
    let again: Vec<String> = ids
        .iter()
        .filter(|id| !current.contains(id.as_str()) && seqs.contains_key(id.as_str()))
        .cloned()
        .collect();
    if !again.is_empty() {
        let stored = write.load_many::<FollowUp>(&again).await?;
        kept.extend(mark(stored, heads, now, time_zone)?);
    }
    Ok(kept)
}

/// Marks every open follow-up due at or before `now` overdue and escalates it.
pub async fn escalate_overdue(
    db: &Database,
    time_zone: Tz,
    now: DateTime<Utc>,
) -> Result<Escalated, Error> {
    // Information follow-ups first: theirs is the 24-hour deadline (R-INF-4).
    let due =
        huifang_store::followups::past_deadline(db, &huifang_protocol::format_time(now)).await?;
    let mut done = Escalated::default();
    if due.is_empty() {
        return Ok(done);
    }
    let heads = {
        let mut conn = db.connection().await?;
        Arc::new(Heads::load(&mut conn).await?)
    };
    // Per person: how many routine or survey follow-ups went overdue in this pass.
    let mut digests: BTreeMap<i64, usize> = BTreeMap::new();
    // Batches are pipelined: while one batch is written (one transaction, holding the write
    // lock), the next is read and changed in memory on every core. Inside the write, any
    // follow-up that changed since it was read is read and changed again.
    let mut batches = due.chunks(BATCH).map(<[String]>::to_vec);
    let mut next = batches
        .next()
        .map(|ids| tokio::spawn(prepare(db.clone(), ids, heads.clone(), now, time_zone)));
    while let Some(preparing) = next.take() {
        let (ids, prepared) = preparing
            .await
            .map_err(|e| Error::internal(format!("marking overdue: {e}")))??;
        next = batches
            .next()
            .map(|ids| tokio::spawn(prepare(db.clone(), ids, heads.clone(), now, time_zone)));
        let mut write = DocWrite::begin(db, AuditActor::SERVER, time_zone).await?;
        let marked = recheck(&mut write, &ids, prepared, &heads, now, time_zone).await?;
        // The batch in a handful of statements: documents, projection, audit entries and the
        // information follow-ups' notifications, each many rows at a time.
        let mut notices = Vec::new();
        let mut entries = Vec::with_capacity(marked.len());
        let mut documents = Vec::with_capacity(marked.len());
        let mut overdue = Vec::with_capacity(marked.len());
        for Marked {
            after, bytes, head, ..
        } in marked
        {
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
                    notices.push((staff, after.id.clone(), message.clone()));
                }
                done.information += 1;
            } else {
                for staff in told {
                    *digests.entry(staff).or_default() += 1;
                }
                done.other += 1;
            }
            let mut detail = after.audit_detail();
            detail["seq"] = write.seq.into();
            entries.push(("follow_up.overdue", after.id.clone(), detail));
            documents.push((after.listing(), bytes));
            overdue.push(after.id);
        }
        write.put_all_bytes(documents).await?;
        huifang_store::followups::project_overdue(&mut write, &overdue, &format_time(now)).await?;
        write.audit_all(entries).await?;
        write.notify_all(notices).await?;
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

/// [`mark`] on every core, off the async threads: Automerge's loading and saving is most of a
/// pass's work.
async fn mark_in_parallel(
    stored: Vec<huifang_store::documents::StoredDoc>,
    heads: &Arc<Heads>,
    now: DateTime<Utc>,
    time_zone: Tz,
) -> Result<Vec<Marked>, Error> {
    let heads = heads.clone();
    crate::cores::on_every_core(stored, "marking overdue", move |part| {
        mark(part, &heads, now, time_zone)
    })
    .await
}

/// Changes each stored follow-up that is still open and not yet overdue: CPU work, run off the
/// async threads.
fn mark(
    stored: Vec<huifang_store::documents::StoredDoc>,
    heads: &Heads,
    now: DateTime<Utc>,
    time_zone: Tz,
) -> Result<Vec<Marked>, Error> {
    let mut marked = Vec::with_capacity(stored.len());
    for (id, seq, bytes) in stored {
        let (mut doc, before) = FollowUp::load(&bytes)
            .map_err(|e| Error::internal(format!("stored document {id}: {e}")))?;
        if before.status != FollowUpStatus::Open || before.overdue_at.is_some() {
            continue; // another instance got there first, or it was done meanwhile
        }
        let head = heads.above(before.assignee_unit_id, before.assignee_staff_id);
        let mut after = before;
        after.overdue_at = Some(format_time(now));
        after.escalations.push(Escalation {
            id: huifang_protocol::new_document_id(),
            at: format_time(now),
            to_staff_id: head,
            reason: format!(
                "应于 {} 前完成,已逾期 (R-INF-4)",
                local_time_of(&after.due_at, &time_zone)
            ),
        });
        // Only the two fields the job changes are written: reconciling the whole record would
        // cost more than loading and saving it.
        let written =
            autosurgeon::reconcile_prop(&mut doc, automerge::ROOT, "overdue_at", &after.overdue_at)
                .and_then(|()| {
                    autosurgeon::reconcile_prop(
                        &mut doc,
                        automerge::ROOT,
                        "escalations",
                        &after.escalations,
                    )
                });
        written.map_err(|e| Error::internal(format!("writing document {id}: {e}")))?;
        marked.push(Marked {
            seq,
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

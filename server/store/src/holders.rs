//! Who holds each document on their phones (`document_holders`, migration 0013): a follow-up's
//! assignee — the staff member, else the unit —; a sheet's acceptor, accepting and handling units
//! and its follow-ups' assignees, staff and unit. Rewritten with the projections they are made of,
//! in the same write, so the feed ([`crate::changes`]) finds a device's documents by (holder,
//! sequence number) through an index: a sync costs what its scope changed, not what the company
//! wrote meanwhile (the month's routine follow-ups, written in a minute, are nobody's but their
//! consultants').
//!
//! Each row carries the sequence number at which the document last reached its holder: the
//! document's own when the document is written; for a sheet that a follow-up's write gives a new
//! holder (a follow-up reassigned to another unit), that write's number, so the new holder's
//! phones receive the sheet with the follow-up although the sheet did not change.

use sqlx::AssertSqlSafe;

use crate::db::{id_list, placeholders};
use crate::documents::DocWrite;
use crate::error::StoreError;

/// The holders a set of sheets should have, as `(document_id, staff_id, unit_id)` rows, for the
/// sheets whose ids `sheets` (an SQL list or subquery) gives.
fn sheet_holders_sql(sheets: &str) -> String {
    format!(
        "SELECT s.id AS document_id, s.accepted_by AS staff_id, 0 AS unit_id FROM sheets s
            WHERE s.id IN ({sheets})
         UNION SELECT s.id, 0, s.accepting_unit_id FROM sheets s WHERE s.id IN ({sheets})
         UNION SELECT s.id, 0, s.handling_unit_id FROM sheets s
            WHERE s.id IN ({sheets}) AND s.handling_unit_id IS NOT NULL
         UNION SELECT f.sheet_id, f.assignee_staff_id, 0 FROM follow_ups f
            WHERE f.sheet_id IN ({sheets}) AND f.assignee_staff_id IS NOT NULL
         UNION SELECT f.sheet_id, 0, f.assignee_unit_id FROM follow_ups f WHERE f.sheet_id IN ({sheets})"
    )
}

/// Rewrites the holders of a sheet just written (its projection row is current): every holder
/// gets the write's sequence number.
pub(crate) async fn rewrite_sheet(write: &mut DocWrite, id: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM document_holders WHERE document_id = $1")
        .bind(id)
        .execute(write.tx())
        .await?;
    let sql = format!(
        "INSERT INTO document_holders (document_id, staff_id, unit_id, seq)
         SELECT h.document_id, h.staff_id, h.unit_id, $2 FROM ({}) h",
        sheet_holders_sql("$1")
    );
    let seq = write.seq;
    sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .bind(seq)
        .execute(write.tx())
        .await?;
    Ok(())
}

/// Rewrites the holders of follow-ups just written (their projection rows are current) — each
/// has one, at the write's sequence number — and brings their sheets' holders up to date: a new
/// assignee becomes a holder of the sheet at this write's number, one no longer assigned anything
/// of the sheet (and holding it no other way) stops being one.
pub(crate) async fn rewrite_follow_ups(
    write: &mut DocWrite,
    ids: &[&str],
) -> Result<(), StoreError> {
    let seq = write.seq;
    for chunk in ids.chunks(500) {
        // Ids are `$1…` in statements without the sequence number, `$2…` in those with it ($1).
        let ids_alone = placeholders(1, chunk.len());
        let ids_after_seq = placeholders(2, chunk.len());
        let sheets = |list: &str| {
            format!(
                "SELECT f.sheet_id FROM follow_ups f WHERE f.id IN ({list}) AND f.sheet_id IS NOT NULL"
            )
        };
        let statements = [
            (
                None,
                format!("DELETE FROM document_holders WHERE document_id IN ({ids_alone})"),
            ),
            (
                Some(seq),
                format!(
                    "INSERT INTO document_holders (document_id, staff_id, unit_id, seq)
                     SELECT f.id, COALESCE(f.assignee_staff_id, 0),
                            CASE WHEN f.assignee_staff_id IS NULL THEN f.assignee_unit_id ELSE 0 END, $1
                     FROM follow_ups f WHERE f.id IN ({ids_after_seq})"
                ),
            ),
            // Their sheets: departed holders leave, new ones arrive at this write's number, the
            // rest keep theirs (the sheet did not change for them).
            (
                None,
                format!(
                    "DELETE FROM document_holders WHERE document_id IN ({sheets})
                     AND NOT EXISTS (SELECT 1 FROM ({want}) w
                         WHERE w.document_id = document_holders.document_id
                           AND w.staff_id = document_holders.staff_id
                           AND w.unit_id = document_holders.unit_id)",
                    sheets = sheets(&ids_alone),
                    want = sheet_holders_sql(&sheets(&ids_alone)),
                ),
            ),
            (
                Some(seq),
                format!(
                    "INSERT INTO document_holders (document_id, staff_id, unit_id, seq)
                     SELECT w.document_id, w.staff_id, w.unit_id, $1 FROM ({want}) w
                     WHERE NOT EXISTS (SELECT 1 FROM document_holders h
                         WHERE h.document_id = w.document_id AND h.staff_id = w.staff_id
                           AND h.unit_id = w.unit_id)",
                    want = sheet_holders_sql(&sheets(&ids_after_seq)),
                ),
            ),
        ];
        for (seq, sql) in statements {
            let mut query = sqlx::query(AssertSqlSafe(sql));
            if let Some(seq) = seq {
                query = query.bind(seq);
            }
            for id in chunk {
                query = query.bind(*id);
            }
            query.execute(write.tx()).await?;
        }
    }
    Ok(())
}

/// Moves the holders of documents rewritten without a change of holder (the deadline job's
/// overdue marks) to the write's sequence number.
pub(crate) async fn follow_documents(
    write: &mut DocWrite,
    ids: &[String],
) -> Result<(), StoreError> {
    let seq = write.seq;
    for chunk in ids.chunks(500) {
        let sql = format!(
            "UPDATE document_holders SET seq = $1 WHERE document_id IN ({})",
            placeholders(2, chunk.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(seq);
        for id in chunk {
            query = query.bind(id.as_str());
        }
        query.execute(write.tx()).await?;
    }
    Ok(())
}

/// The holder rows of a device whose staff member is `staff_id` working for `units`, as one
/// `SELECT document_id, seq FROM document_holders …` per holder, each carrying `condition` (on
/// `seq`) and `tail` (its order and limit), joined by `UNION`. One arm per holder keeps each
/// arm one range of one index, and its rows distinct by document.
pub(crate) fn held_by_sql(staff_id: i64, units: &[i64], condition: &str, tail: &str) -> String {
    std::iter::once(format!("staff_id = {staff_id}"))
        .chain(units.iter().map(|unit| format!("unit_id = {unit}")))
        .enumerate()
        .map(|(arm, holder)| {
            format!(
                "SELECT document_id, seq FROM (SELECT document_id, seq FROM document_holders
                    WHERE {holder} AND {condition} {tail}) arm{arm}"
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ")
}

/// The condition on `documents d` that the device of `staff_id` working for `units` holds it
/// (checked per row: for a handful of named documents).
pub(crate) fn holds_sql(staff_id: i64, units: &[i64]) -> String {
    format!(
        "EXISTS (SELECT 1 FROM document_holders h WHERE h.document_id = d.id
            AND (h.staff_id = {staff_id} OR h.unit_id IN ({})))",
        id_list(units)
    )
}

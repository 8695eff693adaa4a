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

use huifang_protocol::FollowUp;

use crate::db::{ColumnType, id_list, insert_rows, json_param, json_rows, placeholders};
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
    delete_and_insert(
        write,
        "DELETE FROM document_holders WHERE document_id = $1".to_owned(),
        format!(
            "INSERT INTO document_holders (document_id, staff_id, unit_id, seq)
             SELECT h.document_id, h.staff_id, h.unit_id, $1 FROM ({}) h",
            sheet_holders_sql("$2")
        ),
        &[id],
    )
    .await
}

/// Rewrites the holders of follow-ups just written — each has one, at the write's sequence
/// number — and brings the holders of their sheets up to date (from the projections, which are
/// current): a new assignee becomes a holder of the sheet at this write's number, one no longer
/// assigned anything of the sheet (and holding it no other way) stops being one.
pub(crate) async fn rewrite_follow_ups(
    write: &mut DocWrite,
    follow_ups: &[&FollowUp],
) -> Result<(), StoreError> {
    let seq = write.seq;
    let ids: Vec<serde_json::Value> = follow_ups
        .iter()
        .map(|f| serde_json::json!([f.id]))
        .collect();
    let holders: Vec<serde_json::Value> = follow_ups
        .iter()
        .map(|f| {
            let (staff, unit) = match f.assignee_staff_id {
                Some(staff) => (staff, 0),
                None => (0, f.assignee_unit_id),
            };
            serde_json::json!([f.id, staff, unit, seq])
        })
        .collect();
    // Each list travels as one JSON parameter: one statement of each, prepared once, whatever
    // the batch's size (a planner's batch holds thousands).
    let backend = write.backend();
    let sql = format!(
        "DELETE FROM document_holders WHERE document_id IN (SELECT id FROM ({}) j)",
        json_rows(backend, &[("id", ColumnType::Text)])
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(json_param(&ids)?)
        .execute(write.tx())
        .await?;
    insert_rows(
        write.tx(),
        backend,
        "document_holders",
        &[
            ("document_id", ColumnType::Text),
            ("staff_id", ColumnType::Int),
            ("unit_id", ColumnType::Int),
            ("seq", ColumnType::Int),
        ],
        &holders,
    )
    .await?;
    let mut sheets: Vec<&str> = follow_ups
        .iter()
        .filter_map(|f| f.sheet_id.as_deref())
        .collect();
    sheets.sort_unstable();
    sheets.dedup();
    for chunk in sheets.chunks(100) {
        // Departed holders leave, new ones arrive at this write's number, the rest keep theirs
        // (the sheet did not change for them).
        let (alone, after_seq) = (placeholders(1, chunk.len()), placeholders(2, chunk.len()));
        delete_and_insert(
            write,
            format!(
                "DELETE FROM document_holders WHERE document_id IN ({alone})
                 AND NOT EXISTS (SELECT 1 FROM ({want}) w
                     WHERE w.document_id = document_holders.document_id
                       AND w.staff_id = document_holders.staff_id
                       AND w.unit_id = document_holders.unit_id)",
                want = sheet_holders_sql(&alone)
            ),
            format!(
                "INSERT INTO document_holders (document_id, staff_id, unit_id, seq)
                 SELECT w.document_id, w.staff_id, w.unit_id, $1 FROM ({want}) w
                 WHERE NOT EXISTS (SELECT 1 FROM document_holders h
                     WHERE h.document_id = w.document_id AND h.staff_id = w.staff_id
                       AND h.unit_id = w.unit_id)",
                want = sheet_holders_sql(&after_seq)
            ),
            chunk,
        )
        .await?;
    }
    Ok(())
}

/// Runs `delete` with `ids` as `$1…`, then `insert` with the write's sequence number as `$1`
/// and `ids` from `$2`.
async fn delete_and_insert(
    write: &mut DocWrite,
    delete: String,
    insert: String,
    ids: &[&str],
) -> Result<(), StoreError> {
    let mut query = sqlx::query(AssertSqlSafe(delete));
    for id in ids {
        query = query.bind(*id);
    }
    query.execute(write.tx()).await?;
    let mut query = sqlx::query(AssertSqlSafe(insert)).bind(write.seq);
    for id in ids {
        query = query.bind(*id);
    }
    query.execute(write.tx()).await?;
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

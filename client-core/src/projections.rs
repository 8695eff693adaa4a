//! The local projections the screens read, rewritten from the document in the same transaction
//! as every change to it.

use huifang_protocol::{Document, DocumentKind, FollowUp, Labelled, Sheet};
use rusqlite::{Transaction, params};

use crate::documents;
use crate::error::{ClientError, Result};

pub(crate) fn project_sheet(tx: &Transaction<'_>, sheet: &Sheet) -> Result<()> {
    let summary: String = sheet
        .items
        .iter()
        .map(|i| i.text.as_str())
        .collect::<Vec<_>>()
        .join(" / ");
    // Cached: a first sync projects thousands of documents in one transaction, and preparing
    // these statements anew each time cost about as much as running them.
    tx.prepare_cached(
        "INSERT INTO sheets (id, number, status, level, category, household_id, customer_name, contact_phone,
            customer_address, summary, accepted_by, accepted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (id) DO UPDATE SET number = excluded.number, status = excluded.status,
            level = excluded.level, category = excluded.category, household_id = excluded.household_id,
            customer_name = excluded.customer_name, contact_phone = excluded.contact_phone,
            customer_address = excluded.customer_address, summary = excluded.summary,
            accepted_by = excluded.accepted_by, accepted_at = excluded.accepted_at",
    )?
    .execute(params![
        sheet.id,
        sheet.number,
        sheet.status.code(),
        sheet.level.code(),
        sheet.category.code(),
        sheet.household_id,
        sheet.customer_name,
        sheet.contact_phone,
        sheet.customer_address,
        summary,
        sheet.accepted_by,
        sheet.accepted_at,
    ])?;
    Ok(())
}

pub(crate) fn project_follow_up(tx: &Transaction<'_>, follow_up: &FollowUp) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO follow_ups (id, kind, sheet_id, household_id, customer_name, contact_phone,
            assignee_unit_id, assignee_staff_id, rule, status, due_at, overdue_at, done_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, sheet_id = excluded.sheet_id,
            household_id = excluded.household_id, customer_name = excluded.customer_name,
            contact_phone = excluded.contact_phone, assignee_unit_id = excluded.assignee_unit_id,
            assignee_staff_id = excluded.assignee_staff_id, rule = excluded.rule,
            status = excluded.status, due_at = excluded.due_at, overdue_at = excluded.overdue_at,
            done_at = excluded.done_at, created_at = excluded.created_at",
    )?
    .execute(params![
        follow_up.id,
        follow_up.kind.code(),
        follow_up.sheet_id,
        follow_up.household_id,
        follow_up.customer_name,
        follow_up.contact_phone,
        follow_up.assignee_unit_id,
        follow_up.assignee_staff_id,
        follow_up.rule.code(),
        follow_up.status.code(),
        follow_up.due_at,
        follow_up.overdue_at,
        follow_up.outcome.as_ref().map(|o| o.done_at.clone()),
        follow_up.created_at,
    ])?;
    Ok(())
}

/// Merges a document from the server and rewrites its projection.
pub(crate) fn receive(
    tx: &Transaction<'_>,
    id: &str,
    kind: DocumentKind,
    bytes: &[u8],
    now: &str,
) -> Result<()> {
    huifang_protocol::check_document_id(id).map_err(ClientError::invalid)?;
    let doc = documents::merge_remote(tx, id, kind, bytes, now)?;
    let invalid = |e: huifang_protocol::DocumentError| {
        ClientError::invalid(format!("document {id} from the server: {e}"))
    };
    match kind {
        DocumentKind::Sheet => project_sheet(tx, &Sheet::hydrate_from(&doc).map_err(invalid)?),
        DocumentKind::FollowUp => {
            project_follow_up(tx, &FollowUp::hydrate_from(&doc).map_err(invalid)?)
        }
    }
}

/// Drops this phone's copy of a document: its projection, snapshot and chunks.
pub(crate) fn forget(tx: &Transaction<'_>, id: &str) -> Result<()> {
    tx.execute("DELETE FROM follow_ups WHERE id = ?1", [id])?;
    tx.execute("DELETE FROM sheets WHERE id = ?1", [id])?;
    tx.execute("DELETE FROM document_chunks WHERE document_id = ?1", [id])?;
    tx.execute("DELETE FROM documents WHERE id = ?1", [id])?;
    Ok(())
}

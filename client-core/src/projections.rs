//! The local projections the screens read, rewritten from the document in the same transaction
//! as every change to it. A projection row is the document's [`DocumentListing`], made by the
//! protocol from the value (here, after a local change or a merge) or sent by the server beside
//! a document this phone does not hold yet.

use huifang_protocol::{
    Document, DocumentKind, DocumentListing, FollowUp, FollowUpListing, Labelled, Listed, Sheet,
    SheetListing,
};
use rusqlite::{OptionalExtension, Transaction, params};

use crate::documents;
use crate::error::{ClientError, Result};

pub(crate) fn project_sheet(tx: &Transaction<'_>, sheet: &SheetListing) -> Result<()> {
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
        sheet.summary,
        sheet.accepted_by,
        sheet.accepted_at,
    ])?;
    Ok(())
}

pub(crate) fn project_follow_up(tx: &Transaction<'_>, follow_up: &FollowUpListing) -> Result<()> {
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
        follow_up.done_at,
        follow_up.created_at,
    ])?;
    Ok(())
}

fn project(tx: &Transaction<'_>, listing: &DocumentListing) -> Result<()> {
    match listing {
        DocumentListing::Sheet(sheet) => project_sheet(tx, sheet),
        DocumentListing::FollowUp(follow_up) => project_follow_up(tx, follow_up),
    }
}

/// Takes a document from the server and rewrites its projection. A document this phone does not
/// hold yet, sent with its listing, is stored as it came: the server's compacted bytes are the
/// snapshot and its listing the projection (the server made the listing from those bytes' value
/// with the same protocol code). Otherwise the bytes are merged into this phone's copy and the
/// projection is made from the merged value.
pub(crate) fn receive(
    tx: &Transaction<'_>,
    id: &str,
    kind: DocumentKind,
    bytes: &[u8],
    listing: Option<&[u8]>,
    now: &str,
) -> Result<()> {
    huifang_protocol::check_document_id(id).map_err(ClientError::invalid)?;
    let unusable = |e: &dyn std::fmt::Display| {
        ClientError::invalid(format!("document {id} from the server: {e}"))
    };
    if let Some(listing) = listing {
        let held = tx
            .prepare_cached("SELECT 1 FROM documents WHERE id = ?1")?
            .query_row([id], |_| Ok(()))
            .optional()?
            .is_some();
        if !held {
            let listing = DocumentListing::decode(listing, kind, id).map_err(|e| unusable(&e))?;
            documents::insert_remote(tx, id, kind, bytes, now)?;
            return project(tx, &listing);
        }
    }
    let doc = documents::merge_remote(tx, id, kind, bytes, now)?;
    let listing = match kind {
        DocumentKind::Sheet => Sheet::hydrate_from(&doc)
            .map_err(|e| unusable(&e))?
            .listing(),
        DocumentKind::FollowUp => FollowUp::hydrate_from(&doc)
            .map_err(|e| unusable(&e))?
            .listing(),
    };
    project(tx, &listing)
}

/// Drops this phone's copy of a document: its projection, snapshot and chunks.
pub(crate) fn forget(tx: &Transaction<'_>, id: &str) -> Result<()> {
    tx.execute("DELETE FROM follow_ups WHERE id = ?1", [id])?;
    tx.execute("DELETE FROM sheets WHERE id = ?1", [id])?;
    tx.execute("DELETE FROM document_chunks WHERE document_id = ?1", [id])?;
    tx.execute("DELETE FROM documents WHERE id = ?1", [id])?;
    Ok(())
}

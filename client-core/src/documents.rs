//! Documents on the phone: a snapshot plus incremental chunks (`save_after`), compacted into a
//! new snapshot when the chunks grow; every local change also goes to the outbox until the server
//! acknowledges it.

use automerge::{ActorId, AutoCommit, ChangeHash};
use huifang_protocol::{Document, DocumentKind, Labelled};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::error::{ClientError, Result};

/// Chunks are folded into a new snapshot once they add up to this many bytes, or to more than
/// the snapshot itself.
const COMPACT_AFTER_BYTES: i64 = 8 * 1024;

/// This phone's Automerge actor, made once and kept.
pub(crate) fn actor(conn: &Connection) -> Result<ActorId> {
    let stored: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'actor_id'", [], |row| {
            row.get(0)
        })
        .optional()?;
    let hex_id = match stored {
        Some(id) => id,
        None => {
            let id = hex::encode(ActorId::random().to_bytes());
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('actor_id', ?1)",
                [&id],
            )?;
            conn.query_row("SELECT value FROM meta WHERE key = 'actor_id'", [], |row| {
                row.get(0)
            })?
        }
    };
    let bytes = hex::decode(&hex_id).map_err(|e| ClientError::Corrupt {
        reason: format!("actor id: {e}"),
    })?;
    Ok(ActorId::from(bytes))
}

/// Loads the Automerge document `id` (snapshot and chunks), if present.
pub(crate) fn load_doc(conn: &Connection, id: &str) -> Result<Option<(DocumentKind, AutoCommit)>> {
    let row: Option<(String, Vec<u8>)> = conn
        .prepare_cached("SELECT kind, snapshot FROM documents WHERE id = ?1")?
        .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let Some((kind, snapshot)) = row else {
        return Ok(None);
    };
    let kind: DocumentKind = kind.parse().map_err(|e| ClientError::Corrupt {
        reason: format!("document {id}: {e}"),
    })?;
    let corrupt = |e: automerge::AutomergeError| ClientError::Corrupt {
        reason: format!("document {id}: {e}"),
    };
    let mut doc = AutoCommit::load(&snapshot).map_err(corrupt)?;
    let mut stmt = conn
        .prepare_cached("SELECT bytes FROM document_chunks WHERE document_id = ?1 ORDER BY id")?;
    let chunks = stmt.query_map([id], |row| row.get::<_, Vec<u8>>(0))?;
    for chunk in chunks {
        doc.load_incremental(&chunk?).map_err(corrupt)?;
    }
    Ok(Some((kind, doc)))
}

/// The kind of document `id`, if this phone holds it.
pub(crate) fn kind_of(conn: &Connection, id: &str) -> Result<DocumentKind> {
    let kind: String = conn
        .prepare_cached("SELECT kind FROM documents WHERE id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?
        .ok_or_else(|| ClientError::not_found(format!("document {id}")))?;
    kind.parse().map_err(|e| ClientError::Corrupt {
        reason: format!("document {id}: {e}"),
    })
}

/// Loads and reads a document of kind `D`.
pub(crate) fn load<D: Document>(
    conn: &Connection,
    actor: &ActorId,
    id: &str,
) -> Result<(AutoCommit, D)> {
    let what = || format!("{} {id}", D::KIND.label_en().to_lowercase());
    let (kind, doc) = load_doc(conn, id)?.ok_or_else(|| ClientError::not_found(what()))?;
    if kind != D::KIND {
        return Err(ClientError::not_found(what()));
    }
    let value = D::hydrate_from(&doc)?;
    Ok((doc.with_actor(actor.clone()), value))
}

/// Stores a document created on this phone, and queues it for the server.
pub(crate) fn insert_local<D: Document>(
    tx: &Transaction<'_>,
    doc: &mut AutoCommit,
    value: &D,
    now: &str,
) -> Result<()> {
    value.reconcile_into(doc)?;
    let snapshot = doc.save();
    tx.execute(
        "INSERT INTO documents (id, kind, snapshot, chunk_bytes, updated_at) VALUES (?1, ?2, ?3, 0, ?4)",
        params![value.id(), D::KIND.code(), snapshot, now],
    )?;
    // The server takes plain changes only (never a saved document, whose columns may be
    // compressed): see `huifang_protocol::inspect_changes`.
    queue(tx, value.id(), D::KIND, &doc.save_after(&[]), now)
}

/// Writes an edit made on this phone: the changes since `before` become a chunk and an outbox
/// entry, in the caller's transaction.
pub(crate) fn update_local<D: Document>(
    tx: &Transaction<'_>,
    doc: &mut AutoCommit,
    before: &[ChangeHash],
    value: &D,
    now: &str,
) -> Result<()> {
    value.reconcile_into(doc)?;
    let changes = doc.save_after(before);
    if changes.is_empty() {
        return Ok(());
    }
    append_chunk(tx, value.id(), doc, &changes, now)?;
    queue(tx, value.id(), D::KIND, &changes, now)
}

/// Merges changes that came from the server (no outbox entry: they are the server's).
pub(crate) fn merge_remote(
    tx: &Transaction<'_>,
    id: &str,
    kind: DocumentKind,
    bytes: &[u8],
    now: &str,
) -> Result<AutoCommit> {
    let corrupt = |e: automerge::AutomergeError| {
        ClientError::invalid(format!("document {id} from the server does not load: {e}"))
    };
    match load_doc(tx, id)? {
        Some((stored_kind, mut doc)) => {
            if stored_kind != kind {
                return Err(ClientError::invalid(format!(
                    "document {id} is a {stored_kind} here, not a {kind}"
                )));
            }
            let before = doc.get_heads();
            doc.load_incremental(bytes).map_err(corrupt)?;
            let changes = doc.save_after(&before);
            if !changes.is_empty() {
                append_chunk(tx, id, &mut doc, &changes, now)?;
            }
            Ok(doc)
        }
        None => {
            let doc = AutoCommit::load(bytes).map_err(corrupt)?;
            insert_remote(tx, id, kind, bytes, now)?;
            Ok(doc)
        }
    }
}

/// Stores a document the server sent that this phone does not hold: its bytes are the snapshot
/// (the server sends whole documents, already compacted; saving them again would only spend time
/// on a first sync).
pub(crate) fn insert_remote(
    tx: &Transaction<'_>,
    id: &str,
    kind: DocumentKind,
    bytes: &[u8],
    now: &str,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO documents (id, kind, snapshot, chunk_bytes, updated_at) VALUES (?1, ?2, ?3, 0, ?4)",
    )?
    .execute(params![id, kind.code(), bytes, now])?;
    Ok(())
}

fn append_chunk(
    tx: &Transaction<'_>,
    id: &str,
    doc: &mut AutoCommit,
    changes: &[u8],
    now: &str,
) -> Result<()> {
    let (chunk_bytes, snapshot_len): (i64, i64) = tx.query_row(
        "SELECT chunk_bytes, length(snapshot) FROM documents WHERE id = ?1",
        [id],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    let grown = chunk_bytes + changes.len() as i64;
    if grown > COMPACT_AFTER_BYTES || grown > snapshot_len {
        tx.execute("DELETE FROM document_chunks WHERE document_id = ?1", [id])?;
        tx.execute(
            "UPDATE documents SET snapshot = ?1, chunk_bytes = 0, updated_at = ?2 WHERE id = ?3",
            params![doc.save(), now, id],
        )?;
    } else {
        tx.execute(
            "INSERT INTO document_chunks (document_id, bytes) VALUES (?1, ?2)",
            params![id, changes],
        )?;
        tx.execute(
            "UPDATE documents SET chunk_bytes = ?1, updated_at = ?2 WHERE id = ?3",
            params![grown, now, id],
        )?;
    }
    Ok(())
}

fn queue(
    tx: &Transaction<'_>,
    id: &str,
    kind: DocumentKind,
    changes: &[u8],
    now: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO outbox (document_id, kind, changes, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![id, kind.code(), changes, now],
    )?;
    Ok(())
}

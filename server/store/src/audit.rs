//! The append-only audit log (D-GOV-1): every change of state with who, when, what and from
//! which device. Each entry carries the hash of the previous one, so an altered or removed entry
//! breaks the chain and `huifang audit verify` finds it.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::FromRow;

use crate::db::Database;
use crate::error::StoreError;

/// The hash the first entry chains to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did it: a staff member on a device (session), or the server's own rules and jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditActor {
    pub staff_id: Option<i64>,
    pub session_id: Option<i64>,
}

impl AuditActor {
    pub const SERVER: AuditActor = AuditActor {
        staff_id: None,
        session_id: None,
    };
}

/// One entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub staff_id: Option<i64>,
    pub session_id: Option<i64>,
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

fn entry_hash(
    prev: &str,
    at: &str,
    actor: AuditActor,
    action: &str,
    subject: &str,
    detail: &str,
) -> String {
    let mut hasher = Sha256::new();
    for part in [
        prev,
        at,
        &actor.staff_id.map(|v| v.to_string()).unwrap_or_default(),
        &actor.session_id.map(|v| v.to_string()).unwrap_or_default(),
        action,
        subject,
        detail,
    ] {
        // Length-prefixed, so no two different entries hash the same text.
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Appends an entry after `prev` (the chain's head) and returns the new head. Called inside a
/// document write (`DocWrite::audit`), whose batch holds the change sequence's row, so entries
/// are chained in one order even with several server instances; the batch records the head in
/// the same commit.
#[allow(clippy::too_many_arguments)]
pub async fn append(
    conn: &mut sqlx::AnyConnection,
    prev: &str,
    at: &str,
    actor: AuditActor,
    action: &str,
    subject: &str,
    detail: &serde_json::Value,
) -> Result<String, StoreError> {
    let detail = detail.to_string();
    let hash = entry_hash(prev, at, actor, action, subject, &detail);
    sqlx::query(
        "INSERT INTO audit_log (at, staff_id, session_id, action, subject, detail, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(at)
    .bind(actor.staff_id)
    .bind(actor.session_id)
    .bind(action)
    .bind(subject)
    .bind(detail)
    .bind(prev)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    Ok(hash)
}

/// Appends entries `(action, subject, detail)` in order after `prev`, in few statements (a job's
/// batch); returns the new head.
pub async fn append_all(
    conn: &mut sqlx::AnyConnection,
    backend: crate::db::Backend,
    prev: &str,
    at: &str,
    actor: AuditActor,
    entries: &[(&str, String, serde_json::Value)],
) -> Result<String, StoreError> {
    let mut head = prev.to_owned();
    let mut rows = Vec::with_capacity(entries.len());
    for (action, subject, detail) in entries {
        let detail = detail.to_string();
        let hash = entry_hash(&head, at, actor, action, subject, &detail);
        let prev = std::mem::replace(&mut head, hash.clone());
        rows.push(serde_json::json!([
            at,
            actor.staff_id,
            actor.session_id,
            action,
            subject,
            detail,
            prev,
            hash
        ]));
    }
    use crate::db::ColumnType::{Int, Text};
    crate::db::insert_rows(
        conn,
        backend,
        "audit_log",
        &[
            ("at", Text),
            ("staff_id", Int),
            ("session_id", Int),
            ("action", Text),
            ("subject", Text),
            ("detail", Text),
            ("prev_hash", Text),
            ("hash", Text),
        ],
        &rows,
    )
    .await?;
    Ok(head)
}

/// Entries about one subject (a document id, `rule_settings`, …), or all, newest first.
pub async fn list(
    db: &Database,
    subject: Option<&str>,
    limit: u32,
) -> Result<Vec<AuditEntry>, StoreError> {
    let columns = "id, at, staff_id, session_id, action, subject, detail, prev_hash, hash";
    Ok(match subject {
        Some(subject) => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {columns} FROM audit_log WHERE subject = $1 ORDER BY id DESC LIMIT {limit}"
            )))
            .bind(subject)
            .fetch_all(db.pool())
            .await?
        }
        None => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {columns} FROM audit_log ORDER BY id DESC LIMIT {limit}"
            )))
            .fetch_all(db.pool())
            .await?
        }
    })
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub entries: u64,
    /// Each problem names the entry id and what is wrong with it.
    pub problems: Vec<String>,
}

/// Walks the whole chain, recomputing every hash.
pub async fn verify(db: &Database) -> Result<Verification, StoreError> {
    let mut entries = 0;
    let mut problems = Vec::new();
    let mut prev = GENESIS.to_owned();
    let mut last_id = 0i64;
    loop {
        let batch: Vec<AuditEntry> = sqlx::query_as(
            "SELECT id, at, staff_id, session_id, action, subject, detail, prev_hash, hash
             FROM audit_log WHERE id > $1 ORDER BY id LIMIT 1000",
        )
        .bind(last_id)
        .fetch_all(db.pool())
        .await?;
        if batch.is_empty() {
            break;
        }
        for entry in batch {
            entries += 1;
            if entry.prev_hash != prev {
                problems.push(format!(
                    "entry {}: does not follow the entry before it (an entry was removed or reordered)",
                    entry.id
                ));
            }
            let actor = AuditActor {
                staff_id: entry.staff_id,
                session_id: entry.session_id,
            };
            let expected = entry_hash(
                &entry.prev_hash,
                &entry.at,
                actor,
                &entry.action,
                &entry.subject,
                &entry.detail,
            );
            if expected != entry.hash {
                problems.push(format!("entry {}: its content was altered", entry.id));
            }
            prev = entry.hash;
            last_id = entry.id;
        }
    }
    let head: String = sqlx::query_scalar("SELECT audit_head FROM change_sequence WHERE id = 1")
        .fetch_one(db.pool())
        .await?;
    if head != prev {
        problems.push(
            "the newest entries were removed: the chain ends before the recorded head".into(),
        );
    }
    Ok(Verification { entries, problems })
}

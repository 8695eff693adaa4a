//! The notices a document write leaves for staff (`DocWrite::notify`): listed for their owner,
//! marked read by them.

use serde::Serialize;
use sqlx::FromRow;

use crate::db::Database;
use crate::error::StoreError;

/// A notice to one staff member.
#[derive(Debug, Clone, Serialize, FromRow)]
pub struct Notification {
    pub id: i64,
    pub document_id: String,
    pub message: String,
    pub created_at: String,
    pub read_at: Option<String>,
}

/// A staff member's newest notices (at most 200), optionally only the unread.
pub async fn list(
    db: &Database,
    staff_id: i64,
    unread_only: bool,
) -> Result<Vec<Notification>, StoreError> {
    let sql = if unread_only {
        "SELECT id, document_id, message, created_at, read_at FROM notifications
         WHERE staff_id = $1 AND read_at IS NULL ORDER BY id DESC LIMIT 200"
    } else {
        "SELECT id, document_id, message, created_at, read_at FROM notifications
         WHERE staff_id = $1 ORDER BY id DESC LIMIT 200"
    };
    Ok(sqlx::query_as(sql)
        .bind(staff_id)
        .fetch_all(db.pool())
        .await?)
}

/// Marks notice `id` of `staff_id` read (reading it again changes nothing). False: there is no
/// such notice of theirs.
pub async fn mark_read(db: &Database, staff_id: i64, id: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE notifications SET read_at = $1 WHERE id = $2 AND staff_id = $3 AND read_at IS NULL",
    )
    .bind(db.now_text())
    .bind(id)
    .bind(staff_id)
    .execute(db.pool())
    .await?;
    if done.rows_affected() > 0 {
        return Ok(true);
    }
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT id FROM notifications WHERE id = $1 AND staff_id = $2")
            .bind(id)
            .bind(staff_id)
            .fetch_optional(db.pool())
            .await?;
    Ok(exists.is_some())
}

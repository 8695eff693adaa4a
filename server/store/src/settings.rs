//! Settings an administrator may change (R-GOV-1), stored as JSON text under a key (what they
//! mean is the domain's); and the server's own facts about its database (`settings`), such as
//! when the demo company was seeded.

use crate::db::Database;
use crate::documents::DocWrite;
use crate::error::StoreError;

/// The JSON text stored under `key`, if it was ever set.
pub async fn get(db: &Database, key: &str) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT value FROM rule_settings WHERE key = $1")
            .bind(key)
            .fetch_optional(db.pool())
            .await?,
    )
}

/// The JSON text stored under `key`, read inside a write.
pub async fn get_in(write: &mut DocWrite, key: &str) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT value FROM rule_settings WHERE key = $1")
            .bind(key)
            .fetch_optional(write.tx())
            .await?,
    )
}

/// Stores `value` under `key` in `write` (the caller audits the change in the same write).
pub async fn put(
    write: &mut DocWrite,
    key: &str,
    value: &str,
    staff_id: Option<i64>,
) -> Result<(), StoreError> {
    let now = write.now_text();
    sqlx::query(
        "INSERT INTO rule_settings (key, value, updated_at, updated_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
             updated_by = excluded.updated_by",
    )
    .bind(key)
    .bind(value)
    .bind(now)
    .bind(staff_id)
    .execute(write.tx())
    .await?;
    Ok(())
}

/// A fact the server noted about its database under `key`, if any.
pub async fn server_fact(db: &Database, key: &str) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(db.pool())
            .await?,
    )
}

/// Notes a fact under `key`, unless one is noted already.
pub async fn note_server_fact(db: &Database, key: &str, value: &str) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
        .bind(key)
        .bind(value)
        .execute(db.pool())
        .await?;
    Ok(())
}

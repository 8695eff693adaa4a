//! Content-addressed blobs (D-SIG-1) and the uploads that are still arriving. Checking names,
//! sizes and who may read a blob is the domain's; the store keeps the bytes and moves an upload
//! on only from the length its part was appended to.

use crate::db::{AnyConnection, Database};
use crate::error::StoreError;

/// The size of a blob the server holds whole.
pub async fn size(db: &Database, hash: &str) -> Result<Option<u64>, StoreError> {
    let size: Option<i64> = sqlx::query_scalar("SELECT size FROM blobs WHERE sha256 = $1")
        .bind(hash)
        .fetch_optional(db.pool())
        .await?;
    Ok(size.map(|s| s as u64))
}

/// A blob's bytes.
pub async fn bytes(db: &Database, hash: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT bytes FROM blobs WHERE sha256 = $1")
            .bind(hash)
            .fetch_optional(db.pool())
            .await?,
    )
}

/// Who uploaded a blob, if it is held (in a write's transaction).
pub async fn uploader(tx: &mut AnyConnection, hash: &str) -> Result<Option<i64>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT uploaded_by FROM blobs WHERE sha256 = $1")
            .bind(hash)
            .fetch_optional(&mut *tx)
            .await?,
    )
}

/// A held blob's uploader and bytes (in a write's transaction): what a photo's review reads.
pub async fn held(
    tx: &mut AnyConnection,
    hash: &str,
) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT uploaded_by, bytes FROM blobs WHERE sha256 = $1")
            .bind(hash)
            .fetch_optional(&mut *tx)
            .await?,
    )
}

/// An upload under way: the total it began with and the bytes received so far.
pub async fn partial(db: &Database, hash: &str) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
    let row: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT total, bytes FROM blob_uploads WHERE sha256 = $1")
            .bind(hash)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|(total, bytes)| (total as u64, bytes)))
}

/// How far an upload under way has come: (received, total).
pub async fn progress(db: &Database, hash: &str) -> Result<Option<(u64, u64)>, StoreError> {
    let row: Option<(i64, i64)> =
        sqlx::query_as("SELECT received, total FROM blob_uploads WHERE sha256 = $1")
            .bind(hash)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|(received, total)| (received as u64, total as u64)))
}

/// Keeps the bytes received so far of an upload that is not complete. From offset 0 it starts
/// (or restarts) the upload; otherwise the row moves on only if it still ends at `offset`.
/// False: another part got there first.
pub async fn keep_partial(
    db: &Database,
    hash: &str,
    offset: u64,
    total: u64,
    received: Vec<u8>,
    uploaded_by: i64,
) -> Result<bool, StoreError> {
    let now = db.now_text();
    let received_len = received.len() as i64;
    let written = if offset == 0 {
        sqlx::query(
            "INSERT INTO blob_uploads (sha256, total, received, bytes, uploaded_by, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (sha256) DO UPDATE SET total = excluded.total, received = excluded.received,
                bytes = excluded.bytes, uploaded_by = excluded.uploaded_by, updated_at = excluded.updated_at",
        )
        .bind(hash)
        .bind(total as i64)
        .bind(received_len)
        .bind(received)
        .bind(uploaded_by)
        .bind(&now)
        .execute(db.pool())
        .await?
    } else {
        sqlx::query(
            "UPDATE blob_uploads SET received = $1, bytes = $2, updated_at = $3
             WHERE sha256 = $4 AND received = $5",
        )
        .bind(received_len)
        .bind(received)
        .bind(&now)
        .bind(hash)
        .bind(offset as i64)
        .execute(db.pool())
        .await?
    };
    Ok(written.rows_affected() == 1)
}

/// Forgets an upload under way.
pub async fn discard_partial(db: &Database, hash: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM blob_uploads WHERE sha256 = $1")
        .bind(hash)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Stores a whole blob and forgets its upload, in one transaction. False: it was held already.
pub async fn store(
    db: &Database,
    hash: &str,
    bytes: Vec<u8>,
    uploaded_by: i64,
) -> Result<bool, StoreError> {
    let now = db.now_text();
    let size = bytes.len() as i64;
    let mut tx = db.pool().begin().await?;
    let done = sqlx::query(
        "INSERT INTO blobs (sha256, bytes, size, uploaded_by, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(hash)
    .bind(bytes)
    .bind(size)
    .bind(uploaded_by)
    .bind(&now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM blob_uploads WHERE sha256 = $1")
        .bind(hash)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

//! Which documents refer to which photos (#18), kept beside the documents' projections so a
//! photo's readers are found without reading documents: whoever may read one of them.

use std::collections::HashMap;

use huifang_protocol::{DocumentKind, Labelled, PhotoFormat, PhotoRef};
use sqlx::AssertSqlSafe;

use crate::db::Database;
use crate::documents::DocWrite;
use crate::error::StoreError;

/// Notes that document `id` refers to `photos` (photos are only added; known ones are kept).
pub(crate) async fn record(
    write: &mut DocWrite,
    kind: DocumentKind,
    id: &str,
    photos: &[PhotoRef],
) -> Result<(), StoreError> {
    for photo in photos {
        sqlx::query(
            "INSERT INTO document_photos (blob_sha256, document_id, kind, format)
             VALUES ($1, $2, $3, $4) ON CONFLICT (blob_sha256, document_id) DO NOTHING",
        )
        .bind(&photo.blob_sha256)
        .bind(id)
        .bind(kind.code())
        .bind(photo.format.code())
        .execute(write.tx())
        .await?;
    }
    Ok(())
}

/// The documents (kind, id) that refer to photo `hash`.
pub async fn referring(
    db: &Database,
    hash: &str,
) -> Result<Vec<(DocumentKind, String)>, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT kind, document_id FROM document_photos WHERE blob_sha256 = $1 ORDER BY document_id",
    )
    .bind(hash)
    .fetch_all(db.pool())
    .await?;
    rows.into_iter()
        .map(|(kind, id)| {
            DocumentKind::parse_code_or_label(&kind)
                .map(|kind| (kind, id))
                .map_err(|e| StoreError::corrupt(format!("document_photos: {e}")))
        })
        .collect()
}

/// The photos of each of `ids` (the documents of a list's page): blob SHA-256 and format.
pub async fn of_documents(
    db: &Database,
    ids: &[&str],
) -> Result<HashMap<String, Vec<(String, PhotoFormat)>>, StoreError> {
    let mut photos: HashMap<String, Vec<(String, PhotoFormat)>> = HashMap::new();
    if ids.is_empty() {
        return Ok(photos);
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT document_id, blob_sha256, format FROM document_photos
         WHERE document_id IN ({}) ORDER BY document_id, blob_sha256",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as::<_, (String, String, String)>(AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(*id);
    }
    for (document, hash, format) in query.fetch_all(db.pool()).await? {
        let format = PhotoFormat::parse_code_or_label(&format)
            .map_err(|e| StoreError::corrupt(format!("document_photos: {e}")))?;
        photos.entry(document).or_default().push((hash, format));
    }
    Ok(photos)
}

//! Which documents refer to which photos (#18), kept beside the documents' projections so a
//! photo's readers are found without reading documents: whoever may read one of them.

use huifang_protocol::{DocumentKind, Labelled, PhotoRef};

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
            "INSERT INTO document_photos (blob_sha256, document_id, kind) VALUES ($1, $2, $3)
             ON CONFLICT (blob_sha256, document_id) DO NOTHING",
        )
        .bind(&photo.blob_sha256)
        .bind(id)
        .bind(kind.code())
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

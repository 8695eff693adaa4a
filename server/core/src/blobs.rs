//! Content-addressed blobs (customers' signatures, D-SIG-1): uploaded by devices before the
//! follow-up that refers to them, in parts that resume after a cut (each appended only where the
//! last one ended; the blob exists once the whole body has arrived and hashes to its name), and
//! read only by those who may read a follow-up that refers to them.

use huifang_protocol::{BlobUploadStatus as UploadStatus, DocumentKind, FollowUp, MAX_BLOB_BYTES};
use sha2::Digest;

use crate::Company;
use crate::auth::Caller;
use crate::error::{CoreResult, Error};
use huifang_store::blobs;

/// What an upload's part did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// The last part: the blob now exists.
    Created,
    /// The server had the whole blob already; nothing changed.
    AlreadyHeld,
    /// Kept; more parts are to come.
    Partial,
}

fn check_hash(hash: &str) -> CoreResult<()> {
    if huifang_protocol::is_sha256_hex(hash) {
        Ok(())
    } else {
        Err(Error::invalid(
            "a blob is named by its SHA-256: 64 lowercase hex digits",
        ))
    }
}

/// Stores a blob, or one part of it (`offset` bytes already sent of `total`; neither: `body` is
/// the whole blob). Sending what the server already has changes nothing.
pub async fn receive(
    company: &Company,
    caller: &Caller,
    hash: &str,
    part_offset: Option<u64>,
    total: Option<u64>,
    body: &[u8],
) -> CoreResult<(Arrival, UploadStatus)> {
    check_hash(hash)?;
    let (offset, total) = match (part_offset, total) {
        (None, None) => (0, body.len() as u64),
        (Some(offset), Some(total)) => (offset, total),
        _ => {
            return Err(Error::invalid(
                "a part names both its offset and the blob's total size",
            ));
        }
    };
    if total == 0 || total > MAX_BLOB_BYTES as u64 {
        return Err(Error::invalid(format!(
            "a blob has 1 to {MAX_BLOB_BYTES} bytes, not {total}"
        )));
    }
    if offset + body.len() as u64 > total {
        return Err(Error::invalid(format!(
            "the part ends at byte {}, past the blob's total of {total}",
            offset + body.len() as u64
        )));
    }
    if body.is_empty() && offset < total {
        return Err(Error::invalid("an empty part carries nothing"));
    }
    if part_offset.is_none() && hex::encode(sha2::Sha256::digest(body)) != hash {
        return Err(Error::invalid(
            "the body's SHA-256 is not the blob's name (cut off or altered on the way)",
        ));
    }
    if let Some(size) = blobs::size(company.db(), hash).await? {
        return Ok((Arrival::AlreadyHeld, UploadStatus::complete(size)));
    }
    let db = company.db();
    let received: Vec<u8> = if offset == 0 {
        body.to_vec()
    } else {
        let Some((current_total, mut bytes)) = blobs::partial(db, hash).await? else {
            return Err(Error::Conflict(
                "no upload of this blob has begun: send it from offset 0".into(),
            ));
        };
        if current_total != total {
            return Err(Error::Conflict(format!(
                "this upload began with a total of {current_total} bytes, not {total}"
            )));
        }
        if bytes.len() as u64 != offset {
            return Err(Error::Conflict(format!(
                "the server has {} bytes of this blob, so the next part starts there, not at {offset}",
                bytes.len()
            )));
        }
        bytes.extend_from_slice(body);
        bytes
    };
    let received_len = received.len() as u64;
    if received_len < total {
        if !blobs::keep_partial(db, hash, offset, total, received, caller.staff_id).await? {
            return Err(Error::Conflict(
                "another part of this blob arrived at the same time; ask where to go on".into(),
            ));
        }
        return Ok((
            Arrival::Partial,
            UploadStatus {
                received: received_len,
                total: Some(total),
                complete: false,
            },
        ));
    }
    if hex::encode(sha2::Sha256::digest(&received)) != hash {
        blobs::discard_partial(db, hash).await?;
        return Err(Error::invalid(
            "the blob's SHA-256 is not its name (cut off or altered on the way); send it again from offset 0",
        ));
    }
    let arrival = if blobs::store(db, hash, received, caller.staff_id).await? {
        Arrival::Created
    } else {
        Arrival::AlreadyHeld
    };
    Ok((arrival, UploadStatus::complete(total)))
}

/// How much of a blob the server has: where an interrupted upload goes on.
pub async fn upload_status(company: &Company, hash: &str) -> CoreResult<UploadStatus> {
    check_hash(hash)?;
    if let Some(size) = blobs::size(company.db(), hash).await? {
        return Ok(UploadStatus::complete(size));
    }
    Ok(match blobs::progress(company.db(), hash).await? {
        Some((received, total)) => UploadStatus {
            received,
            total: Some(total),
            complete: false,
        },
        None => UploadStatus {
            received: 0,
            total: None,
            complete: false,
        },
    })
}

/// A blob's bytes, when a document in the caller's scope refers to it: a follow-up signed with
/// it, or a sheet or follow-up carrying it as a photo.
pub async fn readable(company: &Company, caller: &Caller, hash: &str) -> CoreResult<Vec<u8>> {
    check_hash(hash)?;
    let not_found = || {
        Error::NotFound(format!(
            "blob {hash} does not exist or is outside your scope"
        ))
    };
    let db = company.db();
    let mut referring: Vec<(DocumentKind, String)> =
        huifang_store::followups::signed_with(db, hash)
            .await?
            .into_iter()
            .map(|id| (DocumentKind::FollowUp, id))
            .collect();
    referring.extend(huifang_store::photos::referring(db, hash).await?);
    let mut visible = false;
    for (kind, id) in referring {
        visible = match kind {
            DocumentKind::FollowUp => {
                match huifang_store::documents::read::<FollowUp>(db, &id).await? {
                    Some(follow_up) => {
                        crate::followups::is_visible(company, caller, &follow_up).await?
                    }
                    None => false,
                }
            }
            DocumentKind::Sheet => match crate::sheets::load_visible(company, caller, &id).await {
                Ok(_) => true,
                Err(Error::NotFound(_)) => false,
                Err(e) => return Err(e),
            },
        };
        if visible {
            break;
        }
    }
    if !visible {
        return Err(not_found());
    }
    blobs::bytes(company.db(), hash)
        .await?
        .ok_or_else(not_found)
}

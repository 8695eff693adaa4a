//! Content-addressed blobs (customers' signatures, D-SIG-1): uploaded by devices before the
//! follow-up that refers to them, served only within the caller's scope.
//!
//! Both directions resume after a cut. An upload is sent in parts (`?offset=&total=`), each
//! appended only where the last one ended; `GET /blobs/{sha256}/upload` says how far it got, and
//! the blob exists once the whole body has arrived and hashes to its name. A download honours
//! `Range: bytes=N-[M]`.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use huifang_protocol::{BlobUploadStatus as UploadStatus, FollowUp, MAX_BLOB_BYTES};
use serde::Deserialize;
use sha2::Digest;

use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::extract::ApiQuery;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/blobs/{sha256}",
            post(upload)
                .get(download)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_BLOB_BYTES)),
        )
        .route("/blobs/{sha256}/upload", get(upload_status))
}

fn check_hash(hash: &str) -> AppResult<()> {
    if huifang_protocol::is_sha256_hex(hash) {
        Ok(())
    } else {
        Err(AppError::invalid(
            "a blob is named by its SHA-256: 64 lowercase hex digits",
        ))
    }
}

/// Where a part goes: `offset` bytes already sent of `total`. Absent: the body is the whole blob.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Part {
    offset: Option<u64>,
    total: Option<u64>,
}

async fn stored_size(state: &AppState, hash: &str) -> AppResult<Option<u64>> {
    let size: Option<i64> = sqlx::query_scalar("SELECT size FROM blobs WHERE sha256 = $1")
        .bind(hash)
        .fetch_optional(state.db().pool())
        .await?;
    Ok(size.map(|s| s as u64))
}

/// Stores a blob, or one part of it. Sending what the server already has changes nothing.
#[tracing::instrument(skip(state, caller, body), fields(caller = caller.staff_id))]
async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Path(hash): Path<String>,
    ApiQuery(part): ApiQuery<Part>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> AppResult<Response> {
    check_hash(&hash)?;
    let body = body.map_err(|e| AppError::from_body_rejection(e, MAX_BLOB_BYTES))?;
    let (offset, total) = match (part.offset, part.total) {
        (None, None) => (0, body.len() as u64),
        (Some(offset), Some(total)) => (offset, total),
        _ => {
            return Err(AppError::invalid(
                "a part names both its offset and the blob's total size",
            ));
        }
    };
    if total == 0 || total > MAX_BLOB_BYTES as u64 {
        return Err(AppError::invalid(format!(
            "a blob has 1 to {MAX_BLOB_BYTES} bytes, not {total}"
        )));
    }
    if offset + body.len() as u64 > total {
        return Err(AppError::invalid(format!(
            "the part ends at byte {}, past the blob's total of {total}",
            offset + body.len() as u64
        )));
    }
    if body.is_empty() && offset < total {
        return Err(AppError::invalid("an empty part carries nothing"));
    }
    if part.offset.is_none() && hex::encode(sha2::Sha256::digest(&body)) != hash {
        return Err(AppError::invalid(
            "the body's SHA-256 is not the blob's name (cut off or altered on the way)",
        ));
    }
    if let Some(size) = stored_size(&state, &hash).await? {
        return Ok(status_response(
            StatusCode::OK,
            UploadStatus::complete(size),
        ));
    }
    let pool = state.db().pool();
    let now = state.db().now_text();
    let received: Vec<u8> = if offset == 0 {
        body.to_vec()
    } else {
        let current: Option<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT total, bytes FROM blob_uploads WHERE sha256 = $1")
                .bind(&hash)
                .fetch_optional(pool)
                .await?;
        let Some((current_total, mut bytes)) = current else {
            return Err(AppError::Conflict(
                "no upload of this blob has begun: send it from offset 0".into(),
            ));
        };
        if current_total as u64 != total {
            return Err(AppError::Conflict(format!(
                "this upload began with a total of {current_total} bytes, not {total}"
            )));
        }
        if bytes.len() as u64 != offset {
            return Err(AppError::Conflict(format!(
                "the server has {} bytes of this blob, so the next part starts there, not at {offset}",
                bytes.len()
            )));
        }
        bytes.extend_from_slice(&body);
        bytes
    };
    let received_len = received.len() as u64;
    if received_len < total {
        // Optimistic: the row moves on only from the length this part was appended to.
        let written = if offset == 0 {
            sqlx::query(
                "INSERT INTO blob_uploads (sha256, total, received, bytes, uploaded_by, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (sha256) DO UPDATE SET total = excluded.total, received = excluded.received,
                    bytes = excluded.bytes, uploaded_by = excluded.uploaded_by, updated_at = excluded.updated_at",
            )
            .bind(&hash)
            .bind(total as i64)
            .bind(received_len as i64)
            .bind(received)
            .bind(caller.staff_id)
            .bind(&now)
            .execute(pool)
            .await?
        } else {
            sqlx::query(
                "UPDATE blob_uploads SET received = $1, bytes = $2, updated_at = $3
                 WHERE sha256 = $4 AND received = $5",
            )
            .bind(received_len as i64)
            .bind(received)
            .bind(&now)
            .bind(&hash)
            .bind(offset as i64)
            .execute(pool)
            .await?
        };
        if written.rows_affected() != 1 {
            return Err(AppError::Conflict(
                "another part of this blob arrived at the same time; ask where to go on".into(),
            ));
        }
        return Ok(status_response(
            StatusCode::ACCEPTED,
            UploadStatus {
                received: received_len,
                total: Some(total),
                complete: false,
            },
        ));
    }
    if hex::encode(sha2::Sha256::digest(&received)) != hash {
        sqlx::query("DELETE FROM blob_uploads WHERE sha256 = $1")
            .bind(&hash)
            .execute(pool)
            .await?;
        return Err(AppError::invalid(
            "the blob's SHA-256 is not its name (cut off or altered on the way); send it again from offset 0",
        ));
    }
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "INSERT INTO blobs (sha256, bytes, size, uploaded_by, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(&hash)
    .bind(received)
    .bind(total as i64)
    .bind(caller.staff_id)
    .bind(&now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM blob_uploads WHERE sha256 = $1")
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(status_response(
        if done.rows_affected() == 1 {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        UploadStatus::complete(total),
    ))
}

fn status_response(status: StatusCode, upload: UploadStatus) -> Response {
    (status, Json(upload)).into_response()
}

/// How much of a blob the server has: where an interrupted upload goes on.
#[tracing::instrument(skip(state, _caller))]
async fn upload_status(
    State(state): State<AppState>,
    _caller: Caller,
    Path(hash): Path<String>,
) -> AppResult<Json<UploadStatus>> {
    check_hash(&hash)?;
    if let Some(size) = stored_size(&state, &hash).await? {
        return Ok(Json(UploadStatus::complete(size)));
    }
    let partial: Option<(i64, i64)> =
        sqlx::query_as("SELECT received, total FROM blob_uploads WHERE sha256 = $1")
            .bind(&hash)
            .fetch_optional(state.db().pool())
            .await?;
    Ok(Json(match partial {
        Some((received, total)) => UploadStatus {
            received: received as u64,
            total: Some(total as u64),
            complete: false,
        },
        None => UploadStatus {
            received: 0,
            total: None,
            complete: false,
        },
    }))
}

/// `Range: bytes=N-` or `bytes=N-M` (one range; what a download that was cut off asks for).
fn requested_range(headers: &HeaderMap, size: usize) -> AppResult<Option<(usize, usize)>> {
    let Some(value) = headers.get(header::RANGE) else {
        return Ok(None);
    };
    let unsatisfiable = || {
        AppError::RangeNotSatisfiable(format!(
            "Range must be bytes=N- or bytes=N-M within the blob's {size} bytes"
        ))
    };
    let spec = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().strip_prefix("bytes="))
        .ok_or_else(unsatisfiable)?;
    let (start, end) = spec.split_once('-').ok_or_else(unsatisfiable)?;
    let start: usize = start.trim().parse().map_err(|_| unsatisfiable())?;
    let end: usize = match end.trim() {
        "" => size.saturating_sub(1),
        end => end
            .parse::<usize>()
            .map_err(|_| unsatisfiable())?
            .min(size.saturating_sub(1)),
    };
    if start >= size || end < start {
        return Err(unsatisfiable());
    }
    Ok(Some((start, end)))
}

/// Serves a blob that a follow-up in the caller's scope refers to.
#[tracing::instrument(skip(state, caller, headers), fields(caller = caller.staff_id))]
async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path(hash): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    check_hash(&hash)?;
    let not_found = || {
        AppError::NotFound(format!(
            "blob {hash} does not exist or is outside your scope"
        ))
    };
    let referring: Vec<String> =
        sqlx::query_scalar("SELECT id FROM follow_ups WHERE signature_blob = $1")
            .bind(&hash)
            .fetch_all(state.db().pool())
            .await?;
    let mut visible = false;
    for id in referring {
        if let Some(follow_up) = huifang_store::documents::read::<FollowUp>(state.db(), &id).await?
            && huifang_core::followups::is_visible(state.company(), &caller, &follow_up).await?
        {
            visible = true;
            break;
        }
    }
    if !visible {
        return Err(not_found());
    }
    let bytes: Vec<u8> = sqlx::query_scalar("SELECT bytes FROM blobs WHERE sha256 = $1")
        .bind(&hash)
        .fetch_optional(state.db().pool())
        .await?
        .ok_or_else(not_found)?;
    let content_type = (header::CONTENT_TYPE, "application/octet-stream");
    let accept_ranges = (header::ACCEPT_RANGES, "bytes");
    Ok(match requested_range(&headers, bytes.len())? {
        None => ([content_type, accept_ranges], bytes).into_response(),
        Some((start, end)) => (
            StatusCode::PARTIAL_CONTENT,
            [
                content_type,
                accept_ranges,
                (
                    header::CONTENT_RANGE,
                    format!("bytes {start}-{end}/{}", bytes.len()).as_str(),
                ),
            ],
            bytes[start..=end].to_vec(),
        )
            .into_response(),
    })
}

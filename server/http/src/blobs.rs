//! `/api/v1/blobs/*`: content-addressed blobs (customers' signatures, D-SIG-1, and photos) over HTTP; what is
//! kept and who may read it is the domain's (`huifang_core::blobs`).
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
use huifang_core::blobs::{self, Arrival};
use huifang_protocol::{BlobUploadStatus as UploadStatus, MAX_BLOB_BYTES};
use serde::Deserialize;

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
        .route("/blobs/{sha256}/thumbnail", get(thumbnail))
}

/// A photo's thumbnail (a JPEG, [`huifang_core::photos::THUMBNAIL_EDGE`] pixels at most), for
/// whoever may read the photo.
#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn thumbnail(
    State(state): State<AppState>,
    caller: Caller,
    Path(hash): Path<String>,
) -> AppResult<Response> {
    let bytes = blobs::readable(state.company(), &caller, &hash).await?;
    let small = tokio::task::spawn_blocking(move || huifang_core::photos::thumbnail(&bytes))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("drawing a thumbnail: {e}")))??;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "private, max-age=86400"),
        ],
        small,
    )
        .into_response())
}

/// Where a part goes: `offset` bytes already sent of `total`. Absent: the body is the whole blob.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Part {
    offset: Option<u64>,
    total: Option<u64>,
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
    let body = body.map_err(|e| AppError::from_body_rejection(e, MAX_BLOB_BYTES))?;
    let (arrival, status) = blobs::receive(
        state.company(),
        &caller,
        &hash,
        part.offset,
        part.total,
        &body,
    )
    .await?;
    let code = match arrival {
        Arrival::Created => StatusCode::CREATED,
        Arrival::AlreadyHeld => StatusCode::OK,
        Arrival::Partial => StatusCode::ACCEPTED,
    };
    Ok(status_response(code, status))
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
    Ok(Json(blobs::upload_status(state.company(), &hash).await?))
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
    let bytes = blobs::readable(state.company(), &caller, &hash).await?;
    // A photo is served as the picture its bytes are (never as what a name says).
    let content_type = (
        header::CONTENT_TYPE,
        huifang_protocol::PhotoFormat::of(&bytes).map_or("application/octet-stream", |f| f.mime()),
    );
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

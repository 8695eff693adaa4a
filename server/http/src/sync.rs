//! `POST /api/v1/sync`: the HTTP side of the sync protocol. The body is bounded before anything
//! reads it and decoded here; what the server does with it is the domain's
//! (`huifang_core::sync::exchange`). [`live`] is the live channel.

mod live;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use huifang_protocol::{MAX_REQUEST_BYTES, WireError, decode_request, encode_message};

use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The content type of sync bodies: gzip-compressed CBOR.
pub const CONTENT_TYPE: &str = "application/vnd.huifang.sync+cbor";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/sync",
            post(sync).layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES)),
        )
        .route("/sync/events", axum::routing::get(live::events))
}

#[tracing::instrument(skip(state, caller, body), fields(caller = caller.staff_id))]
async fn sync(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> AppResult<Response> {
    let body = body.map_err(|e| AppError::from_body_rejection(e, MAX_REQUEST_BYTES))?;
    let request = decode_request(&body).map_err(|e| match e {
        WireError::TooLarge { limit } => AppError::PayloadTooLarge { limit },
        other => AppError::BadRequest(other.to_string()),
    })?;
    drop(body);
    request
        .check()
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let response = huifang_core::sync::exchange(state.company(), &caller, request).await?;
    let bytes = encode_message(&response).map_err(|e| AppError::Internal(e.into()))?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], bytes).into_response())
}

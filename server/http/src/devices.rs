//! `/api/v1/devices`: the phones, as head office and unit heads see them (#18) — when each last
//! synced, what it holds unsynced (follow-ups done on the phone and not yet arrived), which app
//! it runs, and whether it was ordered wiped. The list is the domain's
//! (`huifang_core::devices`).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use huifang_store::devices::Device;

use crate::auth::Caller;
use crate::error::AppResult;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/devices", get(list))
}

/// Everyone's phones for head office; their units' staff's for a unit head; one's own otherwise.
#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn list(State(state): State<AppState>, caller: Caller) -> AppResult<Json<Vec<Device>>> {
    Ok(Json(
        huifang_core::devices::list(state.company(), &caller).await?,
    ))
}

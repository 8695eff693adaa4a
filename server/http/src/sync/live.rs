//! `GET /api/v1/sync/events`: the live channel, server-sent events telling an online phone to
//! sync as soon as something in its scope changed (`huifang_core::sync::live` decides that).

use axum::extract::State;

use crate::auth::Caller;
use crate::error::AppResult;
use crate::state::AppState;

/// How often an open live channel checks that its session still stands.
const SESSION_CHECK: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EventsQuery {
    /// The device's cursor; events announce changes in its scope after it.
    cursor: Option<i64>,
}

pub(super) type EventStream = axum::response::sse::Sse<
    axum::response::sse::KeepAliveStream<
        std::pin::Pin<
            Box<
                dyn futures_util::Stream<
                        Item = Result<axum::response::sse::Event, std::convert::Infallible>,
                    > + Send,
            >,
        >,
    >,
>;

/// `GET /api/v1/sync/events`: a server-sent event stream that says `sync` (with the newest
/// sequence number) whenever the device's scope changes, so an online phone learns of new work
/// at once without polling. Connect, sync once, then sync on each event.
#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
pub(super) async fn events(
    State(state): State<AppState>,
    caller: Caller,
    crate::extract::ApiQuery(query): crate::extract::ApiQuery<EventsQuery>,
) -> AppResult<EventStream> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let head = huifang_core::sync::live::head(state.company()).await?;
    let start = query.cursor.unwrap_or(head).max(0);
    let mut changes = state.db().watch_changes();
    changes.mark_changed();
    let stream = futures_util::stream::unfold(
        (changes, start, state, caller),
        |(mut changes, mut seen, state, caller)| async move {
            loop {
                // Wake on a change, or now and then to see that the session still stands: a
                // revoked session (a lost phone) must not keep hearing of work.
                let changed = tokio::select! {
                    changed = changes.changed() => {
                        changed.ok()?;
                        true
                    }
                    () = tokio::time::sleep(SESSION_CHECK) => false,
                };
                match state.sessions().still_valid(&caller).await {
                    Ok(true) => {}
                    Ok(false) => return None,
                    Err(e) => tracing::warn!(error = %e, "live channel session check failed"),
                }
                if !changed {
                    continue;
                }
                let newest = *changes.borrow_and_update();
                if newest <= seen {
                    continue;
                }
                match huifang_core::sync::live::scope_changed(
                    state.company(),
                    &caller,
                    seen,
                    newest,
                )
                .await
                {
                    Ok(true) => {
                        seen = newest;
                        let event = Event::default().event("sync").data(newest.to_string());
                        return Some((Ok(event), (changes, seen, state, caller)));
                    }
                    Ok(false) => seen = newest,
                    Err(e) => tracing::warn!(error = %e, "live channel check failed"),
                }
            }
        },
    );
    Ok(Sse::new(Box::pin(stream) as _).keep_alive(KeepAlive::default()))
}

//! What the live channel needs: this process's view of the change sequence (kept current also
//! for changes other server instances commit) and whether a range of it touched a caller's scope.

use huifang_store::changes;

use super::outgoing::device_scope;
use crate::Company;
use crate::auth::Caller;
use crate::error::Error;

/// How often each server instance looks for changes committed by the other instances.
const CHANGE_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// Keeps this process's view of the change sequence current, including changes committed by
/// other server instances on the same database (one single-row read per interval for the whole
/// process, however many devices listen).
pub fn spawn_change_watcher(db: huifang_store::Database) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(CHANGE_POLL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            match changes::head(&db).await {
                Ok(seq) => db.announce_change(seq),
                Err(e) => tracing::debug!(error = %e, "change watcher could not read the sequence"),
            }
        }
    })
}

/// Whether anything in the caller's scope changed (or left it) with a sequence in `(after, upto]`.
pub async fn scope_changed(
    company: &Company,
    caller: &Caller,
    after: i64,
    upto: i64,
) -> Result<bool, Error> {
    Ok(changes::scope_changed(company.db(), &device_scope(caller), after, upto).await?)
}

/// The newest change-sequence number committed.
pub async fn head(company: &Company) -> Result<i64, Error> {
    Ok(changes::head(company.db()).await?)
}

//! What the live channel needs: this process's view of the change sequence (kept current also
//! for changes other server instances commit) and whether a range of it touched a caller's scope.

use super::outgoing::{exits_of, in_scope};
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
            let read =
                sqlx::query_scalar::<_, i64>("SELECT value FROM change_sequence WHERE id = 1")
                    .fetch_one(db.pool())
                    .await;
            match read {
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
    let in_scope = in_scope(caller);
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT d.id FROM documents d WHERE d.seq > $1 AND d.seq <= $2
            AND {in_scope} LIMIT 1) found"
    );
    let changed: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(after)
        .bind(upto)
        .fetch_one(company.db().pool())
        .await?;
    if changed > 0 {
        return Ok(true);
    }
    let sql = format!(
        "SELECT COUNT(*) FROM scope_exits e WHERE ({}) AND e.seq > $1 AND e.seq <= $2",
        exits_of(caller)
    );
    let exits: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(after)
        .bind(upto)
        .fetch_one(company.db().pool())
        .await?;
    Ok(exits > 0)
}

/// The newest change-sequence number committed.
pub async fn head(company: &Company) -> Result<i64, Error> {
    Ok(
        sqlx::query_scalar("SELECT value FROM change_sequence WHERE id = 1")
            .fetch_one(company.db().pool())
            .await?,
    )
}

//! Counted sign-in failures per account and per client address (the domain's throttle decides
//! what they mean), kept in the database so every instance agrees.

use chrono::{DateTime, Utc};
use huifang_protocol::format_time;

use crate::db::{Backend, Database, Tx, parse_stored_time};
use crate::error::StoreError;

/// The failures counted under a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub failures: i64,
    pub locked_until: Option<DateTime<Utc>>,
    pub last_failed_at: Option<DateTime<Utc>>,
}

/// The count under `key`, locked for the rest of `tx` (the row is created, empty, if missing:
/// SQLite's write lock, taken by that first write, serialises attempts; PostgreSQL locks the
/// row).
pub async fn lock(
    tx: &mut Tx,
    backend: Backend,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Failures, StoreError> {
    sqlx::query(
        "INSERT INTO login_failures (username, failures, locked_until, last_failed_at)
         VALUES ($1, 0, NULL, $2) ON CONFLICT (username) DO NOTHING",
    )
    .bind(key)
    .bind(format_time(now))
    .execute(&mut **tx)
    .await?;
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let row: Option<(i64, Option<String>, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT failures, locked_until, last_failed_at FROM login_failures WHERE username = $1{lock}"
    )))
    .bind(key)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match row {
        Some((failures, locked_until, last)) => Failures {
            failures,
            locked_until: locked_until.as_deref().and_then(parse_stored_time),
            last_failed_at: parse_stored_time(&last),
        },
        None => Failures {
            failures: 0,
            locked_until: None,
            last_failed_at: None,
        },
    })
}

/// Sets the count under `key`.
pub async fn record(
    tx: &mut Tx,
    key: &str,
    failures: i64,
    locked_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO login_failures (username, failures, locked_until, last_failed_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (username) DO UPDATE
         SET failures = excluded.failures, locked_until = excluded.locked_until,
             last_failed_at = excluded.last_failed_at",
    )
    .bind(key)
    .bind(failures)
    .bind(locked_until.map(format_time))
    .bind(format_time(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Forgets `account`'s count and takes one failure back from `address`'s, in one transaction.
pub async fn forgive(
    db: &Database,
    account: &str,
    address: Option<&str>,
) -> Result<(), StoreError> {
    let mut tx = db.pool().begin().await?;
    sqlx::query("DELETE FROM login_failures WHERE username = $1")
        .bind(account)
        .execute(&mut *tx)
        .await?;
    if let Some(address) = address {
        sqlx::query(
            "UPDATE login_failures SET failures = failures - 1 WHERE username = $1 AND failures > 0",
        )
        .bind(address)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

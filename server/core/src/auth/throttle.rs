//! Slows down password guessing, per account and per client address, for sign-in and for
//! password changes. Kept in the database so every instance agrees.
//!
//! An attempt is counted *before* its password is checked, in one transaction that also decides
//! whether it may go ahead: so however many attempts arrive in parallel, at most
//! [`FREE_FAILURES`] passwords of an account are checked before it locks (and one per lock
//! window after that). A success forgets the account's count and takes back its own count on the
//! address.

use std::net::IpAddr;

use chrono::Duration;
use sqlx::Row;

use crate::error::Error;
use huifang_store::db::{self, Database};

/// Failures of one account allowed before the first lock.
const FREE_FAILURES: i64 = 5;
/// Failures from one client address (over all accounts) allowed before it locks: higher, since
/// an office may sign in many people from one address.
const FREE_ADDRESS_FAILURES: i64 = 30;
/// The first lock; each further failure doubles it.
const FIRST_LOCK: Duration = Duration::seconds(30);
const LONGEST_LOCK: Duration = Duration::minutes(15);
/// A failure this long after the previous one starts the count again.
const FORGET_AFTER: Duration = Duration::hours(1);

#[derive(Clone)]
pub struct LoginThrottle {
    db: Database,
}

/// One counted attempt: report its success with [`LoginThrottle::succeeded`].
#[must_use]
pub struct Attempt {
    account: String,
    address: Option<String>,
}

/// The throttle's key of an account, and of a client address (which no username can be: they
/// have no `:`).
fn account_key(username: &str) -> String {
    username.to_owned()
}

fn address_key(address: IpAddr) -> String {
    format!("ip:{address}")
}

impl LoginThrottle {
    pub fn new(db: Database) -> Self {
        LoginThrottle { db }
    }

    /// Counts an attempt for `username` from `client` before its password is checked; 429 with
    /// `Retry-After` while either is locked (then nothing is counted).
    pub async fn begin(&self, username: &str, client: Option<IpAddr>) -> Result<Attempt, Error> {
        let attempt = Attempt {
            account: account_key(username),
            address: client.map(address_key),
        };
        let now = self.db.now();
        let _turn = self.db.write_turn().await;
        let mut tx = self.db.pool().begin().await?;
        let mut keys = vec![(attempt.account.clone(), FREE_FAILURES)];
        if let Some(address) = &attempt.address {
            keys.push((address.clone(), FREE_ADDRESS_FAILURES));
        }
        // SQLite's write lock (taken by the first write) serialises attempts; PostgreSQL locks
        // the rows, which exist from the first statement on.
        let lock = match self.db.backend() {
            db::Backend::Postgres => " FOR UPDATE",
            db::Backend::Sqlite => "",
        };
        let mut counted = Vec::new();
        let mut retry_after = None;
        for (key, free) in keys {
            sqlx::query(
                "INSERT INTO login_failures (username, failures, locked_until, last_failed_at)
                 VALUES ($1, 0, NULL, $2) ON CONFLICT (username) DO NOTHING",
            )
            .bind(&key)
            .bind(huifang_protocol::format_time(now))
            .execute(&mut *tx)
            .await?;
            let previous = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT failures, locked_until, last_failed_at FROM login_failures
                 WHERE username = $1{lock}"
            )))
            .bind(&key)
            .fetch_optional(&mut *tx)
            .await?;
            let mut failures = 0;
            if let Some(row) = previous {
                let locked_until: Option<String> = row.try_get("locked_until")?;
                if let Some(until) = locked_until
                    .as_deref()
                    .and_then(huifang_store::db::parse_stored_time)
                    && until > now
                {
                    let left = u64::try_from((until - now).num_seconds()).unwrap_or(0) + 1;
                    retry_after = Some(retry_after.unwrap_or(0).max(left));
                }
                let last: String = row.try_get("last_failed_at")?;
                if huifang_store::db::parse_stored_time(&last)
                    .is_some_and(|t| now - t < FORGET_AFTER)
                {
                    failures = row.try_get::<i64, _>("failures")?;
                }
            }
            counted.push((key, free, failures + 1));
        }
        if let Some(retry_after_secs) = retry_after {
            tx.rollback().await?;
            return Err(Error::TooManyAttempts { retry_after_secs });
        }
        for (key, free, failures) in counted {
            let locked_until = (failures >= free).then(|| {
                let doublings = u32::try_from(failures - free).unwrap_or(u32::MAX).min(10);
                let lock = (FIRST_LOCK * 2i32.pow(doublings)).min(LONGEST_LOCK);
                huifang_protocol::format_time(now + lock)
            });
            sqlx::query(
                "INSERT INTO login_failures (username, failures, locked_until, last_failed_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (username) DO UPDATE
                 SET failures = excluded.failures, locked_until = excluded.locked_until,
                     last_failed_at = excluded.last_failed_at",
            )
            .bind(&key)
            .bind(failures)
            .bind(locked_until)
            .bind(huifang_protocol::format_time(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(attempt)
    }

    /// The password was right: the account's count is forgotten, and this attempt no longer
    /// counts against the address.
    pub async fn succeeded(&self, attempt: Attempt) -> Result<(), Error> {
        let _turn = self.db.write_turn().await;
        let mut tx = self.db.pool().begin().await?;
        sqlx::query("DELETE FROM login_failures WHERE username = $1")
            .bind(&attempt.account)
            .execute(&mut *tx)
            .await?;
        if let Some(address) = &attempt.address {
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
}

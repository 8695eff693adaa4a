//! Slows down password guessing: after a few consecutive failures for a username, further
//! attempts are refused for a growing time. Kept in the database so every instance agrees.

use chrono::{Duration, Utc};
use sqlx::Row;

use crate::db::{self, Database};
use crate::error::AppError;

/// Failures allowed before the first lock.
const FREE_FAILURES: i64 = 5;
/// The first lock; each further failure doubles it.
const FIRST_LOCK: Duration = Duration::seconds(30);
const LONGEST_LOCK: Duration = Duration::minutes(15);
/// A failure this long after the previous one starts the count again.
const FORGET_AFTER: Duration = Duration::hours(1);

#[derive(Clone)]
pub struct LoginThrottle {
    db: Database,
}

impl LoginThrottle {
    pub fn new(db: Database) -> Self {
        LoginThrottle { db }
    }

    /// Refuses with 429 while the username is locked.
    pub async fn check(&self, username: &str) -> Result<(), AppError> {
        let locked_until: Option<Option<String>> =
            sqlx::query_scalar("SELECT locked_until FROM login_failures WHERE username = $1")
                .bind(username)
                .fetch_optional(self.db.pool())
                .await?;
        let Some(until) = locked_until
            .flatten()
            .as_deref()
            .and_then(db::parse_timestamp)
        else {
            return Ok(());
        };
        let left = until - Utc::now();
        if left > Duration::zero() {
            let retry_after_secs = u64::try_from(left.num_seconds()).unwrap_or(0) + 1;
            return Err(AppError::TooManyAttempts { retry_after_secs });
        }
        Ok(())
    }

    /// Counts a failed attempt and locks the username once it has failed too often.
    pub async fn record_failure(&self, username: &str) -> Result<(), AppError> {
        let now = Utc::now();
        let _turn = self.db.write_turn().await;
        let mut tx = self.db.pool().begin().await?;
        // The first statement writes, so SQLite takes its write lock now instead of failing to
        // upgrade its read snapshot when a document write commits meanwhile (as `DocWrite`).
        sqlx::query("UPDATE login_failures SET failures = failures WHERE username = $1")
            .bind(username)
            .execute(&mut *tx)
            .await?;
        let previous =
            sqlx::query("SELECT failures, last_failed_at FROM login_failures WHERE username = $1")
                .bind(username)
                .fetch_optional(&mut *tx)
                .await?;
        let failures = match previous {
            Some(row) => {
                let last: String = row.try_get("last_failed_at")?;
                let recent = db::parse_timestamp(&last).is_some_and(|t| now - t < FORGET_AFTER);
                if recent {
                    row.try_get::<i64, _>("failures")? + 1
                } else {
                    1
                }
            }
            None => 1,
        };
        let locked_until = (failures >= FREE_FAILURES).then(|| {
            let doublings = u32::try_from(failures - FREE_FAILURES)
                .unwrap_or(u32::MAX)
                .min(10);
            let lock = (FIRST_LOCK * 2i32.pow(doublings)).min(LONGEST_LOCK);
            db::timestamp(now + lock)
        });
        sqlx::query(
            "INSERT INTO login_failures (username, failures, locked_until, last_failed_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (username) DO UPDATE
             SET failures = excluded.failures, locked_until = excluded.locked_until,
                 last_failed_at = excluded.last_failed_at",
        )
        .bind(username)
        .bind(failures)
        .bind(locked_until)
        .bind(db::timestamp(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets the failures after a successful sign-in.
    pub async fn clear(&self, username: &str) -> Result<(), AppError> {
        sqlx::query("DELETE FROM login_failures WHERE username = $1")
            .bind(username)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }
}

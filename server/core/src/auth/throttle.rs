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

use crate::error::Error;
use huifang_store::db::Database;
use huifang_store::login_failures;

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
        let mut tx = self.db.begin().await?;
        let mut keys = vec![(attempt.account.clone(), FREE_FAILURES)];
        if let Some(address) = &attempt.address {
            keys.push((address.clone(), FREE_ADDRESS_FAILURES));
        }
        let mut counted = Vec::new();
        let mut retry_after = None;
        for (key, free) in keys {
            let previous = login_failures::lock(&mut tx, self.db.backend(), &key, now).await?;
            if let Some(until) = previous.locked_until
                && until > now
            {
                let left = u64::try_from((until - now).num_seconds()).unwrap_or(0) + 1;
                retry_after = Some(retry_after.unwrap_or(0).max(left));
            }
            let recent = previous
                .last_failed_at
                .is_some_and(|t| now - t < FORGET_AFTER);
            let failures = if recent { previous.failures } else { 0 };
            counted.push((key, free, failures + 1));
        }
        if let Some(retry_after_secs) = retry_after {
            huifang_store::db::rollback(tx).await?;
            return Err(Error::TooManyAttempts { retry_after_secs });
        }
        for (key, free, failures) in counted {
            let locked_until = (failures >= free).then(|| {
                let doublings = u32::try_from(failures - free).unwrap_or(u32::MAX).min(10);
                now + (FIRST_LOCK * 2i32.pow(doublings)).min(LONGEST_LOCK)
            });
            login_failures::record(&mut tx, &key, failures, locked_until, now).await?;
        }
        huifang_store::db::commit(tx).await?;
        Ok(attempt)
    }

    /// The password was right: the account's count is forgotten, and this attempt no longer
    /// counts against the address.
    pub async fn succeeded(&self, attempt: Attempt) -> Result<(), Error> {
        let _turn = self.db.write_turn().await;
        login_failures::forgive(&self.db, &attempt.account, attempt.address.as_deref()).await?;
        Ok(())
    }
}

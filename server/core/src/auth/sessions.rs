//! Device sessions: random bearer tokens, stored only as their SHA-256, that expire and can be
//! revoked (by the device signing out, or by an administrator).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use huifang_protocol::Role;
use sha2::{Digest, Sha256};

use super::{Caller, CallerUnit};
use crate::error::Error;
use huifang_store::db::Database;
use huifang_store::{Kept, sessions};

/// Every token starts with this, so a leaked one is recognisable in a secret scanner.
pub const TOKEN_PREFIX: &str = "hfs_";

/// How often `last_used_at` is written for a busy session, to keep reads from becoming writes.
const LAST_USED_RESOLUTION: Duration = Duration::minutes(5);

pub use huifang_store::sessions::SessionInfo;

/// A newly issued token; the only time the plain token exists on the server.
pub struct IssuedToken {
    pub token: String,
    pub session_id: i64,
    pub expires_at: String,
}

/// Issues, checks and revokes session tokens.
#[derive(Clone)]
pub struct SessionStore {
    db: Database,
    ttl: Duration,
    /// Callers recently authenticated, by token hash: a device syncing or a list refreshing
    /// several times a second is not read from the database each time. An entry is trusted for
    /// `huifang_store::FRESH_FOR` at most (so a revocation on another instance takes effect
    /// within it) and not at all once this process changed staff, units or sessions.
    recent: Arc<Mutex<HashMap<String, Kept<Recent>>>>,
}

/// A caller as authenticated a moment ago, with when their session expires.
struct Recent {
    expires_at: String,
    caller: Caller,
}

/// Most callers remembered at once; beyond it the memory starts again.
const MOST_RECENT: usize = 10_000;

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl SessionStore {
    pub fn new(db: Database, ttl: Duration) -> Self {
        SessionStore {
            db,
            ttl,
            recent: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub async fn issue(&self, staff_id: i64, device_name: &str) -> Result<IssuedToken, Error> {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
        let now = self.db.now();
        let expires_at = huifang_protocol::format_time(now + self.ttl);
        let session_id = sessions::insert(
            &self.db,
            staff_id,
            &token_hash(&token),
            device_name,
            &huifang_protocol::format_time(now),
            &expires_at,
        )
        .await?;
        Ok(IssuedToken {
            token,
            session_id,
            expires_at,
        })
    }

    /// Resolves a bearer token to its caller, or says why it is not accepted.
    pub async fn authenticate(&self, token: &str) -> Result<Caller, Error> {
        let hash = token_hash(token);
        // Read before the database, so a change made meanwhile leaves the entry stale.
        let generation = self.db.registry_generation();
        if let Some(caller) = self.remembered(&hash, generation) {
            return Ok(caller);
        }
        let holder = sessions::holder(&self.db, &hash)
            .await?
            .ok_or_else(|| Error::Unauthorized("the token is not valid; sign in again".into()))?;
        let now = self.db.now();
        // Before the revocation it implies: a lost phone is told to erase itself, each time it
        // calls, until it confirms.
        if holder.wipe_pending {
            sessions::wipe_told(&self.db, holder.session_id).await?;
            tracing::warn!(
                session = holder.session_id,
                "a device reported lost was told to erase itself"
            );
            return Err(Error::DeviceWipe);
        }
        if holder.revoked {
            return Err(Error::Unauthorized(
                "the token was revoked; sign in again".into(),
            ));
        }
        if holder.expires_at <= huifang_protocol::format_time(now) {
            return Err(Error::Unauthorized(
                "the token has expired; sign in again".into(),
            ));
        }
        if holder.deactivated {
            return Err(Error::Unauthorized("the account is deactivated".into()));
        }
        if holder
            .last_used_at
            .is_none_or(|t| now - t > LAST_USED_RESOLUTION)
        {
            sessions::touch(&self.db, holder.session_id).await?;
        }
        let role = holder.role;
        let unit = holder.unit.map(|(id, kind, community_id)| CallerUnit {
            id,
            kind,
            community_id,
        });
        let work_units: Vec<i64> = match (role, unit) {
            (Role::UnitHead, Some(unit)) => {
                huifang_store::registry::RegistryStore::new(self.db.clone())
                    .unit_and_below(unit.id)
                    .await?
            }
            _ => unit.iter().map(|u| u.id).collect(),
        };
        let caller = Caller {
            staff_id: holder.staff_id,
            session_id: holder.session_id,
            username: holder.username,
            role,
            unit,
            work_units,
        };
        self.remember(hash, generation, holder.expires_at, caller.clone());
        Ok(caller)
    }

    /// The caller of `hash` if authenticated within `FRESH_FOR`, at this generation, unexpired.
    fn remembered(&self, hash: &str, generation: u64) -> Option<Caller> {
        let recent = self.recent.lock().ok()?;
        let entry = recent.get(hash)?.fresh(generation)?;
        (entry.expires_at > self.db.now_text()).then(|| entry.caller.clone())
    }

    fn remember(&self, hash: String, generation: u64, expires_at: String, caller: Caller) {
        if let Ok(mut recent) = self.recent.lock() {
            if recent.len() >= MOST_RECENT {
                recent.retain(|_, entry| entry.fresh(generation).is_some());
                if recent.len() >= MOST_RECENT {
                    recent.clear();
                }
            }
            recent.insert(hash, Kept::new(generation, Recent { expires_at, caller }));
        }
    }

    /// Whether `caller`'s session still stands as it did when the request began: not revoked,
    /// not expired, the account active, in the same role and unit (a long-lived channel closes
    /// when any of these changes, and the device reconnects with what is true now).
    pub async fn still_valid(&self, caller: &Caller) -> Result<bool, Error> {
        let standing = sessions::standing(&self.db, caller.session_id).await?;
        Ok(standing.is_some_and(|s| {
            !s.revoked
                && s.expires_at > huifang_protocol::format_time(self.db.now())
                && !s.deactivated
                && s.role == caller.role
                && s.unit_id == caller.unit.map(|u| u.id)
        }))
    }

    /// Revokes one session. Revoking an already revoked session changes nothing.
    pub async fn revoke(&self, session_id: i64) -> Result<(), Error> {
        Ok(sessions::revoke(&self.db, session_id).await?)
    }

    /// Revokes every live session of a staff member (lost phone, staff leaving); returns how many.
    pub async fn revoke_all_of(&self, staff_id: i64) -> Result<u64, Error> {
        Ok(sessions::revoke_all_of(&self.db, staff_id).await?)
    }

    /// Orders the remote wipe of a session's device (reported lost) and revokes the session.
    pub async fn request_wipe(&self, session_id: i64, by: i64) -> Result<(), Error> {
        Ok(sessions::request_wipe(&self.db, session_id, by).await?)
    }

    /// A device confirms, with its token, that it erased itself. Refused for a token whose
    /// device was not ordered to.
    pub async fn confirm_wipe(&self, token: &str) -> Result<i64, Error> {
        sessions::confirm_wipe(&self.db, &token_hash(token))
            .await?
            .ok_or_else(|| Error::Unauthorized("no erasure was asked of this device".into()))
    }

    pub async fn get(&self, session_id: i64) -> Result<Option<SessionInfo>, Error> {
        Ok(sessions::get(&self.db, session_id).await?)
    }

    /// The sessions of one staff member, newest first.
    pub async fn list_of(&self, staff_id: i64) -> Result<Vec<SessionInfo>, Error> {
        Ok(sessions::list_of(&self.db, staff_id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_is_sha256_hex() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

//! Device sessions: random bearer tokens, stored only as their SHA-256, that expire and can be
//! revoked (by the device signing out, or by an administrator).

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use huifang_protocol::{Role, UnitKind};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Caller, CallerUnit};
use crate::error::Error;
use huifang_store::db::Database;

/// Every token starts with this, so a leaked one is recognisable in a secret scanner.
pub const TOKEN_PREFIX: &str = "hfs_";

/// How often `last_used_at` is written for a busy session, to keep reads from becoming writes.
const LAST_USED_RESOLUTION: Duration = Duration::minutes(5);

/// A session as its owner and administrators see it (never the token).
#[derive(Debug, Clone, Serialize)]
pub struct SessionInfo {
    pub id: i64,
    pub staff_id: i64,
    pub device_name: String,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: String,
    pub revoked_at: Option<String>,
}

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
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl SessionStore {
    pub fn new(db: Database, ttl: Duration) -> Self {
        SessionStore { db, ttl }
    }

    pub async fn issue(&self, staff_id: i64, device_name: &str) -> Result<IssuedToken, Error> {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
        let now = self.db.now();
        let expires_at = huifang_protocol::format_time(now + self.ttl);
        let session_id: i64 = sqlx::query_scalar(
            "INSERT INTO sessions (staff_id, token_hash, device_name, created_at, expires_at, last_used_at)
             VALUES ($1, $2, $3, $4, $5, $4) RETURNING id",
        )
        .bind(staff_id)
        .bind(token_hash(&token))
        .bind(device_name)
        .bind(huifang_protocol::format_time(now))
        .bind(&expires_at)
        .fetch_one(self.db.pool())
        .await?;
        Ok(IssuedToken {
            token,
            session_id,
            expires_at,
        })
    }

    /// Resolves a bearer token to its caller, or says why it is not accepted.
    pub async fn authenticate(&self, token: &str) -> Result<Caller, Error> {
        let row = sqlx::query(
            "SELECT s.id AS session_id, s.expires_at, s.revoked_at, s.last_used_at,
                    st.id AS staff_id, st.username, st.role, st.deactivated_at,
                    u.id AS unit_id, u.kind AS unit_kind, u.community_id
             FROM sessions s
             JOIN staff st ON st.id = s.staff_id
             LEFT JOIN units u ON u.id = st.unit_id
             WHERE s.token_hash = $1",
        )
        .bind(token_hash(token))
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| Error::Unauthorized("the token is not valid; sign in again".into()))?;

        let now = self.db.now();
        if row.try_get::<Option<String>, _>("revoked_at")?.is_some() {
            return Err(Error::Unauthorized(
                "the token was revoked; sign in again".into(),
            ));
        }
        let expires_at: String = row.try_get("expires_at")?;
        if expires_at <= huifang_protocol::format_time(now) {
            return Err(Error::Unauthorized(
                "the token has expired; sign in again".into(),
            ));
        }
        if row
            .try_get::<Option<String>, _>("deactivated_at")?
            .is_some()
        {
            return Err(Error::Unauthorized("the account is deactivated".into()));
        }
        let session_id: i64 = row.try_get("session_id")?;
        let last_used: String = row.try_get("last_used_at")?;
        if huifang_store::db::parse_stored_time(&last_used)
            .is_none_or(|t| now - t > LAST_USED_RESOLUTION)
        {
            sqlx::query("UPDATE sessions SET last_used_at = $1 WHERE id = $2")
                .bind(huifang_protocol::format_time(now))
                .bind(session_id)
                .execute(self.db.pool())
                .await?;
        }

        let role: String = row.try_get("role")?;
        let role: Role = role
            .parse()
            .map_err(|e| Error::internal(format!("stored role: {e}")))?;
        let unit = match row.try_get::<Option<i64>, _>("unit_id")? {
            Some(id) => {
                let kind: String = row.try_get("unit_kind")?;
                Some(CallerUnit {
                    id,
                    kind: kind
                        .parse::<UnitKind>()
                        .map_err(|e| Error::internal(format!("stored unit kind: {e}")))?,
                    community_id: row.try_get("community_id")?,
                })
            }
            None => None,
        };
        let work_units: Vec<i64> = match (role, unit) {
            (Role::UnitHead, Some(unit)) => {
                huifang_store::registry::RegistryStore::new(self.db.clone())
                    .unit_and_below(unit.id)
                    .await?
            }
            _ => unit.iter().map(|u| u.id).collect(),
        };
        Ok(Caller {
            staff_id: row.try_get("staff_id")?,
            session_id,
            username: row.try_get("username")?,
            role,
            unit,
            work_units,
        })
    }

    /// Revokes one session. Revoking an already revoked session changes nothing.
    /// Whether `caller`'s session still stands as it did when the request began: not revoked,
    /// not expired, the account active, in the same role and unit (a long-lived channel closes
    /// when any of these changes, and the device reconnects with what is true now).
    pub async fn still_valid(&self, caller: &Caller) -> Result<bool, Error> {
        /// revoked_at, expires_at, deactivated_at, role, unit_id.
        type Standing = (Option<String>, String, Option<String>, String, Option<i64>);
        let row: Option<Standing> = sqlx::query_as(
            "SELECT s.revoked_at, s.expires_at, st.deactivated_at, st.role, st.unit_id
                 FROM sessions s JOIN staff st ON st.id = s.staff_id WHERE s.id = $1",
        )
        .bind(caller.session_id)
        .fetch_optional(self.db.pool())
        .await?;
        Ok(
            row.is_some_and(|(revoked, expires, deactivated, role, unit)| {
                revoked.is_none()
                    && expires > huifang_protocol::format_time(self.db.now())
                    && deactivated.is_none()
                    && role == huifang_protocol::Labelled::code(caller.role)
                    && unit == caller.unit.map(|u| u.id)
            }),
        )
    }

    pub async fn revoke(&self, session_id: i64) -> Result<(), Error> {
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(self.db.now_text())
            .bind(session_id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Revokes every live session of a staff member (lost phone, staff leaving); returns how many.
    pub async fn revoke_all_of(&self, staff_id: i64) -> Result<u64, Error> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE staff_id = $2 AND revoked_at IS NULL",
        )
        .bind(self.db.now_text())
        .bind(staff_id)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected())
    }

    pub async fn get(&self, session_id: i64) -> Result<Option<SessionInfo>, Error> {
        let row = sqlx::query(
            "SELECT id, staff_id, device_name, created_at, expires_at, last_used_at, revoked_at
             FROM sessions WHERE id = $1",
        )
        .bind(session_id)
        .fetch_optional(self.db.pool())
        .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    /// The sessions of one staff member, newest first.
    pub async fn list_of(&self, staff_id: i64) -> Result<Vec<SessionInfo>, Error> {
        let rows = sqlx::query(
            "SELECT id, staff_id, device_name, created_at, expires_at, last_used_at, revoked_at
             FROM sessions WHERE staff_id = $1 ORDER BY id DESC LIMIT 200",
        )
        .bind(staff_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(session_from_row).collect()
    }
}

fn session_from_row(row: &sqlx::any::AnyRow) -> Result<SessionInfo, Error> {
    Ok(SessionInfo {
        id: row.try_get("id")?,
        staff_id: row.try_get("staff_id")?,
        device_name: row.try_get("device_name")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
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

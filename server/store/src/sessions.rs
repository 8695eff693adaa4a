//! Device sessions as stored: the SHA-256 of the bearer token (never the token), the device,
//! when it expires, was last used and was revoked. Issuing tokens and deciding what a session
//! lets its caller do is the domain's.

use huifang_protocol::{Role, UnitKind};
use serde::Serialize;
use sqlx::{AssertSqlSafe, FromRow};

use crate::db::{Database, parse_stored_time, stored_code};
use crate::error::StoreError;

/// A session as its owner and administrators see it (never the token).
#[derive(Debug, Clone, Serialize, FromRow)]
pub struct SessionInfo {
    pub id: i64,
    pub staff_id: i64,
    pub device_name: String,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: String,
    pub revoked_at: Option<String>,
    /// A remote wipe: when it was ordered, when the device was told, when it confirmed.
    pub wipe_requested_at: Option<String>,
    pub wipe_told_at: Option<String>,
    pub wipe_confirmed_at: Option<String>,
}

const INFO_COLUMNS: &str = "id, staff_id, device_name, created_at, expires_at, last_used_at, \
     revoked_at, wipe_requested_at, wipe_told_at, wipe_confirmed_at";

/// A session with the staff member and unit behind it: what authenticating a token reads.
#[derive(Debug, Clone)]
pub struct SessionHolder {
    pub session_id: i64,
    pub expires_at: String,
    pub revoked: bool,
    /// The device was reported lost and has not yet confirmed erasing itself.
    pub wipe_pending: bool,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    pub staff_id: i64,
    pub username: String,
    pub role: Role,
    pub deactivated: bool,
    /// The staff member's unit: id, kind and community.
    pub unit: Option<(i64, UnitKind, Option<i64>)>,
}

#[derive(FromRow)]
struct HolderRow {
    session_id: i64,
    expires_at: String,
    revoked_at: Option<String>,
    wipe_requested_at: Option<String>,
    wipe_confirmed_at: Option<String>,
    last_used_at: String,
    staff_id: i64,
    username: String,
    role: String,
    deactivated_at: Option<String>,
    unit_id: Option<i64>,
    unit_kind: Option<String>,
    community_id: Option<i64>,
}

/// Stores a new session; returns its id.
pub async fn insert(
    db: &Database,
    staff_id: i64,
    token_hash: &str,
    device_name: &str,
    created_at: &str,
    expires_at: &str,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO sessions (staff_id, token_hash, device_name, created_at, expires_at, last_used_at)
         VALUES ($1, $2, $3, $4, $5, $4) RETURNING id",
    )
    .bind(staff_id)
    .bind(token_hash)
    .bind(device_name)
    .bind(created_at)
    .bind(expires_at)
    .fetch_one(db.pool())
    .await?)
}

/// The session whose token hashes to `token_hash`, with its holder.
pub async fn holder(db: &Database, token_hash: &str) -> Result<Option<SessionHolder>, StoreError> {
    let row: Option<HolderRow> = sqlx::query_as(
        "SELECT s.id AS session_id, s.expires_at, s.revoked_at, s.wipe_requested_at,
                s.wipe_confirmed_at, s.last_used_at,
                st.id AS staff_id, st.username, st.role, st.deactivated_at,
                u.id AS unit_id, u.kind AS unit_kind, u.community_id
         FROM sessions s
         JOIN staff st ON st.id = s.staff_id
         LEFT JOIN units u ON u.id = st.unit_id
         WHERE s.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let role = stored_code("role", &row.role)?;
    let unit = match (row.unit_id, row.unit_kind) {
        (Some(id), Some(kind)) => Some((id, stored_code("unit kind", &kind)?, row.community_id)),
        _ => None,
    };
    Ok(Some(SessionHolder {
        session_id: row.session_id,
        expires_at: row.expires_at,
        revoked: row.revoked_at.is_some(),
        wipe_pending: row.wipe_requested_at.is_some() && row.wipe_confirmed_at.is_none(),
        last_used_at: parse_stored_time(&row.last_used_at),
        staff_id: row.staff_id,
        username: row.username,
        role,
        deactivated: row.deactivated_at.is_some(),
        unit,
    }))
}

/// Notes that a session was used now.
pub async fn touch(db: &Database, session_id: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET last_used_at = $1 WHERE id = $2")
        .bind(db.now_text())
        .bind(session_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// How a session stands now: whether it is revoked, when it expires, whether its holder is
/// deactivated, and the holder's role and unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub revoked: bool,
    pub expires_at: String,
    pub deactivated: bool,
    pub role: Role,
    pub unit_id: Option<i64>,
}

#[derive(FromRow)]
struct StandingRow {
    revoked_at: Option<String>,
    expires_at: String,
    deactivated_at: Option<String>,
    role: String,
    unit_id: Option<i64>,
}

/// The standing of session `session_id`, if it exists.
pub async fn standing(db: &Database, session_id: i64) -> Result<Option<Standing>, StoreError> {
    let row: Option<StandingRow> = sqlx::query_as(
        "SELECT s.revoked_at, s.expires_at, st.deactivated_at, st.role, st.unit_id
         FROM sessions s JOIN staff st ON st.id = s.staff_id WHERE s.id = $1",
    )
    .bind(session_id)
    .fetch_optional(db.pool())
    .await?;
    row.map(|row| {
        Ok(Standing {
            revoked: row.revoked_at.is_some(),
            expires_at: row.expires_at,
            deactivated: row.deactivated_at.is_some(),
            role: stored_code("role", &row.role)?,
            unit_id: row.unit_id,
        })
    })
    .transpose()
}

/// Revokes one session; an already revoked one is left as it was.
pub async fn revoke(db: &Database, session_id: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(db.now_text())
        .bind(session_id)
        .execute(db.pool())
        .await?;
    db.note_registry_change();
    Ok(())
}

/// Revokes every live session of a staff member; returns how many.
pub async fn revoke_all_of(db: &Database, staff_id: i64) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE staff_id = $2 AND revoked_at IS NULL",
    )
    .bind(db.now_text())
    .bind(staff_id)
    .execute(db.pool())
    .await?;
    db.note_registry_change();
    Ok(done.rows_affected())
}

/// Orders a remote wipe of the session's device and revokes the session (a lost phone). Ordering
/// it again keeps the first order's time and author.
pub async fn request_wipe(db: &Database, session_id: i64, by: i64) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE sessions SET wipe_requested_at = COALESCE(wipe_requested_at, $1),
                wipe_requested_by = COALESCE(wipe_requested_by, $2),
                revoked_at = COALESCE(revoked_at, $1)
         WHERE id = $3",
    )
    .bind(db.now_text())
    .bind(by)
    .bind(session_id)
    .execute(db.pool())
    .await?;
    db.note_registry_change();
    Ok(())
}

/// Notes the first time the device was told to erase itself.
pub async fn wipe_told(db: &Database, session_id: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET wipe_told_at = $1 WHERE id = $2 AND wipe_told_at IS NULL")
        .bind(db.now_text())
        .bind(session_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Records the device's confirmation that it erased itself; returns the session's id, or `None`
/// when no wipe was ordered for the session of `token_hash`. A repeated confirmation keeps the
/// first one's time.
pub async fn confirm_wipe(db: &Database, token_hash: &str) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "UPDATE sessions SET wipe_confirmed_at = COALESCE(wipe_confirmed_at, $1),
                wipe_told_at = COALESCE(wipe_told_at, $1)
         WHERE token_hash = $2 AND wipe_requested_at IS NOT NULL
         RETURNING id",
    )
    .bind(db.now_text())
    .bind(token_hash)
    .fetch_optional(db.pool())
    .await?)
}

/// One session.
pub async fn get(db: &Database, session_id: i64) -> Result<Option<SessionInfo>, StoreError> {
    // The column list is this module's constant: nothing from outside enters the text.
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {INFO_COLUMNS} FROM sessions WHERE id = $1"
    )))
    .bind(session_id)
    .fetch_optional(db.pool())
    .await?)
}

/// The sessions of one staff member, newest first (at most 200).
pub async fn list_of(db: &Database, staff_id: i64) -> Result<Vec<SessionInfo>, StoreError> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {INFO_COLUMNS} FROM sessions WHERE staff_id = $1 ORDER BY id DESC LIMIT 200"
    )))
    .bind(staff_id)
    .fetch_all(db.pool())
    .await?)
}

//! Phones as head office sees them (#18): each device session with what the phone last said of
//! itself in a sync ([`huifang_protocol::DeviceReport`]) — when it last synced, what it holds
//! unsynced, which app it runs — and whether it was ordered wiped. Supervisors see whom to call
//! before a 24-hour deadline passes with the work still on a phone.

use huifang_protocol::DeviceReport;
use serde::Serialize;
use sqlx::FromRow;

use crate::db::Database;
use crate::error::StoreError;
use crate::scope::StaffScope;

/// Keeps a phone's report, replacing the last one; `settled` are the documents this same sync
/// took or refused, which are no longer unsynced on the phone (the report was made before they
/// were sent, and every one of them was pending).
pub async fn record(
    db: &Database,
    session_id: i64,
    staff_id: i64,
    report: &DeviceReport,
    settled: &[String],
) -> Result<(), StoreError> {
    let now = db.now_text();
    let pending = (i64::from(report.pending_changes) - settled.len() as i64).max(0);
    let oldest_pending_at = if pending == 0 {
        None
    } else {
        report.oldest_pending_at.as_deref()
    };
    let mut tx = db.pool().begin().await?;
    sqlx::query(
        "INSERT INTO device_reports (session_id, staff_id, reported_at, app_version, schema_version,
                                     last_synced_at, pending_changes, oldest_pending_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (session_id) DO UPDATE SET
             reported_at = excluded.reported_at, app_version = excluded.app_version,
             schema_version = excluded.schema_version, last_synced_at = excluded.last_synced_at,
             pending_changes = excluded.pending_changes,
             oldest_pending_at = excluded.oldest_pending_at",
    )
    .bind(session_id)
    .bind(staff_id)
    .bind(&now)
    .bind(&report.app_version)
    .bind(i64::from(report.schema_version))
    .bind(&report.last_synced_at)
    .bind(pending)
    .bind(oldest_pending_at)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM done_on_phones WHERE session_id = $1")
        .bind(session_id)
        .execute(&mut *tx)
        .await?;
    for done in &report.done_on_phone {
        if settled.contains(&done.follow_up_id) {
            continue;
        }
        sqlx::query(
            "INSERT INTO done_on_phones (session_id, follow_up_id, done_at) VALUES ($1, $2, $3)
             ON CONFLICT (session_id, follow_up_id) DO NOTHING",
        )
        .bind(session_id)
        .bind(&done.follow_up_id)
        .bind(&done.done_at)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A phone (a device session) and what it last reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromRow)]
pub struct Device {
    pub session_id: i64,
    pub staff_id: i64,
    pub username: String,
    pub staff_name: String,
    pub unit_id: Option<i64>,
    pub device_name: String,
    pub signed_in_at: String,
    pub last_used_at: String,
    pub revoked_at: Option<String>,
    /// When the server last heard the phone's report (its last sync), if ever.
    pub reported_at: Option<String>,
    pub app_version: Option<String>,
    pub schema_version: Option<i64>,
    /// The phone's own record of its last finished sync.
    pub last_synced_at: Option<String>,
    pub pending_changes: Option<i64>,
    pub oldest_pending_at: Option<String>,
    /// Follow-ups done on the phone, not yet synced (as of its last report).
    pub done_on_phone: i64,
    pub wipe_requested_at: Option<String>,
    pub wipe_told_at: Option<String>,
    pub wipe_confirmed_at: Option<String>,
}

/// The phones of the staff in `scope`: sessions that reported from a sync (a dashboard or script
/// session never does) or were ordered wiped — live ones, and revoked ones whose wipe is pending
/// or was confirmed in the last 30 days; most recently heard from first, at most 500.
pub async fn list(db: &Database, scope: StaffScope) -> Result<Vec<Device>, StoreError> {
    let (condition, unit) = match scope {
        StaffScope::All => ("$2 = $2", 0),
        StaffScope::UnitTree(unit) => (
            "(st.unit_id = $2 OR st.unit_id IN (SELECT id FROM units WHERE parent_id = $2))",
            unit,
        ),
        StaffScope::OnlySelf(id) => ("st.id = $2", id),
    };
    let since = huifang_protocol::format_time(db.now() - chrono::Duration::days(30));
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        // The condition is one of the three fixed texts above.
        "SELECT s.id AS session_id, st.id AS staff_id, st.username, st.name AS staff_name,
                st.unit_id, s.device_name, s.created_at AS signed_in_at, s.last_used_at,
                s.revoked_at, r.reported_at, r.app_version, r.schema_version, r.last_synced_at,
                r.pending_changes, r.oldest_pending_at,
                (SELECT COUNT(*) FROM done_on_phones d WHERE d.session_id = s.id) AS done_on_phone,
                s.wipe_requested_at, s.wipe_told_at, s.wipe_confirmed_at
         FROM sessions s
         JOIN staff st ON st.id = s.staff_id
         LEFT JOIN device_reports r ON r.session_id = s.id
         WHERE {condition}
           AND (r.session_id IS NOT NULL OR s.wipe_requested_at IS NOT NULL)
           AND (s.revoked_at IS NULL OR s.wipe_requested_at IS NOT NULL AND
                (s.wipe_confirmed_at IS NULL OR s.wipe_confirmed_at >= $1))
           AND (s.revoked_at IS NOT NULL OR s.expires_at > $1)
         ORDER BY COALESCE(r.reported_at, s.last_used_at) DESC, s.id DESC
         LIMIT 500"
    )))
    .bind(since)
    .bind(unit)
    .fetch_all(db.pool())
    .await?)
}

/// Where a follow-up was done on a phone and not yet synced: the phone's session and device
/// name, and when it was done there, newest report first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromRow)]
pub struct OnPhone {
    pub session_id: i64,
    pub device_name: String,
    pub done_at: String,
    pub reported_at: String,
    /// Done by its deadline (D-CB-2 judges it by this time once it arrives); set by the domain.
    #[sqlx(skip)]
    pub in_time: bool,
}

pub async fn on_phones(db: &Database, follow_up_id: &str) -> Result<Vec<OnPhone>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT d.session_id, s.device_name, d.done_at, r.reported_at
         FROM done_on_phones d
         JOIN sessions s ON s.id = d.session_id
         JOIN device_reports r ON r.session_id = d.session_id
         WHERE d.follow_up_id = $1
         ORDER BY r.reported_at DESC",
    )
    .bind(follow_up_id)
    .fetch_all(db.pool())
    .await?)
}

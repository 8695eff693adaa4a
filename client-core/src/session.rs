//! Who is signed in on this phone. The app obtains the token from the server and hands it over;
//! it is kept in the app's private database and never logged (`Debug` hides it).

use huifang_protocol::{Actor, Role, StaffActor};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{ClientError, Result};

/// A signed-in staff member, as the app received it from `POST /api/v1/auth/login` and
/// `GET /api/v1/auth/me`.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    pub server_url: String,
    pub token: String,
    pub staff_id: i64,
    pub username: String,
    pub name: String,
    pub role: Role,
    pub unit_id: Option<i64>,
    /// Units whose work the staff member does (their own, plus the units under it for a head).
    pub work_units: Vec<i64>,
    /// The company's time zone: "today" on the task list is the company's day.
    pub time_zone: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("server_url", &self.server_url)
            .field("token", &"<hidden>")
            .field("staff_id", &self.staff_id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("unit_id", &self.unit_id)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn check(&self) -> Result<chrono_tz::Tz> {
        if self.token.trim().is_empty() {
            return Err(ClientError::invalid("the token is empty"));
        }
        crate::http::check_server_url(&self.server_url)?;
        self.time_zone
            .parse()
            .map_err(|_| ClientError::invalid(format!("unknown time zone {:?}", self.time_zone)))
    }

    /// The staff member as the document permission rules see them.
    pub(crate) fn actor(&self) -> Actor {
        Actor::Staff(StaffActor {
            staff_id: self.staff_id,
            role: self.role,
            units: self.work_units.clone(),
        })
    }

    pub(crate) fn time_zone(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }
}

pub(crate) fn save(conn: &Connection, session: &Session, now: &str) -> Result<()> {
    let units = serde_json::to_string(&session.work_units)
        .map_err(|e| ClientError::invalid(e.to_string()))?;
    conn.execute(
        "INSERT INTO session (id, server_url, token, staff_id, username, name, role, unit_id, work_units,
            time_zone, signed_in_at)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (id) DO UPDATE SET server_url = excluded.server_url, token = excluded.token,
            staff_id = excluded.staff_id, username = excluded.username, name = excluded.name,
            role = excluded.role, unit_id = excluded.unit_id, work_units = excluded.work_units,
            time_zone = excluded.time_zone, signed_in_at = excluded.signed_in_at",
        params![
            session.server_url,
            session.token,
            session.staff_id,
            session.username,
            session.name,
            session.role.to_string(),
            session.unit_id,
            units,
            session.time_zone,
            now
        ],
    )?;
    Ok(())
}

pub(crate) fn load(conn: &Connection) -> Result<Option<Session>> {
    let row = conn
        .query_row(
            "SELECT server_url, token, staff_id, username, name, role, unit_id, work_units, time_zone FROM session WHERE id = 1",
            [],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, String>(5)?,
                    row.get::<_, Option<i64>>(6)?,
                    row.get::<_, String>(7)?,
                    row.get::<_, String>(8)?,
                ))
            },
        )
        .optional()?;
    let Some((server_url, token, staff_id, username, name, role, unit_id, units, time_zone)) = row
    else {
        return Ok(None);
    };
    let corrupt = |e: String| ClientError::Corrupt {
        reason: format!("session: {e}"),
    };
    Ok(Some(Session {
        server_url,
        token,
        staff_id,
        username,
        name,
        role: role
            .parse()
            .map_err(|e: huifang_protocol::UnknownValue| corrupt(e.to_string()))?,
        unit_id,
        work_units: serde_json::from_str(&units).map_err(|e| corrupt(e.to_string()))?,
        time_zone,
    }))
}

/// The signed-in session, or [`ClientError::NotSignedIn`].
pub(crate) fn require(conn: &Connection) -> Result<Session> {
    load(conn)?.ok_or(ClientError::NotSignedIn)
}

/// What `GET /api/v1/auth/me` says of the signed-in staff member.
#[derive(serde::Deserialize)]
pub(crate) struct MeAnswer {
    pub(crate) staff: huifang_protocol::StaffMember,
    pub(crate) work_units: Vec<i64>,
    pub(crate) time_zone: String,
}

#[derive(serde::Deserialize)]
pub(crate) struct LoginAnswer {
    pub(crate) token: String,
}

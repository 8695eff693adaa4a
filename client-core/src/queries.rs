//! The field app's screens as queries over the local projections and reference rows.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use huifang_protocol::format_time;
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::error::{ClientError, Result};
use crate::session::Session;

/// A follow-up to do, with where to go and whom to call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Task {
    pub follow_up_id: String,
    pub kind: String,
    pub status: String,
    /// The rule that assigned it (R-INF-2 …).
    pub rule: String,
    pub customer_name: String,
    pub contact_phone: String,
    pub household_id: Option<i64>,
    pub community_name: Option<String>,
    pub building_name: Option<String>,
    pub room: Option<String>,
    pub address: Option<String>,
    /// The deadline as sent (UTC, RFC 3339).
    pub due_at: String,
    /// The deadline as the staff member reads it: the company's local time, `YYYY-MM-DD HH:MM`.
    pub due_local: String,
    pub overdue: bool,
    pub sheet_id: Option<String>,
    pub sheet_number: Option<String>,
    pub summary: Option<String>,
}

/// The open tasks of one building, for planning a round of door-to-door visits.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct BuildingTasks {
    pub community_name: String,
    pub building_name: String,
    pub tasks: Vec<Task>,
}

/// A sheet as lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SheetRow {
    pub id: String,
    pub number: Option<String>,
    pub status: String,
    pub level: String,
    pub category: String,
    pub customer_name: String,
    pub contact_phone: String,
    pub customer_address: String,
    pub summary: String,
    pub accepted_at: String,
}

/// Everything about one household: its follow-up file (R-RTN-1).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct HouseholdHistory {
    pub household_id: i64,
    pub address: String,
    pub customers: Vec<CustomerContact>,
    pub sheets: Vec<SheetRow>,
    pub follow_ups: Vec<Task>,
}

/// A customer of a household, to call or visit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CustomerContact {
    pub name: String,
    pub phone: String,
}

/// A household found by a search.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct HouseholdHit {
    pub household_id: i64,
    pub address: String,
    /// The customers' names, joined with 、.
    pub customer_names: String,
}

/// Search hits.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SearchResults {
    pub households: Vec<HouseholdHit>,
    pub sheets: Vec<SheetRow>,
}

/// Numbers for the app's badges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct BadgeCounts {
    /// Open tasks due today or earlier (overdue included).
    pub due_today: u32,
    pub overdue: u32,
    /// Local changes not yet acknowledged by the server.
    pub unsynced: u32,
}

const TASK_SELECT: &str = "SELECT f.id, f.kind, f.status, f.rule, f.customer_name, f.contact_phone, f.household_id,
        h.community_name, h.building_name, h.room, h.address, f.due_at, f.overdue_at, f.sheet_id, s.number, s.summary
    FROM follow_ups f
    LEFT JOIN households h ON h.id = f.household_id
    LEFT JOIN sheets s ON s.id = f.sheet_id";

/// Follow-ups of the signed-in staff member: theirs, or their units' without a named person.
fn mine(session: &Session) -> String {
    let units: Vec<String> = session.work_units.iter().map(i64::to_string).collect();
    let units = if units.is_empty() {
        "NULL".to_owned()
    } else {
        units.join(",")
    };
    format!(
        "(f.assignee_staff_id = {} OR (f.assignee_staff_id IS NULL AND f.assignee_unit_id IN ({units})))
         AND f.status IN ('open', 'unreachable')",
        session.staff_id
    )
}

/// The company's time zone, from the session (Shanghai before anyone signed in).
fn company_zone(conn: &Connection) -> Result<chrono_tz::Tz> {
    Ok(crate::session::load(conn)?.map_or(chrono_tz::Asia::Shanghai, |s| s.time_zone()))
}

fn task(row: &Row<'_>, now: &str, tz: chrono_tz::Tz) -> rusqlite::Result<Task> {
    let due_at: String = row.get(11)?;
    let overdue_at: Option<String> = row.get(12)?;
    Ok(Task {
        follow_up_id: row.get(0)?,
        kind: row.get(1)?,
        status: row.get(2)?,
        rule: row.get(3)?,
        customer_name: row.get(4)?,
        contact_phone: row.get(5)?,
        household_id: row.get(6)?,
        community_name: row.get(7)?,
        building_name: row.get(8)?,
        room: row.get(9)?,
        address: row.get(10)?,
        overdue: overdue_at.is_some() || due_at.as_str() < now,
        due_local: huifang_protocol::local_time_of(&due_at, &tz),
        due_at,
        sheet_id: row.get(13)?,
        sheet_number: row.get(14)?,
        summary: row.get(15)?,
    })
}

/// The end of the company's day containing `now`, as stored text.
fn end_of_day(session: &Session, now: DateTime<Utc>) -> String {
    let tz = session.time_zone();
    let local = now.with_timezone(&tz).date_naive();
    let midnight = (local + Duration::days(1))
        .and_time(NaiveTime::MIN)
        .and_local_timezone(tz)
        .earliest()
        .map_or(now + Duration::days(1), |t| t.with_timezone(&Utc));
    format_time(midnight)
}

/// Today's and overdue tasks, soonest due first.
pub(crate) fn tasks_due(
    conn: &Connection,
    session: &Session,
    now: DateTime<Utc>,
) -> Result<Vec<Task>> {
    let now_text = format_time(now);
    let sql = format!(
        "{TASK_SELECT} WHERE {} AND f.due_at < ?1 ORDER BY f.due_at, f.id",
        mine(session)
    );
    let mut stmt = conn.prepare(&sql)?;
    let tz = session.time_zone();
    let rows = stmt.query_map([end_of_day(session, now)], |row| task(row, &now_text, tz))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// All open tasks grouped by community and building, rooms in order.
pub(crate) fn tasks_by_building(
    conn: &Connection,
    session: &Session,
    now: DateTime<Utc>,
) -> Result<Vec<BuildingTasks>> {
    let now_text = format_time(now);
    let sql = format!(
        "{TASK_SELECT} WHERE {} ORDER BY h.community_name, h.building_name, h.room, f.due_at",
        mine(session)
    );
    let mut stmt = conn.prepare(&sql)?;
    let tz = session.time_zone();
    let tasks = stmt
        .query_map([], |row| task(row, &now_text, tz))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut groups: Vec<BuildingTasks> = Vec::new();
    for task in tasks {
        let community = task.community_name.clone().unwrap_or_default();
        let building = task.building_name.clone().unwrap_or_default();
        match groups.last_mut() {
            Some(group) if group.community_name == community && group.building_name == building => {
                group.tasks.push(task)
            }
            _ => groups.push(BuildingTasks {
                community_name: community,
                building_name: building,
                tasks: vec![task],
            }),
        }
    }
    Ok(groups)
}

fn sheet_row(row: &Row<'_>) -> rusqlite::Result<SheetRow> {
    Ok(SheetRow {
        id: row.get(0)?,
        number: row.get(1)?,
        status: row.get(2)?,
        level: row.get(3)?,
        category: row.get(4)?,
        customer_name: row.get(5)?,
        contact_phone: row.get(6)?,
        customer_address: row.get(7)?,
        summary: row.get(8)?,
        accepted_at: row.get(9)?,
    })
}

const SHEET_SELECT: &str =
    "SELECT id, number, status, level, category, customer_name, contact_phone,
    customer_address, summary, accepted_at FROM sheets";

/// One household's sheets and follow-ups, newest first.
/// One follow-up as the task list shows it (after the app changed it, say).
pub(crate) fn task_by_id(conn: &Connection, id: &str, now: DateTime<Utc>) -> Result<Task> {
    let now_text = format_time(now);
    let tz = company_zone(conn)?;
    conn.query_row(&format!("{TASK_SELECT} WHERE f.id = ?1"), [id], |row| {
        task(row, &now_text, tz)
    })
    .optional()?
    .ok_or_else(|| ClientError::not_found(format!("follow-up {id}")))
}

/// One sheet as lists show it.
pub(crate) fn sheet_row_by_id(conn: &Connection, id: &str) -> Result<SheetRow> {
    conn.query_row(&format!("{SHEET_SELECT} WHERE id = ?1"), [id], sheet_row)
        .optional()?
        .ok_or_else(|| ClientError::not_found(format!("sheet {id}")))
}

pub(crate) fn household_history(
    conn: &Connection,
    household_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<HouseholdHistory>> {
    let address: Option<String> = rusqlite::OptionalExtension::optional(conn.query_row(
        "SELECT address FROM households WHERE id = ?1",
        [household_id],
        |r| r.get(0),
    ))?;
    let Some(address) = address else {
        return Ok(None);
    };
    let mut stmt =
        conn.prepare("SELECT name, phone FROM customers WHERE household_id = ?1 ORDER BY id")?;
    let customers = stmt
        .query_map([household_id], |r| {
            Ok(CustomerContact {
                name: r.get(0)?,
                phone: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = conn.prepare(&format!(
        "{SHEET_SELECT} WHERE household_id = ?1 ORDER BY accepted_at DESC, id"
    ))?;
    let sheets = stmt
        .query_map([household_id], sheet_row)?
        .collect::<rusqlite::Result<_>>()?;
    let now_text = format_time(now);
    let tz = company_zone(conn)?;
    let mut stmt = conn.prepare(&format!(
        "{TASK_SELECT} WHERE f.household_id = ?1 ORDER BY f.created_at DESC, f.id"
    ))?;
    let follow_ups = stmt
        .query_map([household_id], |row| task(row, &now_text, tz))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(HouseholdHistory {
        household_id,
        address,
        customers,
        sheets,
        follow_ups,
    }))
}

fn like(text: &str) -> String {
    let mut pattern = String::from("%");
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

/// Households and sheets matching a name, phone, address or sheet number.
pub(crate) fn search(conn: &Connection, text: &str) -> Result<SearchResults> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(SearchResults::default());
    }
    let pattern = like(text);
    let mut stmt = conn.prepare(
        "SELECT h.id, h.address, COALESCE((SELECT group_concat(name, '、') FROM customers c WHERE c.household_id = h.id), '')
         FROM households h
         WHERE h.address LIKE ?1 ESCAPE '\\' OR h.room LIKE ?1 ESCAPE '\\'
            OR h.id IN (SELECT household_id FROM customers WHERE name LIKE ?1 ESCAPE '\\' OR phone LIKE ?1 ESCAPE '\\')
         ORDER BY h.community_name, h.building_name, h.room LIMIT 50",
    )?;
    let households = stmt
        .query_map([&pattern], |r| {
            Ok(HouseholdHit {
                household_id: r.get(0)?,
                address: r.get(1)?,
                customer_names: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = conn.prepare(&format!(
        "{SHEET_SELECT} WHERE number LIKE ?1 ESCAPE '\\' OR customer_name LIKE ?1 ESCAPE '\\'
            OR contact_phone LIKE ?1 ESCAPE '\\' OR customer_address LIKE ?1 ESCAPE '\\' OR summary LIKE ?1 ESCAPE '\\'
         ORDER BY accepted_at DESC LIMIT 50"
    ))?;
    let sheets = stmt
        .query_map([&pattern], sheet_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(SearchResults { households, sheets })
}

pub(crate) fn badges(
    conn: &Connection,
    session: &Session,
    now: DateTime<Utc>,
) -> Result<BadgeCounts> {
    let sql = format!(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN f.overdue_at IS NOT NULL OR f.due_at < ?2 THEN 1 ELSE 0 END), 0)
         FROM follow_ups f WHERE {} AND f.due_at < ?1",
        mine(session)
    );
    let (due_today, overdue): (u32, u32) = conn.query_row(
        &sql,
        params![end_of_day(session, now), format_time(now)],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let unsynced: u32 = conn.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))?;
    Ok(BadgeCounts {
        due_today,
        overdue,
        unsynced,
    })
}

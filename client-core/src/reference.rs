//! Reference rows from the server: the units, staff and households (with customers) of the
//! signed-in staff member's scope, and the opinion survey forms taking answers. Read-only on the
//! phone; replaced wholesale by each delivery.

use huifang_protocol::{Household, StaffMember, SurveyFormRow, Unit};
use rusqlite::{Transaction, params};

use crate::error::{ClientError, Result};

/// What the server sends for the phone to look things up offline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReferenceData {
    pub units: Vec<Unit>,
    pub staff: Vec<StaffMember>,
    pub households: Vec<Household>,
    pub survey_forms: Vec<SurveyFormRow>,
}

/// Replaces the reference rows with `data`, in one transaction.
pub(crate) fn replace(tx: &Transaction<'_>, data: &ReferenceData) -> Result<()> {
    for table in ["units", "staff", "customers", "households", "survey_forms"] {
        tx.execute(&format!("DELETE FROM {table}"), [])?;
    }
    let mut form =
        tx.prepare("INSERT INTO survey_forms (id, approved_sha256, content) VALUES (?1, ?2, ?3)")?;
    for f in &data.survey_forms {
        let content = serde_json::to_string(&f.content)
            .map_err(|e| ClientError::invalid(format!("survey form {}: {e}", f.id)))?;
        form.execute(params![f.id, f.approved_sha256, content])?;
    }
    let mut unit = tx.prepare("INSERT INTO units (id, code, name, kind, parent_id, community_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
    for u in &data.units {
        unit.execute(params![
            u.id,
            u.code,
            u.name,
            u.kind.to_string(),
            u.parent_id,
            u.community_id
        ])?;
    }
    let mut staff = tx.prepare(
        "INSERT INTO staff (id, username, name, role, unit_id) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for s in &data.staff {
        staff.execute(params![
            s.id,
            s.username,
            s.name,
            s.role.to_string(),
            s.unit_id
        ])?;
    }
    let mut household = tx.prepare(
        "INSERT INTO households (id, community_id, community_name, building_id, building_name, room, address)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut customer = tx.prepare("INSERT INTO customers (id, household_id, name, phone, consultant_id) VALUES (?1, ?2, ?3, ?4, ?5)")?;
    for h in &data.households {
        household.execute(params![
            h.id,
            h.community_id,
            h.community_name,
            h.building_id,
            h.building_name,
            h.room,
            h.address
        ])?;
        for c in &h.customers {
            customer.execute(params![
                c.id,
                c.household_id,
                c.name,
                c.phone,
                c.consultant_id
            ])?;
        }
    }
    Ok(())
}

/// The survey forms this phone holds (those taking answers when it last synced).
pub(crate) fn survey_forms(conn: &rusqlite::Connection) -> Result<Vec<SurveyFormRow>> {
    read_forms(
        conn,
        "SELECT id, approved_sha256, content FROM survey_forms",
        [],
    )
}

/// Survey form `id`, if this phone holds it.
pub(crate) fn survey_form(conn: &rusqlite::Connection, id: i64) -> Result<Option<SurveyFormRow>> {
    Ok(read_forms(
        conn,
        "SELECT id, approved_sha256, content FROM survey_forms WHERE id = ?1",
        [id],
    )?
    .pop())
}

fn read_forms(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<SurveyFormRow>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut forms = Vec::new();
    for row in rows {
        let (id, approved_sha256, content) = row?;
        forms.push(SurveyFormRow {
            id,
            approved_sha256,
            content: serde_json::from_str(&content).map_err(|e| ClientError::Corrupt {
                reason: format!("stored survey form {id}: {e}"),
            })?,
        });
    }
    Ok(forms)
}

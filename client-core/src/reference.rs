//! Reference rows from the server: the units, staff and households (with customers) of the
//! signed-in staff member's scope. Read-only on the phone; replaced wholesale by each delivery.

use huifang_protocol::{Household, StaffMember, Unit};
use rusqlite::{Transaction, params};

use crate::error::Result;

/// What the server sends for the phone to look things up offline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReferenceData {
    pub units: Vec<Unit>,
    pub staff: Vec<StaffMember>,
    pub households: Vec<Household>,
}

/// Replaces the reference rows with `data`, in one transaction.
pub(crate) fn replace(tx: &Transaction<'_>, data: &ReferenceData) -> Result<()> {
    for table in ["units", "staff", "customers", "households"] {
        tx.execute(&format!("DELETE FROM {table}"), [])?;
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

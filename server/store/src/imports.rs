//! The registry rows an import upserts (units, staff, communities, buildings, households,
//! customers and who owns them), each in the import's one transaction so a refused or dry run
//! leaves nothing. Reading the file and checking its rows are the domain's.

use huifang_protocol::{Labelled, Role, Unit};
use sqlx::FromRow;

use crate::db::{Database, Tx, stored_code};
use crate::error::StoreError;

/// Ends an import: commits it, or rolls a dry run back.
pub async fn finish(db: &Database, tx: Tx, dry_run: bool) -> Result<(), StoreError> {
    if dry_run {
        crate::db::rollback(tx).await
    } else {
        crate::db::commit(tx).await?;
        db.note_registry_change();
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Communities and buildings

/// The community named `name`: id and address.
pub async fn community(tx: &mut Tx, name: &str) -> Result<Option<(i64, String)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT id, address FROM communities WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut **tx)
            .await?,
    )
}

/// Adds a community; returns its id.
pub async fn insert_community(
    tx: &mut Tx,
    name: &str,
    address: &str,
    now: &str,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO communities (name, address, created_at, updated_at)
         VALUES ($1, $2, $3, $3) RETURNING id",
    )
    .bind(name)
    .bind(address)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?)
}

/// Changes a community's address.
pub async fn set_community_address(
    tx: &mut Tx,
    id: i64,
    address: &str,
    now: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE communities SET address = $1, updated_at = $2 WHERE id = $3")
        .bind(address)
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The building `name` of a community, adding it if missing; returns its id.
pub async fn building(
    tx: &mut Tx,
    community_id: i64,
    name: &str,
    now: &str,
) -> Result<i64, StoreError> {
    let existing: Option<i64> =
        sqlx::query_scalar("SELECT id FROM buildings WHERE community_id = $1 AND name = $2")
            .bind(community_id)
            .bind(name)
            .fetch_optional(&mut **tx)
            .await?;
    if let Some(id) = existing {
        return Ok(id);
    }
    Ok(sqlx::query_scalar(
        "INSERT INTO buildings (community_id, name, created_at, updated_at)
         VALUES ($1, $2, $3, $3) RETURNING id",
    )
    .bind(community_id)
    .bind(name)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?)
}

// ---------------------------------------------------------------------------------------------
// Households and customers

/// What a community holds, to match an import's rows against.
#[derive(Debug, Clone, Default)]
pub struct CommunityContents {
    /// id, building, room, address.
    pub households: Vec<(i64, i64, String, String)>,
    /// id, household, name, phone, owning consultant.
    pub customers: Vec<(i64, i64, String, String, Option<i64>)>,
}

/// The households and customers (with their consultants) of a community.
pub async fn community_contents(
    tx: &mut Tx,
    community_id: i64,
) -> Result<CommunityContents, StoreError> {
    let households = sqlx::query_as(
        "SELECT id, building_id, room, address FROM households WHERE community_id = $1",
    )
    .bind(community_id)
    .fetch_all(&mut **tx)
    .await?;
    let customers = sqlx::query_as(
        "SELECT cu.id, cu.household_id, cu.name, cu.phone, cc.consultant_id
         FROM customers cu
         JOIN households h ON h.id = cu.household_id
         LEFT JOIN consultant_customers cc ON cc.customer_id = cu.id
         WHERE h.community_id = $1",
    )
    .bind(community_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(CommunityContents {
        households,
        customers,
    })
}

/// Dates every household's registration `at` (the demo's, so routine sampling treats them as
/// registered long ago).
pub async fn backdate_households(db: &Database, at: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE households SET created_at = $1")
        .bind(at)
        .execute(db.pool())
        .await?;
    db.note_registry_change();
    Ok(())
}

/// Adds a household; returns its id.
pub async fn insert_household(
    tx: &mut Tx,
    community_id: i64,
    building_id: i64,
    room: &str,
    address: &str,
    now: &str,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO households (community_id, building_id, room, address, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(community_id)
    .bind(building_id)
    .bind(room)
    .bind(address)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?)
}

/// Changes a household's address.
pub async fn set_household_address(
    tx: &mut Tx,
    id: i64,
    address: &str,
    now: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE households SET address = $1, updated_at = $2 WHERE id = $3")
        .bind(address)
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Adds a customer to a household; returns their id.
pub async fn insert_customer(
    tx: &mut Tx,
    household_id: i64,
    name: &str,
    phone: &str,
    now: &str,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO customers (household_id, name, phone, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(household_id)
    .bind(name)
    .bind(phone)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?)
}

/// Changes a customer's phone.
pub async fn set_customer_phone(
    tx: &mut Tx,
    id: i64,
    phone: &str,
    now: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE customers SET phone = $1, updated_at = $2 WHERE id = $3")
        .bind(phone)
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Makes `consultant_id` the consultant who owns a customer (R-RTN-1).
pub async fn set_owner(
    tx: &mut Tx,
    customer_id: i64,
    consultant_id: i64,
    now: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO consultant_customers (customer_id, consultant_id, created_at)
         VALUES ($1, $2, $3)
         ON CONFLICT (customer_id) DO UPDATE SET consultant_id = excluded.consultant_id,
             created_at = excluded.created_at",
    )
    .bind(customer_id)
    .bind(consultant_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Units

/// Every unit.
pub async fn units(tx: &mut Tx) -> Result<Vec<Unit>, StoreError> {
    let rows: Vec<crate::registry::UnitRow> =
        sqlx::query_as("SELECT id, code, name, kind, parent_id, community_id FROM units")
            .fetch_all(&mut **tx)
            .await?;
    rows.into_iter().map(Unit::try_from).collect()
}

/// Writes unit `unit` (its `id` ignored): updates the unit `id` when given, else adds it.
/// Returns its id.
pub async fn put_unit(
    tx: &mut Tx,
    id: Option<i64>,
    unit: &Unit,
    now: &str,
) -> Result<i64, StoreError> {
    match id {
        Some(id) => {
            sqlx::query(
                "UPDATE units SET name = $1, kind = $2, parent_id = $3, community_id = $4, updated_at = $5
                 WHERE id = $6",
            )
            .bind(&unit.name)
            .bind(unit.kind.code())
            .bind(unit.parent_id)
            .bind(unit.community_id)
            .bind(now)
            .bind(id)
            .execute(&mut **tx)
            .await?;
            Ok(id)
        }
        None => Ok(sqlx::query_scalar(
            "INSERT INTO units (code, name, kind, parent_id, community_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(&unit.code)
        .bind(&unit.name)
        .bind(unit.kind.code())
        .bind(unit.parent_id)
        .bind(unit.community_id)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?),
    }
}

// ---------------------------------------------------------------------------------------------
// Staff

/// A staff member as stored, matched by username during an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredStaff {
    pub id: i64,
    pub name: String,
    pub phone: Option<String>,
    pub role: Role,
    pub unit_id: Option<i64>,
    pub has_password: bool,
}

#[derive(FromRow)]
struct StaffRow {
    id: i64,
    name: String,
    phone: Option<String>,
    role: String,
    unit_id: Option<i64>,
    password_hash: Option<String>,
}

/// The staff member with `username`.
pub async fn staff(tx: &mut Tx, username: &str) -> Result<Option<StoredStaff>, StoreError> {
    let row: Option<StaffRow> = sqlx::query_as(
        "SELECT id, name, phone, role, unit_id, password_hash FROM staff WHERE username = $1",
    )
    .bind(username)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|row| {
        Ok(StoredStaff {
            id: row.id,
            name: row.name,
            phone: row.phone,
            role: stored_code("role", &row.role)?,
            unit_id: row.unit_id,
            has_password: row.password_hash.is_some(),
        })
    })
    .transpose()
}

/// A staff member's details as an import sets them.
#[derive(Debug, Clone)]
pub struct StaffDetails<'a> {
    pub name: &'a str,
    pub phone: Option<&'a str>,
    pub role: Role,
    pub unit_id: Option<i64>,
}

/// Adds a staff member, with a password hash when one was given.
pub async fn insert_staff(
    tx: &mut Tx,
    username: &str,
    details: &StaffDetails<'_>,
    password_hash: Option<String>,
    now: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO staff (username, name, phone, role, unit_id, password_hash, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(username)
    .bind(details.name)
    .bind(details.phone)
    .bind(details.role.code())
    .bind(details.unit_id)
    .bind(password_hash)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Changes a staff member's details.
pub async fn update_staff(
    tx: &mut Tx,
    id: i64,
    details: &StaffDetails<'_>,
    now: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE staff SET name = $1, phone = $2, role = $3, unit_id = $4, updated_at = $5
         WHERE id = $6",
    )
    .bind(details.name)
    .bind(details.phone)
    .bind(details.role.code())
    .bind(details.unit_id)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Sets the first password of a staff member who had none.
pub async fn set_first_password(
    tx: &mut Tx,
    id: i64,
    password_hash: String,
    now: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE staff SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(password_hash)
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

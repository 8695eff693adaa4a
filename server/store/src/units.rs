//! The units and people around a sheet, as the rules engine reads them (D-INF-3, R-ORG-2):
//! a unit with its head, the first unit of a kind, the consultant of a customer; and units as
//! reports name them.

use huifang_protocol::{Labelled, Role, UnitKind};

use sqlx::AssertSqlSafe;

use crate::db::{AnyConnection, Database, stored_code};
use crate::error::StoreError;

/// A unit with its head (who is told, R-ORG-2), if it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitWithHead {
    pub id: i64,
    pub head: Option<i64>,
}

/// The first active unit head of `unit`.
async fn head_of(tx: &mut AnyConnection, unit: i64) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM staff WHERE unit_id = $1 AND role = $2 AND deactivated_at IS NULL
         ORDER BY id LIMIT 1",
    )
    .bind(unit)
    .bind(Role::UnitHead.code())
    .fetch_optional(&mut *tx)
    .await?)
}

/// Unit `id` with its kind and head; `None` if there is no such unit.
pub async fn unit(
    tx: &mut AnyConnection,
    id: i64,
) -> Result<Option<(UnitWithHead, UnitKind)>, StoreError> {
    let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM units WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(kind) = kind else {
        return Ok(None);
    };
    let kind: UnitKind = stored_code("unit kind", &kind)?;
    let head = head_of(tx, id).await?;
    Ok(Some((UnitWithHead { id, head }, kind)))
}

/// The first unit of `kind` (within `community`, when given), with its head.
pub async fn first_of_kind(
    tx: &mut AnyConnection,
    kind: UnitKind,
    community: Option<i64>,
) -> Result<Option<UnitWithHead>, StoreError> {
    let id: Option<i64> =
        match community {
            Some(community) => sqlx::query_scalar(
                "SELECT id FROM units WHERE kind = $1 AND community_id = $2 ORDER BY id LIMIT 1",
            )
            .bind(kind.code())
            .bind(community)
            .fetch_optional(&mut *tx)
            .await?,
            None => {
                sqlx::query_scalar("SELECT id FROM units WHERE kind = $1 ORDER BY id LIMIT 1")
                    .bind(kind.code())
                    .fetch_optional(&mut *tx)
                    .await?
            }
        };
    match id {
        Some(id) => Ok(Some(UnitWithHead {
            id,
            head: head_of(tx, id).await?,
        })),
        None => Ok(None),
    }
}

/// The community a household belongs to.
pub async fn community_of_household(
    tx: &mut AnyConnection,
    household: i64,
) -> Result<Option<i64>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT community_id FROM households WHERE id = $1")
            .bind(household)
            .fetch_optional(&mut *tx)
            .await?,
    )
}

/// The active consultant (staff id, unit id) of a customer, or of the first customer of a
/// household with one (R-INF-7).
pub async fn consultant_of(
    tx: &mut AnyConnection,
    customer: Option<i64>,
    household: Option<i64>,
) -> Result<Option<(i64, i64)>, StoreError> {
    Ok(match (customer, household) {
        (Some(customer), _) => {
            sqlx::query_as(
                "SELECT st.id, st.unit_id FROM consultant_customers cc JOIN staff st ON st.id = cc.consultant_id
                 WHERE cc.customer_id = $1 AND st.deactivated_at IS NULL AND st.unit_id IS NOT NULL",
            )
            .bind(customer)
            .fetch_optional(&mut *tx)
            .await?
        }
        (None, Some(household)) => {
            sqlx::query_as(
                "SELECT st.id, st.unit_id FROM consultant_customers cc
                 JOIN customers cu ON cu.id = cc.customer_id
                 JOIN staff st ON st.id = cc.consultant_id
                 WHERE cu.household_id = $1 AND st.deactivated_at IS NULL AND st.unit_id IS NOT NULL
                 ORDER BY cu.id LIMIT 1",
            )
            .bind(household)
            .fetch_optional(&mut *tx)
            .await?
        }
        (None, None) => None,
    })
}

/// A unit as a report names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitName {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
}

/// Units by code (`top_only`: those without a parent, which report to head office). A unit whose
/// stored kind no release knows is left out of reports.
pub async fn names(db: &Database, top_only: bool) -> Result<Vec<UnitName>, StoreError> {
    let filter = if top_only {
        "WHERE parent_id IS NULL"
    } else {
        ""
    };
    let rows: Vec<(i64, String, String, String)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT id, code, name, kind FROM units {filter} ORDER BY code"
    )))
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, code, name, kind)| {
            let kind = UnitKind::parse_code_or_label(&kind).ok()?;
            Some(UnitName {
                id,
                code,
                name,
                kind,
            })
        })
        .collect())
}

/// Every unit with its parent, and the active unit heads and general managers (id, unit, role):
/// the line of heads above every unit, read in one go.
pub async fn heads_and_parents(
    conn: &mut sqlx::AnyConnection,
) -> Result<(Vec<(i64, Option<i64>)>, Vec<(i64, Option<i64>, Role)>), StoreError> {
    let units = sqlx::query_as("SELECT id, parent_id FROM units")
        .fetch_all(&mut *conn)
        .await?;
    let people: Vec<(i64, Option<i64>, String)> = sqlx::query_as(
        "SELECT id, unit_id, role FROM staff
         WHERE role IN ($1, $2) AND deactivated_at IS NULL ORDER BY id",
    )
    .bind(Role::UnitHead.code())
    .bind(Role::GeneralManager.code())
    .fetch_all(&mut *conn)
    .await?;
    let people = people
        .into_iter()
        .map(|(id, unit, role)| Ok((id, unit, stored_code("role", &role)?)))
        .collect::<Result<_, StoreError>>()?;
    Ok((units, people))
}

/// Whether unit `id` exists (in a write's transaction).
pub async fn exists(tx: &mut AnyConnection, id: i64) -> Result<bool, StoreError> {
    let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM units WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    Ok(found > 0)
}

/// The unit of an active staff member: `None` when they do not exist or are inactive, `Some(None)`
/// when they have no unit.
pub async fn of_active_staff(
    tx: &mut AnyConnection,
    staff: i64,
) -> Result<Option<Option<i64>>, StoreError> {
    let found: Option<(Option<i64>, Option<String>)> =
        sqlx::query_as("SELECT unit_id, deactivated_at FROM staff WHERE id = $1")
            .bind(staff)
            .fetch_optional(&mut *tx)
            .await?;
    Ok(match found {
        Some((unit, None)) => Some(unit),
        _ => None,
    })
}

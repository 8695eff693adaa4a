//! Registry queries. Every list takes the caller's scope, so scoping cannot be forgotten.

use std::collections::HashMap;

use huifang_protocol::{
    Building, Community, Customer, Household, Page, PhoneNumber, Role, StaffMember, Unit, UnitKind,
    mask_phone,
};
use sqlx::{AssertSqlSafe, FromRow};

use crate::db::{self, AnyConnection, Conditions, Database, SqlArg, contains_pattern};
use crate::error::StoreError;
use crate::scope::{HouseholdScope, StaffScope};

/// Reads and the few direct writes of the registry.
#[derive(Clone)]
pub struct RegistryStore {
    db: Database,
}

/// What a list page asks for, already checked against the limits.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: u32,
    pub offset: u64,
}

#[derive(Debug, Default, Clone)]
pub struct HouseholdFilter {
    pub community_id: Option<i64>,
    pub building_id: Option<i64>,
    pub consultant_id: Option<i64>,
    /// Matches room, address, customer name or phone.
    pub text: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub struct StaffFilter {
    pub unit_id: Option<i64>,
    pub role: Option<Role>,
    pub text: Option<String>,
    pub include_inactive: bool,
}

/// What sign-in needs to know about an account.
#[derive(Debug, Clone)]
pub struct StaffLogin {
    pub id: i64,
    pub password_hash: Option<String>,
    pub active: bool,
}

/// A staff account to create.
#[derive(Debug, Clone)]
pub struct NewStaff {
    pub username: String,
    pub name: String,
    pub phone: Option<PhoneNumber>,
    pub role: Role,
    pub unit_id: Option<i64>,
    pub password_hash: Option<String>,
}

/// A unit as its columns hold it (`Unit::try_from` reads the kind).
#[derive(FromRow)]
pub(crate) struct UnitRow {
    id: i64,
    code: String,
    name: String,
    kind: String,
    parent_id: Option<i64>,
    community_id: Option<i64>,
}

#[derive(FromRow)]
struct StaffRow {
    id: i64,
    username: String,
    name: String,
    phone: Option<String>,
    role: String,
    unit_id: Option<i64>,
    deactivated_at: Option<String>,
}

#[derive(FromRow)]
struct HouseholdRow {
    id: i64,
    community_id: i64,
    community_name: String,
    building_id: i64,
    building_name: String,
    room: String,
    address: String,
}

#[derive(FromRow)]
struct CustomerRow {
    id: i64,
    household_id: i64,
    name: String,
    phone: String,
    consultant_id: Option<i64>,
}

impl TryFrom<UnitRow> for Unit {
    type Error = StoreError;
    fn try_from(row: UnitRow) -> Result<Self, StoreError> {
        Ok(Unit {
            id: row.id,
            kind: db::stored_code::<UnitKind>("unit kind", &row.kind)?,
            code: row.code,
            name: row.name,
            parent_id: row.parent_id,
            community_id: row.community_id,
        })
    }
}

impl TryFrom<StaffRow> for StaffMember {
    type Error = StoreError;
    fn try_from(row: StaffRow) -> Result<Self, StoreError> {
        Ok(StaffMember {
            id: row.id,
            role: db::stored_code::<Role>("role", &row.role)?,
            username: row.username,
            name: row.name,
            phone: row.phone,
            unit_id: row.unit_id,
            active: row.deactivated_at.is_none(),
        })
    }
}

const UNIT_COLUMNS: &str = "id, code, name, kind, parent_id, community_id";
const STAFF_COLUMNS: &str = "id, username, name, phone, role, unit_id, deactivated_at";
/// Households with a customer owned by the consultant bound to `?`.
const OWNED_BY_CONSULTANT: &str = "h.id IN (SELECT cu.household_id FROM customers cu
    JOIN consultant_customers cc ON cc.customer_id = cu.id WHERE cc.consultant_id = ?)";
/// Limits households `h` to those `scope` lets the caller see.
fn add_household_scope(conditions: &mut Conditions, scope: HouseholdScope) {
    match scope {
        HouseholdScope::All => {}
        HouseholdScope::Community(id) => {
            conditions.add("h.community_id = ?", [SqlArg::Int(id)]);
        }
        HouseholdScope::ConsultantCustomers(staff) => {
            conditions.add(OWNED_BY_CONSULTANT, [SqlArg::Int(staff)]);
        }
        HouseholdScope::Nothing => {
            conditions.add("1 = 0", []);
        }
    }
}

/// Whether household `id` exists and `scope` lets the caller see it (in a write's transaction:
/// the review of a change reads it there).
pub async fn household_visible(
    tx: &mut AnyConnection,
    scope: HouseholdScope,
    id: i64,
) -> Result<bool, StoreError> {
    let mut conditions = Conditions::default();
    conditions.add("h.id = ?", [SqlArg::Int(id)]);
    add_household_scope(&mut conditions, scope);
    let (found,): (i64,) = conditions
        .bind(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM households h {}",
            conditions.where_sql()
        ))))
        .fetch_one(&mut *tx)
        .await?;
    Ok(found > 0)
}

/// A staff member's name, read with the pool or in a write's transaction (a sync refusal names
/// who recorded what stands).
pub async fn staff_name<'c>(
    executor: impl sqlx::Executor<'c, Database = sqlx::Any>,
    id: i64,
) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar("SELECT name FROM staff WHERE id = $1")
        .bind(id)
        .fetch_optional(executor)
        .await?)
}

/// A customer's name and phone, with their household: what a new follow-up document names.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct CustomerContact {
    pub household_id: i64,
    pub id: i64,
    pub name: String,
    pub phone: String,
}

/// The customers of `households`, by household and id.
pub async fn contacts_of(
    db: &Database,
    households: &[i64],
) -> Result<Vec<CustomerContact>, StoreError> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT household_id, id, name, phone FROM customers WHERE household_id IN ({})
         ORDER BY household_id, id",
        db::id_list(households)
    )))
    .fetch_all(db.pool())
    .await?)
}

/// Registry tables whose rows have a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    Units,
    Staff,
    Communities,
}

/// Every row's id and name in `table`, by id.
pub async fn names(db: &Database, table: Named) -> Result<Vec<(i64, String)>, StoreError> {
    let sql = match table {
        Named::Units => "SELECT id, name FROM units ORDER BY id",
        Named::Staff => "SELECT id, name FROM staff ORDER BY id",
        Named::Communities => "SELECT id, name FROM communities ORDER BY id",
    };
    Ok(sqlx::query_as(sql).fetch_all(db.pool()).await?)
}

/// The addresses of `households`.
pub async fn addresses(
    db: &Database,
    households: &[i64],
) -> Result<Vec<(i64, String)>, StoreError> {
    let mut found = Vec::with_capacity(households.len());
    for chunk in households.chunks(500) {
        let sql = format!(
            "SELECT id, address FROM households WHERE id IN ({})",
            db::id_list(chunk)
        );
        let rows: Vec<(i64, String)> = sqlx::query_as(AssertSqlSafe(sql))
            .fetch_all(db.pool())
            .await?;
        found.extend(rows);
    }
    Ok(found)
}

/// The unit with `code`: id and kind, read with the pool or in an import's transaction.
pub async fn unit_by_code<'c>(
    executor: impl sqlx::Executor<'c, Database = sqlx::Any>,
    code: &str,
) -> Result<Option<(i64, UnitKind)>, StoreError> {
    let found: Option<(i64, String)> = sqlx::query_as("SELECT id, kind FROM units WHERE code = $1")
        .bind(code)
        .fetch_optional(executor)
        .await?;
    found
        .map(|(id, kind)| Ok((id, db::stored_code("unit kind", &kind)?)))
        .transpose()
}

/// The household of a customer.
pub async fn household_of_customer(
    db: &Database,
    customer: i64,
) -> Result<Option<i64>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT household_id FROM customers WHERE id = $1")
            .bind(customer)
            .fetch_optional(db.pool())
            .await?,
    )
}

/// The customers of a household, by id.
pub async fn customers_of(tx: &mut AnyConnection, household: i64) -> Result<Vec<i64>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM customers WHERE household_id = $1 ORDER BY id")
            .bind(household)
            .fetch_all(&mut *tx)
            .await?,
    )
}

const HOUSEHOLD_SELECT: &str =
    "SELECT h.id, h.community_id, c.name AS community_name, h.building_id,
        b.name AS building_name, h.room, h.address
    FROM households h
    JOIN communities c ON c.id = h.community_id
    JOIN buildings b ON b.id = h.building_id";

impl RegistryStore {
    pub fn new(db: Database) -> Self {
        RegistryStore { db }
    }

    pub async fn list_units(
        &self,
        kind: Option<UnitKind>,
        parent_id: Option<i64>,
        community_id: Option<i64>,
    ) -> Result<Vec<Unit>, StoreError> {
        let mut conditions = Conditions::default();
        if let Some(kind) = kind {
            conditions.add("kind = ?", [SqlArg::Text(kind.to_string())]);
        }
        if let Some(parent) = parent_id {
            conditions.add("parent_id = ?", [SqlArg::Int(parent)]);
        }
        if let Some(community) = community_id {
            conditions.add("community_id = ?", [SqlArg::Int(community)]);
        }
        let sql = format!(
            "SELECT {UNIT_COLUMNS} FROM units {} ORDER BY code",
            conditions.where_sql()
        );
        let rows: Vec<UnitRow> = conditions
            .bind(sqlx::query_as(AssertSqlSafe(sql)))
            .fetch_all(self.db.pool())
            .await?;
        rows.into_iter().map(Unit::try_from).collect()
    }

    /// A unit and the units directly under it (an office and its centre and departments): what
    /// its head directs and what its figures cover.
    pub async fn unit_and_below(&self, unit_id: i64) -> Result<Vec<i64>, StoreError> {
        let mut units = vec![unit_id];
        units.extend(
            sqlx::query_scalar::<_, i64>("SELECT id FROM units WHERE parent_id = $1 ORDER BY id")
                .bind(unit_id)
                .fetch_all(self.db.pool())
                .await?,
        );
        Ok(units)
    }

    pub async fn get_unit(&self, id: i64) -> Result<Option<Unit>, StoreError> {
        let sql = format!("SELECT {UNIT_COLUMNS} FROM units WHERE id = $1");
        let row: Option<UnitRow> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(Unit::try_from).transpose()
    }

    pub async fn list_communities(&self, text: Option<&str>) -> Result<Vec<Community>, StoreError> {
        let mut conditions = Conditions::default();
        if let Some(text) = text {
            conditions.add_contains(&["c.name", "c.address"], text);
        }
        let sql = format!(
            "SELECT c.id, c.name, c.address,
                (SELECT COUNT(*) FROM buildings b WHERE b.community_id = c.id) AS building_count,
                (SELECT COUNT(*) FROM households h WHERE h.community_id = c.id) AS household_count
             FROM communities c {} ORDER BY c.name",
            conditions.where_sql()
        );
        let rows: Vec<(i64, String, String, i64, i64)> = conditions
            .bind(sqlx::query_as(AssertSqlSafe(sql)))
            .fetch_all(self.db.pool())
            .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, name, address, building_count, household_count)| Community {
                    id,
                    name,
                    address,
                    building_count,
                    household_count,
                },
            )
            .collect())
    }

    pub async fn list_buildings(&self, community_id: i64) -> Result<Vec<Building>, StoreError> {
        let rows: Vec<(i64, i64, String, i64)> = sqlx::query_as(
            "SELECT b.id, b.community_id, b.name,
                (SELECT COUNT(*) FROM households h WHERE h.building_id = b.id) AS household_count
             FROM buildings b WHERE b.community_id = $1 ORDER BY b.name",
        )
        .bind(community_id)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, community_id, name, household_count)| Building {
                id,
                community_id,
                name,
                household_count,
            })
            .collect())
    }

    /// Households visible in `scope` that match `filter`, with their customers. Customer phones
    /// are masked unless `full_phones`.
    pub async fn list_households(
        &self,
        scope: HouseholdScope,
        filter: &HouseholdFilter,
        page: PageRequest,
        full_phones: bool,
    ) -> Result<Page<Household>, StoreError> {
        let mut conditions = Conditions::default();
        add_household_scope(&mut conditions, scope);
        if let Some(id) = filter.community_id {
            conditions.add("h.community_id = ?", [SqlArg::Int(id)]);
        }
        if let Some(id) = filter.building_id {
            conditions.add("h.building_id = ?", [SqlArg::Int(id)]);
        }
        if let Some(id) = filter.consultant_id {
            conditions.add(OWNED_BY_CONSULTANT, [SqlArg::Int(id)]);
        }
        if let Some(text) = &filter.text {
            // Whoever sees phones masked cannot find a customer by their number either.
            let customer: &[&str] = if full_phones {
                &["cu.name", "cu.phone"]
            } else {
                &["cu.name"]
            };
            conditions.add(
                &format!(
                    "({} OR h.id IN (SELECT cu.household_id FROM customers cu WHERE {}))",
                    db::like_any(&["h.room", "h.address"]),
                    db::like_any(customer)
                ),
                std::iter::repeat_n(SqlArg::Text(contains_pattern(text)), 2 + customer.len()),
            );
        }
        let where_sql = conditions.where_sql();
        let (total,): (i64,) = conditions
            .bind(sqlx::query_as(AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM households h {where_sql}"
            ))))
            .fetch_one(self.db.pool())
            .await?;
        let sql = format!(
            "{HOUSEHOLD_SELECT} {where_sql} ORDER BY c.name, b.name, h.room LIMIT {} OFFSET {}",
            page.limit, page.offset
        );
        let rows: Vec<HouseholdRow> = conditions
            .bind(sqlx::query_as(AssertSqlSafe(sql)))
            .fetch_all(self.db.pool())
            .await?;
        let items = self.with_customers(rows, full_phones).await?;
        Ok(Page {
            items,
            total,
            limit: page.limit,
            offset: page.offset,
        })
    }

    /// One household, if it exists and is in `scope`.
    pub async fn get_household(
        &self,
        scope: HouseholdScope,
        id: i64,
        full_phones: bool,
    ) -> Result<Option<Household>, StoreError> {
        let sql = format!("{HOUSEHOLD_SELECT} WHERE h.id = $1");
        let row: Option<HouseholdRow> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let visible = match scope {
            HouseholdScope::All => true,
            HouseholdScope::Community(c) => row.community_id == c,
            HouseholdScope::ConsultantCustomers(staff) => {
                let owned: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM customers cu JOIN consultant_customers cc ON cc.customer_id = cu.id
                     WHERE cu.household_id = $1 AND cc.consultant_id = $2",
                )
                .bind(id)
                .bind(staff)
                .fetch_one(self.db.pool())
                .await?;
                owned > 0
            }
            HouseholdScope::Nothing => false,
        };
        if !visible {
            return Ok(None);
        }
        Ok(self.with_customers(vec![row], full_phones).await?.pop())
    }

    async fn with_customers(
        &self,
        rows: Vec<HouseholdRow>,
        full_phones: bool,
    ) -> Result<Vec<Household>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let sql = format!(
            "SELECT cu.id, cu.household_id, cu.name, cu.phone, cc.consultant_id
             FROM customers cu LEFT JOIN consultant_customers cc ON cc.customer_id = cu.id
             WHERE cu.household_id IN ({}) ORDER BY cu.id",
            db::id_list(&ids)
        );
        let customers: Vec<CustomerRow> = sqlx::query_as(AssertSqlSafe(sql))
            .fetch_all(self.db.pool())
            .await?;
        let mut by_household: HashMap<i64, Vec<Customer>> = HashMap::new();
        for c in customers {
            let phone = if full_phones {
                c.phone
            } else {
                mask_phone(&c.phone)
            };
            by_household
                .entry(c.household_id)
                .or_default()
                .push(Customer {
                    id: c.id,
                    household_id: c.household_id,
                    name: c.name,
                    phone,
                    consultant_id: c.consultant_id,
                });
        }
        Ok(rows
            .into_iter()
            .map(|r| Household {
                customers: by_household.remove(&r.id).unwrap_or_default(),
                id: r.id,
                community_id: r.community_id,
                community_name: r.community_name,
                building_id: r.building_id,
                building_name: r.building_name,
                room: r.room,
                address: r.address,
            })
            .collect())
    }

    fn staff_conditions(scope: StaffScope, filter: &StaffFilter) -> Conditions {
        let mut conditions = Conditions::default();
        match scope {
            StaffScope::All => {}
            StaffScope::UnitTree(unit) => {
                conditions.add(
                    "(unit_id = ? OR unit_id IN (SELECT id FROM units WHERE parent_id = ?))",
                    [SqlArg::Int(unit), SqlArg::Int(unit)],
                );
            }
            StaffScope::OnlySelf(id) => {
                conditions.add("id = ?", [SqlArg::Int(id)]);
            }
        }
        if let Some(unit) = filter.unit_id {
            conditions.add("unit_id = ?", [SqlArg::Int(unit)]);
        }
        if let Some(role) = filter.role {
            conditions.add("role = ?", [SqlArg::Text(role.to_string())]);
        }
        if let Some(text) = &filter.text {
            conditions.add_contains(&["username", "name"], text);
        }
        if !filter.include_inactive {
            conditions.add("deactivated_at IS NULL", []);
        }
        conditions
    }

    pub async fn list_staff(
        &self,
        scope: StaffScope,
        filter: &StaffFilter,
        page: PageRequest,
    ) -> Result<Page<StaffMember>, StoreError> {
        let conditions = Self::staff_conditions(scope, filter);
        let where_sql = conditions.where_sql();
        let (total,): (i64,) = conditions
            .bind(sqlx::query_as(AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM staff {where_sql}"
            ))))
            .fetch_one(self.db.pool())
            .await?;
        let sql = format!(
            "SELECT {STAFF_COLUMNS} FROM staff {where_sql} ORDER BY username LIMIT {} OFFSET {}",
            page.limit, page.offset
        );
        let rows: Vec<StaffRow> = conditions
            .bind(sqlx::query_as(AssertSqlSafe(sql)))
            .fetch_all(self.db.pool())
            .await?;
        Ok(Page {
            items: rows
                .into_iter()
                .map(StaffMember::try_from)
                .collect::<Result<_, _>>()?,
            total,
            limit: page.limit,
            offset: page.offset,
        })
    }

    /// One staff member, if they exist and are in `scope` (inactive ones included).
    pub async fn get_staff(
        &self,
        scope: StaffScope,
        id: i64,
    ) -> Result<Option<StaffMember>, StoreError> {
        let mut conditions = Self::staff_conditions(
            scope,
            &StaffFilter {
                include_inactive: true,
                ..StaffFilter::default()
            },
        );
        conditions.add("id = ?", [SqlArg::Int(id)]);
        let sql = format!(
            "SELECT {STAFF_COLUMNS} FROM staff {}",
            conditions.where_sql()
        );
        let row: Option<StaffRow> = conditions
            .bind(sqlx::query_as(AssertSqlSafe(sql)))
            .fetch_optional(self.db.pool())
            .await?;
        row.map(StaffMember::try_from).transpose()
    }

    pub async fn staff_login(&self, username: &str) -> Result<Option<StaffLogin>, StoreError> {
        let row: Option<(i64, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT id, password_hash, deactivated_at FROM staff WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.map(|(id, password_hash, deactivated_at)| StaffLogin {
            id,
            password_hash,
            active: deactivated_at.is_none(),
        }))
    }

    pub async fn staff_id_by_username(&self, username: &str) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM staff WHERE username = $1")
                .bind(username)
                .fetch_optional(self.db.pool())
                .await?,
        )
    }

    /// Creates an account; the username must be new (409 otherwise) and the unit must exist.
    pub async fn create_staff(&self, new: NewStaff) -> Result<StaffMember, StoreError> {
        if let Some(unit) = new.unit_id
            && self.get_unit(unit).await?.is_none()
        {
            return Err(StoreError::invalid(format!("unit {unit} does not exist")));
        }
        if new.role.needs_unit() && new.unit_id.is_none() {
            return Err(StoreError::invalid(format!(
                "a {} must belong to a unit",
                new.role
            )));
        }
        let now = self.db.now_text();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO staff (username, name, phone, role, unit_id, password_hash, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        )
        .bind(&new.username)
        .bind(&new.name)
        .bind(new.phone.as_ref().map(|p| p.as_str().to_owned()))
        .bind(new.role.to_string())
        .bind(new.unit_id)
        .bind(&new.password_hash)
        .bind(now)
        .fetch_one(self.db.pool())
        .await
        .map_err(|e| {
            if db::is_unique_violation(&e) {
                StoreError::Conflict(format!("username {:?} is taken", new.username))
            } else {
                e.into()
            }
        })?;
        self.db.note_registry_change();
        self.get_staff(StaffScope::All, id)
            .await?
            .ok_or_else(|| StoreError::corrupt(format!("staff {id} vanished after insert")))
    }

    pub async fn set_password_hash(&self, staff_id: i64, hash: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE staff SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(self.db.now_text())
            .bind(staff_id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Deactivates or reactivates an account; a deactivated account's tokens stop working.
    pub async fn set_active(&self, staff_id: i64, active: bool) -> Result<(), StoreError> {
        let now = self.db.now_text();
        sqlx::query("UPDATE staff SET deactivated_at = $1, updated_at = $2 WHERE id = $3")
            .bind((!active).then(|| now.clone()))
            .bind(&now)
            .bind(staff_id)
            .execute(self.db.pool())
            .await?;
        self.db.note_registry_change();
        Ok(())
    }
}

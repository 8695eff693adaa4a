//! Imports of what a company already keeps in Excel: households with their customers, units, and
//! staff, as CSV in UTF-8 (with or without BOM) or GBK, the encoding Chinese Excel writes.
//!
//! An import is all or nothing: every row is checked first, and a file with any bad row imports
//! nothing and reports every bad row as `line N: reason`. Rows are upserted by their natural key
//! (community + building + room + customer name; unit code; username), so importing the same file
//! again changes nothing.

use std::collections::{BTreeMap, HashMap, HashSet};

use huifang_protocol::{Labelled, PhoneNumber, Role, UnitKind};
use serde::Serialize;
use sqlx::{Any, Transaction};

use crate::error::AppError;
use huifang_core::auth::{check_new_password, check_username, hash_password, normalise_username};
use huifang_store::db::Database;

/// The largest number of data rows one import takes.
pub const MAX_ROWS: usize = 200_000;
/// Longest text accepted in a name-like field.
const MAX_FIELD_CHARS: usize = 100;

/// What an import did (or, for a dry run, would do), counted per data row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub kind: &'static str,
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub dry_run: bool,
}

/// Why an import was refused. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file is neither UTF-8 nor GBK text")]
    Encoding,
    #[error("{} problem(s) found; nothing was imported", .0.len())]
    Rows(Vec<String>),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<ImportError> for AppError {
    fn from(error: ImportError) -> Self {
        match error {
            ImportError::Encoding => AppError::invalid(error.to_string()),
            ImportError::Rows(ref lines) => AppError::Invalid {
                message: error.to_string(),
                details: lines.clone(),
            },
            ImportError::Database(e) => e.into(),
            ImportError::Internal(e) => AppError::Internal(e),
        }
    }
}

/// Turns file bytes into text: UTF-8 (a BOM is dropped) or else GBK/GB18030.
pub fn decode_text(bytes: &[u8]) -> Result<String, ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_owned());
    }
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(ImportError::Encoding);
    }
    Ok(text.into_owned())
}

/// A column of an import file: its field name and the headers people write for it.
struct Column {
    field: &'static str,
    headers: &'static [&'static str],
    required: bool,
}

/// One data row: its line in the file and its cells by field (empty cells left out).
struct Record {
    line: u64,
    cells: HashMap<&'static str, String>,
}

impl Record {
    fn get(&self, field: &str) -> Option<&str> {
        self.cells.get(field).map(String::as_str)
    }

    fn required(&self, field: &str) -> Result<&str, String> {
        let value = self.get(field).ok_or_else(|| format!("{field} is empty"))?;
        if value.chars().count() > MAX_FIELD_CHARS {
            return Err(format!(
                "{field} is longer than {MAX_FIELD_CHARS} characters"
            ));
        }
        Ok(value)
    }

    fn optional(&self, field: &str) -> Result<Option<&str>, String> {
        match self.get(field) {
            Some(_) => self.required(field).map(Some),
            None => Ok(None),
        }
    }
}

/// A file's data rows, plus the rows that could not be read at all (`line`, reason).
struct Table {
    records: Vec<Record>,
    unreadable: Vec<(u64, String)>,
}

/// Reads a CSV table whose header row names the columns (in English or Chinese, any order).
/// A bad header refuses the file at once; a bad row is kept as unreadable.
fn read_table(text: &str, columns: &[Column]) -> Result<Table, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| ImportError::Rows(vec![format!("line 1: {e}")]))?
        .clone();
    let mut problems = Vec::new();
    let mut fields: Vec<&'static str> = Vec::with_capacity(headers.len());
    for header in &headers {
        match columns
            .iter()
            .find(|c| c.headers.iter().any(|h| h.eq_ignore_ascii_case(header)))
        {
            Some(column) if fields.contains(&column.field) => {
                problems.push(format!("line 1: column {header:?} is given twice"));
            }
            Some(column) => fields.push(column.field),
            None => {
                let known: Vec<&str> = columns.iter().map(|c| c.field).collect();
                problems.push(format!(
                    "line 1: unknown column {header:?}; expected {}",
                    known.join(", ")
                ));
                fields.push("");
            }
        }
    }
    for column in columns.iter().filter(|c| c.required) {
        if !fields.contains(&column.field) {
            problems.push(format!(
                "line 1: missing column {} (header {})",
                column.field,
                column.headers.join(" or ")
            ));
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Rows(problems));
    }

    let mut records = Vec::new();
    let mut unreadable = Vec::new();
    for result in reader.records() {
        let record = match result {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                unreadable.push((line, e.to_string()));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.len() != fields.len() {
            let reason = format!(
                "has {} cells, the header has {}",
                record.len(),
                fields.len()
            );
            unreadable.push((line, reason));
            continue;
        }
        if records.len() == MAX_ROWS {
            let reason = format!("the file has more than {MAX_ROWS} rows; split it");
            unreadable.push((line, reason));
            break;
        }
        let cells = fields
            .iter()
            .zip(record.iter())
            .filter(|(_, value)| !value.is_empty())
            .map(|(field, value)| (*field, value.to_owned()))
            .collect();
        records.push(Record { line, cells });
    }
    Ok(Table {
        records,
        unreadable,
    })
}

/// Validates each record with `check` and reports every unreadable or invalid row, in line
/// order, as `line N: reason`.
fn check_all<T>(
    table: Table,
    mut check: impl FnMut(&Record) -> Result<T, String>,
) -> Result<Vec<T>, ImportError> {
    let mut rows = Vec::with_capacity(table.records.len());
    let mut problems = table.unreadable;
    for record in &table.records {
        match check(record) {
            Ok(row) => rows.push(row),
            Err(reason) => problems.push((record.line, reason)),
        }
    }
    if problems.is_empty() {
        return Ok(rows);
    }
    problems.sort_by_key(|(line, _)| *line);
    Err(ImportError::Rows(
        problems
            .into_iter()
            .map(|(line, reason)| format!("line {line}: {reason}"))
            .collect(),
    ))
}

/// Remembers the first line of each natural key, to refuse a key given twice in one file.
#[derive(Default)]
struct FirstLines(HashMap<String, u64>);

impl FirstLines {
    fn check(&mut self, what: &str, key: &str, line: u64) -> Result<(), String> {
        match self.0.get(key) {
            Some(first) => Err(format!("{what} {key:?} is also on line {first}")),
            None => {
                self.0.insert(key.to_owned(), line);
                Ok(())
            }
        }
    }
}

/// What happened to one row.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Unchanged,
    Updated,
    Created,
}

fn report(kind: &'static str, outcomes: &[Outcome], dry_run: bool) -> ImportReport {
    let count = |o: Outcome| outcomes.iter().filter(|x| **x == o).count();
    ImportReport {
        kind,
        rows: outcomes.len(),
        created: count(Outcome::Created),
        updated: count(Outcome::Updated),
        unchanged: count(Outcome::Unchanged),
        dry_run,
    }
}

async fn finish(tx: Transaction<'_, Any>, dry_run: bool) -> Result<(), sqlx::Error> {
    if dry_run {
        tx.rollback().await
    } else {
        tx.commit().await
    }
}

// ---------------------------------------------------------------------------------------------
// Households

/// One household row: a customer of a household, the household's place, and optionally the
/// consultant who owns the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdRow {
    pub line: u64,
    pub community: String,
    pub community_address: Option<String>,
    pub building: String,
    pub room: String,
    pub address: String,
    pub customer: String,
    pub phone: PhoneNumber,
    /// Username of the owning property consultant.
    pub consultant: Option<String>,
}

const HOUSEHOLD_COLUMNS: &[Column] = &[
    Column {
        field: "community",
        headers: &["community", "小区", "小区名称"],
        required: true,
    },
    Column {
        field: "community_address",
        headers: &["community_address", "小区地址"],
        required: false,
    },
    Column {
        field: "building",
        headers: &["building", "楼栋", "楼号", "栋号"],
        required: true,
    },
    Column {
        field: "room",
        headers: &["room", "房号", "房间号"],
        required: true,
    },
    Column {
        field: "customer",
        headers: &["customer", "customer_name", "客户姓名", "业主姓名", "姓名"],
        required: true,
    },
    Column {
        field: "phone",
        headers: &["phone", "联系电话", "电话", "手机"],
        required: true,
    },
    Column {
        field: "address",
        headers: &["address", "客户地址", "地址"],
        required: false,
    },
    Column {
        field: "consultant",
        headers: &["consultant", "置业顾问"],
        required: false,
    },
];

/// Parses and checks a households file (no database access).
pub fn parse_households(bytes: &[u8]) -> Result<Vec<HouseholdRow>, ImportError> {
    let text = decode_text(bytes)?;
    let table = read_table(&text, HOUSEHOLD_COLUMNS)?;
    let rows = check_all(table, |r| {
        let community = r.required("community")?.to_owned();
        let building = r.required("building")?.to_owned();
        let room = r.required("room")?.to_owned();
        let phone = PhoneNumber::parse(r.required("phone")?).map_err(|e| e.to_string())?;
        Ok(HouseholdRow {
            line: r.line,
            address: r
                .optional("address")?
                .map_or_else(|| format!("{community}{building}{room}"), str::to_owned),
            community_address: r.optional("community_address")?.map(str::to_owned),
            customer: r.required("customer")?.to_owned(),
            consultant: r.optional("consultant")?.map(normalise_username),
            community,
            building,
            room,
            phone,
        })
    })?;
    check_households_agree(&rows)?;
    Ok(rows)
}

/// Rows that name the same household or customer must not contradict each other.
fn check_households_agree(rows: &[HouseholdRow]) -> Result<(), ImportError> {
    let mut problems = Vec::new();
    let mut households: HashMap<(&str, &str, &str), &HouseholdRow> = HashMap::new();
    let mut customers: HashMap<(&str, &str, &str, &str), &HouseholdRow> = HashMap::new();
    let mut communities: HashMap<&str, &HouseholdRow> = HashMap::new();
    for row in rows {
        if let Some(address) = &row.community_address {
            match communities.get(row.community.as_str()) {
                Some(first) if first.community_address.as_ref() != Some(address) => {
                    problems.push(format!(
                        "line {}: community {:?} has another address on line {}",
                        row.line, row.community, first.line
                    ))
                }
                Some(_) => {}
                None => {
                    communities.insert(&row.community, row);
                }
            }
        }
        let household = (
            row.community.as_str(),
            row.building.as_str(),
            row.room.as_str(),
        );
        match households.get(&household) {
            Some(first) if first.address != row.address => problems.push(format!(
                "line {}: household {}{}{} has another address on line {}",
                row.line, row.community, row.building, row.room, first.line
            )),
            Some(_) => {}
            None => {
                households.insert(household, row);
            }
        }
        let customer = (household.0, household.1, household.2, row.customer.as_str());
        match customers.get(&customer) {
            Some(first) if first.phone != row.phone || first.consultant != row.consultant => {
                problems.push(format!(
                    "line {}: customer {} of {}{}{} is also on line {} with another phone or consultant",
                    row.line, row.customer, row.community, row.building, row.room, first.line
                ));
            }
            Some(_) => {}
            None => {
                customers.insert(customer, row);
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ImportError::Rows(problems))
    }
}

/// Upserts checked household rows in one transaction.
pub async fn apply_households(
    db: &Database,
    rows: &[HouseholdRow],
    dry_run: bool,
) -> Result<ImportReport, ImportError> {
    let now = db.now_text();
    let mut tx = db.pool().begin().await?;

    // Consultants must exist and be consultants before anything is written.
    let mut consultants: HashMap<&str, i64> = HashMap::new();
    let mut problems = Vec::new();
    for row in rows {
        let Some(username) = row.consultant.as_deref() else {
            continue;
        };
        if consultants.contains_key(username) {
            continue;
        }
        let found: Option<(i64, String)> =
            sqlx::query_as("SELECT id, role FROM staff WHERE username = $1")
                .bind(username)
                .fetch_optional(&mut *tx)
                .await?;
        match found {
            Some((id, role)) if role == Role::Consultant.code() => {
                consultants.insert(username, id);
            }
            Some(_) => problems.push(format!(
                "line {}: staff {username:?} is not a property consultant",
                row.line
            )),
            None => problems.push(format!(
                "line {}: consultant {username:?} does not exist; import staff first",
                row.line
            )),
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Rows(problems));
    }

    let mut outcomes = vec![Outcome::Unchanged; rows.len()];
    let mut community_ids: HashMap<&str, i64> = HashMap::new();
    let mut building_ids: HashMap<(i64, &str), i64> = HashMap::new();
    // Existing households and customers of each community touched, loaded once.
    let mut households: HashMap<(i64, String), (i64, String)> = HashMap::new();
    let mut customers: HashMap<(i64, String), (i64, String)> = HashMap::new();
    let mut owners: HashMap<i64, i64> = HashMap::new();

    for (index, row) in rows.iter().enumerate() {
        let mut outcome = Outcome::Unchanged;
        let community_id = match community_ids.get(row.community.as_str()) {
            Some(id) => *id,
            None => {
                let existing: Option<(i64, String)> =
                    sqlx::query_as("SELECT id, address FROM communities WHERE name = $1")
                        .bind(&row.community)
                        .fetch_optional(&mut *tx)
                        .await?;
                let id = match existing {
                    Some((id, address)) => {
                        if let Some(new_address) =
                            row.community_address.as_ref().filter(|a| **a != address)
                        {
                            sqlx::query("UPDATE communities SET address = $1, updated_at = $2 WHERE id = $3")
                                .bind(new_address)
                                .bind(&now)
                                .bind(id)
                                .execute(&mut *tx)
                                .await?;
                            outcome = outcome.max(Outcome::Updated);
                        }
                        id
                    }
                    None => {
                        sqlx::query_scalar(
                            "INSERT INTO communities (name, address, created_at, updated_at)
                             VALUES ($1, $2, $3, $3) RETURNING id",
                        )
                        .bind(&row.community)
                        .bind(row.community_address.clone().unwrap_or_default())
                        .bind(&now)
                        .fetch_one(&mut *tx)
                        .await?
                    }
                };
                load_community(&mut tx, id, &mut households, &mut customers, &mut owners).await?;
                community_ids.insert(&row.community, id);
                id
            }
        };

        let building_id = match building_ids.get(&(community_id, row.building.as_str())) {
            Some(id) => *id,
            None => {
                let existing: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM buildings WHERE community_id = $1 AND name = $2",
                )
                .bind(community_id)
                .bind(&row.building)
                .fetch_optional(&mut *tx)
                .await?;
                let id = match existing {
                    Some(id) => id,
                    None => {
                        sqlx::query_scalar(
                            "INSERT INTO buildings (community_id, name, created_at, updated_at)
                             VALUES ($1, $2, $3, $3) RETURNING id",
                        )
                        .bind(community_id)
                        .bind(&row.building)
                        .bind(&now)
                        .fetch_one(&mut *tx)
                        .await?
                    }
                };
                building_ids.insert((community_id, &row.building), id);
                id
            }
        };

        let household_id = match households.get(&(building_id, row.room.clone())) {
            Some((id, address)) if *address == row.address => *id,
            Some((id, _)) => {
                let id = *id;
                sqlx::query("UPDATE households SET address = $1, updated_at = $2 WHERE id = $3")
                    .bind(&row.address)
                    .bind(&now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                households.insert((building_id, row.room.clone()), (id, row.address.clone()));
                outcome = outcome.max(Outcome::Updated);
                id
            }
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO households (community_id, building_id, room, address, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                )
                .bind(community_id)
                .bind(building_id)
                .bind(&row.room)
                .bind(&row.address)
                .bind(&now)
                .fetch_one(&mut *tx)
                .await?;
                households.insert((building_id, row.room.clone()), (id, row.address.clone()));
                id
            }
        };

        let phone = row.phone.as_str();
        let customer_id = match customers.get(&(household_id, row.customer.clone())) {
            Some((id, stored)) if stored == phone => *id,
            Some((id, _)) => {
                let id = *id;
                sqlx::query("UPDATE customers SET phone = $1, updated_at = $2 WHERE id = $3")
                    .bind(phone)
                    .bind(&now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                customers.insert((household_id, row.customer.clone()), (id, phone.to_owned()));
                outcome = outcome.max(Outcome::Updated);
                id
            }
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO customers (household_id, name, phone, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $4) RETURNING id",
                )
                .bind(household_id)
                .bind(&row.customer)
                .bind(phone)
                .bind(&now)
                .fetch_one(&mut *tx)
                .await?;
                customers.insert((household_id, row.customer.clone()), (id, phone.to_owned()));
                outcome = Outcome::Created;
                id
            }
        };

        if let Some(consultant_id) = row.consultant.as_deref().and_then(|u| consultants.get(u))
            && owners.get(&customer_id) != Some(consultant_id)
        {
            sqlx::query(
                "INSERT INTO consultant_customers (customer_id, consultant_id, created_at)
                 VALUES ($1, $2, $3)
                 ON CONFLICT (customer_id) DO UPDATE SET consultant_id = excluded.consultant_id,
                     created_at = excluded.created_at",
            )
            .bind(customer_id)
            .bind(*consultant_id)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
            owners.insert(customer_id, *consultant_id);
            outcome = outcome.max(Outcome::Updated);
        }
        outcomes[index] = outcome;
    }
    finish(tx, dry_run).await?;
    Ok(report("households", &outcomes, dry_run))
}

/// Loads a community's households, customers and consultant ownership into the lookup maps.
async fn load_community(
    tx: &mut Transaction<'_, Any>,
    community_id: i64,
    households: &mut HashMap<(i64, String), (i64, String)>,
    customers: &mut HashMap<(i64, String), (i64, String)>,
    owners: &mut HashMap<i64, i64>,
) -> Result<(), sqlx::Error> {
    let rows: Vec<(i64, i64, String, String)> = sqlx::query_as(
        "SELECT id, building_id, room, address FROM households WHERE community_id = $1",
    )
    .bind(community_id)
    .fetch_all(&mut **tx)
    .await?;
    for (id, building, room, address) in rows {
        households.insert((building, room), (id, address));
    }
    let rows: Vec<(i64, i64, String, String, Option<i64>)> = sqlx::query_as(
        "SELECT cu.id, cu.household_id, cu.name, cu.phone, cc.consultant_id
         FROM customers cu
         JOIN households h ON h.id = cu.household_id
         LEFT JOIN consultant_customers cc ON cc.customer_id = cu.id
         WHERE h.community_id = $1",
    )
    .bind(community_id)
    .fetch_all(&mut **tx)
    .await?;
    for (id, household, name, phone, consultant) in rows {
        customers.insert((household, name), (id, phone));
        if let Some(consultant) = consultant {
            owners.insert(id, consultant);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Units

/// One unit row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRow {
    pub line: u64,
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    /// Code of the parent unit (an office, for its service center and departments).
    pub parent: Option<String>,
    /// Name of the community a sales site or office serves.
    pub community: Option<String>,
}

/// A unit as stored, keyed by code during an import.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
struct StoredUnit {
    id: i64,
    code: String,
    name: String,
    kind: String,
    parent_id: Option<i64>,
    community_id: Option<i64>,
}

const UNIT_COLUMNS: &[Column] = &[
    Column {
        field: "code",
        headers: &["code", "编码", "单位编码", "部门编码"],
        required: true,
    },
    Column {
        field: "name",
        headers: &["name", "名称", "单位名称", "部门名称"],
        required: true,
    },
    Column {
        field: "kind",
        headers: &["kind", "类型", "单位类型"],
        required: true,
    },
    Column {
        field: "parent",
        headers: &["parent", "上级", "上级单位"],
        required: false,
    },
    Column {
        field: "community",
        headers: &["community", "小区", "服务小区"],
        required: false,
    },
];

fn check_code(code: &str) -> Result<(), String> {
    if code.len() > 32
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "unit code {code:?} must be at most 32 letters, digits, '-', '_' or '.'"
        ));
    }
    Ok(())
}

/// Parses and checks a units file (no database access).
pub fn parse_units(bytes: &[u8]) -> Result<Vec<UnitRow>, ImportError> {
    let text = decode_text(bytes)?;
    let table = read_table(&text, UNIT_COLUMNS)?;
    let mut codes = FirstLines::default();
    check_all(table, |r| {
        let code = r.required("code")?.to_owned();
        check_code(&code)?;
        codes.check("unit code", &code, r.line)?;
        let kind: UnitKind = r
            .required("kind")?
            .parse()
            .map_err(|e: huifang_protocol::UnknownValue| e.to_string())?;
        let parent = r.optional("parent")?.map(str::to_owned);
        let community = r.optional("community")?.map(str::to_owned);
        match (kind.required_parent(), &parent) {
            (Some(needed), None) => {
                return Err(format!("a {kind} needs a parent unit (a {needed})"));
            }
            (None, Some(_)) => return Err(format!("a {kind} has no parent unit")),
            _ => {}
        }
        if kind.required_parent().is_some() && community.is_some() {
            return Err(format!(
                "a {kind} serves the community of its office; leave community empty"
            ));
        }
        if kind.is_company_wide() && community.is_some() {
            return Err(format!(
                "a {kind} serves the whole company, not one community"
            ));
        }
        if matches!(kind, UnitKind::SalesSite | UnitKind::PropertyOffice) && community.is_none() {
            return Err(format!("a {kind} needs the community it serves"));
        }
        Ok(UnitRow {
            line: r.line,
            name: r.required("name")?.to_owned(),
            code,
            kind,
            parent,
            community,
        })
    })
}

/// Upserts checked unit rows in one transaction; parents (in the file or already stored) first.
/// Import order for a new company: units, then staff, then households.
pub async fn apply_units(
    db: &Database,
    rows: &[UnitRow],
    dry_run: bool,
) -> Result<ImportReport, ImportError> {
    let now = db.now_text();
    let mut tx = db.pool().begin().await?;
    let mut problems = Vec::new();

    // A unit names the community it serves; an estate not yet in the registry is created, so
    // the organisation can be imported before its households.
    let mut communities: HashMap<&str, i64> = HashMap::new();
    for row in rows {
        let Some(name) = row.community.as_deref() else {
            continue;
        };
        if communities.contains_key(name) {
            continue;
        }
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM communities WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        let id = match found {
            Some(id) => id,
            None => {
                sqlx::query_scalar(
                    "INSERT INTO communities (name, address, created_at, updated_at)
                     VALUES ($1, '', $2, $2) RETURNING id",
                )
                .bind(name)
                .bind(&now)
                .fetch_one(&mut *tx)
                .await?
            }
        };
        communities.insert(name, id);
    }

    let existing: Vec<StoredUnit> =
        sqlx::query_as("SELECT id, code, name, kind, parent_id, community_id FROM units")
            .fetch_all(&mut *tx)
            .await?;
    let mut units: HashMap<String, StoredUnit> =
        existing.into_iter().map(|u| (u.code.clone(), u)).collect();
    let in_file: HashMap<&str, &UnitRow> = rows.iter().map(|r| (r.code.as_str(), r)).collect();
    for row in rows {
        let Some(parent) = row.parent.as_deref() else {
            continue;
        };
        let parent_kind = match in_file.get(parent) {
            Some(p) => Some(p.kind),
            None => units
                .get(parent)
                .and_then(|u| u.kind.parse::<UnitKind>().ok()),
        };
        match (parent_kind, row.kind.required_parent()) {
            (None, _) => problems.push(format!(
                "line {}: parent unit {parent:?} does not exist",
                row.line
            )),
            (Some(kind), Some(needed)) if kind != needed => problems.push(format!(
                "line {}: parent unit {parent:?} is a {kind}, not a {needed}",
                row.line
            )),
            _ => {}
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Rows(problems));
    }

    let mut outcomes = vec![Outcome::Unchanged; rows.len()];
    // Rows without a parent first, so every parent has an id when its children are written.
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|i| rows[*i].parent.is_some());
    for index in order {
        let row = &rows[index];
        let parent = match row.parent.as_deref() {
            Some(code) => Some(units.get(code).cloned().ok_or_else(|| {
                anyhow::anyhow!("parent unit {code:?} has no id after its own row was written")
            })?),
            None => None,
        };
        let parent_id = parent.as_ref().map(|p| p.id);
        let community_id = match (&row.community, &parent) {
            (Some(name), _) => communities.get(name.as_str()).copied(),
            (None, Some(p)) => p.community_id,
            (None, None) => None,
        };
        let kind = row.kind.code();
        let wanted = StoredUnit {
            id: 0,
            code: row.code.clone(),
            name: row.name.clone(),
            kind: kind.to_owned(),
            parent_id,
            community_id,
        };
        match units.get(&row.code) {
            Some(stored)
                if *stored
                    == StoredUnit {
                        id: stored.id,
                        ..wanted.clone()
                    } => {}
            Some(stored) => {
                let id = stored.id;
                sqlx::query(
                    "UPDATE units SET name = $1, kind = $2, parent_id = $3, community_id = $4, updated_at = $5
                     WHERE id = $6",
                )
                .bind(&row.name)
                .bind(kind)
                .bind(parent_id)
                .bind(community_id)
                .bind(&now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                units.insert(row.code.clone(), StoredUnit { id, ..wanted });
                outcomes[index] = Outcome::Updated;
            }
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO units (code, name, kind, parent_id, community_id, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
                )
                .bind(&row.code)
                .bind(&row.name)
                .bind(kind)
                .bind(parent_id)
                .bind(community_id)
                .bind(&now)
                .fetch_one(&mut *tx)
                .await?;
                units.insert(row.code.clone(), StoredUnit { id, ..wanted });
                outcomes[index] = Outcome::Created;
            }
        }
    }
    finish(tx, dry_run).await?;
    Ok(report("units", &outcomes, dry_run))
}

// ---------------------------------------------------------------------------------------------
// Staff

#[derive(sqlx::FromRow)]
struct StoredStaff {
    id: i64,
    name: String,
    phone: Option<String>,
    role: String,
    unit_id: Option<i64>,
    password_hash: Option<String>,
}

/// One staff row.
#[derive(Clone, PartialEq, Eq)]
pub struct StaffRow {
    pub line: u64,
    pub username: String,
    pub name: String,
    pub role: Role,
    /// Code of the staff member's unit.
    pub unit: Option<String>,
    pub phone: Option<PhoneNumber>,
    /// Initial password; only used when the account has none yet.
    pub password: Option<String>,
}

impl std::fmt::Debug for StaffRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffRow")
            .field("line", &self.line)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("unit", &self.unit)
            .field("password", &self.password.as_ref().map(|_| "<set>"))
            .finish_non_exhaustive()
    }
}

const STAFF_COLUMNS: &[Column] = &[
    Column {
        field: "username",
        headers: &["username", "用户名", "账号", "工号"],
        required: true,
    },
    Column {
        field: "name",
        headers: &["name", "姓名"],
        required: true,
    },
    Column {
        field: "role",
        headers: &["role", "角色"],
        required: true,
    },
    Column {
        field: "unit",
        headers: &["unit", "部门", "单位", "部门编码", "单位编码"],
        required: false,
    },
    Column {
        field: "phone",
        headers: &["phone", "电话", "手机", "联系电话"],
        required: false,
    },
    Column {
        field: "password",
        headers: &["password", "initial_password", "初始密码", "密码"],
        required: false,
    },
];

/// Parses and checks a staff file (no database access).
pub fn parse_staff(bytes: &[u8]) -> Result<Vec<StaffRow>, ImportError> {
    let text = decode_text(bytes)?;
    let table = read_table(&text, STAFF_COLUMNS)?;
    let mut usernames = FirstLines::default();
    check_all(table, |r| {
        let username = normalise_username(r.required("username")?);
        check_username(&username)?;
        usernames.check("username", &username, r.line)?;
        let role: Role = r
            .required("role")?
            .parse()
            .map_err(|e: huifang_protocol::UnknownValue| e.to_string())?;
        let unit = r.optional("unit")?.map(str::to_owned);
        if role.needs_unit() && unit.is_none() {
            return Err(format!("a {role} needs a unit"));
        }
        let phone = r
            .optional("phone")?
            .map(PhoneNumber::parse)
            .transpose()
            .map_err(|e| e.to_string())?;
        let password = r.get("password").map(str::to_owned);
        if let Some(password) = &password {
            check_new_password(password)?;
        }
        Ok(StaffRow {
            line: r.line,
            name: r.required("name")?.to_owned(),
            username,
            role,
            unit,
            phone,
            password,
        })
    })
}

/// Upserts checked staff rows in one transaction. Passwords in the file are only set on
/// accounts that have none, so re-importing never resets a password someone has changed.
pub async fn apply_staff(
    db: &Database,
    rows: &[StaffRow],
    dry_run: bool,
) -> Result<ImportReport, ImportError> {
    let now = db.now_text();
    let mut tx = db.pool().begin().await?;
    let mut problems = Vec::new();

    let codes: HashSet<&str> = rows.iter().filter_map(|r| r.unit.as_deref()).collect();
    let mut units: BTreeMap<&str, (i64, UnitKind)> = BTreeMap::new();
    for code in codes {
        let found: Option<(i64, String)> =
            sqlx::query_as("SELECT id, kind FROM units WHERE code = $1")
                .bind(code)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some((id, kind)) = found
            && let Ok(kind) = kind.parse::<UnitKind>()
        {
            units.insert(code, (id, kind));
        }
    }
    for row in rows {
        let Some(code) = row.unit.as_deref() else {
            continue;
        };
        match units.get(code) {
            None => problems.push(format!(
                "line {}: unit {code:?} does not exist; import units first",
                row.line
            )),
            Some((_, kind)) if row.role == Role::Consultant && *kind != UnitKind::SalesSite => {
                problems.push(format!(
                    "line {}: a consultant belongs to a sales site, not a {kind}",
                    row.line
                ));
            }
            Some(_) => {}
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Rows(problems));
    }

    let mut outcomes = vec![Outcome::Unchanged; rows.len()];
    for (index, row) in rows.iter().enumerate() {
        let unit_id = row
            .unit
            .as_deref()
            .and_then(|code| units.get(code))
            .map(|u| u.0);
        let phone = row.phone.as_ref().map(|p| p.as_str().to_owned());
        let role = row.role.code();
        let existing: Option<StoredStaff> = sqlx::query_as(
            "SELECT id, name, phone, role, unit_id, password_hash FROM staff WHERE username = $1",
        )
        .bind(&row.username)
        .fetch_optional(&mut *tx)
        .await?;
        match existing {
            Some(stored) => {
                let id = stored.id;
                if stored.name != row.name
                    || stored.phone != phone
                    || stored.role != role
                    || stored.unit_id != unit_id
                {
                    sqlx::query(
                        "UPDATE staff SET name = $1, phone = $2, role = $3, unit_id = $4, updated_at = $5
                         WHERE id = $6",
                    )
                    .bind(&row.name)
                    .bind(&phone)
                    .bind(role)
                    .bind(unit_id)
                    .bind(&now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    outcomes[index] = Outcome::Updated;
                }
                if let (None, Some(password)) = (stored.password_hash, &row.password) {
                    let hash = hash_password(password.clone())
                        .await
                        .map_err(anyhow::Error::from)?;
                    sqlx::query(
                        "UPDATE staff SET password_hash = $1, updated_at = $2 WHERE id = $3",
                    )
                    .bind(hash)
                    .bind(&now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    outcomes[index] = Outcome::Updated;
                }
            }
            None => {
                let hash = match &row.password {
                    Some(password) => Some(
                        hash_password(password.clone())
                            .await
                            .map_err(anyhow::Error::from)?,
                    ),
                    None => None,
                };
                sqlx::query(
                    "INSERT INTO staff (username, name, phone, role, unit_id, password_hash, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                )
                .bind(&row.username)
                .bind(&row.name)
                .bind(&phone)
                .bind(role)
                .bind(unit_id)
                .bind(hash)
                .bind(&now)
                .execute(&mut *tx)
                .await?;
                outcomes[index] = Outcome::Created;
            }
        }
    }
    finish(tx, dry_run).await?;
    Ok(report("staff", &outcomes, dry_run))
}

/// The kinds of file `huifang import` and `POST /api/v1/import/{kind}` take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportKind {
    Households,
    Units,
    Staff,
}

impl ImportKind {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "households" => Some(ImportKind::Households),
            "units" => Some(ImportKind::Units),
            "staff" => Some(ImportKind::Staff),
            _ => None,
        }
    }
}

/// Parses, checks and applies one file of the given kind.
pub async fn import(
    db: &Database,
    kind: ImportKind,
    bytes: &[u8],
    dry_run: bool,
) -> Result<ImportReport, ImportError> {
    match kind {
        ImportKind::Households => apply_households(db, &parse_households(bytes)?, dry_run).await,
        ImportKind::Units => apply_units(db, &parse_units(bytes)?, dry_run).await,
        ImportKind::Staff => apply_staff(db, &parse_staff(bytes)?, dry_run).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_bom_and_gbk_decode_to_the_same_text() {
        let text = "小区,楼栋\n翠湖花园,1栋\n";
        let mut with_bom = b"\xEF\xBB\xBF".to_vec();
        with_bom.extend_from_slice(text.as_bytes());
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        assert_eq!(decode_text(text.as_bytes()).unwrap(), text);
        assert_eq!(decode_text(&with_bom).unwrap(), text);
        assert_eq!(decode_text(&gbk).unwrap(), text);
        assert!(matches!(
            decode_text(&[0xff, 0xfe, 0x00, 0x81]),
            Err(ImportError::Encoding)
        ));
    }

    fn problems(result: Result<impl std::fmt::Debug, ImportError>) -> Vec<String> {
        match result {
            Err(ImportError::Rows(lines)) => lines,
            other => panic!("expected row problems, got {other:?}"),
        }
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let csv = "小区,楼栋,房号,客户姓名,联系电话\n\
                   翠湖花园,1栋,101,张三,13812341234\n\
                   翠湖花园,1栋,,李四,13812341235\n\
                   翠湖花园,1栋,102,王五,12345\n\
                   翠湖花园,1栋,103\n";
        let lines = problems(parse_households(csv.as_bytes()));
        assert_eq!(
            lines,
            vec![
                "line 3: room is empty".to_owned(),
                "line 4: phone number must be an 11-digit mobile starting 13–19, or a landline with its area code (e.g. 0755-12345678)".to_owned(),
                "line 5: has 3 cells, the header has 5".to_owned(),
            ]
        );
    }

    #[test]
    fn headers_are_checked() {
        let lines = problems(parse_households("community,building,flat\n".as_bytes()));
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("line 1: unknown column \"flat\"")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("line 1: missing column room")),
            "{lines:?}"
        );
    }

    #[test]
    fn contradicting_rows_are_refused() {
        let csv = "community,building,room,customer,phone\n\
                   A,1,101,Zhang,13812341234\n\
                   A,1,101,Zhang,13812341234\n\
                   A,1,101,Zhang,13900001111\n";
        let lines = problems(parse_households(csv.as_bytes()));
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with("line 4: customer Zhang"), "{lines:?}");
    }

    #[test]
    fn unit_shape_rules_are_checked() {
        let csv = "code,name,kind,parent,community\n\
                   DEV,开发部,开发部,,\n\
                   CSC1,客服中心,customer_service_center,,\n\
                   SALES1,销售现场,sales_site,,\n\
                   MKT,营销部,marketing_department,,翠湖花园\n\
                   DEV,again,development_department,,\n";
        let lines = problems(parse_units(csv.as_bytes()));
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(lines[0].starts_with("line 3: a customer_service_center needs a parent"));
        assert!(lines[1].starts_with("line 4: a sales_site needs the community"));
        assert!(lines[2].starts_with("line 5: a marketing_department serves the whole company"));
    }

    #[test]
    fn staff_rows_are_checked_and_passwords_never_printed() {
        let csv = "username,name,role,unit,phone,password\n\
                   Zhang.San ,张三,consultant,SALES1,13812341234,secret-pass\n\
                   li si,李四,staff,OFFICE1,,\n\
                   wang,王五,consultant,,,\n\
                   zhao,赵六,boss,X,,\n\
                   qian,钱七,staff,X,,short\n";
        let lines = problems(parse_staff(csv.as_bytes()));
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(lines[0].starts_with("line 3: username \"li si\""));
        assert!(lines[1].starts_with("line 4: a consultant needs a unit"));
        assert!(lines[2].starts_with("line 5: unknown Role \"boss\""));
        assert!(lines[3].starts_with("line 6: password must have at least"));

        let ok = parse_staff(
            "username,name,role,unit,password\nZhang.San,张三,consultant,SALES1,secret-pass\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(ok[0].username, "zhang.san");
        assert!(!format!("{:?}", ok[0]).contains("secret-pass"));
    }

    mod decoders {
        //! The CSV import's parsers under the property harness of `scripts/fuzz`: any bytes an
        //! administrator uploads get rows or a list of bad lines, never a panic.
        use super::*;
        use proptest::prelude::*;

        fn cases() -> u32 {
            std::env::var("HUIFANG_FUZZ_CASES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(128)
        }

        /// Fields as spreadsheets write them: Chinese and ASCII text, quotes, commas, NULs,
        /// formula starts, line ends.
        fn field() -> impl Strategy<Value = String> {
            proptest::string::string_regex("[a-z0-9翠湖花园陈志强栋室 =+@\\-\"\r\n,\u{0}]{0,12}")
                .unwrap()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(cases()))]

            #[test]
            fn random_bytes_never_break_an_import(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
                let _ = parse_units(&bytes);
                let _ = parse_staff(&bytes);
                let _ = parse_households(&bytes);
            }

            #[test]
            fn random_tables_never_break_an_import(
                rows in proptest::collection::vec(proptest::collection::vec(field(), 0..10), 0..8),
                gbk in any::<bool>(),
            ) {
                for header in [
                    "code,name,kind,parent,community",
                    "username,name,role,unit,phone,password",
                    "community,community_address,building,room,customer,phone,address,consultant",
                ] {
                    let mut text = format!("{header}\n");
                    for row in &rows {
                        text.push_str(&row.join(","));
                        text.push('\n');
                    }
                    let bytes = if gbk {
                        encoding_rs::GBK.encode(&text).0.into_owned()
                    } else {
                        text.into_bytes()
                    };
                    let _ = parse_units(&bytes);
                    let _ = parse_staff(&bytes);
                    let _ = parse_households(&bytes);
                }
            }
        }
    }
}

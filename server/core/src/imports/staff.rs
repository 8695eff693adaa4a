//! Staff: keyed by username, with role, unit and an optional first password (never printed).

use std::collections::{BTreeMap, HashSet};

use huifang_protocol::{PhoneNumber, Role, UnitKind};
use huifang_store::db::Database;
use huifang_store::imports as stored;

use super::csv::{Column, FirstLines, Outcome, check_all, decode_text, read_table, report};
use super::{ImportError, ImportReport};
use crate::auth::{check_new_password, check_username, hash_password, normalise_username};

// ---------------------------------------------------------------------------------------------
// Staff

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

pub(crate) const STAFF_COLUMNS: &[Column] = &[
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
    let mut tx = db.begin().await?;
    let mut problems = Vec::new();

    let codes: HashSet<&str> = rows.iter().filter_map(|r| r.unit.as_deref()).collect();
    let mut units: BTreeMap<&str, (i64, UnitKind)> = BTreeMap::new();
    for code in codes {
        if let Some(unit) = huifang_store::registry::unit_by_code(&mut *tx, code).await? {
            units.insert(code, unit);
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
        let details = stored::StaffDetails {
            name: &row.name,
            phone: row.phone.as_ref().map(|p| p.as_str()),
            role: row.role,
            unit_id,
        };
        match stored::staff(&mut tx, &row.username).await? {
            Some(existing) => {
                let id = existing.id;
                if existing.name != row.name
                    || existing.phone.as_deref() != details.phone
                    || existing.role != row.role
                    || existing.unit_id != unit_id
                {
                    stored::update_staff(&mut tx, id, &details, &now).await?;
                    outcomes[index] = Outcome::Updated;
                }
                if let (false, Some(password)) = (existing.has_password, &row.password) {
                    let hash = hash_password(password.clone()).await?;
                    stored::set_first_password(&mut tx, id, hash, &now).await?;
                    outcomes[index] = Outcome::Updated;
                }
            }
            None => {
                let hash = match &row.password {
                    Some(password) => Some(hash_password(password.clone()).await?),
                    None => None,
                };
                stored::insert_staff(&mut tx, &row.username, &details, hash, &now).await?;
                outcomes[index] = Outcome::Created;
            }
        }
    }
    stored::finish(db, tx, dry_run).await?;
    Ok(report("staff", &outcomes, dry_run))
}

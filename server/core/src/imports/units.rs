//! Units: keyed by code, with their kind, parent and the community an office serves.

use std::collections::HashMap;

use huifang_protocol::Unit;
use huifang_protocol::UnitKind;
use huifang_store::db::Database;
use huifang_store::imports as stored;

use super::csv::{Column, FirstLines, Outcome, check_all, decode_text, read_table, report};
use super::{ImportError, ImportReport};

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

pub(crate) const UNIT_COLUMNS: &[Column] = &[
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

pub(crate) fn check_code(code: &str) -> Result<(), String> {
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
    let mut tx = db.begin().await?;
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
        let id = match stored::community(&mut tx, name).await? {
            Some((id, _)) => id,
            None => stored::insert_community(&mut tx, name, "", &now).await?,
        };
        communities.insert(name, id);
    }

    let existing = stored::units(&mut tx).await?;
    let mut units: HashMap<String, Unit> =
        existing.into_iter().map(|u| (u.code.clone(), u)).collect();
    let in_file: HashMap<&str, &UnitRow> = rows.iter().map(|r| (r.code.as_str(), r)).collect();
    for row in rows {
        let Some(parent) = row.parent.as_deref() else {
            continue;
        };
        let parent_kind = match in_file.get(parent) {
            Some(p) => Some(p.kind),
            None => units.get(parent).map(|u| u.kind),
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
                crate::Error::internal(format!(
                    "parent unit {code:?} has no id after its own row was written"
                ))
            })?),
            None => None,
        };
        let parent_id = parent.as_ref().map(|p| p.id);
        let community_id = match (&row.community, &parent) {
            (Some(name), _) => communities.get(name.as_str()).copied(),
            (None, Some(p)) => p.community_id,
            (None, None) => None,
        };
        let wanted = Unit {
            id: 0,
            code: row.code.clone(),
            name: row.name.clone(),
            kind: row.kind,
            parent_id,
            community_id,
        };
        match units.get(&row.code) {
            Some(stored)
                if *stored
                    == Unit {
                        id: stored.id,
                        ..wanted.clone()
                    } => {}
            Some(stored) => {
                let id = stored::put_unit(&mut tx, Some(stored.id), &wanted, &now).await?;
                units.insert(row.code.clone(), Unit { id, ..wanted });
                outcomes[index] = Outcome::Updated;
            }
            None => {
                let id = stored::put_unit(&mut tx, None, &wanted, &now).await?;
                units.insert(row.code.clone(), Unit { id, ..wanted });
                outcomes[index] = Outcome::Created;
            }
        }
    }
    stored::finish(db, tx, dry_run).await?;
    Ok(report("units", &outcomes, dry_run))
}

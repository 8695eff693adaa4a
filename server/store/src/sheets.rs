//! The sheet projection and its queries.

use huifang_protocol::{
    ComplaintLevel, DocumentKind, Labelled, Page, Sheet, SheetCategory, SheetStatus,
};
use serde::Serialize;
use sqlx::{AssertSqlSafe, FromRow};

use crate::db::{Conditions, Database, SqlArg, id_list};
use crate::documents::DocWrite;
use crate::error::StoreError;
use crate::registry::PageRequest;
use crate::scope::WorkScope;

/// Rewrites a sheet's projection row from the document, in the document's transaction, in one
/// statement.
pub async fn project(write: &mut DocWrite, sheet: &Sheet) -> Result<(), StoreError> {
    let accepted = huifang_protocol::parse_time("accepted_at", &sheet.accepted_at)
        .map_err(StoreError::invalid)?;
    let month = write.month_of(accepted);
    let summary = sheet.summary();
    let updated_at = write.now_text();
    sqlx::query(
        "INSERT INTO sheets (id, number, status, level, category, source, household_id, customer_id,
            community_id, customer_name, contact_phone, customer_address, summary, accepted_by,
            accepting_unit_id, handling_unit_id, accepted_at, accepted_month, handled_at, reopened_from,
            updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, (SELECT community_id FROM households WHERE id = $9),
            $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
         ON CONFLICT (id) DO UPDATE SET number = excluded.number, status = excluded.status,
            level = excluded.level, category = excluded.category, source = excluded.source,
            household_id = excluded.household_id, customer_id = excluded.customer_id,
            community_id = excluded.community_id, customer_name = excluded.customer_name,
            contact_phone = excluded.contact_phone, customer_address = excluded.customer_address,
            summary = excluded.summary, accepted_by = excluded.accepted_by,
            accepting_unit_id = excluded.accepting_unit_id, handling_unit_id = excluded.handling_unit_id,
            accepted_at = excluded.accepted_at, accepted_month = excluded.accepted_month,
            handled_at = excluded.handled_at, reopened_from = excluded.reopened_from,
            updated_at = excluded.updated_at",
    )
    .bind(&sheet.id)
    .bind(&sheet.number)
    .bind(sheet.status.code())
    .bind(sheet.level.code())
    .bind(sheet.category.code())
    .bind(sheet.source.code())
    .bind(sheet.household_id)
    .bind(sheet.customer_id)
    // The household's community, looked up in the same statement (one round trip less per write).
    .bind(sheet.household_id)
    .bind(&sheet.customer_name)
    .bind(&sheet.contact_phone)
    .bind(&sheet.customer_address)
    .bind(summary)
    .bind(sheet.accepted_by)
    .bind(sheet.accepting_unit_id)
    .bind(sheet.handling_unit_id)
    .bind(huifang_protocol::format_time(accepted))
    .bind(month)
    .bind(&sheet.handled_at)
    .bind(&sheet.reopened_from)
    .bind(updated_at)
    .execute(write.tx())
    .await?;
    crate::holders::rewrite_sheet(write, &sheet.id).await
}

impl crate::documents::Stored for Sheet {
    async fn project(&self, write: &mut DocWrite) -> Result<(), StoreError> {
        project(write, self).await?;
        crate::photos::record(write, DocumentKind::Sheet, &self.id, &self.photos).await
    }

    fn audit_detail(&self) -> serde_json::Value {
        serde_json::json!({ "number": self.number, "status": self.status })
    }
}

/// A sheet as lists show it (from the projection).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromRow)]
pub struct SheetSummary {
    pub id: String,
    pub number: Option<String>,
    pub status: String,
    pub level: String,
    pub category: String,
    pub source: String,
    pub household_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub community_id: Option<i64>,
    pub customer_name: String,
    pub contact_phone: String,
    pub customer_address: String,
    pub summary: String,
    pub accepted_by: i64,
    pub accepting_unit_id: i64,
    pub handling_unit_id: Option<i64>,
    pub accepted_at: String,
    pub accepted_month: String,
    pub handled_at: Option<String>,
    pub reopened_from: Option<String>,
}

const SUMMARY_COLUMNS: &str =
    "s.id, s.number, s.status, s.level, s.category, s.source, s.household_id,
    s.customer_id, s.community_id, s.customer_name, s.contact_phone, s.customer_address, s.summary,
    s.accepted_by, s.accepting_unit_id, s.handling_unit_id, s.accepted_at, s.accepted_month,
    s.handled_at, s.reopened_from";

/// Filters of the sheet list.
#[derive(Debug, Default, Clone)]
pub struct SheetFilter {
    pub id: Option<String>,
    pub number: Option<String>,
    /// Matches number, customer name, address or what was reported, and the phone number when
    /// `search_phones` (a caller who sees phones masked must not find customers by them).
    pub text: Option<String>,
    pub search_phones: bool,
    pub level: Option<ComplaintLevel>,
    pub category: Option<SheetCategory>,
    pub status: Option<SheetStatus>,
    /// Accepting or handling unit.
    pub unit_id: Option<i64>,
    pub household_id: Option<i64>,
    /// Accepted at or after (RFC 3339).
    pub from: Option<String>,
    /// Accepted before (RFC 3339).
    pub to: Option<String>,
}

/// The condition on `sheets s` that limits rows to a work scope (`None`: everything). Staff and
/// unit ids come from the session, so they are written inline.
pub fn scope_sql(scope: &WorkScope) -> Option<String> {
    match scope {
        WorkScope::All => None,
        WorkScope::Units { staff_id, units } => {
            let units = id_list(units);
            Some(format!(
                "(s.accepted_by = {staff_id} OR s.accepting_unit_id IN ({units}) OR s.handling_unit_id IN ({units})
                  OR EXISTS (SELECT 1 FROM follow_ups f WHERE f.sheet_id = s.id
                             AND (f.assignee_staff_id = {staff_id} OR f.assignee_unit_id IN ({units}))))"
            ))
        }
    }
}

fn scope_conditions(scope: &WorkScope, conditions: &mut Conditions) {
    if let Some(sql) = scope_sql(scope) {
        conditions.add(&sql, []);
    }
}

/// Sheets visible in `scope` matching `filter`, newest first.
pub async fn list(
    db: &Database,
    scope: &WorkScope,
    filter: &SheetFilter,
    page: PageRequest,
) -> Result<Page<SheetSummary>, StoreError> {
    let mut conditions = Conditions::default();
    scope_conditions(scope, &mut conditions);
    if let Some(id) = &filter.id {
        conditions.add("s.id = ?", [SqlArg::Text(id.clone())]);
    }
    if let Some(number) = &filter.number {
        conditions.add("s.number = ?", [SqlArg::Text(number.clone())]);
    }
    if let Some(text) = &filter.text {
        let columns: &[&str] = if filter.search_phones {
            &[
                "s.number",
                "s.customer_name",
                "s.contact_phone",
                "s.customer_address",
                "s.summary",
            ]
        } else {
            &[
                "s.number",
                "s.customer_name",
                "s.customer_address",
                "s.summary",
            ]
        };
        conditions.add_contains(columns, text);
    }
    if let Some(level) = filter.level {
        conditions.add("s.level = ?", [SqlArg::Text(level.code().into())]);
    }
    if let Some(category) = filter.category {
        conditions.add("s.category = ?", [SqlArg::Text(category.code().into())]);
    }
    if let Some(status) = filter.status {
        conditions.add("s.status = ?", [SqlArg::Text(status.code().into())]);
    }
    if let Some(unit) = filter.unit_id {
        conditions.add(
            "(s.accepting_unit_id = ? OR s.handling_unit_id = ?)",
            [SqlArg::Int(unit), SqlArg::Int(unit)],
        );
    }
    if let Some(household) = filter.household_id {
        conditions.add("s.household_id = ?", [SqlArg::Int(household)]);
    }
    if let Some(from) = &filter.from {
        conditions.add("s.accepted_at >= ?", [SqlArg::Text(from.clone())]);
    }
    if let Some(to) = &filter.to {
        conditions.add("s.accepted_at < ?", [SqlArg::Text(to.clone())]);
    }
    let where_sql = conditions.where_sql();
    let (total,): (i64,) = conditions
        .bind(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM sheets s {where_sql}"
        ))))
        .fetch_one(db.pool())
        .await?;
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM sheets s {where_sql} ORDER BY s.accepted_at DESC, s.id LIMIT {} OFFSET {}",
        page.limit, page.offset
    );
    let items: Vec<SheetSummary> = conditions
        .bind(sqlx::query_as(AssertSqlSafe(sql)))
        .fetch_all(db.pool())
        .await?;
    Ok(Page {
        items,
        total,
        limit: page.limit,
        offset: page.offset,
    })
}

/// Whether `scope` may see the sheet `id` (one statement: a phone's every sheet edit asks), on
/// the pool or inside a write.
pub async fn is_visible<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    scope: &WorkScope,
    id: &str,
) -> Result<bool, StoreError> {
    let mut conditions = Conditions::default();
    conditions.add("s.id = ?", [SqlArg::Text(id.to_owned())]);
    scope_conditions(scope, &mut conditions);
    let (found,): (i64,) = conditions
        .bind(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM sheets s {}",
            conditions.where_sql()
        ))))
        .fetch_one(executor)
        .await?;
    Ok(found > 0)
}

/// The next sheet number of the year in the company's time zone: `PREFIX-YYYY-NNNNNN`.
pub async fn next_number(write: &mut DocWrite, prefix: &str) -> Result<String, StoreError> {
    let year: i64 = write.month_of(write.now)[..4]
        .parse()
        .map_err(|e| StoreError::corrupt(format!("year of {}: {e}", write.now)))?;
    let last: i64 = sqlx::query_scalar(
        "INSERT INTO sheet_numbers (year, last) VALUES ($1, 1)
         ON CONFLICT (year) DO UPDATE SET last = sheet_numbers.last + 1 RETURNING last",
    )
    .bind(year)
    .fetch_one(write.tx())
    .await?;
    Ok(format!("{prefix}-{year}-{last:06}"))
}

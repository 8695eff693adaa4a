//! The change feed the devices sync from: documents by change-sequence number, the scope exits,
//! and what a device of a given scope may hold. Which scope a caller has is the domain's.

use huifang_protocol::{DocumentKind, IncomingDocument};
use sqlx::AssertSqlSafe;

use crate::db::{Conditions, Database, SqlArg, code, id_list, stored_code};
use crate::error::StoreError;
use crate::scope::WorkScope;

/// What a device may hold, and whose scope exits concern it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceScope {
    /// The documents it holds; `None`: none at all (whoever sees customers' phones masked reads
    /// through the API, which masks them, never through documents that carry them in full).
    pub documents: Option<WorkScope>,
    /// The staff member whose exits concern it.
    pub staff_id: i64,
    /// The units whose exits concern it (those whose work the staff member does).
    pub exit_units: Vec<i64>,
}

impl DeviceScope {
    /// The condition on `documents d` that keeps what the device holds. It is checked per
    /// candidate row (correlated `EXISTS`), so a sync costs what its sequence range holds, not
    /// what the whole scope holds. Staff and unit ids come from the session, written inline.
    fn documents_sql(&self) -> String {
        match &self.documents {
            None => "1 = 0".to_owned(),
            Some(WorkScope::All) => "1 = 1".to_owned(),
            Some(scope @ WorkScope::Units { staff_id, units }) => format!(
                "((d.kind = {follow_up} AND EXISTS (SELECT 1 FROM follow_ups fx WHERE fx.id = d.id
                     AND (fx.assignee_staff_id = {staff_id}
                          OR (fx.assignee_staff_id IS NULL AND fx.assignee_unit_id IN ({units})))))
                  OR (d.kind = {sheet} AND EXISTS (SELECT 1 FROM sheets s WHERE s.id = d.id AND {sheet_scope})))",
                units = id_list(units),
                follow_up = code(DocumentKind::FollowUp),
                sheet = code(DocumentKind::Sheet),
                sheet_scope = crate::sheets::scope_sql(scope).unwrap_or_else(|| "1 = 1".into()),
            ),
        }
    }

    /// The condition on `scope_exits e` that finds the exits concerning the device.
    fn exits_sql(&self) -> String {
        format!(
            "e.staff_id = {} OR e.unit_id IN ({})",
            self.staff_id,
            id_list(&self.exit_units)
        )
    }
}

/// The newest change-sequence number committed: every document with a number up to it is
/// committed, because writers take their numbers one at a time under the sequence's lock.
pub async fn head(db: &Database) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT value FROM change_sequence WHERE id = 1")
            .fetch_one(db.pool())
            .await?,
    )
}

/// A document as the feed reads it: id, kind, bytes, listing (and, in a page, its sequence).
type FeedRow = (String, String, Vec<u8>, Option<Vec<u8>>);
type PageRow = (String, String, Vec<u8>, Option<Vec<u8>>, i64);

fn incoming((id, kind, bytes, listing): FeedRow) -> Result<IncomingDocument, StoreError> {
    let kind: DocumentKind = stored_code(&format!("kind of {id}"), &kind)?;
    Ok(IncomingDocument {
        document_id: id,
        kind,
        bytes,
        listing,
    })
}

/// The current copy of each named document the device may hold (those it may not are left out).
pub async fn current_copies(
    db: &Database,
    scope: &DeviceScope,
    ids: &[&str],
) -> Result<Vec<IncomingDocument>, StoreError> {
    let sql = format!(
        "SELECT d.id, d.kind, d.bytes, d.listing FROM documents d WHERE d.id = $1 AND {}",
        scope.documents_sql()
    );
    let mut copies = Vec::new();
    for id in ids {
        let row: Option<FeedRow> = sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(*id)
            .fetch_optional(db.pool())
            .await?;
        if let Some(row) = row {
            copies.push(incoming(row)?);
        }
    }
    Ok(copies)
}

/// The ids of every document the device may hold.
pub async fn ids_in_scope(db: &Database, scope: &DeviceScope) -> Result<Vec<String>, StoreError> {
    let sql = format!(
        "SELECT d.id FROM documents d WHERE {}",
        scope.documents_sql()
    );
    Ok(sqlx::query_scalar(AssertSqlSafe(sql))
        .fetch_all(db.pool())
        .await?)
}

/// One page of the feed after a cursor.
#[derive(Debug)]
pub struct ChangesPage {
    /// The documents in scope changed after the cursor.
    pub documents: Vec<IncomingDocument>,
    /// The documents that left the scope after the cursor (none on a first sync).
    pub removed: Vec<String>,
    /// Where the next page starts.
    pub cursor: i64,
    /// Whether more pages wait.
    pub more: bool,
}

/// The documents in `scope` changed after `cursor` (at most `page_size`, a page never ending
/// inside one sequence number), and those that left it.
pub async fn page_after(
    db: &Database,
    scope: &DeviceScope,
    cursor: i64,
    page_size: u32,
) -> Result<ChangesPage, StoreError> {
    // Read from the database, not from memory: a commit another instance made a moment ago must
    // reach a device that asks now.
    let head = head(db).await?;
    if cursor >= head {
        // The device has everything committed: nothing in its scope (or leaving it) can lie
        // after its cursor, so its scope's rows are not read at all.
        return Ok(ChangesPage {
            documents: Vec::new(),
            removed: Vec::new(),
            cursor,
            more: false,
        });
    }
    let in_scope = scope.documents_sql();
    let mut conditions = Conditions::default();
    conditions.add(
        "d.seq > ? AND d.seq <= ?",
        [SqlArg::Int(cursor), SqlArg::Int(head)],
    );
    conditions.add(&in_scope, []);
    let sql = format!(
        "SELECT d.id, d.kind, d.bytes, d.listing, d.seq FROM documents d {} ORDER BY d.seq, d.id LIMIT {}",
        conditions.where_sql(),
        page_size + 1
    );
    let mut rows: Vec<PageRow> = conditions
        .bind(sqlx::query_as(AssertSqlSafe(sql)))
        .fetch_all(db.pool())
        .await?;
    let more = rows.len() > page_size as usize;
    if more {
        rows.truncate(page_size as usize);
        // A page ends between sequence numbers, so the next page (seq > cursor) misses nothing.
        let last = rows.last().map_or(cursor, |r| r.4);
        if rows.iter().any(|r| r.4 < last) {
            rows.retain(|r| r.4 < last);
        } else {
            let sql = format!(
                "SELECT d.id, d.kind, d.bytes, d.listing, d.seq FROM documents d WHERE d.seq = $1
                 AND {in_scope} ORDER BY d.id"
            );
            rows = sqlx::query_as(AssertSqlSafe(sql))
                .bind(last)
                .fetch_all(db.pool())
                .await?;
        }
    }
    let new_cursor = if more {
        rows.last().map_or(cursor, |r| r.4)
    } else {
        head.max(cursor)
    };
    let removed: Vec<String> = if cursor > 0 {
        let sql = format!(
            "SELECT DISTINCT e.document_id FROM scope_exits e
             WHERE ({exits}) AND e.seq > $1 AND e.seq <= $2
               AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.id = e.document_id AND {in_scope})",
            exits = scope.exits_sql(),
        );
        sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(cursor)
            .bind(new_cursor)
            .fetch_all(db.pool())
            .await?
    } else {
        Vec::new()
    };
    let documents = rows
        .into_iter()
        .map(|(id, kind, bytes, listing, _)| incoming((id, kind, bytes, listing)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ChangesPage {
        documents,
        removed,
        cursor: new_cursor,
        more,
    })
}

/// Whether anything in `scope` changed (or left it) with a sequence number in `(after, upto]`.
pub async fn scope_changed(
    db: &Database,
    scope: &DeviceScope,
    after: i64,
    upto: i64,
) -> Result<bool, StoreError> {
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT d.id FROM documents d WHERE d.seq > $1 AND d.seq <= $2
            AND {} LIMIT 1) found",
        scope.documents_sql()
    );
    let changed: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(after)
        .bind(upto)
        .fetch_one(db.pool())
        .await?;
    if changed > 0 {
        return Ok(true);
    }
    let sql = format!(
        "SELECT COUNT(*) FROM scope_exits e WHERE ({}) AND e.seq > $1 AND e.seq <= $2",
        scope.exits_sql()
    );
    let exits: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(after)
        .bind(upto)
        .fetch_one(db.pool())
        .await?;
    Ok(exits > 0)
}

/// A fingerprint of every registry table: it changes whenever a row is added or changes.
/// Registry rows are never deleted, so the newest id and the newest update say it all, and both
/// are index lookups. Kept in memory for `memo::FRESH_FOR`, and read again at once after this
/// process changed staff, units or sessions.
pub async fn registry_fingerprint(db: &Database) -> Result<String, StoreError> {
    if let Some(kept) = db.memo().fingerprint() {
        return Ok(kept);
    }
    let generation = db.registry_generation();
    let fingerprint = read_registry_fingerprint(db).await?;
    db.memo().keep_fingerprint(generation, &fingerprint);
    Ok(fingerprint)
}

async fn read_registry_fingerprint(db: &Database) -> Result<String, StoreError> {
    const TABLES: [&str; 6] = [
        "units",
        "staff",
        "communities",
        "buildings",
        "households",
        "customers",
    ];
    // One statement, one round trip, each part an index lookup: every MAX its own subquery,
    // because SQLite reads a MAX from an index only when it is the query's one aggregate (two in
    // one SELECT scanned the whole table — 600,000 households, every second).
    let newest = |table: &str, column: &str, none: &str| {
        format!("COALESCE((SELECT MAX({column}) FROM {table}), {none})")
    };
    let parts: Vec<String> = TABLES
        .iter()
        .map(|table| {
            format!(
                "'{table}:' || {} || ':' || {}",
                newest(table, "id", "0"),
                newest(table, "updated_at", "''")
            )
        })
        .chain(std::iter::once(format!(
            "'owners:' || {} || ':' || {}",
            newest("consultant_customers", "customer_id", "0"),
            newest("consultant_customers", "created_at", "''")
        )))
        .collect();
    let sql = format!("SELECT {}", parts.join(" || '|' || "));
    Ok(sqlx::query_scalar(AssertSqlSafe(sql))
        .fetch_one(db.pool())
        .await?)
}

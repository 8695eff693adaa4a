//! The change feed the devices sync from: documents by change-sequence number, the scope exits,
//! and what a device of a given scope may hold. Which scope a caller has is the domain's.

use huifang_protocol::{DocumentKind, IncomingDocument};
use sqlx::AssertSqlSafe;

use crate::db::{Database, id_list, placeholders, stored_code};
use crate::error::StoreError;
use crate::holders;
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
    /// The condition on `documents d` that keeps what the device holds, checked per row (for a
    /// handful of named documents). Staff and unit ids come from the session, written inline.
    fn holds_sql(&self) -> String {
        match &self.documents {
            None => "1 = 0".to_owned(),
            Some(WorkScope::All) => "1 = 1".to_owned(),
            Some(WorkScope::Units { staff_id, units }) => holders::holds_sql(*staff_id, units),
        }
    }

    /// `SELECT document_id, seq …`: the device's documents with the sequence number at which each
    /// reached it, where `condition` (on `seq`) holds, each arm ordered and cut at `limit` — read
    /// through an index by holder ([`crate::holders`]), or, for a device that holds everything,
    /// the documents themselves. A document may come more than once (by two holders).
    /// `None`: the device holds nothing.
    fn entries_sql(&self, condition: &str, limit: Option<u32>) -> Option<String> {
        match &self.documents {
            None => None,
            Some(WorkScope::All) => Some(format!(
                "SELECT id AS document_id, seq FROM documents WHERE {condition}{}",
                limit.map_or(String::new(), |l| format!(" ORDER BY seq, id LIMIT {l}"))
            )),
            Some(WorkScope::Units { staff_id, units }) => Some(holders::held_by_sql(
                *staff_id,
                units,
                condition,
                &limit.map_or(String::new(), |l| {
                    format!("ORDER BY seq, document_id LIMIT {l}")
                }),
            )),
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

/// A document as the feed reads it: id, kind, bytes, listing.
type FeedRow = (String, String, Vec<u8>, Option<Vec<u8>>);

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
    documents_named(db, ids, &scope.holds_sql()).await
}

/// The ids of every document the device may hold.
pub async fn ids_in_scope(db: &Database, scope: &DeviceScope) -> Result<Vec<String>, StoreError> {
    let Some(entries) = scope.entries_sql("1 = 1", None) else {
        return Ok(Vec::new());
    };
    let sql = format!("SELECT DISTINCT document_id FROM ({entries}) e");
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

/// The condition on an entry's `seq` that [`entries`] binds: in `(after, upto]`.
const IN_RANGE: &str = "seq > $1 AND seq <= $2";

/// The device's entries (document, sequence number at which it reached the device) in
/// `(after, upto]`, in order, at most `limit`; each pair once.
async fn entries(
    db: &Database,
    scope: &DeviceScope,
    after: i64,
    upto: i64,
    limit: Option<u32>,
) -> Result<Vec<(String, i64)>, StoreError> {
    let Some(entries) = scope.entries_sql(IN_RANGE, limit) else {
        return Ok(Vec::new());
    };
    let sql = format!(
        "SELECT DISTINCT document_id, seq FROM ({entries}) e ORDER BY seq, document_id{}",
        limit.map_or(String::new(), |l| format!(" LIMIT {l}"))
    );
    Ok(sqlx::query_as(AssertSqlSafe(sql))
        .bind(after)
        .bind(upto)
        .fetch_all(db.pool())
        .await?)
}

/// The documents named that meet `condition` (on `documents d`), in the order given (each once).
async fn documents_named(
    db: &Database,
    ids: &[&str],
    condition: &str,
) -> Result<Vec<IncomingDocument>, StoreError> {
    let mut found = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT d.id, d.kind, d.bytes, d.listing FROM documents d
             WHERE d.id IN ({}) AND {condition}",
            placeholders(1, chunk.len())
        );
        let mut query = sqlx::query_as(AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        let rows: Vec<FeedRow> = query.fetch_all(db.pool()).await?;
        found.extend(rows.into_iter().map(|row| (row.0.clone(), row)));
    }
    ids.iter()
        .filter_map(|id| found.remove(*id))
        .map(incoming)
        .collect()
}

/// The documents in `scope` changed (or newly its) after `cursor` (at most `page_size`, a page
/// never ending inside one sequence number), and those that left it.
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
    let mut rows = entries(db, scope, cursor, head, Some(page_size + 1)).await?;
    let more = rows.len() > page_size as usize;
    if more {
        rows.truncate(page_size as usize);
        // A page ends between sequence numbers, so the next page (seq > cursor) misses nothing.
        let last = rows.last().map_or(cursor, |r| r.1);
        if rows.iter().any(|r| r.1 < last) {
            rows.retain(|r| r.1 < last);
        } else {
            rows = entries(db, scope, last - 1, last, None).await?;
        }
    }
    let new_cursor = if more {
        rows.last().map_or(cursor, |r| r.1)
    } else {
        head.max(cursor)
    };
    let removed: Vec<String> = if cursor > 0 {
        let sql = format!(
            "SELECT DISTINCT e.document_id FROM scope_exits e
             WHERE ({exits}) AND e.seq > $1 AND e.seq <= $2
               AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.id = e.document_id AND {holds})",
            exits = scope.exits_sql(),
            holds = scope.holds_sql(),
        );
        sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(cursor)
            .bind(new_cursor)
            .fetch_all(db.pool())
            .await?
    } else {
        Vec::new()
    };
    // A document that reached the device twice in the page (by two holders) is sent once.
    let mut seen = std::collections::HashSet::new();
    let ids: Vec<&str> = rows
        .iter()
        .map(|(id, _)| id.as_str())
        .filter(|id| seen.insert(*id))
        .collect();
    // The entries are the device's already: no condition beyond being named.
    let documents = documents_named(db, &ids, "1 = 1").await?;
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
    if !entries(db, scope, after, upto, Some(1)).await?.is_empty() {
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
    const TABLES: [&str; 7] = [
        "units",
        "staff",
        "communities",
        "buildings",
        "households",
        "customers",
        // The survey forms taking answers travel with the reference rows.
        "survey_forms",
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

//! What goes back to a device: the documents that changed in its scope after its cursor (a page
//! at a time), those that left it, the whole scope when it changed, and the reference rows.

use huifang_protocol::{DocumentKind, IncomingDocument, ReferenceRows};
use huifang_store::db::{Conditions, SqlArg, id_list};
use huifang_store::scope::WorkScope;

use crate::Company;
use crate::auth::Caller;
use crate::error::Error;

/// The server's current copy of each named document the caller may hold.
pub(super) async fn current_copies(
    company: &Company,
    caller: &Caller,
    ids: &[&str],
) -> Result<Vec<IncomingDocument>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let in_scope = in_scope(caller);
    let sql =
        format!("SELECT d.id, d.kind, d.bytes FROM documents d WHERE d.id = $1 AND {in_scope}");
    let mut copies = Vec::new();
    for id in ids {
        let row: Option<(String, String, Vec<u8>)> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(*id)
                .fetch_optional(company.db().pool())
                .await?;
        if let Some((document_id, kind, bytes)) = row {
            let kind = kind
                .parse::<DocumentKind>()
                .map_err(|e| Error::internal(format!("stored kind of {document_id}: {e}")))?;
            copies.push(IncomingDocument {
                document_id,
                kind,
                bytes,
            });
        }
    }
    Ok(copies)
}

/// What decides which documents the caller's devices hold: who, in which role and units. It is
/// checked on every sync (the session's own facts, read at each request), so a move by import or
/// by an administrator reaches the phone at its next sync.
pub(super) fn scope_version(caller: &Caller) -> String {
    use sha2::Digest;
    let scope = format!(
        "{}:{}:{:?}:{}",
        caller.staff_id,
        caller.role,
        caller.work_units,
        caller.sees_customer_phones()
    );
    hex::encode(&sha2::Sha256::digest(scope.as_bytes())[..16])
}

/// The ids of every document the caller's devices may hold.
pub(super) async fn documents_in_scope(
    company: &Company,
    caller: &Caller,
) -> Result<Vec<String>, Error> {
    let sql = format!("SELECT d.id FROM documents d WHERE {}", in_scope(caller));
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_all(company.db().pool())
        .await?)
}

/// A fingerprint of the registry as the caller sees it: it changes whenever any registry row
/// changes, so a device downloads reference rows only when they changed.
pub(super) async fn reference_version(company: &Company, caller: &Caller) -> Result<String, Error> {
    let mut parts = vec![format!(
        "{}:{}:{:?}",
        caller.staff_id, caller.role, caller.work_units
    )];
    for table in [
        "units",
        "staff",
        "communities",
        "buildings",
        "households",
        "customers",
    ] {
        // Registry rows are never deleted: the newest id and the newest update say it all, and
        // both are index lookups.
        let (count, latest): (Option<i64>, Option<String>) = sqlx::query_as(sqlx::AssertSqlSafe(
            format!("SELECT MAX(id), MAX(updated_at) FROM {table}"),
        ))
        .fetch_one(company.db().pool())
        .await?;
        parts.push(format!(
            "{table}:{}:{}",
            count.unwrap_or(0),
            latest.unwrap_or_default()
        ));
    }
    let (owned, latest): (Option<i64>, Option<String>) =
        sqlx::query_as("SELECT MAX(customer_id), MAX(created_at) FROM consultant_customers")
            .fetch_one(company.db().pool())
            .await?;
    parts.push(format!(
        "owners:{}:{}",
        owned.unwrap_or(0),
        latest.unwrap_or_default()
    ));
    use sha2::Digest;
    Ok(hex::encode(sha2::Sha256::digest(
        parts.join("|").as_bytes(),
    )))
}

/// The registry rows of the caller's scope.
pub(super) async fn reference_rows(
    company: &Company,
    caller: &Caller,
    version: String,
) -> Result<ReferenceRows, Error> {
    let registry = company.registry();
    let units = registry.list_units(None, None, None).await?;
    let mut staff = Vec::new();
    let mut households = Vec::new();
    let staff_filter = huifang_store::registry::StaffFilter::default();
    let household_filter = huifang_store::registry::HouseholdFilter::default();
    let mut offset = 0;
    loop {
        let page = huifang_store::registry::PageRequest { limit: 500, offset };
        let got = registry
            .list_staff(caller.staff_scope(), &staff_filter, page)
            .await?
            .items;
        let done = got.len() < 500;
        offset += got.len() as u64;
        staff.extend(got);
        if done {
            break;
        }
    }
    let mut offset = 0;
    loop {
        let page = huifang_store::registry::PageRequest { limit: 500, offset };
        let got = registry
            .list_households(
                caller.household_scope(),
                &household_filter,
                page,
                caller.sees_customer_phones(),
            )
            .await?
            .items;
        let done = got.len() < 500;
        offset += got.len() as u64;
        households.extend(got);
        if done {
            break;
        }
    }
    Ok(ReferenceRows {
        version,
        units,
        staff,
        households,
    })
}

/// The condition on `documents d` that keeps what a device of `caller` holds. It is checked per
/// candidate row (correlated `EXISTS`), so a sync costs what its sequence range holds, not what
/// the whole scope holds. Staff and unit ids come from the session, so they are written inline.
pub(super) fn in_scope(caller: &Caller) -> String {
    // Documents carry customers' phone numbers in full; whoever sees them masked (the general
    // manager, administrators) reads through the API and the dashboard, which mask them.
    if !caller.sees_customer_phones() {
        return "1 = 0".to_owned();
    }
    let scope = caller.work_scope();
    match &scope {
        WorkScope::All => "1 = 1".to_owned(),
        WorkScope::Units { staff_id, units } => format!(
            "((d.kind = {follow_up} AND EXISTS (SELECT 1 FROM follow_ups fx WHERE fx.id = d.id
                 AND (fx.assignee_staff_id = {staff_id}
                      OR (fx.assignee_staff_id IS NULL AND fx.assignee_unit_id IN ({units})))))
              OR (d.kind = {sheet} AND EXISTS (SELECT 1 FROM sheets s WHERE s.id = d.id AND {sheet_scope})))",
            units = id_list(units),
            follow_up = huifang_store::db::code(DocumentKind::FollowUp),
            sheet = huifang_store::db::code(DocumentKind::Sheet),
            sheet_scope = huifang_store::sheets::scope_sql(&scope).unwrap_or_else(|| "1 = 1".into()),
        ),
    }
}

/// The condition on `scope_exits e` that finds exits concerning the caller: theirs, or of a
/// unit whose work they do (ids from the session, written inline).
pub(super) fn exits_of(caller: &Caller) -> String {
    let units = match caller.own_work() {
        WorkScope::Units { units, .. } => units,
        WorkScope::All => Vec::new(),
    };
    format!(
        "e.staff_id = {} OR e.unit_id IN ({})",
        caller.staff_id,
        id_list(&units)
    )
}

/// The documents in the caller's scope changed after `cursor` (one page),the documents that
/// left the scope, the new cursor and whether more pages wait.
pub(super) async fn outgoing(
    company: &Company,
    caller: &Caller,
    cursor: i64,
    page_size: u32,
) -> Result<(Vec<IncomingDocument>, Vec<String>, i64, bool), Error> {
    let db = company.db();
    // Read first: every document with a sequence number up to this value is committed, because
    // document writers take their numbers one at a time under the change-sequence lock.
    let head: i64 = sqlx::query_scalar("SELECT value FROM change_sequence WHERE id = 1")
        .fetch_one(db.pool())
        .await?;
    let in_scope = in_scope(caller);
    let mut conditions = Conditions::default();
    conditions.add(
        "d.seq > ? AND d.seq <= ?",
        [SqlArg::Int(cursor), SqlArg::Int(head)],
    );
    conditions.add(&in_scope, []);
    let sql = format!(
        "SELECT d.id, d.kind, d.bytes, d.seq FROM documents d {} ORDER BY d.seq, d.id LIMIT {}",
        conditions.where_sql(),
        page_size + 1
    );
    let mut rows: Vec<(String, String, Vec<u8>, i64)> = conditions
        .bind(sqlx::query_as(sqlx::AssertSqlSafe(sql)))
        .fetch_all(db.pool())
        .await?;
    let more = rows.len() > page_size as usize;
    if more {
        rows.truncate(page_size as usize);
        // A page ends between sequence numbers, so the next page (seq > cursor) misses nothing.
        let last = rows.last().map_or(cursor, |r| r.3);
        if rows.iter().any(|r| r.3 < last) {
            rows.retain(|r| r.3 < last);
        } else {
            let sql = format!(
                "SELECT d.id, d.kind, d.bytes, d.seq FROM documents d WHERE d.seq = $1
                 AND {in_scope} ORDER BY d.id"
            );
            rows = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(last)
                .fetch_all(db.pool())
                .await?;
        }
    }
    let new_cursor = if more {
        rows.last().map_or(cursor, |r| r.3)
    } else {
        head.max(cursor)
    };
    let removed: Vec<String> = if cursor > 0 {
        let sql = format!(
            "SELECT DISTINCT e.document_id FROM scope_exits e
             WHERE ({exits}) AND e.seq > $1 AND e.seq <= $2
               AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.id = e.document_id AND {in_scope})",
            exits = exits_of(caller),
        );
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(cursor)
            .bind(new_cursor)
            .fetch_all(db.pool())
            .await?
    } else {
        Vec::new()
    };
    let documents = rows
        .into_iter()
        .map(|(id, kind, bytes, _)| {
            let kind = kind
                .parse::<DocumentKind>()
                .map_err(|e| Error::internal(format!("stored kind of {id}: {e}")))?;
            Ok(IncomingDocument {
                document_id: id,
                kind,
                bytes,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok((documents, removed, new_cursor, more))
}

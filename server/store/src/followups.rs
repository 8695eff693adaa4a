//! The follow-up projection and its queries.

use huifang_protocol::{
    DocumentKind, FollowUp, FollowUpKind, FollowUpMethod, FollowUpStatus, Labelled, Page,
    parse_time,
};
use serde::Serialize;
use sqlx::{AssertSqlSafe, FromRow};

use crate::db::{AnyConnection, ColumnType, Conditions, Database, SqlArg, id_list};
use crate::documents::DocWrite;
use crate::error::StoreError;
use crate::registry::PageRequest;

/// The projection's columns, in the order [`row`] gives their values.
const PROJECTION_COLUMNS: [&str; 25] = [
    "id",
    "kind",
    "sheet_id",
    "household_id",
    "customer_id",
    "customer_name",
    "assignee_unit_id",
    "assignee_staff_id",
    "rule",
    "status",
    "due_at",
    "due_month",
    "method",
    "done_at",
    "done_on_time",
    "rating_handling",
    "rating_efficiency",
    "rating_quality",
    "rating_attitude",
    "rating_overall",
    "unreachable_attempts",
    "overdue_at",
    "created_at",
    "updated_at",
    "signature_blob",
];

/// What the monthly figures group a follow-up by beside its own columns (see
/// [`crate::rollups`]): its sheet's community, category and complaint level — its household's
/// community, its kind and no level when it has no sheet. Looked up in the projection's own
/// statement (`$2` kind, `$3` sheet, `$4` household); the sheet's triggers keep them current.
const GROUPED_BY: [&str; 3] = ["community_id", "category", "level"];

/// The values of [`GROUPED_BY`] for a follow-up whose kind, sheet and household are the SQL
/// expressions given.
fn sheet_grouping(kind: &str, sheet: &str, household: &str) -> String {
    format!(
        "COALESCE((SELECT s.community_id FROM sheets s WHERE s.id = {sheet}),
            (SELECT h.community_id FROM households h WHERE h.id = {household})),
         COALESCE((SELECT s.category FROM sheets s WHERE s.id = {sheet}), {kind}),
         COALESCE((SELECT s.level FROM sheets s WHERE s.id = {sheet}), 'none')"
    )
}

/// One bound value of a projection row (typed, so PostgreSQL knows a NULL's type).
enum Column {
    Int(Option<i64>),
    Text(Option<String>),
}

/// A follow-up's projection row, as bound values in [`PROJECTION_COLUMNS`] order.
fn row(write: &DocWrite, follow_up: &FollowUp) -> Result<Vec<Column>, StoreError> {
    let due = parse_time("due_at", &follow_up.due_at).map_err(StoreError::invalid)?;
    let outcome = follow_up.outcome.as_ref();
    // D-STA-3: on time when the outcome (done, or unreachable at the last attempt) was recorded
    // by the deadline.
    let done_on_time = follow_up
        .outcome_at()
        .map(|at| parse_time("outcome", at).map(|at| i64::from(crate::measures::on_time(at, due))))
        .transpose()
        .map_err(StoreError::invalid)?;
    let text = Column::Text;
    let int = Column::Int;
    let rating = |pick: fn(&huifang_protocol::Ratings) -> u8| {
        Column::Int(outcome.map(|o| i64::from(pick(&o.ratings))))
    };
    let some_text = |value: &str| Column::Text(Some(value.to_owned()));
    Ok(vec![
        some_text(&follow_up.id),
        some_text(follow_up.kind.code()),
        text(follow_up.sheet_id.clone()),
        int(follow_up.household_id),
        int(follow_up.customer_id),
        some_text(&follow_up.customer_name),
        int(Some(follow_up.assignee_unit_id)),
        int(follow_up.assignee_staff_id),
        some_text(follow_up.rule.code()),
        some_text(follow_up.status.code()),
        some_text(&huifang_protocol::format_time(due)),
        some_text(&write.month_of(due)),
        text(outcome.map(|o| o.method.code().to_owned())),
        text(outcome.map(|o| o.done_at.clone())),
        int(done_on_time),
        rating(|r| r.handling),
        rating(|r| r.efficiency),
        rating(|r| r.quality),
        rating(|r| r.attitude),
        rating(|r| r.overall),
        int(Some(
            i64::try_from(follow_up.unreachable_attempts.len()).unwrap_or(i64::MAX),
        )),
        text(follow_up.overdue_at.clone()),
        some_text(&follow_up.created_at),
        some_text(&write.now_text()),
        text(follow_up.signature.as_ref().map(|s| s.blob_sha256.clone())),
    ])
}

/// Rewrites a follow-up's projection row from the document, in the document's transaction.
pub async fn project(write: &mut DocWrite, follow_up: &FollowUp) -> Result<(), StoreError> {
    let values = row(write, follow_up)?;
    let sql = format!(
        "INSERT INTO follow_ups ({}, {grouped}) VALUES ({}, {grouping})
         ON CONFLICT (id) DO UPDATE SET {}",
        PROJECTION_COLUMNS.join(", "),
        crate::db::placeholders(1, values.len()),
        projection_updates(),
        grouped = GROUPED_BY.join(", "),
        grouping = sheet_grouping("$2", "$3", "$4"),
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for value in values {
        query = match value {
            Column::Int(v) => query.bind(v),
            Column::Text(v) => query.bind(v),
        };
    }
    query.execute(write.tx()).await?;
    crate::holders::rewrite_follow_ups(write, &[follow_up]).await
}

/// `column = excluded.column` for every column an upsert of the projection rewrites.
fn projection_updates() -> String {
    PROJECTION_COLUMNS[1..]
        .iter()
        .chain(&GROUPED_BY)
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rewrites many follow-ups' projection rows in one statement (the planner's batch), as
/// [`project`] does one.
pub async fn project_all(write: &mut DocWrite, follow_ups: &[&FollowUp]) -> Result<(), StoreError> {
    let values = follow_ups
        .iter()
        .map(|follow_up| row(write, follow_up))
        .collect::<Result<Vec<_>, StoreError>>()?;
    let Some(first) = values.first() else {
        return Ok(());
    };
    let columns: Vec<(&str, ColumnType)> = PROJECTION_COLUMNS
        .iter()
        .zip(first)
        .map(|(name, value)| match value {
            Column::Int(_) => (*name, ColumnType::Int),
            Column::Text(_) => (*name, ColumnType::Text),
        })
        .collect();
    let rows: Vec<serde_json::Value> = values
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|value| match value {
                    Column::Int(v) => serde_json::json!(v),
                    Column::Text(v) => serde_json::json!(v),
                })
                .collect()
        })
        .collect();
    let sql = format!(
        "INSERT INTO follow_ups ({}, {grouped}) SELECT v.*, {grouping} FROM ({rows}) v WHERE true
         ON CONFLICT (id) DO UPDATE SET {}",
        PROJECTION_COLUMNS.join(", "),
        projection_updates(),
        grouped = GROUPED_BY.join(", "),
        grouping = sheet_grouping("v.kind", "v.sheet_id", "v.household_id"),
        rows = crate::db::json_rows(write.backend(), &columns),
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(crate::db::json_param(&rows)?)
        .execute(write.tx())
        .await?;
    crate::holders::rewrite_follow_ups(write, follow_ups).await
}

/// The projection of follow-ups the deadline job marked overdue at `overdue_at`: the job changes
/// only the document's `overdue_at` (and its escalations, which the projection does not hold),
/// so only that column and `updated_at` follow — one statement for a whole batch. The projection
/// tests check it against [`project`].
pub async fn project_overdue(
    write: &mut DocWrite,
    ids: &[String],
    overdue_at: &str,
) -> Result<(), StoreError> {
    let now = write.now_text();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "UPDATE follow_ups SET overdue_at = $1, updated_at = $2 WHERE id IN ({})",
            crate::db::placeholders(3, chunk.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(overdue_at).bind(&now);
        for id in chunk {
            query = query.bind(id.as_str());
        }
        query.execute(write.tx()).await?;
    }
    crate::holders::follow_documents(write, ids).await
}

impl crate::documents::Stored for FollowUp {
    async fn project(&self, write: &mut DocWrite) -> Result<(), StoreError> {
        project(write, self).await?;
        crate::photos::record(write, DocumentKind::FollowUp, &self.id, &self.photos).await
    }

    async fn project_all(values: &[&Self], write: &mut DocWrite) -> Result<(), StoreError> {
        project_all(write, values).await?;
        for value in values {
            crate::photos::record(write, DocumentKind::FollowUp, &value.id, &value.photos).await?;
        }
        Ok(())
    }

    fn audit_detail(&self) -> serde_json::Value {
        serde_json::json!({ "status": self.status, "assignee_staff_id": self.assignee_staff_id,
                            "assignee_unit_id": self.assignee_unit_id, "rule": self.rule })
    }
}

/// A follow-up as lists show it (from the projection).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromRow)]
pub struct FollowUpSummary {
    pub id: String,
    pub kind: String,
    pub sheet_id: Option<String>,
    pub household_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub customer_name: String,
    pub assignee_unit_id: i64,
    pub assignee_staff_id: Option<i64>,
    pub rule: String,
    pub status: String,
    pub due_at: String,
    pub method: Option<String>,
    pub done_at: Option<String>,
    /// Whether the outcome was recorded by the deadline (D-STA-3); `null` without an outcome.
    /// Stored as 0/1, answered as a boolean.
    #[serde(serialize_with = "as_bool")]
    pub done_on_time: Option<i64>,
    pub rating_overall: Option<i64>,
    pub unreachable_attempts: i64,
    pub overdue_at: Option<String>,
    pub created_at: String,
}

fn as_bool<S: serde::Serializer>(value: &Option<i64>, serializer: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&value.map(|v| v != 0), serializer)
}

const SUMMARY_COLUMNS: &str =
    "f.id, f.kind, f.sheet_id, f.household_id, f.customer_id, f.customer_name,
    f.assignee_unit_id, f.assignee_staff_id, f.rule, f.status, f.due_at, f.method, f.done_at,
    f.done_on_time, f.rating_overall, f.unreachable_attempts, f.overdue_at, f.created_at";

/// Whose follow-ups a list shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUpView {
    /// Assigned to the staff member, or to their own unit without a named person.
    Mine {
        staff_id: i64,
        unit_id: Option<i64>,
    },
    /// Assigned to any of these units.
    Units(Vec<i64>),
    All,
}

#[derive(Debug, Default, Clone)]
pub struct FollowUpFilter {
    pub id: Option<String>,
    pub status: Option<FollowUpStatus>,
    pub kind: Option<FollowUpKind>,
    pub unit_id: Option<i64>,
    pub sheet_id: Option<String>,
    /// Only overdue (true) or only not overdue (false).
    pub overdue: Option<bool>,
    /// Open and due before this time (RFC 3339): "due soon".
    pub due_before: Option<String>,
}

/// A summary with the number of rows its query matched.
#[derive(FromRow)]
struct Counted {
    #[sqlx(flatten)]
    summary: FollowUpSummary,
    total_rows: i64,
}

pub async fn list(
    db: &Database,
    view: &FollowUpView,
    filter: &FollowUpFilter,
    page: PageRequest,
) -> Result<Page<FollowUpSummary>, StoreError> {
    let mut conditions = Conditions::default();
    match view {
        FollowUpView::Mine { staff_id, unit_id } => {
            conditions.add(
                "(f.assignee_staff_id = ? OR (f.assignee_staff_id IS NULL AND f.assignee_unit_id = ?))",
                [SqlArg::Int(*staff_id), SqlArg::Int(unit_id.unwrap_or(-1))],
            );
        }
        FollowUpView::Units(units) => {
            conditions.add(&format!("f.assignee_unit_id IN ({})", id_list(units)), []);
        }
        FollowUpView::All => {}
    }
    if let Some(id) = &filter.id {
        conditions.add("f.id = ?", [SqlArg::Text(id.clone())]);
    }
    if let Some(status) = filter.status {
        conditions.add("f.status = ?", [SqlArg::Text(status.code().into())]);
    }
    if let Some(kind) = filter.kind {
        conditions.add("f.kind = ?", [SqlArg::Text(kind.code().into())]);
    }
    if let Some(unit) = filter.unit_id {
        conditions.add("f.assignee_unit_id = ?", [SqlArg::Int(unit)]);
    }
    if let Some(sheet) = &filter.sheet_id {
        conditions.add("f.sheet_id = ?", [SqlArg::Text(sheet.clone())]);
    }
    match filter.overdue {
        Some(true) => {
            conditions.add(&crate::measures::overdue(), []);
        }
        Some(false) => {
            conditions.add("f.overdue_at IS NULL", []);
        }
        None => {}
    }
    if let Some(before) = &filter.due_before {
        conditions.add(
            &format!(
                "f.status = {} AND f.due_at < ?",
                crate::db::code(FollowUpStatus::Open)
            ),
            [SqlArg::Text(before.clone())],
        );
    }
    let where_sql = conditions.where_sql();
    // The page and the total in one statement (the count is a window over every matching row,
    // taken before LIMIT); only a page past the end asks for the total apart.
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}, COUNT(*) OVER () AS total_rows FROM follow_ups f {where_sql}
         ORDER BY f.due_at, f.id LIMIT {} OFFSET {}",
        page.limit, page.offset
    );
    let rows: Vec<Counted> = conditions
        .bind(sqlx::query_as(AssertSqlSafe(sql)))
        .fetch_all(db.pool())
        .await?;
    let total = match rows.first() {
        Some(first) => first.total_rows,
        None => {
            let (total,): (i64,) = conditions
                .bind(sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT COUNT(*) FROM follow_ups f {where_sql}"
                ))))
                .fetch_one(db.pool())
                .await?;
            total
        }
    };
    let items = rows.into_iter().map(|row| row.summary).collect();
    Ok(Page {
        items,
        total,
        limit: page.limit,
        offset: page.offset,
    })
}

/// Every follow-up of a sheet, oldest first.
pub async fn for_sheet(db: &Database, sheet_id: &str) -> Result<Vec<FollowUpSummary>, StoreError> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM follow_ups f WHERE f.sheet_id = $1 ORDER BY f.created_at, f.id"
    );
    Ok(sqlx::query_as(AssertSqlSafe(sql))
        .bind(sheet_id)
        .fetch_all(db.pool())
        .await?)
}

/// The follow-ups whose customer signature is blob `hash` (D-SIG-1).
pub async fn signed_with(db: &Database, hash: &str) -> Result<Vec<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM follow_ups WHERE signature_blob = $1")
            .bind(hash)
            .fetch_all(db.pool())
            .await?,
    )
}

/// Whether a follow-up other than `except` already holds signature blob `hash`.
pub async fn signature_used_elsewhere(
    tx: &mut AnyConnection,
    hash: &str,
    except: &str,
) -> Result<bool, StoreError> {
    let others: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM follow_ups WHERE signature_blob = $1 AND id <> $2",
    )
    .bind(hash)
    .bind(except)
    .fetch_one(&mut *tx)
    .await?;
    Ok(others > 0)
}

/// Whether the customer signed for sheet `sheet_id` (an on-site signature follow-up, or one
/// carrying a signature).
pub async fn customer_signed(tx: &mut AnyConnection, sheet_id: &str) -> Result<bool, StoreError> {
    let signed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM follow_ups WHERE sheet_id = $1
         AND (method = $2 OR signature_blob IS NOT NULL)",
    )
    .bind(sheet_id)
    .bind(FollowUpMethod::OnSiteSignature.code())
    .fetch_one(&mut *tx)
    .await?;
    Ok(signed > 0)
}

/// Whether sheet `sheet_id` has its information follow-up already (in a write's transaction).
pub async fn has_information_follow_up(
    tx: &mut AnyConnection,
    sheet_id: &str,
) -> Result<bool, StoreError> {
    let existing: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM follow_ups WHERE sheet_id = $1 AND kind = $2")
            .bind(sheet_id)
            .bind(FollowUpKind::Information.code())
            .fetch_one(&mut *tx)
            .await?;
    Ok(existing > 0)
}

/// Open follow-ups past their deadline (`now`) and not yet marked overdue: information
/// follow-ups first (theirs is the 24-hour deadline, R-INF-4), then by deadline.
pub async fn past_deadline(db: &Database, now: &str) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM follow_ups WHERE status = $1 AND overdue_at IS NULL AND due_at <= $2
         ORDER BY CASE WHEN kind = $3 THEN 0 ELSE 1 END, due_at, id",
    )
    .bind(FollowUpStatus::Open.code())
    .bind(now)
    .bind(FollowUpKind::Information.code())
    .fetch_all(db.pool())
    .await?)
}

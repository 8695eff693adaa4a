//! What the monthly Service Bulletin (R-STA-1) reads beyond the figures and the units: the
//! complaint categories seen most, and the follow-ups that went overdue.

use huifang_protocol::{ComplaintLevel, Labelled};
use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, FromRow};

use crate::db::Database;
use crate::error::StoreError;
use crate::measures;

/// The complaint categories of the sheets accepted in `month` (`2026-11`), most first (at most
/// `limit`), with how many: from the monthly roll-up's sheet counts.
pub async fn top_complaints(
    db: &Database,
    month: &str,
    limit: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT category, CAST(SUM(sheets_accepted) AS BIGINT) AS complaints FROM monthly_rollups
         WHERE month = $1 AND level <> $3 AND sheets_accepted <> 0
         GROUP BY category HAVING SUM(sheets_accepted) > 0
         ORDER BY complaints DESC, category LIMIT $2",
    )
    .bind(month)
    .bind(limit)
    .bind(ComplaintLevel::None.code())
    .fetch_all(db.pool())
    .await?)
}

/// A follow-up of the month that went overdue and is still not done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromRow)]
pub struct OverdueLine {
    pub follow_up_id: String,
    pub kind: String,
    pub unit_name: String,
    pub assignee_name: Option<String>,
    pub customer_name: String,
    pub category: Option<String>,
    pub due_at: String,
    pub overdue_at: String,
    pub status: String,
}

/// The first `limit` follow-ups due in `month` that are overdue, by due time (how many there
/// are is a figure: [`crate::figures`]' `overdue`).
pub async fn overdue(
    db: &Database,
    month: &str,
    limit: i64,
) -> Result<Vec<OverdueLine>, StoreError> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT f.id AS follow_up_id, f.kind, u.name AS unit_name, st.name AS assignee_name,
            f.customer_name, s.category, f.due_at, f.overdue_at, f.status
         FROM follow_ups f
         JOIN units u ON u.id = f.assignee_unit_id
         LEFT JOIN staff st ON st.id = f.assignee_staff_id
         LEFT JOIN sheets s ON s.id = f.sheet_id
         WHERE f.due_month = $1 AND {overdue}
         ORDER BY f.due_at, f.id LIMIT $2",
        overdue = measures::overdue(),
    )))
    .bind(month)
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

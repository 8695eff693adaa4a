//! Reading analysis reports back: one with its figures and measures, the list of a unit's
//! reports, and the measures still open.

use sqlx::FromRow;

use super::*;

#[derive(FromRow)]
struct ReportRow {
    id: i64,
    unit_id: i64,
    unit_name: String,
    author_id: i64,
    author_name: String,
    period_from: String,
    period_to: String,
    title: String,
    findings: String,
    figures: String,
    figures_sha256: String,
    created_at: String,
}

#[derive(FromRow)]
struct MeasureRow {
    id: i64,
    report_id: i64,
    unit_id: i64,
    description: String,
    owner_id: i64,
    owner_name: String,
    due_on: Option<String>,
    status: String,
    updated_at: String,
}

impl TryFrom<MeasureRow> for Measure {
    type Error = Error;

    fn try_from(row: MeasureRow) -> Result<Self, Error> {
        Ok(Measure {
            status: MeasureStatus::parse(&row.status)?,
            id: row.id,
            report_id: row.report_id,
            unit_id: row.unit_id,
            description: row.description,
            owner_id: row.owner_id,
            owner_name: row.owner_name,
            due_on: row.due_on,
            updated_at: row.updated_at,
        })
    }
}

const MEASURE_SELECT: &str = "SELECT m.id, m.report_id, m.unit_id, m.description, m.owner_id,
        st.name AS owner_name, m.due_on, m.status, m.updated_at
    FROM improvement_measures m JOIN staff st ON st.id = m.owner_id";

fn broken(id: i64, what: &str) -> Error {
    Error::internal(format!("analysis report {id} has a broken {what}"))
}

/// One report, whole.
pub async fn get(db: &Database, id: i64) -> Result<Analysis, Error> {
    let row: ReportRow = sqlx::query_as(
        "SELECT r.id, r.unit_id, u.name AS unit_name, r.author_id, st.name AS author_name,
            r.period_from, r.period_to, r.title, r.findings, r.figures, r.figures_sha256,
            r.created_at
         FROM analysis_reports r
         JOIN units u ON u.id = r.unit_id
         JOIN staff st ON st.id = r.author_id
         WHERE r.id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| Error::NotFound(format!("no analysis report {id}")))?;
    let measures: Vec<MeasureRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{MEASURE_SELECT} WHERE m.report_id = $1 ORDER BY m.id"
    )))
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    let reviews: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT measure_id, status, comment FROM measure_reviews WHERE report_id = $1
         ORDER BY measure_id",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    Ok(Analysis {
        id: row.id,
        unit_id: row.unit_id,
        unit_name: row.unit_name,
        author_id: row.author_id,
        author_name: row.author_name,
        from: row.period_from.parse().map_err(|_| broken(id, "period"))?,
        to: row.period_to.parse().map_err(|_| broken(id, "period"))?,
        title: row.title,
        findings: row.findings,
        figures: serde_json::from_str(&row.figures).map_err(|_| broken(id, "snapshot"))?,
        figures_sha256: row.figures_sha256,
        created_at: row.created_at,
        measures: measures
            .into_iter()
            .map(Measure::try_from)
            .collect::<Result<_, _>>()?,
        reviews: reviews
            .into_iter()
            .map(|(measure_id, status, comment)| {
                Ok(Review {
                    measure_id,
                    status: MeasureStatus::parse(&status)?,
                    comment,
                })
            })
            .collect::<Result<_, Error>>()?,
    })
}

/// Reports, newest first, of some units (`None`: every unit).
pub async fn list(db: &Database, units: Option<&[i64]>) -> Result<Vec<AnalysisSummary>, Error> {
    let filter = units.map_or_else(String::new, |ids| {
        format!("WHERE r.unit_id IN ({})", id_list(ids))
    });
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT r.id, r.unit_id, u.name AS unit_name, st.name AS author_name, r.period_from,
            r.period_to, r.title, r.created_at,
            (SELECT COUNT(*) FROM improvement_measures m WHERE m.report_id = r.id) AS measures,
            (SELECT COUNT(*) FROM measure_reviews v WHERE v.report_id = r.id) AS reviews
         FROM analysis_reports r
         JOIN units u ON u.id = r.unit_id
         JOIN staff st ON st.id = r.author_id
         {filter}
         ORDER BY r.created_at DESC, r.id DESC"
    )))
    .fetch_all(db.pool())
    .await?)
}

/// Measures of some units (`None`: every unit), optionally only the open ones.
pub async fn measures(
    db: &Database,
    units: Option<&[i64]>,
    open_only: bool,
) -> Result<Vec<Measure>, Error> {
    let mut conditions = Vec::new();
    if let Some(ids) = units {
        conditions.push(format!("m.unit_id IN ({})", id_list(ids)));
    }
    if open_only {
        conditions.push(format!(
            "m.status IN ('{}', '{}')",
            MeasureStatus::Planned.code(),
            MeasureStatus::InProgress.code()
        ));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let rows: Vec<MeasureRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{MEASURE_SELECT} {filter} ORDER BY m.unit_id, m.id"
    )))
    .fetch_all(db.pool())
    .await?;
    rows.into_iter().map(Measure::try_from).collect()
}

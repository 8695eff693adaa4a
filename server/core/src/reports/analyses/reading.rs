//! Reading analysis reports back: one with its figures and measures, the list of a unit's
//! reports, and the measures still open.

use super::*;

fn broken(id: i64, what: &str) -> Error {
    Error::internal(format!("analysis report {id} has a broken {what}"))
}

/// One report, whole.
pub async fn get(db: &Database, id: i64) -> Result<Analysis, Error> {
    let stored::StoredReport {
        report: row,
        measures,
        reviews,
    } = stored::get(db, id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no analysis report {id}")))?;
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
        measures,
        reviews,
    })
}

/// Reports, newest first, of some units (`None`: every unit).
pub async fn list(db: &Database, units: Option<&[i64]>) -> Result<Vec<AnalysisSummary>, Error> {
    Ok(stored::list(db, units).await?)
}

/// Measures of some units (`None`: every unit), optionally only the open ones.
pub async fn measures(
    db: &Database,
    units: Option<&[i64]>,
    open_only: bool,
) -> Result<Vec<Measure>, Error> {
    Ok(stored::measures(db, units, open_only).await?)
}

//! The monthly Service Bulletin (服务简报, R-STA-1): the development department's account of the
//! company's follow-up work in a month — the headline figures against last month, a line per
//! reporting unit with whether it submitted, the satisfaction trend, the complaint categories
//! seen most, and the follow-ups that went overdue. Built from the same figures as the API, so
//! the bulletin and the figures never disagree.

use huifang_protocol::UnitKind;
use serde::{Deserialize, Serialize};

use super::figures::{self, Figures, GroupBy, ratio};
use super::submissions;
use crate::error::Error;
use crate::plans::Month;
use huifang_store::db::Database;

/// How many months the satisfaction trend covers, the bulletin's month included.
pub const TREND_MONTHS: usize = 6;
/// How many complaint categories the bulletin names.
pub const TOP_CATEGORIES: usize = 5;
/// How many overdue follow-ups the bulletin lists (it counts them all).
pub const OVERDUE_LISTED: i64 = 200;

/// A headline figure this month and last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    /// `sheets_accepted`, `follow_ups_due`, `follow_ups_done`, `on_time_rate` (the 24-hour rate
    /// of D-STA-3), `overall_mean`, `overdue`, `unreachable`, `routine_done`,
    /// `routine_completion_rate`.
    pub measure: String,
    pub value: Option<f64>,
    pub previous: Option<f64>,
    /// `value − previous` (percentage points for the rate).
    pub change: Option<f64>,
}

/// One reporting unit's line: its figures (with the units under it) and its submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitLine {
    pub unit_id: i64,
    pub unit_code: String,
    pub unit_name: String,
    pub unit_kind: UnitKind,
    pub figures: Figures,
    /// `None` for units that do not submit (the development department).
    pub submitted: Option<bool>,
    pub late: bool,
}

/// A month of the satisfaction trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    pub month: Month,
    pub follow_ups_done: i64,
    pub on_time_rate: Option<f64>,
    pub overall_mean: Option<f64>,
}

/// A complaint category and how many complaints (sheets with a complaint level) it had.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryCount {
    pub category: String,
    pub complaints: i64,
}

pub use huifang_store::bulletin::OverdueLine;

/// The Service Bulletin of a month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bulletin {
    pub month: Month,
    pub headline: Vec<Headline>,
    pub this_month: Figures,
    pub last_month: Figures,
    pub units: Vec<UnitLine>,
    pub trend: Vec<TrendPoint>,
    pub top_complaints: Vec<CategoryCount>,
    pub overdue_total: i64,
    /// The first [`OVERDUE_LISTED`], earliest due first.
    pub overdue: Vec<OverdueLine>,
}

/// The single group of a `GroupBy::Total` report (zeros when nothing happened).
pub fn total(report: figures::FiguresReport) -> Figures {
    report.groups.into_iter().next().unwrap_or_else(|| Figures {
        key: "total".into(),
        ..Figures::default()
    })
}

/// The overall-satisfaction mean from its distribution (exact: every rated follow-up counts).
pub fn overall_mean(figures: &Figures) -> Option<f64> {
    let rated: i64 = figures.overall_distribution.iter().sum();
    let sum: i64 = (1..=5)
        .zip(figures.overall_distribution)
        .map(|(score, count)| score * count)
        .sum();
    ratio(sum, rated)
}

/// The headline measures of `this` month against `last`.
pub fn headline(this: &Figures, last: &Figures) -> Vec<Headline> {
    let count = |f: &Figures, measure: &str| -> Option<f64> {
        Some(match measure {
            "sheets_accepted" => f.sheets_accepted as f64,
            "follow_ups_due" => f.follow_ups_due as f64,
            "follow_ups_done" => f.follow_ups_done as f64,
            "on_time_rate" => return f.on_time_rate,
            "overall_mean" => return overall_mean(f),
            "overdue" => f.overdue as f64,
            "unreachable" => f.unreachable as f64,
            "routine_completion_rate" => return f.routine_completion_rate,
            _ => f.routine_done as f64,
        })
    };
    MEASURES
        .iter()
        .map(|measure| {
            let value = count(this, measure);
            let previous = count(last, measure);
            Headline {
                measure: (*measure).to_owned(),
                value,
                previous,
                change: value.zip(previous).map(|(v, p)| v - p),
            }
        })
        .collect()
}

const MEASURES: [&str; 9] = [
    "sheets_accepted",
    "follow_ups_due",
    "follow_ups_done",
    "on_time_rate",
    "overall_mean",
    "overdue",
    "unreachable",
    "routine_done",
    "routine_completion_rate",
];

/// Builds the bulletin of `month`.
pub async fn build(
    db: &Database,
    time_zone: chrono_tz::Tz,
    month: Month,
) -> Result<Bulletin, Error> {
    let RecentMonths {
        this_month,
        last_month,
        trend,
    } = recent_months(db, month, None).await?;

    let by_unit = figures::compute(db, month, month, GroupBy::TopUnit, None).await?;
    let submitted = submissions::overview(db, time_zone, month, None).await?;
    let top_units = huifang_store::units::names(db, true).await?;
    let units = top_units
        .into_iter()
        .map(|unit| {
            let id = unit.id;
            let figures = by_unit
                .groups
                .iter()
                .find(|g| g.key == id.to_string())
                .cloned()
                .unwrap_or_else(|| Figures {
                    key: id.to_string(),
                    ..Figures::default()
                });
            let state = submitted.units.iter().find(|u| u.unit_id == id);
            UnitLine {
                unit_id: id,
                unit_code: unit.code,
                unit_name: unit.name,
                unit_kind: unit.kind,
                figures,
                submitted: state.map(|s| s.submitted),
                late: state.is_some_and(|s| s.late),
            }
        })
        .collect();

    let top_complaints =
        huifang_store::bulletin::top_complaints(db, &month.to_string(), TOP_CATEGORIES as i64)
            .await?;
    let overdue_total = this_month.overdue;
    let overdue = huifang_store::bulletin::overdue(db, &month.to_string(), OVERDUE_LISTED).await?;

    Ok(Bulletin {
        month,
        headline: headline(&this_month, &last_month),
        this_month,
        last_month,
        units,
        trend,
        top_complaints: top_complaints
            .into_iter()
            .map(|(category, complaints)| CategoryCount {
                category,
                complaints,
            })
            .collect(),
        overdue_total,
        overdue,
    })
}

/// A month's figures, the month before's, and the trend of the [`TREND_MONTHS`] months up to
/// it — all from one pass over those months.
pub struct RecentMonths {
    pub this_month: Figures,
    pub last_month: Figures,
    pub trend: Vec<TrendPoint>,
}

/// The figures of the months up to `month`, optionally for some units only.
pub async fn recent_months(
    db: &Database,
    month: Month,
    units: Option<&[i64]>,
) -> Result<RecentMonths, Error> {
    let mut first = month;
    for _ in 1..TREND_MONTHS {
        first = first.previous();
    }
    let by_month = figures::compute(db, first, month, GroupBy::Month, units).await?;
    let of = |wanted: Month| {
        by_month
            .groups
            .iter()
            .find(|g| g.key == wanted.to_string())
            .cloned()
    };
    let as_total = |figures: Option<Figures>| Figures {
        key: "total".into(),
        ..figures.unwrap_or_default()
    };
    let mut trend = Vec::with_capacity(TREND_MONTHS);
    let mut current = first;
    for _ in 0..TREND_MONTHS {
        let figures = of(current);
        trend.push(TrendPoint {
            month: current,
            follow_ups_done: figures.as_ref().map_or(0, |f| f.follow_ups_done),
            on_time_rate: figures.as_ref().and_then(|f| f.on_time_rate),
            overall_mean: figures.as_ref().and_then(overall_mean),
        });
        current = current.next();
    }
    Ok(RecentMonths {
        this_month: as_total(of(month)),
        last_month: as_total(of(month.previous())),
        trend,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overall_mean_comes_exactly_from_the_distribution() {
        let figures = Figures {
            overall_distribution: [1, 0, 0, 2, 1],
            ..Figures::default()
        };
        assert_eq!(overall_mean(&figures), Some((1.0 + 8.0 + 5.0) / 4.0));
        assert_eq!(overall_mean(&Figures::default()), None);
    }

    #[test]
    fn headline_changes_are_this_month_minus_last() {
        let this = Figures {
            follow_ups_done: 10,
            follow_ups_due: 10,
            done_on_time: 9,
            on_time_rate: Some(0.9),
            ..Figures::default()
        };
        let last = Figures {
            follow_ups_done: 4,
            on_time_rate: None,
            ..Figures::default()
        };
        let lines = headline(&this, &last);
        let done = lines
            .iter()
            .find(|l| l.measure == "follow_ups_done")
            .unwrap();
        assert_eq!(done.change, Some(6.0));
        let rate = lines.iter().find(|l| l.measure == "on_time_rate").unwrap();
        assert_eq!((rate.value, rate.change), (Some(0.9), None));
    }
}

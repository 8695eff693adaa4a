//! Head-office reporting (SPEC §4): the monthly figures of D-STA-2, computed in SQL over the
//! projections on both databases and grouped by month, unit, community, category, complaint level
//! or staff member (`GET /api/v1/reports/figures`), and the units' monthly submissions of those
//! figures to the development department (R-STA-2, D-STA-1), and the monthly Service Bulletin
//! built from them (R-STA-1) as JSON, XLSX, CSV and a printable page, and the units' analysis
//! reports with their improvement measures (R-STA-3).

mod routes;
pub mod tables;

pub use routes::router;
pub(crate) use routes::{analysis_scope, readable_unit, require_bulletin_reader};

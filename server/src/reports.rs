//! Head-office reporting (SPEC §4). So far: the monthly figures of D-STA-2, computed in SQL over
//! the projections on both databases and grouped by month, unit, community, category, complaint
//! level or staff member (`GET /api/v1/reports/figures`).

pub mod figures;
mod routes;

pub use routes::router;

//! Head-office reporting (SPEC §4): the monthly figures of D-STA-2, computed in SQL over the
//! projections on both databases and grouped by month, unit, community, category, complaint level
//! or staff member; the units' monthly submissions of those figures to the development department
//! (R-STA-2, D-STA-1); the monthly Service Bulletin built from them (R-STA-1); the units' analysis
//! reports with their improvement measures (R-STA-3).

pub mod analyses;
pub mod bulletin;
pub mod figures;
pub mod submissions;

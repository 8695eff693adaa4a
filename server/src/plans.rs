//! Routine follow-up plans (SPEC §3 "Routine follow-up"): how many households each unit owes a
//! month ([`quotas`], R-RTN-1…4, D-RTN-1) and which ones ([`sampling`], R-RTN-5, D-RTN-2).
//!
//! Both are pure functions over data the caller gathers, so the rules are tested case by case
//! and by property tests, and a plan can be previewed without writing anything.

pub mod quotas;
pub mod sampling;

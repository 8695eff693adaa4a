//! The HTTP API suite. Every test runs twice: on SQLite and on PostgreSQL.

// A test binary: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod helpers;

mod analyses;
mod auth;
mod authorization;
mod browser;
mod conformance;
mod convergence;
mod dashboard;
mod errors;
mod followups;
mod import;
mod ops;
mod photos;
mod plans;
mod projections;
mod registry;
mod reports;
mod sheets;
mod submissions;
mod surveys;
mod sync;
mod truth;

//! The Huifang central server: the HTTP API, sign-in, the organisation and estate registry,
//! information sheets and follow-ups as Automerge documents with their rules and deadlines, the
//! audit log, and the storage on SQLite or PostgreSQL. `main.rs` is the `huifang` command over this library.

pub mod admin;
pub mod app;
pub mod auth;
pub mod blobs;
pub mod config;
pub mod demo;
pub mod devices;
pub mod error;
pub mod exports;
mod extract;
pub mod followups;
pub mod metrics;
pub mod plans;
pub mod registry;
pub mod reports;
pub mod sheets;
pub mod state;
pub mod surveys;
pub mod sync;
pub mod telemetry;
pub mod web;

pub use app::Application;
pub use config::Config;
pub use huifang_store::{Backend, Database};
pub use state::AppState;

//! The Huifang central server: the HTTP API, sign-in, the organisation and estate registry, and
//! the storage on SQLite or PostgreSQL. `main.rs` is the `huifang` command over this library.

pub mod app;
pub mod auth;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
mod extract;
pub mod metrics;
pub mod registry;
pub mod telemetry;

pub use app::{AppState, Application};
pub use config::Config;
pub use db::{Backend, Database};

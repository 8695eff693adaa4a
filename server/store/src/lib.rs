//! The Huifang server's storage, below the company's rules and below HTTP: one sqlx `Any` pool
//! over SQLite or PostgreSQL with the migrations of both engines (the repository's top-level
//! `migrations/`), [`documents::DocWrite`] — the one way a document changes, with its
//! projection, notifications and hash-chained audit entries in the same transaction —, and the
//! queries of each area returning typed rows. Nothing here knows axum or the rules; errors are
//! [`StoreError`].

pub mod analyses;
pub mod audit;
pub mod backups;
pub mod blobs;
pub mod bulletin;
pub mod changes;
pub mod db;
pub mod devices;
pub mod documents;
mod error;
pub mod figures;
pub mod followups;
mod holders;
pub mod imports;
pub mod login_failures;
pub mod measures;
mod memo;
pub mod notifications;
pub mod photos;
pub mod plans;
pub mod registry;
pub mod rollups;
mod schema;
pub mod scope;
pub mod sessions;
pub mod settings;
pub mod sheets;
pub mod submissions;
pub mod surveys;
#[cfg(feature = "testing")]
pub mod testing;
pub mod units;
mod writer;

pub use writer::Turn as WriteTurn;

pub use db::{Backend, Database, DbError};
pub use error::{StoreError, StoreResult};
pub use memo::{FRESH_FOR, Kept};

//! The on-phone core of Huifang.
//!
//! Property staff work where there is no signal; this crate lets them work anyway. Information
//! sheets and follow-ups are Automerge documents kept in a local SQLite database, edited offline
//! through the same validation and field permissions the server applies (`huifang-protocol`), and
//! queued in an outbox until the server acknowledges them. The app's screens are queries over
//! local projection tables; customers sign on the phone and the signature is bound to what they
//! signed.
//!
//! [`ClientStore`] is the one entry point. Its API is made for the uniffi bindings of the mobile
//! crate: plain types, no lifetimes or generics, one error enum, callable from several threads.

// The bindings take this crate's records and enums as they are (feature `uniffi`, used by
// huifang-mobile), so the apps see no second definition of them.
#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

mod db;
mod documents;
mod editing;
mod encryption;
mod error;
mod http;
mod photos;
mod projections;
mod queries;
mod reference;
mod schema;
mod session;
mod signature;
mod store;
mod sync;
mod transport;

pub use editing::{NewSheet, OutcomeInput, PhotoInput};
pub use encryption::StoreKey;
pub use error::ClientError;
pub use http::HttpTransport;
pub use queries::{
    BadgeCounts, BuildingTasks, CustomerContact, HouseholdHistory, HouseholdHit, SearchResults,
    SheetRow, Task,
};
pub use reference::ReferenceData;
pub use session::Session;
pub use signature::{SignatureCheck, SignatureInput, Stroke, StrokePoint};
pub use store::ClientStore;
pub use sync::{RefusedChange, SYNC_ENDPOINT, SyncNotice, SyncProgress, SyncReport};
pub use transport::{Method, PendingChange, Request, Transport, TransportError};

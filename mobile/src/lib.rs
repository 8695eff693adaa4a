//! The Huifang client core for the phones: uniffi bindings (Kotlin, Swift, Python) over
//! `huifang-client`. Kept thin on purpose: one object ([`FieldStore`]), one flat error
//! ([`MobileError`]), who is signed in ([`SignedIn`]) and two observer interfaces the app
//! implements; the client core's records and the protocol's enums are derived for uniffi in
//! those crates (feature `uniffi`). Everything the app may do is decided in client-core.

uniffi::setup_scaffolding!("huifang");

mod error;
mod records;
mod store;

pub use error::MobileError;
pub use records::SignedIn;
pub use store::{FieldStore, SyncObserver, WorkObserver};

//! The Huifang client core for the phones: uniffi bindings (Kotlin, Swift, Python) over
//! `huifang-client`. Kept thin on purpose: one object ([`FieldStore`]), the client core's own
//! records and enums declared as remote types, one flat error ([`MobileError`]), and two
//! observer interfaces the app implements. Everything the app may do is decided in client-core.

uniffi::setup_scaffolding!("huifang");

mod error;
mod records;
mod store;

pub use error::MobileError;
pub use records::SignedIn;
pub use store::{FieldStore, SyncObserver, WorkObserver};

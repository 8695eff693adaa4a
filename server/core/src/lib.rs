//! The Huifang server's domain, between the HTTP layer and the store: the caller and their scope
//! (`auth`), the company's rules (`rules`: routing and assignment as pure functions over gathered
//! `facts`), sheets and follow-ups and their workflows, deadlines. Every operation takes what it
//! works in as arguments (a [`Company`]: database and time zone; the [`auth::Caller`]); errors are
//! [`Error`], which the HTTP layer turns into statuses and sync into refusals. There is no SQL
//! here: the database is reached through `huifang_store`'s typed queries, so a rule reads as a
//! rule and a query change does not touch the domain's source.

pub mod auth;
pub mod blobs;
mod company;
mod cores;
pub mod deadlines;
pub mod devices;
mod error;
pub mod facts;
pub mod followups;
pub mod imports;
pub mod photos;
pub mod plans;
pub mod reports;
pub mod rules;
pub mod sheets;
pub mod surveys;
pub mod sync;

pub use company::Company;
pub use error::{CoreResult, Error};

//! What the phones and the server agree on.
//!
//! This crate does no I/O. It holds the vocabulary of the work instruction (SPEC §1: roles and
//! units), the registry rows that flow from the server to devices, and the validation both sides
//! apply to them, so a phone and the server can never disagree about what a valid value is.

mod labels;
mod phone;
mod registry;
mod roles;
mod units;

pub use labels::{Labelled, UnknownValue};
pub use phone::{PhoneError, PhoneNumber};
pub use registry::{
    Building, Community, Customer, DEFAULT_PAGE_SIZE, Household, MAX_PAGE_SIZE, Page, StaffMember,
    Unit,
};
pub use roles::Role;
pub use units::UnitKind;

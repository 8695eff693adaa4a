//! The organisation and estate registry (SPEC §1): units, staff, communities, buildings,
//! households, customers and consultant ownership. Stored relationally; changed only by imports
//! and administrators; read by everyone within their scope.

mod routes;
use huifang_store::registry as store;

pub use routes::{page_request, router, search_text};
pub use store::{HouseholdFilter, NewStaff, PageRequest, RegistryStore, StaffFilter, StaffLogin};

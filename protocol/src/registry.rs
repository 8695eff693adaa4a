//! Registry rows: the organisation and the estate as the server serves them. Devices keep them as
//! read-only reference data; only the server (imports, administrators) changes them.

use serde::{Deserialize, Serialize};

use crate::{Role, UnitKind};

/// Page size when a list request names none.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// The largest page a list request may ask for.
pub const MAX_PAGE_SIZE: u32 = 500;

/// One page of a filtered list, with the total so a screen can show "1–50 of 3,012".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub limit: u32,
    pub offset: u64,
}

/// A unit of the organisation (SPEC §1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub id: i64,
    /// The company's own short code for the unit, the natural key used by imports.
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    pub parent_id: Option<i64>,
    /// The community a sales site or office (and its departments) serves.
    pub community_id: Option<i64>,
}

/// A staff member as other staff see them; never carries credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMember {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub phone: Option<String>,
    pub role: Role,
    pub unit_id: Option<i64>,
    pub active: bool,
}

/// A community (小区) with its size, the base of the routine quotas (D-RTN-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Community {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub building_count: i64,
    pub household_count: i64,
}

/// A building of a community; routine samples are stratified by building (D-RTN-2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Building {
    pub id: i64,
    pub community_id: i64,
    pub name: String,
    pub household_count: i64,
}

/// A household (one dwelling) with its customers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Household {
    pub id: i64,
    pub community_id: i64,
    pub community_name: String,
    pub building_id: i64,
    pub building_name: String,
    /// The room as the company writes it, e.g. `2-1502`.
    pub room: String,
    pub address: String,
    pub customers: Vec<Customer>,
}

/// A customer (owner) of a household.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: i64,
    pub household_id: i64,
    pub name: String,
    /// Full number for roles that call customers; masked (`138****1234`) for the others.
    pub phone: String,
    /// The property consultant who owns this customer (R-RTN-1), if any.
    pub consultant_id: Option<i64>,
}

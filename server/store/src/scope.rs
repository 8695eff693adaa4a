//! What a query may return, as the caller's role and unit decide it (the domain works the scope
//! out; the store only filters by it).

/// Which households (and their customers) a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HouseholdScope {
    All,
    /// The community that the caller's sales site or property office serves.
    Community(i64),
    /// A consultant's own customers (R-RTN-1).
    ConsultantCustomers(i64),
    Nothing,
}

/// Which sheets and follow-ups a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkScope {
    /// The general manager, administrators and the development department (which compiles the
    /// company's figures, R-STA-1).
    All,
    /// What the caller accepted, handles or is assigned, in person or through their units.
    Units { staff_id: i64, units: Vec<i64> },
}

/// Which staff records a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffScope {
    All,
    /// A unit head: their unit and the units directly under it (an office and its departments).
    UnitTree(i64),
    OnlySelf(i64),
}

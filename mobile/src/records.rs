//! The client core's own types, declared to uniffi as they are (remote types): the bindings add
//! no second definition to keep in step. A change to one of these types in client-core or the
//! protocol that this file does not follow fails to compile.

use huifang_client::{
    BadgeCounts, BuildingTasks, CustomerContact, HouseholdHistory, HouseholdHit, NewSheet,
    OutcomeInput, RefusedChange, SearchResults, SheetRow, SignatureCheck, SignatureInput, Stroke,
    StrokePoint, SyncNotice, SyncProgress, SyncReport, Task,
};
use huifang_protocol::{
    ComplaintLevel, FollowUpMethod, InformationSource, Ratings, Role, SheetCategory,
};

#[uniffi::remote(Enum)]
pub enum Role {
    GeneralManager,
    Admin,
    UnitHead,
    Staff,
    Consultant,
}

#[uniffi::remote(Enum)]
pub enum ComplaintLevel {
    None,
    Ordinary,
    Significant,
    Major,
}

#[uniffi::remote(Enum)]
pub enum InformationSource {
    Phone,
    WalkIn,
    HomeVisit,
    LetterEmail,
    Online,
    SalesSite,
    DuringFollowUp,
    Other,
}

#[uniffi::remote(Enum)]
pub enum SheetCategory {
    PropertyCertificate,
    Mortgage,
    Measurement,
    Repair,
    WarrantyRepair,
    CompanyFundedRepair,
    SalesMatter,
    PropertyService,
    Other,
}

#[uniffi::remote(Enum)]
pub enum FollowUpMethod {
    Phone,
    HomeVisit,
    CustomerForm,
    Forum,
    OnSiteSignature,
    Other,
}

#[uniffi::remote(Record)]
pub struct Ratings {
    pub handling: u8,
    pub efficiency: u8,
    pub quality: u8,
    pub attitude: u8,
    pub overall: u8,
}

#[uniffi::remote(Record)]
pub struct Task {
    pub follow_up_id: String,
    pub kind: String,
    pub status: String,
    pub rule: String,
    pub customer_name: String,
    pub contact_phone: String,
    pub household_id: Option<i64>,
    pub community_name: Option<String>,
    pub building_name: Option<String>,
    pub room: Option<String>,
    pub address: Option<String>,
    pub due_at: String,
    pub due_local: String,
    pub overdue: bool,
    pub sheet_id: Option<String>,
    pub sheet_number: Option<String>,
    pub summary: Option<String>,
}

#[uniffi::remote(Record)]
pub struct BuildingTasks {
    pub community_name: String,
    pub building_name: String,
    pub tasks: Vec<Task>,
}

#[uniffi::remote(Record)]
pub struct SheetRow {
    pub id: String,
    pub number: Option<String>,
    pub status: String,
    pub level: String,
    pub category: String,
    pub customer_name: String,
    pub contact_phone: String,
    pub customer_address: String,
    pub summary: String,
    pub accepted_at: String,
}

#[uniffi::remote(Record)]
pub struct CustomerContact {
    pub name: String,
    pub phone: String,
}

#[uniffi::remote(Record)]
pub struct HouseholdHistory {
    pub household_id: i64,
    pub address: String,
    pub customers: Vec<CustomerContact>,
    pub sheets: Vec<SheetRow>,
    pub follow_ups: Vec<Task>,
}

#[uniffi::remote(Record)]
pub struct HouseholdHit {
    pub household_id: i64,
    pub address: String,
    pub customer_names: String,
}

#[uniffi::remote(Record)]
pub struct SearchResults {
    pub households: Vec<HouseholdHit>,
    pub sheets: Vec<SheetRow>,
}

#[uniffi::remote(Record)]
pub struct BadgeCounts {
    pub due_today: u32,
    pub overdue: u32,
    pub unsynced: u32,
}

#[uniffi::remote(Record)]
pub struct NewSheet {
    pub level: ComplaintLevel,
    pub category: SheetCategory,
    pub source: InformationSource,
    pub household_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub customer_name: Option<String>,
    pub contact_phone: Option<String>,
    pub customer_address: Option<String>,
    pub items: Vec<String>,
}

#[uniffi::remote(Record)]
pub struct OutcomeInput {
    pub method: FollowUpMethod,
    pub ratings: Ratings,
    pub opinions: String,
    pub done_at: Option<String>,
}

#[uniffi::remote(Record)]
pub struct StrokePoint {
    pub x: f32,
    pub y: f32,
    pub t_ms: u64,
    pub pressure: Option<f32>,
}

#[uniffi::remote(Record)]
pub struct Stroke {
    pub points: Vec<StrokePoint>,
}

#[uniffi::remote(Record)]
pub struct SignatureInput {
    pub strokes: Vec<Stroke>,
    pub width: u32,
    pub height: u32,
    pub signer_name: String,
}

#[uniffi::remote(Record)]
pub struct SignatureCheck {
    pub intact: bool,
    pub reason: String,
}

/// A change the server refused: shown to the person who typed it, with the reason.
#[uniffi::remote(Record)]
pub struct RefusedChange {
    pub document_id: String,
    pub kind: String,
    pub reason: String,
    pub refused_at: String,
}

#[uniffi::remote(Record)]
pub struct SyncNotice {
    pub document_id: String,
    pub reason: String,
}

#[uniffi::remote(Record)]
pub struct SyncReport {
    pub sent: u32,
    pub committed: u32,
    pub received: u32,
    pub removed: u32,
    pub rejected: Vec<SyncNotice>,
    pub pages: u32,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub duration_ms: u64,
}

#[uniffi::remote(Record)]
pub struct SyncProgress {
    pub pages: u32,
    pub received: u32,
}

/// Who is signed in on this phone (the token stays inside the library).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SignedIn {
    pub server_url: String,
    pub staff_id: i64,
    pub username: String,
    pub name: String,
    pub role: Role,
    pub unit_id: Option<i64>,
    pub time_zone: String,
}

impl From<huifang_client::Session> for SignedIn {
    fn from(session: huifang_client::Session) -> Self {
        SignedIn {
            server_url: session.server_url,
            staff_id: session.staff_id,
            username: session.username,
            name: session.name,
            role: session.role,
            unit_id: session.unit_id,
            time_zone: session.time_zone,
        }
    }
}

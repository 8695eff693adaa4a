//! What the phones and the server agree on.
//!
//! This crate does no I/O. It holds the vocabulary of the work instruction (SPEC §1: roles and
//! units), the two synced document kinds (information sheets and follow-ups) with their
//! validation and field-level write permissions, the assignment rules' ids, and the registry rows
//! that flow from the server to devices, so a phone and the server never disagree about what a
//! valid value or a permitted change is.

// The bindings take this crate's records and enums as they are (feature `uniffi`, used by
// huifang-mobile), so the apps see no second definition of them.
#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

mod changes;
mod clock;
mod document;
mod followup;
mod labels;
mod listings;
mod permissions;
mod phone;
mod photo;
mod registry;
mod review;
mod roles;
mod rules;
mod sheet;
mod signature;
mod survey;
mod units;
mod wire;

pub use changes::{
    ChangeBytesError, ChangeLimits, ChangeSummary, DOCUMENT_CHANGE_LIMITS, MAX_DOCUMENT_BYTES,
    MAX_REQUEST_OPS, inspect_changes,
};
pub use clock::Clock;
pub use document::{
    Document, DocumentError, DocumentKind, Invalid, SCHEMA_VERSION, check_document_id, format_time,
    is_sha256_hex, local_time, local_time_of, new_document_id, parse_time, time_or_now,
    unknown_content,
};
pub use followup::{
    Escalation, FollowUp, FollowUpKind, FollowUpMethod, FollowUpStatus, MAX_UNREACHABLE_ATTEMPTS,
    Outcome, Ratings, Reassignment, SignatureRef, UnreachableAttempt,
};
pub use labels::{Labelled, Lang, UnknownValue};
pub use listings::{
    DocumentListing, FollowUpListing, Listed, ListingError, MAX_LISTING_BYTES, SheetListing,
};
pub use permissions::{
    Actor, FieldViolation, StaffActor, check_follow_up_change, check_sheet_change,
    describe_violations, revert_sheet_fields,
};
pub use phone::{PhoneError, PhoneNumber, mask_phone};
pub use photo::{
    MAX_CAPTION, MAX_PHOTO_BYTES, MAX_PHOTOS, PhotoFact, PhotoFacts, PhotoFormat, PhotoPurpose,
    PhotoRef, added_photos, carries_location,
};
pub use registry::{
    Building, Community, Customer, DEFAULT_PAGE_SIZE, Household, MAX_PAGE_SIZE, Page, StaffMember,
    Unit,
};
pub use review::{
    BlobFact, CLOCK_SKEW, FollowUpFacts, HouseholdFact, MAX_BACKDATE, Refusal, RefusalKind,
    SIGNED_SHEET_FIELDS, SheetFacts, SurveyFormFact, names_another_household, review_follow_up,
    review_sheet,
};
pub use roles::Role;
pub use rules::AssignmentRule;
pub use sheet::{
    ComplaintLevel, InformationSource, ReportedItem, Sheet, SheetCategory, SheetIntake,
    SheetStatus, TrackingNote,
};
pub use signature::{canonical_content, content_sha256};
pub use survey::{
    MAX_FREE_TEXT, QuestionKind, SurveyAnswer, SurveyChannel, SurveyContent, SurveyOption,
    SurveyQuestion, SurveyResponse,
};
pub use units::UnitKind;
pub use wire::{
    BLOB_PART_BYTES, BlobUploadStatus, DeviceReport, DoneOnPhone, IncomingDocument, MAX_BLOB_BYTES,
    MAX_COMPRESSED_BYTES, MAX_DONE_ON_PHONE, MAX_PAGE, MAX_REQUEST_BYTES, OutgoingChanges,
    ReferenceRows, Rejection, SYNC_VERSION, SurveyFormRow, SyncRequest, SyncResponse,
    WIPE_CONFIRMATION_PATH, WIPE_STATUS, WireError, app_version, decode as decode_message,
    decode_request, encode as encode_message,
};

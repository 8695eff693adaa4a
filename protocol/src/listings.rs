//! The row a phone's lists read for each document: what its task and sheet lists show without
//! opening the document.
//!
//! Both sides make it here, from the document's value, so they never disagree: the phone when it
//! changes a document, the server when it stores one. The server keeps the row beside the
//! document's bytes and sends it along, so a phone receiving a document it does not hold yet
//! stores both as they are — no Automerge load, no hydration, no projection of its own (a first
//! sync of thousands of documents spent most of its time there).

use serde::{Deserialize, Serialize};

use crate::document::{Document, DocumentKind};
use crate::{
    AssignmentRule, ComplaintLevel, FollowUp, FollowUpKind, FollowUpStatus, Sheet, SheetCategory,
    SheetStatus,
};

/// The longest encoded row a phone reads (a row is a few hundred bytes; the summary is capped).
pub const MAX_LISTING_BYTES: usize = 16 * 1024;

/// How many characters of the reported items a sheet's row keeps.
const SUMMARY_CHARS: usize = 200;

/// A sheet as its list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SheetListing {
    pub id: String,
    pub number: Option<String>,
    pub status: SheetStatus,
    pub level: ComplaintLevel,
    pub category: SheetCategory,
    pub household_id: Option<i64>,
    pub customer_name: String,
    pub contact_phone: String,
    pub customer_address: String,
    /// The reported items, joined and cut to 200 characters.
    pub summary: String,
    pub accepted_by: i64,
    pub accepted_at: String,
}

/// A follow-up as the task list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUpListing {
    pub id: String,
    pub kind: FollowUpKind,
    pub sheet_id: Option<String>,
    pub household_id: Option<i64>,
    pub customer_name: String,
    pub contact_phone: String,
    pub assignee_unit_id: i64,
    pub assignee_staff_id: Option<i64>,
    pub rule: AssignmentRule,
    pub status: FollowUpStatus,
    pub due_at: String,
    pub overdue_at: Option<String>,
    pub done_at: Option<String>,
    pub created_at: String,
}

/// The row of either document kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DocumentListing {
    Sheet(SheetListing),
    FollowUp(FollowUpListing),
}

/// Why a row's bytes are not usable.
#[derive(Debug, thiserror::Error)]
pub enum ListingError {
    #[error("the row is larger than {MAX_LISTING_BYTES} bytes")]
    TooLarge,
    #[error("the row is not readable: {0}")]
    Malformed(String),
    #[error("the row is of {found} {found_id}, not of {kind} {id}")]
    Mismatch {
        kind: DocumentKind,
        id: String,
        found: DocumentKind,
        found_id: String,
    },
}

impl Sheet {
    /// What the customer reported, in one line (lists, exports, the dashboard).
    pub fn summary(&self) -> String {
        self.items
            .iter()
            .map(|i| i.text.as_str())
            .collect::<Vec<_>>()
            .join(" / ")
            .chars()
            .take(SUMMARY_CHARS)
            .collect()
    }
}

impl From<&Sheet> for SheetListing {
    fn from(sheet: &Sheet) -> Self {
        SheetListing {
            id: sheet.id.clone(),
            number: sheet.number.clone(),
            status: sheet.status,
            level: sheet.level,
            category: sheet.category,
            household_id: sheet.household_id,
            customer_name: sheet.customer_name.clone(),
            contact_phone: sheet.contact_phone.clone(),
            customer_address: sheet.customer_address.clone(),
            summary: sheet.summary(),
            accepted_by: sheet.accepted_by,
            accepted_at: sheet.accepted_at.clone(),
        }
    }
}

impl From<&FollowUp> for FollowUpListing {
    fn from(follow_up: &FollowUp) -> Self {
        FollowUpListing {
            id: follow_up.id.clone(),
            kind: follow_up.kind,
            sheet_id: follow_up.sheet_id.clone(),
            household_id: follow_up.household_id,
            customer_name: follow_up.customer_name.clone(),
            contact_phone: follow_up.contact_phone.clone(),
            assignee_unit_id: follow_up.assignee_unit_id,
            assignee_staff_id: follow_up.assignee_staff_id,
            rule: follow_up.rule,
            status: follow_up.status,
            due_at: follow_up.due_at.clone(),
            overdue_at: follow_up.overdue_at.clone(),
            done_at: follow_up.outcome.as_ref().map(|o| o.done_at.clone()),
            created_at: follow_up.created_at.clone(),
        }
    }
}

impl DocumentListing {
    pub fn kind(&self) -> DocumentKind {
        match self {
            DocumentListing::Sheet(_) => DocumentKind::Sheet,
            DocumentListing::FollowUp(_) => DocumentKind::FollowUp,
        }
    }

    pub fn id(&self) -> &str {
        match self {
            DocumentListing::Sheet(row) => &row.id,
            DocumentListing::FollowUp(row) => &row.id,
        }
    }

    /// The row in its stored and sent form (CBOR).
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        // Writing plain data into a Vec cannot fail.
        let _ = ciborium::into_writer(self, &mut bytes);
        bytes
    }

    /// Reads a row sent for document `id` of kind `kind`, refusing one of another document.
    pub fn decode(bytes: &[u8], kind: DocumentKind, id: &str) -> Result<Self, ListingError> {
        if bytes.len() > MAX_LISTING_BYTES {
            return Err(ListingError::TooLarge);
        }
        let row: DocumentListing =
            ciborium::from_reader(bytes).map_err(|e| ListingError::Malformed(e.to_string()))?;
        if row.kind() != kind || row.id() != id {
            return Err(ListingError::Mismatch {
                kind,
                id: id.to_owned(),
                found: row.kind(),
                found_id: row.id().to_owned(),
            });
        }
        Ok(row)
    }
}

/// The row of a document value, whichever its kind.
pub trait Listed: Document {
    fn listing(&self) -> DocumentListing;
}

impl Listed for Sheet {
    fn listing(&self) -> DocumentListing {
        DocumentListing::Sheet(self.into())
    }
}

impl Listed for FollowUp {
    fn listing(&self) -> DocumentListing {
        DocumentListing::FollowUp(self.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet() -> Sheet {
        Sheet::accepted(crate::SheetIntake {
            id: crate::new_document_id(),
            accepted_at: "2026-03-01T02:00:00Z".into(),
            level: ComplaintLevel::Ordinary,
            category: SheetCategory::Repair,
            source: crate::InformationSource::Phone,
            household_id: Some(7),
            customer_id: None,
            customer_name: "王芳".into(),
            customer_address: "1栋 101".into(),
            contact_phone: "13800138000".into(),
            accepted_by: 3,
            accepting_unit_id: 2,
            items: vec![
                crate::ReportedItem {
                    id: "a".into(),
                    text: "漏水".repeat(150),
                },
                crate::ReportedItem {
                    id: "b".into(),
                    text: "门锁".into(),
                },
            ],
            created_at: "2026-03-01T02:00:00Z".into(),
        })
    }

    #[test]
    fn a_row_round_trips_and_names_its_document() {
        let sheet = sheet();
        let row = sheet.listing();
        let bytes = row.encode();
        assert_eq!(
            DocumentListing::decode(&bytes, DocumentKind::Sheet, &sheet.id).unwrap(),
            row
        );
        assert!(matches!(
            DocumentListing::decode(&bytes, DocumentKind::FollowUp, &sheet.id),
            Err(ListingError::Mismatch { .. })
        ));
        assert!(matches!(
            DocumentListing::decode(&bytes, DocumentKind::Sheet, "another"),
            Err(ListingError::Mismatch { .. })
        ));
        assert!(matches!(
            DocumentListing::decode(&bytes[..bytes.len() / 2], DocumentKind::Sheet, &sheet.id),
            Err(ListingError::Malformed(_))
        ));
        assert!(matches!(
            DocumentListing::decode(
                &vec![0; MAX_LISTING_BYTES + 1],
                DocumentKind::Sheet,
                &sheet.id
            ),
            Err(ListingError::TooLarge)
        ));
    }

    #[test]
    fn a_sheets_summary_joins_its_items_within_200_characters() {
        let summary = sheet().summary();
        assert_eq!(summary.chars().count(), 200);
        assert!(summary.starts_with("漏水漏水"));
        let mut short = sheet();
        short.items[0].text = "漏水".into();
        assert_eq!(short.summary(), "漏水 / 门锁");
    }
}

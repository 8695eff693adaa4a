//! Binding a customer's signature to what they signed (D-SIG-1): a SHA-256 over the record's
//! canonical content at signing time. Phone and server compute it the same way, so either can
//! later tell whether the signed content was changed.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::followup::FollowUp;
use crate::sheet::Sheet;

/// The content a customer signs: the matter (sheet) and the follow-up's outcome, without the
/// signature itself and without fields that change for bookkeeping (status, escalations).
#[derive(Serialize)]
struct SignedContent<'a> {
    sheet_id: Option<&'a str>,
    sheet_number: Option<&'a str>,
    customer_name: &'a str,
    customer_address: Option<&'a str>,
    reported: Vec<&'a str>,
    investigation: Option<&'a str>,
    result: Option<&'a str>,
    handled_at: Option<&'a str>,
    follow_up_id: &'a str,
    outcome: Option<&'a crate::followup::Outcome>,
}

/// The canonical bytes of what is signed: compact JSON with a fixed field order.
pub fn canonical_content(sheet: Option<&Sheet>, follow_up: &FollowUp) -> Vec<u8> {
    let content = SignedContent {
        sheet_id: sheet.map(|s| s.id.as_str()),
        sheet_number: sheet.and_then(|s| s.number.as_deref()),
        customer_name: &follow_up.customer_name,
        customer_address: sheet.map(|s| s.customer_address.as_str()),
        reported: sheet
            .map(|s| s.items.iter().map(|i| i.text.as_str()).collect())
            .unwrap_or_default(),
        investigation: sheet.map(|s| s.investigation.as_str()),
        result: sheet.map(|s| s.result.as_str()),
        handled_at: sheet.and_then(|s| s.handled_at.as_deref()),
        follow_up_id: &follow_up.id,
        outcome: follow_up.outcome.as_ref(),
    };
    // Serialising plain strings, options and a derived struct cannot fail.
    serde_json::to_vec(&content).unwrap_or_default()
}

/// SHA-256 of [`canonical_content`], lowercase hex.
pub fn content_sha256(sheet: Option<&Sheet>, follow_up: &FollowUp) -> String {
    hex::encode(Sha256::digest(canonical_content(sheet, follow_up)))
}

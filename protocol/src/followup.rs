//! The follow-up record (回访记录, SPEC §3) as a document.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::document::{
    Document, DocumentKind, Invalid, SCHEMA_VERSION, check_document_id, check_text, parse_time,
};
use crate::labels::labelled_enum;
use crate::photo::PhotoRef;
use crate::rules::AssignmentRule;
use crate::survey::SurveyResponse;

/// How many times an unreachable customer is tried before the unit head decides (D-CB-3).
pub const MAX_UNREACHABLE_ATTEMPTS: usize = 3;

/// R-CB-2: what the follow-up is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FollowUpKind {
    Information,
    Routine,
    Survey,
}

labelled_enum!(FollowUpKind {
    Information => ("information", "信息回访", "Information follow-up"),
    Routine => ("routine", "例行回访", "Routine follow-up"),
    Survey => ("survey", "意见调查", "Opinion survey"),
});

/// R-CB-1 methods, plus the customer's signature on site confirming a repair (R-INF-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum FollowUpMethod {
    Phone,
    HomeVisit,
    CustomerForm,
    Forum,
    OnSiteSignature,
    Other,
}

labelled_enum!(FollowUpMethod {
    Phone => ("phone", "电话", "Phone"),
    HomeVisit => ("home_visit", "上门", "Home visit"),
    CustomerForm => ("customer_form", "客户填表", "Form filled in by the customer"),
    Forum => ("forum", "座谈会", "Forum or meeting"),
    OnSiteSignature => ("on_site_signature", "现场签字确认", "Customer's signature on site"),
    Other => ("other", "其他", "Other"),
});

/// Where a follow-up stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FollowUpStatus {
    /// Assigned and waiting to be done.
    Open,
    Completed,
    /// Tried [`MAX_UNREACHABLE_ATTEMPTS`] times without reaching the customer; handed to the
    /// unit head, who reassigns it or closes it.
    Unreachable,
    /// Closed by the head after the customer could not be reached: a final outcome, which the
    /// figures keep counting as due and unreachable (D-STA-3).
    ClosedUnreachable,
    /// Cancelled because its matter needs none: not due (D-STA-3).
    Cancelled,
}

labelled_enum!(FollowUpStatus {
    Open => ("open", "待回访", "Open"),
    Completed => ("completed", "已完成", "Completed"),
    Unreachable => ("unreachable", "联系不上", "Customer unreachable"),
    ClosedUnreachable => ("closed_unreachable", "联系不上,已结案", "Closed: customer unreachable"),
    Cancelled => ("cancelled", "已取消", "Cancelled"),
});

impl FollowUpStatus {
    pub fn can_become(self, next: FollowUpStatus) -> bool {
        use FollowUpStatus::*;
        self == next
            || matches!(
                (self, next),
                (Open, Completed)
                    | (Open, Unreachable)
                    | (Open, Cancelled)
                    | (Unreachable, Open)
                    | (Unreachable, Completed)
                    | (Unreachable, ClosedUnreachable)
            )
    }

    /// Completed, closed-unreachable and cancelled follow-ups are closed for good.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            FollowUpStatus::Completed
                | FollowUpStatus::ClosedUnreachable
                | FollowUpStatus::Cancelled
        )
    }

    /// Whether the follow-up has an outcome (D-STA-3): the customer's answer, or "could not be
    /// reached" after the last attempt (also once the head closed it).
    pub fn has_outcome(self) -> bool {
        matches!(
            self,
            FollowUpStatus::Completed
                | FollowUpStatus::Unreachable
                | FollowUpStatus::ClosedUnreachable
        )
    }

    /// Whether the customer could not be reached (handed to the head, or closed so).
    pub fn is_unreachable(self) -> bool {
        matches!(
            self,
            FollowUpStatus::Unreachable | FollowUpStatus::ClosedUnreachable
        )
    }
}

/// The five ratings of D-CB-1, each 1 (very dissatisfied) to 5 (very satisfied).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Ratings {
    /// How the matter was handled (R-CB-3).
    pub handling: u8,
    pub efficiency: u8,
    pub quality: u8,
    /// The staff's service attitude.
    pub attitude: u8,
    /// The customer's overall satisfaction.
    pub overall: u8,
}

impl Ratings {
    pub fn check(&self) -> Result<(), String> {
        let fields = [
            ("handling", self.handling),
            ("efficiency", self.efficiency),
            ("quality", self.quality),
            ("attitude", self.attitude),
            ("overall", self.overall),
        ];
        let bad: Vec<String> = fields
            .iter()
            .filter(|(_, v)| !(1..=5).contains(v))
            .map(|(name, v)| format!("ratings.{name} is {v}"))
            .collect();
        if bad.is_empty() {
            Ok(())
        } else {
            Err(format!("{}; ratings are 1 to 5", bad.join(", ")))
        }
    }

    /// An overall satisfaction of 1 or 2 reopens the matter (D-CB-3).
    pub fn is_dissatisfied(&self) -> bool {
        self.overall <= 2
    }
}

/// What the customer said, when the follow-up was done.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Outcome {
    pub method: FollowUpMethod,
    /// When the follow-up was done, on the phone's clock (D-CB-2).
    pub done_at: String,
    pub ratings: Ratings,
    /// The customer's other opinions or suggestions (R-CB-3).
    pub opinions: String,
    pub recorded_by: i64,
}

/// One failed attempt to reach the customer.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct UnreachableAttempt {
    #[key]
    pub id: String,
    pub at: String,
    pub by_staff_id: i64,
    pub method: FollowUpMethod,
    pub note: String,
}

/// The customer's signature confirming the work (D-SIG-1): a content-addressed blob of strokes,
/// bound to a hash of the record's content at signing time.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct SignatureRef {
    pub blob_sha256: String,
    pub content_sha256: String,
    pub signed_at: String,
    pub signer_name: String,
}

/// A deadline passed and the unit head was told (R-INF-4).
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Escalation {
    #[key]
    pub id: String,
    pub at: String,
    pub to_staff_id: Option<i64>,
    pub reason: String,
}

/// A head moved the follow-up to another person or unit, saying why.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Reassignment {
    #[key]
    pub id: String,
    pub at: String,
    pub by_staff_id: Option<i64>,
    pub from_unit_id: i64,
    pub from_staff_id: Option<i64>,
    pub to_unit_id: i64,
    pub to_staff_id: Option<i64>,
    pub reason: String,
}

/// A follow-up record.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct FollowUp {
    pub schema_version: u64,
    pub id: String,
    pub kind: FollowUpKind,
    /// The sheet an information follow-up is about.
    pub sheet_id: Option<String>,
    pub household_id: Option<i64>,
    pub customer_id: Option<i64>,
    /// Copied from the sheet or registry so the phone can call offline.
    pub customer_name: String,
    pub contact_phone: String,
    pub assignee_unit_id: i64,
    /// `None`: anyone of the unit may do it.
    pub assignee_staff_id: Option<i64>,
    pub rule: AssignmentRule,
    /// R-INF-4: 24 hours after the sheet was handled.
    pub due_at: String,
    pub status: FollowUpStatus,
    pub outcome: Option<Outcome>,
    pub unreachable_attempts: Vec<UnreachableAttempt>,
    pub signature: Option<SignatureRef>,
    pub cancel_reason: Option<String>,
    /// When the deadline passed with the follow-up still open.
    pub overdue_at: Option<String>,
    pub escalations: Vec<Escalation>,
    /// Heads' reassignments, oldest first (documents written before they were kept have none).
    #[autosurgeon(missing = "Vec::new")]
    #[serde(default)]
    pub reassignments: Vec<Reassignment>,
    pub created_at: String,
    /// The opinion survey's form a survey follow-up asks the household (R-SUR-1), so a phone
    /// shows that form offline (documents distributed before it was kept have none).
    #[serde(default)]
    pub survey_form_id: Option<i64>,
    /// The household's answers, once given (R-SUR-2): they complete a survey follow-up.
    #[serde(default)]
    pub survey_response: Option<SurveyResponse>,
    /// Photos of a repair, before and after (issue #18); only ever added.
    #[autosurgeon(missing = "Vec::new")]
    #[serde(default)]
    pub photos: Vec<PhotoRef>,
}

impl FollowUp {
    /// When the outcome was recorded (D-STA-3): when it was done, or the attempt that made the
    /// customer unreachable. `None` while the follow-up has no outcome.
    pub fn outcome_at(&self) -> Option<&str> {
        match self.status {
            FollowUpStatus::Completed => self.outcome.as_ref().map(|o| o.done_at.as_str()),
            FollowUpStatus::Unreachable | FollowUpStatus::ClosedUnreachable => self
                .unreachable_attempts
                .get(MAX_UNREACHABLE_ATTEMPTS - 1)
                .map(|a| a.at.as_str()),
            FollowUpStatus::Open | FollowUpStatus::Cancelled => None,
        }
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        let mut invalid = Invalid::default();
        invalid.check(check_document_id(&self.id));
        invalid.check(parse_time("due_at", &self.due_at).map(|_| ()));
        invalid.check(parse_time("created_at", &self.created_at).map(|_| ()));
        invalid.check(check_text("customer_name", &self.customer_name, 50, false));
        if self.kind == FollowUpKind::Information {
            invalid.require(
                self.sheet_id.is_some(),
                "an information follow-up needs its sheet_id",
            );
        }
        if let Some(sheet) = &self.sheet_id {
            invalid.check(check_document_id(sheet).map_err(|e| format!("sheet_id: {e}")));
        }
        if let Some(outcome) = &self.outcome {
            invalid.check(outcome.ratings.check());
            invalid.check(parse_time("outcome.done_at", &outcome.done_at).map(|_| ()));
            invalid.check(check_text(
                "outcome.opinions",
                &outcome.opinions,
                4000,
                false,
            ));
            if outcome.method == FollowUpMethod::OnSiteSignature {
                invalid.require(
                    self.signature.is_some(),
                    "an on-site signature follow-up needs the signature",
                );
            }
        }
        if let Some(response) = &self.survey_response {
            invalid.require(
                self.kind == FollowUpKind::Survey,
                "only a survey follow-up has survey answers",
            );
            invalid.require(
                self.status == FollowUpStatus::Completed,
                "survey answers complete their follow-up",
            );
            invalid.check(
                parse_time("survey_response.answered_at", &response.answered_at).map(|_| ()),
            );
            invalid.require(
                crate::is_sha256_hex(&response.form_sha256),
                "survey_response.form_sha256 must be 64 lowercase hex digits (SHA-256)",
            );
            invalid.require(
                response.answers.len() <= crate::survey::MAX_QUESTIONS,
                format!(
                    "survey_response has more than {} answers",
                    crate::survey::MAX_QUESTIONS
                ),
            );
        }
        for (n, reassignment) in self.reassignments.iter().enumerate() {
            invalid
                .check(parse_time(&format!("reassignments[{n}].at"), &reassignment.at).map(|_| ()));
            invalid.check(check_text(
                &format!("reassignments[{n}].reason"),
                &reassignment.reason,
                500,
                false,
            ));
        }
        for (n, attempt) in self.unreachable_attempts.iter().enumerate() {
            invalid.check(
                parse_time(&format!("unreachable_attempts[{n}].at"), &attempt.at).map(|_| ()),
            );
            invalid.check(check_text(
                &format!("unreachable_attempts[{n}].note"),
                &attempt.note,
                500,
                false,
            ));
        }
        match self.status {
            FollowUpStatus::Open => {
                invalid.require(
                    self.outcome.is_none(),
                    "an open follow-up has no outcome yet",
                );
            }
            // An opinion survey is completed by its answers to the form (D-SUR-1), kept with
            // the form's version beside the document, not by the five ratings.
            FollowUpStatus::Completed if self.kind == FollowUpKind::Survey => {}
            FollowUpStatus::Completed => {
                invalid.require(
                    self.outcome.is_some(),
                    "a completed follow-up needs its outcome: method, ratings and time",
                );
            }
            FollowUpStatus::Unreachable | FollowUpStatus::ClosedUnreachable => {
                invalid.require(
                    self.outcome.is_none(),
                    "an unreachable follow-up has no outcome",
                );
                invalid.require(
                    self.unreachable_attempts.len() >= MAX_UNREACHABLE_ATTEMPTS,
                    format!(
                        "a follow-up is unreachable only after {MAX_UNREACHABLE_ATTEMPTS} attempts"
                    ),
                );
            }
            FollowUpStatus::Cancelled => {
                invalid.require(
                    self.outcome.is_none(),
                    "a cancelled follow-up cannot have an outcome",
                );
            }
        }
        let closed_by_head = matches!(
            self.status,
            FollowUpStatus::Cancelled | FollowUpStatus::ClosedUnreachable
        );
        match (&self.cancel_reason, closed_by_head) {
            (None, true) => invalid
                .problems
                .push("cancel_reason is required to cancel or close".into()),
            (Some(reason), true) => invalid.check(check_text("cancel_reason", reason, 500, true)),
            (Some(_), false) => invalid
                .problems
                .push("cancel_reason is only for cancelled or closed follow-ups".into()),
            (None, false) => {}
        }
        invalid.into_result()
    }
}

impl Document for FollowUp {
    const KIND: DocumentKind = DocumentKind::FollowUp;

    fn id(&self) -> &str {
        &self.id
    }

    fn schema_version(&self) -> u64 {
        self.schema_version
    }

    fn upgrade(&mut self) {
        self.schema_version = SCHEMA_VERSION;
    }
}

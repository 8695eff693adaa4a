//! The Customer Information Sheet (客户信息单, form COP7.4-1, SPEC §2) as a document.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::PhoneNumber;
use crate::document::{
    Document, DocumentKind, Invalid, SCHEMA_VERSION, check_document_id, check_text, parse_time,
};
use crate::labels::labelled_enum;
use crate::photo::PhotoRef;

/// 投诉级别 (D-INF-1). A request or enquiry that is not a complaint has level `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ComplaintLevel {
    None,
    Ordinary,
    Significant,
    Major,
}

labelled_enum!(ComplaintLevel {
    None => ("none", "非投诉", "Not a complaint"),
    Ordinary => ("ordinary", "一般", "Ordinary"),
    Significant => ("significant", "较大", "Significant"),
    Major => ("major", "重大", "Major"),
});

/// 信息来源 (D-INF-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
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

labelled_enum!(InformationSource {
    Phone => ("phone", "电话", "Phone"),
    WalkIn => ("walk_in", "来访", "Walk-in"),
    HomeVisit => ("home_visit", "上门", "Home visit"),
    LetterEmail => ("letter_email", "信函/邮件", "Letter or e-mail"),
    Online => ("online", "网络", "Online"),
    SalesSite => ("sales_site", "销售现场", "Sales site"),
    DuringFollowUp => ("during_follow_up", "回访中", "During a follow-up"),
    Other => ("other", "其他", "Other"),
});

/// What the sheet is about; it decides who handles and follows it up (D-INF-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
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

labelled_enum!(SheetCategory {
    PropertyCertificate => ("property_certificate", "房产证", "Property certificate"),
    Mortgage => ("mortgage", "按揭", "Mortgage"),
    Measurement => ("measurement", "房屋查丈", "House measurement"),
    Repair => ("repair", "维修", "Repair"),
    WarrantyRepair => ("warranty_repair", "保修", "Warranty repair"),
    CompanyFundedRepair => ("company_funded_repair", "公司出资维修/改造", "Company-funded repair or renovation"),
    SalesMatter => ("sales_matter", "销售现场客户事务", "Sales-site customer matter"),
    PropertyService => ("property_service", "物业服务", "Property service"),
    Other => ("other", "其他", "Other"),
});

impl SheetCategory {
    /// Property certificates, mortgages and measurement belong to the marketing department (R-INF-6).
    pub fn is_marketing_scope(self) -> bool {
        matches!(
            self,
            SheetCategory::PropertyCertificate
                | SheetCategory::Mortgage
                | SheetCategory::Measurement
        )
    }

    /// Repairs whose follow-up a customer's signature on site can complete (R-INF-8).
    pub fn is_repair(self) -> bool {
        matches!(
            self,
            SheetCategory::Repair
                | SheetCategory::WarrantyRepair
                | SheetCategory::CompanyFundedRepair
        )
    }
}

/// The sheet's lifecycle (D-INF-4): `accepted → handling → handled → followed_up → archived`,
/// or `invalid` with a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SheetStatus {
    Accepted,
    Handling,
    Handled,
    FollowedUp,
    /// Its follow-up was closed because the customer could not be reached (D-STA-3): final,
    /// like followed up, and saying so.
    ClosedUnreachable,
    Archived,
    Invalid,
}

labelled_enum!(SheetStatus {
    Accepted => ("accepted", "已受理", "Accepted"),
    Handling => ("handling", "处理中", "Handling"),
    Handled => ("handled", "已处理", "Handled"),
    FollowedUp => ("followed_up", "已回访", "Followed up"),
    ClosedUnreachable => ("closed_unreachable", "联系不上,已结案", "Closed: customer unreachable"),
    Archived => ("archived", "已归档", "Archived"),
    Invalid => ("invalid", "无效", "Invalid"),
});

impl SheetStatus {
    /// Whether a sheet may move from `self` to `next`.
    pub fn can_become(self, next: SheetStatus) -> bool {
        use SheetStatus::*;
        matches!(
            (self, next),
            (Accepted, Handling)
                | (Accepted, Handled)
                | (Handling, Handled)
                | (Handled, FollowedUp)
                | (Handled, ClosedUnreachable)
                | (FollowedUp, Archived)
                | (ClosedUnreachable, Archived)
                | (Accepted, Invalid)
                | (Handling, Invalid)
        ) || self == next
    }

    /// Content can still be edited (R-INF-3: archived records are read-only).
    pub fn is_editable(self) -> bool {
        matches!(self, SheetStatus::Accepted | SheetStatus::Handling)
    }
}

/// One item of "what the customer reported" (客户反映情况 1–5, more allowed, D-INF-5).
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct ReportedItem {
    /// Stable id so that two phones adding items concurrently keep both.
    #[key]
    pub id: String,
    pub text: String,
}

/// One tracking note (跟踪情况): who looked at the matter when, and what they found.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct TrackingNote {
    #[key]
    pub id: String,
    pub at: String,
    pub by_staff_id: i64,
    pub note: String,
}

/// The Customer Information Sheet: every field of form COP7.4-1, plus routing and lifecycle.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Sheet {
    pub schema_version: u64,
    pub id: String,
    /// 编号, unique per company (`XX-2026-000123`); given by the server, so `None` on a sheet
    /// a phone accepted offline until it syncs (D-INF-5).
    pub number: Option<String>,
    /// 受理时间.
    pub accepted_at: String,
    /// 投诉级别.
    pub level: ComplaintLevel,
    pub category: SheetCategory,
    /// 信息来源.
    pub source: InformationSource,
    pub household_id: Option<i64>,
    pub customer_id: Option<i64>,
    /// 客户姓名.
    pub customer_name: String,
    /// 客户地址.
    pub customer_address: String,
    /// 联系电话, normal form (see [`PhoneNumber`]).
    pub contact_phone: String,
    /// 受理人员.
    pub accepted_by: i64,
    pub accepting_unit_id: i64,
    /// The unit that handles the matter (routed by category, D-INF-3).
    pub handling_unit_id: Option<i64>,
    /// 客户反映情况.
    pub items: Vec<ReportedItem>,
    /// 调查情况及处理方案.
    pub investigation: String,
    /// 跟踪情况.
    pub tracking: Vec<TrackingNote>,
    /// 处理结果.
    pub result: String,
    /// 处理时间: when the matter was handled; the 24-hour follow-up clock starts here (R-INF-4).
    pub handled_at: Option<String>,
    pub status: SheetStatus,
    pub invalid_reason: Option<String>,
    /// The sheet whose unsatisfied follow-up reopened this matter (D-CB-3).
    pub reopened_from: Option<String>,
    pub created_at: String,
    /// Photos of what the customer showed (issue #18); only ever added.
    #[autosurgeon(missing = "Vec::new")]
    #[serde(default)]
    pub photos: Vec<PhotoRef>,
}

/// What accepting a sheet records; everything else starts empty (D-INF-4: `accepted`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetIntake {
    pub id: String,
    pub accepted_at: String,
    pub level: ComplaintLevel,
    pub category: SheetCategory,
    pub source: InformationSource,
    pub household_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub customer_name: String,
    pub customer_address: String,
    pub contact_phone: String,
    pub accepted_by: i64,
    pub accepting_unit_id: i64,
    pub items: Vec<ReportedItem>,
    pub created_at: String,
}

impl Sheet {
    /// A newly accepted sheet: unnumbered, unrouted, nothing handled yet. Phone and server both
    /// build new sheets here, so they agree on what a new sheet is.
    pub fn accepted(intake: SheetIntake) -> Sheet {
        Sheet {
            schema_version: SCHEMA_VERSION,
            id: intake.id,
            number: None,
            accepted_at: intake.accepted_at,
            level: intake.level,
            category: intake.category,
            source: intake.source,
            household_id: intake.household_id,
            customer_id: intake.customer_id,
            customer_name: intake.customer_name.trim().to_owned(),
            customer_address: intake.customer_address.trim().to_owned(),
            contact_phone: intake.contact_phone,
            accepted_by: intake.accepted_by,
            accepting_unit_id: intake.accepting_unit_id,
            handling_unit_id: None,
            items: intake.items,
            investigation: String::new(),
            tracking: Vec::new(),
            result: String::new(),
            handled_at: None,
            status: SheetStatus::Accepted,
            invalid_reason: None,
            reopened_from: None,
            created_at: intake.created_at,
            photos: Vec::new(),
        }
    }
}

/// Longest text of one reported item, investigation, tracking note or result.
pub const MAX_PROSE: usize = 4000;

impl Sheet {
    /// Checks the sheet on its own: required fields, formats, and what each status needs.
    pub fn validate(&self) -> Result<(), Invalid> {
        let mut invalid = Invalid::default();
        invalid.check(check_document_id(&self.id));
        let accepted_at = parse_time("accepted_at", &self.accepted_at);
        invalid.check(accepted_at.as_ref().map(|_| ()).map_err(Clone::clone));
        invalid.check(parse_time("created_at", &self.created_at).map(|_| ()));
        invalid.check(check_text("customer_name", &self.customer_name, 50, true));
        invalid.check(check_text(
            "customer_address",
            &self.customer_address,
            200,
            false,
        ));
        match PhoneNumber::parse(&self.contact_phone) {
            Ok(phone) if phone.as_str() == self.contact_phone => {}
            Ok(phone) => invalid
                .problems
                .push(format!("contact_phone must be in normal form ({phone})")),
            Err(e) => invalid.problems.push(format!("contact_phone: {e}")),
        }
        invalid.require(
            self.items.iter().any(|i| !i.text.trim().is_empty()),
            "items: at least one item of what the customer reported is required",
        );
        for (n, item) in self.items.iter().enumerate() {
            invalid.check(check_text(
                &format!("items[{n}]"),
                &item.text,
                MAX_PROSE,
                false,
            ));
            invalid.check(check_document_id(&item.id).map_err(|e| format!("items[{n}].id: {e}")));
        }
        for (n, note) in self.tracking.iter().enumerate() {
            invalid.check(check_text(
                &format!("tracking[{n}]"),
                &note.note,
                MAX_PROSE,
                true,
            ));
            invalid.check(parse_time(&format!("tracking[{n}].at"), &note.at).map(|_| ()));
        }
        invalid.check(check_text(
            "investigation",
            &self.investigation,
            MAX_PROSE,
            false,
        ));
        invalid.check(check_text("result", &self.result, MAX_PROSE, false));
        if let Some(handled_at) = &self.handled_at {
            match (parse_time("handled_at", handled_at), &accepted_at) {
                (Ok(handled), Ok(accepted)) if handled < *accepted => {
                    invalid
                        .problems
                        .push("handled_at must not be before accepted_at".into());
                }
                (Err(e), _) => invalid.problems.push(e),
                _ => {}
            }
        }
        let handled = matches!(
            self.status,
            SheetStatus::Handled | SheetStatus::FollowedUp | SheetStatus::Archived
        );
        if handled {
            invalid.require(
                self.handled_at.is_some(),
                "handled_at is required once the sheet is handled",
            );
            invalid.require(
                !self.result.trim().is_empty(),
                "result is required once the sheet is handled",
            );
        }
        match (&self.invalid_reason, self.status) {
            (None, SheetStatus::Invalid) => invalid
                .problems
                .push("invalid_reason is required to mark a sheet invalid".into()),
            (Some(reason), SheetStatus::Invalid) => {
                invalid.check(check_text("invalid_reason", reason, 500, true))
            }
            (Some(_), _) => invalid
                .problems
                .push("invalid_reason is only for invalid sheets".into()),
            (None, _) => {}
        }
        if let Some(from) = &self.reopened_from {
            invalid.check(check_document_id(from).map_err(|e| format!("reopened_from: {e}")));
        }
        invalid.into_result()
    }
}

impl Document for Sheet {
    const KIND: DocumentKind = DocumentKind::Sheet;

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

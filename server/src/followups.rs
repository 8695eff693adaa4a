//! Follow-ups (SPEC §3): created by the rules when a sheet is handled, done on the doorstep or
//! the phone, retried when the customer cannot be reached, reassigned or cancelled by heads, and
//! escalated when overdue. A dissatisfied follow-up reopens the matter (D-CB-3).

mod heads;
mod routes;
use huifang_store::followups as store;
mod workflow;

pub use heads::Heads;
pub use routes::router;
pub use store::{
    FollowUpFilter, FollowUpSummary, FollowUpView, for_sheet, list, project, project_overdue,
};
pub(crate) use workflow::answerable_head;
pub use workflow::{
    CancelFollowUp, ReassignFollowUp, RecordOutcome, RecordUnreachable, cancel, create_for_sheet,
    reassign, record_outcome, record_unreachable,
};
pub use workflow::{Recorder, after_completed, is_assigned_within, is_visible};

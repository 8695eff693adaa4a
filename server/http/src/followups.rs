//! `/api/v1/followups*`: follow-ups (SPEC §3) over HTTP; what happens to a follow-up is the
//! domain's (`huifang_core::followups`).

mod routes;

pub(crate) use routes::detail;
pub use routes::router;

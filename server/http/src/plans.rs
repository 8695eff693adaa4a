//! `/api/v1/plans*`: routine follow-up plans (R-RTN-1…5) over HTTP; the planning itself is the
//! domain's (`huifang_core::plans`).

mod routes;

pub use routes::router;

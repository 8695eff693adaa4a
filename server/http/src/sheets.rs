//! `/api/v1/sheets*`: customer information sheets (SPEC §2) over HTTP; what happens to a sheet
//! is the domain's (`huifang_core::sheets`).

mod routes;

pub(crate) use routes::detail;
pub use routes::router;

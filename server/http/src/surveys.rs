//! `/api/v1/surveys*`: the annual opinion survey (R-SUR-1…3) over HTTP, and its report as a
//! spreadsheet; the survey's workflow is the domain's (`huifang_core::surveys`).

mod routes;
pub mod workbook;

pub use routes::router;

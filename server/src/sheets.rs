//! Customer information sheets (SPEC §2): accepting, editing, handling and invalidating them,
//! numbering, and their projection. Handling a valid sheet hands it to the rules engine, which
//! creates its follow-up (R-INF-1, R-INF-4).

mod routes;
use huifang_store::sheets as store;
mod workflow;

pub use routes::router;
pub use store::next_number;
pub use store::{SheetFilter, SheetSummary, is_visible, list, project, scope_sql};
pub use workflow::{
    AcceptSheet, HandleSheet, SheetEdit, SheetUpdate, accept, archive, change, handle,
    left_handling_unit, load_visible, submitted_time,
};

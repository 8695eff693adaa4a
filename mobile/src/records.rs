//! The facade's own record: who is signed in (the session without its token). Every other
//! record and enum the apps see is client-core's or the protocol's own type, derived for uniffi
//! in those crates (their feature `uniffi`), so there is no second definition to keep in step.

use huifang_protocol::Role;

/// Who is signed in on this phone (the token stays inside the library).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SignedIn {
    pub server_url: String,
    pub staff_id: i64,
    pub username: String,
    pub name: String,
    pub role: Role,
    pub unit_id: Option<i64>,
    pub time_zone: String,
}

impl From<huifang_client::Session> for SignedIn {
    fn from(session: huifang_client::Session) -> Self {
        SignedIn {
            server_url: session.server_url,
            staff_id: session.staff_id,
            username: session.username,
            name: session.name,
            role: session.role,
            unit_id: session.unit_id,
            time_zone: session.time_zone,
        }
    }
}

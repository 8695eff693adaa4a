//! Who is calling, and what they may see (SPEC §1, D-GOV-2).
//!
//! Every `/api` route except sign-in acts for a [`Caller`], made only from a valid, unexpired,
//! unrevoked session of an active staff member ([`SessionStore::authenticate`]). The caller's
//! role and unit then decide the scope of every list (a unit head sees their unit, staff their
//! own, the general manager and administrators everything): computed once here, passed to every
//! query of the store.

mod password;
pub mod sessions;
mod throttle;

use huifang_protocol::{Role, UnitKind};

use crate::error::Error;

pub use huifang_store::scope::{HouseholdScope, StaffScope, WorkScope};
pub use password::{MAX_PASSWORD_LEN, check_new_password, hash_password, verify_password};
pub use sessions::{SessionStore, TOKEN_PREFIX};
pub use throttle::LoginThrottle;

/// The signed-in staff member behind a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub staff_id: i64,
    pub session_id: i64,
    pub username: String,
    pub role: Role,
    pub unit: Option<CallerUnit>,
    /// Units whose work the caller does: their own, and for a unit head the units under it.
    pub work_units: Vec<i64>,
}

/// The caller's unit, as far as scoping needs it.
#[derive(Debug, Clone, Copy)]
pub struct CallerUnit {
    pub id: i64,
    pub kind: UnitKind,
    pub community_id: Option<i64>,
}

impl Caller {
    /// Refuses the request unless the caller has one of `roles`.
    pub fn require_role(&self, roles: &[Role]) -> Result<(), Error> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            let names: Vec<&str> = roles
                .iter()
                .map(|r| huifang_protocol::Labelled::code(*r))
                .collect();
            Err(Error::Forbidden(format!(
                "this needs the role {}; you are {}",
                names.join(" or "),
                self.role
            )))
        }
    }

    pub fn household_scope(&self) -> HouseholdScope {
        if self.role.sees_everything() {
            return HouseholdScope::All;
        }
        if self.role == Role::Consultant {
            return HouseholdScope::ConsultantCustomers(self.staff_id);
        }
        match self.unit {
            Some(unit) if unit.kind.is_company_wide() => HouseholdScope::All,
            Some(CallerUnit {
                community_id: Some(community),
                ..
            }) => HouseholdScope::Community(community),
            _ => HouseholdScope::Nothing,
        }
    }

    pub fn work_scope(&self) -> WorkScope {
        let development = self
            .unit
            .is_some_and(|u| u.kind == UnitKind::DevelopmentDepartment);
        if self.role.sees_everything() || development {
            WorkScope::All
        } else {
            WorkScope::Units {
                staff_id: self.staff_id,
                units: if self.role == Role::Consultant {
                    Vec::new()
                } else {
                    self.work_units.clone()
                },
            }
        }
    }

    /// The work the caller does themselves, whatever they may see: theirs, and their units'
    /// (a consultant's: only theirs). Recording an outcome or an answer is limited to it.
    pub fn own_work(&self) -> WorkScope {
        WorkScope::Units {
            staff_id: self.staff_id,
            units: if self.role == Role::Consultant {
                Vec::new()
            } else {
                self.work_units.clone()
            },
        }
    }

    /// The caller as the document permission rules see them.
    pub fn actor(&self) -> huifang_protocol::Actor {
        huifang_protocol::Actor::Staff(huifang_protocol::StaffActor {
            staff_id: self.staff_id,
            role: self.role,
            units: self.work_units.clone(),
        })
    }

    /// The caller for the audit log.
    pub fn audit_actor(&self) -> huifang_store::audit::AuditActor {
        huifang_store::audit::AuditActor {
            staff_id: Some(self.staff_id),
            session_id: Some(self.session_id),
        }
    }

    pub fn staff_scope(&self) -> StaffScope {
        match (self.role, self.unit) {
            (role, _) if role.sees_everything() => StaffScope::All,
            (Role::UnitHead, Some(unit)) => StaffScope::UnitTree(unit.id),
            _ => StaffScope::OnlySelf(self.staff_id),
        }
    }

    /// Whether the caller needs customers' full phone numbers to do their work; the general
    /// manager and administrators see them masked.
    pub fn sees_customer_phones(&self) -> bool {
        matches!(self.role, Role::UnitHead | Role::Staff | Role::Consultant)
    }
}

/// Usernames are compared without case and surrounding space.
pub fn normalise_username(text: &str) -> String {
    text.trim().to_lowercase()
}

/// Checks a (normalised) username: 2–64 ASCII letters, digits, `.`, `_`, `-` or `@`.
pub fn check_username(username: &str) -> Result<(), String> {
    if !(2..=64).contains(&username.len())
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        return Err(format!(
            "username {username:?} must be 2–64 letters, digits, '.', '_', '-' or '@'"
        ));
    }
    Ok(())
}

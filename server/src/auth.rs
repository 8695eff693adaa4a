//! Who is calling, and what they may see.
//!
//! Every `/api` route except sign-in takes a [`Caller`], which is only produced from a valid,
//! unexpired, unrevoked bearer token of an active staff member. The caller's role and unit then
//! decide the scope of every list (a unit head sees their unit, staff their own, the general
//! manager and administrators everything).

mod password;
mod routes;
mod sessions;
mod throttle;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use huifang_protocol::{Role, UnitKind};

use crate::app::AppState;
use crate::error::AppError;

pub use huifang_store::scope::{HouseholdScope, StaffScope, WorkScope};
pub use password::{check_new_password, hash_password, verify_password};
pub use routes::{router, sign_in};
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
    pub fn require_role(&self, roles: &[Role]) -> Result<(), AppError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            let names: Vec<&str> = roles
                .iter()
                .map(|r| huifang_protocol::Labelled::code(*r))
                .collect();
            Err(AppError::Forbidden(format!(
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

/// A caller who is an administrator. As an extractor it comes before the body, so whoever may not
/// call an administrator's route is told so (403) before anything about their request's content.
#[derive(Debug, Clone)]
pub struct Administrator(pub Caller);

impl FromRequestParts<AppState> for Administrator {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require_role(&[Role::Admin])?;
        Ok(Administrator(caller))
    }
}

/// The cookie holding a dashboard session's token (HttpOnly, SameSite=Strict).
pub const SESSION_COOKIE: &str = "huifang_session";
/// The header a browser request signed in by cookie must carry to change anything: a page of
/// another site cannot send it without a CORS preflight, which this server never grants.
pub const BROWSER_WRITE_HEADER: &str = "x-huifang-request";

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    /// Phones and scripts send `Authorization: Bearer <token>`; the dashboard's browser sends the
    /// session cookie (and, for anything but reading, [`BROWSER_WRITE_HEADER`]).
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            let jar = axum_extra::extract::CookieJar::from_headers(&parts.headers);
            let Some(cookie) = jar.get(SESSION_COOKIE) else {
                return Err(AppError::Unauthorized(
                    "missing `Authorization: Bearer <token>` header".into(),
                ));
            };
            if !parts.method.is_safe() && !parts.headers.contains_key(BROWSER_WRITE_HEADER) {
                return Err(AppError::Forbidden(format!(
                    "a change made from the browser must carry the {BROWSER_WRITE_HEADER} header"
                )));
            }
            return state.sessions().authenticate(cookie.value()).await;
        };
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                AppError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
            })?;
        state.sessions().authenticate(token).await
    }
}

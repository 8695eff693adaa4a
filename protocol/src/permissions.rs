//! Field-level write permissions: which actor may change which field of a document.
//!
//! The server checks every change a device sends, and its own API edits, with these functions;
//! the phone checks its local edits with the same ones, so a legitimate phone never makes a change
//! the server will refuse.

use serde::Serialize;

use crate::Role;
use crate::followup::{FollowUp, FollowUpStatus};
use crate::sheet::{Sheet, SheetStatus};

/// Who is changing a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The server itself: rules, deadlines, numbering, and edits it makes for a head or admin
    /// after its own checks.
    Server,
    Staff(StaffActor),
}

/// A staff member as far as document permissions go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffActor {
    pub staff_id: i64,
    pub role: Role,
    /// Units whose work this person does: their own, and for a unit head the units under it.
    pub units: Vec<i64>,
}

/// One field a change may not make, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldViolation {
    pub field: &'static str,
    pub reason: String,
}

impl std::fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// Every violation as one sentence a person can read (`field: reason; field: reason`).
pub fn describe_violations(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn violation(field: &'static str, reason: impl Into<String>) -> FieldViolation {
    FieldViolation {
        field,
        reason: reason.into(),
    }
}

/// Collects the names of fields whose values differ.
macro_rules! changed_fields {
    ($before:expr, $after:expr, [$($field:ident),* $(,)?]) => {{
        let mut changed: Vec<&'static str> = Vec::new();
        $( if $before.$field != $after.$field { changed.push(stringify!($field)); } )*
        changed
    }};
}

fn finish(violations: Vec<FieldViolation>) -> Result<(), Vec<FieldViolation>> {
    if violations.is_empty() {
        Ok(())
    } else {
        Err(violations)
    }
}

/// Checks a new sheet (`before` is `None`) or a change to one.
pub fn check_sheet_change(
    before: Option<&Sheet>,
    after: &Sheet,
    actor: &Actor,
) -> Result<(), Vec<FieldViolation>> {
    let mut violations = Vec::new();
    if let Some(before) = before
        && !before.status.can_become(after.status)
    {
        violations.push(violation(
            "status",
            format!(
                "a sheet cannot go from {} to {}",
                before.status, after.status
            ),
        ));
    }
    let Actor::Staff(staff) = actor else {
        return finish(violations);
    };
    let Some(before) = before else {
        if after.accepted_by != staff.staff_id {
            violations.push(violation(
                "accepted_by",
                "a new sheet is accepted by the person who creates it",
            ));
        }
        if !staff.units.contains(&after.accepting_unit_id) {
            violations.push(violation(
                "accepting_unit_id",
                "a new sheet is accepted in your own unit",
            ));
        }
        if after.number.is_some() {
            violations.push(violation("number", "numbers are given by the server"));
        }
        if after.status != SheetStatus::Accepted {
            violations.push(violation("status", "a new sheet starts as accepted"));
        }
        if after.reopened_from.is_some() || after.handling_unit_id.is_some() {
            violations.push(violation(
                "handling_unit_id",
                "routing is done by the server",
            ));
        }
        return finish(violations);
    };

    let fixed = changed_fields!(
        before,
        after,
        [
            schema_version,
            id,
            number,
            accepted_by,
            accepting_unit_id,
            reopened_from,
            created_at
        ]
    );
    for field in fixed {
        violations.push(violation(field, "set by the server; it cannot be changed"));
    }
    let works_on_it = staff.role == Role::Admin
        || before.accepted_by == staff.staff_id
        || staff.units.contains(&before.accepting_unit_id)
        || before
            .handling_unit_id
            .is_some_and(|unit| staff.units.contains(&unit));
    let content = changed_fields!(
        before,
        after,
        [
            accepted_at,
            level,
            category,
            source,
            household_id,
            customer_id,
            customer_name,
            customer_address,
            contact_phone,
            items,
            investigation,
            tracking,
            result,
            handled_at,
            invalid_reason,
            handling_unit_id,
            status,
            photos,
        ]
    );
    if content.is_empty() {
        return finish(violations);
    }
    if !works_on_it {
        for field in content {
            violations.push(violation(
                field,
                "you neither accepted nor handle this sheet",
            ));
        }
        return finish(violations);
    }
    if !before.status.is_editable() {
        for field in content {
            violations.push(violation(
                field,
                format!(
                    "the sheet is {}; its content can no longer change",
                    before.status
                ),
            ));
        }
        return finish(violations);
    }
    if before.handling_unit_id != after.handling_unit_id
        && !matches!(staff.role, Role::UnitHead | Role::Admin)
    {
        violations.push(violation(
            "handling_unit_id",
            "only a unit head or an administrator re-routes a sheet",
        ));
    }
    if matches!(
        after.status,
        SheetStatus::FollowedUp | SheetStatus::Archived
    ) && before.status != after.status
    {
        violations.push(violation(
            "status",
            "a sheet is marked followed up or archived by the server",
        ));
    }
    let kept = before
        .tracking
        .iter()
        .all(|note| after.tracking.contains(note));
    let added_by_others = after
        .tracking
        .iter()
        .filter(|note| !before.tracking.contains(note))
        .any(|note| note.by_staff_id != staff.staff_id);
    if !kept || added_by_others {
        violations.push(violation(
            "tracking",
            "tracking notes are only added, each by its own author",
        ));
    }
    finish(violations)
}

/// Checks a new follow-up (`before` is `None`) or a change to one.
pub fn check_follow_up_change(
    before: Option<&FollowUp>,
    after: &FollowUp,
    actor: &Actor,
) -> Result<(), Vec<FieldViolation>> {
    let mut violations = Vec::new();
    if let Some(before) = before
        && !before.status.can_become(after.status)
    {
        violations.push(violation(
            "status",
            format!(
                "a follow-up cannot go from {} to {}",
                before.status, after.status
            ),
        ));
    }
    let Actor::Staff(staff) = actor else {
        return finish(violations);
    };
    let Some(before) = before else {
        violations.push(violation(
            "id",
            "follow-ups are created by the server's rules",
        ));
        return finish(violations);
    };
    let server_fields = changed_fields!(
        before,
        after,
        [
            schema_version,
            id,
            kind,
            sheet_id,
            household_id,
            customer_id,
            customer_name,
            contact_phone,
            assignee_unit_id,
            assignee_staff_id,
            rule,
            due_at,
            cancel_reason,
            overdue_at,
            escalations,
            reassignments,
            created_at,
            survey_form_id,
        ]
    );
    for field in server_fields {
        violations.push(violation(
            field,
            "set by the server; ask your unit head to reassign or cancel",
        ));
    }
    let assignee_fields = changed_fields!(
        before,
        after,
        [
            status,
            outcome,
            unreachable_attempts,
            signature,
            survey_response,
            photos
        ]
    );
    if assignee_fields.is_empty() {
        return finish(violations);
    }
    let is_assignee = match before.assignee_staff_id {
        Some(id) => id == staff.staff_id,
        None => staff.units.contains(&before.assignee_unit_id),
    };
    if !is_assignee {
        for field in assignee_fields {
            violations.push(violation(field, "only the assignee records this follow-up"));
        }
        return finish(violations);
    }
    if before.status.is_closed() {
        for field in assignee_fields {
            violations.push(violation(
                field,
                format!(
                    "the follow-up is {}; it can no longer change",
                    before.status
                ),
            ));
        }
        return finish(violations);
    }
    if after.status != before.status
        && !matches!(
            after.status,
            FollowUpStatus::Completed | FollowUpStatus::Unreachable
        )
    {
        violations.push(violation("status", "the assignee completes a follow-up or reports the customer unreachable; a unit head cancels or reopens"));
    }
    let kept = before
        .unreachable_attempts
        .iter()
        .all(|a| after.unreachable_attempts.contains(a));
    if !kept {
        violations.push(violation("unreachable_attempts", "attempts are only added"));
    }
    if before.signature.is_some() && before.signature != after.signature {
        violations.push(violation(
            "signature",
            "a signature cannot be changed once given",
        ));
    }
    finish(violations)
}

/// Sets each named field of `after` back to its value in `before` (the review uses it to find
/// which signed fields a change touches).
macro_rules! revert_fields {
    ($name:ident, $ty:ty, [$($field:ident),* $(,)?]) => {
        pub fn $name(after: &mut $ty, before: &$ty, fields: &[&str]) {
            for field in fields {
                match *field {
                    $( stringify!($field) => after.$field = before.$field.clone(), )*
                    _ => {}
                }
            }
        }
    };
}

revert_fields!(
    revert_sheet_fields,
    Sheet,
    [
        schema_version,
        id,
        number,
        accepted_at,
        level,
        category,
        source,
        household_id,
        customer_id,
        customer_name,
        customer_address,
        contact_phone,
        accepted_by,
        accepting_unit_id,
        handling_unit_id,
        items,
        investigation,
        tracking,
        result,
        handled_at,
        status,
        invalid_reason,
        reopened_from,
        created_at,
    ]
);

//! What happens to follow-ups: creation by the rules, the assignee's outcome or unreachable
//! attempts, and heads' reassignment or cancellation. Each change is checked like a sheet's:
//! transition (409), field permissions (403), validity (422), then stored in one transaction.

use automerge::AutoCommit;
use huifang_protocol::{
    Actor, AssignmentRule, ComplaintLevel, FollowUp, FollowUpFacts, FollowUpKind, FollowUpMethod,
    FollowUpStatus, InformationSource, Labelled, MAX_UNREACHABLE_ATTEMPTS, Outcome, Ratings,
    Reassignment, ReportedItem, Role, SCHEMA_VERSION, Sheet, SheetIntake, SheetStatus,
    SignatureRef, UnreachableAttempt, check_document_id, format_time, parse_time, review_follow_up,
    time_or_now,
};
use serde::Deserialize;

mod heads;
pub use heads::Heads;

use crate::Company;
use crate::auth::Caller;
use crate::error::Error;
use crate::facts;
use crate::rules::{self, RuleSettings};
use huifang_store::documents::DocWrite;

fn not_found(id: &str) -> Error {
    Error::NotFound(format!(
        "follow-up {id} does not exist or is outside your scope"
    ))
}

/// Creates the one information follow-up of a handled sheet (R-INF-1), due `follow_up_hours`
/// after handling (R-INF-4), assigned by the rules; tells the heads the rule names (R-ORG-2).
pub async fn create_for_sheet(
    write: &mut DocWrite,
    sheet: &Sheet,
    settings: &RuleSettings,
) -> Result<FollowUp, Error> {
    if huifang_store::followups::has_information_follow_up(write.tx(), &sheet.id).await? {
        return Err(Error::Conflict(format!(
            "sheet {} already has its follow-up",
            sheet.id
        )));
    }
    let handled_at = sheet
        .handled_at
        .as_deref()
        .ok_or_else(|| Error::internal(format!("sheet {} handled without handled_at", sheet.id)))?;
    let handled_at = parse_time("handled_at", handled_at).map_err(Error::invalid)?;
    let facts = rules::gather_facts(write.tx(), sheet).await?;
    let assignment = rules::assign(sheet, &facts, settings);
    let follow_up = FollowUp {
        schema_version: SCHEMA_VERSION,
        id: huifang_protocol::new_document_id(),
        kind: FollowUpKind::Information,
        sheet_id: Some(sheet.id.clone()),
        household_id: sheet.household_id,
        customer_id: sheet.customer_id,
        customer_name: sheet.customer_name.clone(),
        contact_phone: sheet.contact_phone.clone(),
        assignee_unit_id: assignment.unit_id,
        assignee_staff_id: assignment.staff_id,
        rule: assignment.rule,
        due_at: format_time(handled_at + settings.follow_up_window()),
        status: FollowUpStatus::Open,
        outcome: None,
        unreachable_attempts: Vec::new(),
        signature: None,
        cancel_reason: None,
        overdue_at: None,
        escalations: Vec::new(),
        reassignments: Vec::new(),
        created_at: write.now_text(),
        survey_form_id: None,
        survey_response: None,
        photos: Vec::new(),
    };
    follow_up
        .validate()
        .map_err(|e| Error::internal(format!("rules made an invalid follow-up: {e}")))?;
    write
        .store(&mut AutoCommit::new(), &follow_up, "follow_up.assigned")
        .await?;
    let number = sheet.number.as_deref().unwrap_or(&sheet.id);
    let message = format!(
        "信息单 {number} 已处理,需在 {} 前回访:{}",
        write.local(&follow_up.due_at),
        follow_up.rule.label_zh()
    );
    if let Some(assignee) = follow_up.assignee_staff_id {
        write.notify(assignee, &follow_up.id, &message).await?;
    }
    for head in assignment.notify {
        write.notify(head, &follow_up.id, &message).await?;
    }
    Ok(follow_up)
}

/// Loads a follow-up the caller may act on.
async fn begin_change(
    state: &Company,
    caller: &Caller,
    id: &str,
) -> Result<(DocWrite, AutoCommit, FollowUp), Error> {
    if check_document_id(id).is_err() {
        return Err(not_found(id));
    }
    // Visibility is checked before the write begins, so no read waits inside the write lock.
    let current = huifang_store::documents::read::<FollowUp>(state.db(), id)
        .await?
        .ok_or_else(|| not_found(id))?;
    if !is_visible(state, caller, &current).await? {
        return Err(not_found(id));
    }
    let mut write = DocWrite::begin(state.db(), caller.audit_actor(), state.time_zone()).await?;
    let (doc, follow_up) = write
        .load::<FollowUp>(id)
        .await?
        .ok_or_else(|| not_found(id))?;
    Ok((write, doc, follow_up))
}

/// Whether a follow-up is assigned within a work scope: to the person, or to one of the scope's
/// units (a consultant's scope has no units: they see their own customers' follow-ups only).
pub fn is_assigned_within(scope: &crate::auth::WorkScope, follow_up: &FollowUp) -> bool {
    match scope {
        crate::auth::WorkScope::All => true,
        crate::auth::WorkScope::Units { staff_id, units } => {
            follow_up.assignee_staff_id == Some(*staff_id)
                || units.contains(&follow_up.assignee_unit_id)
        }
    }
}

/// Whether the caller may see a follow-up: theirs, their units', one of a sheet they may see
/// (the acceptor follows what became of their sheet), or everything.
pub async fn is_visible(
    state: &Company,
    caller: &Caller,
    follow_up: &FollowUp,
) -> Result<bool, Error> {
    let scope = caller.work_scope();
    if is_assigned_within(&scope, follow_up) {
        return Ok(true);
    }
    match &follow_up.sheet_id {
        Some(sheet) => {
            Ok(huifang_store::sheets::is_visible(state.db().pool(), &scope, sheet).await?)
        }
        None => Ok(false),
    }
}

/// Reviews a change the server makes on a head's or an administrator's request (reassigning,
/// cancelling): only the transition and the result's validity are checked.
fn review_as_server(write: &DocWrite, before: &FollowUp, after: &FollowUp) -> Result<(), Error> {
    let facts = FollowUpFacts {
        now: write.now,
        sheet: None,
        signature_blob: None,
        survey_form: None,
        photos: Default::default(),
    };
    Ok(review_follow_up(before, after, &Actor::Server, &facts)?)
}

/// The assignee's record of a done follow-up.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordOutcome {
    pub method: FollowUpMethod,
    /// When it was done on the phone (D-CB-2); defaults to now.
    pub done_at: Option<String>,
    pub ratings: Ratings,
    #[serde(default)]
    pub opinions: String,
    /// The customer's signature confirming a repair (R-INF-8, D-SIG-1).
    pub signature: Option<SignatureRef>,
}

/// Records the outcome. The sheet becomes followed up; a dissatisfied customer (overall 1–2)
/// reopens the matter as a new sheet linked to the first (D-CB-3).
pub async fn record_outcome(
    state: &Company,
    caller: &Caller,
    id: &str,
    request: RecordOutcome,
) -> Result<(FollowUp, Option<Sheet>), Error> {
    let settings = RuleSettings::load(state.db()).await?;
    let (mut write, mut doc, before) = begin_change(state, caller, id).await?;
    // D-CB-2: the phone's time, checked within bounds by the review.
    let done_at =
        time_or_now("done_at", request.done_at.as_deref(), write.now).map_err(Error::invalid)?;
    let mut after = before.clone();
    after.status = FollowUpStatus::Completed;
    after.outcome = Some(Outcome {
        method: request.method,
        done_at: format_time(done_at),
        ratings: request.ratings,
        opinions: request.opinions.trim().to_owned(),
        recorded_by: caller.staff_id,
    });
    if request.signature.is_some() {
        after.signature = request.signature;
    }
    facts::review_follow_up_change(&mut write, caller, &before, &after).await?;
    write.store(&mut doc, &after, "follow_up.completed").await?;
    let recorder = Recorder {
        staff_id: caller.staff_id,
        unit_id: caller.unit.map(|u| u.id),
    };
    let reopened = after_completed(&mut write, recorder, &after, &settings).await?;
    write.commit().await?;
    Ok((after, reopened))
}

/// Who recorded a follow-up's outcome: they accept the reopened matter (D-CB-3).
#[derive(Debug, Clone, Copy)]
pub struct Recorder {
    pub staff_id: i64,
    pub unit_id: Option<i64>,
}

/// What follows a completed follow-up, whether recorded over the API or synced from a phone:
/// its sheet becomes followed up, and a dissatisfied customer reopens the matter (D-CB-3).
pub async fn after_completed(
    write: &mut DocWrite,
    recorder: Recorder,
    follow_up: &FollowUp,
    settings: &RuleSettings,
) -> Result<Option<Sheet>, Error> {
    let Some(sheet_id) = &follow_up.sheet_id else {
        return Ok(None);
    };
    let Some((mut sheet_doc, sheet)) = write.load::<Sheet>(sheet_id).await? else {
        return Ok(None);
    };
    if matches!(sheet.status, SheetStatus::Handled) {
        let mut followed_up = sheet.clone();
        followed_up.status = SheetStatus::FollowedUp;
        write
            .store(&mut sheet_doc, &followed_up, "sheet.followed_up")
            .await?;
    }
    let dissatisfied = follow_up
        .outcome
        .as_ref()
        .is_some_and(|o| o.ratings.is_dissatisfied());
    if dissatisfied {
        return Ok(Some(
            reopen(write, recorder, &sheet, follow_up, settings).await?,
        ));
    }
    Ok(None)
}

/// D-CB-3: a dissatisfied follow-up re-enters the complaint flow as a new sheet, accepted by
/// whoever recorded the follow-up and routed like any other.
async fn reopen(
    write: &mut DocWrite,
    recorder: Recorder,
    original: &Sheet,
    follow_up: &FollowUp,
    settings: &RuleSettings,
) -> Result<Sheet, Error> {
    let outcome = follow_up
        .outcome
        .as_ref()
        .ok_or_else(|| Error::internal("reopen without outcome"))?;
    let mut text = format!(
        "回访不满意(总体满意度 {}/5),原信息单 {}",
        outcome.ratings.overall,
        original.number.as_deref().unwrap_or(&original.id)
    );
    if !outcome.opinions.is_empty() {
        text.push_str(&format!(":{}", outcome.opinions));
    }
    let mut sheet = Sheet::accepted(SheetIntake {
        id: huifang_protocol::new_document_id(),
        accepted_at: write.now_text(),
        level: original.level.max(ComplaintLevel::Ordinary),
        category: original.category,
        source: InformationSource::DuringFollowUp,
        household_id: original.household_id,
        customer_id: original.customer_id,
        customer_name: original.customer_name.clone(),
        customer_address: original.customer_address.clone(),
        contact_phone: original.contact_phone.clone(),
        accepted_by: recorder.staff_id,
        accepting_unit_id: recorder.unit_id.unwrap_or(follow_up.assignee_unit_id),
        items: vec![ReportedItem {
            id: huifang_protocol::new_document_id(),
            text,
        }],
        created_at: write.now_text(),
    });
    sheet.number = Some(huifang_store::sheets::next_number(write, &settings.number_prefix).await?);
    sheet.reopened_from = Some(original.id.clone());
    let facts = rules::gather_facts(write.tx(), &sheet).await?;
    sheet.handling_unit_id = Some(rules::route(&sheet, &facts, settings));
    sheet
        .validate()
        .map_err(|e| Error::internal(format!("reopened sheet is invalid: {e}")))?;
    write.store_as_server(&sheet, "sheet.reopened").await?;
    Ok(sheet)
}

/// One failed attempt to reach the customer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordUnreachable {
    pub method: FollowUpMethod,
    pub at: Option<String>,
    #[serde(default)]
    pub note: String,
}

/// Records an attempt; the third makes the follow-up unreachable and tells the unit head (D-CB-3).
pub async fn record_unreachable(
    state: &Company,
    caller: &Caller,
    id: &str,
    request: RecordUnreachable,
) -> Result<FollowUp, Error> {
    let (mut write, mut doc, before) = begin_change(state, caller, id).await?;
    let at = time_or_now("at", request.at.as_deref(), write.now).map_err(Error::invalid)?;
    let mut after = before.clone();
    after.unreachable_attempts.push(UnreachableAttempt {
        id: huifang_protocol::new_document_id(),
        at: format_time(at),
        by_staff_id: caller.staff_id,
        method: request.method,
        note: request.note.trim().to_owned(),
    });
    let exhausted = after.unreachable_attempts.len() >= MAX_UNREACHABLE_ATTEMPTS;
    if exhausted {
        after.status = FollowUpStatus::Unreachable;
    }
    facts::review_follow_up_change(&mut write, caller, &before, &after).await?;
    write
        .store(&mut doc, &after, "follow_up.unreachable_attempt")
        .await?;
    if exhausted && let Some(head) = answerable_head(&mut write, &after).await? {
        let message = format!(
            "客户 {} 已 {MAX_UNREACHABLE_ATTEMPTS} 次联系不上,请决定改派或取消",
            after.customer_name
        );
        write.notify(head, &after.id, &message).await?;
    }
    write.commit().await?;
    Ok(after)
}

/// Who answers for a follow-up that went wrong: up the chain of heads, never its assignee.
pub async fn answerable_head(
    write: &mut DocWrite,
    follow_up: &FollowUp,
) -> Result<Option<i64>, Error> {
    let heads = heads::Heads::load(write.tx()).await?;
    Ok(heads.above(follow_up.assignee_unit_id, follow_up.assignee_staff_id))
}

/// A head moves a follow-up to another person or unit.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReassignFollowUp {
    pub staff_id: Option<i64>,
    /// Defaults to the staff member's unit.
    pub unit_id: Option<i64>,
    /// Why (kept in the document's reassignments and in the audit entry).
    #[serde(default)]
    pub reason: Option<String>,
}

fn require_head_of(caller: &Caller, follow_up: &FollowUp) -> Result<(), Error> {
    let head_here =
        caller.role == Role::UnitHead && caller.work_units.contains(&follow_up.assignee_unit_id);
    if head_here || caller.role == Role::Admin {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "only the head of the assigned unit or an administrator may do this".into(),
        ))
    }
}

pub async fn reassign(
    state: &Company,
    caller: &Caller,
    id: &str,
    request: ReassignFollowUp,
) -> Result<FollowUp, Error> {
    let (mut write, mut doc, before) = begin_change(state, caller, id).await?;
    require_head_of(caller, &before)?;
    let (staff_id, unit_id) = match (request.staff_id, request.unit_id) {
        (Some(staff), unit) => {
            let found = huifang_store::units::of_active_staff(write.tx(), staff).await?;
            let Some(Some(staff_unit)) = found else {
                return Err(Error::invalid(format!(
                    "staff member {staff} does not exist, is inactive or has no unit"
                )));
            };
            if unit.is_some_and(|u| u != staff_unit) {
                return Err(Error::invalid(format!(
                    "staff member {staff} is not in unit {}",
                    unit.unwrap_or_default()
                )));
            }
            (Some(staff), staff_unit)
        }
        (None, Some(unit)) => (None, unit),
        (None, None) => return Err(Error::invalid("give staff_id, unit_id or both")),
    };
    if !huifang_store::units::exists(write.tx(), unit_id).await? {
        return Err(Error::invalid(format!("unit {unit_id} does not exist")));
    }
    if before.status.is_closed() {
        return Err(Error::Conflict(format!(
            "the follow-up is {}; it cannot be reassigned",
            before.status
        )));
    }
    let reason = request
        .reason
        .as_deref()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let mut after = before.clone();
    after.assignee_staff_id = staff_id;
    after.assignee_unit_id = unit_id;
    after.rule = AssignmentRule::ReassignedByHead;
    after.status = FollowUpStatus::Open;
    after.reassignments.push(Reassignment {
        id: huifang_protocol::new_document_id(),
        at: write.now_text(),
        by_staff_id: Some(caller.staff_id),
        from_unit_id: before.assignee_unit_id,
        from_staff_id: before.assignee_staff_id,
        to_unit_id: unit_id,
        to_staff_id: staff_id,
        reason: reason.clone(),
    });
    review_as_server(&write, &before, &after)?;
    let mut note = serde_json::Map::new();
    note.insert("reason".into(), reason.into());
    write
        .store_noting(&mut doc, &after, "follow_up.reassigned", note)
        .await?;
    if let Some(previous) = before.assignee_staff_id.filter(|p| Some(*p) != staff_id) {
        write.scope_exit(&after.id, previous).await?;
    }
    if before.assignee_unit_id != unit_id {
        write
            .unit_scope_exit(&after.id, before.assignee_unit_id)
            .await?;
    }
    if let Some(staff) = staff_id {
        let message = format!("回访任务已改派给你:{}", after.customer_name);
        write.notify(staff, &after.id, &message).await?;
    }
    write.commit().await?;
    Ok(after)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelFollowUp {
    pub reason: String,
}

/// A head ends a follow-up: cancelled when its matter needs none (not due, D-STA-3), or — once
/// the customer could not be reached after the last attempt — closed as unreachable, an outcome
/// that stays counted; the sheet then reaches its final state saying so.
pub async fn cancel(
    state: &Company,
    caller: &Caller,
    id: &str,
    request: CancelFollowUp,
) -> Result<FollowUp, Error> {
    let (mut write, mut doc, before) = begin_change(state, caller, id).await?;
    require_head_of(caller, &before)?;
    let mut after = before.clone();
    let unreachable = before.status == FollowUpStatus::Unreachable;
    after.status = if unreachable {
        FollowUpStatus::ClosedUnreachable
    } else {
        FollowUpStatus::Cancelled
    };
    after.cancel_reason = Some(request.reason.trim().to_owned());
    review_as_server(&write, &before, &after)?;
    if unreachable {
        write
            .store(&mut doc, &after, "follow_up.closed_unreachable")
            .await?;
        close_sheet_unreachable(&mut write, &after).await?;
    } else {
        write.store(&mut doc, &after, "follow_up.cancelled").await?;
    }
    write.commit().await?;
    Ok(after)
}

/// Cancels follow-up `id` inside `write` on the server's behalf when it is still open (a survey
/// closed before the household answered): true when it was.
pub(crate) async fn cancel_open(
    write: &mut DocWrite,
    id: &str,
    reason: &str,
) -> Result<bool, Error> {
    let Some((mut doc, before)) = write.load::<FollowUp>(id).await? else {
        return Ok(false);
    };
    if before.status != FollowUpStatus::Open {
        return Ok(false);
    }
    let mut after = before.clone();
    after.status = FollowUpStatus::Cancelled;
    after.cancel_reason = Some(reason.to_owned());
    review_as_server(write, &before, &after)?;
    write.store(&mut doc, &after, "follow_up.cancelled").await?;
    Ok(true)
}

/// The sheet of a follow-up closed as unreachable becomes final, saying so (D-STA-3).
async fn close_sheet_unreachable(write: &mut DocWrite, follow_up: &FollowUp) -> Result<(), Error> {
    let Some(sheet_id) = &follow_up.sheet_id else {
        return Ok(());
    };
    let Some((mut sheet_doc, sheet)) = write.load::<Sheet>(sheet_id).await? else {
        return Ok(());
    };
    if sheet.status == SheetStatus::Handled {
        let mut closed = sheet.clone();
        closed.status = SheetStatus::ClosedUnreachable;
        write
            .store(&mut sheet_doc, &closed, "sheet.closed_unreachable")
            .await?;
    }
    Ok(())
}

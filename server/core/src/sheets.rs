//! What people do with sheets. Every change loads the document, applies the edit to a copy,
//! checks the transition (409), the caller's field permissions (403) and the result's validity
//! (422), and only then stores document, projection and audit entry in one transaction.

use automerge::AutoCommit;
use huifang_protocol::{
    Actor, ComplaintLevel, FollowUp, InformationSource, PhoneNumber, ReportedItem, Sheet,
    SheetCategory, SheetFacts, SheetIntake, SheetStatus, TrackingNote, check_document_id,
    format_time, review_sheet, time_or_now,
};
use serde::Deserialize;

use crate::Company;
use crate::auth::Caller;
use crate::error::Error;
use crate::facts;
use crate::rules::{self, RuleSettings};
use huifang_store::documents::DocWrite;
use huifang_store::sheets as store;

fn not_found(id: &str) -> Error {
    Error::NotFound(format!(
        "sheet {id} does not exist or is outside your scope"
    ))
}

/// A new sheet, as the front desk or a phone accepts it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptSheet {
    /// A client-made id (32 hex digits) makes a retried request harmless.
    pub id: Option<String>,
    pub accepted_at: Option<String>,
    pub level: ComplaintLevel,
    pub category: SheetCategory,
    pub source: InformationSource,
    pub household_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub customer_name: Option<String>,
    pub contact_phone: Option<String>,
    pub customer_address: Option<String>,
    pub items: Vec<String>,
}

/// Accepts a sheet: numbers it, routes it to its handling unit (D-INF-3) and stores it.
/// Returns the sheet and whether it was created (false when the same id was accepted before).
pub async fn accept(
    state: &Company,
    caller: &Caller,
    request: AcceptSheet,
) -> Result<(Sheet, bool), Error> {
    let Some(unit) = caller.unit else {
        return Err(Error::Forbidden(
            "accepting a sheet needs a unit; your account has none".into(),
        ));
    };
    let id = match request.id {
        Some(id) => {
            check_document_id(&id).map_err(Error::invalid)?;
            id
        }
        None => huifang_protocol::new_document_id(),
    };
    // A customer or household from the registry fills in who and where.
    let (mut name, mut phone, mut address) = (None, None, None);
    let mut household_id = request.household_id;
    let household_to_load = match (request.household_id, request.customer_id) {
        (Some(household), _) => Some(household),
        (None, Some(customer)) => Some(
            huifang_store::registry::household_of_customer(state.db(), customer)
                .await?
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "customer_id: customer {customer} does not exist or is outside your scope"
                    ))
                })?,
        ),
        (None, None) => None,
    };
    if let Some(household) = household_to_load {
        let found = state
            .registry()
            .get_household(caller.household_scope(), household, true)
            .await?;
        let household_row = found.ok_or_else(|| {
            Error::invalid(match request.customer_id {
                Some(customer) => {
                    format!(
                        "customer_id: customer {customer} does not exist or is outside your scope"
                    )
                }
                None => format!(
                    "household_id: household {household} does not exist or is outside your scope"
                ),
            })
        })?;
        household_id = Some(household_row.id);
        address = Some(household_row.address.clone());
        let customer = match request.customer_id {
            Some(customer) => Some(
                household_row
                    .customers
                    .iter()
                    .find(|c| c.id == customer)
                    .ok_or_else(|| {
                        Error::invalid(format!(
                            "customer_id: customer {customer} is not of household {}",
                            household_row.id
                        ))
                    })?,
            ),
            None => household_row.customers.first(),
        };
        if let Some(customer) = customer {
            name = Some(customer.name.clone());
            phone = Some(customer.phone.clone());
        }
    }
    let contact_phone = match request.contact_phone.or(phone) {
        Some(text) => PhoneNumber::parse(&text)
            .map_err(|e| Error::invalid(format!("contact_phone: {e}")))?
            .as_str()
            .to_owned(),
        None => {
            return Err(Error::invalid(
                "contact_phone is required (or a customer_id from the registry)",
            ));
        }
    };

    let settings = RuleSettings::load(state.db()).await?;
    let mut write = DocWrite::begin(state.db(), caller.audit_actor(), state.time_zone()).await?;
    if let Some((_, existing)) = write.load::<Sheet>(&id).await? {
        if existing.accepted_by == caller.staff_id {
            return Ok((existing, false));
        }
        return Err(Error::Conflict(format!("sheet {id} already exists")));
    }
    let accepted_at = time_or_now("accepted_at", request.accepted_at.as_deref(), write.now)
        .map_err(Error::invalid)?;
    let mut sheet = Sheet::accepted(SheetIntake {
        id: id.clone(),
        accepted_at: format_time(accepted_at),
        level: request.level,
        category: request.category,
        source: request.source,
        household_id,
        customer_id: request.customer_id,
        customer_name: request.customer_name.or(name).unwrap_or_default(),
        customer_address: request.customer_address.or(address).unwrap_or_default(),
        contact_phone,
        accepted_by: caller.staff_id,
        accepting_unit_id: unit.id,
        items: request
            .items
            .into_iter()
            .map(|text| ReportedItem {
                id: huifang_protocol::new_document_id(),
                text: text.trim().to_owned(),
            })
            .collect(),
        created_at: write.now_text(),
    });
    facts::review_sheet_change(&mut write, caller, None, &sheet).await?;
    // The server's part: the number and the routing.
    sheet.number = Some(store::next_number(&mut write, &settings.number_prefix).await?);
    let facts = rules::gather_facts(write.tx(), &sheet).await?;
    sheet.handling_unit_id = Some(rules::route(&sheet, &facts, &settings));
    let mut doc = AutoCommit::new();
    write.store(&mut doc, &sheet, "sheet.accepted").await?;
    write.commit().await?;
    Ok((sheet, true))
}

/// Fields of a sheet that its handlers may edit.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SheetUpdate {
    pub level: Option<ComplaintLevel>,
    pub category: Option<SheetCategory>,
    pub source: Option<InformationSource>,
    pub customer_name: Option<String>,
    pub contact_phone: Option<String>,
    pub customer_address: Option<String>,
    /// Replaces the list of reported items (ids are kept for unchanged texts).
    pub items: Option<Vec<String>>,
    pub investigation: Option<String>,
    pub result: Option<String>,
    /// Re-routes the sheet (unit heads and administrators).
    pub handling_unit_id: Option<i64>,
}

/// A change to a sheet.
#[derive(Debug)]
pub enum SheetEdit {
    Update(SheetUpdate),
    StartHandling,
    AddTracking(String),
    MarkInvalid(String),
}

impl SheetEdit {
    fn action(&self) -> &'static str {
        match self {
            SheetEdit::Update(_) => "sheet.edited",
            SheetEdit::StartHandling => "sheet.handling",
            SheetEdit::AddTracking(_) => "sheet.tracked",
            SheetEdit::MarkInvalid(_) => "sheet.invalid",
        }
    }

    fn apply(self, sheet: &mut Sheet, by: i64, now: &str) -> Result<(), Error> {
        match self {
            SheetEdit::Update(update) => {
                if let Some(v) = update.level {
                    sheet.level = v;
                }
                if let Some(v) = update.category {
                    sheet.category = v;
                }
                if let Some(v) = update.source {
                    sheet.source = v;
                }
                if let Some(v) = update.customer_name {
                    sheet.customer_name = v.trim().to_owned();
                }
                if let Some(v) = update.contact_phone {
                    sheet.contact_phone = PhoneNumber::parse(&v)
                        .map_err(|e| Error::invalid(format!("contact_phone: {e}")))?
                        .as_str()
                        .to_owned();
                }
                if let Some(v) = update.customer_address {
                    sheet.customer_address = v.trim().to_owned();
                }
                if let Some(texts) = update.items {
                    let old = std::mem::take(&mut sheet.items);
                    sheet.items = texts
                        .into_iter()
                        .map(|text| {
                            let text = text.trim().to_owned();
                            match old.iter().find(|i| i.text == text) {
                                Some(kept) => kept.clone(),
                                None => ReportedItem {
                                    id: huifang_protocol::new_document_id(),
                                    text,
                                },
                            }
                        })
                        .collect();
                }
                if let Some(v) = update.investigation {
                    sheet.investigation = v;
                }
                if let Some(v) = update.result {
                    sheet.result = v;
                }
                if let Some(v) = update.handling_unit_id {
                    sheet.handling_unit_id = Some(v);
                }
            }
            SheetEdit::StartHandling => sheet.status = SheetStatus::Handling,
            SheetEdit::AddTracking(note) => sheet.tracking.push(TrackingNote {
                id: huifang_protocol::new_document_id(),
                at: now.to_owned(),
                by_staff_id: by,
                note: note.trim().to_owned(),
            }),
            SheetEdit::MarkInvalid(reason) => {
                sheet.status = SheetStatus::Invalid;
                sheet.invalid_reason = Some(reason.trim().to_owned());
            }
        }
        Ok(())
    }
}

/// The sheet `id` if the caller may see it.
pub async fn load_visible(state: &Company, caller: &Caller, id: &str) -> Result<Sheet, Error> {
    if check_document_id(id).is_err()
        || !store::is_visible(state.db().pool(), &caller.work_scope(), id).await?
    {
        return Err(not_found(id));
    }
    huifang_store::documents::read::<Sheet>(state.db(), id)
        .await?
        .ok_or_else(|| not_found(id))
}

/// Loads a visible sheet for changing.
async fn begin_change(
    state: &Company,
    caller: &Caller,
    id: &str,
) -> Result<(DocWrite, AutoCommit, Sheet), Error> {
    if check_document_id(id).is_err()
        || !store::is_visible(state.db().pool(), &caller.work_scope(), id).await?
    {
        return Err(not_found(id));
    }
    let mut write = DocWrite::begin(state.db(), caller.audit_actor(), state.time_zone()).await?;
    let (doc, sheet) = write
        .load::<Sheet>(id)
        .await?
        .ok_or_else(|| not_found(id))?;
    Ok((write, doc, sheet))
}

/// Applies an edit to a sheet.
pub async fn change(
    state: &Company,
    caller: &Caller,
    id: &str,
    edit: SheetEdit,
) -> Result<Sheet, Error> {
    // Registry lookups come before the write begins: a write must never wait for a second
    // pool connection while it holds the change-sequence lock.
    if let SheetEdit::Update(SheetUpdate {
        handling_unit_id: Some(unit),
        ..
    }) = &edit
        && state.registry().get_unit(*unit).await?.is_none()
    {
        return Err(Error::invalid(format!("unit {unit} does not exist")));
    }
    let (mut write, mut doc, before) = begin_change(state, caller, id).await?;
    let action = edit.action();
    let mut after = before.clone();
    let now = write.now_text();
    edit.apply(&mut after, caller.staff_id, &now)?;
    facts::review_sheet_change(&mut write, caller, Some(&before), &after).await?;
    if after == before {
        return Ok(before);
    }
    write.store(&mut doc, &after, action).await?;
    left_handling_unit(&mut write, &before, &after).await?;
    write.commit().await?;
    Ok(after)
}

/// A re-routed sheet leaves the old handling unit's phones (unless it is theirs some other way).
pub async fn left_handling_unit(
    write: &mut DocWrite,
    before: &Sheet,
    after: &Sheet,
) -> Result<(), Error> {
    if let Some(old) = before.handling_unit_id
        && before.handling_unit_id != after.handling_unit_id
    {
        write.unit_scope_exit(&after.id, old).await?;
    }
    Ok(())
}

/// Marking a sheet handled.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandleSheet {
    /// 处理结果.
    pub result: String,
    pub investigation: Option<String>,
    /// When it was handled; defaults to now. The follow-up is due 24 h later (R-INF-4).
    pub handled_at: Option<String>,
}

/// Marks a sheet handled and creates its follow-up by the rules (R-INF-1, R-INF-4).
pub async fn handle(
    state: &Company,
    caller: &Caller,
    id: &str,
    request: HandleSheet,
) -> Result<(Sheet, FollowUp), Error> {
    let settings = RuleSettings::load(state.db()).await?;
    let (mut write, mut doc, before) = begin_change(state, caller, id).await?;
    let handled_at = time_or_now("handled_at", request.handled_at.as_deref(), write.now)
        .map_err(Error::invalid)?;
    let mut after = before.clone();
    after.status = SheetStatus::Handled;
    after.handled_at = Some(format_time(handled_at));
    after.result = request.result;
    if let Some(investigation) = request.investigation {
        after.investigation = investigation;
    }
    if before.status == SheetStatus::Handled {
        return Err(Error::Conflict(format!(
            "sheet {} is already handled",
            before.number.as_deref().unwrap_or(id)
        )));
    }
    facts::review_sheet_change(&mut write, caller, Some(&before), &after).await?;
    write.store(&mut doc, &after, "sheet.handled").await?;
    let follow_up = crate::followups::create_for_sheet(&mut write, &after, &settings).await?;
    write.commit().await?;
    Ok((after, follow_up))
}

/// Archives a followed-up sheet (unit heads and administrators): it becomes read-only (R-INF-3).
pub async fn archive(state: &Company, caller: &Caller, id: &str) -> Result<Sheet, Error> {
    caller.require_role(&[
        huifang_protocol::Role::UnitHead,
        huifang_protocol::Role::Admin,
    ])?;
    let (mut write, mut doc, before) = begin_change(state, caller, id).await?;
    let mut after = before.clone();
    after.status = SheetStatus::Archived;
    // Archiving is the server's act on the head's request; only the transition is checked.
    let facts = SheetFacts {
        now: write.now,
        household: None,
        signed: false,
        photos: Default::default(),
    };
    review_sheet(Some(&before), &after, &Actor::Server, &facts)?;
    write.store(&mut doc, &after, "sheet.archived").await?;
    write.commit().await?;
    Ok(after)
}

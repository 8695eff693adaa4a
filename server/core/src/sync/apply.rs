//! Taking a device's changes to one document: applied to the stored copy off the write lock,
//! reviewed like an API edit, stored whole or refused whole; then the rules run as if the edit had
//! come over the API (a sheet handled on a phone gets its follow-up, a completed follow-up its
//! consequences).

use automerge::AutoCommit;
use huifang_protocol::{
    Document, DocumentKind, FollowUp, FollowUpStatus, Labelled, MAX_DOCUMENT_BYTES,
    OutgoingChanges, Sheet, SheetStatus, check_document_id, review_follow_up, review_sheet,
    unknown_content,
};
use huifang_store::documents::DocWrite;

use crate::Company;
use crate::auth::Caller;
use crate::error::Error;
use crate::facts;
use crate::followups::Recorder;
use crate::rules::{self, RuleSettings};

/// Why a document's changes were not taken. Changes are taken whole or not at all: nothing a
/// review refuses is stored, not even in the Automerge history.
pub(super) enum Refusal {
    /// The device's fault: told to the device with the refused fields, nothing stored.
    Refused {
        fields: Vec<String>,
        reason: String,
        kind: Option<huifang_protocol::RefusalKind>,
    },
    /// The server's fault: the whole sync fails (and is retried), nothing stored.
    Failed(Error),
}

impl From<Error> for Refusal {
    fn from(error: Error) -> Self {
        match error {
            Error::Internal(_) => Refusal::Failed(error),
            other => refuse(other.to_string()),
        }
    }
}

impl From<huifang_protocol::Refusal> for Refusal {
    fn from(refusal: huifang_protocol::Refusal) -> Self {
        Refusal::Refused {
            fields: refusal.fields().into_iter().map(str::to_owned).collect(),
            reason: refusal.to_string(),
            kind: Some(refusal.kind),
        }
    }
}

impl From<huifang_store::StoreError> for Refusal {
    fn from(error: huifang_store::StoreError) -> Self {
        Error::from(error).into()
    }
}

pub(super) fn refuse(reason: impl Into<String>) -> Refusal {
    Refusal::Refused {
        fields: Vec::new(),
        reason: reason.into(),
        kind: None,
    }
}

/// A document's stored copy as a sync found it: kind, change sequence and bytes.
use huifang_store::documents::StoredCopy;

/// A device's changes applied to the stored copy, worked out once off the async threads (the
/// write itself only reviews and stores the result).
struct Applied {
    doc: AutoCommit,
    /// What the changes made of the document; none when they add nothing (a replayed request).
    changed: Option<Changed>,
    /// Top-level fields where the device wrote concurrently with a value already stored: the
    /// stored value stands (the first to reach the server wins), so the device's write would not
    /// survive, or would silently undo one already committed. Such changes are refused with the
    /// reason, never taken and half-lost.
    overruled: Vec<String>,
}

/// A document's value before a device's changes (none for a new sheet) and after them, with the
/// result saved: what is stored, and what the size cap was checked on.
struct Versions<D> {
    before: Option<D>,
    after: D,
    saved: Vec<u8>,
}

/// [`Versions`] of the change's kind. One lives briefly per applied change, moved once into its
/// write, so the size difference between the kinds costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
enum Changed {
    Sheet(Versions<Sheet>),
    FollowUp(Versions<FollowUp>),
}

/// The top-level fields where an operation of the device's new changes conflicts with another
/// value: Automerge keeps both and shows one, so one side's write is lost.
fn overruled_fields(doc: &mut AutoCommit, before: &[automerge::ChangeHash]) -> Vec<String> {
    use automerge::ReadDoc;
    let incoming: std::collections::BTreeSet<automerge::ActorId> = doc
        .get_changes(before)
        .iter()
        .map(|c| c.actor_id().clone())
        .collect();
    let by_device = |id: &automerge::ObjId| match id {
        automerge::ObjId::Id(_, actor, _) => incoming.contains(actor),
        automerge::ObjId::Root => false,
    };
    let mut overruled = Vec::new();
    for key in doc.keys(automerge::ROOT).collect::<Vec<_>>() {
        let Ok(values) = doc.get_all(automerge::ROOT, key.as_str()) else {
            continue;
        };
        // Two writes of the same plain value (both sides upgrading the schema version, say)
        // lose nothing; two objects (two outcomes) or two different values do.
        let differ = values.len() > 1
            && (values.iter().any(|(value, _)| value.is_object())
                || values.windows(2).any(|pair| pair[0].0 != pair[1].0));
        if differ && values.iter().any(|(_, id)| by_device(id)) {
            overruled.push(key);
        }
    }
    overruled
}

/// Applies the device's changes to `base` (the stored copy, or a new document) and checks that
/// the result is still a document of its kind with nothing beyond the schema, within the cap.
fn apply_changes(base: Option<&[u8]>, change: &OutgoingChanges) -> Result<Applied, Refusal> {
    match change.kind {
        DocumentKind::Sheet => apply_as(base, change, Changed::Sheet),
        DocumentKind::FollowUp => apply_as(base, change, Changed::FollowUp),
    }
}

/// [`apply_changes`] for a document of kind `D`.
fn apply_as<D: Document>(
    base: Option<&[u8]>,
    change: &OutgoingChanges,
    of_kind: fn(Versions<D>) -> Changed,
) -> Result<Applied, Refusal> {
    let stored_damaged = |e: &dyn std::fmt::Display| {
        Refusal::Failed(Error::internal(format!(
            "stored document {}: {e}",
            change.document_id
        )))
    };
    let mut doc = match base {
        Some(bytes) => AutoCommit::load(bytes).map_err(|e| stored_damaged(&e))?,
        None => AutoCommit::new(),
    };
    let before = match base {
        Some(_) => Some(D::hydrate_from(&doc).map_err(|e| stored_damaged(&e))?),
        None => None,
    };
    let heads = doc.get_heads();
    doc.load_incremental(&change.changes)
        .map_err(|e| refuse(format!("the changes are not valid Automerge data: {e}")))?;
    let missing = doc.get_missing_deps(&[]);
    if !missing.is_empty() {
        return Err(refuse(format!(
            "the changes build on {} change(s) the server does not have; sync again from the server's copy",
            missing.len()
        )));
    }
    if doc.get_heads() == heads {
        return Ok(Applied {
            doc,
            changed: None,
            overruled: Vec::new(),
        });
    }
    let overruled = if before.is_some() {
        overruled_fields(&mut doc, &heads)
    } else {
        Vec::new()
    };
    let after = D::hydrate_from(&doc).map_err(|e| {
        refuse(format!(
            "the changes do not leave a valid {}: {e}",
            change.kind
        ))
    })?;
    let saved = check_stored_shape(&mut doc, &after)?;
    Ok(Applied {
        doc,
        changed: Some(of_kind(Versions {
            before,
            after,
            saved,
        })),
        overruled,
    })
}

/// Applies one document's changes in its own transaction, whole or not at all.
///
/// Automerge's work on the device's bytes is done first, off the async threads and before the
/// write lock, against the stored copy read with the pool; so a request full of heavy changes
/// that will be refused does not hold up other writers. Inside the write the stored copy's
/// sequence number is checked, and the changes are applied again only if another write came
/// in between.
pub(super) async fn apply(
    company: &Company,
    caller: &Caller,
    settings: &RuleSettings,
    change: OutgoingChanges,
) -> Result<(), Refusal> {
    check_document_id(&change.document_id).map_err(refuse)?;
    // Read with the pool before the write begins: a write holds a connection and the
    // change-sequence lock, so it must never wait for a second connection.
    let stored = huifang_store::documents::stored_copy(company.db(), &change.document_id).await?;
    check_kind(stored.as_ref(), &change)?;
    if change.kind == DocumentKind::FollowUp && stored.is_none() {
        return Err(refuse("follow-ups are created by the server's rules"));
    }
    // A stored sheet must be in the caller's scope; asked here, with the pool, when the sheet is
    // known to exist, and inside the write only if it was created in between.
    let visible_sheet = if change.kind == DocumentKind::Sheet && stored.is_some() {
        Some(
            huifang_store::sheets::is_visible(
                company.db().pool(),
                &caller.work_scope(),
                &change.document_id,
            )
            .await?,
        )
    } else {
        None
    };
    if visible_sheet == Some(false) {
        return Err(refuse("the sheet is outside your scope"));
    }
    let (stored, change, applied) = tokio::task::spawn_blocking(move || {
        let applied = apply_changes(stored.as_ref().map(|s| s.2.as_slice()), &change);
        (stored, change, applied)
    })
    .await
    .map_err(|e| Refusal::Failed(Error::Internal(e.into())))?;
    let mut applied = applied?;
    let mut write =
        DocWrite::begin(company.db(), caller.audit_actor(), company.time_zone()).await?;
    let current = write.stored_seq(&change.document_id).await?;
    if current != stored.as_ref().map(|s| s.1) {
        // Another write came in between: apply the changes to what is stored now.
        let stored = write.stored_copy(&change.document_id).await?;
        check_kind(stored.as_ref(), &change)?;
        applied = apply_changes(stored.as_ref().map(|s| s.2.as_slice()), &change)?;
    }
    let Applied {
        doc,
        changed,
        overruled: fields,
    } = applied;
    let Some(changed) = changed else {
        // A replayed request: everything is known already and nothing is stored.
        return Ok(());
    };
    if !fields.is_empty() {
        return Err(overruled(&mut write, &changed, fields).await?);
    }
    match changed {
        Changed::Sheet(Versions {
            before: None,
            after,
            ..
        }) => {
            create_sheet(&mut write, caller, settings, &change, doc, after).await?;
        }
        Changed::FollowUp(Versions { before: None, .. }) => {
            return Err(refuse("follow-ups are created by the server's rules"));
        }
        Changed::Sheet(Versions {
            before: Some(before),
            after,
            saved,
        }) => {
            let visible = match visible_sheet {
                Some(visible) => visible,
                None => {
                    huifang_store::sheets::is_visible(write.tx(), &caller.work_scope(), &after.id)
                        .await?
                }
            };
            if !visible {
                return Err(refuse("the sheet is outside your scope"));
            }
            change_sheet(&mut write, caller, settings, before, after, saved).await?;
        }
        Changed::FollowUp(Versions {
            before: Some(before),
            after,
            saved,
        }) => {
            change_follow_up(&mut write, caller, settings, before, after, saved).await?;
        }
    }
    write.commit().await?;
    Ok(())
}

/// The refusal of changes written concurrently with what is stored: what stands, who recorded
/// it and when, so the phone's owner knows what became of their work.
async fn overruled(
    write: &mut DocWrite,
    changed: &Changed,
    fields: Vec<String>,
) -> Result<Refusal, Refusal> {
    let standing = match changed {
        Changed::FollowUp(Versions {
            before: Some(follow_up),
            ..
        }) => match &follow_up.outcome {
            Some(outcome) => {
                let name =
                    huifang_store::registry::staff_name(write.tx(), outcome.recorded_by).await?;
                format!(
                    "the outcome recorded by {} (staff {}) at {} stands",
                    name.unwrap_or_default(),
                    outcome.recorded_by,
                    write.local(&outcome.done_at)
                )
            }
            // A cancellation says why (a survey closed, a head's reason).
            None => match &follow_up.cancel_reason {
                Some(reason) if follow_up.status == huifang_protocol::FollowUpStatus::Cancelled => {
                    format!("the follow-up is cancelled on the server: {reason}")
                }
                _ => format!("the follow-up is {} on the server", follow_up.status),
            },
        },
        _ => "the server's copy stands".to_owned(),
    };
    Ok(Refusal::Refused {
        reason: format!(
            "{} changed on the server while you were offline: {standing}; your change was not kept",
            fields.join(", ")
        ),
        fields,
        kind: Some(huifang_protocol::RefusalKind::Conflict),
    })
}

fn check_kind(stored: Option<&StoredCopy>, change: &OutgoingChanges) -> Result<(), Refusal> {
    match stored {
        Some((kind, _, _)) if kind != change.kind.code() => Err(refuse(format!(
            "document {} is a {kind}, not a {}",
            change.document_id, change.kind
        ))),
        _ => Ok(()),
    }
}

/// What every stored change must also be: nothing beyond the schema, and within the size cap.
/// Returns the document saved, as it is then stored.
fn check_stored_shape<D: Document>(doc: &mut AutoCommit, value: &D) -> Result<Vec<u8>, Refusal> {
    match unknown_content(doc, value) {
        Ok(None) => {}
        Ok(Some(path)) => {
            return Err(refuse(format!(
                "the changes add {path}, which a {} does not have",
                D::KIND
            )));
        }
        Err(e) => return Err(refuse(format!("the changes do not fit the document: {e}"))),
    }
    let saved = doc.save_nocompress();
    let size = saved.len();
    if size > MAX_DOCUMENT_BYTES {
        return Err(refuse(format!(
            "the document would grow to {size} bytes; at most {MAX_DOCUMENT_BYTES} are kept"
        )));
    }
    Ok(saved)
}

async fn create_sheet(
    write: &mut DocWrite,
    caller: &Caller,
    settings: &RuleSettings,
    change: &OutgoingChanges,
    mut doc: AutoCommit,
    mut sheet: Sheet,
) -> Result<(), Refusal> {
    if sheet.id != change.document_id {
        return Err(refuse("the sheet's id does not match the document id"));
    }
    let facts = facts::for_sheet(write, caller, None, &sheet).await?;
    review_sheet(None, &sheet, &caller.actor(), &facts)?;
    sheet.number = Some(huifang_store::sheets::next_number(write, &settings.number_prefix).await?);
    let facts = rules::gather_facts(write.tx(), &sheet).await?;
    sheet.handling_unit_id = Some(rules::route(&sheet, &facts, settings));
    // The server adds the number and the handling unit: written into the document here.
    write.store(&mut doc, &sheet, "sheet.accepted").await?;
    Ok(())
}

async fn change_sheet(
    write: &mut DocWrite,
    caller: &Caller,
    settings: &RuleSettings,
    before: Sheet,
    after: Sheet,
    saved: Vec<u8>,
) -> Result<(), Refusal> {
    let facts = facts::for_sheet(write, caller, Some(&before), &after).await?;
    review_sheet(Some(&before), &after, &caller.actor(), &facts)?;
    let newly_handled =
        before.status != SheetStatus::Handled && after.status == SheetStatus::Handled;
    write.store_saved(saved, &after, "sheet.synced").await?;
    crate::sheets::left_handling_unit(write, &before, &after).await?;
    if newly_handled {
        crate::followups::create_for_sheet(write, &after, settings).await?;
    }
    Ok(())
}

async fn change_follow_up(
    write: &mut DocWrite,
    caller: &Caller,
    settings: &RuleSettings,
    before: FollowUp,
    after: FollowUp,
    saved: Vec<u8>,
) -> Result<(), Refusal> {
    if !crate::followups::is_assigned_within(&caller.work_scope(), &before) {
        return Err(refuse("the follow-up is outside your scope"));
    }
    let facts = facts::for_follow_up(write, &before, &after).await?;
    review_follow_up(&before, &after, &caller.actor(), &facts)?;
    let completed =
        before.status != FollowUpStatus::Completed && after.status == FollowUpStatus::Completed;
    let exhausted =
        before.status != FollowUpStatus::Unreachable && after.status == FollowUpStatus::Unreachable;
    write.store_saved(saved, &after, "follow_up.synced").await?;
    if before.survey_response.is_none() && after.survey_response.is_some() {
        crate::surveys::record_response(write, &after).await?;
    }
    if completed {
        let recorder = Recorder {
            staff_id: caller.staff_id,
            unit_id: caller.unit.map(|u| u.id),
        };
        crate::followups::after_completed(write, recorder, &after, settings).await?;
    }
    if exhausted && let Some(head) = crate::followups::answerable_head(write, &after).await? {
        write
            .notify(
                head,
                &after.id,
                &format!("客户 {} 多次联系不上,请决定改派或取消", after.customer_name),
            )
            .await?;
    }
    Ok(())
}

//! `POST /api/v1/sync`: the server's half of the sync protocol (`huifang_protocol::wire`).
//!
//! The server never trusts a device. A request's bytes are bounded and every document's
//! Automerge changes are walked (`huifang_protocol::inspect_changes`) before Automerge sees them
//! or a write lock is taken. Each document's changes are then applied to the stored document
//! inside its own [`DocWrite`] and the result goes through the same review as an API edit
//! (`huifang_protocol::review_*`, facts from [`huifang_core::facts`]). A document's changes are taken
//! whole or refused whole: a refusal stores nothing, names the fields and reasons, and the answer
//! carries the server's copy so the phone can drop its own. Then the rules run as if the edit had
//! come over the API: a sheet handled on a phone gets its follow-up, a completed follow-up its
//! consequences. Finally the device receives what changed in its scope after its cursor, a page
//! at a time.

use automerge::AutoCommit;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use huifang_protocol::{
    DOCUMENT_CHANGE_LIMITS, Document, DocumentKind, FollowUp, FollowUpStatus, IncomingDocument,
    Labelled, MAX_DOCUMENT_BYTES, MAX_PAGE, MAX_REQUEST_BYTES, MAX_REQUEST_OPS, OutgoingChanges,
    ReferenceRows, Rejection, SYNC_VERSION, Sheet, SheetStatus, SyncResponse, WireError,
    check_document_id, decode_request, encode_message, inspect_changes, review_follow_up,
    review_sheet, unknown_content,
};

use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use huifang_core::facts;
use huifang_core::followups::Recorder;
use huifang_core::rules::{self, RuleSettings};
use huifang_store::db::{Conditions, SqlArg, id_list};
use huifang_store::documents::DocWrite;
use huifang_store::scope::WorkScope;

/// The content type of sync bodies: gzip-compressed CBOR.
pub const CONTENT_TYPE: &str = "application/vnd.huifang.sync+cbor";
/// Most documents one request may carry changes for.
const MAX_CHANGED_DOCUMENTS: usize = 1_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/sync",
            post(sync).layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES)),
        )
        .route("/sync/events", axum::routing::get(events))
}

#[tracing::instrument(skip(state, caller, body), fields(caller = caller.staff_id))]
async fn sync(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> AppResult<Response> {
    let body = body.map_err(|e| AppError::from_body_rejection(e, MAX_REQUEST_BYTES))?;
    let request = decode_request(&body).map_err(|e| match e {
        WireError::TooLarge { limit } => AppError::PayloadTooLarge { limit },
        other => AppError::BadRequest(other.to_string()),
    })?;
    drop(body);
    request
        .check()
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    if !(1..=MAX_PAGE).contains(&request.page_size) {
        return Err(AppError::invalid(format!(
            "page_size must be between 1 and {MAX_PAGE}"
        )));
    }
    if request.cursor < 0 {
        return Err(AppError::invalid("cursor must not be negative"));
    }
    if request.changes.len() > MAX_CHANGED_DOCUMENTS {
        return Err(AppError::invalid(format!(
            "at most {MAX_CHANGED_DOCUMENTS} documents per sync; send the rest next time"
        )));
    }
    // Bounded decoding: every document's bytes are walked and capped here, before Automerge sees
    // them and before any write lock is taken.
    let mut inspected = Vec::with_capacity(request.changes.len());
    let mut request_ops = 0;
    for change in request.changes {
        let verdict = inspect_changes(&change.changes, &DOCUMENT_CHANGE_LIMITS);
        if let Ok(summary) = &verdict {
            request_ops += summary.ops;
        }
        inspected.push((change, verdict));
    }
    if request_ops > MAX_REQUEST_OPS {
        return Err(AppError::invalid(format!(
            "the changes hold {request_ops} operations; at most {MAX_REQUEST_OPS} per sync, send the rest next time"
        )));
    }
    let settings = RuleSettings::load(state.db()).await?;
    let mut committed = Vec::new();
    let mut rejections = Vec::new();
    for (change, verdict) in inspected {
        let id = change.document_id.clone();
        let outcome = match verdict {
            Ok(_) => apply(&state, &caller, &settings, change).await,
            Err(e) => Err(refuse(e.to_string())),
        };
        match outcome {
            Ok(()) => committed.push(id),
            Err(Refusal::Refused {
                fields,
                reason,
                kind,
            }) => {
                tracing::info!(document = %id, %reason, "sync refused a document's changes");
                rejections.push(Rejection {
                    document_id: id,
                    fields,
                    reason,
                    refused: true,
                    kind,
                });
            }
            Err(Refusal::Failed(error)) => return Err(error),
        }
    }
    // A device whose staff member changed role or unit since its last sync starts over: it is
    // told every document now in scope (and purges the rest) and receives them from the start.
    let scope_version = scope_version(&caller);
    // (A device that sends no scope version, an app from before it existed, is not rescoped:
    // it would start over on every page.)
    let rescoped = request.cursor > 0
        && request
            .scope_version
            .as_deref()
            .is_some_and(|version| version != scope_version);
    let from = if rescoped { 0 } else { request.cursor };
    let in_scope = if rescoped {
        Some(documents_in_scope(&state, &caller).await?)
    } else {
        None
    };
    let (mut documents, removed, cursor, more) =
        outgoing(&state, &caller, from, request.page_size).await?;
    // A phone whose changes were refused drops its copy and takes the server's, when it may.
    let refused: Vec<&str> = rejections
        .iter()
        .map(|r| r.document_id.as_str())
        .filter(|id| !documents.iter().any(|d| d.document_id == *id))
        .collect();
    documents.extend(current_copies(&state, &caller, &refused).await?);
    let version = reference_version(&state, &caller).await?;
    let reference = if request.reference_version.as_deref() == Some(version.as_str()) {
        None
    } else {
        Some(reference_rows(&state, &caller, version).await?)
    };
    let response = SyncResponse {
        version: SYNC_VERSION,
        committed,
        rejections,
        documents,
        removed,
        cursor,
        more,
        reference,
        scope_version: Some(scope_version),
        in_scope,
    };
    let bytes = encode_message(&response).map_err(|e| AppError::Internal(e.into()))?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], bytes).into_response())
}

/// Why a document's changes were not taken. Changes are taken whole or not at all: nothing a
/// review refuses is stored, not even in the Automerge history.
enum Refusal {
    /// The device's fault: told to the device with the refused fields, nothing stored.
    Refused {
        fields: Vec<String>,
        reason: String,
        kind: Option<huifang_protocol::RefusalKind>,
    },
    /// The server's fault: the whole sync fails (and is retried), nothing stored.
    Failed(AppError),
}

impl From<AppError> for Refusal {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Internal(_) => Refusal::Failed(error),
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

impl From<huifang_core::Error> for Refusal {
    fn from(error: huifang_core::Error) -> Self {
        AppError::from(error).into()
    }
}

impl From<huifang_store::StoreError> for Refusal {
    fn from(error: huifang_store::StoreError) -> Self {
        AppError::from(error).into()
    }
}

impl From<sqlx::Error> for Refusal {
    fn from(error: sqlx::Error) -> Self {
        Refusal::Failed(error.into())
    }
}

fn refuse(reason: impl Into<String>) -> Refusal {
    Refusal::Refused {
        fields: Vec::new(),
        reason: reason.into(),
        kind: None,
    }
}

/// A document's stored copy as a sync found it: kind, change sequence and bytes.
type StoredCopy = (String, i64, Vec<u8>);

/// A device's changes applied to the stored copy: the result and whether it adds anything.
struct Applied {
    doc: AutoCommit,
    changed: bool,
    /// Top-level fields where the device wrote concurrently with a value already stored: the
    /// stored value stands (the first to reach the server wins), so the device's write would not
    /// survive, or would silently undo one already committed. Such changes are refused with the
    /// reason, never taken and half-lost.
    overruled: Vec<String>,
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
    let mut doc = match base {
        Some(bytes) => AutoCommit::load(bytes).map_err(|e| {
            Refusal::Failed(AppError::Internal(anyhow::anyhow!(
                "stored document {}: {e}",
                change.document_id
            )))
        })?,
        None => AutoCommit::new(),
    };
    let before = doc.get_heads();
    doc.load_incremental(&change.changes)
        .map_err(|e| refuse(format!("the changes are not valid Automerge data: {e}")))?;
    let missing = doc.get_missing_deps(&[]);
    if !missing.is_empty() {
        return Err(refuse(format!(
            "the changes build on {} change(s) the server does not have; sync again from the server's copy",
            missing.len()
        )));
    }
    let changed = doc.get_heads() != before;
    let overruled = if changed && base.is_some() {
        overruled_fields(&mut doc, &before)
    } else {
        Vec::new()
    };
    if changed {
        let damaged = |e: huifang_protocol::DocumentError| {
            refuse(format!(
                "the changes do not leave a valid {}: {e}",
                change.kind
            ))
        };
        match change.kind {
            DocumentKind::Sheet => {
                let sheet = Sheet::hydrate_from(&doc).map_err(damaged)?;
                check_stored_shape(&mut doc, &sheet)?;
            }
            DocumentKind::FollowUp => {
                let follow_up = FollowUp::hydrate_from(&doc).map_err(damaged)?;
                check_stored_shape(&mut doc, &follow_up)?;
            }
        }
    }
    Ok(Applied {
        doc,
        changed,
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
async fn apply(
    state: &AppState,
    caller: &Caller,
    settings: &RuleSettings,
    change: OutgoingChanges,
) -> Result<(), Refusal> {
    check_document_id(&change.document_id).map_err(refuse)?;
    // Read with the pool before the write begins: a write holds a connection and the
    // change-sequence lock, so it must never wait for a second connection.
    let visible_sheet = change.kind == DocumentKind::Sheet
        && huifang_store::sheets::is_visible(state.db(), &caller.work_scope(), &change.document_id)
            .await?;
    let stored: Option<StoredCopy> =
        sqlx::query_as("SELECT kind, seq, bytes FROM documents WHERE id = $1")
            .bind(&change.document_id)
            .fetch_optional(state.db().pool())
            .await?;
    check_kind(stored.as_ref(), &change)?;
    if change.kind == DocumentKind::FollowUp && stored.is_none() {
        return Err(refuse("follow-ups are created by the server's rules"));
    }
    if change.kind == DocumentKind::Sheet && stored.is_some() && !visible_sheet {
        return Err(refuse("the sheet is outside your scope"));
    }
    let (stored, change, applied) = tokio::task::spawn_blocking(move || {
        let applied = apply_changes(stored.as_ref().map(|s| s.2.as_slice()), &change);
        (stored, change, applied)
    })
    .await
    .map_err(|e| Refusal::Failed(AppError::Internal(e.into())))?;
    let mut applied = applied?;
    let mut write =
        DocWrite::begin(state.db(), caller.audit_actor(), state.config().time_zone).await?;
    let current: Option<(String, i64)> =
        sqlx::query_as("SELECT kind, seq FROM documents WHERE id = $1")
            .bind(&change.document_id)
            .fetch_optional(&mut **write.tx())
            .await?;
    let mut stored = stored;
    if current.as_ref().map(|c| c.1) != stored.as_ref().map(|s| s.1) {
        // Another write came in between: apply the changes to what is stored now.
        stored = match write.load_raw(&change.document_id).await? {
            Some((kind, mut doc)) => {
                let seq = current.as_ref().map_or(0, |c| c.1);
                Some((kind, seq, doc.save()))
            }
            None => None,
        };
        check_kind(stored.as_ref(), &change)?;
        applied = apply_changes(stored.as_ref().map(|s| s.2.as_slice()), &change)?;
    }
    if !applied.changed {
        // A replayed request: everything is known already and nothing is stored.
        return Ok(());
    }
    let before = match &stored {
        Some((_, _, bytes)) => Some(AutoCommit::load(bytes).map_err(|e| {
            Refusal::Failed(AppError::Internal(anyhow::anyhow!(
                "stored document {}: {e}",
                change.document_id
            )))
        })?),
        None => None,
    };
    if let Some(before) = &before
        && !applied.overruled.is_empty()
    {
        return Err(overruled(&mut write, change.kind, before, applied.overruled).await?);
    }
    match (change.kind, before) {
        (DocumentKind::Sheet, None) => {
            create_sheet(&mut write, caller, settings, &change, applied.doc).await?;
        }
        (DocumentKind::FollowUp, None) => {
            return Err(refuse("follow-ups are created by the server's rules"));
        }
        (DocumentKind::Sheet, Some(before)) => {
            if !visible_sheet {
                return Err(refuse("the sheet is outside your scope"));
            }
            change_sheet(&mut write, caller, settings, &before, applied.doc).await?;
        }
        (DocumentKind::FollowUp, Some(before)) => {
            change_follow_up(&mut write, caller, settings, &before, applied.doc).await?;
        }
    }
    write.commit().await?;
    Ok(())
}

/// The refusal of changes written concurrently with what is stored: what stands, who recorded
/// it and when, so the phone's owner knows what became of their work.
async fn overruled(
    write: &mut DocWrite,
    kind: DocumentKind,
    stored: &AutoCommit,
    fields: Vec<String>,
) -> Result<Refusal, Refusal> {
    let standing = match kind {
        DocumentKind::FollowUp => {
            let follow_up: FollowUp = stored_value(stored)?;
            match &follow_up.outcome {
                Some(outcome) => {
                    let name: Option<String> =
                        sqlx::query_scalar("SELECT name FROM staff WHERE id = $1")
                            .bind(outcome.recorded_by)
                            .fetch_optional(&mut **write.tx())
                            .await?;
                    format!(
                        "the outcome recorded by {} (staff {}) at {} stands",
                        name.unwrap_or_default(),
                        outcome.recorded_by,
                        write.local(&outcome.done_at)
                    )
                }
                None => format!("the follow-up is {} on the server", follow_up.status),
            }
        }
        DocumentKind::Sheet => "the server's copy stands".to_owned(),
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
fn check_stored_shape<D: Document>(doc: &mut AutoCommit, value: &D) -> Result<(), Refusal> {
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
    let size = doc.save_nocompress().len();
    if size > MAX_DOCUMENT_BYTES {
        return Err(refuse(format!(
            "the document would grow to {size} bytes; at most {MAX_DOCUMENT_BYTES} are kept"
        )));
    }
    Ok(())
}

async fn create_sheet(
    write: &mut DocWrite,
    caller: &Caller,
    settings: &RuleSettings,
    change: &OutgoingChanges,
    mut doc: AutoCommit,
) -> Result<(), Refusal> {
    let mut sheet = Sheet::hydrate_from(&doc).map_err(|e| refuse(e.to_string()))?;
    if sheet.id != change.document_id {
        return Err(refuse("the sheet's id does not match the document id"));
    }
    let facts = facts::for_sheet(write, caller, None, &sheet).await?;
    review_sheet(None, &sheet, &caller.actor(), &facts)?;
    sheet.number = Some(huifang_store::sheets::next_number(write, &settings.number_prefix).await?);
    let facts = rules::gather_facts(write.tx(), &sheet).await?;
    sheet.handling_unit_id = Some(rules::route(&sheet, &facts, settings));
    write.store(&mut doc, &sheet, "sheet.accepted").await?;
    Ok(())
}

fn stored_value<D: Document>(doc: &AutoCommit) -> Result<D, Refusal> {
    D::hydrate_from(doc).map_err(|e| Refusal::Failed(AppError::Internal(e.into())))
}

async fn change_sheet(
    write: &mut DocWrite,
    caller: &Caller,
    settings: &RuleSettings,
    before: &AutoCommit,
    mut doc: AutoCommit,
) -> Result<(), Refusal> {
    let before: Sheet = stored_value(before)?;
    let after = Sheet::hydrate_from(&doc)
        .map_err(|e| refuse(format!("the changes damage the document: {e}")))?;
    let facts = facts::for_sheet(write, caller, Some(&before), &after).await?;
    review_sheet(Some(&before), &after, &caller.actor(), &facts)?;
    let newly_handled =
        before.status != SheetStatus::Handled && after.status == SheetStatus::Handled;
    write.store(&mut doc, &after, "sheet.synced").await?;
    huifang_core::sheets::left_handling_unit(write, &before, &after).await?;
    if newly_handled {
        huifang_core::followups::create_for_sheet(write, &after, settings).await?;
    }
    Ok(())
}

async fn change_follow_up(
    write: &mut DocWrite,
    caller: &Caller,
    settings: &RuleSettings,
    before: &AutoCommit,
    mut doc: AutoCommit,
) -> Result<(), Refusal> {
    let before: FollowUp = stored_value(before)?;
    if !huifang_core::followups::is_assigned_within(&caller.work_scope(), &before) {
        return Err(refuse("the follow-up is outside your scope"));
    }
    let after = FollowUp::hydrate_from(&doc)
        .map_err(|e| refuse(format!("the changes damage the document: {e}")))?;
    let facts = facts::for_follow_up(write, &before, &after).await?;
    review_follow_up(&before, &after, &caller.actor(), &facts)?;
    let completed =
        before.status != FollowUpStatus::Completed && after.status == FollowUpStatus::Completed;
    let exhausted =
        before.status != FollowUpStatus::Unreachable && after.status == FollowUpStatus::Unreachable;
    write.store(&mut doc, &after, "follow_up.synced").await?;
    if completed {
        let recorder = Recorder {
            staff_id: caller.staff_id,
            unit_id: caller.unit.map(|u| u.id),
        };
        huifang_core::followups::after_completed(write, recorder, &after, settings).await?;
    }
    if exhausted && let Some(head) = huifang_core::followups::answerable_head(write, &after).await?
    {
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

/// The server's current copy of each named document the caller may hold.
async fn current_copies(
    state: &AppState,
    caller: &Caller,
    ids: &[&str],
) -> Result<Vec<IncomingDocument>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let in_scope = in_scope(caller);
    let sql =
        format!("SELECT d.id, d.kind, d.bytes FROM documents d WHERE d.id = $1 AND {in_scope}");
    let mut copies = Vec::new();
    for id in ids {
        let row: Option<(String, String, Vec<u8>)> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(*id)
                .fetch_optional(state.db().pool())
                .await?;
        if let Some((document_id, kind, bytes)) = row {
            let kind = kind.parse::<DocumentKind>().map_err(|e| {
                AppError::Internal(anyhow::anyhow!("stored kind of {document_id}: {e}"))
            })?;
            copies.push(IncomingDocument {
                document_id,
                kind,
                bytes,
            });
        }
    }
    Ok(copies)
}

/// What decides which documents the caller's devices hold: who, in which role and units. It is
/// checked on every sync (the session's own facts, read at each request), so a move by import or
/// by an administrator reaches the phone at its next sync.
fn scope_version(caller: &Caller) -> String {
    use sha2::Digest;
    let scope = format!(
        "{}:{}:{:?}:{}",
        caller.staff_id,
        caller.role,
        caller.work_units,
        caller.sees_customer_phones()
    );
    hex::encode(&sha2::Sha256::digest(scope.as_bytes())[..16])
}

/// The ids of every document the caller's devices may hold.
async fn documents_in_scope(state: &AppState, caller: &Caller) -> Result<Vec<String>, AppError> {
    let sql = format!("SELECT d.id FROM documents d WHERE {}", in_scope(caller));
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_all(state.db().pool())
        .await?)
}

/// A fingerprint of the registry as the caller sees it: it changes whenever any registry row
/// changes, so a device downloads reference rows only when they changed.
async fn reference_version(state: &AppState, caller: &Caller) -> Result<String, AppError> {
    let mut parts = vec![format!(
        "{}:{}:{:?}",
        caller.staff_id, caller.role, caller.work_units
    )];
    for table in [
        "units",
        "staff",
        "communities",
        "buildings",
        "households",
        "customers",
    ] {
        // Registry rows are never deleted: the newest id and the newest update say it all, and
        // both are index lookups.
        let (count, latest): (Option<i64>, Option<String>) = sqlx::query_as(sqlx::AssertSqlSafe(
            format!("SELECT MAX(id), MAX(updated_at) FROM {table}"),
        ))
        .fetch_one(state.db().pool())
        .await?;
        parts.push(format!(
            "{table}:{}:{}",
            count.unwrap_or(0),
            latest.unwrap_or_default()
        ));
    }
    let (owned, latest): (Option<i64>, Option<String>) =
        sqlx::query_as("SELECT MAX(customer_id), MAX(created_at) FROM consultant_customers")
            .fetch_one(state.db().pool())
            .await?;
    parts.push(format!(
        "owners:{}:{}",
        owned.unwrap_or(0),
        latest.unwrap_or_default()
    ));
    use sha2::Digest;
    Ok(hex::encode(sha2::Sha256::digest(
        parts.join("|").as_bytes(),
    )))
}

/// The registry rows of the caller's scope.
async fn reference_rows(
    state: &AppState,
    caller: &Caller,
    version: String,
) -> Result<ReferenceRows, AppError> {
    let registry = state.registry();
    let units = registry.list_units(None, None, None).await?;
    let mut staff = Vec::new();
    let mut households = Vec::new();
    let staff_filter = crate::registry::StaffFilter::default();
    let household_filter = crate::registry::HouseholdFilter::default();
    let mut offset = 0;
    loop {
        let page = crate::registry::PageRequest { limit: 500, offset };
        let got = registry
            .list_staff(caller.staff_scope(), &staff_filter, page)
            .await?
            .items;
        let done = got.len() < 500;
        offset += got.len() as u64;
        staff.extend(got);
        if done {
            break;
        }
    }
    let mut offset = 0;
    loop {
        let page = crate::registry::PageRequest { limit: 500, offset };
        let got = registry
            .list_households(
                caller.household_scope(),
                &household_filter,
                page,
                caller.sees_customer_phones(),
            )
            .await?
            .items;
        let done = got.len() < 500;
        offset += got.len() as u64;
        households.extend(got);
        if done {
            break;
        }
    }
    Ok(ReferenceRows {
        version,
        units,
        staff,
        households,
    })
}

/// The condition on `documents d` that keeps what a device of `caller` holds. It is checked per
/// candidate row (correlated `EXISTS`), so a sync costs what its sequence range holds, not what
/// the whole scope holds. Staff and unit ids come from the session, so they are written inline.
fn in_scope(caller: &Caller) -> String {
    // Documents carry customers' phone numbers in full; whoever sees them masked (the general
    // manager, administrators) reads through the API and the dashboard, which mask them.
    if !caller.sees_customer_phones() {
        return "1 = 0".to_owned();
    }
    let scope = caller.work_scope();
    match &scope {
        WorkScope::All => "1 = 1".to_owned(),
        WorkScope::Units { staff_id, units } => format!(
            "((d.kind = 'follow_up' AND EXISTS (SELECT 1 FROM follow_ups fx WHERE fx.id = d.id
                 AND (fx.assignee_staff_id = {staff_id}
                      OR (fx.assignee_staff_id IS NULL AND fx.assignee_unit_id IN ({units})))))
              OR (d.kind = 'sheet' AND EXISTS (SELECT 1 FROM sheets s WHERE s.id = d.id AND {sheet_scope})))",
            units = id_list(units),
            sheet_scope = huifang_store::sheets::scope_sql(&scope).unwrap_or_else(|| "1 = 1".into()),
        ),
    }
}

/// The condition on `scope_exits e` that finds exits concerning the caller: theirs, or of a
/// unit whose work they do (ids from the session, written inline).
fn exits_of(caller: &Caller) -> String {
    let units = match caller.own_work() {
        WorkScope::Units { units, .. } => units,
        WorkScope::All => Vec::new(),
    };
    format!(
        "e.staff_id = {} OR e.unit_id IN ({})",
        caller.staff_id,
        id_list(&units)
    )
}

/// The documents in the caller's scope changed after `cursor` (one page),the documents that
/// left the scope, the new cursor and whether more pages wait.
async fn outgoing(
    state: &AppState,
    caller: &Caller,
    cursor: i64,
    page_size: u32,
) -> Result<(Vec<IncomingDocument>, Vec<String>, i64, bool), AppError> {
    let db = state.db();
    // Read first: every document with a sequence number up to this value is committed, because
    // document writers take their numbers one at a time under the change-sequence lock.
    let head: i64 = sqlx::query_scalar("SELECT value FROM change_sequence WHERE id = 1")
        .fetch_one(db.pool())
        .await?;
    let in_scope = in_scope(caller);
    let mut conditions = Conditions::default();
    conditions.add(
        "d.seq > ? AND d.seq <= ?",
        [SqlArg::Int(cursor), SqlArg::Int(head)],
    );
    conditions.add(&in_scope, []);
    let sql = format!(
        "SELECT d.id, d.kind, d.bytes, d.seq FROM documents d {} ORDER BY d.seq, d.id LIMIT {}",
        conditions.where_sql(),
        page_size + 1
    );
    let mut rows: Vec<(String, String, Vec<u8>, i64)> = conditions
        .bind(sqlx::query_as(sqlx::AssertSqlSafe(sql)))
        .fetch_all(db.pool())
        .await?;
    let more = rows.len() > page_size as usize;
    if more {
        rows.truncate(page_size as usize);
        // A page ends between sequence numbers, so the next page (seq > cursor) misses nothing.
        let last = rows.last().map_or(cursor, |r| r.3);
        if rows.iter().any(|r| r.3 < last) {
            rows.retain(|r| r.3 < last);
        } else {
            let sql = format!(
                "SELECT d.id, d.kind, d.bytes, d.seq FROM documents d WHERE d.seq = $1
                 AND {in_scope} ORDER BY d.id"
            );
            rows = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(last)
                .fetch_all(db.pool())
                .await?;
        }
    }
    let new_cursor = if more {
        rows.last().map_or(cursor, |r| r.3)
    } else {
        head.max(cursor)
    };
    let removed: Vec<String> = if cursor > 0 {
        let sql = format!(
            "SELECT DISTINCT e.document_id FROM scope_exits e
             WHERE ({exits}) AND e.seq > $1 AND e.seq <= $2
               AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.id = e.document_id AND {in_scope})",
            exits = exits_of(caller),
        );
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(cursor)
            .bind(new_cursor)
            .fetch_all(db.pool())
            .await?
    } else {
        Vec::new()
    };
    let documents = rows
        .into_iter()
        .map(|(id, kind, bytes, _)| {
            let kind = kind
                .parse::<DocumentKind>()
                .map_err(|e| AppError::Internal(anyhow::anyhow!("stored kind of {id}: {e}")))?;
            Ok(IncomingDocument {
                document_id: id,
                kind,
                bytes,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok((documents, removed, new_cursor, more))
}

/// How often an open live channel checks that its session still stands.
const SESSION_CHECK: std::time::Duration = std::time::Duration::from_secs(2);

/// How often each server instance looks for changes committed by the other instances.
const CHANGE_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// Keeps this process's view of the change sequence current, including changes committed by
/// other server instances on the same database (one single-row read per interval for the whole
/// process, however many devices listen).
pub fn spawn_change_watcher(db: crate::Database) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(CHANGE_POLL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let read =
                sqlx::query_scalar::<_, i64>("SELECT value FROM change_sequence WHERE id = 1")
                    .fetch_one(db.pool())
                    .await;
            match read {
                Ok(seq) => db.announce_change(seq),
                Err(e) => tracing::debug!(error = %e, "change watcher could not read the sequence"),
            }
        }
    })
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    /// The device's cursor; events announce changes in its scope after it.
    cursor: Option<i64>,
}

/// Whether anything in the caller's scope changed (or left it) with a sequence in `(after, upto]`.
async fn scope_changed(
    state: &AppState,
    caller: &Caller,
    after: i64,
    upto: i64,
) -> Result<bool, AppError> {
    let in_scope = in_scope(caller);
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT d.id FROM documents d WHERE d.seq > $1 AND d.seq <= $2
            AND {in_scope} LIMIT 1) found"
    );
    let changed: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(after)
        .bind(upto)
        .fetch_one(state.db().pool())
        .await?;
    if changed > 0 {
        return Ok(true);
    }
    let sql = format!(
        "SELECT COUNT(*) FROM scope_exits e WHERE ({}) AND e.seq > $1 AND e.seq <= $2",
        exits_of(caller)
    );
    let exits: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(after)
        .bind(upto)
        .fetch_one(state.db().pool())
        .await?;
    Ok(exits > 0)
}

type EventStream = axum::response::sse::Sse<
    axum::response::sse::KeepAliveStream<
        std::pin::Pin<
            Box<
                dyn futures_util::Stream<
                        Item = Result<axum::response::sse::Event, std::convert::Infallible>,
                    > + Send,
            >,
        >,
    >,
>;

/// `GET /api/v1/sync/events`: a server-sent event stream that says `sync` (with the newest
/// sequence number) whenever the device's scope changes, so an online phone learns of new work
/// at once without polling. Connect, sync once, then sync on each event.
#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn events(
    State(state): State<AppState>,
    caller: Caller,
    crate::extract::ApiQuery(query): crate::extract::ApiQuery<EventsQuery>,
) -> AppResult<EventStream> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let head: i64 = sqlx::query_scalar("SELECT value FROM change_sequence WHERE id = 1")
        .fetch_one(state.db().pool())
        .await?;
    let start = query.cursor.unwrap_or(head).max(0);
    let mut changes = state.db().watch_changes();
    changes.mark_changed();
    let stream = futures_util::stream::unfold(
        (changes, start, state, caller),
        |(mut changes, mut seen, state, caller)| async move {
            loop {
                // Wake on a change, or now and then to see that the session still stands: a
                // revoked session (a lost phone) must not keep hearing of work.
                let changed = tokio::select! {
                    changed = changes.changed() => {
                        changed.ok()?;
                        true
                    }
                    () = tokio::time::sleep(SESSION_CHECK) => false,
                };
                match state.sessions().still_valid(&caller).await {
                    Ok(true) => {}
                    Ok(false) => return None,
                    Err(e) => tracing::warn!(error = %e, "live channel session check failed"),
                }
                if !changed {
                    continue;
                }
                let newest = *changes.borrow_and_update();
                if newest <= seen {
                    continue;
                }
                match scope_changed(&state, &caller, seen, newest).await {
                    Ok(true) => {
                        seen = newest;
                        let event = Event::default().event("sync").data(newest.to_string());
                        return Some((Ok(event), (changes, seen, state, caller)));
                    }
                    Ok(false) => seen = newest,
                    Err(e) => tracing::warn!(error = %e, "live channel check failed"),
                }
            }
        },
    );
    Ok(Sse::new(Box::pin(stream) as _).keep_alive(KeepAlive::default()))
}

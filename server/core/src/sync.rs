//! The server's half of the sync protocol (`huifang_protocol::wire`), after the HTTP layer has
//! bounded and decoded the request.
//!
//! The server never trusts a device. Every document's Automerge changes are walked
//! (`huifang_protocol::inspect_changes`) before Automerge sees them or a write lock is taken. Each
//! document's changes are then applied to the stored document inside its own `DocWrite` and the
//! result goes through the same review as an API edit (`huifang_protocol::review_*`, facts from
//! [`crate::facts`]): taken whole or refused whole ([`apply`]). Then the device receives what
//! changed in its scope after its cursor, a page at a time ([`outgoing`]); [`live`] tells an
//! online device when to sync.

mod apply;
pub mod live;
mod outgoing;

use huifang_protocol::{
    DOCUMENT_CHANGE_LIMITS, MAX_PAGE, MAX_REQUEST_OPS, Rejection, SYNC_VERSION, SyncRequest,
    SyncResponse, inspect_changes,
};

use crate::Company;
use crate::auth::Caller;
use crate::error::{CoreResult, Error};
use crate::rules::RuleSettings;

/// Most documents one request may carry changes for.
const MAX_CHANGED_DOCUMENTS: usize = 1_000;

/// One sync: takes (or refuses) each document's changes, then answers with the next page of what
/// changed in the caller's scope, what left it, and the reference rows when they changed.
pub async fn exchange(
    company: &Company,
    caller: &Caller,
    request: SyncRequest,
) -> CoreResult<SyncResponse> {
    if !(1..=MAX_PAGE).contains(&request.page_size) {
        return Err(Error::invalid(format!(
            "page_size must be between 1 and {MAX_PAGE}"
        )));
    }
    if request.cursor < 0 {
        return Err(Error::invalid("cursor must not be negative"));
    }
    // Before anything of it is taken: an app the company no longer accepts keeps its changes —
    // and what it reported is kept, so its supervisor sees what waits on it.
    if let Err(refused) = crate::devices::require_app_version(company, request.device.as_ref()) {
        if let Some(report) = &request.device {
            crate::devices::record(company, caller, report, &[]).await?;
        }
        return Err(refused);
    }
    if request.changes.len() > MAX_CHANGED_DOCUMENTS {
        return Err(Error::invalid(format!(
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
        return Err(Error::invalid(format!(
            "the changes hold {request_ops} operations; at most {MAX_REQUEST_OPS} per sync, send the rest next time"
        )));
    }
    // A sync that carries no changes (most of them: a phone asking what is new) reads no rules.
    let settings = if inspected.is_empty() {
        RuleSettings::default()
    } else {
        RuleSettings::load(company.db()).await?
    };
    let mut committed = Vec::new();
    let mut rejections = Vec::new();
    for (change, verdict) in inspected {
        let id = change.document_id.clone();
        let outcome = match verdict {
            Ok(_) => apply::apply(company, caller, &settings, change).await,
            Err(e) => Err(apply::refuse(e.to_string())),
        };
        match outcome {
            Ok(()) => committed.push(id),
            Err(apply::Refusal::Refused {
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
            Err(apply::Refusal::Failed(error)) => return Err(error),
        }
    }
    if let Some(report) = &request.device {
        // What this sync settled leaves the phone's outbox with this answer: taken, or refused
        // whole (kept for its owner among the refused changes, no longer pending).
        let settled: Vec<String> = committed
            .iter()
            .cloned()
            .chain(
                rejections
                    .iter()
                    .filter(|r| r.refused)
                    .map(|r| r.document_id.clone()),
            )
            .collect();
        crate::devices::record(company, caller, report, &settled).await?;
    }
    // A device whose staff member changed role or unit since its last sync starts over: it is
    // told every document now in scope (and purges the rest) and receives them from the start.
    let scope_version = outgoing::scope_version(caller);
    // (A device that sends no scope version, an app from before it existed, is not rescoped:
    // it would start over on every page.)
    let rescoped = request.cursor > 0
        && request
            .scope_version
            .as_deref()
            .is_some_and(|version| version != scope_version);
    let from = if rescoped { 0 } else { request.cursor };
    let in_scope = if rescoped {
        Some(outgoing::documents_in_scope(company, caller).await?)
    } else {
        None
    };
    let huifang_store::changes::ChangesPage {
        mut documents,
        removed,
        cursor,
        more,
    } = outgoing::outgoing(company, caller, from, request.page_size).await?;
    // A phone whose changes were refused drops its copy and takes the server's, when it may.
    let refused: Vec<&str> = rejections
        .iter()
        .map(|r| r.document_id.as_str())
        .filter(|id| !documents.iter().any(|d| d.document_id == *id))
        .collect();
    documents.extend(outgoing::current_copies(company, caller, &refused).await?);
    let version = outgoing::reference_version(company, caller).await?;
    let reference = if request.reference_version.as_deref() == Some(version.as_str()) {
        None
    } else {
        Some(outgoing::reference_rows(company, caller, version).await?)
    };
    Ok(SyncResponse {
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
    })
}

//! What goes back to a device: the documents that changed in its scope after its cursor (a page
//! at a time), those that left it, the whole scope when it changed, and the reference rows.

use huifang_protocol::{IncomingDocument, ReferenceRows};
use huifang_store::changes::{self, ChangesPage, DeviceScope};
use huifang_store::scope::WorkScope;

use crate::Company;
use crate::auth::Caller;
use crate::error::Error;

/// What a device of `caller` may hold, and whose scope exits concern it.
pub(super) fn device_scope(caller: &Caller) -> DeviceScope {
    let exit_units = match caller.own_work() {
        WorkScope::Units { units, .. } => units,
        WorkScope::All => Vec::new(),
    };
    DeviceScope {
        // Documents carry customers' phone numbers in full; whoever sees them masked (the
        // general manager, administrators) reads through the API and the dashboard.
        documents: caller.sees_customer_phones().then(|| caller.work_scope()),
        staff_id: caller.staff_id,
        exit_units,
    }
}

/// The server's current copy of each named document the caller may hold.
pub(super) async fn current_copies(
    company: &Company,
    caller: &Caller,
    ids: &[&str],
) -> Result<Vec<IncomingDocument>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(changes::current_copies(company.db(), &device_scope(caller), ids).await?)
}

/// What decides which documents the caller's devices hold: who, in which role and units. It is
/// checked on every sync (the session's own facts, read at each request), so a move by import or
/// by an administrator reaches the phone at its next sync.
pub(super) fn scope_version(caller: &Caller) -> String {
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
pub(super) async fn documents_in_scope(
    company: &Company,
    caller: &Caller,
) -> Result<Vec<String>, Error> {
    Ok(changes::ids_in_scope(company.db(), &device_scope(caller)).await?)
}

/// A fingerprint of the registry as the caller sees it: it changes whenever any registry row
/// changes, so a device downloads reference rows only when they changed.
pub(super) async fn reference_version(company: &Company, caller: &Caller) -> Result<String, Error> {
    let parts = format!(
        "{}:{}:{:?}|{}",
        caller.staff_id,
        caller.role,
        caller.work_units,
        changes::registry_fingerprint(company.db()).await?
    );
    use sha2::Digest;
    Ok(hex::encode(sha2::Sha256::digest(parts.as_bytes())))
}

/// The registry rows of the caller's scope.
pub(super) async fn reference_rows(
    company: &Company,
    caller: &Caller,
    version: String,
) -> Result<ReferenceRows, Error> {
    let registry = company.registry();
    let units = registry.list_units(None, None, None).await?;
    let mut staff = Vec::new();
    let mut households = Vec::new();
    let staff_filter = huifang_store::registry::StaffFilter::default();
    let household_filter = huifang_store::registry::HouseholdFilter::default();
    let mut offset = 0;
    loop {
        let page = huifang_store::registry::PageRequest { limit: 500, offset };
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
        let page = huifang_store::registry::PageRequest { limit: 500, offset };
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
        survey_forms: crate::surveys::taking_answers(company.db()).await?,
    })
}

/// The documents in the caller's scope changed after `cursor` (one page), the documents that
/// left the scope, the new cursor and whether more pages wait.
pub(super) async fn outgoing(
    company: &Company,
    caller: &Caller,
    cursor: i64,
    page_size: u32,
) -> Result<ChangesPage, Error> {
    Ok(changes::page_after(company.db(), &device_scope(caller), cursor, page_size).await?)
}

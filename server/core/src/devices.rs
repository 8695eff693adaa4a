//! Phones (#18): what each reports of itself with a sync, the app version the company requires,
//! and the list head office and unit heads read to know whom to call — when a phone last synced
//! and what it holds unsynced.

use huifang_protocol::{DeviceReport, FollowUp, app_version};
use huifang_store::devices::{self, Device, OnPhone};

use crate::Company;
use crate::auth::Caller;
use crate::error::Error;

/// Refuses a sync from an app older than the company requires (or one that does not say its
/// version), before anything of it is taken: the phone keeps every unsynced change and sends it
/// after the update.
pub fn require_app_version(company: &Company, report: Option<&DeviceReport>) -> Result<(), Error> {
    let Some(minimum) = company.min_app_version() else {
        return Ok(());
    };
    let running = report.and_then(|r| app_version(&r.app_version));
    if running.as_ref().is_some_and(|running| running >= minimum) {
        return Ok(());
    }
    let wanted = minimum
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(".");
    Err(Error::UpgradeRequired(format!(
        "update the Huifang app to version {wanted} or later ({} on this phone); nothing on the phone is lost, it syncs after the update",
        report.map_or("an unknown version", |r| r.app_version.as_str())
    )))
}

/// Keeps what the caller's phone reported; `settled` are the documents this sync took or
/// refused whole, which leave the phone's outbox with its answer.
pub async fn record(
    company: &Company,
    caller: &Caller,
    report: &DeviceReport,
    settled: &[String],
) -> Result<(), Error> {
    Ok(devices::record(
        company.db(),
        caller.session_id,
        caller.staff_id,
        report,
        settled,
    )
    .await?)
}

/// The phones the caller may see: everyone's for head office, their units' staff for a unit
/// head, their own otherwise.
pub async fn list(company: &Company, caller: &Caller) -> Result<Vec<Device>, Error> {
    Ok(devices::list(company.db(), caller.staff_scope()).await?)
}

/// Where an open follow-up was already done on a phone that has not synced it — a supervisor
/// sees "done on the phone at …, not yet synced" instead of only a deadline, and whether it was
/// done in time (D-CB-2 judges it by the phone's time once it arrives). Nothing once the server's
/// copy is closed.
pub async fn done_on_phones(
    company: &Company,
    follow_up: &FollowUp,
) -> Result<Vec<OnPhone>, Error> {
    if follow_up.status.is_closed() {
        return Ok(Vec::new());
    }
    let due = huifang_protocol::parse_time("due_at", &follow_up.due_at).ok();
    let mut found = devices::on_phones(company.db(), &follow_up.id).await?;
    for on_phone in &mut found {
        let done = huifang_protocol::parse_time("done_at", &on_phone.done_at).ok();
        on_phone.in_time = matches!((done, due), (Some(done), Some(due)) if done <= due);
    }
    Ok(found)
}

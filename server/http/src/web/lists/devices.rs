//! `/app/devices`: the phones (#18) — when each last synced, what waits on it unsynced, which app
//! it runs, and whether it was ordered wiped: whom a supervisor calls before a 24-hour deadline
//! passes with the work still on a phone.

use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::*;

#[derive(Template)]
#[template(path = "devices.html")]
struct DevicesPage {
    chrome: Chrome,
    headers: Vec<String>,
    rows: Vec<DeviceLine>,
}

struct DeviceLine {
    session_id: i64,
    cells: Vec<String>,
    /// An administrator, or the phone's owner from another device, may order its wipe.
    can_wipe: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceQuery {
    #[serde(default)]
    format: Option<String>,
}

/// Everyone's phones for head office, their units' staff's for a unit head, one's own otherwise
/// (the API's list, `huifang_core::devices::list`).
pub async fn devices(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<DeviceQuery>,
) -> WebResult<Response> {
    let lang = viewer.lang;
    let tz = state.config().time_zone;
    let format = format_of(&query.format, lang)?;
    let found = huifang_core::devices::list(state.company(), &viewer.caller)
        .await
        .in_lang(lang)?;
    let when = |time: &Option<String>| {
        time.as_deref()
            .map(|t| local_time(t, tz))
            .unwrap_or_default()
    };
    let mut table = Table::new(
        lang.pick("手机", "Phones"),
        &[
            lang.pick("员工", "Staff"),
            lang.pick("设备", "Device"),
            lang.pick("最近同步", "Last sync"),
            lang.pick("待同步单据", "Documents unsynced"),
            lang.pick("最早未同步修改", "Oldest unsynced change"),
            lang.pick(
                "手机上已完成未同步的回访",
                "Follow-ups done on the phone, not synced",
            ),
            lang.pick("应用版本", "App version"),
            lang.pick("状态", "State"),
        ],
    );
    let mut lines = Vec::with_capacity(found.len());
    for device in &found {
        let state_text = match (
            &device.wipe_confirmed_at,
            &device.wipe_told_at,
            &device.wipe_requested_at,
            &device.revoked_at,
        ) {
            (Some(at), ..) => format!("{} {}", lang.pick("已清除", "wiped"), local_time(at, tz)),
            (None, Some(at), ..) => format!(
                "{} {}",
                lang.pick("已通知清除，未确认", "told to wipe, not confirmed"),
                local_time(at, tz)
            ),
            (None, None, Some(at), _) => format!(
                "{} {}",
                lang.pick(
                    "已下令清除，手机尚未联网",
                    "wipe ordered, phone not yet online"
                ),
                local_time(at, tz)
            ),
            (None, None, None, Some(_)) => lang.pick("已退出", "signed out").to_owned(),
            (None, None, None, None) => lang.pick("在用", "in use").to_owned(),
        };
        let caller = &viewer.caller;
        let can_wipe = device.revoked_at.is_none()
            && device.wipe_requested_at.is_none()
            && device.session_id != caller.session_id
            && (caller.role == huifang_protocol::Role::Admin || device.staff_id == caller.staff_id);
        let row = vec![
            Cell::text(format!("{} ({})", device.staff_name, device.username)),
            Cell::text(&device.device_name),
            Cell::text(when(&device.reported_at)),
            device.pending_changes.map_or(Cell::Empty, Cell::Int),
            Cell::text(when(&device.oldest_pending_at)),
            Cell::Int(device.done_on_phone),
            Cell::text(device.app_version.clone().unwrap_or_default()),
            Cell::text(state_text),
        ];
        lines.push(DeviceLine {
            session_id: device.session_id,
            cells: row.iter().map(Cell::display).collect(),
            can_wipe,
        });
        table.push(row);
    }
    match format {
        Some(format) => exports::download("phones", format, &[table]).in_lang(lang),
        None => render(
            &DevicesPage {
                chrome: Chrome::new(&viewer, "/app/devices", "/app/devices"),
                headers: table.headers,
                rows: lines,
            },
            lang,
        ),
    }
}

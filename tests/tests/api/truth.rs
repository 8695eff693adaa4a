//! Truthful figures and time (issue #15): a month's end in Shanghai, played with the server's
//! clock. Each measure counts as D-STA-3 says, whichever page or file shows it; deadlines reach
//! the right people, in the company's time, and routine rounds reach a head as one digest.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Instant, PASSWORD, TestApp};
use crate::sheets::{accept, handle};

/// The company is registered on 20 November (so December's routine plan has households, D-RTN-1);
/// each test then moves the clock to the end of December.
const DECEMBER_29: Instant = Instant {
    at: "2026-11-20T02:00:00Z",
    time_zone: "Asia/Shanghai",
};

macro_rules! at_december_29 {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let app = crate::helpers::spawn_app_at(crate::helpers::Backend::Sqlite, super::DECEMBER_29).await.expect("SQLite");
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(app) = crate::helpers::spawn_app_at(crate::helpers::Backend::Postgres, super::DECEMBER_29).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

at_december_29!(
    d_sta_3_the_24_hour_rate_counts_information_follow_ups_past_their_deadline,
    r_inf_4_escalation_goes_up_the_chain_in_local_time_and_routine_rounds_come_as_one_digest,
);

fn set(app: &TestApp, at: &str) {
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339(at)
            .unwrap()
            .with_timezone(&chrono::Utc),
    );
}

/// December's routine rounds, due at the month's end (the monthly job may have made them
/// already, once the clock reached December).
async fn plan_december(app: &TestApp, admin: &str) {
    let response = app.post(admin, "/api/v1/plans/2026-12", json!({})).await;
    assert!(response.status().is_success(), "{response:?}");
}

fn follow_up_id(handled: &Value) -> String {
    handled["follow_up"]["id"].as_str().unwrap().to_owned()
}

async fn record_done(app: &TestApp, token: &str, follow_up: &str, overall: u8) {
    app.post_ok(
        token,
        &format!("/api/v1/followups/{follow_up}/outcome"),
        json!({"method": "phone", "ratings": {"handling": 4, "efficiency": 4, "quality": 4,
               "attitude": 5, "overall": overall}}),
        StatusCode::OK,
    )
    .await;
}

async fn record_unreachable(app: &TestApp, token: &str, follow_up: &str) -> reqwest::Response {
    app.post(
        token,
        &format!("/api/v1/followups/{follow_up}/unreachable"),
        json!({"method": "phone", "note": "无人接听"}),
    )
    .await
}

/// The month end: on 31 December at 00:30 the December figures count the information
/// follow-ups whose 24 hours have run out (four: two on time — one done, one unreachable then
/// closed by the head —, one late, one still open), not the one due that evening nor the
/// month's routine rounds due at midnight; the closed unreachable one stays due and unreachable;
/// the bulletin, its CSV and the overview page say the same.
async fn d_sta_3_the_24_hour_rate_counts_information_follow_ups_past_their_deadline(app: TestApp) {
    // 29 December, 10:00 in Shanghai.
    set(&app, "2026-12-29T02:00:00Z");
    let admin = app.admin_token().await;
    let csc = app.login("bsw.csc.01", PASSWORD).await;
    let head = app.login("bsw.office.head", PASSWORD).await;
    let dev = app.login("dev.head", PASSWORD).await;
    // December's routine rounds, due at the month's end.
    plan_december(&app, &admin).await;

    // 29 December, 10:00: four matters handled.
    let on_time = handle(
        &app,
        &csc,
        &accept(&app, &csc, "陈志强", "ordinary", "repair").await,
    )
    .await;
    record_done(&app, &csc, &follow_up_id(&on_time), 5).await;
    let unreachable = handle(
        &app,
        &csc,
        &accept(&app, &csc, "林秀英", "ordinary", "repair").await,
    )
    .await;
    for _ in 0..3 {
        assert_eq!(
            record_unreachable(&app, &csc, &follow_up_id(&unreachable))
                .await
                .status(),
            StatusCode::OK
        );
    }
    let late = handle(
        &app,
        &csc,
        &accept(&app, &csc, "黄建华", "none", "other").await,
    )
    .await;
    let open = handle(
        &app,
        &csc,
        &accept(&app, &csc, "周海燕", "none", "property_service").await,
    )
    .await;

    let by_category = |app: &TestApp, token: String| {
        let app_base = app.base.clone();
        let client = app.client.clone();
        async move {
            let report: Value = client
                .get(format!(
                    "{app_base}/api/v1/reports/figures?from=2026-12&by=category"
                ))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            report["groups"]
                .as_array()
                .unwrap()
                .iter()
                .find(|g| g["key"] == "repair")
                .cloned()
                .unwrap()
        }
    };
    let repair = by_category(&app, admin.clone()).await;
    assert_eq!(
        (
            repair["follow_ups_due"].as_i64(),
            repair["unreachable"].as_i64()
        ),
        (Some(2), Some(1))
    );

    // The head closes the unreachable one (D-CB-3): it stays due and unreachable, and its sheet
    // reaches a final state that says so.
    let closed = app
        .post_ok(
            &head,
            &format!("/api/v1/followups/{}/cancel", follow_up_id(&unreachable)),
            json!({"reason": "三次联系不上"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(closed["status"], "closed_unreachable", "{closed}");
    let repair = by_category(&app, admin.clone()).await;
    assert_eq!(
        (
            repair["follow_ups_due"].as_i64(),
            repair["unreachable"].as_i64()
        ),
        (Some(2), Some(1)),
        "closing keeps the outcome counted: {repair}"
    );
    let sheet = app
        .get_json(
            &csc,
            &format!(
                "/api/v1/sheets/{}",
                unreachable["sheet"]["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(sheet["sheet"]["status"], "closed_unreachable");
    // Nobody records a fourth attempt on a follow-up the head closed.
    assert_eq!(
        record_unreachable(&app, &csc, &follow_up_id(&unreachable))
            .await
            .status(),
        StatusCode::CONFLICT
    );

    // 30 December, 20:00: one more, due the next evening — still in December.
    set(&app, "2026-12-30T12:00:00Z");
    let due_tomorrow = handle(
        &app,
        &csc,
        &accept(&app, &csc, "吴文博", "none", "other").await,
    )
    .await;
    assert!(
        due_tomorrow["follow_up"]["due_at"]
            .as_str()
            .unwrap()
            .starts_with("2026-12-31T12:00"),
        "{due_tomorrow}"
    );
    // 31 December, 00:30: the late one is done now.
    set(&app, "2026-12-30T16:30:00Z");
    record_done(&app, &csc, &follow_up_id(&late), 4).await;

    let total = app
        .get_json(&admin, "/api/v1/reports/figures?from=2026-12")
        .await["groups"][0]
        .clone();
    assert_eq!(total["information_past_deadline"], 4, "{total}");
    assert_eq!(total["done_on_time"], 2, "{total}");
    assert_eq!(total["on_time_rate"], 0.5, "{total}");
    let planned = total["routine_planned"].as_i64().unwrap();
    assert!(planned > 0, "{total}");
    assert_eq!(
        total["follow_ups_due"].as_i64().unwrap(),
        5 + planned,
        "five information follow-ups and the routine rounds are due in December: {total}"
    );
    assert_eq!(total["unreachable"], 1);
    assert_eq!(total["routine_done"], 0);
    assert_eq!(total["routine_completion_rate"], 0.0);
    let _ = open;

    // The bulletin, its CSV and the overview page show the same rate.
    let bulletin = app.get_json(&dev, "/api/v1/reports/bulletin/2026-12").await;
    let headline = bulletin["headline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["measure"] == "on_time_rate")
        .unwrap()
        .clone();
    assert_eq!(headline["value"], 0.5, "{headline}");
    let office = bulletin["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit_code"] == "PMO-BSW")
        .unwrap()
        .clone();
    assert_eq!(office["figures"]["on_time_rate"], 0.5, "{office}");
    let csv = app
        .get(&dev, "/api/v1/reports/bulletin/2026-12.csv")
        .await
        .text()
        .await
        .unwrap();
    let header = csv
        .lines()
        .find(|l| l.contains("24小时及时率"))
        .unwrap_or_default();
    let column = header
        .split(',')
        .position(|c| c == "24小时及时率")
        .expect("a 24-hour rate column");
    let office_line = csv
        .lines()
        .find(|l| l.starts_with("碧水湾物业管理处,"))
        .unwrap();
    let cell = office_line.split(',').nth(column).unwrap();
    assert!(cell.starts_with("50"), "{header}\n{office_line}");
    let cookie = crate::dashboard::session_cookie(
        &crate::dashboard::sign_in(&app, "dev.head", PASSWORD, "/app").await,
    );
    let html = crate::dashboard::page(&app, &cookie, "/app?month=2026-12")
        .await
        .text()
        .await
        .unwrap();
    let card = html
        .split("id=\"card-on_time_rate\"")
        .nth(1)
        .and_then(|rest| rest.split("</div>\n</div>").next().or(Some(rest)))
        .expect("the overview has the 24-hour rate card")
        .to_owned();
    assert!(
        card.contains("50.0%"),
        "the overview shows the same rate: {card}"
    );
}

/// R-INF-4 at the month's end: the information follow-up due that evening is escalated (and
/// told at once, in Shanghai time) before the month's routine rounds, which reach the head as
/// one digest; a follow-up of the development director goes to the general manager, never to
/// himself.
async fn r_inf_4_escalation_goes_up_the_chain_in_local_time_and_routine_rounds_come_as_one_digest(
    app: TestApp,
) {
    set(&app, "2026-12-29T02:00:00Z");
    let admin = app.admin_token().await;
    let csc = app.login("bsw.csc.01", PASSWORD).await;
    let head = app.login("bsw.office.head", PASSWORD).await;
    let dev = app.login("dev.head", PASSWORD).await;
    let gm_id = app.staff_id("gm").await;
    let dev_id = app.staff_id("dev.head").await;
    plan_december(&app, &admin).await;
    // 31 December, 20:00 in Shanghai: a matter handled, due on 1 January at 20:00.
    set(&app, "2026-12-31T12:00:00Z");
    let handled = handle(
        &app,
        &csc,
        &accept(&app, &csc, "陈志强", "none", "other").await,
    )
    .await;
    let notifications = app.get_json(&csc, "/api/v1/notifications").await;
    let told = notifications
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["document_id"] == handled["follow_up"]["id"])
        .unwrap()["message"]
        .clone();
    assert!(
        told.as_str().unwrap().contains("2027-01-01 20:00"),
        "the deadline in Shanghai time, not UTC: {told}"
    );
    // Another follow-up handed to the development director by the office head.
    let director_s = handle(
        &app,
        &csc,
        &accept(&app, &csc, "林秀英", "none", "other").await,
    )
    .await;
    let reassigned = app
        .post_ok(
            &admin,
            &format!("/api/v1/followups/{}/reassign", follow_up_id(&director_s)),
            json!({"staff_id": dev_id, "reason": "客户点名由开发部回访"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        reassigned["reassignments"][0]["reason"],
        "客户点名由开发部回访"
    );
    let audit = app
        .get_json(
            &admin,
            &format!("/api/v1/admin/audit?subject={}", follow_up_id(&director_s)),
        )
        .await;
    assert!(
        audit.to_string().contains("客户点名由开发部回访"),
        "the reason is in the audit entry: {audit}"
    );

    // The deadline job's pass of 2 January, 08:00 (called here, so the background job, which
    // reads the clock still at New Year's Eve, cannot take part): the December rounds (due at
    // midnight) and both matters are overdue.
    let january_2 = chrono::DateTime::parse_from_rfc3339("2027-01-02T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let done = huifang_core::deadlines::escalate_overdue(&app.db, app.config.time_zone, january_2)
        .await
        .unwrap();
    assert_eq!(done.information, 2, "{done:?}");
    assert!(done.other > 1, "{done:?}");
    // The batch's audit entries are chained like any others (D-GOV-1).
    let verified = app.get_json(&admin, "/api/v1/admin/audit/verify").await;
    assert_eq!(verified["problems"], json!([]), "{verified}");
    let detail = app
        .get_json(
            &dev,
            &format!("/api/v1/followups/{}", follow_up_id(&director_s)),
        )
        .await;
    assert_eq!(
        detail["follow_up"]["escalations"][0]["to_staff_id"], gm_id,
        "the director's own follow-up goes up to the general manager: {detail}"
    );
    let head_heard = app.get_json(&head, "/api/v1/notifications").await;
    let digests = head_heard
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["document_id"].as_str().unwrap().starts_with("overdue/"))
        .count();
    assert_eq!(
        digests, 1,
        "one digest for the month's rounds: {head_heard}"
    );
    let overdue = head_heard
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["document_id"] == handled["follow_up"]["id"])
        .expect("the information follow-up told on its own");
    assert!(
        overdue["message"]
            .as_str()
            .unwrap()
            .contains("2027-01-01 20:00"),
        "{overdue}"
    );
}

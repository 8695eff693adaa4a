//! Monthly submissions (R-STA-2, D-STA-1) over HTTP on both databases: who submits, the locked
//! snapshot, the late flag, and head office's view of who has and has not submitted.

use huifang_core::plans::Month;
use huifang_core::reports::submissions;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error};
use crate::sheets::accept;

crate::on_both_backends!(
    r_sta_2_units_submit_a_locked_snapshot_and_head_office_sees_who_has_not,
    d_sta_1_submissions_refuse_the_wrong_people_and_months_and_change_nothing,
);

// Date-sensitive: also at a month's last evening, New Year's Eve, February's end and a
// daylight-saving change (helpers::EDGES).
crate::at_every_edge!(r_sta_2_units_submit_a_locked_snapshot_and_head_office_sees_who_has_not,);

fn state_of<'a>(overview: &'a Value, code: &str) -> &'a Value {
    overview["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit_code"] == code)
        .unwrap_or_else(|| panic!("{code} in {overview}"))
}

async fn r_sta_2_units_submit_a_locked_snapshot_and_head_office_sees_who_has_not(app: TestApp) {
    let tz = app.config.time_zone;
    let month = Month::of(app.now(), tz);
    let path = format!("/api/v1/reports/submissions/{month}");
    let dev = app.login("dev.head", PASSWORD).await;
    let office_head = app.login("bsw.office.head", PASSWORD).await;
    let marketing_head = app.login("mkt.head", PASSWORD).await;
    let csc = app.login("bsw.csc.01", PASSWORD).await;

    // The marketing department, the office and the sales site must submit; nobody has yet.
    let before = app.get_json(&dev, &path).await;
    let codes: Vec<&str> = before["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["unit_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["MKT", "PMO-BSW", "SALES-BSW"], "{before}");
    assert_eq!(before["expected"], 3);
    assert_eq!(before["outstanding"], 3);
    let deadline = submissions::deadline(month, tz);
    assert_eq!(before["deadline_passed"], app.now() >= deadline);

    // Work in the office's customer service centre counts in the office's figures.
    accept(&app, &csc, "陈志强", "ordinary", "repair").await;
    accept(&app, &csc, "林秀英", "none", "property_service").await;

    let submitted = app
        .post_ok(
            &office_head,
            &path,
            json!({ "note": "本月无重大投诉" }),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(submitted["unit_code"], "PMO-BSW");
    assert_eq!(submitted["note"], "本月无重大投诉");
    assert_eq!(submitted["late"], app.now() >= deadline, "{submitted}");
    assert_eq!(submitted["figures"]["total"]["sheets_accepted"], 2);
    let csc_unit = app.unit_id("PMO-BSW-CSC").await;
    let by_unit = submitted["figures"]["by_unit"].as_array().unwrap();
    assert_eq!(by_unit.len(), 1, "{submitted}");
    assert_eq!(by_unit[0]["key"], csc_unit.to_string());
    // The snapshot equals the figures the unit head sees for the office at that moment.
    let figures = app
        .get_json(
            &office_head,
            &format!("/api/v1/reports/figures?from={month}"),
        )
        .await;
    assert_eq!(figures["groups"][0], submitted["figures"]["total"]);

    // A submission is locked: a second one is refused and the first is kept as it was, even
    // after the figures move on.
    let again = app.post(&office_head, &path, json!({})).await;
    assert_error(again, StatusCode::CONFLICT, "conflict", "locked").await;
    accept(&app, &csc, "黄建华", "ordinary", "repair").await;
    let office = app.unit_id("PMO-BSW").await;
    let stored = app.get_json(&dev, &format!("{path}/{office}")).await;
    assert_eq!(stored, submitted);
    let now_figures = app
        .get_json(
            &dev,
            &format!("/api/v1/reports/figures?from={month}&unit_id={office}"),
        )
        .await;
    assert_eq!(now_figures["groups"][0]["sheets_accepted"], 3);
    assert_eq!(stored["figures"]["total"]["sheets_accepted"], 2);

    // Last month's figures handed in now are late: its deadline has passed.
    let last_month = month.previous();
    let late = app
        .post_ok(
            &marketing_head,
            &format!("/api/v1/reports/submissions/{last_month}"),
            json!({}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(late["late"], true, "{late}");
    assert_eq!(
        late["deadline"],
        huifang_protocol::format_time(submissions::deadline(last_month, tz))
    );

    // Head office sees who has and has not submitted.
    let after = app.get_json(&dev, &path).await;
    assert_eq!(after["outstanding"], 2, "{after}");
    let office_state = state_of(&after, "PMO-BSW");
    assert_eq!(office_state["submitted"], true);
    assert_eq!(office_state["submitted_by_name"], "王主任");
    assert_eq!(state_of(&after, "SALES-BSW")["submitted"], false);
    assert_eq!(
        state_of(&after, "SALES-BSW")["missing"],
        app.now() >= deadline
    );
    let previous = app
        .get_json(&dev, &format!("/api/v1/reports/submissions/{last_month}"))
        .await;
    assert_eq!(previous["late"], 1);
    assert_eq!(previous["deadline_passed"], true);
    assert_eq!(
        state_of(&previous, "SALES-BSW")["missing"],
        true,
        "{previous}"
    );
    assert_eq!(state_of(&previous, "MKT")["late"], true);

    // A unit head sees their own unit only; the general manager sees all.
    let own = app.get_json(&office_head, &path).await;
    assert_eq!(own["expected"], 1);
    assert_eq!(own["units"][0]["unit_code"], "PMO-BSW");
    let gm = app.login("gm", PASSWORD).await;
    assert_eq!(app.get_json(&gm, &path).await["expected"], 3);

    // The submission is in the audit chain with the hash of what was handed in.
    let admin = app.admin_token().await;
    let audit = app
        .get_json(
            &admin,
            &format!("/api/v1/admin/audit?subject=submission/{month}/{office}"),
        )
        .await;
    assert_eq!(audit.as_array().unwrap().len(), 1, "{audit}");
    assert_eq!(audit[0]["action"], "submission.submitted");
    let detail: Value = serde_json::from_str(audit[0]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["figures_sha256"], submitted["figures_sha256"]);
}

async fn d_sta_1_submissions_refuse_the_wrong_people_and_months_and_change_nothing(app: TestApp) {
    let month = Month::of(app.now(), app.config.time_zone);
    let path = format!("/api/v1/reports/submissions/{month}");
    let office = app.unit_id("PMO-BSW").await;
    let staff = app.login("bsw.csc.01", PASSWORD).await;
    let department_head = app.login("bsw.eng.head", PASSWORD).await;
    let sales_head = app.login("bsw.sales.head", PASSWORD).await;
    let consultant = app.login("bsw.gw.01", PASSWORD).await;
    let count = || app.count("monthly_submissions");

    // Only the head of a submitting unit submits, and only for their own unit.
    for token in [&staff, &department_head, &consultant] {
        let refused = app.post(token, &path, json!({})).await;
        assert_error(refused, StatusCode::FORBIDDEN, "forbidden", "R-STA-2").await;
    }
    let other_unit = app
        .post(&sales_head, &path, json!({ "unit_id": office }))
        .await;
    assert_error(
        other_unit,
        StatusCode::FORBIDDEN,
        "forbidden",
        "your own unit",
    )
    .await;
    // Nobody but head office reads another unit's submission or the overview of others.
    let theirs = app.get(&sales_head, &format!("{path}/{office}")).await;
    assert_error(theirs, StatusCode::FORBIDDEN, "forbidden", "your own unit").await;
    let overview = app.get(&staff, &path).await;
    assert_error(overview, StatusCode::FORBIDDEN, "forbidden", "R-STA-2").await;

    // Months that have not begun, nonsense months, unknown fields, an overlong note.
    let next = format!("/api/v1/reports/submissions/{}", month.next());
    let future = app.post(&sales_head, &next, json!({})).await;
    assert_error(
        future,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "has not begun",
    )
    .await;
    let nonsense = app
        .post(
            &sales_head,
            "/api/v1/reports/submissions/2026-13",
            json!({}),
        )
        .await;
    assert_error(
        nonsense,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "YYYY-MM",
    )
    .await;
    let unknown = app
        .post(
            &sales_head,
            &path,
            json!({ "figures": {"sheets_accepted": 99} }),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let long = app
        .post(&sales_head, &path, json!({ "note": "很".repeat(2_001) }))
        .await;
    assert_error(
        long,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "2000",
    )
    .await;
    assert_eq!(count().await, 0, "nothing was written");

    // Not yet submitted: 404 that says so; then the sales manager submits for the site.
    let dev = app.login("dev.head", PASSWORD).await;
    let site = app.unit_id("SALES-BSW").await;
    let missing = app.get(&dev, &format!("{path}/{site}")).await;
    assert_error(
        missing,
        StatusCode::NOT_FOUND,
        "not_found",
        "has not submitted",
    )
    .await;
    let made = app
        .post_ok(&sales_head, &path, json!({}), StatusCode::CREATED)
        .await;
    assert_eq!(made["unit_id"], site);
    assert_eq!(made["submitted_by_name"], "周经理");
    assert_eq!(count().await, 1);
}

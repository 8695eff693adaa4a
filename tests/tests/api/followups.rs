//! Follow-ups over HTTP: outcomes, retries, reassignment, cancellation, deadlines and the audit
//! log (SPEC §3, §6).

use huifang_core::deadlines;
use huifang_store::audit;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error};
use crate::sheets::{accept, handle};

crate::on_both_backends!(
    d_cb_1_the_assignee_records_ratings_and_the_sheet_is_followed_up,
    d_cb_2_offline_time_is_kept_within_bounds,
    d_cb_3_dissatisfied_customer_reopens_the_matter,
    d_cb_3_unreachable_three_times_goes_to_the_head,
    heads_cancel_and_closed_follow_ups_stay_closed,
    r_inf_8_d_sig_1_on_site_signature_completes_a_repair,
    r_inf_4_overdue_follow_ups_are_escalated_once,
    d_gov_1_audit_chain_detects_tampering,
);

// Date-sensitive: also at a month's last evening, New Year's Eve, February's end and a
// daylight-saving change (helpers::EDGES).
crate::at_every_edge!(
    r_inf_4_overdue_follow_ups_are_escalated_once,
    d_cb_2_offline_time_is_kept_within_bounds,
);

fn ratings(overall: u8) -> Value {
    json!({ "handling": 4, "efficiency": 4, "quality": 5, "attitude": 5, "overall": overall })
}

/// A handled repair accepted by the office's service center; returns (csc token, handled).
async fn open_follow_up(app: &TestApp) -> (String, Value) {
    let csc = app.login("bsw.csc.01", PASSWORD).await;
    let sheet = accept(app, &csc, "陈志强", "ordinary", "repair").await;
    let handled = handle(app, &csc, &sheet).await;
    (csc, handled)
}

fn path(handled: &Value, action: &str) -> String {
    format!(
        "/api/v1/followups/{}/{action}",
        handled["follow_up"]["id"].as_str().unwrap()
    )
}

async fn d_cb_1_the_assignee_records_ratings_and_the_sheet_is_followed_up(app: TestApp) {
    let (csc, handled) = open_follow_up(&app).await;
    let seq = app.change_seq().await;
    for bad in [0, 6] {
        let body = json!({ "method": "phone", "ratings": ratings(bad) });
        let response = app.post(&csc, &path(&handled, "outcome"), body).await;
        assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "ratings are 1 to 5",
        )
        .await;
    }
    let response = app
        .post(
            &csc,
            &path(&handled, "outcome"),
            json!({ "method": "telepathy", "ratings": ratings(5) }),
        )
        .await;
    assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "FollowUpMethod",
    )
    .await;
    // Someone else of the same office may not record the assignee's follow-up.
    let head = app.login("bsw.office.head", PASSWORD).await;
    let response = app
        .post(
            &head,
            &path(&handled, "outcome"),
            json!({ "method": "phone", "ratings": ratings(5) }),
        )
        .await;
    assert_error(
        response,
        StatusCode::FORBIDDEN,
        "forbidden",
        "only the assignee",
    )
    .await;
    assert_eq!(
        app.change_seq().await,
        seq,
        "refused outcomes stored nothing"
    );

    let done = app
        .post_ok(
            &csc,
            &path(&handled, "outcome"),
            json!({ "method": "home_visit", "ratings": ratings(5), "opinions": "維修及時" }),
            StatusCode::OK,
        )
        .await;
    assert_eq!(done["follow_up"]["status"], "completed");
    assert_eq!(done["follow_up"]["outcome"]["ratings"]["overall"], 5);
    assert_eq!(done["reopened_sheet"], Value::Null);
    let sheet_id = handled["sheet"]["id"].as_str().unwrap();
    let sheet = app
        .get_json(&csc, &format!("/api/v1/sheets/{sheet_id}"))
        .await;
    assert_eq!(sheet["sheet"]["status"], "followed_up");
    assert_eq!(
        sheet["follow_ups"][0]["done_on_time"], true,
        "done within 24 h (R-INF-4)"
    );
    assert_eq!(sheet["follow_ups"][0]["rating_overall"], 5);
    // Closed for good: a second outcome is a conflict.
    let again = app
        .post(
            &csc,
            &path(&handled, "outcome"),
            json!({ "method": "phone", "ratings": ratings(1) }),
        )
        .await;
    assert_error(again, StatusCode::CONFLICT, "conflict", "completed").await;
}

async fn d_cb_2_offline_time_is_kept_within_bounds(app: TestApp) {
    let (csc, handled) = open_follow_up(&app).await;
    let future = (app.now() + chrono::Duration::hours(2)).to_rfc3339();
    let response = app
        .post(
            &csc,
            &path(&handled, "outcome"),
            json!({ "method": "phone", "ratings": ratings(4), "done_at": future }),
        )
        .await;
    assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "in the future",
    )
    .await;
    let before = (app.now() - chrono::Duration::days(2)).to_rfc3339();
    let response = app
        .post(
            &csc,
            &path(&handled, "outcome"),
            json!({ "method": "phone", "ratings": ratings(4), "done_at": before }),
        )
        .await;
    assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "before the follow-up existed",
    )
    .await;
    // Done offline two minutes ago, synced now: the phone's time is what counts.
    let offline = (app.now() - chrono::Duration::minutes(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let done = app
        .post_ok(
            &csc,
            &path(&handled, "outcome"),
            json!({ "method": "phone", "ratings": ratings(4), "done_at": offline }),
            StatusCode::OK,
        )
        .await;
    assert_eq!(done["follow_up"]["outcome"]["done_at"], offline.as_str());
}

async fn d_cb_3_dissatisfied_customer_reopens_the_matter(app: TestApp) {
    let (csc, handled) = open_follow_up(&app).await;
    let done = app
        .post_ok(
            &csc,
            &path(&handled, "outcome"),
            json!({ "method": "phone", "ratings": ratings(2), "opinions": "水管又漏了" }),
            StatusCode::OK,
        )
        .await;
    let reopened = &done["reopened_sheet"];
    assert_eq!(reopened["reopened_from"], handled["sheet"]["id"]);
    assert_eq!(reopened["status"], "accepted");
    assert_eq!(reopened["source"], "during_follow_up");
    assert_eq!(reopened["category"], "repair");
    assert_eq!(reopened["customer_name"], "陈志强");
    assert!(
        reopened["items"][0]["text"]
            .as_str()
            .unwrap()
            .contains("水管又漏了")
    );
    assert_ne!(reopened["number"], handled["sheet"]["number"]);
    // It is routed and followed up like any other sheet.
    let again = handle(&app, &csc, reopened).await;
    assert_eq!(again["follow_up"]["rule"], "R-INF-8");
}

async fn d_cb_3_unreachable_three_times_goes_to_the_head(app: TestApp) {
    let (csc, handled) = open_follow_up(&app).await;
    for attempt in 1..=3 {
        let body = json!({ "method": "phone", "note": format!("第{attempt}次未接") });
        let after = app
            .post_ok(&csc, &path(&handled, "unreachable"), body, StatusCode::OK)
            .await;
        let expected = if attempt < 3 { "open" } else { "unreachable" };
        assert_eq!(after["status"], expected, "after attempt {attempt}");
        assert_eq!(
            after["unreachable_attempts"].as_array().unwrap().len(),
            attempt
        );
    }
    let head = app.login("bsw.office.head", PASSWORD).await;
    let messages = app
        .get_json(&head, "/api/v1/notifications?unread=true")
        .await;
    assert!(
        messages[0]["message"]
            .as_str()
            .unwrap()
            .contains("3 次联系不上"),
        "{messages}"
    );

    // The head reassigns to a colleague: open again, with the reassignment as its rule.
    let colleague = app.staff_id("bsw.eng.head").await;
    let csc_staff = app.login("bsw.csc.01", PASSWORD).await;
    let refused = app
        .post(
            &csc_staff,
            &path(&handled, "reassign"),
            json!({ "staff_id": colleague }),
        )
        .await;
    assert_error(
        refused,
        StatusCode::FORBIDDEN,
        "forbidden",
        "head of the assigned unit",
    )
    .await;
    let moved = app
        .post_ok(
            &head,
            &path(&handled, "reassign"),
            json!({ "staff_id": colleague }),
            StatusCode::OK,
        )
        .await;
    assert_eq!(moved["status"], "open");
    assert_eq!(moved["rule"], "reassigned");
    assert_eq!(moved["assignee_staff_id"], colleague);
    assert_eq!(moved["assignee_unit_id"], app.unit_id("PMO-BSW-ENG").await);
    let eng = app.login("bsw.eng.head", PASSWORD).await;
    assert_eq!(app.get_json(&eng, "/api/v1/followups").await["total"], 1);
    let nobody = app
        .post(
            &head,
            &path(&handled, "reassign"),
            json!({ "staff_id": 999999 }),
        )
        .await;
    assert_error(
        nobody,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "999999",
    )
    .await;
}

async fn heads_cancel_and_closed_follow_ups_stay_closed(app: TestApp) {
    let (csc, handled) = open_follow_up(&app).await;
    let head = app.login("bsw.office.head", PASSWORD).await;
    let empty = app
        .post(&head, &path(&handled, "cancel"), json!({ "reason": "" }))
        .await;
    assert_error(
        empty,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "cancel_reason",
    )
    .await;
    let cancelled = app
        .post_ok(
            &head,
            &path(&handled, "cancel"),
            json!({ "reason": "客户已搬离" }),
            StatusCode::OK,
        )
        .await;
    assert_eq!(cancelled["status"], "cancelled");
    let seq = app.change_seq().await;
    let outcome = app
        .post(
            &csc,
            &path(&handled, "outcome"),
            json!({ "method": "phone", "ratings": ratings(5) }),
        )
        .await;
    assert_error(outcome, StatusCode::CONFLICT, "conflict", "cancelled").await;
    let reassign = app
        .post(
            &head,
            &path(&handled, "reassign"),
            json!({ "staff_id": app.staff_id("bsw.csc.01").await }),
        )
        .await;
    assert_error(
        reassign,
        StatusCode::CONFLICT,
        "conflict",
        "cannot be reassigned",
    )
    .await;
    assert_eq!(app.change_seq().await, seq);
    let unknown = app
        .get(&csc, "/api/v1/followups/0123456789abcdef0123456789abcdef")
        .await;
    assert_error(
        unknown,
        StatusCode::NOT_FOUND,
        "not_found",
        "does not exist",
    )
    .await;
    let all = app.get(&csc, "/api/v1/followups?view=all").await;
    assert_error(all, StatusCode::FORBIDDEN, "forbidden", "view=all").await;
}

/// Uploads signature strokes as `username` would from a phone; returns their SHA-256.
pub(crate) async fn upload_strokes(app: &TestApp, token: &str, strokes: &[u8]) -> String {
    use sha2::Digest;
    let hash = hex::encode(sha2::Sha256::digest(strokes));
    let response = app
        .client
        .post(app.url(&format!("/api/v1/blobs/{hash}")))
        .bearer_auth(token)
        .body(strokes.to_vec())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    hash
}

/// The signature a phone would make for `follow_up` completed with `outcome` (D-SIG-1): the
/// content hash computed over the sheet and the outcome, as the server will recompute it.
pub(crate) async fn signature_for(
    app: &TestApp,
    token: &str,
    handled: &Value,
    outcome: huifang_protocol::Outcome,
    blob: &str,
) -> Value {
    let sheet: huifang_protocol::Sheet = serde_json::from_value(
        app.get_json(
            token,
            &format!(
                "/api/v1/sheets/{}",
                handled["sheet"]["id"].as_str().unwrap()
            ),
        )
        .await["sheet"]
            .clone(),
    )
    .unwrap();
    let mut follow_up: huifang_protocol::FollowUp = serde_json::from_value(
        app.get_json(
            token,
            &format!(
                "/api/v1/followups/{}",
                handled["follow_up"]["id"].as_str().unwrap()
            ),
        )
        .await["follow_up"]
            .clone(),
    )
    .unwrap();
    follow_up.outcome = Some(outcome);
    json!({
        "blob_sha256": blob,
        "content_sha256": huifang_protocol::content_sha256(Some(&sheet), &follow_up),
        "signed_at": huifang_protocol::format_time(app.now()),
        "signer_name": "陈志强",
    })
}

async fn r_inf_8_d_sig_1_on_site_signature_completes_a_repair(app: TestApp) {
    let (csc, handled) = open_follow_up(&app).await;
    let me = app.staff_id("bsw.csc.01").await;
    let done_at = huifang_protocol::format_time(app.now());
    let outcome = huifang_protocol::Outcome {
        method: huifang_protocol::FollowUpMethod::OnSiteSignature,
        done_at: done_at.clone(),
        ratings: serde_json::from_value(ratings(5)).unwrap(),
        opinions: String::new(),
        recorded_by: me,
    };
    let body = |signature: &Value| json!({ "method": "on_site_signature", "ratings": ratings(5), "done_at": done_at, "signature": signature });
    let unsigned = app
        .post(
            &csc,
            &path(&handled, "outcome"),
            json!({ "method": "on_site_signature", "ratings": ratings(5) }),
        )
        .await;
    assert_error(
        unsigned,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "needs the signature",
    )
    .await;
    let bad = app
        .post(&csc, &path(&handled, "outcome"), json!({ "method": "on_site_signature", "ratings": ratings(5), "signature": { "blob_sha256": "xyz", "content_sha256": "b", "signed_at": "now", "signer_name": "x" } }))
        .await;
    assert_error(
        bad,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "64 lowercase hex",
    )
    .await;
    // D-SIG-1: strokes that were never uploaded, and a made-up content hash, are refused.
    let seq = app.change_seq().await;
    let never_uploaded =
        signature_for(&app, &csc, &handled, outcome.clone(), &"a".repeat(64)).await;
    let response = app
        .post(&csc, &path(&handled, "outcome"), body(&never_uploaded))
        .await;
    assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "upload them first",
    )
    .await;
    let strokes = upload_strokes(&app, &csc, b"{\"width\":200,\"height\":80,\"strokes\":[]}").await;
    let mut made_up = signature_for(&app, &csc, &handled, outcome.clone(), &strokes).await;
    made_up["content_sha256"] = json!("b".repeat(64));
    let response = app
        .post(&csc, &path(&handled, "outcome"), body(&made_up))
        .await;
    assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "not the hash of the signed content",
    )
    .await;
    // Strokes someone else uploaded are not this customer's signature for this follow-up.
    let colleague = app.login("bsw.eng.head", PASSWORD).await;
    let theirs = upload_strokes(
        &app,
        &colleague,
        b"{\"width\":1,\"height\":1,\"strokes\":[]}",
    )
    .await;
    let borrowed = signature_for(&app, &csc, &handled, outcome.clone(), &theirs).await;
    let response = app
        .post(&csc, &path(&handled, "outcome"), body(&borrowed))
        .await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden", "someone else").await;
    assert_eq!(app.change_seq().await, seq, "nothing stored");

    let signature = signature_for(&app, &csc, &handled, outcome.clone(), &strokes).await;
    let done = app
        .post_ok(
            &csc,
            &path(&handled, "outcome"),
            body(&signature),
            StatusCode::OK,
        )
        .await;
    assert_eq!(done["follow_up"]["status"], "completed");
    assert_eq!(done["follow_up"]["outcome"]["method"], "on_site_signature");
    assert_eq!(done["follow_up"]["signature"]["signer_name"], "陈志强");

    // A signature confirms a repair, not a mortgage question; and strokes confirm one follow-up.
    let sheet = accept(&app, &csc, "林秀英", "none", "other").await;
    let other = handle(&app, &csc, &sheet).await;
    let response = app
        .post(&csc, &path(&other, "outcome"), json!({ "method": "on_site_signature", "ratings": ratings(5), "signature": done["follow_up"]["signature"] }))
        .await;
    let refusal = assert_error(response, StatusCode::FORBIDDEN, "forbidden", "R-INF-8").await;
    assert!(
        refusal["message"]
            .as_str()
            .unwrap()
            .contains("already confirm another follow-up"),
        "{refusal}"
    );
}

async fn r_inf_4_overdue_follow_ups_are_escalated_once(app: TestApp) {
    let (csc, handled) = open_follow_up(&app).await;
    let tz: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap();
    let now = app.now();
    assert_eq!(
        deadlines::escalate_overdue(&app.db, tz, now)
            .await
            .unwrap()
            .marked(),
        0,
        "not due yet"
    );
    let later = now + chrono::Duration::hours(25);
    // Two instances racing: each follow-up is escalated exactly once.
    let (a, b) = tokio::join!(
        deadlines::escalate_overdue(&app.db, tz, later),
        deadlines::escalate_overdue(&app.db, tz, later)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.marked() + b.marked(), 1);
    assert_eq!(a.information + b.information, 1, "an information follow-up");
    assert_eq!(a.digests + b.digests, 0, "told at once, not in a digest");
    assert_eq!(
        deadlines::escalate_overdue(&app.db, tz, later)
            .await
            .unwrap()
            .marked(),
        0
    );

    let detail = app
        .get_json(
            &csc,
            &format!(
                "/api/v1/followups/{}",
                handled["follow_up"]["id"].as_str().unwrap()
            ),
        )
        .await;
    let escalations = detail["follow_up"]["escalations"].as_array().unwrap();
    assert_eq!(escalations.len(), 1);
    // The service center has no head of its own: the office director answers for it.
    assert_eq!(
        escalations[0]["to_staff_id"],
        app.staff_id("bsw.office.head").await
    );
    assert!(detail["follow_up"]["overdue_at"].is_string());
    let head = app.login("bsw.office.head", PASSWORD).await;
    let overdue = app
        .get_json(&head, "/api/v1/followups?view=unit&overdue=true")
        .await;
    assert_eq!(
        overdue["total"], 1,
        "the office head's overdue list covers the service center"
    );
    // A page past the end still tells how many there are (the total comes with the page
    // otherwise, issue #17).
    let past_the_end = app
        .get_json(&head, "/api/v1/followups?view=unit&overdue=true&offset=5")
        .await;
    assert_eq!(past_the_end["total"], 1);
    assert_eq!(past_the_end["items"].as_array().map(Vec::len), Some(0));
    let due_soon = app
        .get_json(&csc, "/api/v1/followups?due_within_hours=48")
        .await;
    assert_eq!(due_soon["total"], 1);
    let due_soon = app
        .get_json(&csc, "/api/v1/followups?due_within_hours=1")
        .await;
    assert_eq!(due_soon["total"], 0);
    // Still open: done late, it counts as not on time.
    let done = app
        .post_ok(
            &csc,
            &path(&handled, "outcome"),
            json!({ "method": "phone", "ratings": ratings(4) }),
            StatusCode::OK,
        )
        .await;
    assert_eq!(done["follow_up"]["status"], "completed");
}

async fn d_gov_1_audit_chain_detects_tampering(app: TestApp) {
    let (csc, handled) = open_follow_up(&app).await;
    app.post_ok(
        &csc,
        &path(&handled, "outcome"),
        json!({ "method": "phone", "ratings": ratings(5) }),
        StatusCode::OK,
    )
    .await;
    let admin = app.admin_token().await;
    let trail = app
        .get_json(
            &admin,
            &format!(
                "/api/v1/admin/audit?subject={}",
                handled["sheet"]["id"].as_str().unwrap()
            ),
        )
        .await;
    let actions: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["sheet.followed_up", "sheet.handled", "sheet.accepted"]
    );
    assert_eq!(trail[2]["staff_id"], app.staff_id("bsw.csc.01").await);
    assert!(trail[2]["session_id"].is_i64(), "from which device");
    let verified = app.get_json(&admin, "/api/v1/admin/audit/verify").await;
    assert_eq!(verified["problems"], json!([]));
    assert_eq!(verified["entries"], 5);
    let forbidden = app.get(&csc, "/api/v1/admin/audit").await;
    assert_error(forbidden, StatusCode::FORBIDDEN, "forbidden", "admin").await;

    sqlx::query("UPDATE audit_log SET detail = '{}' WHERE action = 'sheet.handled'")
        .execute(app.db.pool())
        .await
        .unwrap();
    let broken = audit::verify(&app.db).await.unwrap();
    assert_eq!(broken.problems.len(), 1, "{:?}", broken.problems);
    assert!(broken.problems[0].contains("altered"));
    sqlx::query("DELETE FROM audit_log WHERE action = 'sheet.accepted'")
        .execute(app.db.pool())
        .await
        .unwrap();
    let broken = audit::verify(&app.db).await.unwrap();
    assert!(
        broken
            .problems
            .iter()
            .any(|p| p.contains("removed or reordered")),
        "{:?}",
        broken.problems
    );
    let newest: i64 = sqlx::query_scalar("SELECT MAX(id) FROM audit_log")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_log WHERE id = $1")
        .bind(newest)
        .execute(app.db.pool())
        .await
        .unwrap();
    let broken = audit::verify(&app.db).await.unwrap();
    assert!(
        broken
            .problems
            .iter()
            .any(|p| p.contains("newest entries were removed")),
        "{:?}",
        broken.problems
    );
}

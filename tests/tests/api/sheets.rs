//! Information sheets over HTTP and the rules that assign their follow-ups (SPEC §2–§3).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error, urlencode};

crate::on_both_backends!(
    r_inf_8_office_accepts_handles_and_follows_up_within_24_hours,
    r_inf_5_r_org_2_major_complaint_goes_to_the_development_director,
    r_inf_5_company_funded_repair_goes_to_the_development_department,
    r_inf_6_marketing_scope_goes_to_the_marketing_department,
    r_inf_7_sales_matter_goes_to_the_customers_consultant,
    r_inf_2_r_org_3_whoever_accepted_follows_up,
    r_inf_8_repair_accepted_at_head_office_goes_to_the_communitys_office,
    d_inf_4_lifecycle_invalid_archive_and_read_only,
    sheets_list_search_and_scope,
    bad_sheet_input_is_refused_and_stores_nothing,
    r_gov_1_admin_changes_rule_settings_with_an_audit_trail,
);

// Date-sensitive: also at a month's last evening, New Year's Eve, February's end and a
// daylight-saving change (helpers::EDGES).
crate::at_every_edge!(r_inf_8_office_accepts_handles_and_follows_up_within_24_hours,);

/// Accepts a sheet about a registry customer and returns it.
pub async fn accept(
    app: &TestApp,
    token: &str,
    customer: &str,
    level: &str,
    category: &str,
) -> Value {
    let customer_id = app.customer_id(customer).await;
    app.post_ok(
        token,
        "/api/v1/sheets",
        json!({ "level": level, "category": category, "source": "phone", "customer_id": customer_id,
                "items": ["客户反映的问题"] }),
        StatusCode::CREATED,
    )
    .await
}

/// Marks a sheet handled and returns `{sheet, follow_up}`.
pub async fn handle(app: &TestApp, token: &str, sheet: &Value) -> Value {
    let path = format!("/api/v1/sheets/{}/handled", sheet["id"].as_str().unwrap());
    app.post_ok(
        token,
        &path,
        json!({ "result": "已处理完毕" }),
        StatusCode::OK,
    )
    .await
}

async fn assert_assigned(
    app: &TestApp,
    handled: &Value,
    unit: &str,
    staff: Option<&str>,
    rule: &str,
) {
    let follow_up = &handled["follow_up"];
    assert_eq!(
        follow_up["assignee_unit_id"],
        app.unit_id(unit).await,
        "unit"
    );
    let expected_staff = match staff {
        Some(username) => json!(app.staff_id(username).await),
        None => Value::Null,
    };
    assert_eq!(follow_up["assignee_staff_id"], expected_staff, "staff");
    assert_eq!(follow_up["rule"], rule);
    assert_eq!(follow_up["kind"], "information");
    assert_eq!(follow_up["status"], "open");
}

async fn notified(app: &TestApp, username: &str) -> Vec<String> {
    let token = app.login(username, PASSWORD).await;
    let list = app.get_json(&token, "/api/v1/notifications").await;
    list.as_array()
        .unwrap()
        .iter()
        .map(|n| n["message"].as_str().unwrap().to_owned())
        .collect()
}

async fn r_inf_8_office_accepts_handles_and_follows_up_within_24_hours(app: TestApp) {
    let csc = app.login("bsw.csc.01", PASSWORD).await;
    let sheet = accept(&app, &csc, "陈志强", "ordinary", "repair").await;
    let number = sheet["number"].as_str().unwrap();
    let year = app.now().format("%Y").to_string();
    assert_eq!(number, format!("HF-{year}-000001"), "D-INF-5 numbering");
    assert_eq!(sheet["status"], "accepted");
    assert_eq!(sheet["customer_name"], "陈志强", "filled from the registry");
    assert_eq!(sheet["contact_phone"], "13800138001");
    assert_eq!(
        sheet["handling_unit_id"],
        app.unit_id("PMO-BSW").await,
        "D-INF-3: repairs route to the office"
    );

    let handled = handle(&app, &csc, &sheet).await;
    assert_eq!(handled["sheet"]["status"], "handled");
    assert_assigned(&app, &handled, "PMO-BSW-CSC", Some("bsw.csc.01"), "R-INF-8").await;
    // R-INF-4: due 24 hours after handling.
    let handled_at =
        chrono::DateTime::parse_from_rfc3339(handled["sheet"]["handled_at"].as_str().unwrap())
            .unwrap();
    let due =
        chrono::DateTime::parse_from_rfc3339(handled["follow_up"]["due_at"].as_str().unwrap())
            .unwrap();
    assert_eq!(due - handled_at, chrono::Duration::hours(24));

    // "Why is this mine?" in words.
    let id = handled["follow_up"]["id"].as_str().unwrap();
    let detail = app.get_json(&csc, &format!("/api/v1/followups/{id}")).await;
    assert_eq!(detail["rule"]["code"], "R-INF-8");
    assert!(
        detail["rule"]["en"]
            .as_str()
            .unwrap()
            .contains("property office")
    );
    assert!(
        detail["rule"]["zh"]
            .as_str()
            .unwrap()
            .contains("物业管理处")
    );
    assert_eq!(detail["assignee_unit_name"], "碧水湾客户服务中心");
    let mine = app.get_json(&csc, "/api/v1/followups").await;
    assert_eq!(mine["total"], 1);

    // R-INF-1: exactly one follow-up per handled sheet; handling twice is a conflict.
    let again = app
        .post(
            &csc,
            &format!("/api/v1/sheets/{}/handled", sheet["id"].as_str().unwrap()),
            json!({ "result": "x" }),
        )
        .await;
    assert_error(again, StatusCode::CONFLICT, "conflict", "already handled").await;
    assert_eq!(app.count("follow_ups").await, 1);
    let shown = app
        .get_json(
            &csc,
            &format!("/api/v1/sheets/{}", sheet["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(shown["follow_ups"].as_array().unwrap().len(), 1);
}

async fn r_inf_5_r_org_2_major_complaint_goes_to_the_development_director(app: TestApp) {
    let csc = app.login("bsw.csc.01", PASSWORD).await;
    let sheet = accept(&app, &csc, "黄建华", "major", "repair").await;
    assert_eq!(sheet["handling_unit_id"], app.unit_id("DEV").await);
    let handled = handle(&app, &csc, &sheet).await;
    assert_assigned(&app, &handled, "DEV", Some("dev.head"), "R-INF-5/major").await;
    let messages = notified(&app, "dev.head").await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains(sheet["number"].as_str().unwrap()));
}

async fn r_inf_5_company_funded_repair_goes_to_the_development_department(app: TestApp) {
    let csc = app.login("bsw.csc.01", PASSWORD).await;
    let sheet = accept(&app, &csc, "黄建华", "ordinary", "company_funded_repair").await;
    let handled = handle(&app, &csc, &sheet).await;
    assert_assigned(&app, &handled, "DEV", None, "R-INF-5/company-funded").await;
    assert_eq!(
        notified(&app, "dev.head").await.len(),
        1,
        "R-ORG-2: the director is told"
    );
    // Anyone of the development department may do a unit-wide follow-up.
    let dev = app.login("dev.01", PASSWORD).await;
    let theirs = app.get_json(&dev, "/api/v1/followups?view=mine").await;
    assert_eq!(theirs["total"], 1);
}

async fn r_inf_6_marketing_scope_goes_to_the_marketing_department(app: TestApp) {
    let csc = app.login("bsw.csc.01", PASSWORD).await;
    let sheet = accept(&app, &csc, "周海燕", "none", "mortgage").await;
    assert_eq!(sheet["handling_unit_id"], app.unit_id("MKT").await);
    let handled = handle(&app, &csc, &sheet).await;
    assert_assigned(&app, &handled, "MKT", None, "R-INF-6").await;
    assert_eq!(notified(&app, "mkt.head").await.len(), 1);

    let marketing = app.login("mkt.head", PASSWORD).await;
    let own = accept(&app, &marketing, "周海燕", "none", "property_certificate").await;
    let handled = handle(&app, &marketing, &own).await;
    assert_assigned(&app, &handled, "MKT", Some("mkt.head"), "R-INF-6").await;
}

async fn r_inf_7_sales_matter_goes_to_the_customers_consultant(app: TestApp) {
    let sales_head = app.login("bsw.sales.head", PASSWORD).await;
    let sheet = accept(&app, &sales_head, "黄建华", "ordinary", "sales_matter").await;
    assert_eq!(sheet["handling_unit_id"], app.unit_id("SALES-BSW").await);
    let handled = handle(&app, &sales_head, &sheet).await;
    assert_assigned(&app, &handled, "SALES-BSW", Some("bsw.gw.01"), "R-INF-7").await;
    // The consultant sees the follow-up and, through it, the sheet.
    let consultant = app.login("bsw.gw.01", PASSWORD).await;
    assert_eq!(
        app.get_json(&consultant, "/api/v1/followups").await["total"],
        1
    );
    app.get_json(
        &consultant,
        &format!("/api/v1/sheets/{}", sheet["id"].as_str().unwrap()),
    )
    .await;
    let other = app.login("bsw.gw.02", PASSWORD).await;
    assert_eq!(app.get_json(&other, "/api/v1/followups").await["total"], 0);
    let hidden = app
        .get(
            &other,
            &format!("/api/v1/sheets/{}", sheet["id"].as_str().unwrap()),
        )
        .await;
    assert_error(
        hidden,
        StatusCode::NOT_FOUND,
        "not_found",
        "outside your scope",
    )
    .await;
}

async fn r_inf_2_r_org_3_whoever_accepted_follows_up(app: TestApp) {
    let dev = app.login("dev.01", PASSWORD).await;
    let sheet = accept(&app, &dev, "王子涵", "ordinary", "other").await;
    let handled = handle(&app, &dev, &sheet).await;
    assert_assigned(&app, &handled, "DEV", Some("dev.01"), "R-INF-2").await;
    let consultant = app.login("bsw.gw.02", PASSWORD).await;
    let own = accept(&app, &consultant, "郑玉兰", "none", "other").await;
    let handled = handle(&app, &consultant, &own).await;
    assert_assigned(&app, &handled, "SALES-BSW", Some("bsw.gw.02"), "R-INF-2").await;
}

async fn r_inf_8_repair_accepted_at_head_office_goes_to_the_communitys_office(app: TestApp) {
    let dev = app.login("dev.01", PASSWORD).await;
    let sheet = accept(&app, &dev, "李思远", "ordinary", "warranty_repair").await;
    let handled = handle(&app, &dev, &sheet).await;
    assert_assigned(&app, &handled, "PMO-BSW", None, "R-INF-8").await;
    assert_eq!(notified(&app, "bsw.office.head").await.len(), 1);
}

async fn d_inf_4_lifecycle_invalid_archive_and_read_only(app: TestApp) {
    let csc = app.login("bsw.csc.01", PASSWORD).await;
    let sheet = accept(&app, &csc, "陈志强", "ordinary", "property_service").await;
    let id = sheet["id"].as_str().unwrap().to_owned();
    let started = app
        .post_ok(
            &csc,
            &format!("/api/v1/sheets/{id}/handling"),
            json!({}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(started["status"], "handling");
    let tracked = app
        .post_ok(
            &csc,
            &format!("/api/v1/sheets/{id}/tracking"),
            json!({ "note": "已联系保洁" }),
            StatusCode::OK,
        )
        .await;
    assert_eq!(tracked["tracking"][0]["note"], "已联系保洁");
    let patched = app
        .client
        .patch(app.url(&format!("/api/v1/sheets/{id}")))
        .bearer_auth(&csc)
        .json(
            &json!({ "investigation": "楼道照明损坏", "items": ["客户反映的问题", "楼道灯不亮"] }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(patched["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        patched["items"][0]["id"], sheet["items"][0]["id"],
        "unchanged items keep their id"
    );

    // Invalid with a reason; an invalid sheet cannot be handled.
    let other = accept(&app, &csc, "林秀英", "none", "other").await;
    let other_id = other["id"].as_str().unwrap();
    let missing = app
        .post(
            &csc,
            &format!("/api/v1/sheets/{other_id}/invalid"),
            json!({ "reason": " " }),
        )
        .await;
    assert_error(
        missing,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "invalid_reason",
    )
    .await;
    let marked = app
        .post_ok(
            &csc,
            &format!("/api/v1/sheets/{other_id}/invalid"),
            json!({ "reason": "重复登记" }),
            StatusCode::OK,
        )
        .await;
    assert_eq!(marked["status"], "invalid");
    let handled = app
        .post(
            &csc,
            &format!("/api/v1/sheets/{other_id}/handled"),
            json!({ "result": "x" }),
        )
        .await;
    assert_error(
        handled,
        StatusCode::CONFLICT,
        "conflict",
        "cannot become handled",
    )
    .await;

    // Handled → followed up (by the follow-up) → archived (by a head): then read-only (R-INF-3).
    let handled = handle(&app, &csc, &patched).await;
    let follow_up = handled["follow_up"]["id"].as_str().unwrap();
    app.post_ok(
        &csc,
        &format!("/api/v1/followups/{follow_up}/outcome"),
        json!({ "method": "phone", "ratings": { "handling": 5, "efficiency": 4, "quality": 5, "attitude": 5, "overall": 5 } }),
        StatusCode::OK,
    )
    .await;
    let early = app
        .post(&csc, &format!("/api/v1/sheets/{id}/archive"), json!({}))
        .await;
    assert_error(early, StatusCode::FORBIDDEN, "forbidden", "unit_head").await;
    let head = app.login("bsw.office.head", PASSWORD).await;
    let archived = app
        .post_ok(
            &head,
            &format!("/api/v1/sheets/{id}/archive"),
            json!({}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(archived["status"], "archived");
    let seq = app.change_seq().await;
    let edit = app
        .client
        .patch(app.url(&format!("/api/v1/sheets/{id}")))
        .bearer_auth(&csc)
        .json(&json!({ "result": "改写结果" }))
        .send()
        .await
        .unwrap();
    assert_error(
        edit,
        StatusCode::FORBIDDEN,
        "forbidden",
        "can no longer change",
    )
    .await;
    assert_eq!(app.change_seq().await, seq, "a refused edit stores nothing");
}

async fn sheets_list_search_and_scope(app: TestApp) {
    let csc = app.login("bsw.csc.01", PASSWORD).await;
    let first = accept(&app, &csc, "陈志强", "ordinary", "repair").await;
    accept(&app, &csc, "黄建华", "significant", "property_service").await;
    let dev = app.login("dev.01", PASSWORD).await;
    accept(&app, &dev, "王子涵", "none", "other").await;

    let all = app
        .get_json(&app.admin_token().await, "/api/v1/sheets")
        .await;
    assert_eq!(all["total"], 3);
    for sheet in all["items"].as_array().unwrap() {
        let phone = sheet["contact_phone"].as_str().unwrap();
        assert!(
            phone.contains("****"),
            "administrators see masked phones: {phone}"
        );
    }
    let own = app
        .get_json(
            &csc,
            &format!("/api/v1/sheets/{}", first["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(
        own["sheet"]["contact_phone"], "13800138001",
        "the office calls the customer"
    );
    let by_number = app
        .get_json(
            &dev,
            &format!(
                "/api/v1/sheets?number={}",
                first["number"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(
        by_number["total"], 1,
        "the development department sees every sheet"
    );
    let by_level = app.get_json(&dev, "/api/v1/sheets?level=significant").await;
    assert_eq!(by_level["items"][0]["customer_name"], "黄建华");
    let by_text = app
        .get_json(&dev, &format!("/api/v1/sheets?q={}", urlencode("王子")))
        .await;
    assert_eq!(by_text["total"], 1);
    let today = app
        .now()
        .with_timezone(&chrono_tz_shanghai())
        .format("%Y-%m-%d")
        .to_string();
    let by_date = app
        .get_json(
            &dev,
            &format!("/api/v1/sheets?from={today}&category=repair"),
        )
        .await;
    assert_eq!(by_date["total"], 1);
    let future = app.get_json(&dev, "/api/v1/sheets?from=2999-01-01").await;
    assert_eq!(future["total"], 0);

    // An office's staff see their office's sheets, not head office's own.
    let csc_view = app.get_json(&csc, "/api/v1/sheets").await;
    assert_eq!(csc_view["total"], 2);
    let consultant = app.login("bsw.gw.01", PASSWORD).await;
    assert_eq!(
        app.get_json(&consultant, "/api/v1/sheets").await["total"],
        0
    );
    let bad = app.get(&dev, "/api/v1/sheets?from=yesterday").await;
    assert_error(
        bad,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "from",
    )
    .await;
}

fn chrono_tz_shanghai() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).unwrap()
}

async fn bad_sheet_input_is_refused_and_stores_nothing(app: TestApp) {
    let csc = app.login("bsw.csc.01", PASSWORD).await;
    let seq = app.change_seq().await;
    let cases = [
        (
            json!({ "level": "ordinary", "category": "spaceship", "source": "phone", "customer_name": "A", "contact_phone": "13800000000", "items": ["x"] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown SheetCategory",
        ),
        (
            json!({ "level": "ordinary", "category": "repair", "source": "phone", "customer_name": "A", "contact_phone": "123", "items": ["x"] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "contact_phone",
        ),
        (
            json!({ "level": "ordinary", "category": "repair", "source": "phone", "customer_name": "A", "contact_phone": "13800000000", "items": [] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "at least one item",
        ),
        (
            json!({ "level": "ordinary", "category": "repair", "source": "phone", "customer_id": 999999, "items": ["x"] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "customer 999999",
        ),
        (
            json!({ "level": "ordinary", "category": "repair", "source": "phone", "customer_name": "A", "contact_phone": "13800000000", "items": ["x"], "accepted_at": "2999-01-01T00:00:00Z" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "in the future",
        ),
        (
            json!({ "level": "ordinary", "category": "repair", "source": "phone", "customer_name": "A", "contact_phone": "13800000000", "items": ["x"], "id": "not-hex" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "32 lowercase hex",
        ),
    ];
    for (body, status, needle) in cases {
        let response = app.post(&csc, "/api/v1/sheets", body).await;
        let code = if status == StatusCode::UNPROCESSABLE_ENTITY {
            "invalid_input"
        } else {
            "bad_request"
        };
        assert_error(response, status, code, needle).await;
    }
    // Staff without a unit cannot accept.
    let gm = app.login("gm", PASSWORD).await;
    let response = app
        .post(&gm, "/api/v1/sheets", json!({ "level": "none", "category": "other", "source": "phone", "customer_name": "A", "contact_phone": "13800000000", "items": ["x"] }))
        .await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden", "needs a unit").await;
    // Someone who neither accepted nor handles a sheet in scope may not edit it.
    let sheet = accept(&app, &csc, "陈志强", "ordinary", "other").await;
    let seq_after_accept = app.change_seq().await;
    let head = app.login("bsw.eng.head", PASSWORD).await;
    let response = app
        .client
        .patch(app.url(&format!("/api/v1/sheets/{}", sheet["id"].as_str().unwrap())))
        .bearer_auth(&head)
        .json(&json!({ "result": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "outside the engineering department's scope"
    );
    let unknown = app
        .get(&csc, "/api/v1/sheets/0123456789abcdef0123456789abcdef")
        .await;
    assert_error(
        unknown,
        StatusCode::NOT_FOUND,
        "not_found",
        "does not exist",
    )
    .await;
    assert_eq!(
        seq_after_accept,
        seq + 1,
        "only the one good sheet was stored"
    );
    assert_eq!(app.change_seq().await, seq_after_accept);
    assert_eq!(app.count("sheets").await, 1);

    // A retried accept with the same client id returns the first sheet, 200, nothing new.
    let body = json!({ "id": "abcdefabcdefabcdefabcdefabcdef01", "level": "none", "category": "other", "source": "phone",
                       "customer_name": "重试客户", "contact_phone": "13800000000", "items": ["x"] });
    let first = app
        .post_ok(&csc, "/api/v1/sheets", body.clone(), StatusCode::CREATED)
        .await;
    let again = app
        .post_ok(&csc, "/api/v1/sheets", body, StatusCode::OK)
        .await;
    assert_eq!(first, again);
    assert_eq!(app.count("sheets").await, 2);
}

async fn r_gov_1_admin_changes_rule_settings_with_an_audit_trail(app: TestApp) {
    let admin = app.admin_token().await;
    let csc = app.login("bsw.csc.01", PASSWORD).await;
    let mut settings = app.get_json(&admin, "/api/v1/admin/rules").await;
    assert_eq!(settings["follow_up_hours"], 24);
    settings["follow_up_hours"] = json!(48);
    settings["number_prefix"] = json!("BSW");
    let put = |token: &str, body: Value| {
        app.client
            .put(app.url("/api/v1/admin/rules"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    assert_eq!(
        put(&csc, settings.clone()).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let mut bad = settings.clone();
    bad["follow_up_hours"] = json!(0);
    assert_error(
        put(&admin, bad).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "follow_up_hours",
    )
    .await;
    assert_eq!(
        put(&admin, settings).await.unwrap().status(),
        StatusCode::OK
    );

    let sheet = accept(&app, &csc, "陈志强", "ordinary", "repair").await;
    assert!(sheet["number"].as_str().unwrap().starts_with("BSW-"));
    let handled = handle(&app, &csc, &sheet).await;
    let handled_at =
        chrono::DateTime::parse_from_rfc3339(handled["sheet"]["handled_at"].as_str().unwrap())
            .unwrap();
    let due =
        chrono::DateTime::parse_from_rfc3339(handled["follow_up"]["due_at"].as_str().unwrap())
            .unwrap();
    assert_eq!(due - handled_at, chrono::Duration::hours(48));

    let trail = app
        .get_json(&admin, "/api/v1/admin/audit?subject=rule_settings")
        .await;
    assert_eq!(trail[0]["action"], "rules.changed");
    let detail: Value = serde_json::from_str(trail[0]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["before"]["follow_up_hours"], 24);
    assert_eq!(detail["after"]["follow_up_hours"], 48);
}

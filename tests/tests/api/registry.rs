//! The registry: lists with pagination and filters, and what each role may see (SPEC §1).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error, urlencode};

crate::on_both_backends!(
    households_page_and_filter,
    r_org_scope_each_role_sees_its_own,
    customer_phones_are_masked_for_roles_that_do_not_call_customers,
    units_communities_and_buildings_describe_the_organisation,
    admin_creates_staff_who_can_then_sign_in,
    reads_stay_within_what_each_role_is_documented_to_see,
);

fn rooms(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            format!(
                "{}{}",
                h["building_name"].as_str().unwrap(),
                h["room"].as_str().unwrap()
            )
        })
        .collect()
}

async fn households_page_and_filter(app: TestApp) {
    let token = app.login("dev.head", PASSWORD).await;
    let first = app.get_json(&token, "/api/v1/households?limit=4").await;
    assert_eq!(first["total"], 9);
    assert_eq!(first["limit"], 4);
    assert_eq!(rooms(&first), ["1栋101", "1栋102", "1栋201", "1栋202"]);
    let third = app
        .get_json(&token, "/api/v1/households?limit=4&offset=8")
        .await;
    assert_eq!(rooms(&third), ["3栋102"]);

    // Two owners of one flat are one household with two customers.
    let flat = &first["items"][0];
    let names: Vec<&str> = flat["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["陈志强", "林秀英"]);
    assert_eq!(flat["community_name"], "碧水湾");

    let buildings = app
        .get_json(
            &token,
            &format!("/api/v1/communities/{}/buildings", flat["community_id"]),
        )
        .await;
    let second_building = buildings
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "2栋")
        .unwrap();
    assert_eq!(second_building["household_count"], 3);
    let in_building = app
        .get_json(
            &token,
            &format!("/api/v1/households?building_id={}", second_building["id"]),
        )
        .await;
    assert_eq!(rooms(&in_building), ["2栋101", "2栋102", "2栋201"]);

    for (q, expected) in [
        ("周海燕", vec!["1栋201"]),
        ("87654321", vec!["1栋202"]),
        ("东门", vec!["2栋201"]),
        ("%", vec![]),
    ] {
        let found = app
            .get_json(&token, &format!("/api/v1/households?q={}", urlencode(q)))
            .await;
        assert_eq!(rooms(&found), expected, "search {q}");
    }

    let consultant_id = staff_id(&app, &app.admin_token().await, "bsw.gw.02").await;
    let owned = app
        .get_json(
            &token,
            &format!("/api/v1/households?consultant_id={consultant_id}"),
        )
        .await;
    assert_eq!(rooms(&owned), ["2栋101", "3栋101"]);
    let customer = owned["items"][0]["customers"][0].clone();
    assert_eq!(customer["consultant_id"], consultant_id);

    for bad in ["limit=0", "limit=501"] {
        let response = app.get(&token, &format!("/api/v1/households?{bad}")).await;
        assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "limit",
        )
        .await;
    }
    let response = app.get(&token, "/api/v1/households?limit=-1").await;
    assert_error(response, StatusCode::BAD_REQUEST, "bad_request", "limit").await;
    let response = app.get(&token, "/api/v1/households?colour=red").await;
    assert_error(response, StatusCode::BAD_REQUEST, "bad_request", "colour").await;
    let response = app.get(&token, "/api/v1/households/999999").await;
    assert_error(
        response,
        StatusCode::NOT_FOUND,
        "not_found",
        "household 999999",
    )
    .await;
}

async fn staff_id(app: &TestApp, admin_or_head: &str, username: &str) -> i64 {
    let page = app
        .get_json(admin_or_head, &format!("/api/v1/staff?q={username}"))
        .await;
    page["items"][0]["id"].as_i64().unwrap()
}

async fn household_count(app: &TestApp, token: &str) -> i64 {
    app.get_json(token, "/api/v1/households").await["total"]
        .as_i64()
        .unwrap()
}

async fn staff_usernames(app: &TestApp, token: &str) -> Vec<String> {
    let page = app.get_json(token, "/api/v1/staff?limit=500").await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["username"].as_str().unwrap().to_owned())
        .collect()
}

/// R-ORG-1 (the general manager sees everything), R-ORG-2/3 (heads and staff work within their
/// unit), R-RTN-1 (a consultant has their own customers).
async fn r_org_scope_each_role_sees_its_own(app: TestApp) {
    let gm = app.login("gm", PASSWORD).await;
    let dev_staff = app.login("dev.01", PASSWORD).await;
    let csc = app.login("bsw.csc.01", PASSWORD).await;
    let office_head = app.login("bsw.office.head", PASSWORD).await;
    let consultant = app.login("bsw.gw.01", PASSWORD).await;

    assert_eq!(household_count(&app, &gm).await, 9);
    assert_eq!(
        household_count(&app, &dev_staff).await,
        9,
        "development department works company-wide"
    );
    assert_eq!(
        household_count(&app, &csc).await,
        9,
        "the service center sees its office's community"
    );
    let mine = app.get_json(&consultant, "/api/v1/households").await;
    assert_eq!(
        rooms(&mine),
        ["1栋102", "1栋201"],
        "a consultant sees only their own customers"
    );

    // A household outside the consultant's scope does not exist for them.
    let everyone = app.get_json(&gm, "/api/v1/households?limit=500").await;
    let other = everyone["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["room"] == "101")
        .unwrap();
    let response = app
        .get(&consultant, &format!("/api/v1/households/{}", other["id"]))
        .await;
    assert_error(
        response,
        StatusCode::NOT_FOUND,
        "not_found",
        "outside your scope",
    )
    .await;
    let own = mine["items"][0]["id"].as_i64().unwrap();
    app.get_json(&consultant, &format!("/api/v1/households/{own}"))
        .await;

    assert_eq!(staff_usernames(&app, &gm).await.len(), 11);
    assert_eq!(
        staff_usernames(&app, &office_head).await,
        ["bsw.csc.01", "bsw.eng.head", "bsw.office.head"],
        "an office director sees the office and its departments"
    );
    assert_eq!(
        staff_usernames(&app, &csc).await,
        ["bsw.csc.01"],
        "staff see themselves"
    );
    let gm_id = staff_id(&app, &gm, "gm").await;
    let response = app.get(&csc, &format!("/api/v1/staff/{gm_id}")).await;
    assert_error(
        response,
        StatusCode::NOT_FOUND,
        "not_found",
        "outside your scope",
    )
    .await;

    // Only administrators import and create accounts.
    for token in [&gm, &office_head, &csc, &consultant] {
        let response = app
            .client
            .post(app.url("/api/v1/import/households"))
            .bearer_auth(token)
            .body("community,building,room,customer,phone\nX,1,101,Y,13812341234\n")
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::FORBIDDEN, "forbidden", "admin").await;
    }
    assert_eq!(
        app.count("households").await,
        9,
        "refused imports changed nothing"
    );
}

async fn customer_phones_are_masked_for_roles_that_do_not_call_customers(app: TestApp) {
    let gm = app.login("gm", PASSWORD).await;
    let csc = app.login("bsw.csc.01", PASSWORD).await;
    let first = |page: Value| {
        page["items"][0]["customers"][0]["phone"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        first(app.get_json(&gm, "/api/v1/households").await),
        "138****8001"
    );
    assert_eq!(
        first(app.get_json(&csc, "/api/v1/households").await),
        "13800138001"
    );
    let landline = app
        .get_json(
            &gm,
            &format!("/api/v1/households?q={}", urlencode("吴文博")),
        )
        .await;
    assert_eq!(first(landline), "020-****4321");
}

async fn units_communities_and_buildings_describe_the_organisation(app: TestApp) {
    let token = app.login("bsw.gw.01", PASSWORD).await;
    let units = app.get_json(&token, "/api/v1/units").await;
    let codes: Vec<&str> = units
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "DEV",
            "MKT",
            "PMO-BSW",
            "PMO-BSW-CSC",
            "PMO-BSW-ENG",
            "PMO-BSW-SEC",
            "SALES-BSW"
        ]
    );
    let office = units
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["code"] == "PMO-BSW")
        .unwrap();
    let departments = app
        .get_json(&token, &format!("/api/v1/units?parent_id={}", office["id"]))
        .await;
    assert_eq!(departments.as_array().unwrap().len(), 3);
    assert!(
        departments
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["community_id"] == office["community_id"]),
        "office departments serve the office's community"
    );
    let centers = app
        .get_json(&token, "/api/v1/units?kind=customer_service_center")
        .await;
    assert_eq!(centers[0]["code"], "PMO-BSW-CSC");
    let response = app.get(&token, "/api/v1/units?kind=canteen").await;
    assert_error(
        response,
        StatusCode::BAD_REQUEST,
        "bad_request",
        "unknown UnitKind",
    )
    .await;

    let communities = app.get_json(&token, "/api/v1/communities").await;
    assert_eq!(communities.as_array().unwrap().len(), 1);
    assert_eq!(communities[0]["name"], "碧水湾");
    assert_eq!(communities[0]["address"], "广州市天河区碧水路1号");
    assert_eq!(communities[0]["building_count"], 3);
    assert_eq!(communities[0]["household_count"], 9);
    let one = app
        .get_json(
            &token,
            &format!("/api/v1/communities/{}", communities[0]["id"]),
        )
        .await;
    assert_eq!(one, communities[0]);
    let response = app
        .get(&token, "/api/v1/communities/424242/buildings")
        .await;
    assert_error(
        response,
        StatusCode::NOT_FOUND,
        "not_found",
        "community 424242",
    )
    .await;
}

async fn admin_creates_staff_who_can_then_sign_in(app: TestApp) {
    let admin = app.admin_token().await;
    let units = app
        .get_json(&admin, "/api/v1/units?kind=office_department")
        .await;
    let unit_id = units[0]["id"].as_i64().unwrap();
    let create = |body: Value| {
        app.client
            .post(app.url("/api/v1/staff"))
            .bearer_auth(&admin)
            .json(&body)
            .send()
    };
    let response = create(json!({
        "username": "New.Hire", "name": "新员工", "role": "staff", "unit_id": unit_id,
        "phone": "139-0000-1111", "password": "first-password"
    }))
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["username"], "new.hire");
    assert_eq!(created["phone"], "13900001111");
    app.login("new.hire", "first-password").await;

    let before = app.registry_counts().await;
    let duplicate = create(json!({
        "username": "new.hire", "name": "x", "role": "staff", "unit_id": unit_id, "password": "first-password"
    }))
    .await
    .unwrap();
    assert_error(duplicate, StatusCode::CONFLICT, "conflict", "taken").await;
    let no_unit = create(json!({ "username": "x1", "name": "x", "role": "consultant", "password": "first-password" }))
        .await
        .unwrap();
    assert_error(
        no_unit,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "must belong to a unit",
    )
    .await;
    let bad_unit = create(json!({
        "username": "x2", "name": "x", "role": "staff", "unit_id": 9999, "password": "first-password"
    }))
    .await
    .unwrap();
    assert_error(
        bad_unit,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "unit 9999",
    )
    .await;
    let bad_role = create(
        json!({ "username": "x3", "name": "x", "role": "boss", "password": "first-password" }),
    )
    .await
    .unwrap();
    assert_error(
        bad_role,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "unknown Role",
    )
    .await;
    let bad_phone = create(json!({
        "username": "x4", "name": "x", "role": "admin", "phone": "12345", "password": "first-password"
    }))
    .await
    .unwrap();
    assert_error(
        bad_phone,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "phone",
    )
    .await;
    assert_eq!(
        app.registry_counts().await,
        before,
        "refused requests changed nothing"
    );
}

/// The attack run's wide reads (issue #14, item 6).
async fn reads_stay_within_what_each_role_is_documented_to_see(app: TestApp) {
    let csc = app.login("bsw.csc.01", PASSWORD).await;
    let sales = app.login("bsw.sales.head", PASSWORD).await;
    // A follow-up for a customer of consultant 02, and one of consultant 01.
    for (customer, who) in [("黄建华", "bsw.gw.01"), ("周海燕", "bsw.gw.01")] {
        let sheet = crate::sheets::accept(&app, &sales, customer, "ordinary", "sales_matter").await;
        crate::sheets::handle(&app, &sales, &sheet).await;
        let _ = who;
    }
    let other = app.login("bsw.gw.02", PASSWORD).await;
    let own = app.login("bsw.gw.01", PASSWORD).await;
    for view in ["mine", "unit"] {
        let listed = app
            .get_json(&other, &format!("/api/v1/followups?view={view}"))
            .await;
        assert_eq!(
            listed["total"], 0,
            "a consultant sees none of another consultant's customers ({view}): {listed}"
        );
    }
    let mine = app.get_json(&own, "/api/v1/followups?view=unit").await;
    assert_eq!(mine["total"], 2, "{mine}");
    let id = mine["items"][0]["id"].as_str().unwrap();
    assert_eq!(
        app.get(&other, &format!("/api/v1/followups/{id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // Whoever sees phones masked cannot find customers by their numbers, nor read them by sync.
    let gm = app.login("gm", PASSWORD).await;
    let admin = app.admin_token().await;
    for token in [&gm, &admin] {
        let found = app.get_json(token, "/api/v1/households?q=138001").await;
        assert_eq!(found["total"], 0, "{found}");
        let sheets = app.get_json(token, "/api/v1/sheets?q=138001").await;
        assert_eq!(sheets["total"], 0, "{sheets}");
        let by_name = app
            .get_json(
                token,
                &format!(
                    "/api/v1/households?q={}",
                    crate::helpers::urlencode("陈志强")
                ),
            )
            .await;
        assert_eq!(by_name["total"], 1, "names are still found");
        let request = huifang_protocol::SyncRequest {
            version: huifang_protocol::SYNC_VERSION,
            cursor: 0,
            changes: vec![],
            page_size: 500,
            reference_version: None,
            scope_version: None,
            device: None,
        };
        let answer = crate::sync::sync_answer(&app, token, &request).await;
        assert!(answer.documents.is_empty(), "no documents with full phones");
        let reference = answer.reference.unwrap();
        assert!(
            reference
                .households
                .iter()
                .flat_map(|h| &h.customers)
                .all(|c| c.phone.contains("****")),
            "reference rows are masked"
        );
    }
    let found = app.get_json(&csc, "/api/v1/households?q=138001").await;
    assert!(
        found["total"].as_i64().unwrap() >= 1,
        "staff who call customers search by phone"
    );
}

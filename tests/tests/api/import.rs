//! CSV imports over HTTP: UTF-8 and GBK, all-or-nothing, idempotent.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, assert_error, example, urlencode};

crate::on_both_backends!(
    example_files_reimport_without_changes,
    gbk_file_imports_and_updates_by_natural_key,
    a_file_with_a_bad_row_imports_nothing_and_lists_every_bad_row,
    dry_run_counts_without_writing,
);

async fn post_import(app: &TestApp, token: &str, kind: &str, body: Vec<u8>) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/import/{kind}")))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn report(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn example_files_reimport_without_changes(app: TestApp) {
    let admin = app.admin_token().await;
    let before = app.registry_counts().await;
    for (kind, rows) in [("units", 7), ("staff", 10), ("households", 10)] {
        let bytes = std::fs::read(example(&format!("{kind}.csv"))).unwrap();
        let report = report(post_import(&app, &admin, kind, bytes).await).await;
        assert_eq!(report["rows"], rows, "{kind}");
        assert_eq!(
            report["unchanged"], rows,
            "re-importing {kind} changes nothing: {report}"
        );
    }
    assert_eq!(app.registry_counts().await, before);
    let updated_at: Vec<String> =
        sqlx::query_scalar("SELECT updated_at FROM customers WHERE updated_at <> created_at")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    assert!(updated_at.is_empty(), "no customer row was rewritten");
}

async fn gbk_file_imports_and_updates_by_natural_key(app: TestApp) {
    let admin = app.admin_token().await;
    let text = "小区,楼栋,房号,客户姓名,联系电话,置业顾问\n\
                碧水湾,5栋,1201,欧阳明,18600001111,bsw.gw.01\n\
                碧水湾,5栋,1202,司马静,0755-12345678,\n";
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&gbk).is_err(),
        "the body really is GBK, not UTF-8"
    );
    let first = report(post_import(&app, &admin, "households", gbk.into_owned()).await).await;
    assert_eq!(
        (first["created"].as_i64(), first["updated"].as_i64()),
        (Some(2), Some(0))
    );
    let found = app
        .get_json(
            &admin,
            &format!("/api/v1/households?q={}", urlencode("欧阳")),
        )
        .await;
    assert_eq!(found["items"][0]["building_name"], "5栋");
    assert_eq!(found["items"][0]["customers"][0]["name"], "欧阳明");

    // Same natural key, new phone: one update, no new rows.
    let changed = "community,building,room,customer,phone\n碧水湾,5栋,1201,欧阳明,18600002222\n";
    let households = app.count("households").await;
    let second =
        report(post_import(&app, &admin, "households", changed.as_bytes().to_vec()).await).await;
    assert_eq!(
        (second["created"].as_i64(), second["updated"].as_i64()),
        (Some(0), Some(1))
    );
    assert_eq!(app.count("households").await, households);
    let phone: String = sqlx::query_scalar("SELECT phone FROM customers WHERE name = '欧阳明'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(phone, "18600002222");
}

async fn a_file_with_a_bad_row_imports_nothing_and_lists_every_bad_row(app: TestApp) {
    let admin = app.admin_token().await;
    let before = app.registry_counts().await;
    let text = "community,building,room,customer,phone,consultant\n\
                碧水湾,6栋,101,好客户,13812340000,\n\
                碧水湾,6栋,102,,13812340001,\n\
                碧水湾,6栋,103,坏电话,1381234,\n\
                碧水湾,6栋,104,无顾问,13812340003,nobody\n\
                碧水湾,6栋,105,非顾问,13812340004,bsw.csc.01\n";
    let response = post_import(&app, &admin, "households", text.as_bytes().to_vec()).await;
    let body = assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "nothing was imported",
    )
    .await;
    let details: Vec<&str> = body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(details.len(), 2, "{details:?}");
    assert!(
        details[0].starts_with("line 3: customer is empty"),
        "{details:?}"
    );
    assert!(
        details[1].starts_with("line 4: phone number must be"),
        "{details:?}"
    );
    assert_eq!(app.registry_counts().await, before);

    // With the row errors fixed, the references are checked next, still before any write.
    let text = text
        .replace(",,13812340001", ",修好了,13812340001")
        .replace("1381234,", "13812340002,");
    let response = post_import(&app, &admin, "households", text.into_bytes()).await;
    let body = assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "nothing was imported",
    )
    .await;
    assert_eq!(
        body["details"],
        serde_json::json!([
            "line 5: consultant \"nobody\" does not exist; import staff first",
            "line 6: staff \"bsw.csc.01\" is not a property consultant"
        ])
    );
    assert_eq!(app.registry_counts().await, before);

    let response = post_import(
        &app,
        &admin,
        "households",
        vec![0xff, 0xfe, 0x81, 0x00, 0x81],
    )
    .await;
    assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "neither UTF-8 nor GBK",
    )
    .await;
    let response = post_import(&app, &admin, "households", Vec::new()).await;
    assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "empty",
    )
    .await;
    let response = post_import(&app, &admin, "furniture", b"a,b\n".to_vec()).await;
    assert_error(
        response,
        StatusCode::NOT_FOUND,
        "not_found",
        "unknown import",
    )
    .await;
    assert_eq!(app.registry_counts().await, before);
}

async fn dry_run_counts_without_writing(app: TestApp) {
    let admin = app.admin_token().await;
    let before = app.registry_counts().await;
    let text = "community,building,room,customer,phone\n新小区,1栋,101,新客户,13812349999\n";
    let response = app
        .client
        .post(app.url("/api/v1/import/households?dry_run=true"))
        .bearer_auth(&admin)
        .body(text)
        .send()
        .await
        .unwrap();
    let report = report(response).await;
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["created"], 1);
    assert_eq!(app.registry_counts().await, before);
}

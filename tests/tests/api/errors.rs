//! Bad input gets a clear JSON error and changes nothing.

use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestApp, assert_error};

crate::on_both_backends!(
    malformed_oversized_and_misrouted_requests_get_clear_errors,
    nul_characters_huge_offsets_and_time_outs_get_json_4xx_and_store_nothing,
    a_revoked_session_closes_its_live_channel,
);

async fn malformed_oversized_and_misrouted_requests_get_clear_errors(app: TestApp) {
    let admin = app.admin_token().await;
    let before = app.registry_counts().await;
    let post = |path: &str, content_type: &str, body: Vec<u8>| {
        app.client
            .post(app.url(path))
            .bearer_auth(&admin)
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    let response = post(
        "/api/v1/staff",
        "application/json",
        b"{\"username\": ".to_vec(),
    )
    .await
    .unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "bad_request", "").await;
    let response = post(
        "/api/v1/auth/login",
        "application/json",
        b"[1,2,3]".to_vec(),
    )
    .await
    .unwrap();
    assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "",
    )
    .await;
    let response = post(
        "/api/v1/staff",
        "application/json",
        br#"{"username":"a","surprise":1}"#.to_vec(),
    )
    .await
    .unwrap();
    assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "surprise",
    )
    .await;
    let response = post("/api/v1/staff", "text/plain", b"{}".to_vec())
        .await
        .unwrap();
    assert_error(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "application/json",
    )
    .await;

    let mut huge = b"{\"username\":\"".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 2 * 1024 * 1024));
    huge.extend(b"\"}");
    let response = post("/api/v1/staff", "application/json", huge)
        .await
        .unwrap();
    assert_error(
        response,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "limit",
    )
    .await;
    let huge_csv = vec![b'a'; 33 * 1024 * 1024];
    let response = post("/api/v1/import/households", "text/csv", huge_csv)
        .await
        .unwrap();
    assert_error(
        response,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "limit",
    )
    .await;

    let response = app.get(&admin, "/api/v1/no-such-thing").await;
    assert_error(
        response,
        StatusCode::NOT_FOUND,
        "not_found",
        "/api/v1/no-such-thing",
    )
    .await;
    let response = app.get(&admin, "/api/v1/households/not-a-number").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = app
        .client
        .delete(app.url("/api/v1/households"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_error(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "DELETE",
    )
    .await;

    // An over-long password is refused before any hashing, like any wrong password.
    let response = app.login_response("gm", &"x".repeat(10_000)).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized", "wrong").await;
    app.login("gm", PASSWORD).await;

    assert_eq!(
        app.registry_counts().await,
        before,
        "no bad request changed anything"
    );
}

/// Findings of the attack run (issue #14, item 8): each answered with a 4xx JSON error, nothing
/// stored, on both databases.
async fn nul_characters_huge_offsets_and_time_outs_get_json_4xx_and_store_nothing(app: TestApp) {
    let csc = app.login("bsw.csc.01", PASSWORD).await;
    let seq = app.change_seq().await;
    let before = app.registry_counts().await;
    // NUL in the unauthenticated sign-in, in a document field, in a search.
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "bsw.csc.01\u{0}", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "NUL",
    )
    .await;
    let response = app
        .post(
            &csc,
            "/api/v1/sheets",
            serde_json::json!({"level": "none", "category": "other", "source": "phone",
                "customer_name": "陈\u{0}志强", "contact_phone": "13800138001", "items": ["x"]}),
        )
        .await;
    assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "NUL",
    )
    .await;
    for path in [
        "/api/v1/households?q=%00",
        "/api/v1/sheets?q=a%00b",
        "/api/v1/staff?q=%00",
    ] {
        let response = app.get(&csc, path).await;
        assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "NUL",
        )
        .await;
    }
    // Offsets past what a list can hold.
    let head = app.login("bsw.office.head", PASSWORD).await;
    let month = huifang_core::plans::Month::of(app.now(), app.config.time_zone);
    for list in [
        "/api/v1/households",
        "/api/v1/staff",
        "/api/v1/sheets",
        "/api/v1/followups",
        &format!("/api/v1/plans/{month}/households"),
    ] {
        let response = app
            .get(&head, &format!("{list}?offset=9223372036854775808"))
            .await;
        assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "offset",
        )
        .await;
        let response = app
            .get(&head, &format!("{list}?offset=99999999999999999999999"))
            .await;
        assert_error(response, StatusCode::BAD_REQUEST, "bad_request", "offset").await;
    }
    // A request that runs out of time gets the JSON error shape.
    let mut config = app.config.clone();
    config.request_timeout = std::time::Duration::from_millis(1);
    let slow =
        huifang_server::Application::build(config, app.db.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
    let base = format!("http://{}", slow.local_addr().unwrap());
    tokio::spawn(slow.run_until_stopped(std::future::pending()));
    let response = app
        .client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "bsw.csc.01", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::REQUEST_TIMEOUT, "timeout", "too long").await;
    assert_eq!(app.change_seq().await, seq, "nothing stored");
    assert_eq!(app.registry_counts().await, before);
}

async fn a_revoked_session_closes_its_live_channel(app: TestApp) {
    let token = app.login("bsw.csc.01", PASSWORD).await;
    let session = app.get_json(&token, "/api/v1/auth/me").await["session_id"]
        .as_i64()
        .unwrap();
    let mut events = app
        .client
        .get(app.url("/api/v1/sync/events"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/auth/sessions/{session}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    // The stream ends (the server checks its session every 2 s); keep-alives may come first.
    let ended = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(_chunk) = events.chunk().await.unwrap_or(None) {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the live channel of a revoked session closes"
    );
}

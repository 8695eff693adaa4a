//! Bad input gets a clear JSON error and changes nothing.

use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestApp, assert_error};

crate::on_both_backends!(malformed_oversized_and_misrouted_requests_get_clear_errors);

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

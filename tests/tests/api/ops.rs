//! Health, readiness and metrics: what an operator's monitoring calls.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;

crate::on_both_backends!(health_readiness_and_metrics_answer);

async fn health_readiness_and_metrics_answer(app: TestApp) {
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ready");

    let token = app.admin_token().await;
    app.get_json(&token, "/api/v1/households/1").await;

    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    let text = metrics.text().await.unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("http_requests_total")
            && l.contains("route=\"/api/v1/households/{id}\"")
            && l.contains("status=\"200\"")),
        "request counter by route template missing:\n{text}"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "latency histogram missing:\n{text}"
    );

    // Readiness follows the database: closed pool, not ready.
    app.db.close().await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
}

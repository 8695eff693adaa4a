//! Analysis reports and improvement measures (R-STA-3) over HTTP on both databases.

use huifang_core::plans::Month;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error};
use crate::sheets::accept;

crate::on_both_backends!(r_sta_3_analysis_reports_keep_their_figures_and_follow_up_their_measures);

async fn r_sta_3_analysis_reports_keep_their_figures_and_follow_up_their_measures(app: TestApp) {
    let month = Month::of(app.now(), app.config.time_zone);
    let last = month.previous();
    let head = app.login("bsw.office.head", PASSWORD).await;
    let csc = app.login("bsw.csc.01", PASSWORD).await;
    let dev = app.login("dev.head", PASSWORD).await;
    let csc_id = app.staff_id("bsw.csc.01").await;
    let engineer = app.staff_id("bsw.eng.head").await;
    accept(&app, &csc, "陈志强", "ordinary", "repair").await;

    // The first report: the office's figures of the period are kept with it.
    let first = app
        .post_ok(
            &head,
            "/api/v1/reports/analyses",
            json!({
                "from": last, "to": month,
                "title": "近两月例行回访分析",
                "findings": "维修类信息偏多，回访及时率有待提高。",
                "measures": [
                    { "description": "维修完成当日电话回访", "owner_id": csc_id, "due_on": "2026-12-31" },
                    { "description": "工程部每周复核维修质量", "owner_id": engineer },
                ],
            }),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(first["unit_name"], "碧水湾物业管理处");
    assert_eq!(first["author_name"], "王主任");
    let figures = app
        .get_json(
            &head,
            &format!("/api/v1/reports/figures?from={last}&to={month}&by=month"),
        )
        .await;
    assert_eq!(
        first["figures"], figures,
        "the snapshot is the unit's figures"
    );
    assert_eq!(first["figures"]["groups"][0]["sheets_accepted"], 1);
    let ids: Vec<i64> = first["measures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert!(
        first["measures"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["status"] == "planned")
    );

    // The next report must say where every open measure stands; until it does, nothing is kept.
    let reports = || app.count("analysis_reports");
    let forgetful = app
        .post(
            &head,
            "/api/v1/reports/analyses",
            json!({ "from": month, "to": month, "title": "本月分析", "findings": "平稳" }),
        )
        .await;
    let body = assert_error(
        forgetful,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        &format!("open measures {}, {}", ids[0], ids[1]),
    )
    .await;
    assert!(body["details"].as_array().unwrap().len() == 1, "{body}");
    assert_eq!(reports().await, 1);

    // Another unit's measure, an owner outside the unit: refused, nothing kept.
    let marketing = app.login("mkt.head", PASSWORD).await;
    let foreign = app
        .post(
            &marketing,
            "/api/v1/reports/analyses",
            json!({ "from": month, "to": month, "title": "营销部分析", "findings": "无",
                    "reviews": [{ "measure_id": ids[0], "status": "done" }] }),
        )
        .await;
    assert_error(
        foreign,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "not an open measure of this unit",
    )
    .await;
    let outsider = app
        .post(
            &marketing,
            "/api/v1/reports/analyses",
            json!({ "from": month, "to": month, "title": "营销部分析", "findings": "无",
                    "measures": [{ "description": "x", "owner_id": csc_id }] }),
        )
        .await;
    assert_error(
        outsider,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "not an active member",
    )
    .await;
    assert_eq!(reports().await, 1);

    // The follow-up report: one measure done, one under way, a new one.
    let second = app
        .post_ok(
            &head,
            "/api/v1/reports/analyses",
            json!({
                "from": month, "to": month,
                "title": "本月例行回访分析",
                "findings": "当日回访已落实。",
                "measures": [{ "description": "增加夜间回访时段", "owner_id": csc_id }],
                "reviews": [
                    { "measure_id": ids[0], "status": "done", "comment": "已落实" },
                    { "measure_id": ids[1], "status": "in_progress" },
                ],
            }),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(second["reviews"].as_array().unwrap().len(), 2);
    let open = app
        .get_json(&head, "/api/v1/reports/measures?open=true")
        .await;
    let statuses: Vec<(&str, &str)> = open
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["description"].as_str().unwrap(),
                m["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("工程部每周复核维修质量", "in_progress"),
            ("增加夜间回访时段", "planned")
        ]
    );
    let all = app.get_json(&dev, "/api/v1/reports/measures").await;
    assert_eq!(all.as_array().unwrap().len(), 3);

    // Who writes and who reads.
    for (token, needle) in [
        (&csc, "head of the unit"),
        (&app.login("gm", PASSWORD).await, "head of the unit"),
    ] {
        let refused = app
            .post(
                token,
                "/api/v1/reports/analyses",
                json!({ "from": month, "to": month, "title": "x", "findings": "y" }),
            )
            .await;
        assert_error(refused, StatusCode::FORBIDDEN, "forbidden", needle).await;
    }
    let id = first["id"].as_i64().unwrap();
    let sales = app.login("bsw.sales.head", PASSWORD).await;
    assert_error(
        app.get(&sales, &format!("/api/v1/reports/analyses/{id}"))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
        "no analysis report",
    )
    .await;
    assert_eq!(
        app.get_json(&sales, "/api/v1/reports/analyses").await,
        json!([])
    );
    let listed = app.get_json(&dev, "/api/v1/reports/analyses").await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["reviews"], 2, "newest first");
    let read = app
        .get_json(&dev, &format!("/api/v1/reports/analyses/{id}"))
        .await;
    for field in [
        "figures",
        "figures_sha256",
        "findings",
        "created_at",
        "from",
        "to",
    ] {
        assert_eq!(read[field], first[field], "{field}");
    }
    // Its measures as they stand now, after the second report's review.
    assert_eq!(read["measures"][0]["status"], "done");
    assert_eq!(read["measures"][1]["status"], "in_progress");

    // Bad input says what is wrong.
    for (body, needle) in [
        (
            json!({ "from": month, "to": last, "title": "x", "findings": "y" }),
            "is after",
        ),
        (
            json!({ "from": month.next(), "to": month.next(), "title": "x", "findings": "y" }),
            "has not begun",
        ),
        (
            json!({ "from": month, "to": month, "title": "", "findings": "" }),
            "title is empty",
        ),
    ] {
        let response = app.post(&head, "/api/v1/reports/analyses", body).await;
        assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            needle,
        )
        .await;
    }
    let unknown = app
        .post(
            &head,
            "/api/v1/reports/analyses",
            json!({ "from": month, "to": month, "title": "x", "findings": "y", "score": 5 }),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reports().await, 2);

    // The audit chain records each report with the hash of its figures.
    let admin = app.admin_token().await;
    let audit: Value = app
        .get_json(
            &admin,
            &format!("/api/v1/admin/audit?subject=analysis/{id}"),
        )
        .await;
    assert_eq!(audit[0]["action"], "analysis.written");
    let detail: Value = serde_json::from_str(audit[0]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["figures_sha256"], first["figures_sha256"]);
}

//! The authorization matrix: every route of the README's API table × every role of the example
//! company (eleven accounts: the general manager, an administrator, the development department's
//! head and staff, the marketing head, a sales-site head, two consultants, an office director, a
//! service-centre clerk and a department head), with ids of their own unit's work and another's.
//! Each row states the README's "who" column; everyone else must get the stated refusal (403 for
//! a role that may not, 404 for a record outside their scope, so existence does not leak).
//! Requests that would change something carry a body the server refuses as invalid (422) or ask
//! for a dry run, so an allowed call stores nothing and the matrix can be replayed.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp};
use crate::sheets::{accept, handle};

crate::on_both_backends!(every_route_answers_each_role_as_the_readme_says);

const ACCOUNTS: [&str; 11] = [
    "gm",
    "root",
    "dev.head",
    "dev.01",
    "mkt.head",
    "bsw.sales.head",
    "bsw.gw.01",
    "bsw.gw.02",
    "bsw.office.head",
    "bsw.csc.01",
    "bsw.eng.head",
];

const HEAD_OFFICE: &[&str] = &["gm", "root", "dev.head", "dev.01"];
const UNIT_HEADS: &[&str] = &[
    "dev.head",
    "mkt.head",
    "bsw.sales.head",
    "bsw.office.head",
    "bsw.eng.head",
];

/// Who may call a route: everyone, or these accounts; the others get `refusal`.
struct Row {
    method: Method,
    path: String,
    body: Option<Value>,
    allowed: Vec<&'static str>,
    refusal: StatusCode,
    /// Accounts that do not see the record at all: 404 rather than `refusal`.
    hidden: Vec<&'static str>,
}

fn row(
    method: Method,
    path: impl Into<String>,
    allowed: &[&[&'static str]],
    refusal: StatusCode,
) -> Row {
    Row {
        method,
        path: path.into(),
        body: None,
        allowed: allowed.iter().flat_map(|a| a.iter().copied()).collect(),
        refusal,
        hidden: Vec::new(),
    }
}

fn hidden_from(mut row: Row, hidden: &[&'static str]) -> Row {
    row.hidden = hidden.to_vec();
    row
}

fn with(mut row: Row, body: Value) -> Row {
    row.body = Some(body);
    row
}

async fn every_route_answers_each_role_as_the_readme_says(app: TestApp) {
    let mut tokens = Vec::new();
    for account in ACCOUNTS {
        let token = if account == "root" {
            app.admin_token().await
        } else {
            app.login(account, PASSWORD).await
        };
        tokens.push((account, token));
    }
    let token = |who: &str| tokens.iter().find(|(a, _)| *a == who).unwrap().1.clone();
    // The service centre's repair, handled: its sheet and follow-up.
    let csc = token("bsw.csc.01");
    let handled = handle(
        &app,
        &csc,
        &accept(&app, &csc, "陈志强", "ordinary", "repair").await,
    )
    .await;
    let sheet = handled["sheet"]["id"].as_str().unwrap().to_owned();
    let follow_up = handled["follow_up"]["id"].as_str().unwrap().to_owned();
    // One still being handled, whose content can change.
    let open_sheet = accept(&app, &csc, "林秀英", "ordinary", "repair").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A consultant's customer's household, and a household of nobody's consultant.
    let owned: i64 = sqlx::query_scalar("SELECT household_id FROM customers WHERE name = '黄建华'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let unowned: i64 =
        sqlx::query_scalar("SELECT household_id FROM customers WHERE name = '陈志强'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    let other_staff = app.staff_id("bsw.gw.02").await;
    let office_unit = app.unit_id("PMO-BSW").await;
    let month = huifang_core::plans::Month::of(app.now(), app.config.time_zone);
    // A survey form in draft, made by the development department.
    let survey = app
        .post_ok(
            &token("dev.head"),
            "/api/v1/surveys",
            crate::surveys::form(),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let mut bad_form = crate::surveys::form();
    bad_form["title"] = json!("");
    // This month's routine plan, so its progress can be read.
    app.post_ok(
        &token("root"),
        &format!("/api/v1/plans/{month}"),
        json!({}),
        StatusCode::CREATED,
    )
    .await;
    let everyone: &[&str] = &ACCOUNTS;
    let with_unit: &[&str] = &ACCOUNTS[2..];
    let office_people: &[&str] = &["bsw.office.head", "bsw.csc.01", "bsw.eng.head"];
    let community: &[&str] = &[
        "bsw.sales.head",
        "bsw.office.head",
        "bsw.csc.01",
        "bsw.eng.head",
    ];
    let company_wide: &[&str] = &["gm", "root", "dev.head", "dev.01", "mkt.head"];
    let forbidden = StatusCode::FORBIDDEN;
    let not_found = StatusCode::NOT_FOUND;
    let rows = vec![
        row(Method::GET, "/api/v1/auth/me", &[everyone], forbidden),
        row(Method::GET, "/api/v1/auth/sessions", &[everyone], forbidden),
        row(
            Method::GET,
            format!("/api/v1/auth/sessions?staff_id={other_staff}"),
            &[&["root", "bsw.gw.02"]],
            forbidden,
        ),
        row(Method::GET, "/api/v1/units", &[everyone], forbidden),
        row(
            Method::GET,
            format!("/api/v1/units/{office_unit}"),
            &[everyone],
            forbidden,
        ),
        row(Method::GET, "/api/v1/communities", &[everyone], forbidden),
        row(Method::GET, "/api/v1/households", &[everyone], forbidden),
        row(Method::GET, "/api/v1/staff", &[everyone], forbidden),
        row(
            Method::GET,
            format!("/api/v1/households/{owned}"),
            &[company_wide, community, &["bsw.gw.01"]],
            not_found,
        ),
        row(
            Method::GET,
            format!("/api/v1/households/{unowned}"),
            &[company_wide, community],
            not_found,
        ),
        row(
            Method::GET,
            format!("/api/v1/staff/{other_staff}"),
            &[&["gm", "root", "bsw.sales.head", "bsw.gw.02"]],
            not_found,
        ),
        with(
            row(Method::POST, "/api/v1/staff", &[&["root"]], forbidden),
            json!({"username": "?", "name": "", "role": "staff"}),
        ),
        with(
            row(
                Method::POST,
                format!("/api/v1/staff/{other_staff}/active"),
                &[&["root"]],
                forbidden,
            ),
            json!({"active": "maybe"}),
        ),
        row(
            Method::POST,
            "/api/v1/import/staff?dry_run=true",
            &[&["root"]],
            forbidden,
        ),
        with(
            row(Method::POST, "/api/v1/sheets", &[with_unit], forbidden),
            json!({"level": "none", "category": "other", "source": "phone", "items": []}),
        ),
        row(Method::GET, "/api/v1/sheets", &[everyone], forbidden),
        row(
            Method::GET,
            format!("/api/v1/sheets/{sheet}"),
            &[HEAD_OFFICE, &["bsw.office.head", "bsw.csc.01"]],
            not_found,
        ),
        row(
            Method::GET,
            "/api/v1/followups?view=all",
            &[HEAD_OFFICE],
            forbidden,
        ),
        row(
            Method::GET,
            "/api/v1/followups?view=unit",
            &[everyone],
            forbidden,
        ),
        row(
            Method::GET,
            format!("/api/v1/followups/{follow_up}"),
            &[HEAD_OFFICE, &["bsw.office.head", "bsw.csc.01"]],
            not_found,
        ),
        hidden_from(
            with(
                row(
                    Method::POST,
                    format!("/api/v1/followups/{follow_up}/reassign"),
                    &[&["root", "bsw.office.head"]],
                    forbidden,
                ),
                json!({}),
            ),
            &[
                "mkt.head",
                "bsw.sales.head",
                "bsw.gw.01",
                "bsw.gw.02",
                "bsw.eng.head",
            ],
        ),
        row(Method::GET, "/api/v1/notifications", &[everyone], forbidden),
        row(
            Method::GET,
            format!("/api/v1/plans/{month}/households"),
            &[everyone],
            forbidden,
        ),
        row(
            Method::GET,
            "/api/v1/admin/audit/verify",
            &[&["root"]],
            forbidden,
        ),
        with(
            row(Method::PUT, "/api/v1/admin/rules", &[&["root"]], forbidden),
            json!({"follow_up_hours": -1}),
        ),
        row(
            Method::GET,
            format!("/api/v1/blobs/{}/upload", "a".repeat(64)),
            &[everyone],
            forbidden,
        ),
        hidden_from(
            with(
                row(
                    Method::POST,
                    format!("/api/v1/sheets/{open_sheet}/tracking"),
                    &[&["root", "bsw.office.head", "bsw.csc.01"]],
                    forbidden,
                ),
                json!({"note": ""}),
            ),
            &[
                "mkt.head",
                "bsw.sales.head",
                "bsw.gw.01",
                "bsw.gw.02",
                "bsw.eng.head",
            ],
        ),
        hidden_from(
            with(
                row(
                    Method::POST,
                    format!("/api/v1/sheets/{open_sheet}/handled"),
                    &[&["root", "bsw.office.head", "bsw.csc.01"]],
                    forbidden,
                ),
                json!({"result": ""}),
            ),
            &[
                "mkt.head",
                "bsw.sales.head",
                "bsw.gw.01",
                "bsw.gw.02",
                "bsw.eng.head",
            ],
        ),
        hidden_from(
            with(
                row(
                    Method::POST,
                    format!("/api/v1/sheets/{open_sheet}/invalid"),
                    &[&["root", "bsw.office.head", "bsw.csc.01"]],
                    forbidden,
                ),
                json!({"reason": ""}),
            ),
            &[
                "mkt.head",
                "bsw.sales.head",
                "bsw.gw.01",
                "bsw.gw.02",
                "bsw.eng.head",
            ],
        ),
        hidden_from(
            with(
                row(
                    Method::POST,
                    format!("/api/v1/followups/{follow_up}/unreachable"),
                    &[&["bsw.csc.01"]],
                    forbidden,
                ),
                json!({"method": "phone", "note": "x".repeat(600)}),
            ),
            &[
                "mkt.head",
                "bsw.sales.head",
                "bsw.gw.01",
                "bsw.gw.02",
                "bsw.eng.head",
            ],
        ),
        hidden_from(
            with(
                row(
                    Method::PATCH,
                    format!("/api/v1/sheets/{open_sheet}"),
                    &[&["root", "bsw.office.head", "bsw.csc.01"]],
                    forbidden,
                ),
                json!({"customer_name": ""}),
            ),
            &[
                "mkt.head",
                "bsw.sales.head",
                "bsw.gw.01",
                "bsw.gw.02",
                "bsw.eng.head",
            ],
        ),
        hidden_from(
            row(
                Method::POST,
                format!("/api/v1/sheets/{sheet}/archive"),
                &[&["root", "dev.head", "bsw.office.head"]],
                forbidden,
            ),
            &["mkt.head", "bsw.sales.head", "bsw.eng.head"],
        ),
        hidden_from(
            with(
                row(
                    Method::POST,
                    format!("/api/v1/followups/{follow_up}/outcome"),
                    &[&["bsw.csc.01"]],
                    forbidden,
                ),
                json!({"method": "phone", "ratings": {"handling": 9, "efficiency": 9, "quality": 9, "attitude": 9, "overall": 9}}),
            ),
            &[
                "mkt.head",
                "bsw.sales.head",
                "bsw.gw.01",
                "bsw.gw.02",
                "bsw.eng.head",
            ],
        ),
        hidden_from(
            with(
                row(
                    Method::POST,
                    format!("/api/v1/followups/{follow_up}/cancel"),
                    &[&["root", "bsw.office.head"]],
                    forbidden,
                ),
                json!({"reason": ""}),
            ),
            &[
                "mkt.head",
                "bsw.sales.head",
                "bsw.gw.01",
                "bsw.gw.02",
                "bsw.eng.head",
            ],
        ),
        row(
            Method::GET,
            format!("/api/v1/surveys/{survey}"),
            &[HEAD_OFFICE, office_people],
            forbidden,
        ),
        with(
            row(
                Method::PUT,
                format!("/api/v1/surveys/{survey}"),
                &[&["root", "dev.head", "dev.01"]],
                forbidden,
            ),
            bad_form,
        ),
        with(
            row(
                Method::POST,
                format!("/api/v1/surveys/{survey}/approve"),
                &[&["gm"]],
                forbidden,
            ),
            json!({"content_sha256": "0".repeat(64)}),
        ),
        with(
            row(
                Method::POST,
                format!("/api/v1/surveys/{survey}/distribute"),
                &[&["root", "dev.head", "dev.01"]],
                forbidden,
            ),
            json!({"community_ids": []}),
        ),
        row(
            Method::GET,
            format!("/api/v1/surveys/{survey}/report"),
            &[HEAD_OFFICE, office_people],
            forbidden,
        ),
        row(
            Method::GET,
            format!("/api/v1/plans/{month}"),
            &[everyone],
            forbidden,
        ),
        with(
            row(
                Method::POST,
                format!("/api/v1/plans/{month}"),
                &[&["gm", "root", "dev.head"]],
                forbidden,
            ),
            json!({"dry_run": true}),
        ),
        row(
            Method::GET,
            "/api/v1/admin/quotas",
            &[&["gm", "root"]],
            forbidden,
        ),
        with(
            row(Method::PUT, "/api/v1/admin/quotas", &[&["root"]], forbidden),
            json!({"office_director_monthly_bp": -1}),
        ),
        row(
            Method::GET,
            "/api/v1/admin/rules",
            &[&["gm", "root"]],
            forbidden,
        ),
        row(Method::GET, "/api/v1/admin/audit", &[&["root"]], forbidden),
        row(
            Method::GET,
            "/api/v1/surveys",
            &[HEAD_OFFICE, office_people],
            forbidden,
        ),
        with(
            row(
                Method::POST,
                "/api/v1/surveys",
                &[&["root", "dev.head", "dev.01"]],
                forbidden,
            ),
            json!({"title": "", "year": 1, "introduction": "", "questions": []}),
        ),
        row(
            Method::GET,
            format!("/api/v1/reports/figures?from={month}"),
            &[HEAD_OFFICE, UNIT_HEADS],
            forbidden,
        ),
        row(
            Method::GET,
            format!("/api/v1/reports/bulletin/{month}"),
            &[HEAD_OFFICE, UNIT_HEADS],
            forbidden,
        ),
        row(
            Method::GET,
            format!("/api/v1/reports/submissions/{month}"),
            &[
                HEAD_OFFICE,
                &["mkt.head", "bsw.sales.head", "bsw.office.head"],
            ],
            forbidden,
        ),
        row(
            Method::GET,
            "/api/v1/reports/analyses",
            &[HEAD_OFFICE, UNIT_HEADS],
            forbidden,
        ),
        row(
            Method::GET,
            "/api/v1/reports/measures",
            &[HEAD_OFFICE, UNIT_HEADS],
            forbidden,
        ),
    ];
    let seq = app.change_seq().await;
    let counts = app.registry_counts().await;
    let mut wrong = Vec::new();
    for row in &rows {
        for (account, token) in &tokens {
            let mut request = app
                .client
                .request(row.method.clone(), app.url(&row.path))
                .bearer_auth(token);
            if let Some(body) = &row.body {
                request = request.json(body);
            } else if row.method == Method::POST {
                request = request.header("content-type", "text/csv").body("");
            }
            let status = request.send().await.unwrap().status();
            let allowed = row.allowed.contains(account);
            let ok = if allowed {
                !matches!(status.as_u16(), 401 | 403 | 404) && status.as_u16() < 500
            } else if row.hidden.contains(account) {
                status == StatusCode::NOT_FOUND
            } else {
                status == row.refusal
            };
            if !ok {
                wrong.push(format!(
                    "{} {} as {account}: {status} (README: {})",
                    row.method,
                    row.path,
                    if allowed {
                        "allowed".to_owned()
                    } else {
                        format!("{}", row.refusal)
                    }
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells disagree:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(
        app.change_seq().await,
        seq,
        "the matrix changed no document"
    );
    assert_eq!(app.registry_counts().await, counts, "nor the registry");
}

//! The figures of D-STA-2 (R-STA-1) over HTTP, checked against a recomputation from the
//! documents themselves for every grouping, on both databases.

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{Reader, Xlsx};

use huifang_core::plans::Month;
use huifang_protocol::{
    DocumentKind, FollowUp, FollowUpKind, FollowUpStatus, Labelled, Sheet, SheetStatus, parse_time,
};
use huifang_store::documents;
use reqwest::StatusCode;
use serde_json::{Value, json};

use proptest::prelude::*;

use crate::helpers::{Backend, EDGES, ORDINARY, PASSWORD, TestApp, assert_error, spawn_app_at};
use crate::sheets::{accept, handle};

crate::on_both_backends!(
    d_sta_2_figures_equal_a_recomputation_from_the_documents,
    r_sta_1_the_service_bulletin_agrees_with_the_figures_and_downloads_as_xlsx,
);

/// The figures of one group, as the documents say.
#[derive(Debug, Default, Clone, PartialEq)]
struct Expected {
    sheets: [i64; 3],
    /// Due, done, information past its deadline, of those on time, overdue, unreachable.
    follow_ups: [i64; 6],
    overall: [i64; 5],
    overall_sum: i64,
    routine: [i64; 2],
}

async fn recompute(app: &TestApp, from: Month, to: Month, by: &str) -> BTreeMap<String, Expected> {
    let tz = app.config.time_zone;
    let now = app.now();
    let month_of = |text: &str| Month::of(parse_time("t", text).unwrap(), tz);
    let in_range = |m: Month| m >= from && m <= to;
    let communities: BTreeMap<i64, i64> = sqlx::query_as("SELECT id, community_id FROM households")
        .fetch_all(app.db.pool())
        .await
        .unwrap()
        .into_iter()
        .collect();
    let top_units: BTreeMap<i64, i64> =
        sqlx::query_as("SELECT id, COALESCE(parent_id, id) FROM units")
            .fetch_all(app.db.pool())
            .await
            .unwrap()
            .into_iter()
            .collect();
    let mut sheets = BTreeMap::new();
    for id in documents::ids_of(&app.db, DocumentKind::Sheet)
        .await
        .unwrap()
    {
        let sheet: Sheet = documents::read(&app.db, &id).await.unwrap().unwrap();
        sheets.insert(id, sheet);
    }
    let mut groups: BTreeMap<String, Expected> = BTreeMap::new();
    for sheet in sheets.values() {
        let month = month_of(&sheet.accepted_at);
        if !in_range(month) {
            continue;
        }
        let key = match by {
            "total" => "total".to_owned(),
            "month" => month.to_string(),
            "unit" => sheet.accepting_unit_id.to_string(),
            "top_unit" => top_units[&sheet.accepting_unit_id].to_string(),
            "community" => sheet
                .household_id
                .and_then(|h| communities.get(&h))
                .map_or("none".into(), |c| c.to_string()),
            "category" => sheet.category.code().to_owned(),
            "level" => sheet.level.code().to_owned(),
            _ => sheet.accepted_by.to_string(),
        };
        let g = groups.entry(key).or_default();
        g.sheets[0] += 1;
        g.sheets[1] += i64::from(sheet.status != SheetStatus::Invalid);
        g.sheets[2] += i64::from(sheet.handled_at.is_some());
    }
    for id in documents::ids_of(&app.db, DocumentKind::FollowUp)
        .await
        .unwrap()
    {
        let f: FollowUp = documents::read(&app.db, &id).await.unwrap().unwrap();
        let month = month_of(&f.due_at);
        if !in_range(month) || f.status == FollowUpStatus::Cancelled {
            continue;
        }
        let sheet = f.sheet_id.as_ref().and_then(|s| sheets.get(s));
        let key = match by {
            "total" => "total".to_owned(),
            "month" => month.to_string(),
            "unit" => f.assignee_unit_id.to_string(),
            "top_unit" => top_units[&f.assignee_unit_id].to_string(),
            "community" => sheet
                .and_then(|s| s.household_id)
                .or(f.household_id)
                .and_then(|h| communities.get(&h))
                .map_or("none".into(), |c| c.to_string()),
            "category" => sheet.map_or(f.kind.code().to_owned(), |s| s.category.code().into()),
            "level" => sheet.map_or("none".to_owned(), |s| s.level.code().into()),
            _ => f
                .assignee_staff_id
                .map_or("unassigned".into(), |s| s.to_string()),
        };
        let g = groups.entry(key).or_default();
        g.follow_ups[0] += 1;
        let due = parse_time("due", &f.due_at).unwrap();
        // D-STA-3: the outcome is the customer's answer, or the third failed attempt.
        let unreachable = matches!(
            f.status,
            FollowUpStatus::Unreachable | FollowUpStatus::ClosedUnreachable
        );
        let outcome_at = match (&f.outcome, unreachable) {
            (Some(outcome), _) if f.status == FollowUpStatus::Completed => Some(&outcome.done_at),
            (_, true) => Some(&f.unreachable_attempts[2].at),
            _ => None,
        };
        if f.status == FollowUpStatus::Completed
            && let Some(outcome) = &f.outcome
        {
            g.follow_ups[1] += 1;
            g.overall[usize::from(outcome.ratings.overall) - 1] += 1;
            g.overall_sum += i64::from(outcome.ratings.overall);
        }
        if f.kind == FollowUpKind::Information && due <= now {
            g.follow_ups[2] += 1;
            g.follow_ups[3] +=
                i64::from(outcome_at.is_some_and(|at| parse_time("at", at).unwrap() <= due));
        }
        if f.overdue_at.is_some()
            && matches!(f.status, FollowUpStatus::Open | FollowUpStatus::Unreachable)
        {
            g.follow_ups[4] += 1;
        }
        g.follow_ups[5] += i64::from(unreachable);
        if f.kind == FollowUpKind::Routine {
            let g = groups
                .entry(match by {
                    "category" => "routine".into(),
                    "level" => "none".into(),
                    "top_unit" => top_units[&f.assignee_unit_id].to_string(),
                    _ => g_key(by, &f, month, &communities),
                })
                .or_default();
            g.routine[0] += 1;
            g.routine[1] += i64::from(f.status == FollowUpStatus::Completed || unreachable);
        }
    }
    groups
}

/// The group of a routine follow-up where it is the same as its follow-up's.
fn g_key(by: &str, f: &FollowUp, month: Month, communities: &BTreeMap<i64, i64>) -> String {
    match by {
        "total" => "total".into(),
        "month" => month.to_string(),
        "unit" => f.assignee_unit_id.to_string(),
        "community" => f
            .household_id
            .and_then(|h| communities.get(&h))
            .map_or("none".into(), |c| c.to_string()),
        _ => f
            .assignee_staff_id
            .map_or("unassigned".into(), |s| s.to_string()),
    }
}

fn from_api(group: &Value) -> Expected {
    let n = |field: &str| group[field].as_i64().unwrap();
    let overall: Vec<i64> = group["overall_distribution"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let done_with_ratings: i64 = overall.iter().sum();
    Expected {
        sheets: [n("sheets_accepted"), n("sheets_valid"), n("sheets_handled")],
        follow_ups: [
            n("follow_ups_due"),
            n("follow_ups_done"),
            n("information_past_deadline"),
            n("done_on_time"),
            n("overdue"),
            n("unreachable"),
        ],
        overall: overall.try_into().unwrap(),
        overall_sum: group["rating_means"]["overall"]
            .as_f64()
            .map_or(0, |mean| (mean * done_with_ratings as f64).round() as i64),
        routine: [n("routine_planned"), n("routine_done")],
    }
}

/// What becomes of one sheet in a generated month.
#[derive(Debug, Clone, Copy)]
pub enum Fate {
    Invalid,
    Accepted,
    /// Handled; its follow-up left open.
    Open,
    /// Handled and followed up with this overall satisfaction.
    Done(u8),
    /// Handled; the customer could not be reached three times.
    Unreachable,
    /// As `Unreachable`, then the office head closes it (it stays due and unreachable, D-STA-3).
    ClosedUnreachable,
    /// Handled; followed up a day late (25 hours pass first) with this overall satisfaction.
    DoneLate(u8),
}

const CUSTOMERS: [&str; 7] = [
    "陈志强",
    "林秀英",
    "黄建华",
    "周海燕",
    "吴文博",
    "郑玉兰",
    "王子涵",
];
const KINDS: [(&str, &str); 5] = [
    ("none", "property_service"),
    ("ordinary", "repair"),
    ("significant", "warranty_repair"),
    ("major", "repair"),
    ("ordinary", "other"),
];

/// Makes the sheets and follow-ups over the API; then optionally lets deadlines pass and plans
/// next month's routine rounds with one done.
pub async fn make_month(
    app: &TestApp,
    sheets: &[(usize, usize, Fate)],
    escalate: bool,
    plan: bool,
) {
    let csc = app.login("bsw.csc.01", PASSWORD).await;
    let office_head = app.login("bsw.office.head", PASSWORD).await;
    let admin = app.admin_token().await;
    let csc_unit = app.unit_id("PMO-BSW-CSC").await;
    for &(customer, kind, fate) in sheets {
        let (level, category) = KINDS[kind % KINDS.len()];
        let sheet = accept(
            app,
            &csc,
            CUSTOMERS[customer % CUSTOMERS.len()],
            level,
            category,
        )
        .await;
        let id = sheet["id"].as_str().unwrap();
        match fate {
            Fate::Invalid => {
                app.post_ok(
                    &csc,
                    &format!("/api/v1/sheets/{id}/invalid"),
                    json!({"reason": "重复登记"}),
                    StatusCode::OK,
                )
                .await;
                continue;
            }
            Fate::Accepted => continue,
            _ => {}
        }
        let handled = handle(app, &csc, &sheet).await;
        let follow_up = handled["follow_up"]["id"].as_str().unwrap().to_owned();
        if handled["follow_up"]["assignee_unit_id"] != csc_unit {
            continue; // another unit's (a major complaint): left open
        }
        match fate {
            Fate::Done(overall) | Fate::DoneLate(overall) => {
                if matches!(fate, Fate::DoneLate(_)) {
                    app.clock.advance(chrono::Duration::hours(25));
                }
                app.post_ok(
                    &csc,
                    &format!("/api/v1/followups/{follow_up}/outcome"),
                    json!({"method": "phone", "ratings": {"handling": 4, "efficiency": 3,
                           "quality": 5, "attitude": 5, "overall": overall}}),
                    StatusCode::OK,
                )
                .await;
            }
            Fate::Unreachable | Fate::ClosedUnreachable => {
                for _ in 0..3 {
                    app.post_ok(
                        &csc,
                        &format!("/api/v1/followups/{follow_up}/unreachable"),
                        json!({"method": "phone", "note": ""}),
                        StatusCode::OK,
                    )
                    .await;
                }
                if matches!(fate, Fate::ClosedUnreachable) {
                    app.post_ok(
                        &office_head,
                        &format!("/api/v1/followups/{follow_up}/cancel"),
                        json!({"reason": "三次联系不上"}),
                        StatusCode::OK,
                    )
                    .await;
                }
            }
            _ => {}
        }
    }
    if escalate {
        huifang_core::deadlines::escalate_overdue(
            &app.db,
            app.config.time_zone,
            app.now() + chrono::Duration::days(2),
        )
        .await
        .unwrap();
    }
    if plan {
        let next = Month::of(app.now(), app.config.time_zone).next();
        app.post_ok(
            &admin,
            &format!("/api/v1/plans/{next}"),
            json!({}),
            StatusCode::CREATED,
        )
        .await;
        let planned = app
            .get_json(
                &csc,
                &format!("/api/v1/plans/{next}/households?unit_id={csc_unit}"),
            )
            .await;
        let routine = planned["items"][0]["follow_up_id"].as_str().unwrap();
        app.post_ok(
            &csc,
            &format!("/api/v1/followups/{routine}/outcome"),
            json!({"method": "home_visit", "ratings": {"handling": 5, "efficiency": 5,
                   "quality": 5, "attitude": 5, "overall": 5}}),
            StatusCode::OK,
        )
        .await;
    }
}

/// Every grouping of the API's figures over this month and the next equals the recomputation
/// from the documents.
async fn assert_figures_match(app: &TestApp) {
    assert_figures_match_from(app, Month::of(app.now(), app.config.time_zone)).await;
}

/// Every grouping of the API's figures over `this_month` and the next equals the recomputation
/// from the documents.
async fn assert_figures_match_from(app: &TestApp, this_month: Month) {
    let admin = app.admin_token().await;
    let next = this_month.next();
    for by in [
        "total",
        "month",
        "unit",
        "top_unit",
        "community",
        "category",
        "level",
        "staff",
    ] {
        let report = app
            .get_json(
                &admin,
                &format!("/api/v1/reports/figures?from={this_month}&to={next}&by={by}"),
            )
            .await;
        let got: BTreeMap<String, Expected> = report["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (g["key"].as_str().unwrap().to_owned(), from_api(g)))
            .collect();
        let expected = recompute(app, this_month, next, by).await;
        assert_eq!(got, expected, "grouped by {by}");
    }
}

async fn d_sta_2_figures_equal_a_recomputation_from_the_documents(app: TestApp) {
    let fates = [
        Fate::Done(1),
        Fate::Unreachable,
        Fate::Open,
        Fate::Accepted,
        Fate::Done(5),
        Fate::Invalid,
        Fate::Done(2),
        Fate::Open,
        Fate::Done(4),
        Fate::Unreachable,
        Fate::Done(3),
        Fate::Invalid,
        Fate::ClosedUnreachable,
        Fate::DoneLate(4),
    ];
    let sheets: Vec<(usize, usize, Fate)> =
        fates.iter().enumerate().map(|(n, f)| (n, n, *f)).collect();
    make_month(&app, &sheets, true, true).await;
    assert_figures_match(&app).await;

    let admin = app.admin_token().await;
    let this_month = Month::of(app.now(), app.config.time_zone);
    let next = this_month.next();
    let total = app
        .get_json(
            &admin,
            &format!("/api/v1/reports/figures?from={this_month}&to={next}"),
        )
        .await;
    assert!(total["groups"][0]["follow_ups_done"].as_i64().unwrap() >= 2);
    assert!(total["groups"][0]["unreachable"].as_i64().unwrap() >= 1);
    assert!(total["groups"][0]["routine_planned"].as_i64().unwrap() >= 1);

    // A late edit to a closed month: forty days on, an open follow-up of this month is done.
    // The month's figures (kept in the monthly roll-up) move at once and still equal the
    // recomputation from the documents.
    let csc_unit = app.unit_id("PMO-BSW-CSC").await;
    let late: String = sqlx::query_scalar(
        "SELECT id FROM follow_ups WHERE status = 'open' AND due_month = $1
         AND assignee_unit_id = $2 ORDER BY id LIMIT 1",
    )
    .bind(this_month.to_string())
    .bind(csc_unit)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    app.clock.advance(chrono::Duration::days(40));
    // Sessions last 30 days: sign in again.
    let admin = app.admin_token().await;
    let csc = app.login("bsw.csc.01", PASSWORD).await;
    let figures_of = |month: Month| format!("/api/v1/reports/figures?from={month}&to={month}");
    let before = app.get_json(&admin, &figures_of(this_month)).await;
    app.post_ok(
        &csc,
        &format!("/api/v1/followups/{late}/outcome"),
        json!({"method": "phone", "ratings": {"handling": 2, "efficiency": 2,
               "quality": 2, "attitude": 2, "overall": 2}}),
        StatusCode::OK,
    )
    .await;
    let after = app.get_json(&admin, &figures_of(this_month)).await;
    let done = |figures: &Value| figures["groups"][0]["follow_ups_done"].as_i64().unwrap();
    assert_eq!(done(&after), done(&before) + 1);
    assert_figures_match_from(&app, this_month).await;

    // Unit heads see their own units only; staff see none; bad input says what is wrong.
    let head = app.login("bsw.office.head", PASSWORD).await;
    let own = app
        .get_json(&head, &format!("/api/v1/reports/figures?from={this_month}"))
        .await;
    assert_eq!(own["by"], "total");
    assert_error(
        app.get(
            &head,
            &format!(
                "/api/v1/reports/figures?from={this_month}&unit_id={}",
                app.unit_id("DEV").await
            ),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
        "own units",
    )
    .await;
    assert_error(
        app.get(&csc, &format!("/api/v1/reports/figures?from={this_month}"))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
        "unit heads",
    )
    .await;
    assert_error(
        app.get(
            &admin,
            &format!("/api/v1/reports/figures?from={next}&to={this_month}"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "is after",
    )
    .await;
    assert_error(
        app.get(&admin, "/api/v1/reports/figures?from=2026-13")
            .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
        "YYYY-MM",
    )
    .await;
}

fn fate() -> impl Strategy<Value = Fate> {
    prop_oneof![
        Just(Fate::Invalid),
        Just(Fate::Accepted),
        Just(Fate::Open),
        (1u8..=5).prop_map(Fate::Done),
        (1u8..=5).prop_map(Fate::DoneLate),
        Just(Fate::Unreachable),
        Just(Fate::ClosedUnreachable),
    ]
}

fn random_months(backend: Backend, cases: u32) {
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(
        sheets in prop::collection::vec((0usize..7, 0usize..5, fate()), 0..10),
        escalate in any::<bool>(),
        plan in any::<bool>(),
        instant in 0usize..=EDGES.len(),
    )| {
        // An ordinary day, or a month's last evening, New Year's Eve, February's end, a
        // daylight-saving change: routine rounds not yet due, deadlines crossing the month.
        let instant = if instant == 0 { ORDINARY } else { EDGES[instant - 1] };
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            if let Some(app) = spawn_app_at(backend, instant).await {
                make_month(&app, &sheets, escalate, plan).await;
                assert_figures_match(&app).await;
            }
        });
    });
}

/// D-STA-2 over random months: the SQL figures equal the recomputation, whatever the mix.
#[test]
fn sqlite_d_sta_2_figures_equal_a_recomputation_on_random_months() {
    random_months(Backend::Sqlite, 6);
}

#[test]
fn postgres_d_sta_2_figures_equal_a_recomputation_on_random_months() {
    random_months(Backend::Postgres, 3);
}

/// R-STA-1: the bulletin's headline, unit lines, complaint categories and overdue list agree with
/// the figures and the documents; it downloads as XLSX (read back) and CSV, in either language.
async fn r_sta_1_the_service_bulletin_agrees_with_the_figures_and_downloads_as_xlsx(app: TestApp) {
    let fates = [
        Fate::Done(5),
        Fate::Open,
        Fate::Done(2),
        Fate::Unreachable,
        Fate::Accepted,
        Fate::Done(4),
        Fate::Open,
    ];
    let sheets: Vec<(usize, usize, Fate)> =
        fates.iter().enumerate().map(|(n, f)| (n, n, *f)).collect();
    make_month(&app, &sheets, true, false).await;
    let dev = app.login("dev.head", PASSWORD).await;
    let month = Month::of(app.now(), app.config.time_zone);
    let bulletin = app
        .get_json(&dev, &format!("/api/v1/reports/bulletin/{month}"))
        .await;
    let figures = app
        .get_json(&dev, &format!("/api/v1/reports/figures?from={month}"))
        .await;
    let total = &figures["groups"][0];
    assert_eq!(bulletin["this_month"], *total, "{bulletin}");
    let measure = |name: &str| {
        bulletin["headline"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["measure"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        measure("follow_ups_done")["value"],
        total["follow_ups_done"].as_f64().unwrap()
    );
    assert_eq!(measure("on_time_rate")["value"], total["on_time_rate"]);
    assert_eq!(
        measure("overdue")["value"],
        total["overdue"].as_f64().unwrap()
    );
    assert!(
        total["overdue"].as_i64().unwrap() >= 1,
        "deadlines passed: {total}"
    );

    // The unit lines add up to the total; the office's line includes its service centre.
    let units = bulletin["units"].as_array().unwrap();
    let sum = |field: &str| -> i64 {
        units
            .iter()
            .map(|u| u["figures"][field].as_i64().unwrap())
            .sum()
    };
    for field in [
        "sheets_accepted",
        "follow_ups_due",
        "follow_ups_done",
        "overdue",
    ] {
        assert_eq!(sum(field), total[field].as_i64().unwrap(), "{field}");
    }
    let office = units.iter().find(|u| u["unit_code"] == "PMO-BSW").unwrap();
    assert_eq!(
        office["figures"]["sheets_accepted"],
        total["sheets_accepted"]
    );
    assert_eq!(office["submitted"], false);
    assert_eq!(
        units.iter().find(|u| u["unit_code"] == "DEV").unwrap()["submitted"],
        Value::Null
    );

    // Complaint categories counted from the documents (sheets with a complaint level).
    let mut complaints: BTreeMap<String, i64> = BTreeMap::new();
    for id in documents::ids_of(&app.db, DocumentKind::Sheet)
        .await
        .unwrap()
    {
        let sheet: Sheet = documents::read(&app.db, &id).await.unwrap().unwrap();
        if sheet.level.code() != "none" {
            *complaints
                .entry(sheet.category.code().to_owned())
                .or_default() += 1;
        }
    }
    let listed: BTreeMap<String, i64> = bulletin["top_complaints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["category"].as_str().unwrap().to_owned(),
                c["complaints"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed, complaints);
    assert_eq!(bulletin["overdue_total"], total["overdue"]);
    assert_eq!(
        bulletin["overdue"].as_array().unwrap().len() as i64,
        total["overdue"].as_i64().unwrap()
    );
    assert_eq!(bulletin["trend"].as_array().unwrap().len(), 6);
    assert_eq!(bulletin["trend"][5]["month"], month.to_string());

    // As XLSX, in Chinese by default, read back.
    let response = app
        .get(&dev, &format!("/api/v1/reports/bulletin/{month}.xlsx"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&format!("service-bulletin-{month}.xlsx"))
    );
    let bytes = response.bytes().await.unwrap();
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(
        workbook.sheet_names(),
        vec!["本月概况", "各单位", "满意度趋势", "投诉类别", "逾期回访"]
    );
    let unit_sheet = workbook.worksheet_range("各单位").unwrap();
    assert_eq!(unit_sheet.get_value((0, 0)).unwrap().to_string(), "单位");
    let office_row = (1..unit_sheet.height() as u32)
        .find(|r| *unit_sheet.get_value((*r, 0)).unwrap() == "碧水湾物业管理处")
        .expect("the office's line");
    assert_eq!(
        unit_sheet.get_value((office_row, 1)).unwrap().to_string(),
        total["sheets_accepted"].to_string()
    );
    let overdue_sheet = workbook.worksheet_range("逾期回访").unwrap();
    assert_eq!(
        overdue_sheet.height() as i64,
        1 + total["overdue"].as_i64().unwrap()
    );

    // In English, and as CSV (the unit table).
    let english = app
        .get(
            &dev,
            &format!("/api/v1/reports/bulletin/{month}.xlsx?lang=en"),
        )
        .await
        .bytes()
        .await
        .unwrap();
    let workbook: Xlsx<_> = Xlsx::new(Cursor::new(english.to_vec())).unwrap();
    assert_eq!(workbook.sheet_names()[1], "Units");
    let csv = app
        .get(&dev, &format!("/api/v1/reports/bulletin/{month}.csv"))
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with("\u{feff}单位,受理,"), "{csv}");
    assert!(csv.contains("碧水湾物业管理处"));

    // Staff do not read the bulletin; bad months and formats say what is wrong.
    let csc = app.login("bsw.csc.01", PASSWORD).await;
    assert_error(
        app.get(&csc, &format!("/api/v1/reports/bulletin/{month}"))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
        "unit heads",
    )
    .await;
    let head = app.login("bsw.office.head", PASSWORD).await;
    assert_eq!(
        app.get(&head, &format!("/api/v1/reports/bulletin/{month}"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_error(
        app.get(&dev, "/api/v1/reports/bulletin/2026-13.xlsx").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "YYYY-MM",
    )
    .await;
    assert_error(
        app.get(&dev, &format!("/api/v1/reports/bulletin/{month}.pdf"))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
        ".xlsx",
    )
    .await;
}

//! Routine follow-up plans (SPEC §3, R-RTN-1…5, D-RTN-1/2) over HTTP and over months.

use std::collections::{BTreeMap, BTreeSet};

use huifang_core::plans::quotas::QuotaSettings;
use huifang_core::plans::{self, Month, store};
use huifang_protocol::{FollowUp, FollowUpMethod, FollowUpStatus, UnreachableAttempt};
use huifang_store::audit::AuditActor;
use huifang_store::documents::DocWrite;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp, assert_error, fresh_database, seed_examples};

crate::on_both_backends!(
    r_rtn_1_to_4_d_rtn_1_a_month_is_planned_once_and_reaches_the_assignees,
    quota_rates_are_configuration_with_an_audit_trail,
);

fn next_month(app: &TestApp) -> Month {
    Month::of(app.now(), app.config.time_zone).next()
}

/// R-RTN-1…4 with D-RTN-1 on the example company (9 households, some of them a consultant's),
/// generated over the API: previewed without writing, generated once, a second run changes
/// nothing, and the follow-ups are on the assignees' lists.
async fn r_rtn_1_to_4_d_rtn_1_a_month_is_planned_once_and_reaches_the_assignees(app: TestApp) {
    let month = next_month(&app);
    let path = format!("/api/v1/plans/{month}");
    let admin = app.admin_token().await;
    let staff = app.login("bsw.csc.01", PASSWORD).await;

    // Only head office plans; bad months are refused with a reason.
    assert_error(
        app.post(&staff, &path, json!({})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        "development department",
    )
    .await;
    assert_error(
        app.post(&admin, "/api/v1/plans/2026-13", json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "YYYY-MM",
    )
    .await;
    assert_error(
        app.post(&admin, "/api/v1/plans/2020-01", json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "has passed",
    )
    .await;
    let far = month.next().next();
    assert_error(
        app.post(&admin, &format!("/api/v1/plans/{far}"), json!({}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "too far ahead",
    )
    .await;
    assert_error(
        app.post(&admin, &path, json!({"dry_run": "yes"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "dry_run",
    )
    .await;

    // The preview decides everything and writes nothing.
    let seq = app.change_seq().await;
    let preview = app
        .post_ok(&admin, &path, json!({"dry_run": true}), StatusCode::OK)
        .await;
    assert_eq!(preview["kind"], "preview");
    assert_eq!(app.change_seq().await, seq);
    assert_error(
        app.get(&admin, &path).await,
        StatusCode::NOT_FOUND,
        "not_found",
        "dry_run",
    )
    .await;
    let households = app.count("households").await;
    let quota_of = |rule: &str| -> Vec<i64> {
        preview["plans"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["quota"]["rule_id"] == rule)
            .map(|p| p["quota"]["quota"].as_i64().unwrap())
            .collect()
    };
    // R-RTN-2: 1 % of 9, rounded up; R-RTN-3: 50 % / 12 of 9, rounded up; R-RTN-4: 2 % of 9
    // rounded up (the 20 % yearly floor also gives 1) — for each of the two departments.
    assert_eq!(households, 9);
    assert_eq!(quota_of("R-RTN-2"), vec![1]);
    assert_eq!(quota_of("R-RTN-3"), vec![1]);
    assert_eq!(quota_of("R-RTN-4"), vec![1, 1]);
    let consultant = app.staff_id("bsw.gw.01").await;
    let owned: i64 = sqlx::query_scalar(
        "SELECT COUNT(DISTINCT c.household_id) FROM consultant_customers cc
         JOIN customers c ON c.id = cc.customer_id WHERE cc.consultant_id = $1",
    )
    .bind(consultant)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let consultant_plan = preview["plans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["staff_id"] == consultant)
        .expect("the consultant's own plan (R-RTN-1)");
    assert_eq!(consultant_plan["quota"]["quota"], owned);
    assert!(
        preview["plans"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| !i["why"].as_str().unwrap().is_empty())),
        "every choice is explained: {preview}"
    );

    // Generated once …
    let first = app
        .post_ok(&admin, &path, json!({}), StatusCode::CREATED)
        .await;
    assert_eq!(first["kind"], "generated");
    assert_eq!(first["stored"]["created"], true);
    let planned = first["stored"]["households"].as_i64().unwrap();
    assert_eq!(first["documents_written"], planned);
    let consultant_households: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT DISTINCT cc.consultant_id, c.household_id
         FROM consultant_customers cc JOIN customers c ON c.id = cc.customer_id) owned",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(
        planned,
        4 + consultant_households,
        "four sampled households and every consultant's own"
    );
    // … and a second run, here or on another instance, changes nothing.
    let seq = app.change_seq().await;
    let documents = app.count("documents").await;
    let second = app.post_ok(&admin, &path, json!({}), StatusCode::OK).await;
    assert_eq!(second["stored"]["created"], false);
    assert_eq!(second["stored"]["households"], planned);
    assert_eq!(second["documents_written"], 0);
    assert_eq!(app.change_seq().await, seq);
    assert_eq!(app.count("documents").await, documents);

    // D-RTN-2: the sampled households are four different ones.
    let listed = app
        .get_json(&admin, &format!("{path}/households?limit=100"))
        .await;
    let sampled: Vec<i64> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["staff_id"] == 0)
        .map(|i| i["household_id"].as_i64().unwrap())
        .collect();
    assert_eq!(sampled.len(), 4);
    assert_eq!(sampled.iter().collect::<BTreeSet<_>>().len(), 4);

    // The consultant finds their routine follow-ups on their own list, due at the month's end.
    let gw = app.login("bsw.gw.01", PASSWORD).await;
    let mine = app
        .get_json(&gw, "/api/v1/followups?view=mine&kind=routine")
        .await;
    assert_eq!(mine["total"], owned);
    let due = huifang_protocol::format_time(
        month.end(app.config.time_zone) - chrono::Duration::milliseconds(1),
    );
    for item in mine["items"].as_array().unwrap() {
        assert_eq!(item["rule"], "R-RTN-1");
        assert_eq!(item["due_at"], due.as_str());
        assert_eq!(item["status"], "open");
    }

    // Progress: head office sees every plan; a staff member only their unit's.
    let progress = app.get_json(&admin, &path).await;
    assert!(progress["documents_done_at"].is_string());
    let total: i64 = progress["plans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["planned"].as_i64().unwrap())
        .sum();
    assert_eq!(total, planned);
    let csc = app.unit_id("PMO-BSW-CSC").await;
    let theirs = app.get_json(&staff, &path).await;
    let units: Vec<i64> = theirs["plans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["unit_id"].as_i64().unwrap())
        .collect();
    assert_eq!(units, vec![csc]);
    assert_eq!(
        theirs["people"][0]["staff_id"],
        app.staff_id("bsw.csc.01").await,
        "the centre's one staff member does its round: {theirs}"
    );

    // The assignee does one; progress counts it.
    let csc_items = app
        .get_json(&staff, &format!("{path}/households?unit_id={csc}"))
        .await;
    let follow_up = csc_items["items"][0]["follow_up_id"].as_str().unwrap();
    app.post_ok(
        &staff,
        &format!("/api/v1/followups/{follow_up}/outcome"),
        json!({"method": "phone", "ratings": {"handling": 5, "efficiency": 4, "quality": 5,
               "attitude": 5, "overall": 5}}),
        StatusCode::OK,
    )
    .await;
    let theirs = app.get_json(&staff, &path).await;
    assert_eq!(theirs["plans"][0]["done"], 1);

    let audit: Value = app
        .get_json(
            &admin,
            &format!("/api/v1/admin/audit?subject=routine-plan/{month}"),
        )
        .await;
    assert_eq!(audit.as_array().unwrap().len(), 1, "{audit}");
    assert_eq!(audit[0]["action"], "routine_plan.generated");
}

/// R-GOV-1: the quota rates are an administrator's to change, checked, and audited.
async fn quota_rates_are_configuration_with_an_audit_trail(app: TestApp) {
    let admin = app.admin_token().await;
    let head = app.login("bsw.office.head", PASSWORD).await;
    let rates = app.get_json(&admin, "/api/v1/admin/quotas").await;
    assert_eq!(rates["department_monthly_bp"], 200);
    let changed = json!({"office_director_monthly_bp": 100, "service_centre_yearly_bp": 6000,
                         "department_monthly_bp": 300, "department_yearly_minimum_bp": 2000});
    let put = |token: String, body: Value| {
        let app = &app;
        async move {
            app.client
                .put(app.url("/api/v1/admin/quotas"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    assert_error(
        put(head.clone(), changed.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        "admin",
    )
    .await;
    let mut too_high = changed.clone();
    too_high["department_monthly_bp"] = json!(10_001);
    assert_error(
        put(admin.clone(), too_high).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "department_monthly_bp",
    )
    .await;
    assert_eq!(
        put(admin.clone(), changed.clone()).await.status(),
        StatusCode::OK
    );
    assert_eq!(app.get_json(&admin, "/api/v1/admin/quotas").await, changed);
    let month = next_month(&app);
    let preview = app
        .post_ok(
            &admin,
            &format!("/api/v1/plans/{month}"),
            json!({"dry_run": true}),
            StatusCode::OK,
        )
        .await;
    let csc = preview["plans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["quota"]["rule_id"] == "R-RTN-3")
        .unwrap();
    assert!(
        csc["quota"]["explanation"]
            .as_str()
            .unwrap()
            .contains("60.00 %"),
        "{csc}"
    );
    let audit = app
        .get_json(&admin, "/api/v1/admin/audit?subject=rule_settings/quotas")
        .await;
    assert_eq!(audit[0]["action"], "quotas.changed");
    let detail: Value = serde_json::from_str(audit[0]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["before"]["service_centre_yearly_bp"], 5000);
    assert_eq!(detail["after"]["service_centre_yearly_bp"], 6000);
}

#[tokio::test]
async fn sqlite_r_rtn_5_d_rtn_1_months_of_plans_cycle_retry_and_admit_late_households() {
    r_rtn_5_d_rtn_1_months_of_plans_cycle_retry_and_admit_late_households(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_r_rtn_5_d_rtn_1_months_of_plans_cycle_retry_and_admit_late_households() {
    r_rtn_5_d_rtn_1_months_of_plans_cycle_retry_and_admit_late_households(Backend::Postgres).await;
}

/// R-RTN-5 and D-RTN-2 over stored months: a unit does not repeat a household until its cycle
/// has covered the community, no household is sampled twice in a month, an unreachable household
/// is retried first the next month, and a household registered mid-month joins the next cycle.
async fn r_rtn_5_d_rtn_1_months_of_plans_cycle_retry_and_admit_late_households(backend: Backend) {
    let Some((db, config, _dir)) = fresh_database(backend).await else {
        return;
    };
    seed_examples(&db).await;
    let tz = config.time_zone;
    sqlx::query("UPDATE households SET created_at = '2020-01-01T00:00:00.000Z'")
        .execute(db.pool())
        .await
        .unwrap();
    // Departments take 25 % a month: 3 of the 9 households, a cycle every 3 months.
    let settings = QuotaSettings {
        department_monthly_bp: 2_500,
        ..QuotaSettings::default()
    };
    let engineering: i64 = sqlx::query_scalar("SELECT id FROM units WHERE code = 'PMO-BSW-ENG'")
        .fetch_one(db.pool())
        .await
        .unwrap();
    let mut month: Month = "2025-01".parse().unwrap();
    let mut cycle_seen: BTreeMap<(i64, i64), BTreeSet<i64>> = BTreeMap::new();
    let mut retried = None;
    let mut late = None;
    let mut cycles_completed = 0;
    for round in 0..9 {
        let facts = plans::gather(&db, tz, month, settings).await.unwrap();
        if let Some(late) = late {
            let community = &facts.communities[0];
            assert!(community.households.iter().any(|h| h.id == late));
            let eng = community
                .units
                .iter()
                .find(|u| u.unit_id == engineering)
                .unwrap();
            if round == 3 {
                assert!(
                    eng.outside_current_cycle.contains(&late),
                    "registered after the cycle began: waits for the next cycle"
                );
            }
        }
        let plan = plans::plan_month(&facts);
        let stored = store::store_plan(&db, tz, AuditActor::SERVER, &plan)
            .await
            .unwrap();
        assert!(stored.created);
        store::create_documents(&db, tz, month).await.unwrap();
        // Nothing twice in a month across the sampling units.
        let mut this_month = BTreeSet::new();
        for unit in plan.plans.iter().filter(|p| p.is_sampled()) {
            assert_eq!(
                unit.items.len() as u32,
                unit.quota.quota,
                "{month} quota exact"
            );
            for item in &unit.items {
                assert!(
                    this_month.insert(item.household_id),
                    "{month}: twice in a month"
                );
                if matches!(item.reason, plans::sampling::Reason::Retry) {
                    continue; // the same household tried again, not a new sample
                }
                let seen = cycle_seen.entry((unit.unit_id, item.cycle)).or_default();
                assert!(
                    seen.insert(item.household_id),
                    "{month}: unit {} repeated household {} within cycle {}",
                    unit.unit_id,
                    item.household_id,
                    item.cycle
                );
            }
        }
        let eng = plan
            .plans
            .iter()
            .find(|p| p.unit_id == engineering)
            .unwrap();
        if eng.new_cycle && eng.cycle > 1 {
            // A cycle ends only when what it has not covered is unavailable this month (taken
            // by another unit); a household registered after it began waits for the next.
            let covered = &cycle_seen[&(engineering, eng.cycle - 1)];
            for household in &facts.communities[0].households {
                assert!(
                    covered.contains(&household.id)
                        || this_month.contains(&household.id)
                        || Some(household.id) == late,
                    "{month}: cycle {} ended without household {}",
                    eng.cycle - 1,
                    household.id
                );
            }
            cycles_completed += 1;
        }
        if let Some(household) = retried.take() {
            assert_eq!(
                eng.items.len(),
                3,
                "{month} round {round}: {:?}",
                eng.items
                    .iter()
                    .map(|i| (i.household_id, &i.why))
                    .collect::<Vec<_>>()
            );
            let retry = eng
                .items
                .iter()
                .find(|i| i.household_id == household)
                .expect("the unreachable household is in the next round");
            assert!(retry.why.contains("retried"), "{}", retry.why);
        }
        if round == 1 {
            // Engineering cannot reach its first household: three attempts, then unreachable.
            let id: String = sqlx::query_scalar(
                "SELECT follow_up_id FROM routine_plan_items WHERE month = $1 AND unit_id = $2
                 ORDER BY household_id LIMIT 1",
            )
            .bind(month.to_string())
            .bind(engineering)
            .fetch_one(db.pool())
            .await
            .unwrap();
            let mut write = DocWrite::begin(&db, AuditActor::SERVER, tz).await.unwrap();
            let (_, mut follow_up) = write.load::<FollowUp>(&id).await.unwrap().unwrap();
            for n in 0..3 {
                follow_up.unreachable_attempts.push(UnreachableAttempt {
                    id: format!("{n:032x}"),
                    at: follow_up.created_at.clone(),
                    by_staff_id: 1,
                    method: FollowUpMethod::Phone,
                    note: String::new(),
                });
            }
            follow_up.status = FollowUpStatus::Unreachable;
            write
                .store_as_server(&follow_up, "follow_up.unreachable")
                .await
                .unwrap();
            write.commit().await.unwrap();
            retried = follow_up.household_id;
        }
        if round == 2 {
            // A household registered in the middle of this month.
            let registered =
                huifang_protocol::format_time(month.start(tz) + chrono::Duration::days(10));
            let building: i64 = sqlx::query_scalar("SELECT MIN(id) FROM buildings")
                .fetch_one(db.pool())
                .await
                .unwrap();
            let community: i64 = sqlx::query_scalar("SELECT MIN(id) FROM communities")
                .fetch_one(db.pool())
                .await
                .unwrap();
            late = Some(
                sqlx::query_scalar(
                    "INSERT INTO households (community_id, building_id, room, address, created_at, updated_at)
                     VALUES ($1, $2, '999', 'late', $3, $3) RETURNING id",
                )
                .bind(community)
                .bind(building)
                .bind(&registered)
                .fetch_one(db.pool())
                .await
                .unwrap(),
            );
        }
        month = month.next();
    }
    assert!(
        cycles_completed >= 2,
        "nine months of 3 of 9 complete cycles"
    );
    // The late household was sampled once its cycle came.
    let late = late.unwrap();
    assert!(
        cycle_seen
            .iter()
            .any(|((unit, _), seen)| *unit == engineering && seen.contains(&late)),
        "the late household joined a later cycle"
    );
}

/// An instance started with `--no-jobs` (`Config::scheduled_jobs = false`) serves requests and
/// leaves the month's planning to the instances that run the jobs: nothing is planned until one
/// of them starts, which then plans the month by itself.
#[tokio::test]
async fn an_instance_without_jobs_plans_nothing_and_one_with_them_plans_the_month() {
    let (db, config, _dir) = fresh_database(Backend::Sqlite).await.unwrap();
    seed_examples(&db).await;
    // Next month: the households registered now are owed routine follow-ups (R-RTN-1).
    db.clock().advance(chrono::Duration::days(35));
    let months = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM routine_months")
            .fetch_one(db.pool())
            .await
            .unwrap()
    };
    let serving_only = huifang_server::Application::build(
        huifang_server::Config {
            scheduled_jobs: false,
            ..config.clone()
        },
        db.clone(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let base = format!("http://{}", serving_only.local_addr().unwrap());
    tokio::spawn(serving_only.run_until_stopped(std::future::pending()));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert_eq!(months().await, 0, "an instance without jobs plans nothing");

    let with_jobs = huifang_server::Application::build(
        config.clone(),
        db.clone(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    tokio::spawn(with_jobs.run_until_stopped(std::future::pending()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while months().await == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "an instance with jobs plans the month"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

//! The monthly-figures benchmark (issue #8): a company of 334 communities × 3,000 households
//! (1,002,000 households) with a year of work — one information sheet and its follow-up per
//! household and two routine rounds per household, 3,006,000 follow-ups in all, spread over twelve
//! months with every status, rating and lateness — then times the figures of one month as the
//! API and the Service Bulletin compute them.
//!
//! Run: `cargo run --release -p huifang-e2e --example figuresbench` (SQLite in a temporary
//! folder); with `DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres` it creates and
//! afterwards drops a database of its own on that server. `FIGURESBENCH_COMMUNITIES=34` for a
//! company a tenth the size.

#![allow(clippy::unwrap_used)]

use std::time::Instant;

use huifang_core::plans::Month;
use huifang_core::reports::bulletin;
use huifang_core::reports::figures::{self, GroupBy};
use huifang_server::Database;
use huifang_server::{Backend, Config};

#[path = "common/company.rs"]
mod company;

use company::{BUILDINGS, HOUSEHOLDS_PER_BUILDING, fill, fresh_postgres};

/// The year of work: 2025-12 … 2026-11.
const FIRST_MONTH: &str = "2025-12";
const MONTHS: i64 = 12;

async fn run(db: &Database, sql: &str) {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(db.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
}

/// The months as a small table `bench_months (m, month, due_at)`, joined to spread the work.
async fn months_table(db: &Database) {
    run(
        db,
        "CREATE TABLE bench_months (m BIGINT PRIMARY KEY, month TEXT NOT NULL, at TEXT NOT NULL)",
    )
    .await;
    let mut month: Month = FIRST_MONTH.parse().unwrap();
    let mut rows = Vec::new();
    for m in 0..MONTHS {
        rows.push(format!("({m}, '{month}', '{month}-15T02:00:00.000Z')"));
        month = month.next();
    }
    run(
        db,
        &format!(
            "INSERT INTO bench_months (m, month, at) VALUES {}",
            rows.join(", ")
        ),
    )
    .await;
}

/// One sheet per household, and three follow-ups: the sheet's (information) and two routine
/// rounds with their plan items. Generated inside the database from the households, month after
/// month as real work arrives (so a month's rows sit together, as they do in a live database).
async fn generate_work(db: &Database) {
    let empty_bytes = match db.backend() {
        Backend::Sqlite => "X''",
        Backend::Postgres => "'\\x'::bytea",
    };
    let t = company::REGISTERED;
    // A sheet's category and level, from its household (the follow-ups carry them too).
    let category = "CASE h.id % 5 WHEN 0 THEN 'repair' WHEN 1 THEN 'warranty_repair'
                    WHEN 2 THEN 'property_service' WHEN 3 THEN 'other' ELSE 'repair' END";
    let level = "CASE h.id % 7 WHEN 0 THEN 'major' WHEN 1 THEN 'significant' WHEN 2 THEN 'none'
                 ELSE 'ordinary' END";
    // Office units are community × 10; its centre + 1, its departments + 2 … + 5; a unit's staff
    // are unit × 10 + 1 … 3 (see common/company.rs).
    run(
        db,
        &format!(
            "INSERT INTO documents (id, kind, bytes, seq, created_at, updated_at)
             SELECT 's-' || h.id, 'sheet', {empty_bytes}, 1, '{t}', '{t}' FROM households h"
        ),
    )
    .await;
    run(
        db,
        &format!(
            "INSERT INTO sheets (id, number, status, level, category, source, household_id,
                customer_id, community_id, customer_name, contact_phone, customer_address,
                summary, accepted_by, accepting_unit_id, handling_unit_id, accepted_at,
                accepted_month, handled_at, reopened_from, updated_at)
             SELECT 's-' || h.id, NULL,
                CASE h.id % 10 WHEN 0 THEN 'invalid' WHEN 1 THEN 'accepted' ELSE 'handled' END,
                {level},
                {category},
                'phone', h.id, h.id, h.community_id, '业主', '13800000000', h.address, '报修',
                (h.community_id * 10 + 1) * 10 + 1, h.community_id * 10 + 1,
                h.community_id * 10 + 1, m.at, m.month,
                CASE WHEN h.id % 10 >= 2 THEN m.at END, NULL, m.at
             FROM households h JOIN bench_months m ON m.m = h.id % {MONTHS}
             ORDER BY m.m, h.id"
        ),
    )
    .await;
    run(
        db,
        &format!(
            "INSERT INTO documents (id, kind, bytes, seq, created_at, updated_at)
             SELECT 'f-' || h.id || '-' || k.k, 'follow_up', {empty_bytes}, 1, '{t}', '{t}'
             FROM households h CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2) k"
        ),
    )
    .await;
    // Status by a hash of household and round: 7 in 10 completed (3 of 4 on time), one open
    // and overdue, one unreachable and overdue, one still open.
    let r = "((h.id * 2654435761 + k.k * 40503) % 1000003)";
    run(
        db,
        &format!(
            "INSERT INTO follow_ups (id, kind, sheet_id, household_id, customer_id, customer_name,
                assignee_unit_id, assignee_staff_id, rule, status, due_at, due_month, method,
                done_at, done_on_time, rating_handling, rating_efficiency, rating_quality,
                rating_attitude, rating_overall, unreachable_attempts, overdue_at, created_at,
                updated_at, community_id, category, level)
             SELECT 'f-' || h.id || '-' || k.k,
                CASE k.k WHEN 0 THEN 'information' ELSE 'routine' END,
                CASE k.k WHEN 0 THEN 's-' || h.id END,
                h.id, h.id, '业主',
                CASE k.k WHEN 0 THEN h.community_id * 10 + 1
                         ELSE h.community_id * 10 + 2 + (h.id + k.k) % 4 END,
                CASE k.k WHEN 0 THEN (h.community_id * 10 + 1) * 10 + 1 + h.id % 3
                         ELSE (h.community_id * 10 + 2 + (h.id + k.k) % 4) * 10 + 1 + h.id % 3 END,
                CASE k.k WHEN 0 THEN 'R-INF-8' ELSE 'R-RTN-4' END,
                CASE WHEN {r} % 10 < 7 THEN 'completed'
                     WHEN {r} % 10 = 8 THEN 'unreachable' ELSE 'open' END,
                m.at, m.month,
                CASE WHEN {r} % 10 < 7 THEN 'phone' END,
                CASE WHEN {r} % 10 < 7 THEN m.at END,
                CASE WHEN {r} % 10 < 7 THEN
                     CASE WHEN {r} % 4 = 1 THEN 0 ELSE 1 END END,
                CASE WHEN {r} % 10 < 7 THEN 1 + {r} % 5 END,
                CASE WHEN {r} % 10 < 7 THEN 1 + ({r} / 5) % 5 END,
                CASE WHEN {r} % 10 < 7 THEN 1 + ({r} / 25) % 5 END,
                CASE WHEN {r} % 10 < 7 THEN 1 + ({r} / 125) % 5 END,
                CASE WHEN {r} % 10 < 7 THEN 1 + ({r} / 625) % 5 END,
                CASE WHEN {r} % 10 = 8 THEN 3 ELSE 0 END,
                CASE WHEN {r} % 10 IN (7, 8) THEN m.at END,
                '{t}', '{t}', h.community_id,
                CASE k.k WHEN 0 THEN {category} ELSE 'routine' END,
                CASE k.k WHEN 0 THEN {level} ELSE 'none' END
             FROM households h
             CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2) k
             JOIN bench_months m ON m.m = (h.id + k.k * 5) % {MONTHS}
             ORDER BY m.m, h.id, k.k"
        ),
    )
    .await;
    run(
        db,
        &format!(
            "INSERT INTO routine_plan_items (month, unit_id, staff_id, household_id, customer_id,
                sampled, cycle, reason, assignee_staff_id, follow_up_id)
             SELECT m.month, h.community_id * 10 + 2 + (h.id + k.k) % 4, 0, h.id, h.id, 1, 1,
                '{{}}', (h.community_id * 10 + 2 + (h.id + k.k) % 4) * 10 + 1 + h.id % 3,
                'f-' || h.id || '-' || k.k
             FROM households h
             CROSS JOIN (SELECT 1 AS k UNION ALL SELECT 2) k
             JOIN bench_months m ON m.m = (h.id + k.k * 5) % {MONTHS}
             ORDER BY m.m, h.id, k.k"
        ),
    )
    .await;
    run(db, "DROP TABLE bench_months").await;
    run(db, "ANALYZE").await;
}

async fn count(db: &Database, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(db.pool())
        .await
        .unwrap()
}

fn secs(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let communities: i64 = std::env::var("FIGURESBENCH_COMMUNITIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(334);
    let dir = tempfile::tempdir().unwrap();
    // FIGURESBENCH_KEEP=folder keeps the SQLite database there (and the PostgreSQL database
    // undropped), to look at query plans.
    let kept = std::env::var_os("FIGURESBENCH_KEEP").map(std::path::PathBuf::from);
    let server_url = std::env::var("DATABASE_URL").ok();
    let postgres = match &server_url {
        Some(url) => Some(fresh_postgres(url, "figuresbench").await),
        None => None,
    };
    let config = Config::new(
        kept.clone().unwrap_or_else(|| dir.path().to_path_buf()),
        postgres.as_ref().map(|(url, _)| url.clone()),
        "Asia/Shanghai".parse().unwrap(),
    );
    let db = Database::open(config.database_url.as_deref(), &config.data_dir)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let engine = match db.backend() {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    let start = Instant::now();
    fill(&db, communities).await;
    months_table(&db).await;
    generate_work(&db).await;
    println!(
        "{engine}: {} households, {} sheets, {} follow-ups, {} routine plan items generated in {:.0} s",
        count(&db, "households").await,
        count(&db, "sheets").await,
        count(&db, "follow_ups").await,
        count(&db, "routine_plan_items").await,
        secs(start)
    );
    assert_eq!(
        count(&db, "households").await,
        communities * BUILDINGS * HOUSEHOLDS_PER_BUILDING
    );

    let start = Instant::now();
    let differences = huifang_store::rollups::differences(&db).await.unwrap();
    println!(
        "the roll-up against a recount from the projections: {differences:?} cells differ (recount {:.1} s)",
        secs(start)
    );
    assert_eq!(differences, (0, 0));

    let month: Month = "2026-11".parse().unwrap();
    let tz = config.time_zone;
    // The month closed (the bulletin is written after it), and the month still running (the
    // information follow-ups still before their deadline are taken off the 24-hour rate).
    for (when, now) in [
        ("after the month", "2026-12-05T02:00:00Z"),
        ("on its 20th", "2026-11-20T02:00:00Z"),
    ] {
        let db = db
            .clone()
            .with_clock(huifang_protocol::Clock::starting_at(now.parse().unwrap()));
        measure(&db, tz, month, when).await;
    }
    db.close().await;
    if let (Some(url), Some((_, name))) = (server_url, postgres) {
        if kept.is_some() {
            println!("kept the PostgreSQL database {name}");
        } else {
            company::drop_postgres(&url, &name).await;
        }
    }
}

/// The figures of `month` grouped every way, and its bulletin: best and median of 5 runs.
async fn measure(db: &Database, tz: chrono_tz::Tz, month: Month, when: &str) {
    println!("the figures of {month}, {when} (best and median of 5 runs)");
    for (label, by) in [
        ("total", GroupBy::Total),
        ("by reporting unit", GroupBy::TopUnit),
        ("by unit", GroupBy::Unit),
        ("by community", GroupBy::Community),
        ("by category", GroupBy::Category),
        ("by level", GroupBy::Level),
        ("by staff member", GroupBy::Staff),
    ] {
        let mut times = Vec::new();
        let mut groups = 0;
        for _ in 0..5 {
            let start = Instant::now();
            let report = figures::compute(db, month, month, by, None).await.unwrap();
            times.push(secs(start));
            groups = report.groups.len();
        }
        report(label, &mut times, groups);
    }
    let mut times = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let built = bulletin::build(db, tz, month).await.unwrap();
        times.push(secs(start));
        assert!(built.this_month.follow_ups_due > 0);
    }
    report(
        "Service Bulletin (two months, six-month trend, units, overdue)",
        &mut times,
        1,
    );
}

fn report(label: &str, times: &mut [f64], groups: usize) {
    times.sort_by(f64::total_cmp);
    println!(
        "  {label:<62} best {:6.3} s  median {:6.3} s  ({groups} groups)",
        times[0],
        times[times.len() / 2]
    );
}

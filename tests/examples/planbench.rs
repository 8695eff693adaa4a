//! The routine-planning benchmark (issue #7): a company of 200 communities × 3,000 households
//! (30 buildings each, an office with its customer service centre and four departments), planned
//! for two consecutive months. Prints, per month, the time to gather the facts, to decide the
//! plan, to store it, and — separately — to write the follow-up documents.
//!
//! Run: `cargo run --release -p huifang-e2e --example planbench` (SQLite in a temporary folder);
//! with `DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres` it creates and afterwards
//! drops a database of its own on that server. `PLANBENCH_COMMUNITIES=20` for a smaller company,
//! `PLANBENCH_DOCUMENTS=0` to measure the planning without writing the follow-up documents.

#![allow(clippy::unwrap_used)]

use std::time::Instant;

use huifang_server::audit::AuditActor;
use huifang_server::plans::{self, Month, store};
use huifang_server::{Config, Database};
use sqlx::Connection;

const BUILDINGS: i64 = 30;
const HOUSEHOLDS_PER_BUILDING: i64 = 100;
const REGISTERED: &str = "2025-01-01T00:00:00.000Z";

/// Inserts `rows` (each a list of SQL literals) into `table` in multi-row statements.
async fn insert_rows(db: &Database, table: &str, columns: &str, rows: &[String]) {
    for chunk in rows.chunks(1_000) {
        let sql = format!(
            "INSERT INTO {table} ({columns}) VALUES {}",
            chunk.join(", ")
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(db.pool())
            .await
            .unwrap();
    }
}

/// Fills the registry: communities, buildings, households with one customer each, units, staff.
async fn fill(db: &Database, communities: i64) {
    let t = REGISTERED;
    let mut rows = Vec::new();
    for c in 1..=communities {
        rows.push(format!("({c}, '小区{c}', '', '{t}', '{t}')"));
    }
    insert_rows(
        db,
        "communities",
        "id, name, address, created_at, updated_at",
        &rows,
    )
    .await;
    rows.clear();
    for c in 1..=communities {
        for b in 1..=BUILDINGS {
            let id = c * 1_000 + b;
            rows.push(format!("({id}, {c}, '{b}栋', '{t}', '{t}')"));
        }
    }
    insert_rows(
        db,
        "buildings",
        "id, community_id, name, created_at, updated_at",
        &rows,
    )
    .await;
    let mut households = Vec::new();
    let mut customers = Vec::new();
    for c in 1..=communities {
        for b in 1..=BUILDINGS {
            for h in 1..=HOUSEHOLDS_PER_BUILDING {
                let id = (c * 1_000 + b) * 1_000 + h;
                households.push(format!(
                    "({id}, {c}, {}, '{h}', '小区{c}{b}栋{h}室', '{t}', '{t}')",
                    c * 1_000 + b
                ));
                customers.push(format!(
                    "({id}, {id}, '业主{id}', '138{:08}', '{t}', '{t}')",
                    id % 100_000_000
                ));
            }
        }
    }
    insert_rows(
        db,
        "households",
        "id, community_id, building_id, room, address, created_at, updated_at",
        &households,
    )
    .await;
    insert_rows(
        db,
        "customers",
        "id, household_id, name, phone, created_at, updated_at",
        &customers,
    )
    .await;
    let mut units = Vec::new();
    let mut staff = Vec::new();
    let kinds = [
        "customer_service_center",
        "office_department",
        "office_department",
        "office_department",
        "office_department",
    ];
    for c in 1..=communities {
        let office = c * 10;
        units.push(format!(
            "({office}, 'PMO-{c}', '管理处{c}', 'property_office', NULL, {c}, '{t}', '{t}')"
        ));
        staff.push(format!(
            "({office}1, 'head{office}', '主任{c}', 'unit_head', {office}, '{t}', '{t}')"
        ));
        for (n, kind) in kinds.iter().enumerate() {
            let unit = office + 1 + n as i64;
            units.push(format!(
                "({unit}, 'U-{unit}', '部门{unit}', '{kind}', {office}, {c}, '{t}', '{t}')"
            ));
            for s in 1..=3 {
                staff.push(format!(
                    "({unit}{s}, 'staff{unit}-{s}', '员工{unit}-{s}', 'staff', {unit}, '{t}', '{t}')"
                ));
            }
        }
    }
    insert_rows(
        db,
        "units",
        "id, code, name, kind, parent_id, community_id, created_at, updated_at",
        &units,
    )
    .await;
    insert_rows(
        db,
        "staff",
        "id, username, name, role, unit_id, created_at, updated_at",
        &staff,
    )
    .await;
}

/// A fresh PostgreSQL database on the server of `url`, or `None` for SQLite.
async fn fresh_postgres(url: &str) -> (String, String) {
    let (prefix, _) = url.rsplit_once('/').unwrap();
    let name = format!("planbench_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    (format!("{prefix}/{name}"), name)
}

fn secs(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let communities: i64 = std::env::var("PLANBENCH_COMMUNITIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    // PLANBENCH_DOCUMENTS=0 measures the planning alone.
    let write_documents = std::env::var("PLANBENCH_DOCUMENTS").map_or(true, |v| v != "0");
    let dir = tempfile::tempdir().unwrap();
    let server_url = std::env::var("DATABASE_URL").ok();
    let postgres = match &server_url {
        Some(url) => Some(fresh_postgres(url).await),
        None => None,
    };
    let config = Config::new(
        dir.path().to_path_buf(),
        postgres.as_ref().map(|(url, _)| url.clone()),
        "Asia/Shanghai".parse().unwrap(),
    );
    let db = Database::open(config.database_url.as_deref(), &config.data_dir)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let engine = if postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let start = Instant::now();
    fill(&db, communities).await;
    println!(
        "{engine}: {communities} communities × {} households filled in {:.1} s",
        BUILDINGS * HOUSEHOLDS_PER_BUILDING,
        secs(start)
    );
    let tz = config.time_zone;
    let settings = store::load_settings(&db).await.unwrap();
    let mut month: Month = "2026-01".parse().unwrap();
    println!("month    gather   decide   store    planning  | documents  written   per doc");
    for _ in 0..2 {
        let start = Instant::now();
        let facts = plans::gather(&db, tz, month, settings).await.unwrap();
        let gathered = secs(start);
        let start = Instant::now();
        let plan = plans::plan_month(&facts);
        let decided = secs(start);
        let start = Instant::now();
        let stored = store::store_plan(&db, tz, AuditActor::SERVER, &plan)
            .await
            .unwrap();
        let storing = secs(start);
        assert!(stored.created);
        let start = Instant::now();
        let written = if write_documents {
            store::create_documents(&db, tz, month).await.unwrap()
        } else {
            0
        };
        let documents = secs(start);
        println!(
            "{month}  {gathered:6.2} s {decided:6.2} s {storing:6.2} s {:6.2} s   | {documents:7.1} s {written:8} {:6.2} ms",
            gathered + decided + storing,
            documents * 1_000.0 / written.max(1) as f64
        );
        month = month.next();
    }
    db.close().await;
    if let (Some(url), Some((_, name))) = (server_url, postgres) {
        let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
    }
}

//! The routine-planning benchmark (issue #7): a company of 200 communities × 3,000 households
//! (30 buildings each, an office with its customer service centre and four departments), planned
//! for two consecutive months. Prints, per month, the time to gather the facts, to decide the
//! plan, to store it, and — separately — to write the follow-up documents.
//!
//! Run: `cargo run --release -p huifang-e2e --example planbench` (SQLite in a temporary folder);
//! with `DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres` it creates and afterwards
//! drops a database of its own on that server. `PLANBENCH_COMMUNITIES=20` for a smaller company,
//! `PLANBENCH_DOCUMENTS=0` to measure the planning without writing the follow-up documents.
//!
//! Meanwhile phones sync (issue #17): the customer service centres of the first
//! `PLANBENCH_PHONES` communities (100; 0: none), each adding a tracking note and syncing about
//! once a second over HTTP to the server serving the same database in this process. Their
//! latency is printed for a quiet window before each month and for the month's document write.

#![allow(clippy::unwrap_used)]

use std::time::Instant;

use huifang_core::plans::{self, Month, store};
use huifang_store::audit::AuditActor;

#[path = "common/company.rs"]
mod company;
#[path = "common/phones.rs"]
mod phones;
#[path = "common/stats.rs"]
mod stats;

use company::{BUILDINGS, HOUSEHOLDS_PER_BUILDING, fill};

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
    let bench = company::BenchDatabase::open("planbench", dir.path()).await;
    let (db, engine, config) = (bench.db.clone(), bench.engine, bench.config.clone());
    let start = Instant::now();
    fill(&db, communities).await;
    println!(
        "{engine}: {communities} communities × {} households filled in {:.1} s",
        BUILDINGS * HOUSEHOLDS_PER_BUILDING,
        secs(start)
    );
    let phone_count: i64 = std::env::var("PLANBENCH_PHONES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
        .min(communities);
    let phones = if phone_count > 0 && write_documents {
        let (base, holders) =
            phones::serve_and_sign_in(config.clone(), db.clone(), phone_count).await;
        let phone_dir = dir.path().join("phones");
        std::fs::create_dir_all(&phone_dir).unwrap();
        let started =
            tokio::task::spawn_blocking(move || phones::Phones::start(&base, holders, &phone_dir))
                .await
                .unwrap();
        println!("{phone_count} phones syncing about once a second each");
        Some(started)
    } else {
        None
    };
    let tz = config.time_zone;
    let settings = store::load_settings(&db).await.unwrap();
    let mut month: Month = "2026-01".parse().unwrap();
    println!("month    gather   decide   store    planning  | documents  written   per doc");
    for _ in 0..2 {
        if let Some(phones) = &phones {
            let quiet = Instant::now();
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            println!(
                "{month}  phones, quiet:                 {}",
                phones.felt(quiet, Instant::now())
            );
        }
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
        let felt = phones.as_ref().map(|p| p.felt(start, Instant::now()));
        println!(
            "{month}  {gathered:6.2} s {decided:6.2} s {storing:6.2} s {:6.2} s   | {documents:7.1} s {written:8} {:6.2} ms",
            gathered + decided + storing,
            documents * 1_000.0 / written.max(1) as f64
        );
        if let Some(felt) = felt {
            println!("{month}  phones, while written:         {felt}");
        }
        month = month.next();
    }
    if let Some(phones) = phones {
        tokio::task::spawn_blocking(move || phones.stop())
            .await
            .unwrap();
    }
    bench.finish().await;
}

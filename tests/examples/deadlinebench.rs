//! The month-end deadline benchmark (issue #15, item 3): 10,000 open follow-ups fall due at the
//! same instant — 1,000 information follow-ups and 9,000 routine rounds — and one pass of the
//! deadline job marks and escalates them all. Target: all within 5 s, information follow-ups
//! first; routine rounds reach each person as one digest.
//!
//! Beside the figure it prints the machine's limit measured in the same run: single-row commits
//! per second on the same database (each escalation is a document write).
//!
//! Run: `cargo run --release -p huifang-e2e --example deadlinebench` (SQLite in a temporary
//! folder); with `DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres` it creates and drops
//! a database of its own on that server. `DEADLINEBENCH_FOLLOW_UPS=2000` for a smaller run.

#![allow(clippy::unwrap_used)]

use std::time::Instant;

use automerge::AutoCommit;
use huifang_core::imports::{self, ImportKind};
use huifang_protocol::{
    AssignmentRule, FollowUp, FollowUpKind, FollowUpStatus, SCHEMA_VERSION, format_time,
};
use huifang_server::Database;
use huifang_store::audit::AuditActor;
use huifang_store::documents::DocWrite;

#[path = "common/company.rs"]
mod company;

fn example(file: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../server/http/examples")
        .join(file)
}

/// Single-row commits per second on this database, each its own transaction: the physical
/// limit a document write is measured against.
async fn commit_rate(db: &Database) -> f64 {
    sqlx::query("CREATE TABLE IF NOT EXISTS bench_probe (id BIGINT PRIMARY KEY, v TEXT)")
        .execute(db.pool())
        .await
        .unwrap();
    let n = 2_000;
    let start = Instant::now();
    for i in 0..n {
        let mut tx = db.pool().begin().await.unwrap();
        sqlx::query("INSERT INTO bench_probe (id, v) VALUES ($1, $2)")
            .bind(i64::from(i))
            .bind("x")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    f64::from(n) / start.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let total: usize = std::env::var("DEADLINEBENCH_FOLLOW_UPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let information = total / 10;
    let dir = tempfile::tempdir().unwrap();
    let bench = company::BenchDatabase::open("deadlinebench", dir.path()).await;
    let (db, engine, tz) = (bench.db.clone(), bench.engine, bench.config.time_zone);
    for (kind, file) in [
        (ImportKind::Units, "units.csv"),
        (ImportKind::Staff, "staff.csv"),
    ] {
        imports::import(&db, kind, &std::fs::read(example(file)).unwrap(), false)
            .await
            .unwrap();
    }
    // The work lands on the example company's units, on its staff and on units as a whole.
    let units: Vec<i64> = sqlx::query_scalar("SELECT id FROM units ORDER BY id")
        .fetch_all(db.pool())
        .await
        .unwrap();
    let staff: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, unit_id FROM staff WHERE unit_id IS NOT NULL AND role IN ('staff', 'consultant') ORDER BY id",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();

    let due = db.now() - chrono::Duration::minutes(1);
    let start = Instant::now();
    for chunk in (0..total).collect::<Vec<_>>().chunks(500) {
        let mut write = DocWrite::begin(&db, AuditActor::SERVER, tz).await.unwrap();
        for &n in chunk {
            let info = n % 10 == 0 && n / 10 < information;
            let (unit, person) = if n % 3 == 0 {
                (units[n % units.len()], None)
            } else {
                let (id, unit) = staff[n % staff.len()];
                (unit, Some(id))
            };
            let follow_up = FollowUp {
                schema_version: SCHEMA_VERSION,
                id: huifang_protocol::new_document_id(),
                kind: if info {
                    FollowUpKind::Information
                } else {
                    FollowUpKind::Routine
                },
                sheet_id: info.then(huifang_protocol::new_document_id),
                household_id: None,
                customer_id: None,
                customer_name: format!("客户{n}"),
                contact_phone: "13800138000".into(),
                assignee_unit_id: unit,
                assignee_staff_id: person,
                rule: AssignmentRule::ReassignedByHead,
                due_at: format_time(due),
                status: FollowUpStatus::Open,
                outcome: None,
                unreachable_attempts: Vec::new(),
                signature: None,
                cancel_reason: None,
                overdue_at: None,
                escalations: Vec::new(),
                reassignments: Vec::new(),
                created_at: format_time(due - chrono::Duration::days(1)),
                survey_form_id: None,
                survey_response: None,
                photos: Vec::new(),
            };
            write
                .store(&mut AutoCommit::new(), &follow_up, "follow_up.planned")
                .await
                .unwrap();
        }
        write.commit().await.unwrap();
    }
    println!(
        "{engine}: {total} open follow-ups ({information} information) due at one instant, written in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let limit = commit_rate(&db).await;

    let started_at = db.now();
    let start = Instant::now();
    let done = huifang_core::deadlines::escalate_overdue(&db, tz, db.now())
        .await
        .unwrap();
    let took = start.elapsed().as_secs_f64();
    assert_eq!(done.marked(), total, "{done:?}");
    // When the last information follow-up and the last of all were written (each batch's time).
    let last = |kind: Option<&str>| {
        let db = db.clone();
        let kind = kind.map(str::to_owned);
        async move {
            let sql = match kind {
                Some(_) => "SELECT MAX(updated_at) FROM follow_ups WHERE kind = $1",
                None => "SELECT MAX(updated_at) FROM follow_ups WHERE kind <> $1",
            };
            let at: Option<String> = sqlx::query_scalar(sql)
                .bind("information")
                .fetch_one(db.pool())
                .await
                .unwrap();
            let at = huifang_protocol::parse_time("at", &at.unwrap()).unwrap();
            (at - started_at).num_milliseconds() as f64 / 1000.0
        }
    };
    let information_done = last(Some("information")).await;
    let others_done = last(None).await;
    let digests: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE document_id LIKE 'overdue/%'")
            .fetch_one(db.pool())
            .await
            .unwrap();
    let writes_per_second = total as f64 / took;
    println!(
        "{engine}: marked and escalated {} follow-ups in {took:.2} s (target 5 s: {}); information \
         follow-ups' last batch began at {information_done:.2} s, the routine rounds' at {others_done:.2} s; \
         {} digests to {} people",
        done.marked(),
        if took <= 5.0 { "met" } else { "MISSED" },
        done.digests,
        digests
    );
    println!(
        "{engine}: {writes_per_second:.0} escalations/s against {limit:.0} single-row commits/s \
         measured in this run ({:.1}× the commit rate: escalations share transactions)",
        writes_per_second / limit
    );
    bench.finish().await;
}

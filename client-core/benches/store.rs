//! Client-core benchmarks (targets from the client-core issue):
//! - record an outcome (one edit + commit): p50 ≤ 1 ms
//! - open a store holding 10,000 documents and list today's tasks: ≤ 50 ms
//! - on-disk size per follow-up document: ≤ 4 KiB (printed; also asserted in the tests)
//!
//! Run: `cargo bench -p huifang-client --bench store`.

#![allow(clippy::unwrap_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use chrono::{TimeZone, Utc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use huifang_client::{ClientStore, OutcomeInput};
use huifang_protocol::{DocumentKind, FollowUpMethod, SheetCategory};

fn outcome() -> OutcomeInput {
    OutcomeInput {
        method: FollowUpMethod::Phone,
        ratings: common::ratings(5),
        opinions: "满意".into(),
        done_at: None,
    }
}

fn bench(c: &mut Criterion) {
    let now = Utc.with_ymd_and_hms(2026, 11, 28, 2, 0, 0).unwrap();

    // Record an outcome: each iteration completes a fresh follow-up (delivery not timed).
    let dir = tempfile::tempdir().unwrap();
    let store = common::store(&dir);
    let mut next = 0u32;
    c.bench_function("record_outcome", |b| {
        b.iter_batched(
            || {
                next += 1;
                let follow_up =
                    common::follow_up(next, 1, "2026-11-28T09:00:00.000Z", Some(common::ME));
                store
                    .receive_document(
                        &follow_up.id,
                        DocumentKind::FollowUp,
                        &common::server_bytes(&follow_up),
                    )
                    .unwrap();
                follow_up.id
            },
            |id| store.record_outcome(&id, outcome()).unwrap(),
            BatchSize::SmallInput,
        )
    });

    // A store with 10,000 documents: 5,000 sheets and their follow-ups, 1 in 25 due today.
    let big = tempfile::tempdir().unwrap();
    {
        let store = common::store(&big);
        for n in 1..=5_000u32 {
            let due = if n % 25 == 0 {
                "2026-11-28T09:00:00.000Z"
            } else {
                "2026-12-15T09:00:00.000Z"
            };
            common::deliver(
                &store,
                n,
                1 + i64::from(n % 3),
                SheetCategory::Repair,
                due,
                Some(common::ME),
            );
        }
        // A typical follow-up's life on the phone: two failed calls, then the outcome.
        let id = common::id(1);
        store
            .record_unreachable(&id, FollowUpMethod::Phone, "未接".into())
            .unwrap();
        store
            .record_unreachable(&id, FollowUpMethod::Phone, "关机".into())
            .unwrap();
        store.record_outcome(&id, outcome()).unwrap();
        let file = std::fs::metadata(big.path().join("phone.db"))
            .unwrap()
            .len();
        eprintln!(
            "size: one follow-up after two attempts and an outcome: {} bytes; database file: {} bytes for 10,000 documents ({} bytes per document, projections and indexes included)",
            store.stored_bytes(&id).unwrap(),
            file,
            file / 10_000
        );
    }
    let path = big.path().join("phone.db");
    c.bench_function("open_10000_documents_and_list_todays_tasks", |b| {
        b.iter(|| {
            let store = ClientStore::open(&path).unwrap();
            let tasks = store.tasks_due(now).unwrap();
            assert_eq!(tasks.len(), 200);
            tasks
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

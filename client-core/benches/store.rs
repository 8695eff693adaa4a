//! Client-core benchmarks (targets from the client-core issue):
//! - record an outcome (one edit + commit): p50 ≤ 1 ms
//! - open a store holding 10,000 documents and list today's tasks: ≤ 50 ms
//! - on-disk size per follow-up document: ≤ 4 KiB (printed; also asserted in the tests)
//!
//! Each on an encrypted store (as on every phone) and, beside it, an unencrypted one.
//!
//! Run: `cargo bench -p huifang-client --bench store`.

#![allow(clippy::unwrap_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;

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

/// The store at `path`, encrypted (as on every phone) or not (the comparison).
fn open(path: &Path, encrypted: bool) -> ClientStore {
    if encrypted {
        ClientStore::open(path, &common::key()).unwrap()
    } else {
        ClientStore::open_unencrypted(path).unwrap()
    }
}

fn variant(encrypted: bool) -> &'static str {
    if encrypted {
        "encrypted"
    } else {
        "unencrypted"
    }
}

fn bench(c: &mut Criterion) {
    for encrypted in [true, false] {
        record_outcome(c, encrypted);
    }
    for encrypted in [true, false] {
        open_and_list(c, encrypted);
    }
}

/// Record an outcome: each iteration completes a fresh follow-up (delivery not timed).
fn record_outcome(c: &mut Criterion, encrypted: bool) {
    let dir = tempfile::tempdir().unwrap();
    let store = common::signed_in(open(&dir.path().join("phone.db"), encrypted));
    let mut next = 0u32;
    c.bench_function(&format!("record_outcome/{}", variant(encrypted)), |b| {
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
}

/// A store with 10,000 documents: 5,000 sheets and their follow-ups, 1 in 25 due today.
fn open_and_list(c: &mut Criterion, encrypted: bool) {
    let now = Utc.with_ymd_and_hms(2026, 11, 28, 2, 0, 0).unwrap();
    let big = tempfile::tempdir().unwrap();
    let path = big.path().join("phone.db");
    {
        let store = common::signed_in(open(&path, encrypted));
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
        let file = std::fs::metadata(&path).unwrap().len();
        eprintln!(
            "size ({}): one follow-up after two attempts and an outcome: {} bytes; database file: {} bytes for 10,000 documents ({} bytes per document, projections and indexes included)",
            variant(encrypted),
            store.stored_bytes(&id).unwrap(),
            file,
            file / 10_000
        );
    }
    c.bench_function(
        &format!(
            "open_10000_documents_and_list_todays_tasks/{}",
            variant(encrypted)
        ),
        |b| {
            b.iter(|| {
                let store = open(&path, encrypted);
                let tasks = store.tasks_due(now).unwrap();
                assert_eq!(tasks.len(), 200);
                tasks
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);

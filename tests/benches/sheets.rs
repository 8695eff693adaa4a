//! Accepting and handling a sheet end to end on SQLite: document writes, projections, numbering,
//! routing and the assignment rules creating the follow-up, audit entries, all in their
//! transactions. Run: `cargo bench -p huifang-e2e --bench sheets`.

#![allow(clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use huifang_core::imports::{self, ImportKind};
use huifang_core::sheets::{self, AcceptSheet, HandleSheet};
use huifang_protocol::{ComplaintLevel, InformationSource, SheetCategory};
use huifang_server::{AppState, Config, Database};

fn example(file: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../server/http/examples")
        .join(file)
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (state, caller, customer) = runtime.block_on(async {
        let config = Config::new(
            dir.path().to_path_buf(),
            None,
            "Asia/Shanghai".parse().unwrap(),
        );
        let db = Database::open(None, &config.data_dir).await.unwrap();
        db.migrate().await.unwrap();
        for (kind, file) in [
            (ImportKind::Units, "units.csv"),
            (ImportKind::Staff, "staff.csv"),
            (ImportKind::Households, "households.csv"),
        ] {
            imports::import(&db, kind, &std::fs::read(example(file)).unwrap(), false)
                .await
                .unwrap();
        }
        let staff: i64 = sqlx::query_scalar("SELECT id FROM staff WHERE username = 'bsw.csc.01'")
            .fetch_one(db.pool())
            .await
            .unwrap();
        let customer: i64 = sqlx::query_scalar("SELECT id FROM customers ORDER BY id LIMIT 1")
            .fetch_one(db.pool())
            .await
            .unwrap();
        let state = AppState::new(config, db);
        let token = state.sessions().issue(staff, "bench").await.unwrap().token;
        let caller = state.sessions().authenticate(&token).await.unwrap();
        (state, caller, customer)
    });

    let mut group = c.benchmark_group("sheets");
    group.throughput(Throughput::Elements(1));
    group.bench_function("accept_and_handle_with_rules_sqlite", |b| {
        b.to_async(&runtime).iter(|| async {
            let request = AcceptSheet {
                id: None,
                accepted_at: None,
                level: ComplaintLevel::Ordinary,
                category: SheetCategory::Repair,
                source: InformationSource::Phone,
                household_id: None,
                customer_id: Some(customer),
                customer_name: None,
                contact_phone: None,
                customer_address: None,
                items: vec!["厨房水管漏水".into()],
            };
            let (sheet, _) = sheets::accept(state.company(), &caller, request)
                .await
                .unwrap();
            let handled = HandleSheet {
                result: "已更换水管".into(),
                investigation: None,
                handled_at: None,
            };
            sheets::handle(state.company(), &caller, &sheet.id, handled)
                .await
                .unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

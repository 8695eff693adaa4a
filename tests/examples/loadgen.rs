//! The sync load generator. Starts a real server (SQLite in a temporary folder, or PostgreSQL
//! when `DATABASE_URL` is set), fills it, drives it over HTTP and prints a table.
//!
//! Run: `cargo run --release -p huifang-e2e --example loadgen`
//! (smaller: `LOADGEN_SCALE=0.1 cargo run --release -p huifang-e2e --example loadgen`; only the
//! edit syncs of many devices: `LOADGEN_ONLY_DEVICES=1`, their number and edits each with
//! `LOADGEN_DEVICES` and `LOADGEN_EDITS`; only the first syncs: `LOADGEN_ONLY_FIRST_SYNC=1`).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Instant;

use automerge::AutoCommit;
use huifang_client::{ClientStore, HttpTransport, Session, StoreKey};
use huifang_core::imports::{self, ImportKind};
use huifang_core::sheets::{self, AcceptSheet, HandleSheet};
use huifang_protocol::{
    ComplaintLevel, Document, DocumentKind, InformationSource, OutgoingChanges, Role, SYNC_VERSION,
    Sheet, SheetCategory, SyncRequest, SyncResponse, TrackingNote, decode_message, encode_message,
};
use huifang_server::{AppState, Application, Config, Database};

#[path = "common/stats.rs"]
mod stats;
use stats::percentile;
fn example(file: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../server/http/examples")
        .join(file)
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<f64>()
                    .unwrap_or(0.0)
            })
        })
        .unwrap_or(0.0)
        / 1024.0
}

/// A server, its state (for filling it fast) and a staff member whose phone syncs.
struct Bench {
    base: String,
    state: AppState,
    caller: huifang_core::auth::Caller,
    token: String,
    staff_id: i64,
    unit_id: i64,
    work_units: Vec<i64>,
}

async fn start(dir: &std::path::Path) -> Bench {
    let config = Config::new(
        dir.to_path_buf(),
        std::env::var("DATABASE_URL").ok(),
        "Asia/Shanghai".parse().unwrap(),
    );
    let db = Database::open(config.database_url.as_deref(), &config.data_dir)
        .await
        .unwrap();
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
    let state = AppState::new(config.clone(), db.clone());
    let app = Application::build(config, db.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let staff_id: i64 = sqlx::query_scalar("SELECT id FROM staff WHERE username = 'bsw.csc.01'")
        .fetch_one(db.pool())
        .await
        .unwrap();
    let token = state
        .sessions()
        .issue(staff_id, "loadgen")
        .await
        .unwrap()
        .token;
    let caller = state.sessions().authenticate(&token).await.unwrap();
    let unit_id = caller.unit.unwrap().id;
    let work_units = caller.work_units.clone();
    Bench {
        base,
        state,
        caller,
        token,
        staff_id,
        unit_id,
        work_units,
    }
}

impl Bench {
    /// Accepts and handles `pairs` sheets: 2 × `pairs` documents in the staff member's scope.
    async fn fill(&self, pairs: usize) {
        self.fill_with(pairs, true).await;
    }

    /// Accepts `count` sheets, and handles them (creating their follow-ups) when `handled`.
    async fn fill_with(&self, count: usize, handled: bool) {
        let pairs = count;
        let customer: i64 = sqlx::query_scalar("SELECT id FROM customers ORDER BY id LIMIT 1")
            .fetch_one(self.state.db().pool())
            .await
            .unwrap();
        for n in 0..pairs {
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
                items: vec![format!("负载测试问题 {n}")],
            };
            let (sheet, _) = sheets::accept(self.state.company(), &self.caller, request)
                .await
                .unwrap();
            if handled {
                let request = HandleSheet {
                    result: "已处理".into(),
                    investigation: None,
                    handled_at: None,
                };
                sheets::handle(self.state.company(), &self.caller, &sheet.id, request)
                    .await
                    .unwrap();
            }
        }
    }

    fn phone(&self, dir: &std::path::Path) -> (ClientStore, HttpTransport) {
        let store = ClientStore::open(
            dir.join(format!("phone-{}.db", rand_suffix())),
            &StoreKey::generate(),
        )
        .unwrap();
        store
            .sign_in(Session {
                server_url: self.base.clone(),
                token: self.token.clone(),
                staff_id: self.staff_id,
                username: "bsw.csc.01".into(),
                name: "loadgen".into(),
                role: Role::Staff,
                unit_id: Some(self.unit_id),
                work_units: self.work_units.clone(),
                time_zone: "Asia/Shanghai".into(),
            })
            .unwrap();
        (store, HttpTransport::new(&self.base).unwrap())
    }
}

/// The server's own time spent in `POST /api/v1/sync` so far (sum of seconds, count), from
/// its Prometheus histogram.
fn server_sync_time(base: &str) -> (f64, f64) {
    let text = {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::blocking::get(format!("{base}/metrics"))
    }
    .unwrap()
    .text()
    .unwrap();
    let value = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name) && l.contains("route=\"/api/v1/sync\""))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (
        value("http_request_duration_seconds_sum"),
        value("http_request_duration_seconds_count"),
    )
}

/// A test HTTP client. reqwest is built without a default TLS provider (the phone's transport
/// configures ring itself), so one is installed first.
fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn main() {
    let scale: f64 = std::env::var("LOADGEN_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let scaled = |n: usize| ((n as f64 * scale).round() as usize).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bench = runtime.block_on(start(dir.path()));
    let mut rows: Vec<(String, String, String)> = Vec::new();

    // First sync of a fresh device: 2,000 then 20,000 documents.
    let mut filled = 0;
    let sizes = if std::env::var_os("LOADGEN_ONLY_DEVICES").is_some() {
        vec![]
    } else {
        vec![
            (scaled(2_000), "≤ 1 s"),
            (scaled(5_000), "report"),
            (scaled(20_000), "≤ 5 s, linear"),
        ]
    };
    for (target, goal) in sizes {
        runtime.block_on(bench.fill((target - filled) / 2));
        filled = target;
        let (store, http) = bench.phone(dir.path());
        let (server_before, _) = server_sync_time(&bench.base);
        let started = Instant::now();
        let report = store.sync_now(&http).unwrap();
        let took = started.elapsed();
        let (server_after, _) = server_sync_time(&bench.base);
        rows.push((
            format!(
                "first sync of {} documents to a fresh device ({} pages)",
                report.received, report.pages
            ),
            format!(
                "{:.2} s ({:.0} docs/s, {} KiB received; server {:.2} s, phone the rest)",
                took.as_secs_f64(),
                report.received as f64 / took.as_secs_f64(),
                report.bytes_received / 1024,
                server_after - server_before
            ),
            goal.into(),
        ));
        if target == scaled(5_000) {
            // No-op syncs with the whole scope already on the phone.
            let mut times = Vec::new();
            let (sum_before, count_before) = server_sync_time(&bench.base);
            for _ in 0..100 {
                let started = Instant::now();
                let noop = store.sync_now(&http).unwrap();
                assert_eq!(noop.received, 0);
                times.push(started.elapsed());
            }
            let (sum_after, count_after) = server_sync_time(&bench.base);
            times.sort();
            rows.push((
                format!(
                    "no-op sync, {} documents in scope (100 syncs)",
                    report.received
                ),
                format!(
                    "server mean {:.2} ms; round trip incl. phone p50 {:.1} ms, p99 {:.1} ms",
                    (sum_after - sum_before) / (count_after - count_before).max(1.0) * 1e3,
                    percentile(&times, 0.5).as_secs_f64() * 1e3,
                    percentile(&times, 0.99).as_secs_f64() * 1e3
                ),
                "≤ 10 ms server time".into(),
            ));
        }
    }

    if std::env::var_os("LOADGEN_ONLY_FIRST_SYNC").is_some() {
        print_table(&rows, scale);
        return;
    }

    // One edit on the server reaching an online device through the live channel.
    let latency = runtime.block_on(async {
        let client = http_client();
        let mut stream = client
            .get(format!("{}/api/v1/sync/events", bench.base))
            .bearer_auth(&bench.token)
            .send()
            .await
            .unwrap();
        let started = Instant::now();
        bench.fill(1).await;
        let mut text = String::new();
        while !text.contains("event: sync") {
            let chunk = stream.chunk().await.unwrap().unwrap();
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        started.elapsed()
    });
    rows.push((
        "server edit → live channel event (same instance)".into(),
        format!(
            "{:.1} ms (includes the edit itself)",
            latency.as_secs_f64() * 1e3
        ),
        "≤ 200 ms".into(),
    ));

    // Many devices, each syncing edits to its own sheet.
    // LOADGEN_DEVICES and LOADGEN_EDITS change the crowd (scripts/bench's full mode: 2,000 × 5).
    let from_env = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
    };
    let devices = from_env("LOADGEN_DEVICES").unwrap_or_else(|| scaled(500));
    let edits = from_env("LOADGEN_EDITS").unwrap_or(10);
    let (sync_rate, p50, p99, errors) = runtime.block_on(async {
        bench.fill_with(devices, false).await;
        let client = http_client();
        let (first, reference_version): (SyncResponse, Option<String>) = {
            let request = SyncRequest {
                version: SYNC_VERSION,
                cursor: 0,
                changes: vec![],
                page_size: 2_000,
                reference_version: None,
                scope_version: None,
                device: None,
            };
            let mut docs = Vec::new();
            let mut request = request;
            loop {
                let body = client
                    .post(format!("{}/api/v1/sync", bench.base))
                    .bearer_auth(&bench.token)
                    .body(encode_message(&request).unwrap())
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                let page: SyncResponse = decode_message(&body).unwrap();
                docs.extend(page.documents.clone());
                request.cursor = page.cursor;
                if let Some(reference) = &page.reference {
                    request.reference_version = Some(reference.version.clone());
                }
                request.scope_version = page.scope_version.clone();
                if !page.more {
                    break (
                        SyncResponse {
                            documents: docs,
                            ..page
                        },
                        request.reference_version,
                    );
                }
            }
        };
        let sheets: Vec<(String, Vec<u8>)> = first
            .documents
            .into_iter()
            .filter(|d| d.kind == DocumentKind::Sheet)
            .filter(|d| {
                Sheet::load(&d.bytes)
                    .is_ok_and(|(_, s)| s.status == huifang_protocol::SheetStatus::Accepted)
            })
            .take(devices)
            .map(|d| (d.document_id, d.bytes))
            .collect();
        // Each phone sends what a real one holds: the reference version and scope it was given.
        let reference_version = Arc::new(reference_version);
        let scope_version = Arc::new(first.scope_version.clone());
        let base = Arc::new(bench.base.clone());
        let token = Arc::new(bench.token.clone());
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (id, bytes) in sheets {
            let (client, base, token) = (client.clone(), base.clone(), token.clone());
            let (reference_version, scope_version) =
                (reference_version.clone(), scope_version.clone());
            tasks.push(tokio::spawn(async move {
                let mut doc = AutoCommit::load(&bytes).unwrap();
                let mut latencies = Vec::new();
                let mut errors = 0;
                for n in 0..edits {
                    let heads = doc.get_heads();
                    let mut sheet = Sheet::hydrate_from(&doc).unwrap();
                    sheet.tracking.push(TrackingNote {
                        id: format!("{:032x}", rand_suffix() + n as u128),
                        at: huifang_protocol::format_time(chrono::Utc::now()),
                        by_staff_id: sheet.accepted_by,
                        note: format!("第{n}次"),
                    });
                    sheet.reconcile_into(&mut doc).unwrap();
                    let request = SyncRequest {
                        version: SYNC_VERSION,
                        cursor: i64::MAX / 2,
                        changes: vec![OutgoingChanges {
                            document_id: id.clone(),
                            kind: DocumentKind::Sheet,
                            changes: doc.save_after(&heads),
                        }],
                        page_size: 1,
                        reference_version: (*reference_version).clone(),
                        scope_version: (*scope_version).clone(),
                        device: None,
                    };
                    let sent = Instant::now();
                    let response = client
                        .post(format!("{base}/api/v1/sync"))
                        .bearer_auth(token.as_str())
                        .body(encode_message(&request).unwrap())
                        .send()
                        .await;
                    match response {
                        Ok(r) if r.status().is_success() => {
                            let answer: SyncResponse =
                                decode_message(&r.bytes().await.unwrap()).unwrap();
                            if answer.committed.len() != 1 || !answer.rejections.is_empty() {
                                errors += 1;
                            }
                        }
                        _ => errors += 1,
                    }
                    latencies.push(sent.elapsed());
                }
                (latencies, errors)
            }));
        }
        let mut all = Vec::new();
        let mut errors = 0;
        for task in tasks {
            let (latencies, e) = task.await.unwrap();
            all.extend(latencies);
            errors += e;
        }
        let took = started.elapsed();
        all.sort();
        (
            all.len() as f64 / took.as_secs_f64(),
            percentile(&all, 0.5),
            percentile(&all, 0.99),
            errors,
        )
    });
    rows.push((
        format!("{devices} devices × {edits} edit syncs, all at once"),
        format!(
            "{sync_rate:.0} syncs/s, p50 {:.0} ms, p99 {:.0} ms, {errors} errors",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        ),
        "errors 0".into(),
    ));
    rows.push((
        "peak RSS of the process (server and simulated devices)".into(),
        format!("{:.0} MiB", peak_rss_mib()),
        "report".into(),
    ));

    print_table(&rows, scale);
}

fn print_table(rows: &[(String, String, String)], scale: f64) {
    let backend = if std::env::var("DATABASE_URL").is_ok() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!("\nHuifang sync load ({backend}, scale {scale})\n");
    println!("| measurement | result | target |");
    println!("|---|---|---|");
    for (what, result, target) in rows {
        println!("| {what} | {result} | {target} |");
    }
}

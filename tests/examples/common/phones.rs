//! Phones syncing while a benchmark runs (issue #17: what staff in the field feel while the server
//! does bulk work): each is a customer service centre's staff member with the client core's own
//! store and HTTP transport, accepting a sheet or adding a tracking note to it and syncing about
//! once a second, every sync's latency kept.

#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use huifang_client::{ClientStore, HttpTransport, NewSheet, Session, StoreKey};
use huifang_protocol::{ComplaintLevel, InformationSource, Role, SheetCategory};
use huifang_server::{AppState, Application, Config, Database};

/// One phone's staff member: who, their session, and a household of their community.
pub struct Holder {
    pub staff_id: i64,
    pub username: String,
    pub token: String,
    pub unit_id: Option<i64>,
    pub work_units: Vec<i64>,
    pub household_id: i64,
}

/// The phones of a run, syncing until [`Phones::stop`].
pub struct Phones {
    stop: Arc<AtomicBool>,
    syncs: Arc<Mutex<Vec<(Instant, Duration)>>>,
    errors: Arc<AtomicUsize>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// What the phones felt in a window of time.
pub struct Felt {
    pub syncs: usize,
    pub errors: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl std::fmt::Display for Felt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} syncs, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms, {} errors",
            self.syncs,
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            self.max.as_secs_f64() * 1e3,
            self.errors
        )
    }
}

/// Serves `db` over HTTP on a random port (the server the phones talk to, in this process, as
/// the planner and the deadline job run in the server's process) and signs in the customer
/// service centre staff of the first `count` communities of the generated company.
pub async fn serve_and_sign_in(config: Config, db: Database, count: i64) -> (String, Vec<Holder>) {
    // The benchmark runs the job it measures itself; the server's own would plan this month.
    let config = Config {
        scheduled_jobs: false,
        ..config
    };
    let state = AppState::new(config.clone(), db.clone());
    let app = Application::build(config, db, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let mut holders = Vec::new();
    for community in 1..=count {
        // The generated company: community c's customer service centre is unit c·10+1, its
        // first staff member that unit's id followed by 1; households are (c·1000+b)·1000+h.
        let unit = community * 10 + 1;
        let staff_id: i64 = format!("{unit}1").parse().unwrap();
        let token = state
            .sessions()
            .issue(staff_id, "planbench phone")
            .await
            .unwrap()
            .token;
        let caller = state.sessions().authenticate(&token).await.unwrap();
        holders.push(Holder {
            staff_id,
            username: format!("staff{unit}-1"),
            token,
            unit_id: caller.unit.map(|u| u.id),
            work_units: caller.work_units.clone(),
            household_id: (community * 1_000 + 1) * 1_000 + 1,
        });
    }
    (base, holders)
}

fn new_sheet(household_id: i64) -> NewSheet {
    NewSheet {
        level: ComplaintLevel::Ordinary,
        category: SheetCategory::Other,
        source: InformationSource::HomeVisit,
        household_id: Some(household_id),
        customer_id: None,
        customer_name: None,
        contact_phone: None,
        customer_address: None,
        items: vec!["楼道灯不亮".into()],
    }
}

impl Phones {
    /// Each phone takes its scope in a first sync; returns once all have, and they begin.
    pub fn start(base: &str, holders: Vec<Holder>, dir: &std::path::Path) -> Phones {
        let stop = Arc::new(AtomicBool::new(false));
        let syncs = Arc::new(Mutex::new(Vec::new()));
        let errors = Arc::new(AtomicUsize::new(0));
        let ready = Arc::new(Barrier::new(holders.len() + 1));
        let count = holders.len() as u32;
        let threads = holders
            .into_iter()
            .enumerate()
            .map(|(index, holder)| {
                // Phones spread over the second, as a field force's do (started together, they
                // would all sync at the same instant, every second).
                let offset = Duration::from_secs(1) * index as u32 / count;
                let (stop, syncs, errors, ready) =
                    (stop.clone(), syncs.clone(), errors.clone(), ready.clone());
                let (base, path) = (
                    base.to_owned(),
                    dir.join(format!("phone-{}.db", holder.staff_id)),
                );
                std::thread::spawn(move || {
                    let store = ClientStore::open(path, &StoreKey::generate()).unwrap();
                    store
                        .sign_in(Session {
                            server_url: base.clone(),
                            token: holder.token,
                            staff_id: holder.staff_id,
                            username: holder.username,
                            name: "phone".into(),
                            role: Role::Staff,
                            unit_id: holder.unit_id,
                            work_units: holder.work_units,
                            time_zone: "Asia/Shanghai".into(),
                        })
                        .unwrap();
                    let http = HttpTransport::new(&base).unwrap();
                    store.sync_now(&http).unwrap();
                    store.sync_now(&http).unwrap();
                    ready.wait();
                    std::thread::sleep(offset);
                    let mut sheet: Option<String> = None;
                    while !stop.load(Ordering::Relaxed) {
                        let started = Instant::now();
                        // Each edit sync carries one change: a sheet accepted at a door, then a
                        // tracking note on it (documents stay the size of real ones).
                        let edited = match sheet.take() {
                            None => store.accept_sheet(new_sheet(holder.household_id)).map(|s| {
                                sheet = Some(s.id);
                            }),
                            Some(id) => store
                                .add_tracking_note(&id, "已上门查看".into())
                                .map(|_| ()),
                        };
                        let synced = edited.and_then(|()| store.sync_now(&http));
                        match synced {
                            Ok(report) if report.committed == 1 => {
                                syncs.lock().unwrap().push((started, started.elapsed()))
                            }
                            _ => {
                                errors.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        std::thread::sleep(
                            Duration::from_secs(1).saturating_sub(started.elapsed()),
                        );
                    }
                })
            })
            .collect();
        ready.wait();
        Phones {
            stop,
            syncs,
            errors,
            threads,
        }
    }

    /// The syncs that started in `[from, to)`, and the errors so far (taken, so each window
    /// counts its own).
    pub fn felt(&self, from: Instant, to: Instant) -> Felt {
        let mut times: Vec<Duration> = self
            .syncs
            .lock()
            .unwrap()
            .iter()
            .filter(|(at, _)| *at >= from && *at < to)
            .map(|(_, took)| *took)
            .collect();
        times.sort();
        Felt {
            syncs: times.len(),
            errors: self.errors.swap(0, Ordering::Relaxed),
            p50: super::stats::percentile(&times, 0.5),
            p99: super::stats::percentile(&times, 0.99),
            max: times.last().copied().unwrap_or_default(),
        }
    }

    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            thread.join().unwrap();
        }
    }
}

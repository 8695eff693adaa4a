//! Spawning the real application on a random port over a fresh database of either backend.

use huifang_core::imports::{self, ImportKind};
use huifang_protocol::Clock;
use huifang_server::{Application, Config, Database};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

pub const PASSWORD: &str = "change-me-now";
pub const ADMIN_PASSWORD: &str = "admin-password-1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running server over its own database, with the example company imported.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub db: Database,
    pub config: Config,
    /// The server's clock (also the phones' in these tests): started at the test's instant.
    pub clock: Clock,
    _dir: tempfile::TempDir,
}

/// When and where a test runs: the instant its clock starts at and the company's time zone.
#[derive(Debug, Clone, Copy)]
pub struct Instant {
    pub at: &'static str,
    pub time_zone: &'static str,
}

impl Instant {
    pub fn start(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(self.at)
            .expect("an RFC 3339 instant")
            .with_timezone(&chrono::Utc)
    }
}

/// An ordinary weekday morning in the middle of a month, in Shanghai: where every test starts
/// unless it names another instant, so no test depends on today's date.
pub const ORDINARY: Instant = Instant {
    at: "2026-06-10T02:00:00Z",
    time_zone: "Asia/Shanghai",
};

/// The instants that date-sensitive suites also run at: a month's last evening in Shanghai, New
/// Year's Eve, the last day of February in a common and in a leap year, and the evening before
/// daylight saving starts in New York (a 24-hour deadline that crosses the missing hour).
pub const EDGES: [Instant; 5] = [
    Instant {
        at: "2026-11-30T13:30:00Z",
        time_zone: "Asia/Shanghai",
    },
    Instant {
        at: "2026-12-31T14:00:00Z",
        time_zone: "Asia/Shanghai",
    },
    Instant {
        at: "2027-02-28T13:00:00Z",
        time_zone: "Asia/Shanghai",
    },
    Instant {
        at: "2028-02-29T13:00:00Z",
        time_zone: "Asia/Shanghai",
    },
    Instant {
        at: "2027-03-14T02:30:00Z",
        time_zone: "America/New_York",
    },
];

fn silence_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        huifang_server::telemetry::init(huifang_server::telemetry::LogFormat::Text);
    }
}

/// Opens an empty, migrated database of `backend` (None when PostgreSQL is not configured).
pub async fn fresh_database(backend: Backend) -> Option<(Database, Config, tempfile::TempDir)> {
    fresh_database_at(backend, ORDINARY).await
}

/// Opens an empty, migrated database whose clock starts at `instant`, in its time zone.
pub async fn fresh_database_at(
    backend: Backend,
    instant: Instant,
) -> Option<(Database, Config, tempfile::TempDir)> {
    silence_logs();
    let dir = tempfile::tempdir().expect("temp dir");
    let url = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(huifang_store::testing::fresh_postgres_url().await?),
    };
    let time_zone = instant.time_zone.parse().expect("known time zone");
    let mut config = Config::new(dir.path().to_path_buf(), url, time_zone);
    // The tests run the deadline job themselves, at the instants they choose: a pass in the
    // background would move the figures between a test's two readings.
    config.deadline_interval = std::time::Duration::from_secs(3600);
    let db = Database::open(config.database_url.as_deref(), &config.data_dir)
        .await
        .expect("open database")
        .with_clock(Clock::starting_at(instant.start()));
    db.migrate().await.expect("migrate");
    Some((db, config, dir))
}

/// Imports the example files shipped in server/http/examples (units, staff, households) and creates
/// an administrator `root`.
pub async fn seed_examples(db: &Database) {
    for (kind, file) in [
        (ImportKind::Units, "units.csv"),
        (ImportKind::Staff, "staff.csv"),
        (ImportKind::Households, "households.csv"),
    ] {
        let bytes = std::fs::read(example(file)).expect("example file");
        imports::import(db, kind, &bytes, false)
            .await
            .expect("example imports");
    }
    let registry = huifang_server::registry::RegistryStore::new(db.clone());
    registry
        .create_staff(huifang_server::registry::NewStaff {
            username: "root".into(),
            name: "Root".into(),
            phone: None,
            role: huifang_protocol::Role::Admin,
            unit_id: None,
            password_hash: Some(
                huifang_core::auth::hash_password(ADMIN_PASSWORD.into())
                    .await
                    .expect("hash"),
            ),
        })
        .await
        .expect("create admin");
}

pub fn example(file: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../server/http/examples")
        .join(file)
}

/// Starts the server on a random port over a fresh database seeded with the examples.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_at(backend, ORDINARY).await
}

/// Starts the server with its clock at `instant`, over a fresh database seeded with the examples.
pub async fn spawn_app_at(backend: Backend, instant: Instant) -> Option<TestApp> {
    let (db, config, dir) = fresh_database_at(backend, instant).await?;
    seed_examples(&db).await;
    let app = Application::build(
        config.clone(),
        db.clone(),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("bind");
    let addr = app.local_addr().expect("local addr");
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    Some(TestApp {
        base: format!("http://{addr}"),
        client: {
            // reqwest is built without a default TLS provider (the phone picks ring itself).
            let _ = rustls::crypto::ring::default_provider().install_default();
            reqwest::Client::new()
        },
        clock: db.clock().clone(),
        db,
        config,
        _dir: dir,
    })
}

impl TestApp {
    /// Starts another server instance over the same database, with its own pool: what a second
    /// node behind a load balancer is. Returns its base URL.
    pub async fn second_instance(&self) -> String {
        self.instance_with(self.config.clone()).await
    }

    /// Another instance over the same database, configured as `config` says (a company policy
    /// such as the oldest app accepted). Returns its base URL.
    pub async fn instance_with(&self, config: Config) -> String {
        let db = Database::open(self.config.database_url.as_deref(), &self.config.data_dir)
            .await
            .expect("open")
            .with_clock(self.clock.clone());
        let app = Application::build(config, db, "127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind");
        let addr = app.local_addr().expect("local addr");
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        format!("http://{addr}")
    }

    /// Now, on the server's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn login_response(&self, username: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .json(
                &json!({ "username": username, "password": password, "device_name": "test phone" }),
            )
            .send()
            .await
            .expect("request")
    }

    /// Signs in and returns the bearer token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let response = self.login_response(username, password).await;
        assert_eq!(response.status(), StatusCode::OK, "login of {username}");
        let body: Value = response.json().await.expect("json");
        body["token"].as_str().expect("token").to_owned()
    }

    pub async fn admin_token(&self) -> String {
        self.login("root", ADMIN_PASSWORD).await
    }

    pub async fn get(&self, token: &str, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// GET expecting 200, returning the JSON body.
    pub async fn get_json(&self, token: &str, path: &str) -> Value {
        let response = self.get(token, path).await;
        let status = response.status();
        let body: Value = response.json().await.expect("json");
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    /// POST a JSON body.
    pub async fn post(&self, token: &str, path: &str, body: Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// POST expecting `status`, returning the JSON body.
    pub async fn post_ok(&self, token: &str, path: &str, body: Value, status: StatusCode) -> Value {
        let response = self.post(token, path, body).await;
        let got = response.status();
        let body: Value = response.json().await.expect("json");
        assert_eq!(got, status, "POST {path}: {body}");
        body
    }

    pub async fn staff_id(&self, username: &str) -> i64 {
        sqlx::query_scalar("SELECT id FROM staff WHERE username = $1")
            .bind(username)
            .fetch_one(self.db.pool())
            .await
            .expect("staff exists")
    }

    pub async fn unit_id(&self, code: &str) -> i64 {
        sqlx::query_scalar("SELECT id FROM units WHERE code = $1")
            .bind(code)
            .fetch_one(self.db.pool())
            .await
            .expect("unit exists")
    }

    pub async fn customer_id(&self, name: &str) -> i64 {
        sqlx::query_scalar("SELECT id FROM customers WHERE name = $1")
            .bind(name)
            .fetch_one(self.db.pool())
            .await
            .expect("customer exists")
    }

    /// The change sequence: it moves with every stored document change, and only then.
    pub async fn change_seq(&self) -> i64 {
        sqlx::query_scalar("SELECT value FROM change_sequence WHERE id = 1")
            .fetch_one(self.db.pool())
            .await
            .expect("change sequence")
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(self.db.pool())
            .await
            .expect("count")
    }

    /// Every registry table's row count, to prove a refused request changed nothing.
    pub async fn registry_counts(&self) -> Vec<i64> {
        let mut counts = Vec::new();
        for table in [
            "communities",
            "buildings",
            "households",
            "customers",
            "units",
            "staff",
            "consultant_customers",
        ] {
            counts.push(self.count(table).await);
        }
        counts
    }
}

/// Asserts an error response: status, `error` code, and that the message mentions `needle`.
pub async fn assert_error(
    response: Response,
    status: StatusCode,
    code: &str,
    needle: &str,
) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "content type {content_type}"
    );
    let body: Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["error"], code, "{body}");
    let message = body["message"].as_str().expect("message");
    assert!(
        message.contains(needle),
        "message {message:?} should mention {needle:?}"
    );
    body
}

/// Runs each named test on SQLite and on PostgreSQL (skipped, saying so, without a URL).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let app = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite)
                        .await
                        .expect("SQLite is always available");
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(app) = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

/// Runs each named test on both engines at the ordinary instant and at each of [`EDGES`] (a
/// month's last evening, New Year's Eve, February's last day, a daylight-saving change).
#[macro_export]
macro_rules! at_every_edge {
    ($($name:ident),* $(,)?) => {
        mod edges {
            $(
                #[tokio::test]
                async fn $name() {
                    for instant in std::iter::once($crate::helpers::ORDINARY)
                        .chain($crate::helpers::EDGES)
                    {
                        for backend in [$crate::helpers::Backend::Sqlite, $crate::helpers::Backend::Postgres] {
                            if let Some(app) = $crate::helpers::spawn_app_at(backend, instant).await {
                                eprintln!("{} at {} ({}) on {backend:?}", stringify!($name), instant.at, instant.time_zone);
                                super::$name(app).await;
                            }
                        }
                    }
                }
            )*
        }
    };
}

/// Percent-encodes a query value (Chinese search text).
pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

//! Databases for tests (feature `testing`): the store's own suite and the HTTP suite open their
//! engines the same way, each test in an empty database of its own.

use std::sync::atomic::{AtomicU32, Ordering};

use huifang_protocol::Clock;
use sqlx::Connection;

use crate::{Backend, Database};

/// A fresh PostgreSQL database for one test, named after `HUIFANG_TEST_DATABASE_URL`'s own (so
/// the test script can drop everything a run made), or `None` with a line saying the test was
/// skipped when that variable is not set.
pub async fn fresh_postgres_url() -> Option<String> {
    let Ok(base) = std::env::var("HUIFANG_TEST_DATABASE_URL") else {
        // Written past the test harness's capture, so the skip shows in every run's output.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"SKIPPED: PostgreSQL test not run: HUIFANG_TEST_DATABASE_URL is not set\n",
        );
        return None;
    };
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let Some((prefix, run_database)) = base.rsplit_once('/') else {
        panic!("HUIFANG_TEST_DATABASE_URL must end in /database");
    };
    let name = format!(
        "{}_t{}_{}",
        run_database.split('?').next().unwrap_or("huifang"),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
    );
    let mut admin = sqlx::PgConnection::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("connect to HUIFANG_TEST_DATABASE_URL: {e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("create test database {name}: {e}"));
    admin.close().await.ok();
    Some(format!("{prefix}/{name}"))
}

/// An empty, migrated database of `backend` whose clock is `clock`, with the directory that holds
/// it (SQLite's file); `None` when PostgreSQL is not configured.
pub async fn fresh_database(
    backend: Backend,
    clock: Clock,
) -> Option<(Database, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let url = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(fresh_postgres_url().await?),
    };
    let db = Database::open(url.as_deref(), dir.path())
        .await
        .unwrap_or_else(|e| panic!("open the {backend:?} database: {e}"))
        .with_clock(clock);
    db.migrate()
        .await
        .unwrap_or_else(|e| panic!("migrate the {backend:?} database: {e}"));
    Some((db, dir))
}

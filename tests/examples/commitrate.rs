//! The physical limit edit syncs are measured against (issue #17): how many single-row commits
//! per second this machine's databases take right now, through the same driver and settings as
//! the server's document writer — SQLite in WAL mode with `synchronous = FULL` (a commit is on
//! disk when it returns), PostgreSQL with its default `synchronous_commit = on`, from one client
//! and from sixteen at once.
//!
//! Run: `cargo run --release -p huifang-e2e --example commitrate` (PostgreSQL too when
//! `DATABASE_URL` names an empty database it may create a table in). Prints one line per
//! measurement: `commitrate <engine> <clients> <commits/s>`.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

const FOR: Duration = Duration::from_secs(3);

/// Commits one row per transaction from `clients` connections at once for [`FOR`]; commits/s.
async fn rate(pool: &AnyPool, clients: usize) -> f64 {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = pool.acquire().await.unwrap();
            if pool.any_kind_is_sqlite() {
                conn.execute("PRAGMA synchronous = FULL").await.unwrap();
            }
            let mut commits = 0u64;
            while started.elapsed() < FOR {
                conn.execute("BEGIN").await.unwrap();
                sqlx::query("INSERT INTO commit_rate (client, at) VALUES ($1, $2)")
                    .bind(client as i64)
                    .bind(commits as i64)
                    .execute(&mut *conn)
                    .await
                    .unwrap();
                conn.execute("COMMIT").await.unwrap();
                commits += 1;
            }
            commits
        }));
    }
    let mut commits = 0;
    for task in tasks {
        commits += task.await.unwrap();
    }
    commits as f64 / started.elapsed().as_secs_f64()
}

trait Kind {
    fn any_kind_is_sqlite(&self) -> bool;
}

impl Kind for AnyPool {
    fn any_kind_is_sqlite(&self) -> bool {
        self.connect_options().database_url.scheme() == "sqlite"
    }
}

async fn prepare(url: &str, clients: u32) -> AnyPool {
    let pool = AnyPoolOptions::new()
        .max_connections(clients)
        .connect(url)
        .await
        .unwrap();
    if pool.any_kind_is_sqlite() {
        pool.execute("PRAGMA journal_mode = WAL").await.unwrap();
    }
    pool.execute("DROP TABLE IF EXISTS commit_rate")
        .await
        .unwrap();
    pool.execute("CREATE TABLE commit_rate (client BIGINT NOT NULL, at BIGINT NOT NULL)")
        .await
        .unwrap();
    pool
}

fn main() {
    sqlx::any::install_default_drivers();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("commits.db");
        let pool = prepare(&format!("sqlite://{}?mode=rwc", file.display()), 1).await;
        println!("commitrate sqlite 1 {:.0}", rate(&pool, 1).await);
        pool.close().await;
        if let Ok(url) = std::env::var("DATABASE_URL") {
            let pool = prepare(&url, 16).await;
            println!("commitrate postgres 1 {:.0}", rate(&pool, 1).await);
            println!("commitrate postgres 16 {:.0}", rate(&pool, 16).await);
            pool.execute("DROP TABLE commit_rate").await.unwrap();
            pool.close().await;
        }
    });
}

//! Copies of the embedded SQLite database (#19): taken while the server serves, restored into an
//! empty data directory. Blobs (signatures' strokes, photos) and the audit chain live in the
//! database, so a copy holds them. PostgreSQL is copied with its own tools (`pg_dump` and
//! `pg_restore`, as the README says); this module refuses to pretend otherwise.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::{AnyConnection, Connection};

use crate::db::{Backend, Database};

/// The database file of a data directory.
pub const DATABASE_FILE: &str = "huifang.db";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "this server runs on PostgreSQL: back it up with pg_dump and restore with pg_restore (see the README)"
    )]
    Postgres,
    #[error("{} exists already; a backup never overwrites a file", .0.display())]
    Exists(PathBuf),
    #[error("{} holds a database already; restore into an empty data directory", .0.display())]
    NotEmpty(PathBuf),
    #[error("{} is not a whole Huifang backup: {reason}", .path.display())]
    NotABackup { path: PathBuf, reason: String },
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The file beside `file` a copy is written to before it is renamed into place.
fn partial(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// Writes a consistent copy of the database as it is at one instant to `file` (SQLite's
/// `VACUUM INTO` reads one snapshot while writers go on, and leaves a compact file with no log).
/// It is written beside `file` first and renamed, so a file of that name is always whole.
/// Returns its size in bytes.
pub async fn back_up(db: &Database, file: &Path) -> Result<u64, BackupError> {
    if db.backend() != Backend::Sqlite {
        return Err(BackupError::Postgres);
    }
    if file.exists() {
        return Err(BackupError::Exists(file.to_owned()));
    }
    let writing = partial(file);
    if writing.exists() {
        // A copy cut off by a crash: nobody else writes under this name.
        std::fs::remove_file(&writing).map_err(io(&writing))?;
    }
    let target = writing.to_str().ok_or_else(|| BackupError::Io {
        path: writing.clone(),
        source: std::io::Error::other("the path is not UTF-8"),
    })?;
    sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(db.pool())
        .await?;
    std::fs::File::open(&writing)
        .and_then(|f| f.sync_all())
        .map_err(io(&writing))?;
    std::fs::rename(&writing, file).map_err(io(file))?;
    Ok(std::fs::metadata(file).map_err(io(file))?.len())
}

/// Puts backup `file` in place as `data_dir`'s database, only into a directory without one, and
/// only a whole Huifang database (SQLite's integrity check passes, its migrations are recorded).
pub async fn restore(file: &Path, data_dir: &Path) -> Result<(), BackupError> {
    let database = data_dir.join(DATABASE_FILE);
    if database.exists() {
        return Err(BackupError::NotEmpty(database));
    }
    check(file).await?;
    std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
    let writing = partial(&database);
    std::fs::copy(file, &writing).map_err(io(&writing))?;
    std::fs::File::open(&writing)
        .and_then(|f| f.sync_all())
        .map_err(io(&writing))?;
    std::fs::rename(&writing, &database).map_err(io(&database))?;
    Ok(())
}

/// Whether `file` is a whole Huifang database, read without changing it.
async fn check(file: &Path) -> Result<(), BackupError> {
    let not_a_backup = |reason: String| BackupError::NotABackup {
        path: file.to_owned(),
        reason,
    };
    if !file.is_file() {
        return Err(not_a_backup("no such file".into()));
    }
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=ro", file.display());
    let options = sqlx::any::AnyConnectOptions::from_str(&url)?;
    let mut conn = AnyConnection::connect_with(&options)
        .await
        .map_err(|e| not_a_backup(e.to_string()))?;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| not_a_backup(e.to_string()))?;
    if integrity != "ok" {
        return Err(not_a_backup(format!("integrity check: {integrity}")));
    }
    let migrations: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await
        .map_err(|_| not_a_backup("it has no Huifang migrations".into()))?;
    if migrations == 0 {
        return Err(not_a_backup("it has no Huifang migrations".into()));
    }
    conn.close().await?;
    Ok(())
}

/// How scheduled backups are taken: every `every`, into `dir`, keeping the newest `keep`.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub dir: PathBuf,
    pub every: Duration,
    pub keep: usize,
}

/// Takes a backup at each tick of `schedule` (named by the time it is taken, so names sort by
/// age) and removes the oldest beyond `keep`. A failed backup is logged and tried at the next
/// tick; serving goes on.
pub fn spawn_scheduled(db: Database, schedule: Schedule) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(schedule.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await; // the first tick is now: the first copy after one interval
        loop {
            ticks.tick().await;
            match scheduled_backup(&db, &schedule).await {
                Ok((file, size)) => tracing::info!(file = %file.display(), size, "backup taken"),
                Err(e) => tracing::error!(error = %e, "scheduled backup failed"),
            }
        }
    });
}

async fn scheduled_backup(
    db: &Database,
    schedule: &Schedule,
) -> Result<(PathBuf, u64), BackupError> {
    std::fs::create_dir_all(&schedule.dir).map_err(io(&schedule.dir))?;
    // Wall-clock time: a backup's name says when it was really taken.
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let file = schedule.dir.join(format!("huifang-{stamp}.db"));
    let size = back_up(db, &file).await?;
    let mut kept: Vec<PathBuf> = std::fs::read_dir(&schedule.dir)
        .map_err(io(&schedule.dir))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("huifang-") && n.ends_with(".db"))
        })
        .collect();
    kept.sort();
    let surplus = kept.len().saturating_sub(schedule.keep.max(1));
    for old in &kept[..surplus] {
        std::fs::remove_file(old).map_err(io(old))?;
    }
    Ok((file, size))
}

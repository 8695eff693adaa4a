//! The database: one sqlx `Any` pool over either an embedded SQLite file or PostgreSQL.
//!
//! All queries are written once in the SQL both engines accept (`$1` placeholders, `ON CONFLICT`,
//! `RETURNING`); the two schemas live in `migrations/sqlite` and `migrations/postgres`.
//! Values crossing the pool are integers, text and bytes only, and times are UTC RFC 3339 text.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use huifang_protocol::{Clock, format_time};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

/// A transaction on the pool, for writes that are not document writes (sign-in counts, imports).
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// What a read runs on: a pooled connection or a transaction, dereferenced.
pub use sqlx::AnyConnection;

/// A connection of the pool, for reads that go together outside a write.
pub type Connection = sqlx::pool::PoolConnection<sqlx::Any>;

/// Commits a transaction begun with [`Database::begin`].
pub async fn commit(tx: Tx) -> Result<(), crate::StoreError> {
    Ok(tx.commit().await?)
}

/// Rolls back a transaction begun with [`Database::begin`]: nothing it wrote stays.
pub async fn rollback(tx: Tx) -> Result<(), crate::StoreError> {
    Ok(tx.rollback().await?)
}

/// Which engine a pool talks to, for the few places where their SQL differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Why the database could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("DATABASE_URL must start with postgres:// or postgresql:// (got scheme {0:?})")]
    UnsupportedUrl(String),
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("installing the monthly roll-up failed: {0}")]
    Rollup(String),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
}

/// The pool plus what kind of database is behind it. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
    /// The newest committed change-sequence number this process knows of: live channels wait on
    /// it (see `sync::events`).
    changes: std::sync::Arc<tokio::sync::watch::Sender<i64>>,
    /// Document writes of this process queue here, in order, and share its connection's
    /// commits (`crate::writer`): SQLite's busy handler is neither fair nor quick under
    /// contention, and a commit's flush is paid once for many writes.
    writer: crate::writer::Writer,
    /// What this process keeps in memory about the database, each trusted while fresh.
    memo: std::sync::Arc<crate::memo::Memo>,
    /// The server's one "now": every stored time, document write, rule and job reads it, so a
    /// test (or a rehearsal) that starts it at an instant moves all of them together.
    clock: Clock,
}

impl Database {
    /// Opens PostgreSQL when `database_url` is given, else the SQLite file `data_dir/huifang.db`
    /// (created with its directory when missing, in WAL mode). Does not migrate.
    pub async fn open(database_url: Option<&str>, data_dir: &Path) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        match database_url {
            Some(url) => {
                let scheme = url.split(':').next().unwrap_or_default();
                if scheme != "postgres" && scheme != "postgresql" {
                    return Err(DbError::UnsupportedUrl(scheme.to_owned()));
                }
                let options = AnyConnectOptions::from_str(url)
                    .map_err(DbError::Connect)?
                    .log_statements(tracing::log::LevelFilter::Debug);
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await
                    .map_err(DbError::Connect)?;
                let changes = std::sync::Arc::new(tokio::sync::watch::Sender::new(0));
                let writer = crate::writer::Writer::new(&pool, None, changes.clone())
                    .await
                    .map_err(DbError::Connect)?;
                Ok(Database {
                    pool,
                    backend: Backend::Postgres,
                    changes,
                    writer,
                    memo: std::sync::Arc::new(crate::memo::Memo::new()),
                    clock: Clock::system(),
                })
            }
            None => {
                std::fs::create_dir_all(data_dir).map_err(|source| DbError::DataDir {
                    path: data_dir.display().to_string(),
                    source,
                })?;
                let file = data_dir.join("huifang.db");
                let url = format!("sqlite://{}?mode=rwc", file.display());
                let options = AnyConnectOptions::from_str(&url)
                    .map_err(DbError::Connect)?
                    .log_statements(tracing::log::LevelFilter::Debug);
                let pool = AnyPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            // Foreign keys are on by default in sqlx; WAL readers never block the
                            // writer. Pages are read through a shared memory map and each
                            // connection caches 16 MiB (SQLite's default of 2 MiB made a
                            // million-household company's writes reread their index pages
                            // through system calls).
                            conn.execute(
                                "PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000;
                                 PRAGMA mmap_size = 1073741824; PRAGMA cache_size = -16384;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await
                    .map_err(DbError::Connect)?;
                // WAL is a property of the file: set once, it stays.
                sqlx::query("PRAGMA journal_mode = WAL")
                    .execute(&pool)
                    .await
                    .map_err(DbError::Connect)?;
                let changes = std::sync::Arc::new(tokio::sync::watch::Sender::new(0));
                // The writer commits with full synchronous commits: a document write
                // acknowledged to a phone survives a power cut. It copies the log back into
                // the database every 64 MiB rather than every 4 MiB: a batch of the planner's
                // documents filled the default at each commit, and each copy is a flush.
                let writer = crate::writer::Writer::new(
                    &pool,
                    Some("PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 16384;"),
                    changes.clone(),
                )
                .await
                .map_err(DbError::Connect)?;
                Ok(Database {
                    pool,
                    backend: Backend::Sqlite,
                    changes,
                    writer,
                    memo: std::sync::Arc::new(crate::memo::Memo::new()),
                    clock: Clock::system(),
                })
            }
        }
    }

    /// The same database read with `clock` as its "now" (the system clock unless a test or a
    /// rehearsal says otherwise).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Now, from the server's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Now, as stored.
    pub fn now_text(&self) -> String {
        format_time(self.clock.now())
    }

    /// A connection of the pool, for several reads in a row.
    pub async fn connection(&self) -> Result<Connection, crate::StoreError> {
        Ok(self.pool.acquire().await?)
    }

    /// Begins a transaction that is not a document write (sign-in counts, imports).
    pub async fn begin(&self) -> Result<Tx, crate::StoreError> {
        Ok(self.pool.begin().await?)
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers a trivial query (for `/readyz`).
    pub async fn ping(&self) -> Result<(), crate::StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Waits for this process's turn at the document writer and ends any batch it has open, for
    /// a write outside documents that must not interleave with them (the sign-in throttle's
    /// counts): held, no document write runs, and the database's write lock is free.
    pub async fn write_turn(&self) -> crate::writer::Turn {
        let mut turn = self.writer.turn().await;
        turn.settle().await;
        turn
    }

    /// Lets the document writer keep a batch open up to `longest` while writes keep arriving
    /// (for tests that must see a batch passed on from one write to the next).
    #[cfg(feature = "testing")]
    pub async fn hold_write_batches_up_to(&self, longest: Duration) {
        self.writer.hold_batches_up_to(longest).await;
    }

    pub(crate) fn writer(&self) -> &crate::writer::Writer {
        &self.writer
    }

    /// Announces a committed change-sequence number to this process's live channels.
    pub fn announce_change(&self, seq: i64) {
        crate::writer::announce(&self.changes, seq);
    }

    /// Bumped by every change this process makes to staff, units or sessions: what is kept in
    /// memory about them from before is stale.
    pub fn registry_generation(&self) -> u64 {
        self.memo.registry_generation()
    }

    /// Notes a change to staff, units or sessions (see [`Database::registry_generation`]).
    pub fn note_registry_change(&self) {
        self.memo.note_registry_change();
    }

    /// The same pool as another server instance would see it: nothing kept in memory shared
    /// with this one (for tests of what instances see of each other).
    pub fn clone_without_memory(&self) -> Self {
        Database {
            memo: std::sync::Arc::new(crate::memo::Memo::new()),
            ..self.clone()
        }
    }

    pub(crate) fn memo(&self) -> &crate::memo::Memo {
        &self.memo
    }

    /// A receiver that wakes whenever a newer change-sequence number is announced.
    pub fn watch_changes(&self) -> tokio::sync::watch::Receiver<i64> {
        self.changes.subscribe()
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Parses a stored time; stored times are always written by [`format_time`] (UTC RFC 3339 with
/// milliseconds, so text order is time order), the same format documents and the wire use.
/// A protocol code read back from a column (`what` names it in the error): a code no release
/// wrote means the database holds something it should not.
pub fn stored_code<T>(what: &str, code: &str) -> Result<T, crate::StoreError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    code.parse::<T>()
        .map_err(|e| crate::StoreError::corrupt(format!("stored {what}: {e}")))
}

pub fn parse_stored_time(text: &str) -> Option<DateTime<Utc>> {
    huifang_protocol::parse_time("stored time", text).ok()
}

pub use crate::error::is_unique_violation;

/// A value bound to a dynamically built query.
#[derive(Debug, Clone)]
pub enum SqlArg {
    Int(i64),
    Text(String),
}

/// `$first, $first+1, …` for `count` bound values (both engines number them so).
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A `WHERE` clause built from optional filters, numbering placeholders `$1, $2, …` the way
/// both engines accept (sqlx's `QueryBuilder` writes `?` for `Any`, which PostgreSQL refuses).
#[derive(Debug, Default)]
pub struct Conditions {
    clauses: Vec<String>,
    args: Vec<SqlArg>,
}

impl Conditions {
    /// Adds a condition in which each `?` takes the next of `args`.
    pub fn add(&mut self, clause: &str, args: impl IntoIterator<Item = SqlArg>) -> &mut Self {
        let mut numbered = String::with_capacity(clause.len() + 8);
        let mut args = args.into_iter();
        for ch in clause.chars() {
            if ch == '?' {
                if let Some(arg) = args.next() {
                    self.args.push(arg);
                }
                numbered.push_str(&format!("${}", self.args.len()));
            } else {
                numbered.push(ch);
            }
        }
        self.clauses.push(numbered);
        self
    }

    /// One of `columns` contains `text` literally (a search box).
    pub fn add_contains(&mut self, columns: &[&str], text: &str) -> &mut Self {
        let pattern = contains_pattern(text);
        self.add(
            &like_any(columns),
            columns.iter().map(|_| SqlArg::Text(pattern.clone())),
        )
    }

    /// `WHERE a AND b …`, or nothing when there are no conditions.
    pub fn where_sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// Binds the arguments, in order, to a query built over [`Conditions::where_sql`].
    pub fn bind<'q, O>(
        &self,
        mut query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments> {
        for arg in &self.args {
            query = match arg {
                SqlArg::Int(v) => query.bind(*v),
                SqlArg::Text(v) => query.bind(v.clone()),
            };
        }
        query
    }
}

/// How many rows of a group meet `condition`, as a `BIGINT` on both engines (PostgreSQL's `SUM`
/// of integers is `NUMERIC`, which `Any` cannot decode; an empty group gives 0, not NULL).
pub fn count_where(condition: &str) -> String {
    format!("CAST(COALESCE(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END), 0) AS BIGINT)")
}

/// The type of a column filled by [`insert_rows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Int,
    Text,
    /// Bytes, written into the JSON as lowercase hex.
    Bytes,
}

/// Rows per statement in [`insert_rows`].
const JSON_ROWS_PER_STATEMENT: usize = 5_000;

/// Inserts many rows in few statements: each chunk of rows travels as one JSON array of arrays
/// (one bound parameter) that the database unpacks (`json_each` on SQLite,
/// `jsonb_array_elements` on PostgreSQL). Binding thousands of parameters instead costs more
/// than the insert itself on both engines through sqlx. `columns` name and type each position.
pub async fn insert_rows(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    table: &str,
    columns: &[(&str, ColumnType)],
    rows: &[serde_json::Value],
) -> Result<(), crate::StoreError> {
    write_rows(conn, backend, table, columns, rows, None).await
}

/// As [`insert_rows`], where a row whose `key` column is already there takes the new values of
/// the `update` columns (an upsert).
pub async fn upsert_rows(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    table: &str,
    columns: &[(&str, ColumnType)],
    (key, update): (&str, &[&str]),
    rows: &[serde_json::Value],
) -> Result<(), crate::StoreError> {
    let updates: Vec<String> = update
        .iter()
        .map(|name| format!("{name} = excluded.{name}"))
        .collect();
    // SQLite needs a WHERE before ON CONFLICT after a SELECT, to tell it from a join's ON.
    let conflict = format!(
        " WHERE true ON CONFLICT ({key}) DO UPDATE SET {}",
        updates.join(", ")
    );
    write_rows(conn, backend, table, columns, rows, Some(&conflict)).await
}

/// The expressions that unpack each column of a JSON array of rows bound as `$1`, and the
/// source they read (see [`insert_rows`]).
fn json_values(backend: Backend, columns: &[(&str, ColumnType)]) -> (Vec<String>, &'static str) {
    let values = columns
        .iter()
        .enumerate()
        .map(|(n, (_, kind))| match (backend, kind) {
            (Backend::Sqlite, ColumnType::Bytes) => format!("unhex(value ->> {n})"),
            (Backend::Sqlite, _) => format!("value ->> {n}"),
            (Backend::Postgres, ColumnType::Text) => format!("r ->> {n}"),
            (Backend::Postgres, ColumnType::Int) => format!("(r ->> {n})::bigint"),
            (Backend::Postgres, ColumnType::Bytes) => format!("decode(r ->> {n}, 'hex')"),
        })
        .collect();
    let source = match backend {
        Backend::Sqlite => "json_each($1)",
        Backend::Postgres => "jsonb_array_elements($1::jsonb) AS r",
    };
    (values, source)
}

/// `SELECT … FROM …` giving the rows of a JSON array of arrays bound as `$1`, one column per
/// entry of `columns` under its name: a table to join or to insert from with more than
/// [`insert_rows`] can say (computed columns, `UPDATE … FROM`).
pub fn json_rows(backend: Backend, columns: &[(&str, ColumnType)]) -> String {
    let (values, source) = json_values(backend, columns);
    let named: Vec<String> = values
        .iter()
        .zip(columns)
        .map(|(value, (name, _))| format!("{value} AS {name}"))
        .collect();
    format!("SELECT {} FROM {source}", named.join(", "))
}

/// A JSON array of arrays as one bound parameter for [`json_rows`].
pub fn json_param(rows: &[serde_json::Value]) -> Result<String, crate::StoreError> {
    Ok(serde_json::to_string(rows).map_err(|e| sqlx::Error::Encode(e.into()))?)
}

async fn write_rows(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    table: &str,
    columns: &[(&str, ColumnType)],
    rows: &[serde_json::Value],
    conflict: Option<&str>,
) -> Result<(), crate::StoreError> {
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let (values, source) = json_values(backend, columns);
    let sql = format!(
        "INSERT INTO {table} ({}) SELECT {} FROM {source}{}",
        names.join(", "),
        values.join(", "),
        conflict.unwrap_or_default()
    );
    for chunk in rows.chunks(JSON_ROWS_PER_STATEMENT) {
        let json = serde_json::to_string(chunk).map_err(|e| sqlx::Error::Encode(e.into()))?;
        sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(json)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A protocol enum's code as an SQL literal (`'completed'`): SQL names statuses, kinds and roles
/// through the protocol's enums, never by hand-typed strings (codes are `snake_case` ASCII, so
/// quoting them is safe).
pub fn code<T: huifang_protocol::Labelled>(value: T) -> String {
    format!("'{}'", value.code())
}

/// `'a', 'b'` for `IN (…)`, from the protocol's enums.
pub fn codes<T: huifang_protocol::Labelled>(values: &[T]) -> String {
    values
        .iter()
        .map(|v| code(*v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Integers listed inline for `IN (…)`; only for ids from the database or the session, never
/// from request text. An empty list gives `NULL`, which matches nothing.
pub fn id_list(ids: &[i64]) -> String {
    if ids.is_empty() {
        "NULL".to_owned()
    } else {
        ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
    }
}

/// `(a LIKE ? ESCAPE '\' OR b LIKE ? …)`: one of `columns` holds the text whose
/// [`contains_pattern`] is bound once per column. With `contains_pattern`, the one place the
/// escape character is named.
pub fn like_any(columns: &[&str]) -> String {
    let each: Vec<String> = columns
        .iter()
        .map(|column| format!("{column} LIKE ? ESCAPE '\\'"))
        .collect();
    format!("({})", each.join(" OR "))
}

/// A `LIKE` pattern matching `text` anywhere, with `%`, `_` and `\` taken literally
/// (see [`like_any`]).
pub fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_number_placeholders_in_order() {
        let mut c = Conditions::default();
        c.add("a = ?", [SqlArg::Int(1)]);
        c.add(
            "(b LIKE ? OR c LIKE ?)",
            [SqlArg::Text("x".into()), SqlArg::Text("x".into())],
        );
        assert_eq!(c.where_sql(), "WHERE a = $1 AND (b LIKE $2 OR c LIKE $3)");
        assert!(Conditions::default().where_sql().is_empty());
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn timestamps_sort_as_text() {
        let early = parse_stored_time("2026-01-02T03:04:05.006Z").unwrap();
        assert_eq!(format_time(early), "2026-01-02T03:04:05.006Z");
        assert!(format_time(early) < format_time(early + chrono::Duration::milliseconds(1)));
    }
}

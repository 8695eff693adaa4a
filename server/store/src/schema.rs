//! Bringing a database to the schema this build expects: the migrations of its engine (the
//! repository's top-level `migrations/`), then the monthly roll-up's triggers
//! ([`crate::rollups`]), which are generated from the measures rather than written in a
//! migration.

use sqlx::migrate::Migrator;

use crate::db::{Backend, Database, DbError};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");

impl Database {
    /// Applies every migration not yet applied, then installs the roll-up's triggers if they
    /// changed. Safe to run on every start.
    pub async fn migrate(&self) -> Result<(), DbError> {
        let migrator = match self.backend() {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(self.pool()).await?;
        crate::rollups::install(self)
            .await
            .map_err(|e| DbError::Rollup(e.to_string()))?;
        Ok(())
    }
}

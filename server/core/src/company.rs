//! What every domain operation works in: the company's database (with the server's clock) and its
//! time zone. The HTTP layer, the jobs and the command line each hold one; nothing here knows
//! which of them is calling.

use chrono_tz::Tz;
use huifang_store::Database;
use huifang_store::registry::RegistryStore;

/// The company's database and time zone. Cheap to clone.
#[derive(Clone)]
pub struct Company {
    db: Database,
    time_zone: Tz,
    registry: RegistryStore,
    /// The oldest app version whose syncs are taken (`huifang serve --min-app-version`).
    min_app_version: Option<Vec<u32>>,
}

impl Company {
    pub fn new(db: Database, time_zone: Tz) -> Self {
        Company {
            registry: RegistryStore::new(db.clone()),
            db,
            time_zone,
            min_app_version: None,
        }
    }

    /// The same company refusing syncs from apps older than `version` (dotted numbers).
    pub fn with_min_app_version(mut self, version: Option<Vec<u32>>) -> Self {
        self.min_app_version = version;
        self
    }

    pub fn min_app_version(&self) -> Option<&Vec<u32>> {
        self.min_app_version.as_ref()
    }

    pub fn db(&self) -> &Database {
        &self.db
    }

    /// The zone the company's days, months and deadlines are counted in.
    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    pub fn registry(&self) -> &RegistryStore {
        &self.registry
    }
}

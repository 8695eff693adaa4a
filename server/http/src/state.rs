//! What every handler can reach: the company the domain works in, the configuration, the session
//! store and the sign-in throttle. Below every area's routes; the router (`app.rs`) is above them.

use std::sync::Arc;

use huifang_core::Company;
use huifang_core::auth::{LoginThrottle, SessionStore};
use huifang_store::db::Database;
use huifang_store::registry::RegistryStore;

use crate::config::Config;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    company: Company,
    config: Config,
    sessions: SessionStore,
    throttle: LoginThrottle,
}

impl AppState {
    pub fn new(config: Config, db: Database) -> Self {
        AppState {
            inner: Arc::new(Inner {
                sessions: SessionStore::new(db.clone(), config.session_ttl),
                throttle: LoginThrottle::new(db.clone()),
                company: Company::new(db, config.time_zone)
                    .with_min_app_version(config.min_app_version.clone()),
                config,
            }),
        }
    }

    /// The company the domain's operations work in (database and time zone).
    pub fn company(&self) -> &Company {
        &self.inner.company
    }
    pub fn db(&self) -> &Database {
        self.inner.company.db()
    }
    pub fn config(&self) -> &Config {
        &self.inner.config
    }
    pub fn sessions(&self) -> &SessionStore {
        &self.inner.sessions
    }
    pub fn throttle(&self) -> &LoginThrottle {
        &self.inner.throttle
    }
    pub fn registry(&self) -> &RegistryStore {
        self.inner.company.registry()
    }
}

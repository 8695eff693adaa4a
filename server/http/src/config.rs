//! Settings shared by every `huifang` subcommand, from flags or the environment.

use std::path::PathBuf;
use std::time::Duration;

pub use chrono_tz::Tz as TimeZone;
use chrono_tz::Tz;

/// How the server is run. Every subcommand opens the same database from the same settings, so an
/// operator's `huifang import` reaches the database the server uses.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the embedded SQLite database (`huifang.db`) lives when no `database_url` is set.
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL; `None` for the embedded SQLite file.
    pub database_url: Option<String>,
    /// The company's time zone: days, months and deadlines are counted in it.
    pub time_zone: Tz,
    /// How long a device's sign-in lasts. Long, because phones stay offline for days.
    pub session_ttl: chrono::Duration,
    /// Requests taking longer are answered 408.
    pub request_timeout: Duration,
    /// How often the deadline job looks for overdue follow-ups: a deadline is acted on within
    /// this (and a pass takes a few seconds even at a month's end).
    pub deadline_interval: Duration,
    /// How often the monthly job looks for a month to plan and follow-up documents to write.
    pub planning_interval: Duration,
    /// Whether this instance runs the deadline and monthly planning jobs. Every instance may
    /// (they claim their work in the database); an instance added only to serve requests, or a
    /// benchmark measuring one job at a time, runs none (`huifang serve --no-jobs`).
    pub scheduled_jobs: bool,
    /// The oldest phone app version whose syncs are taken (`None`: any).
    pub min_app_version: Option<Vec<u32>>,
}

impl Config {
    pub fn new(data_dir: PathBuf, database_url: Option<String>, time_zone: Tz) -> Self {
        Config {
            data_dir,
            database_url: database_url.filter(|url| !url.trim().is_empty()),
            time_zone,
            session_ttl: chrono::Duration::days(30),
            request_timeout: Duration::from_secs(30),
            deadline_interval: Duration::from_secs(5),
            planning_interval: Duration::from_secs(60),
            scheduled_jobs: true,
            min_app_version: None,
        }
    }

    /// The database as a person should see it in logs: the SQLite path, or the PostgreSQL URL
    /// without its password.
    pub fn database_description(&self) -> String {
        match &self.database_url {
            None => format!("sqlite:{}", self.data_dir.join("huifang.db").display()),
            Some(url) => match (url.find("://"), url.rfind('@')) {
                (Some(scheme_end), Some(at)) if at > scheme_end => {
                    let userinfo = &url[scheme_end + 3..at];
                    let user = userinfo.split(':').next().unwrap_or_default();
                    format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..])
                }
                _ => url.clone(),
            },
        }
    }
}

/// The largest JSON (or form) body accepted. Here, below the modules that read bodies (`app`,
/// `extract`, `error`), so they share it without importing each other.
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_description_hides_the_password() {
        let config = Config::new(
            PathBuf::from("/data"),
            Some("postgres://hf:s3cret@db:5432/huifang".into()),
            chrono_tz::Asia::Shanghai,
        );
        assert_eq!(
            config.database_description(),
            "postgres://hf:***@db:5432/huifang"
        );
        let sqlite = Config::new(
            PathBuf::from("/data"),
            Some(" ".into()),
            chrono_tz::Asia::Shanghai,
        );
        assert_eq!(sqlite.database_description(), "sqlite:/data/huifang.db");
    }
}

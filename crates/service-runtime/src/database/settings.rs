//! [`DatabaseSettings`]: which database to use, how many connections to keep, and how long a
//! PostgreSQL session may wait or stay busy.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// Where a service's database is (`database.*`). The URL's scheme picks the backend:
/// `postgres://` or `postgresql://` for PostgreSQL, `sqlite:` for SQLite (a file, created
/// with its directories when missing; `sqlite::memory:` for a throwaway in-memory database).
///
/// There is no default URL: each service names its own database in its config (a shared
/// default would let a service that forgot it write into another's file).
/// [`Pool::connect`](super::Pool::connect) refuses an empty one, naming `database.url`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct DatabaseSettings {
    /// Connection URL, e.g. `postgres://user:secret@db:5432/tasks` or
    /// `sqlite://.local/task-api.db` (relative to the working directory). Required.
    pub url: String,
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// PostgreSQL `lock_timeout` of every pooled session: the longest any statement waits for
    /// a row or table lock before failing with SQLSTATE 55P03 (transient: an API answers 503,
    /// a relay or consumer retries). Short, because a lock held longer than this is a stuck
    /// peer, and waiting behind it only grows the queue. 0 disables it.
    pub lock_timeout_ms: u64,
    /// PostgreSQL `statement_timeout` of every pooled session: the longest one statement
    /// runs before it is cancelled with SQLSTATE 57014 (transient). Generous: the slowest
    /// legitimate statements (audit's batch inserts, a relay batch) take well under a second.
    /// Migrations run under [`DatabaseSettings::migration_timeout_ms`] instead. 0 disables it.
    pub statement_timeout_ms: u64,
    /// PostgreSQL `idle_in_transaction_session_timeout`: a session left inside a transaction
    /// with no statement running for this long is ended by the server, releasing its locks.
    /// A last guard: no code path should leave a transaction open, but if one does, this is
    /// how long it can block others. 0 disables it.
    pub idle_in_transaction_timeout_ms: u64,
    /// `statement_timeout` of the migration transaction at start-up (PostgreSQL): building an
    /// index on a large table may take minutes. 0 disables it.
    pub migration_timeout_ms: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: String::new(),
            max_connections: 10,
            lock_timeout_ms: 5_000,
            statement_timeout_ms: 30_000,
            idle_in_transaction_timeout_ms: 60_000,
            migration_timeout_ms: 600_000,
        }
    }
}

impl DatabaseSettings {
    /// The URL, or a configuration error naming `database.url` when it is not set.
    pub fn checked_url(&self) -> Result<&str, sqlx::Error> {
        let url = self.url.trim();
        if url.is_empty() {
            return Err(sqlx::Error::Configuration(
                "database.url is not set: name this service's database in its config/*.yaml or \
                 APP__DATABASE__URL (e.g. postgres://user@host:5432/db or sqlite://.local/service.db)"
                    .into(),
            ));
        }
        Ok(url)
    }

    /// The PostgreSQL session settings every pooled connection starts with (sent in the
    /// startup packet, so they hold from the first statement, and a `RESET ALL` keeps them).
    pub fn session_options(&self) -> Vec<(&'static str, String)> {
        [
            ("lock_timeout", self.lock_timeout_ms),
            ("statement_timeout", self.statement_timeout_ms),
            ("idle_in_transaction_session_timeout", self.idle_in_transaction_timeout_ms),
        ]
        .into_iter()
        .map(|(name, ms)| (name, format!("{ms}ms")))
        .collect()
    }

    /// [`DatabaseSettings::migration_timeout_ms`] as a duration (`None` when disabled).
    pub fn migration_timeout(&self) -> Option<Duration> {
        (self.migration_timeout_ms > 0).then(|| Duration::from_millis(self.migration_timeout_ms))
    }
}

impl fmt::Debug for DatabaseSettings {
    /// Never prints the password in the URL.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &redact(&self.url))
            .field("max_connections", &self.max_connections)
            .field("lock_timeout_ms", &self.lock_timeout_ms)
            .field("statement_timeout_ms", &self.statement_timeout_ms)
            .field("idle_in_transaction_timeout_ms", &self.idle_in_transaction_timeout_ms)
            .field("migration_timeout_ms", &self.migration_timeout_ms)
            .finish()
    }
}

/// The URL with the password (if any) replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return url.to_owned() };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else { return url.to_owned() };
    let Some(colon) = rest[..at].find(':') else { return url.to_owned() };
    format!("{}{}:***{}", &url[..scheme_end], &rest[..colon], &rest[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_names_no_database_and_keeps_ten_connections() {
        let settings = DatabaseSettings::default();

        assert_eq!(settings.url, "");
        assert_eq!(settings.max_connections, 10);
    }

    #[test]
    fn every_session_waits_for_locks_runs_statements_and_idles_in_a_transaction_for_bounded_times() {
        let settings = DatabaseSettings { lock_timeout_ms: 250, ..DatabaseSettings::default() };

        let options = settings.session_options();

        assert_eq!(
            options,
            [
                ("lock_timeout", "250ms".to_owned()),
                ("statement_timeout", "30000ms".to_owned()),
                ("idle_in_transaction_session_timeout", "60000ms".to_owned()),
            ]
        );
        assert_eq!(settings.migration_timeout(), Some(Duration::from_secs(600)));
        let unbounded = DatabaseSettings { migration_timeout_ms: 0, ..settings };
        assert_eq!(unbounded.migration_timeout(), None);
    }

    #[test]
    fn a_missing_or_blank_url_is_an_error_naming_database_url() {
        for url in ["", "  "] {
            let settings = DatabaseSettings { url: url.into(), ..DatabaseSettings::default() };

            let error = settings.checked_url().expect_err("no URL").to_string();

            assert!(error.contains("database.url is not set"), "{error}");
        }
        let set = DatabaseSettings { url: " sqlite::memory: ".into(), ..DatabaseSettings::default() };
        assert_eq!(set.checked_url().expect("set"), "sqlite::memory:");
    }

    #[test]
    fn debug_output_hides_the_password() {
        let settings = DatabaseSettings {
            url: "postgres://app:s3cr%40t@db:5432/tasks?sslmode=require".into(),
            max_connections: 5,
            ..DatabaseSettings::default()
        };

        let shown = format!("{settings:?}");

        assert!(!shown.contains("s3cr"), "{shown}");
        assert!(shown.contains("postgres://app:***@db:5432/tasks?sslmode=require"), "{shown}");
    }

    #[test]
    fn urls_without_a_password_are_shown_as_they_are() {
        assert_eq!(
            redact("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/postgres"
        );
        assert_eq!(redact("sqlite://.local/task-api.db"), "sqlite://.local/task-api.db");
        assert_eq!(redact("sqlite::memory:"), "sqlite::memory:");
    }
}

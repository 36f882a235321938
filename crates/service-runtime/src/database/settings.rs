//! [`DatabaseSettings`]: which database to use and how many connections to keep.

use std::fmt;

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
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self { url: String::new(), max_connections: 10 }
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
}

impl fmt::Debug for DatabaseSettings {
    /// Never prints the password in the URL.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &redact(&self.url))
            .field("max_connections", &self.max_connections)
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

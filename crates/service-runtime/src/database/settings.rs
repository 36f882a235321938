//! [`DatabaseSettings`]: which database to use and how many connections to keep.

use std::fmt;

use serde::Deserialize;

/// Where a service's database is. The URL's scheme picks the backend: `postgres://` or
/// `postgresql://` for PostgreSQL, `sqlite:` for SQLite (a file, created with its
/// directories when missing; `sqlite::memory:` for a throwaway in-memory database).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct DatabaseSettings {
    /// Connection URL, e.g. `postgres://user:secret@db:5432/tasks` or
    /// `sqlite://.local/task-api.db` (relative to the working directory).
    pub url: String,
    /// Most connections the pool opens.
    pub max_connections: u32,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self { url: "sqlite://.local/task-api.db".to_owned(), max_connections: 10 }
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
    fn the_default_is_a_local_sqlite_file_with_ten_connections() {
        let settings = DatabaseSettings::default();

        assert_eq!(settings.url, "sqlite://.local/task-api.db");
        assert_eq!(settings.max_connections, 10);
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

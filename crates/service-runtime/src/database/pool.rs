//! [`Pool`]: a connection pool of either backend, connected and migrated.

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use super::exec::{lite, pg};
use super::migrate::Migrations;
use super::row::Row;
use super::settings::{DatabaseSettings, redact};
use super::sql::Sql;
use super::tx::Tx;

/// How long a caller waits for a pooled connection before giving up: long enough to ride out
/// a burst, short enough that a request is not left hanging.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long SQLite waits for another connection's write lock before reporting busy.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Which database a [`Pool`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// PostgreSQL (production, tests).
    Postgres,
    /// SQLite (the embedded default of `make run`).
    Sqlite,
}

/// A connection pool. Cheap to clone (a handle).
#[derive(Debug, Clone)]
pub enum Pool {
    /// PostgreSQL.
    Postgres(PgPool),
    /// SQLite.
    Sqlite(SqlitePool),
}

impl Pool {
    /// Connects to the database the URL names (`postgres://`, `postgresql://` or `sqlite:`)
    /// and runs `migrations`.
    ///
    /// SQLite runs in WAL mode (readers never wait for the writer) with foreign keys on and a
    /// 5 s busy timeout; the file and its directories are created when missing.
    #[tracing::instrument(skip_all, fields(url = %redact(&settings.url)), err(level = "debug"))]
    ///
    /// A missing `database.url` is a [`sqlx::Error::Configuration`] naming the setting: there
    /// is no default database, so a service never writes into another's by accident.
    pub async fn connect(settings: &DatabaseSettings, migrations: &Migrations) -> Result<Self, sqlx::Error> {
        let url = settings.checked_url()?;
        let max_connections = settings.max_connections.max(1);
        let pool = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // sqlx 0.8 sets TCP_NODELAY on every TCP connection (see the root Cargo.toml).
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options)
                .await?;
            Self::Postgres(pool)
        } else if url.starts_with("sqlite:") {
            Self::Sqlite(sqlite_pool(url, max_connections).await?)
        } else {
            let message = format!("unsupported database URL {}: use postgres:// or sqlite:", redact(url));
            return Err(sqlx::Error::Configuration(message.into()));
        };
        migrations.run(&pool).await?;
        Ok(pool)
    }

    /// [`Pool::connect`], retrying with backoff while the database is unreachable (a database
    /// that starts after the service is normal on Kubernetes), for at most `patience`.
    pub async fn connect_patiently(
        settings: &DatabaseSettings,
        migrations: &Migrations,
        patience: Duration,
    ) -> Result<Self, sqlx::Error> {
        let deadline = tokio::time::Instant::now() + patience;
        let mut delay = Duration::from_millis(200);
        loop {
            match Self::connect(settings, migrations).await {
                Ok(pool) => return Ok(pool),
                Err(error) if super::is_transient(&error) && tokio::time::Instant::now() < deadline => {
                    tracing::warn!(error = %error, retry_in_ms = delay.as_millis() as u64, "database unavailable; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Postgres(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Starts a transaction. On SQLite it takes the database's write lock at once (`BEGIN
    /// IMMEDIATE`, waiting up to the busy timeout for it), so concurrent writers queue up here
    /// instead of failing with SQLITE_BUSY halfway through.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Self::Postgres(pool) => Tx::Postgres(pool.begin().await?),
            Self::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
        })
    }

    /// The PostgreSQL pool, for what only PostgreSQL has (LISTEN/NOTIFY); `None` on SQLite.
    pub fn as_postgres(&self) -> Option<&PgPool> {
        match self {
            Self::Postgres(pool) => Some(pool),
            Self::Sqlite(_) => None,
        }
    }

    /// Runs a statement outside a transaction; returns the rows affected.
    pub async fn execute(&self, sql: Sql) -> Result<u64, sqlx::Error> {
        match self {
            Self::Postgres(pool) => pg::execute(pool, sql).await,
            Self::Sqlite(pool) => lite::execute(pool, sql).await,
        }
    }

    /// Runs a query outside a transaction; returns every row.
    pub async fn fetch_all(&self, sql: Sql) -> Result<Vec<Row>, sqlx::Error> {
        match self {
            Self::Postgres(pool) => pg::fetch_all(pool, sql).await,
            Self::Sqlite(pool) => lite::fetch_all(pool, sql).await,
        }
    }

    /// Runs a query outside a transaction; returns its first row, if any.
    pub async fn fetch_optional(&self, sql: Sql) -> Result<Option<Row>, sqlx::Error> {
        match self {
            Self::Postgres(pool) => pg::fetch_optional(pool, sql).await,
            Self::Sqlite(pool) => lite::fetch_optional(pool, sql).await,
        }
    }

    /// Runs a query outside a transaction; returns its first row, or
    /// [`sqlx::Error::RowNotFound`].
    pub async fn fetch_one(&self, sql: Sql) -> Result<Row, sqlx::Error> {
        self.fetch_optional(sql).await?.ok_or(sqlx::Error::RowNotFound)
    }

    /// Checks that the database answers (a readiness probe).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        self.execute(Sql::new(self.backend(), "SELECT 1")).await.map(drop)
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        match self {
            Self::Postgres(pool) => pool.close().await,
            Self::Sqlite(pool) => pool.close().await,
        }
    }
}

async fn sqlite_pool(url: &str, max_connections: u32) -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .foreign_keys(true)
        .busy_timeout(SQLITE_BUSY_TIMEOUT);
    // An in-memory database lives as long as a connection to it: keep exactly one, forever.
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    if in_memory {
        return SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await;
    }
    if let Some(dir) = options.get_filename().parent()
        && !dir.as_os_str().is_empty()
    {
        // Once, at start-up: blocking the runtime for a mkdir is harmless here.
        std::fs::create_dir_all(dir)?;
    }
    // WAL: readers see the last commit while a writer works. NORMAL synchronous is durable
    // against a crash of the process (a power loss may lose the last commits), the usual
    // choice with WAL.
    let options = options.journal_mode(SqliteJournalMode::Wal).synchronous(SqliteSynchronous::Normal);
    SqlitePoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
}

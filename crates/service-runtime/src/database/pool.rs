//! [`Pool`]: a connection pool of either backend, connected and migrated; [`Tx`]: a
//! transaction of either.

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, SqlSafeStr as _, Sqlite, SqlitePool, Transaction};

use super::settings::{DatabaseSettings, redact};
use super::sql::Sql;

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

/// A service's migrations: `(version, description, SQL)` per file, for each backend.
///
/// `sqlx::migrate!` needs sqlx's `macros` feature, which the workspace leaves off; embed the
/// files with `include_str!` instead. Versions, descriptions and checksums are the ones
/// `migrate!` would compute from the file names and contents, so switching later is seamless.
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    /// The table that records which migrations ran. Each service has its own, so that
    /// services may share one database (each numbers its migrations from 1).
    pub table: &'static str,
    /// The files of `migrations/postgres`.
    pub postgres: &'static [(i64, &'static str, &'static str)],
    /// The files of `migrations/sqlite`.
    pub sqlite: &'static [(i64, &'static str, &'static str)],
}

impl Migrations {
    fn migrator(&self, files: &'static [(i64, &'static str, &'static str)]) -> Migrator {
        let mut migrator = Migrator::with_migrations(
            files
                .iter()
                .map(|&(version, description, sql)| {
                    Migration::new(version, description.into(), MigrationType::Simple, sql.into_sql_str(), false)
                })
                .collect(),
        );
        // "dangerous" only in that renaming it later would re-run every migration.
        migrator.dangerous_set_table_name(self.table);
        migrator
    }
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
    pub async fn connect(settings: &DatabaseSettings, migrations: &Migrations) -> Result<Self, sqlx::Error> {
        let url = settings.url.trim();
        let max_connections = settings.max_connections.max(1);
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options)
                .await?;
            migrations.migrator(migrations.postgres).run(&pool).await?;
            Ok(Self::Postgres(pool))
        } else if url.starts_with("sqlite:") {
            let pool = sqlite_pool(url, max_connections).await?;
            migrations.migrator(migrations.sqlite).run(&pool).await?;
            Ok(Self::Sqlite(pool))
        } else {
            let message = format!("unsupported database URL {}: use postgres:// or sqlite:", redact(url));
            Err(sqlx::Error::Configuration(message.into()))
        }
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

    /// Runs a statement outside a transaction; returns the rows affected.
    pub async fn execute(&self, sql: Sql) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Self::Postgres(pool) => sql.into_postgres().execute(pool).await?.rows_affected(),
            Self::Sqlite(pool) => sql.into_sqlite().execute(pool).await?.rows_affected(),
        })
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

/// An open transaction of either backend; dropping it without [`Tx::commit`] rolls it back.
#[derive(Debug)]
pub enum Tx {
    /// PostgreSQL.
    Postgres(Transaction<'static, Postgres>),
    /// SQLite (holding the write lock).
    Sqlite(Transaction<'static, Sqlite>),
}

impl Tx {
    /// The backend.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Postgres(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Runs a statement; returns the rows affected.
    pub async fn execute(&mut self, sql: Sql) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Self::Postgres(tx) => sql.into_postgres().execute(&mut **tx).await?.rows_affected(),
            Self::Sqlite(tx) => sql.into_sqlite().execute(&mut **tx).await?.rows_affected(),
        })
    }

    /// Commits.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Postgres(tx) => tx.commit().await,
            Self::Sqlite(tx) => tx.commit().await,
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

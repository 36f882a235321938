//! [`Pool`]: a connection pool of either backend, connected and migrated.

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection as _, PgPool, SqlitePool};

use super::exec::{lite, pg};
use super::migrate::Migrations;
use super::row::Row;
use super::settings::{DatabaseSettings, redact};
use super::sql::Sql;
use super::tx::Tx;
use super::writer;

/// How long a caller waits for a pooled connection before giving up: long enough to ride out
/// a burst, short enough that a request is not left hanging.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long SQLite waits for another connection's write lock before reporting busy. Within
/// this process writers queue for the writer connection instead (see `writer`); this covers
/// other processes on the same file.
pub(super) const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long [`Pool::close`] waits for connections in use to come back before it gives up on
/// them (they are closed when their holders drop them, or when the process exits).
pub const CLOSE_GRACE: Duration = Duration::from_secs(5);

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
    /// PostgreSQL sessions start with the limits of [`DatabaseSettings::session_options`]
    /// (`lock_timeout`, `statement_timeout`, `idle_in_transaction_session_timeout`).
    ///
    /// SQLite runs in WAL mode (readers never wait for the writer) with foreign keys on and a
    /// 5 s busy timeout; the file and its directories are created when missing. Writes go
    /// through one writer connection per file (see [`Pool::begin`]).
    ///
    /// A missing `database.url` is a [`sqlx::Error::Configuration`] naming the setting: there
    /// is no default database, so a service never writes into another's by accident.
    #[tracing::instrument(skip_all, fields(url = %redact(&settings.url)), err(level = "debug"))]
    pub async fn connect(settings: &DatabaseSettings, migrations: &Migrations) -> Result<Self, sqlx::Error> {
        let url = settings.checked_url()?;
        let max_connections = settings.max_connections.max(1);
        let pool = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // sqlx 0.8 sets TCP_NODELAY on every TCP connection (see the root Cargo.toml).
            let options = PgConnectOptions::from_str(url)?.options(settings.session_options());
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .after_release(|connection, _| {
                    // Every `Transaction` decrements the depth when it ends or is dropped (the
                    // drop queues a ROLLBACK that the release's ping flushes), so a non-zero
                    // depth here is a bug somewhere: close the connection rather than hand a
                    // transaction to the next caller.
                    let clean = !connection.is_in_transaction();
                    if !clean {
                        tracing::error!("a connection came back to the pool inside a transaction; closing it");
                    }
                    Box::pin(async move { Ok(clean) })
                })
                .connect_with(options)
                .await?;
            Self::Postgres(pool)
        } else if url.starts_with("sqlite:") {
            Self::Sqlite(sqlite_pool(url, max_connections).await?)
        } else {
            let message = format!("unsupported database URL {}: use postgres:// or sqlite:", redact(url));
            return Err(sqlx::Error::Configuration(message.into()));
        };
        migrations.run(&pool, settings.migration_timeout()).await?;
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

    /// Starts a transaction. Cancelling the returned future (dropping it) never leaves a
    /// transaction open on a pooled connection (see below).
    ///
    /// PostgreSQL: the `BEGIN` runs in a task of its own. sqlx 0.8.6 counts a transaction
    /// only once `BEGIN` has been answered, so a `begin` dropped while `BEGIN` is on the wire
    /// queues no rollback, and the connection goes back to the pool inside a transaction:
    /// whatever runs on it next (even a plain UPDATE outside a transaction) keeps its locks
    /// until the session ends. In a task, `BEGIN` always completes; if nobody waits for the
    /// transaction any more it is dropped there, which queues a rollback as usual.
    ///
    /// SQLite: waits its turn for the database file's one writer connection (writers queue in
    /// order, up to the acquire timeout, instead of retrying in SQLite's busy handler), then
    /// takes the write lock at once (`BEGIN IMMEDIATE`), so a transaction never fails with
    /// SQLITE_BUSY halfway through.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Self::Postgres(pool) => {
                let pool = pool.clone();
                let begun = tokio::spawn(async move { pool.begin().await }).await;
                Tx::Postgres(begun.map_err(|_| sqlx::Error::WorkerCrashed)??)
            }
            Self::Sqlite(pool) => Tx::Sqlite(writer::of(pool).begin_with("BEGIN IMMEDIATE").await?),
        })
    }

    /// The PostgreSQL pool, for what only PostgreSQL has (LISTEN/NOTIFY); `None` on SQLite.
    pub fn as_postgres(&self) -> Option<&PgPool> {
        match self {
            Self::Postgres(pool) => Some(pool),
            Self::Sqlite(_) => None,
        }
    }

    /// Runs a statement outside a transaction; returns the rows affected. On SQLite it runs
    /// on the writer connection (a statement is usually a write; see [`Pool::begin`]).
    pub async fn execute(&self, sql: Sql) -> Result<u64, sqlx::Error> {
        match self {
            Self::Postgres(pool) => pg::execute(pool, sql).await,
            Self::Sqlite(pool) => lite::execute(&writer::of(pool), sql).await,
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

    /// Checks that the database answers (a readiness probe; a reader, never queued behind
    /// writers).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        self.fetch_optional(Sql::new(self.backend(), "SELECT 1")).await.map(drop)
    }

    /// Closes the pool: idle connections at once, connections in use as they come back,
    /// waiting at most [`CLOSE_GRACE`] for them (so a stuck holder never stops a service from
    /// exiting).
    pub async fn close(&self) {
        self.close_within(CLOSE_GRACE).await;
    }

    /// [`Pool::close`], waiting at most `grace` for connections in use; whether every
    /// connection came back in time.
    pub async fn close_within(&self, grace: Duration) -> bool {
        let closing = async {
            match self {
                Self::Postgres(pool) => pool.close().await,
                Self::Sqlite(pool) => {
                    let writer = writer::remove(pool);
                    tokio::join!(pool.close(), async {
                        if let Some(writer) = writer {
                            writer.close().await;
                        }
                    });
                }
            }
        };
        let closed = tokio::time::timeout(grace, closing).await.is_ok();
        if !closed {
            tracing::warn!(
                grace_ms = grace.as_millis() as u64,
                "database connections still in use after the close grace period; leaving them"
            );
        }
        closed
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

/// A database answers `SELECT 1`: every service with a database adds its pool as the
/// `database` probe of `/readyz`.
impl crate::health::Probe for Pool {
    fn check(&self) -> futures::future::BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.ping().await.map_err(|error| error.to_string()) })
    }
}

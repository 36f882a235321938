//! [`Store`]: the connection pool of either backend, connecting (and migrating), reads
//! outside a transaction, and [`Store::begin`].

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use uuid::Uuid;

use super::list::{self, ListQuery, MAX_LIMIT, Page};
use super::settings::redact;
use super::sql::{Arg, Sql};
use super::tx::Tx;
use super::{Cursor, DatabaseSettings, StorageError, migrations, rows};
use crate::domain::Task;

/// How long a request waits for a pooled connection before giving up (503): long enough to
/// ride out a burst, short enough that clients are not left hanging.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long SQLite waits for another connection's write lock before reporting busy.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// PostgreSQL (production, tests).
    Postgres,
    /// SQLite (the embedded default of `make run`).
    Sqlite,
}

/// The tasks database. Cheap to clone (a pool handle).
#[derive(Debug, Clone)]
pub struct Store {
    pub(super) pool: Pool,
}

#[derive(Debug, Clone)]
pub(super) enum Pool {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

impl Store {
    /// Connects to the database the URL names (`postgres://`, `postgresql://` or `sqlite:`)
    /// and brings its schema up to date.
    ///
    /// SQLite runs in WAL mode (readers never wait for the writer) with foreign keys on and
    /// a 5 s busy timeout; the file and its directories are created when missing.
    #[tracing::instrument(skip_all, fields(url = %redact(&settings.url)), err(level = "debug"))]
    pub async fn connect(settings: &DatabaseSettings) -> Result<Self, StorageError> {
        let url = settings.url.trim();
        let max_connections = settings.max_connections.max(1);
        let store = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url).map_err(StorageError::Other)?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options)
                .await?;
            migrations::postgres().run(&pool).await.map_err(sqlx::Error::from)?;
            Self { pool: Pool::Postgres(pool) }
        } else if url.starts_with("sqlite:") {
            let pool = sqlite_pool(url, max_connections).await?;
            migrations::sqlite().run(&pool).await.map_err(sqlx::Error::from)?;
            Self { pool: Pool::Sqlite(pool) }
        } else {
            let message = format!("unsupported database URL {}: use postgres:// or sqlite:", redact(url));
            return Err(StorageError::Other(sqlx::Error::Configuration(message.into())));
        };
        Ok(store)
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Postgres(_) => Backend::Postgres,
            Pool::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Checks that the database answers (the readiness probe).
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn ping(&self) -> Result<(), StorageError> {
        let sql = Sql::new(self.backend(), "SELECT 1");
        self.execute(sql).await.map(drop)
    }

    /// The PostgreSQL pool (for LISTEN/NOTIFY); `None` on SQLite.
    pub fn pg_pool(&self) -> Option<&PgPool> {
        match &self.pool {
            Pool::Postgres(pool) => Some(pool),
            Pool::Sqlite(_) => None,
        }
    }

    /// The owner's task `id`; `None` when there is none (or it is someone else's).
    #[tracing::instrument(skip_all, fields(%id), err(level = "debug"))]
    pub async fn get(&self, owner: &str, id: Uuid) -> Result<Option<Task>, StorageError> {
        let mut sql = Sql::new(self.backend(), "SELECT owner, id, snapshot FROM tasks WHERE owner = ");
        sql.bind(Arg::Text(owner.to_owned())).push(" AND id = ").bind(Arg::Uuid(id));
        Ok(self.fetch_tasks(sql).await?.pop())
    }

    /// One page of the owner's tasks; see [`ListQuery`] for the filters and the order.
    ///
    /// A cursor issued for another sort is refused ([`StorageError::InvalidCursor`]).
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn list(&self, owner: &str, query: &ListQuery) -> Result<Page, StorageError> {
        if let Some(cursor) = &query.cursor {
            cursor.check_sort(&query.sort)?;
        }
        let limit = query.limit.clamp(1, MAX_LIMIT);
        // One row more than the page tells whether there is a next page.
        let mut items = self.fetch_tasks(list::select(self.backend(), owner, query, limit + 1)).await?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|last| Cursor::after(last, &query.sort))
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// Starts a transaction. On SQLite it takes the database's write lock at once
    /// (`BEGIN IMMEDIATE`, waiting up to the busy timeout for it), so concurrent writers
    /// queue up here instead of failing with SQLITE_BUSY halfway through.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn begin(&self) -> Result<Tx, StorageError> {
        Ok(match &self.pool {
            Pool::Postgres(pool) => Tx::postgres(pool.begin().await?),
            Pool::Sqlite(pool) => Tx::sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
        })
    }

    /// Deletes stored idempotent responses created before `created_before`; returns how many.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn idempotency_prune(&self, created_before: chrono::DateTime<chrono::Utc>) -> Result<u64, StorageError> {
        let mut sql = Sql::new(self.backend(), "DELETE FROM idempotency_keys WHERE created_at < ");
        sql.bind(Arg::Time(created_before));
        self.execute(sql).await
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Postgres(pool) => pool.close().await,
            Pool::Sqlite(pool) => pool.close().await,
        }
    }

    pub(super) async fn fetch_tasks(&self, sql: Sql) -> Result<Vec<Task>, StorageError> {
        match &self.pool {
            Pool::Postgres(pool) => sql.into_postgres().fetch_all(pool).await?.iter().map(rows::task_from_pg).collect(),
            Pool::Sqlite(pool) => sql.into_sqlite().fetch_all(pool).await?.iter().map(rows::task_from_sqlite).collect(),
        }
    }

    /// Runs a statement; returns the rows affected.
    pub(super) async fn execute(&self, sql: Sql) -> Result<u64, StorageError> {
        Ok(match &self.pool {
            Pool::Postgres(pool) => sql.into_postgres().execute(pool).await?.rows_affected(),
            Pool::Sqlite(pool) => sql.into_sqlite().execute(pool).await?.rows_affected(),
        })
    }
}

async fn sqlite_pool(url: &str, max_connections: u32) -> Result<SqlitePool, StorageError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(StorageError::Other)?
        .create_if_missing(true)
        .foreign_keys(true)
        .busy_timeout(SQLITE_BUSY_TIMEOUT);
    // An in-memory database lives as long as a connection to it: keep exactly one, forever.
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    if in_memory {
        return Ok(SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?);
    }
    if let Some(dir) = options.get_filename().parent()
        && !dir.as_os_str().is_empty()
    {
        // Once, at start-up: blocking the runtime for a mkdir is harmless here.
        std::fs::create_dir_all(dir).map_err(|e| StorageError::Other(sqlx::Error::Io(e)))?;
    }
    // WAL: readers see the last commit while a writer works. NORMAL synchronous is durable
    // against a crash of the process (a power loss may lose the last commits), the usual
    // choice with WAL.
    let options = options.journal_mode(SqliteJournalMode::Wal).synchronous(SqliteSynchronous::Normal);
    Ok(SqlitePoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await?)
}

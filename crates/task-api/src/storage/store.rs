//! [`Store`]: the connection pool of either backend, connecting (and migrating), reads
//! outside a transaction, and [`Store::begin`].

use std::time::Duration;

use service_runtime::database::{Arg, Backend, DatabaseSettings, Pool, Sql, redact};
use task_domain::Task;
use uuid::Uuid;

use super::list::{self, ListQuery, MAX_LIMIT, Page};
use super::tx::Tx;
use super::{Cursor, StorageError, migrations, rows};

/// The tasks database. Cheap to clone (a pool handle).
#[derive(Debug, Clone)]
pub struct Store {
    pub(super) pool: Pool,
}

impl Store {
    /// Connects to the database the URL names (`postgres://`, `postgresql://` or `sqlite:`)
    /// and brings its schema up to date.
    ///
    /// SQLite runs in WAL mode (readers never wait for the writer) with foreign keys on and
    /// a 5 s busy timeout; the file and its directories are created when missing.
    #[tracing::instrument(skip_all, fields(url = %redact(&settings.url)), err(level = "debug"))]
    pub async fn connect(settings: &DatabaseSettings) -> Result<Self, StorageError> {
        Ok(Self { pool: Pool::connect(settings, &migrations::MIGRATIONS).await? })
    }

    /// [`Store::connect`], retrying with backoff while the database is unreachable, for at most
    /// `patience` (see [`Pool::connect_patiently`]).
    pub async fn connect_patiently(settings: &DatabaseSettings, patience: Duration) -> Result<Self, StorageError> {
        Ok(Self { pool: Pool::connect_patiently(settings, &migrations::MIGRATIONS, patience).await? })
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.pool.backend()
    }

    /// Checks that the database answers (the readiness probe).
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn ping(&self) -> Result<(), StorageError> {
        Ok(self.pool.ping().await?)
    }

    /// The connection pool: the outbox relay's (with [`OUTBOX`](super::OUTBOX)), and tests'.
    pub fn pool(&self) -> &Pool {
        &self.pool
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

    /// Starts a transaction (see [`Pool::begin`]: cancelling it never leaves a transaction
    /// open). On SQLite it waits its turn for the file's writer connection, then takes the
    /// write lock at once (`BEGIN IMMEDIATE`), so concurrent writers queue up here instead of
    /// failing with SQLITE_BUSY halfway through.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn begin(&self) -> Result<Tx, StorageError> {
        Ok(Tx::new(self.pool.begin().await?))
    }

    /// Deletes stored idempotent responses created before `created_before`; returns how many.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn idempotency_prune(&self, created_before: chrono::DateTime<chrono::Utc>) -> Result<u64, StorageError> {
        let mut sql = Sql::new(self.backend(), "DELETE FROM idempotency_keys WHERE created_at < ");
        sql.bind(Arg::Time(created_before));
        self.execute(sql).await
    }

    /// Closes the pool, waiting for connections in use to be returned, but at most
    /// [`service_runtime::database::CLOSE_GRACE`]: a stuck holder never keeps the service
    /// from exiting.
    pub async fn close(&self) {
        self.pool.close().await
    }

    pub(super) async fn fetch_tasks(&self, sql: Sql) -> Result<Vec<Task>, StorageError> {
        self.pool.fetch_all(sql).await?.iter().map(rows::task).collect()
    }

    /// Runs a statement; returns the rows affected.
    pub(super) async fn execute(&self, sql: Sql) -> Result<u64, StorageError> {
        Ok(self.pool.execute(sql).await?)
    }
}

//! SQLite's writer queue: one writer connection per database file, shared by every [`Pool`]
//! of this process on that file.
//!
//! SQLite lets one connection write at a time. Writers that race for the lock wait in SQLite's
//! busy handler, which sleeps in growing steps (up to 100 ms) and is not fair: under 16
//! concurrent writers the median write took 5 ms but the slowest ones waited for the lock
//! for over a second. Writers that queue for a single connection are served in order (sqlx's
//! pool hands out connections first come, first served), so a write waits for the writes
//! ahead of it and no longer. Readers keep the shared pool: in WAL mode they never wait for
//! the writer.
//!
//! The queue belongs to the file, not to a pool: the lock it orders is the file's. A pool of
//! one connection (an in-memory database) is already a queue and is its own writer.
//!
//! [`Pool`]: super::Pool

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex, PoisonError};

use sqlx::SqlitePool;
use sqlx::sqlite::SqlitePoolOptions;

use super::pool::SQLITE_BUSY_TIMEOUT;

/// The writer connection of each database file in use.
static WRITERS: LazyLock<Mutex<HashMap<PathBuf, SqlitePool>>> = LazyLock::new(Mutex::default);

/// The writer of `pool`'s database file: a pool of one connection with `pool`'s connect
/// options, opened on first use. A write waits its turn for it up to the busy timeout (then
/// [`sqlx::Error::PoolTimedOut`], which is transient).
pub(super) fn of(pool: &SqlitePool) -> SqlitePool {
    if pool.options().get_max_connections() <= 1 {
        return pool.clone();
    }
    let options = pool.connect_options();
    let file = options.get_filename().to_path_buf();
    let mut writers = WRITERS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(writer) = writers.get(&file)
        && !writer.is_closed()
    {
        return writer.clone();
    }
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(SQLITE_BUSY_TIMEOUT)
        .connect_lazy_with((*options).clone());
    writers.insert(file, writer.clone());
    writer
}

/// Takes `pool`'s writer out of the registry (when the pool closes); `None` when it has none
/// or is its own writer.
pub(super) fn remove(pool: &SqlitePool) -> Option<SqlitePool> {
    if pool.options().get_max_connections() <= 1 {
        return None;
    }
    let file = pool.connect_options().get_filename().to_path_buf();
    WRITERS.lock().unwrap_or_else(PoisonError::into_inner).remove(&file)
}

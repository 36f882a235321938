//! [`StorageError`]: what went wrong, classified so callers can tell a transient failure
//! (answer 503, retry) from a conflict (409) and from a bug or bad data (500).

use service_runtime::database::is_transient;

use crate::storage::cursor::CursorError;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database cannot be reached or is too busy right now: connection, pool, I/O,
    /// a lock not granted in time (SQLite busy), a deadlock or serialization failure. The
    /// same call may succeed later.
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// A unique constraint refused the write: the idempotency key (or task id, or event id)
    /// is already stored.
    #[error("a row with the same key already exists")]
    Conflict,
    /// A stored row does not make a valid task (the message names the task and the fields).
    #[error("a stored task is corrupt: {0}")]
    Corrupt(String),
    /// The list cursor is malformed or was issued for another sort (a client error, 422
    /// naming `cursor`).
    #[error("invalid cursor: {0}")]
    InvalidCursor(#[from] CursorError),
    /// Any other database error (a bug: bad SQL, a failed migration, an unexpected type).
    #[error("database error")]
    Other(#[source] sqlx::Error),
}

impl StorageError {
    /// Whether retrying later may succeed (only [`StorageError::Unavailable`]).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

impl From<sqlx::Error> for StorageError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::Database(ref db) if db.is_unique_violation() => Self::Conflict,
            ref e if is_transient(e) => Self::Unavailable(error),
            other => Self::Other(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_timeouts_are_unavailable_and_transient() {
        let error = StorageError::from(sqlx::Error::PoolTimedOut);

        assert!(matches!(error, StorageError::Unavailable(_)));
        assert!(error.is_transient());
        assert!(!StorageError::Conflict.is_transient());
    }
}

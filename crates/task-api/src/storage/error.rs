//! [`StorageError`]: what went wrong, classified so callers can tell a transient failure
//! (answer 503, retry) from a conflict (409) and from a bug or bad data (500).

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
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::BeginFailed => Self::Unavailable(error),
            sqlx::Error::Database(ref db) if db.is_unique_violation() => Self::Conflict,
            sqlx::Error::Database(ref db)
                if db.code().is_some_and(|code| {
                    transient_code(&code, db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some())
                }) =>
            {
                Self::Unavailable(error)
            }
            // A migration that could not run because the database went away is transient.
            sqlx::Error::Migrate(migrate) => match *migrate {
                sqlx::migrate::MigrateError::Execute(inner) => Self::from(inner),
                other => Self::Other(sqlx::Error::Migrate(Box::new(other))),
            },
            other => Self::Other(other),
        }
    }
}

/// Whether a database error code (SQLSTATE for PostgreSQL, the numeric result code for
/// SQLite) means "try again later". The backend must be known: many SQLSTATEs are digits
/// only, and read as a SQLite code `22021` (invalid text, e.g. a NUL) would be SQLITE_BUSY.
fn transient_code(code: &str, sqlite: bool) -> bool {
    if sqlite {
        // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes.
        return code.parse::<i32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6));
    }
    // PostgreSQL: connection exceptions (class 08), insufficient resources (class 53),
    // operator intervention such as a shutdown (57P01..57P03), serialization failure and
    // deadlock (class 40), lock not available (55P03).
    code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("40")
        || matches!(code, "57P01" | "57P02" | "57P03" | "55P03")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_and_lock_codes_are_transient_and_constraint_codes_are_not() {
        assert!(transient_code("08006", false));
        assert!(transient_code("40001", false));
        assert!(transient_code("40P01", false));
        assert!(transient_code("57P01", false));
        assert!(transient_code("5", true));
        assert!(transient_code("517", true));
        assert!(!transient_code("23505", false));
        assert!(!transient_code("42P01", false));
        assert!(!transient_code("19", true));
    }

    #[test]
    fn a_postgres_sqlstate_of_digits_is_not_read_as_a_sqlite_code() {
        // 22021 (invalid byte sequence, e.g. a NUL in text) & 0xff is 5, SQLITE_BUSY.
        assert!(!transient_code("22021", false));
        assert!(transient_code("5", true));
    }

    #[test]
    fn pool_timeouts_are_unavailable_and_transient() {
        let error = StorageError::from(sqlx::Error::PoolTimedOut);

        assert!(matches!(error, StorageError::Unavailable(_)));
        assert!(error.is_transient());
        assert!(!StorageError::Conflict.is_transient());
    }
}

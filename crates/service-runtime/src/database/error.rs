//! Which database errors are worth retrying: a consumer retries them with backoff (never
//! dead-letters), an API answers 503.

/// Whether `error` means the database cannot be reached or is too busy right now, so the same
/// call may succeed later: connection, pool, I/O, a lock not granted in time (SQLite busy,
/// PostgreSQL `lock_timeout`), a statement cancelled (`statement_timeout`), a session ended
/// for idling in a transaction, a deadlock or serialization failure, a server shutting down.
pub fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| transient_code(&code, db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some())),
        // A migration that could not run because the database went away.
        sqlx::Error::Migrate(migrate) => match &**migrate {
            sqlx::migrate::MigrateError::Execute(inner) => is_transient(inner),
            _ => false,
        },
        _ => false,
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
    // operator intervention: a shutdown (57P01..57P03), a statement cancelled by
    // `statement_timeout` or a cancel request (57014), a session ended by
    // `idle_session_timeout` (57P05); serialization failure and deadlock (class 40); lock not
    // available, e.g. `lock_timeout` (55P03); a session ended by
    // `idle_in_transaction_session_timeout` (25P03).
    code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("40")
        || matches!(code, "57P01" | "57P02" | "57P03" | "57P05" | "57014" | "55P03" | "25P03")
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
        assert!(transient_code("55P03", false), "lock_timeout");
        assert!(transient_code("57014", false), "statement_timeout");
        assert!(transient_code("25P03", false), "idle_in_transaction_session_timeout");
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
    fn pool_timeouts_and_lost_connections_are_transient_and_bad_sql_is_not() {
        assert!(is_transient(&sqlx::Error::PoolTimedOut));
        assert!(is_transient(&sqlx::Error::Io(std::io::Error::other("reset"))));
        assert!(!is_transient(&sqlx::Error::RowNotFound));
    }
}

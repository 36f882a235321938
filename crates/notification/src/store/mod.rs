//! The notification database: the schedule, the consumer's partition progress, deliveries,
//! the inbox and the outbox of `reminder.sent`. One code path for PostgreSQL and SQLite
//! ([`service_runtime::database`]); the backends differ only in locking (`FOR UPDATE SKIP
//! LOCKED`, which SQLite, with its single writer, does not need).
//!
//! # Layout
//! - `migrations`: the embedded migrations and [`OUTBOX`].
//! - `schedule`: applying `reminder.*` events, claiming due entries, finishing them.
//! - `progress`: per-partition progress of the consumer (the "never for a stale task" check).
//! - `deliveries`: one record per (reminder, generation, target).
//! - `inbox`: the in-app notifications: list, read, unread count, snooze.

mod deliveries;
mod inbox;
mod migrations;
mod progress;
mod schedule;
#[cfg(test)]
mod tests;

use std::time::Duration;

use service_runtime::database::{Arg, Backend, DatabaseSettings, Pool, Sql};

pub use deliveries::{Delivery, DeliveryState, INBOX_TARGET};
pub(crate) use deliveries::{deliveries_in, fire_in, record_attempt};
pub(crate) use inbox::insert as insert_inbox;
pub use inbox::{InboxItem, InboxPage, InboxQuery, SnoozeError, Snoozed};
pub use migrations::{MIGRATIONS, OUTBOX};
pub(crate) use progress::record_handled;
pub(crate) use schedule::{ClaimParams, apply, finish, release_until};
pub use schedule::{Claimed, Entry, EntryState, NextWake, ReminderChange};

/// The notification database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
}

impl Store {
    /// Connects (running the migrations), retrying while the database is unreachable for at
    /// most `patience`.
    pub async fn connect(settings: &DatabaseSettings, patience: Duration) -> Result<Self, sqlx::Error> {
        Ok(Self { pool: Pool::connect_patiently(settings, &MIGRATIONS, patience).await? })
    }

    /// A store on an open pool (migrated by the caller).
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }

    /// The pool (the outbox relay's, the readiness probe's, tests').
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.pool.backend()
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A statement from `text` whose `?` marks are bound, in order, to `args` (each `?` a new
/// placeholder, so a value used twice is passed twice).
pub(crate) fn sql(backend: Backend, text: &str, args: impl IntoIterator<Item = Arg>) -> Sql {
    let mut parts = text.split('?');
    let mut sql = Sql::new(backend, parts.next().unwrap_or_default());
    let mut args = args.into_iter();
    for part in parts {
        if let Some(arg) = args.next() {
            sql.bind(arg);
        }
        sql.push(part);
    }
    sql
}

/// `FOR UPDATE SKIP LOCKED` on PostgreSQL; nothing on SQLite (one writer at a time).
pub(crate) fn skip_locked(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    }
}

#[cfg(test)]
mod sql_tests {
    use super::*;

    #[test]
    fn question_marks_become_numbered_placeholders_in_order() {
        let statement = sql(Backend::Postgres, "SELECT ? + ?, ?", [Arg::Int(1), Arg::Int(2), Arg::Int(3)]);

        let (text, args) = statement.into_parts();
        assert_eq!(text, "SELECT $1 + $2, $3");
        assert_eq!(args, [Arg::Int(1), Arg::Int(2), Arg::Int(3)]);
    }
}

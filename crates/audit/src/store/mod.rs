//! The audit database: PostgreSQL (production, tests) or SQLite (the embedded default), through
//! `service_runtime::database`.
//!
//! # Layout
//! - `append`: [`AuditStore::append`]: a batch of events into their users' chains, in one
//!   transaction, skipping events already recorded.
//! - `group_commit`: concurrent appends of one process share transactions.
//! - `writes`: an append's statements per backend (arrays on PostgreSQL, short lists on SQLite).
//! - `query`: [`AuditQuery`], [`AuditPage`]: filtered, keyset-paginated reads; a task's history;
//!   export pages.
//! - `verify`: [`AuditStore::verify_user`] / [`AuditStore::verify_all`]: recompute chains.
//! - `retention`: [`AuditStore::delete_recorded_before`]: the only deletion there is.
//! - `rows`: row decoding for either backend.
//!
//! # Decisions
//! - **One row per event**: `event_id` is unique. A batch first locks the chain heads of its
//!   users (PostgreSQL `SELECT … FOR UPDATE` in user order, so two batches never deadlock;
//!   SQLite's write lock serialises everything), then skips events already stored. Checking
//!   after the lock is what makes it exact: a concurrent batch with the same event has the same
//!   user, so it has committed by then.
//! - **Chain order** is the order in which entries were appended under that lock, numbered
//!   per user (`chain_seq`); two batches touching one user's chain append one after the other.
//! - **Append-only**: no statement here updates an `audit_events` row, and a trigger refuses
//!   any `UPDATE` on both backends. Retention deletes whole chain prefixes.

mod append;
mod group_commit;
mod query;
mod retention;
mod rows;
mod verify;
mod writes;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use service_runtime::database::{Backend, DatabaseSettings, Migrations, Pool};

pub use append::AppendOutcome;
pub use query::{AuditCursor, AuditPage, AuditQuery, MAX_LIMIT, Order, StoredEntry};
pub use retention::RetentionOutcome;
pub use verify::VerifyReport;

/// The audit database's migrations.
const MIGRATIONS: Migrations = Migrations {
    // Its own table, so the audit may share a database with task-api.
    table: "_audit_migrations",
    postgres: &[(1, "audit", include_str!("../../migrations/postgres/0001_audit.sql"))],
    sqlite: &[(1, "audit", include_str!("../../migrations/sqlite/0001_audit.sql"))],
};

/// The audit trail's storage. Cheap to clone (a pool handle); clones share one
/// `group_commit` queue.
#[derive(Debug, Clone)]
pub struct AuditStore {
    pool: Pool,
    writer: Arc<group_commit::GroupCommit>,
}

impl AuditStore {
    /// Connects (retrying while the database is unreachable, for at most `patience`) and
    /// brings the schema up to date.
    pub async fn connect(settings: &DatabaseSettings, patience: Duration) -> Result<Self, sqlx::Error> {
        let pool = Pool::connect_patiently(settings, &MIGRATIONS, patience).await?;
        Ok(Self { pool, writer: Arc::default() })
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.pool.backend()
    }

    /// The pool (tests reach into the database with it).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        self.pool.ping().await
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await
    }
}

/// An instant to the microsecond, as both backends keep it.
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound as _;
    t.trunc_subsecs(6)
}

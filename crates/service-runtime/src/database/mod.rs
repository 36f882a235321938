//! The database plumbing every service with a database shares: PostgreSQL (production, tests)
//! or SQLite (the embedded default of `make run`), picked by the URL's scheme.
//!
//! # Layout
//! - `settings`: [`DatabaseSettings`] and [`redact`] (a URL fit for logs).
//! - `pool`: [`Pool`], [`Backend`]: connect, statements and queries outside a transaction.
//! - `tx`: [`Tx`]: statements and queries in a transaction, commit, rollback.
//! - `exec`: running an [`Sql`] on one backend (shared by `pool` and `tx`).
//! - `migrate`: [`Migrations`]: a service's embedded migrations and their runner.
//! - `sql`: [`Sql`], [`Arg`]: statements with typed binds for either backend.
//! - `row`: [`Row`]: rows of either backend read through typed getters.
//! - `error`: [`is_transient`]: which database errors are worth retrying.
//! - `writer`: SQLite's writer queue (one writer connection per database file).
//!
//! # Decisions
//! - **No query macros**: statements are built at run time with bound arguments, so no
//!   database is needed at build time. Only fixed SQL fragments are ever concatenated.
//! - **One code path for both backends**: a statement is an [`Sql`] (written once, `$n`
//!   placeholders), run by [`Pool`] or [`Tx`] (`execute`, `fetch_all`, `fetch_optional`,
//!   `fetch_one`); its rows are [`Row`]s whose getters (`text`, `i64`, `uuid`, `json`,
//!   `instant`, …) read each type the way [`Arg`] stored it. Services match on the backend
//!   only where the SQL itself differs (locking, PostgreSQL arrays, LISTEN).
//! - **Instants** are `timestamptz` in PostgreSQL and INTEGER microseconds in SQLite: exact to
//!   the microsecond and ordered correctly on both.
//! - **TCP_NODELAY**: sqlx is held at 0.8.6, which sets it on PostgreSQL TCP sockets (0.9.0
//!   does not, and every statement on a fresh connection could wait ~40 ms for a delayed
//!   ACK); `tests/database/nodelay.rs` guards it.
//! - **No default database**: `database.url` must be set by each service; an empty one fails
//!   at start-up naming the setting.
//! - **SQLite** runs in WAL mode with a busy timeout; [`Pool::begin`] queues for the file's
//!   one writer connection, then takes the write lock up front (`BEGIN IMMEDIATE`), so
//!   concurrent writers wait in order instead of in SQLite's busy handler, and never fail busy
//!   halfway.
//! - **Bounded sessions** (PostgreSQL): every pooled session starts with `lock_timeout`,
//!   `statement_timeout` and `idle_in_transaction_session_timeout` (see
//!   [`DatabaseSettings`]); a statement cut off by one fails with a transient error (55P03,
//!   57014, 25P03), so an API answers 503 and a relay or consumer retries. Nothing waits on a
//!   lock or a stuck peer for ever.
//! - **Cancellation**: dropping a [`Pool::begin`] future or a [`Tx`] at any point never
//!   returns a connection to the pool inside a transaction (see [`Pool::begin`]; a dropped
//!   `Tx` queues a rollback that runs before the connection is reused, and a connection whose
//!   transaction depth is not zero when released is closed). [`Pool::close`] waits at most
//!   [`CLOSE_GRACE`] for connections in use.
//! - **Migrations** are embedded with `include_str!` (see [`Migrations`]) and run at connect,
//!   recorded in a table per service (sqlx's layout, our runner: sqlx 0.8 has one fixed table).

mod error;
mod exec;
mod migrate;
mod pool;
mod row;
mod settings;
mod sql;
mod tx;
mod writer;

pub use error::is_transient;
pub use migrate::Migrations;
pub use pool::{Backend, CLOSE_GRACE, Pool};
pub use row::Row;
pub use settings::{DatabaseSettings, redact};
pub use sql::{Arg, InvalidInstant, Sql, from_micros, micros, postgres, sqlite};
pub use tx::Tx;

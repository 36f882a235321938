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
//! - **SQLite** runs in WAL mode with a busy timeout; [`Pool::begin`] takes the
//!   write lock up front so concurrent writers queue instead of failing busy halfway.
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

pub use error::is_transient;
pub use migrate::Migrations;
pub use pool::{Backend, Pool};
pub use row::Row;
pub use settings::{DatabaseSettings, redact};
pub use sql::{Arg, InvalidInstant, Sql, from_micros, micros, postgres, sqlite};
pub use tx::Tx;

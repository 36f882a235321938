//! The database plumbing every service with a database shares: PostgreSQL (production, tests)
//! or SQLite (the embedded default of `make run`), picked by the URL's scheme.
//!
//! # Layout
//! - `settings`: [`DatabaseSettings`] and [`redact`] (a URL fit for logs).
//! - `pool`: [`Pool`], [`Backend`], [`Migrations`], [`Tx`]: connect, bring the schema up to
//!   date, transactions.
//! - `sql`: [`Sql`], [`Arg`]: statements with typed binds for either backend.
//! - `row`: [`InstantRow`]: instants read alike from either backend's rows.
//! - `error`: [`is_transient`]: which database errors are worth retrying.
//!
//! # Decisions
//! - **No query macros**: statements are built at run time with bound arguments, so no
//!   database is needed at build time. Only fixed SQL fragments are ever concatenated.
//! - **Instants** are `timestamptz` in PostgreSQL and INTEGER microseconds in SQLite: exact to
//!   the microsecond and ordered correctly on both.
//! - **SQLite** runs in WAL mode with a busy timeout; [`Pool::begin`] takes the
//!   write lock up front so concurrent writers queue instead of failing busy halfway.
//! - **Migrations** are embedded with `include_str!` (see [`Migrations`]) and run at connect.

mod error;
mod pool;
mod row;
mod settings;
mod sql;

pub use error::is_transient;
pub use pool::{Backend, Migrations, Pool, Tx};
pub use row::InstantRow;
pub use settings::{DatabaseSettings, redact};
pub use sql::{Arg, InvalidInstant, Sql, from_micros, micros, postgres, sqlite};

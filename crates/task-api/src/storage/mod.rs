//! The tasks database: PostgreSQL (production, tests) or SQLite (the embedded default).
//!
//! One [`Store`] API over both backends: tasks (read, list, and written in a [`Tx`]),
//! idempotency keys, and the transactional outbox (`service_runtime::outbox`, in the table
//! [`OUTBOX`] names) that the relay publishes from. The backend is
//! chosen by the URL's scheme; each has its own embedded migrations
//! (`migrations/postgres`, `migrations/sqlite`), run by [`Store::connect`].
//!
//! # Layout
//! - [`DatabaseSettings`] and [`Backend`] are `service_runtime::database`'s (shared by every
//!   service with a database).
//! - `error`: [`StorageError`] (transient, conflict, corrupt, invalid cursor, other).
//! - `store`: [`Store`]: connect and migrate, `get`, `list`, `begin`, `pool` (the relay's).
//! - `tx`: [`Tx`]: the runtime's transaction under task-api's methods: `get_for_update`,
//!   task writes (`insert_task`, `insert_occurrence`, `update_task`, `delete_task`), `enqueue` (the shared outbox's, into [`OUTBOX`]), commit and rollback.
//! - `list`: [`ListQuery`], [`SortKey`], [`Page`] and the keyset-paginated SELECT.
//! - `cursor`: [`Cursor`], [`CursorError`].
//! - `idempotency`: [`StoredResponse`], `Tx::idempotency_get` / `idempotency_put`.
//! - `rows`: row decoding (over `service_runtime::database::Row`).
//! - `migrations`: the embedded migrations and [`OUTBOX`], the outbox table they create (its
//!   rows are written by `Tx::enqueue` and published by `service_runtime::outbox::Relay`).
//!
//! # Decisions
//! - **Schema**: a task's whole state is its `snapshot` (the contract's `TaskSnapshot`,
//!   JSONB / TEXT), read back through `Task::restore` so a row that is no longer a valid
//!   task is reported as [`StorageError::Corrupt`]. The fields lists filter and sort on are
//!   copied into columns; tags go to `task_tags (task_id, tag)`, which works for any/all
//!   matching on both backends.
//! - **One task per occurrence** of a recurring series: `occurrence_at` and `follows` are
//!   copied into columns with unique indexes on `(series_id, occurrence_at)` and
//!   `(series_id, follows)` (migration 2). `Tx::insert_occurrence` inserts with
//!   `ON CONFLICT DO NOTHING` and, when nothing was inserted, returns the task that holds the
//!   occurrence: on PostgreSQL a concurrent insert of the same occurrence waits for the first
//!   to commit, then finds its row, so the race has one winner and no error.
//! - **Instants** are `timestamptz` in PostgreSQL and INTEGER microseconds in SQLite: exact
//!   to the microsecond (as the domain keeps them) and ordered correctly.
//! - **Search** (`q`) and **title sorting** use lower-cased copies computed in Rust
//!   (Unicode-aware; SQLite's `lower` is ASCII-only), compared by code point on both
//!   backends.
//! - **Pagination** is keyset, not offset (see [`ListQuery`]); `id` ascending ends every
//!   sort; tasks without `due_at` come last in both directions. A cursor carries its sort
//!   and is refused with another.
//! - **Locking**: PostgreSQL locks the task row (`FOR UPDATE`); SQLite takes the write lock
//!   in [`Store::begin`] (`BEGIN IMMEDIATE`), so writers queue instead of failing busy.
//! - **Errors** are recorded on the I/O spans at DEBUG only: callers decide how bad they are
//!   (a conflict or a refused cursor is routine, a lost database is not) and log them. One
//!   corrupt row fails the whole `get`/`list` rather than silently shortening a page.
//! - **Queries** are built at run time with bound arguments (no `query!` macros, so no
//!   database at build time). Only fixed SQL fragments are ever concatenated. They are
//!   written once for both backends and run through `service_runtime::database` (`Pool`,
//!   `Tx`, `Row`); the backend is consulted only where the SQL differs (`FOR UPDATE`,
//!   `strpos`/`instr`).

mod cursor;
mod error;
mod idempotency;
mod list;
mod migrations;
mod rows;
mod store;
mod tx;

pub use cursor::{Cursor, CursorError};
pub use error::StorageError;
pub use idempotency::StoredResponse;
pub use list::{ListQuery, MAX_LIMIT, Page, SortField, SortKey, TagsMatch};
pub use migrations::OUTBOX;
pub use service_runtime::database::{Backend, DatabaseSettings};
pub use store::Store;
pub use tx::Tx;

//! The transactional outbox: a service's events written in the same transaction as the change
//! they describe, and the relay that publishes them to Kafka, in commit order per key.
//!
//! A service's write path adds its events to its outbox table with [`enqueue`], in the
//! transaction of the change, so an event exists exactly when its change was committed. The
//! [`Relay`] reads unpublished rows in `seq` order, publishes them with the shared idempotent
//! producer, marks them published and prunes old published rows.
//!
//! - **Wake-up.** The write path signals the relay in-process after each commit
//!   ([`OutboxSignal`]); with PostgreSQL the relay also `LISTEN`s on the outbox's channel (each
//!   transaction that enqueues runs `pg_notify`), so writes by other replicas wake it too; a
//!   slow poll covers a notification lost while the listener reconnects. Events leave within
//!   milliseconds of the commit.
//! - **Two replicas, one publisher.** With PostgreSQL a relay publishes only while it holds a
//!   session-level advisory lock; the others stand by and take over when the holder's
//!   connection ends. So no row is ever published by two relays at once and one key's events
//!   are never reordered. (SQLite is the single-process embedded mode: one relay.)
//! - **Order.** Rows of one key (e.g. one task) are committed in `seq` order (the writer
//!   serialises its writes to one entity: a row lock, SQLite's write lock), are sent in `seq`
//!   order, and the idempotent producer keeps per-partition order across retries.
//! - **Broker down.** Writes keep succeeding (they only touch the database); sends time out
//!   after `producer.message_timeout_ms`, the rows stay unpublished, and the backlog drains when
//!   the broker returns. `/metrics` shows the backlog and the age of its oldest row
//!   ([`OUTBOX_BACKLOG`], [`OUTBOX_OLDEST_AGE`]; no table label: a service process runs one
//!   relay); `/readyz` shows [`RELAY_CONDITION`] while publishing fails.
//! - **At least once.** A crash after publishing and before marking republishes those rows;
//!   consumers de-duplicate on the CloudEvents `id`.
//! - **Several services, one database.** Each has its own [`OutboxConfig`]: table, channel and
//!   lock key; neither rows, wake-ups nor leaderships cross.
//! - **Failures.** [`Relay::run`] retries what heals by itself (broker, unavailable database)
//!   and returns anything else, for the service's job supervisor to report and restart it.
//!
//! # Using it in a service
//! 1. A `const OUTBOX: OutboxConfig = OutboxConfig::new("…_outbox", "…_outbox", key);`.
//! 2. Its migrations (one file per backend) contain [`migration_sql`]'s statements for that
//!    config, copied in; a unit test asserts [`migration_creates`] of each file.
//! 3. The write path calls [`enqueue`] on its transaction, commits, then
//!    [`OutboxSignal::notify`].
//! 4. At start-up: [`Relay::new`] with the pool, the producer, the same signal, the
//!    service's `outbox` settings section ([`RelaySettings`]), its health and the config; run
//!    [`Relay::run`] as a job.
//!
//! # Layout
//! - `config`: [`OutboxConfig`]: table, channel and lock key.
//! - `table`: the table's statements per backend ([`migration_sql`], [`migration_creates`]).
//! - `event`: [`OutboxEvent`], [`OutboxRow`], [`OutboxStats`].
//! - `store`: [`enqueue`] and [`Outbox`], the relay's reads and writes (one SQL for both
//!   backends).
//! - `signal`: [`OutboxSignal`], the in-process wake-up.
//! - `settings`: [`RelaySettings`].
//! - `leader`: PostgreSQL leadership (advisory lock and listener).
//! - `relay`: [`Relay`], [`RelayError`], the metric names.

mod config;
mod event;
mod leader;
mod relay;
mod settings;
mod signal;
mod store;
mod table;

pub use config::OutboxConfig;
pub use event::{OutboxEvent, OutboxRow, OutboxStats};
pub use relay::{
    OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE, OUTBOX_PRUNED, OUTBOX_PUBLISHED, RELAY_CONDITION, Relay, RelayError,
};
pub use settings::RelaySettings;
pub use signal::OutboxSignal;
pub use store::{Outbox, enqueue};
pub use table::{migration_creates, migration_sql};

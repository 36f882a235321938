//! The outbox relay: publishes committed outbox rows to Kafka in commit order per task.
//!
//! Every write of task-api inserts its events into the `outbox` table in the same transaction
//! as the change, so an event exists exactly when its change was committed. The relay reads
//! unpublished rows in `seq` order, publishes them with the shared idempotent producer, marks
//! them published and prunes old published rows.
//!
//! - **Wake-up.** The write path signals the relay in-process after each commit; with
//!   PostgreSQL the relay also `LISTEN`s on `task_outbox` (each transaction that enqueues runs
//!   `pg_notify`), so writes by other replicas wake it too; a slow poll covers a notification
//!   lost while the listener reconnects. Events leave within milliseconds of the commit.
//! - **Two replicas, one publisher.** With PostgreSQL a relay publishes only while it holds a
//!   session-level advisory lock; the others wait and take over when the holder's connection
//!   ends. So no row is ever published by two relays at once and one task's events are never
//!   reordered. (SQLite is the single-process embedded mode: one relay.)
//! - **Order.** Rows of one task are committed in `seq` order (the task's row lock serialises
//!   its writes), are sent in `seq` order, and the idempotent producer keeps per-partition order
//!   across retries.
//! - **Broker down.** Writes keep succeeding (they only touch the database); sends time out
//!   after `producer.message_timeout_ms`, the rows stay unpublished, and the backlog drains when
//!   the broker returns. `/metrics` shows the backlog and the age of its oldest row.
//! - **At least once.** A crash after publishing and before marking republishes those rows;
//!   consumers de-duplicate on the CloudEvents `id`.
//!
//! # Layout
//! - `signal`: [`OutboxSignal`], the in-process wake-up.
//! - `relay`: [`Relay`] and [`RelaySettings`].

mod relay;
mod signal;

pub use relay::{
    CHANNEL, OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE, OUTBOX_PRUNED, OUTBOX_PUBLISHED, Relay, RelayError, RelaySettings,
};
pub use signal::OutboxSignal;

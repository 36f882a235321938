//! The at-least-once consumer runtime shared by every consuming service.
//!
//! A service supplies a [`Handler`]; the runtime subscribes, hands each message to it, and
//! stores the message's offset only after the handler succeeded or the message was
//! dead-lettered. Stored offsets are committed every `auto.commit.interval.ms`, synchronously
//! when partitions are revoked, and at shutdown.
//!
//! - Order: each partition has one worker that handles its messages one at a time, so
//!   messages with the same key are handled in order; partitions run concurrently, at most
//!   `max_concurrency` handlers at once.
//! - Batches (`max_batch` > 1): the messages already waiting in a partition's queue go to
//!   [`Handler::handle_batch`] together; the last one's offset is stored when the batch
//!   succeeds. A permanent failure falls back to one message at a time, so only the bad
//!   message is dead-lettered.
//! - Permanent failure ([`HandlerError::Permanent`]): the original record goes to the group's
//!   dead-letter topic with headers naming the error and origin, then the worker moves on.
//! - Transient failure ([`HandlerError::Transient`]): the same message is retried with
//!   exponential backoff and jitter, never skipped, and `/readyz` reports not ready meanwhile.
//! - Caught-up reports (`caught_up_interval_ms` > 0): partitions whose records are all handled
//!   up to the end the broker reports are passed to [`Handler::caught_up`] with the instant
//!   of the check, so a service can tell that nothing was waiting at that instant.
//! - Backpressure: a partition whose worker falls behind is paused (not its neighbours) and
//!   resumed when it catches up; the poll loop never blocks, so the member stays in the group.
//!
//! # Layout
//! - `runtime`: [`ConsumerRuntime`], the poll loop: assignment, dispatch, pause and resume,
//!   shutdown.
//! - `partition`: one partition's worker: batches, retries, dead-lettering, offset storing.
//! - `caught_up`: [`CaughtUp`] reports: handled position against the partition's end.
//! - `dead_letter`: the dead-letter record's headers, and which producer errors no retry fixes.
//! - `context`: rebalance callbacks and the assignment's workers; `handler`, `message`,
//!   `backoff`: the handler interface, the inbound message, retry delays.

mod backoff;
mod caught_up;
mod context;
mod dead_letter;
mod handler;
mod message;
mod partition;
mod runtime;

pub use backoff::Backoff;
pub use caught_up::CaughtUp;
pub use handler::{Handler, HandlerError};
pub use message::InboundMessage;
pub use runtime::ConsumerRuntime;

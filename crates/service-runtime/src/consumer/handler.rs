//! What a service implements: the handling of one message, with failures classified.

use std::future::Future;

use crate::consumer::{CaughtUp, InboundMessage};

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// How a message failed.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Retrying cannot help (cannot parse, fails validation, unknown version): the message is
    /// dead-lettered and the consumer moves on.
    #[error("permanent failure: {0}")]
    Permanent(#[source] BoxError),
    /// Retrying may help (database or network down): the message is retried with backoff
    /// until it succeeds or the process stops.
    #[error("transient failure: {0}")]
    Transient(#[source] BoxError),
}

impl HandlerError {
    /// A permanent failure.
    pub fn permanent(error: impl Into<BoxError>) -> Self {
        HandlerError::Permanent(error.into())
    }

    /// A transient failure.
    pub fn transient(error: impl Into<BoxError>) -> Self {
        HandlerError::Transient(error.into())
    }

    /// The failure's cause chain on one line, for logs and the dead-letter header.
    pub fn reason(&self) -> String {
        let (HandlerError::Permanent(e) | HandlerError::Transient(e)) = self;
        let mut reason = e.to_string();
        let mut source = e.source();
        while let Some(cause) = source {
            reason.push_str(": ");
            reason.push_str(&cause.to_string());
            source = cause.source();
        }
        reason
    }
}

/// A service's message handling. It must be idempotent: after a crash or a rebalance the
/// same message can be handed to it again.
pub trait Handler: Send + Sync + 'static {
    /// Handles one message.
    fn handle(&self, message: &InboundMessage) -> impl Future<Output = Result<(), HandlerError>> + Send;

    /// Handles consecutive messages of one partition together (for example in one database
    /// transaction); called instead of [`Handler::handle`] when `consumer.max_batch` > 1 and
    /// more than one message is waiting. All or nothing:
    /// - `Ok`: every message is done; the last one's offset is stored.
    /// - [`HandlerError::Transient`]: the whole batch is retried with backoff.
    /// - [`HandlerError::Permanent`]: the runtime hands the same messages to [`Handler::handle`]
    ///   one at a time, so only the bad ones are dead-lettered. Any effect of the failed batch
    ///   call must therefore have been rolled back, or be idempotent (it always must be).
    ///
    /// The default handles them one by one.
    fn handle_batch(&self, messages: &[InboundMessage]) -> impl Future<Output = Result<(), HandlerError>> + Send {
        async move {
            for message in messages {
                self.handle(message).await?;
            }
            Ok(())
        }
    }

    /// Told that a partition has every record handled up to its end as of an instant (see
    /// [`CaughtUp`]); called only when `consumer.caught_up_interval_ms` > 0, every interval
    /// for each assigned partition with nothing queued; partitions concurrently, one partition
    /// never twice at once. An error is
    /// logged and the next interval reports again. The default ignores it.
    fn caught_up(&self, report: &CaughtUp) -> impl Future<Output = Result<(), HandlerError>> + Send {
        let _ = report;
        async { Ok(()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("inserting audit row")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn reason_includes_the_whole_cause_chain() {
        let error = HandlerError::transient(Outer(std::io::Error::other("connection refused")));
        assert_eq!(error.reason(), "inserting audit row: connection refused");
    }
}

//! [`AuditHandler`]: the consumer's handling of records, batch by batch.

use chrono::Utc;
use service_runtime::consumer::{Handler, HandlerError, InboundMessage};

use crate::entry::NewEntry;
use crate::metrics::{DUPLICATES, RECORDED, UNKNOWN_TYPES};
use crate::store::AuditStore;

/// Records every event it is given. Idempotent: an event already recorded is skipped.
///
/// - A record that is not a CloudEvents envelope (or breaks the contract of a known type) is
///   a permanent failure: the runtime dead-letters it to `audit.dlq` with the reason.
/// - Every database error is transient: the batch is retried with backoff and readiness goes
///   down, so an outage delays the trail but never loses an event. (Inputs the database could
///   refuse, such as NUL characters, are refused before the database sees them.)
#[derive(Debug, Clone)]
pub struct AuditHandler {
    store: AuditStore,
}

impl AuditHandler {
    /// A handler recording into `store`.
    pub fn new(store: AuditStore) -> Self {
        Self { store }
    }

    async fn record(&self, messages: &[InboundMessage]) -> Result<(), HandlerError> {
        let entries = messages
            .iter()
            .map(NewEntry::from_message)
            .collect::<Result<Vec<_>, _>>()
            .map_err(HandlerError::permanent)?;
        let outcome = self.store.append(entries, Utc::now()).await.map_err(HandlerError::transient)?;
        for entry in &outcome.recorded {
            metrics::counter!(RECORDED, "event_type" => entry.event.event_type.clone()).increment(1);
            if !entry.event.known_type {
                metrics::counter!(UNKNOWN_TYPES, "event_type" => entry.event.event_type.clone()).increment(1);
            }
        }
        if outcome.duplicates > 0 {
            metrics::counter!(DUPLICATES).increment(outcome.duplicates);
            tracing::debug!(duplicates = outcome.duplicates, "events already recorded were skipped");
        }
        Ok(())
    }
}

impl Handler for AuditHandler {
    async fn handle(&self, message: &InboundMessage) -> Result<(), HandlerError> {
        self.record(std::slice::from_ref(message)).await
    }

    /// One transaction for the whole batch; a bad record refuses the batch, and the runtime
    /// then hands the records over one at a time so only that one is dead-lettered.
    async fn handle_batch(&self, messages: &[InboundMessage]) -> Result<(), HandlerError> {
        self.record(messages).await
    }
}

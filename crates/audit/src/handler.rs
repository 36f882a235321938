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
/// - Database errors are transient (the batch is retried with backoff and readiness goes down,
///   so an outage delays the trail but never loses an event), except PostgreSQL's data
///   exceptions and program limits (SQLSTATE classes 22 and 54): those refuse the batch, and the
///   runtime's one-at-a-time fallback dead-letters the record the database cannot store. Known
///   causes (NUL characters, over-long attributes, out-of-range times) are refused before the
///   database sees them.
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
        let outcome = self.store.append(entries, Utc::now()).await.map_err(classify)?;
        for entry in &outcome.recorded {
            if entry.event.known_type {
                metrics::counter!(RECORDED, "event_type" => entry.event.event_type.clone()).increment(1);
            } else {
                // Unknown types come from the wire and are unbounded: one label, the type in the log.
                metrics::counter!(RECORDED, "event_type" => "unknown").increment(1);
                metrics::counter!(UNKNOWN_TYPES).increment(1);
                tracing::info!(event_type = %entry.event.event_type, event_id = %entry.event.event_id,
                    "recorded an event of a type this build does not know");
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

/// Data the database refuses whatever the retries (PostgreSQL SQLSTATE classes 22, data
/// exception, and 54, program limit exceeded) is permanent; everything else may heal.
fn classify(error: sqlx::Error) -> HandlerError {
    let refused = match &error {
        sqlx::Error::Database(db) if db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_some() => {
            db.code().is_some_and(|c| c.starts_with("22") || c.starts_with("54"))
        }
        _ => false,
    };
    if refused { HandlerError::permanent(error) } else { HandlerError::transient(error) }
}

//! [`ReminderHandler`]: the consumer of `reminders`, batch by batch.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use event_schema::EventData;
use service_runtime::consumer::{CaughtUp, Handler, HandlerError, InboundMessage};
use tokio::sync::Notify;

use crate::metrics::EVENTS_APPLIED;
use crate::store::{ReminderChange, Store};

/// Applies `reminder.scheduled` and `reminder.cancelled` to the schedule and records how far
/// each partition is handled; wakes the scheduler when something changed.
///
/// - A batch (consecutive records of one partition) is one transaction: the partition's
///   progress first, then each event. Events are ordered per reminder by `sequence`, so
///   redeliveries and replays change nothing (see [`crate::store`]'s `apply`).
/// - `reminder.sent` (this service's own) and types this build does not know are skipped.
/// - A record that is not a valid event is a permanent failure: the runtime dead-letters it to
///   `notification.dlq` with the reason. Database errors are transient (retried with backoff),
///   except data the database refuses whatever the retries (PostgreSQL classes 22 and 54).
#[derive(Debug, Clone)]
pub struct ReminderHandler {
    store: Store,
    wake: Arc<Notify>,
}

impl ReminderHandler {
    /// A handler writing into `store` and waking the scheduler through `wake`.
    pub fn new(store: Store, wake: Arc<Notify>) -> Self {
        Self { store, wake }
    }

    async fn apply(&self, messages: &[InboundMessage]) -> Result<(), HandlerError> {
        let changes = messages.iter().map(change).collect::<Result<Vec<_>, _>>()?;
        let Some(last) = messages.last() else { return Ok(()) };
        let last_record_at = messages.iter().filter_map(record_time).max();
        let now = Utc::now();
        let mut tx = self.store.pool().begin().await.map_err(classify)?;
        // Progress first: written by the partition's owner only, in the transaction of the
        // changes it vouches for.
        crate::store::record_handled(&mut tx, &last.topic, last.partition, last.offset + 1, last_record_at, now)
            .await
            .map_err(classify)?;
        let mut changed = false;
        for change in changes.iter().flatten() {
            let applied = crate::store::apply(&mut tx, change, now).await.map_err(classify)?;
            let kind = if change.scheduled.is_some() { "scheduled" } else { "cancelled" };
            let outcome = if applied { "applied" } else { "stale" };
            metrics::counter!(EVENTS_APPLIED, "event_type" => kind, "outcome" => outcome).increment(1);
            changed |= applied;
        }
        tx.commit().await.map_err(classify)?;
        if changed {
            self.wake.notify_one();
        }
        Ok(())
    }
}

impl Handler for ReminderHandler {
    async fn handle(&self, message: &InboundMessage) -> Result<(), HandlerError> {
        self.apply(std::slice::from_ref(message)).await
    }

    async fn handle_batch(&self, messages: &[InboundMessage]) -> Result<(), HandlerError> {
        self.apply(messages).await
    }

    async fn caught_up(&self, report: &CaughtUp) -> Result<(), HandlerError> {
        self.store
            .record_caught_up(&report.topic, report.partition, report.end_offset, report.checked_at, Utc::now())
            .await
            .map_err(classify)?;
        // A held reminder may fire now.
        self.wake.notify_one();
        Ok(())
    }
}

/// The change a record asks for: `None` for events the schedule ignores.
fn change(message: &InboundMessage) -> Result<Option<ReminderChange>, HandlerError> {
    let event = event_schema::decode(message.payload()).map_err(HandlerError::permanent)?;
    let (reminder_id, task_id, remind_at, scheduled) = match event.data {
        EventData::ReminderScheduled(s) => (s.reminder_id, s.task_id, s.remind_at, Some((s.title, s.due_at))),
        EventData::ReminderCancelled(c) => (c.reminder_id, c.task_id, c.remind_at, None),
        EventData::ReminderSent(_) | EventData::Unknown(_) => return Ok(None),
        other => {
            tracing::debug!(event_type = ?other.event_type(), "not a reminder event; skipped");
            return Ok(None);
        }
    };
    Ok(Some(ReminderChange {
        reminder_id,
        task_id,
        user_id: event.meta.userid,
        sequence: event.meta.sequence,
        partition: message.partition,
        remind_at,
        scheduled,
    }))
}

fn record_time(message: &InboundMessage) -> Option<DateTime<Utc>> {
    message.timestamp_ms.and_then(DateTime::from_timestamp_millis)
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

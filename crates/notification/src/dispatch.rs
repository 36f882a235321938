//! [`Dispatcher`]: delivers one fired entry: a delivery record per target (the inbox, always,
//! plus the user's channels), one attempt per record that needs one, and, once every record is
//! final, the entry's final state with `reminder.sent` in the same transaction.

use chrono::{DateTime, Utc};
use event_schema::{CONTENT_TYPE, Envelope, ReminderSent};
use service_runtime::outbox::{self, OutboxEvent, OutboxSignal};
use uuid::Uuid;

use crate::metrics::{DELIVERIES, LATENESS};
use crate::store::{self, Delivery, DeliveryState, Entry, EntryState, INBOX_TARGET, OUTBOX, Store};

/// The CloudEvents `source` of this service's events.
pub const SOURCE: &str = "/taskstream/notification";

/// Delivers fired entries on behalf of one replica (`owner`, the holder of their leases).
#[derive(Debug, Clone)]
pub struct Dispatcher {
    store: Store,
    owner: String,
    signal: OutboxSignal,
    reminders_topic: String,
}

/// How one generation ended, or that it waits for retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Final: `sent` or `failed` (and `reminder.sent` enqueued if anything was delivered).
    Finished(EntryState),
    /// Some deliveries wait for a retry; the entry is claimed again at this instant.
    WaitingUntil(DateTime<Utc>),
    /// Another replica took the entry over meanwhile (our lease had ended); it finishes it.
    LeaseLost,
}

impl Dispatcher {
    /// A dispatcher for the replica `owner`, enqueuing `reminder.sent` for `reminders_topic`
    /// and waking the relay through `signal`.
    pub fn new(store: Store, owner: String, signal: OutboxSignal, reminders_topic: String) -> Self {
        Self { store, owner, signal, reminders_topic }
    }

    /// Delivers `entry` (claimed by this replica): creates its delivery records, writes the
    /// inbox notification, attempts every other record that is due, and ends the generation
    /// when all are final.
    #[tracing::instrument(skip_all, fields(reminder_id = %entry.reminder_id, generation = entry.generation), err)]
    pub async fn dispatch(&self, entry: &Entry) -> Result<Outcome, sqlx::Error> {
        let now = Utc::now();
        let fired_at = entry.fired_at.unwrap_or(now);
        if entry.attempts == 1 {
            let lateness = (fired_at - entry.fire_at).as_seconds_f64().max(0.0);
            metrics::histogram!(LATENESS).record(lateness);
        }
        let targets = vec![(INBOX_TARGET.to_owned(), INBOX_TARGET.to_owned())];
        let deliveries = self.store.ensure_deliveries(entry, &targets, now).await?;
        for delivery in &deliveries {
            if delivery.target == INBOX_TARGET && !delivery.state.is_final() {
                self.deliver_to_inbox(entry, delivery, fired_at).await?;
            }
        }
        self.conclude(entry).await
    }

    /// The inbox notification and its delivery record, in one transaction.
    async fn deliver_to_inbox(
        &self,
        entry: &Entry,
        delivery: &Delivery,
        fired_at: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let now = Utc::now();
        let mut tx = self.store.pool().begin().await?;
        store::insert_inbox(&mut tx, entry, fired_at, now).await?;
        let delivered = Delivery {
            state: DeliveryState::Delivered,
            attempts: delivery.attempts + 1,
            delivered_at: Some(now),
            next_attempt_at: None,
            last_error: None,
            ..delivery.clone()
        };
        store::record_attempt(&mut tx, &delivered, now).await?;
        tx.commit().await?;
        metrics::counter!(DELIVERIES, "channel" => INBOX_TARGET, "outcome" => "delivered").increment(1);
        Ok(())
    }

    /// Ends the generation if every delivery is final (`reminder.sent` in the same
    /// transaction); otherwise hands the entry back until its first retry.
    async fn conclude(&self, entry: &Entry) -> Result<Outcome, sqlx::Error> {
        let now = Utc::now();
        let mut tx = self.store.pool().begin().await?;
        let deliveries = store::deliveries_in(&mut tx, entry.reminder_id, entry.generation).await?;
        // A record left pending (its attempt's outcome unknown) is due again at once.
        let waiting = deliveries.iter().filter(|d| !d.state.is_final()).map(|d| d.next_attempt_at.unwrap_or(now));
        if let Some(retry_at) = waiting.min() {
            tx.rollback().await?;
            return Ok(if store::release_until(&self.store, entry, &self.owner, retry_at, now).await? {
                Outcome::WaitingUntil(retry_at)
            } else {
                Outcome::LeaseLost
            });
        }
        let mut channels: Vec<String> =
            deliveries.iter().filter(|d| d.state == DeliveryState::Delivered).map(|d| d.channel.clone()).collect();
        channels.sort();
        channels.dedup();
        let state = if channels.is_empty() { EntryState::Failed } else { EntryState::Sent };
        if !store::finish(&mut tx, entry, &self.owner, state, now).await? {
            tx.rollback().await?;
            return Ok(Outcome::LeaseLost);
        }
        if !channels.is_empty() {
            let sent_at = deliveries.iter().filter_map(|d| d.delivered_at).max().unwrap_or(now);
            let event = self.sent_event(entry, sent_at, channels).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
            outbox::enqueue(&mut tx, &OUTBOX, &[event]).await?;
        }
        tx.commit().await?;
        self.signal.notify();
        Ok(Outcome::Finished(state))
    }

    /// `reminder.sent` of the entry's generation. Its id is derived from the reminder and the
    /// generation, so the outbox refuses a second one.
    fn sent_event(
        &self,
        entry: &Entry,
        sent_at: DateTime<Utc>,
        channels: Vec<String>,
    ) -> Result<OutboxEvent, serde_json::Error> {
        let data = ReminderSent {
            reminder_id: entry.reminder_id,
            task_id: entry.task_id,
            remind_at: entry.remind_at,
            sent_at,
            channels,
        };
        let mut envelope =
            Envelope::new(SOURCE, entry.task_id.to_string(), entry.user_id.clone(), entry.sequence.max(1), data);
        envelope.meta.id = Uuid::new_v5(&entry.reminder_id, format!("reminder.sent/{}", entry.generation).as_bytes());
        Ok(OutboxEvent {
            event_id: envelope.meta.id,
            event_type: envelope.meta.event_type.clone(),
            topic: self.reminders_topic.clone(),
            key: entry.task_id.to_string(),
            payload: envelope.to_json()?,
            headers: vec![("content-type".to_owned(), CONTENT_TYPE.to_owned())],
        })
    }
}

//! [`Dispatcher`]: delivers one fired entry: a delivery record per target (the inbox, always,
//! plus the user's channels) made in the transaction that writes the inbox notification, one
//! attempt per other record that needs one, and, once every record is final, the entry's final
//! state with `reminder.sent` in the same transaction.

use chrono::{DateTime, TimeDelta, Utc};
use event_schema::{CONTENT_TYPE, Envelope, ReminderSent};
use service_runtime::outbox::{self, OutboxEvent, OutboxSignal};
use uuid::Uuid;

use crate::channels::{Attempt, ChannelError, Channels, Message};
use crate::metrics::{DELIVERIES, LATENESS, RETRIES};
use crate::store::{self, Delivery, DeliveryState, Entry, EntryState, INBOX_TARGET, OUTBOX, Store};

/// Why a dispatch stopped; the entry's lease then ends and it is claimed again.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// The notification database failed.
    #[error("notification database: {0}")]
    Database(#[from] sqlx::Error),
    /// The user's channel settings could not be read.
    #[error(transparent)]
    Channels(#[from] ChannelError),
}

/// The CloudEvents `source` of this service's events.
pub const SOURCE: &str = "/taskstream/notification";

/// Delivers fired entries on behalf of one replica (`owner`, the holder of their leases).
#[derive(Debug, Clone)]
pub struct Dispatcher {
    store: Store,
    channels: Channels,
    owner: String,
    signal: OutboxSignal,
    reminders_topic: String,
}

/// Whether a record needs an attempt now: never attempted, attempted with no recorded outcome
/// (its replica died), or a retry that is due.
fn is_due(delivery: &Delivery, now: DateTime<Utc>) -> bool {
    match delivery.state {
        DeliveryState::Pending => true,
        DeliveryState::Retrying => delivery.next_attempt_at.is_none_or(|at| at <= now),
        DeliveryState::Delivered | DeliveryState::Failed | DeliveryState::Disabled => false,
    }
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
    pub fn new(store: Store, channels: Channels, owner: String, signal: OutboxSignal, reminders_topic: String) -> Self {
        Self { store, channels, owner, signal, reminders_topic }
    }

    /// Delivers `entry` (claimed by this replica): creates its delivery records (the first time
    /// only: the targets are the user's as the reminder fires), writes the inbox notification,
    /// attempts every other record that is due, and ends the generation when all are final.
    #[tracing::instrument(skip_all, fields(reminder_id = %entry.reminder_id, generation = entry.generation), err)]
    pub async fn dispatch(&self, entry: &Entry) -> Result<Outcome, DispatchError> {
        let now = Utc::now();
        let fired_at = entry.fired_at.unwrap_or(now);
        if entry.attempts == 1 {
            let lateness = (fired_at - entry.fire_at).as_seconds_f64().max(0.0);
            metrics::histogram!(LATENESS).record(lateness);
        }
        // A generation's records are made by its first claim's dispatch: a later claim reads them.
        let mut deliveries =
            if entry.attempts == 1 { Vec::new() } else { self.store.generation_deliveries(entry).await? };
        if deliveries.is_empty() {
            // The inbox is delivered as the records are made.
            let mut targets = vec![(INBOX_TARGET.to_owned(), INBOX_TARGET.to_owned())];
            let theirs = self.channels.targets(&entry.user_id).await?;
            targets.extend(theirs.iter().map(|t| (t.key.clone(), t.channel().to_owned())));
            if theirs.is_empty() {
                return Ok(self.fire_and_finish(entry, &targets, fired_at, now).await?);
            }
            deliveries = self.store.fire(entry, &targets, fired_at, now).await?;
            metrics::counter!(DELIVERIES, "channel" => INBOX_TARGET, "outcome" => "delivered").increment(1);
        }
        let message = Message {
            reminder_id: entry.reminder_id,
            user_id: entry.user_id.clone(),
            task_id: entry.task_id,
            title: entry.title.clone(),
            remind_at: entry.remind_at,
            due_at: entry.due_at,
            fired_at,
            late: entry.late,
            generation: entry.generation,
        };
        let mut attempts = Vec::new();
        for delivery in deliveries.iter().filter(|d| is_due(d, now)) {
            if delivery.target == INBOX_TARGET {
                self.deliver_to_inbox(entry, delivery, fired_at).await?;
            } else {
                attempts.push(self.attempt(entry, delivery, &message));
            }
        }
        for attempted in futures::future::join_all(attempts).await {
            attempted?;
        }
        Ok(self.conclude(entry).await?)
    }

    /// One attempt of an external target, recorded with its outcome (a retry at the next
    /// delay of the schedule, never sooner than the receiver's `Retry-After`).
    async fn attempt(&self, entry: &Entry, delivery: &Delivery, message: &Message) -> Result<(), DispatchError> {
        let number = delivery.attempts + 1;
        let outcome = match self.channels.target(&entry.user_id, &delivery.target).await? {
            Some(target) => self.channels.deliver(&target, message, number).await,
            None => Attempt::Disabled { reason: "the target was removed or disabled".into() },
        };
        let now = Utc::now();
        let mut next = Delivery { attempts: number, next_attempt_at: None, ..delivery.clone() };
        match &outcome {
            Attempt::Delivered => {
                next.state = DeliveryState::Delivered;
                next.delivered_at = Some(now);
                next.last_error = None;
            }
            Attempt::Retry { after, reason } => match self.channels.next_delay(number, *after) {
                Some(delay) => {
                    next.state = DeliveryState::Retrying;
                    next.next_attempt_at = Some(now + TimeDelta::from_std(delay).unwrap_or(TimeDelta::days(1)));
                    next.last_error = Some(reason.clone());
                    metrics::counter!(RETRIES, "channel" => delivery.channel.clone()).increment(1);
                }
                None => {
                    next.state = DeliveryState::Failed;
                    next.last_error = Some(format!("{reason} (no retries left after {number} attempts)"));
                }
            },
            Attempt::Failed { reason } => {
                next.state = DeliveryState::Failed;
                next.last_error = Some(reason.clone());
            }
            Attempt::Disabled { reason } => {
                next.state = DeliveryState::Disabled;
                next.last_error = Some(reason.clone());
            }
        }
        metrics::counter!(DELIVERIES, "channel" => delivery.channel.clone(), "outcome" => outcome.outcome())
            .increment(1);
        self.store.record_attempt(&next, now).await?;
        Ok(())
    }

    /// A generation with the inbox as its only target: fired and finished, with its
    /// `reminder.sent`, in one transaction.
    async fn fire_and_finish(
        &self,
        entry: &Entry,
        targets: &[(String, String)],
        fired_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, sqlx::Error> {
        let mut tx = self.store.pool().begin().await?;
        store::fire_in(&mut tx, entry, targets, fired_at, now).await?;
        if !store::finish(&mut tx, entry, &self.owner, EntryState::Sent, now).await? {
            tx.rollback().await?;
            return Ok(Outcome::LeaseLost);
        }
        let event =
            self.sent_event(entry, now, vec![INBOX_TARGET.to_owned()]).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        outbox::enqueue(&mut tx, &OUTBOX, &[event]).await?;
        tx.commit().await?;
        self.signal.notify();
        metrics::counter!(DELIVERIES, "channel" => INBOX_TARGET, "outcome" => "delivered").increment(1);
        Ok(Outcome::Finished(EntryState::Sent))
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

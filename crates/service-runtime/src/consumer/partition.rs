//! One partition's worker: handles its messages in order (one at a time or in batches), retries
//! transient failures in place, dead-letters permanent ones, and stores offsets only after
//! success.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use event_schema::topics::dead_letter_headers;
use metrics::SharedString;
use rdkafka::consumer::Consumer;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use super::context::TopicPartition;
use super::runtime::Kafka;
use crate::consumer::{Backoff, Handler, HandlerError, InboundMessage, dead_letter};
use crate::health::Health;
use crate::kafka::{OutboundRecord, Producer};
use crate::metrics::{
    BATCH_DURATION, BATCH_SIZE, HANDLER_DURATION, MESSAGES_DEAD_LETTERED, MESSAGES_FAILED, MESSAGES_HANDLED,
};

/// What the workers share.
pub(super) struct Shared<H> {
    pub(super) handler: H,
    pub(super) producer: Producer,
    pub(super) health: Health,
    pub(super) group: String,
    pub(super) dead_letter_topic: String,
    pub(super) backoff: Backoff,
    pub(super) concurrency: Semaphore,
    pub(super) wake: mpsc::UnboundedSender<TopicPartition>,
}

/// One partition's worker: handles its messages in order.
pub(super) struct PartitionJob<H> {
    pub(super) shared: Arc<Shared<H>>,
    pub(super) consumer: Arc<Kafka>,
    pub(super) tp: TopicPartition,
    pub(super) queued: Arc<AtomicUsize>,
    pub(super) cancel: CancellationToken,
    pub(super) resume_at: usize,
    pub(super) max_batch: usize,
    pub(super) condition: String,
}

impl<H: Handler> PartitionJob<H> {
    pub(super) async fn run(self, mut rx: mpsc::UnboundedReceiver<InboundMessage>) {
        let mut batch = Vec::with_capacity(self.max_batch);
        loop {
            let first = tokio::select! {
                biased;
                () = self.cancel.cancelled() => break,
                message = rx.recv() => match message { Some(m) => m, None => break },
            };
            batch.push(first);
            let permit = tokio::select! {
                biased;
                () = self.cancel.cancelled() => break,
                permit = self.shared.concurrency.acquire() => permit,
            };
            // A batch is what is waiting once a handler may run: nothing waits for more, so
            // latency never grows.
            while batch.len() < self.max_batch {
                match rx.try_recv() {
                    Ok(message) => batch.push(message),
                    Err(_) => break,
                }
            }
            let finished = match batch.as_slice() {
                [message] => self.process(message).await && self.store(message),
                messages => self.process_batch(messages).await,
            };
            drop(permit);
            let size: usize = batch.drain(..).map(|m| m.buffered_size()).sum();
            let before = self.queued.fetch_sub(size, Ordering::AcqRel);
            let remaining = before - size;
            if !finished {
                break; // stopped while retrying: the offset stays unstored, the messages come back
            }
            if before > self.resume_at && remaining <= self.resume_at {
                let _ = self.shared.wake.send(self.tp.clone());
            }
        }
        self.shared.health.clear(&self.condition);
    }

    /// Stores the offset after `message` for the next commit; always `true`.
    fn store(&self, message: &InboundMessage) -> bool {
        // Fails harmlessly when the partition was revoked meanwhile: the new owner resumes
        // from the last committed offset and handles this message again.
        if let Err(error) = self.consumer.store_offset(&message.topic, message.partition, message.offset) {
            tracing::debug!(error = %error, offset = message.offset, "offset not stored (partition revoked)");
        }
        true
    }

    /// Handles consecutive messages with [`Handler::handle_batch`]: retried as a whole on a
    /// transient failure; after a permanent one, each message goes through [`Self::process`]
    /// so only the bad ones are dead-lettered. `false` when cancelled while retrying.
    async fn process_batch(&self, messages: &[InboundMessage]) -> bool {
        let shared = &self.shared;
        let group = shared.group.clone();
        let (first, last) = (messages[0].offset, messages[messages.len() - 1].offset);
        // One span per record, each in its record's trace, open while the batch is handled.
        let _spans: Vec<_> = messages.iter().map(|m| crate::telemetry::spans::consume(m, &group)).collect();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let started = Instant::now();
            let result = shared.handler.handle_batch(messages).await;
            metrics::histogram!(BATCH_DURATION, "group" => group.clone()).record(started.elapsed().as_secs_f64());
            let error = match result {
                Ok(()) => {
                    metrics::histogram!(BATCH_SIZE, "group" => group.clone()).record(messages.len() as f64);
                    for message in messages {
                        let labels = [
                            ("group", SharedString::from(group.clone())),
                            ("topic", SharedString::from(message.topic.clone())),
                            ("event_type", SharedString::from(message.event_type_label())),
                        ];
                        metrics::counter!(MESSAGES_HANDLED, &labels).increment(1);
                    }
                    if attempt > 1 {
                        shared.health.clear(&self.condition);
                        tracing::info!(topic = %self.tp.0, partition = self.tp.1, first, last, attempts = attempt,
                            "batch handled after retries");
                    }
                    return self.store(&messages[messages.len() - 1]);
                }
                Err(error) => error,
            };
            let reason = error.reason();
            if let HandlerError::Permanent(_) = error {
                tracing::info!(topic = %self.tp.0, partition = self.tp.1, first, last, error = %reason,
                    "batch refused; handling its messages one at a time");
                for message in messages {
                    // Revoked or stopping: the rest stays unstored and comes back to the new owner.
                    if self.cancel.is_cancelled() || !(self.process(message).await && self.store(message)) {
                        return false;
                    }
                }
                // An earlier transient attempt of this batch may have raised the condition.
                shared.health.clear(&self.condition);
                return true;
            }
            metrics::counter!(MESSAGES_FAILED, "group" => group.clone(), "topic" => self.tp.0.clone(),
                "event_type" => "batch", "kind" => "transient")
            .increment(1);
            let delay = shared.backoff.delay(attempt, &mut rand::rng());
            tracing::warn!(topic = %self.tp.0, partition = self.tp.1, first, last, attempt,
                retry_in_ms = delay.as_millis() as u64, error = %reason, "transient batch failure; retrying");
            shared
                .health
                .raise(&self.condition, format!("retrying offsets {first}..={last} (attempt {attempt}): {reason}"));
            if !self.sleep(delay).await {
                return false;
            }
        }
    }

    /// Handles one message until it succeeded or was dead-lettered (`true`), or until the
    /// worker is cancelled while retrying (`false`).
    async fn process(&self, message: &InboundMessage) -> bool {
        let shared = &self.shared;
        let event_type = message.event_type_label();
        let labels = [
            ("group", SharedString::from(shared.group.clone())),
            ("topic", SharedString::from(message.topic.clone())),
            ("event_type", SharedString::from(event_type)),
        ];
        let span = crate::telemetry::spans::consume(message, &shared.group);
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let started = Instant::now();
            let result = tracing::Instrument::instrument(shared.handler.handle(message), span.clone()).await;
            metrics::histogram!(HANDLER_DURATION, "group" => shared.group.clone(), "event_type" => event_type)
                .record(started.elapsed().as_secs_f64());
            let error = match result {
                Ok(()) => {
                    metrics::counter!(MESSAGES_HANDLED, &labels).increment(1);
                    if attempt > 1 {
                        shared.health.clear(&self.condition);
                        tracing::info!(topic = %message.topic, partition = message.partition,
                            offset = message.offset, attempts = attempt, "message handled after retries");
                    }
                    return true;
                }
                Err(error) => error,
            };
            let reason = error.reason();
            match error {
                HandlerError::Permanent(_) => {
                    metrics::counter!(MESSAGES_FAILED, "group" => shared.group.clone(), "topic" => message.topic.clone(),
                        "event_type" => event_type, "kind" => "permanent")
                    .increment(1);
                    let dead_letter = self.dead_letter(message, &reason, attempt);
                    let sent = tracing::Instrument::instrument(dead_letter, span.clone()).await;
                    if sent {
                        metrics::counter!(MESSAGES_DEAD_LETTERED, &labels).increment(1);
                    }
                    shared.health.clear(&self.condition);
                    return sent;
                }
                HandlerError::Transient(_) => {
                    metrics::counter!(MESSAGES_FAILED, "group" => shared.group.clone(), "topic" => message.topic.clone(),
                        "event_type" => event_type, "kind" => "transient")
                    .increment(1);
                    let delay = shared.backoff.delay(attempt, &mut rand::rng());
                    tracing::warn!(topic = %message.topic, partition = message.partition, offset = message.offset,
                        attempt, retry_in_ms = delay.as_millis() as u64, error = %reason, "transient failure; retrying");
                    shared.health.raise(
                        &self.condition,
                        format!("retrying offset {} (attempt {attempt}): {reason}", message.offset),
                    );
                    if !self.sleep(delay).await {
                        return false;
                    }
                }
            }
        }
    }

    /// Publishes the original record to the dead-letter topic, retrying while the broker is
    /// unreachable (the message is never skipped without its dead letter). A dead letter too
    /// large to publish (the added headers can push a record near the size limit over it) keeps
    /// only the first part of the original value, marked with `dlq.truncated`: retrying it as
    /// it is could never succeed and would stall the partition for ever.
    async fn dead_letter(&self, message: &InboundMessage, reason: &str, attempts: u32) -> bool {
        let shared = &self.shared;
        let extra = dead_letter::headers(message, &shared.group, reason, attempts);
        let original = message.payload();
        let original_size = original.len().to_string();
        let mut kept = original.len();
        let mut attempt: u32 = 0;
        loop {
            let mut headers: Vec<(&str, Option<&[u8]>)> =
                message.headers.iter().map(|(k, v)| (k.as_str(), v.as_deref())).collect();
            headers.extend(extra.iter().map(|(k, v)| (k.as_str(), Some(v.as_slice()))));
            if kept < original.len() {
                headers.push((dead_letter_headers::TRUNCATED, Some(original_size.as_bytes())));
            }
            let record = OutboundRecord {
                topic: &shared.dead_letter_topic,
                key: message.key.as_deref(),
                payload: &original[..kept],
                headers,
            };
            match shared.producer.send(record).await {
                Ok(delivery) => {
                    tracing::warn!(topic = %message.topic, partition = message.partition, offset = message.offset,
                        dead_letter_topic = %shared.dead_letter_topic, dead_letter_offset = delivery.offset,
                        value_bytes_kept = kept, value_bytes = original.len(), error = %reason, "message dead-lettered");
                    return true;
                }
                Err(error) if dead_letter::too_large(&error) && kept > 0 => {
                    kept = dead_letter::shrink(kept);
                    tracing::warn!(topic = %message.topic, partition = message.partition, offset = message.offset,
                        error = %error, value_bytes = original.len(), value_bytes_kept = kept,
                        "dead letter too large; truncating its value");
                }
                Err(error) => {
                    attempt += 1;
                    let delay = shared.backoff.delay(attempt, &mut rand::rng());
                    tracing::error!(error = %error, attempt, "publishing a dead letter failed; retrying");
                    shared.health.raise(&self.condition, format!("cannot publish dead letter: {error}"));
                    if !self.sleep(delay).await {
                        return false;
                    }
                }
            }
        }
    }

    /// Sleeps unless cancelled first; `false` when cancelled.
    async fn sleep(&self, delay: Duration) -> bool {
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => false,
            () = tokio::time::sleep(delay) => true,
        }
    }
}

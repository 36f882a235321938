//! The poll loop, the per-partition workers, and shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use event_schema::topics::dead_letter_headers;
use metrics::SharedString;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::topic_partition_list::TopicPartitionList;
use rdkafka::types::RDKafkaErrorCode;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::consumer::context::{Assignment, ConsumerCtx, TopicPartition, Worker};
use crate::consumer::{Backoff, Handler, HandlerError, InboundMessage, dead_letter};
use crate::health::Health;
use crate::kafka::{OutboundRecord, Producer, RuntimeContext, client_config};
use crate::metrics::{
    BATCH_DURATION, BATCH_SIZE, HANDLER_DURATION, MESSAGES_DEAD_LETTERED, MESSAGES_FAILED, MESSAGES_HANDLED,
    PAUSED_PARTITIONS,
};
use crate::settings::{ConsumerSettings, KafkaSettings};

type Kafka = StreamConsumer<ConsumerCtx>;

/// Runs a [`Handler`] over topics in a consumer group, at least once per message.
pub struct ConsumerRuntime<H: Handler> {
    consumer: Arc<Kafka>,
    assignment: Arc<Assignment>,
    shared: Arc<Shared<H>>,
    topics: Vec<String>,
    wake_rx: mpsc::UnboundedReceiver<TopicPartition>,
    /// Bytes waiting per partition at which it is paused.
    buffer: usize,
    /// Most messages per [`Handler::handle_batch`] call.
    max_batch: usize,
    grace: Duration,
}

impl<H: Handler> std::fmt::Debug for ConsumerRuntime<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerRuntime")
            .field("group", &self.shared.group)
            .field("topics", &self.topics)
            .finish_non_exhaustive()
    }
}

/// What the workers share.
struct Shared<H> {
    handler: H,
    producer: Producer,
    health: Health,
    group: String,
    dead_letter_topic: String,
    backoff: Backoff,
    concurrency: Semaphore,
    wake: mpsc::UnboundedSender<TopicPartition>,
}

impl<H: Handler> ConsumerRuntime<H> {
    /// Creates the consumer (nothing is fetched before [`ConsumerRuntime::run`]). `producer`
    /// publishes dead letters; `health` receives the "stuck retrying" conditions.
    pub fn new(
        kafka: &KafkaSettings,
        settings: &ConsumerSettings,
        topics: &[&str],
        handler: H,
        producer: Producer,
        health: Health,
    ) -> Result<Self, Error> {
        if settings.group_id.is_empty() {
            return Err(Error::InvalidSettings("consumer.group_id is empty".into()));
        }
        let assignment = Arc::new(Assignment::default());
        let context = ConsumerCtx {
            runtime: RuntimeContext::new(health.clone(), Some(&settings.group_id)),
            assignment: assignment.clone(),
        };
        let mut config = client_config(kafka, &settings.group_id)?;
        config
            .set("group.id", &settings.group_id)
            .set("group.protocol", "classic")
            .set("partition.assignment.strategy", "cooperative-sticky")
            // At-least-once: offsets are stored by the workers after success, and the stored
            // offsets are committed in the background.
            .set("enable.auto.offset.store", "false")
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", settings.auto_commit_interval_ms.to_string())
            .set("auto.offset.reset", &settings.auto_offset_reset)
            .set("enable.partition.eof", "false")
            .set("session.timeout.ms", settings.session_timeout_ms.to_string())
            .set("heartbeat.interval.ms", settings.heartbeat_interval_ms.to_string())
            .set("max.poll.interval.ms", settings.max_poll_interval_ms.to_string())
            .set("fetch.wait.max.ms", settings.fetch_wait_max_ms.to_string())
            .set("statistics.interval.ms", settings.statistics_interval_ms.to_string());
        for (key, value) in &kafka.librdkafka {
            config.set(key, value);
        }
        let consumer: Kafka =
            config.create_with_context(context).map_err(Error::kafka("creating the Kafka consumer"))?;
        let (wake, wake_rx) = mpsc::unbounded_channel();
        let shared = Shared {
            handler,
            producer,
            health,
            group: settings.group_id.clone(),
            dead_letter_topic: settings.dead_letter_topic(),
            backoff: Backoff {
                initial: Duration::from_millis(settings.retry_initial_ms),
                max: Duration::from_millis(settings.retry_max_ms),
            },
            concurrency: Semaphore::new(settings.max_concurrency.max(1)),
            wake,
        };
        Ok(Self {
            consumer: Arc::new(consumer),
            assignment,
            shared: Arc::new(shared),
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            wake_rx,
            buffer: settings.partition_buffer_bytes.max(1),
            max_batch: settings.max_batch.max(1),
            grace: Duration::from_millis(settings.shutdown_grace_ms),
        })
    }

    /// Consumes until `shutdown` is cancelled, then stops fetching, lets in-flight messages
    /// finish (within the grace period), commits stored offsets and leaves the group.
    #[tracing::instrument(name = "consumer", skip_all, fields(group = %self.shared.group))]
    pub async fn run(mut self, shutdown: CancellationToken) -> Result<(), Error> {
        let topics: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        self.consumer.subscribe(&topics).map_err(Error::kafka("subscribing"))?;
        tracing::info!(topics = ?self.topics, "consumer started");
        // The tick re-enters `recv()` regularly, so librdkafka sees the application polling
        // (max.poll.interval.ms) even while every partition is paused, and catches resumes.
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                Some(tp) = self.wake_rx.recv() => self.resume_if_caught_up(Some(&tp)),
                message = self.consumer.recv() => match message {
                    Ok(message) => {
                        let message = InboundMessage::from_message(&message);
                        self.dispatch(message, &shutdown);
                    }
                    // Transport errors are reported here too; librdkafka reconnects by itself.
                    Err(error) => tracing::warn!(error = %error, "consumer error"),
                },
                _ = tick.tick() => self.resume_if_caught_up(None),
            }
        }
        self.stop().await;
        Ok(())
    }

    fn dispatch(&self, message: InboundMessage, shutdown: &CancellationToken) {
        let tp = (message.topic.clone(), message.partition);
        let mut workers = self.assignment.workers();
        let worker = workers.entry(tp.clone()).or_insert_with(|| self.spawn_worker(tp.clone(), shutdown));
        let size = message.buffered_size();
        let queued = worker.queued.fetch_add(size, Ordering::AcqRel) + size;
        if worker.tx.send(message).is_err() {
            // Cannot happen while the entry exists: the worker only stops after removal.
            tracing::error!(topic = %tp.0, partition = tp.1, "partition worker is gone");
        }
        if !worker.paused && queued >= self.buffer {
            match self.consumer.pause(&single(&tp)) {
                Ok(()) => {
                    worker.paused = true;
                    metrics::gauge!(PAUSED_PARTITIONS, "group" => self.shared.group.clone()).increment(1);
                    tracing::debug!(topic = %tp.0, partition = tp.1, queued_bytes = queued, "partition paused: handler is behind");
                }
                Err(error) => tracing::warn!(error = %error, "pausing a partition failed"),
            }
        }
    }

    fn resume_if_caught_up(&self, only: Option<&TopicPartition>) {
        let mut workers = self.assignment.workers();
        for (tp, worker) in workers.iter_mut() {
            if only.is_some_and(|o| o != tp) || !worker.paused {
                continue;
            }
            if worker.queued.load(Ordering::Acquire) <= self.buffer / 2 {
                match self.consumer.resume(&single(tp)) {
                    Ok(()) => {
                        worker.paused = false;
                        metrics::gauge!(PAUSED_PARTITIONS, "group" => self.shared.group.clone()).decrement(1);
                        tracing::debug!(topic = %tp.0, partition = tp.1, "partition resumed");
                    }
                    Err(error) => tracing::warn!(error = %error, "resuming a partition failed"),
                }
            }
        }
    }

    fn spawn_worker(&self, tp: TopicPartition, shutdown: &CancellationToken) -> Worker {
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let cancel = shutdown.child_token();
        let predecessor = self.assignment.take_retiring(&tp);
        let job = PartitionJob {
            shared: self.shared.clone(),
            consumer: self.consumer.clone(),
            queued: queued.clone(),
            cancel: cancel.clone(),
            resume_at: self.buffer / 2,
            max_batch: self.max_batch,
            condition: format!("partition {}/{}", tp.0, tp.1),
            tp,
        };
        let join = tokio::spawn(async move {
            if let Some(predecessor) = predecessor {
                let _ = predecessor.await;
            }
            job.run(rx).await;
        });
        Worker { tx, queued, paused: false, cancel, join }
    }

    async fn stop(self) {
        tracing::info!("stopping: finishing in-flight messages");
        let handles = self.assignment.drain();
        let aborts: Vec<_> = handles.iter().map(tokio::task::JoinHandle::abort_handle).collect();
        if tokio::time::timeout(self.grace, futures::future::join_all(handles)).await.is_err() {
            tracing::warn!(grace = ?self.grace, "grace period over; abandoning in-flight messages (they will be redelivered)");
            aborts.iter().for_each(tokio::task::AbortHandle::abort);
        }
        let consumer = self.consumer;
        // Committing and closing block on network round trips: keep them off the async threads.
        let closed = tokio::task::spawn_blocking(move || {
            let committed = consumer.commit_consumer_state(CommitMode::Sync);
            consumer.unsubscribe();
            drop(consumer); // leaves the group (rd_kafka_consumer_close)
            committed
        })
        .await;
        match closed {
            Ok(Ok(())) | Ok(Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset))) => {
                tracing::info!("consumer stopped; offsets committed")
            }
            Ok(Err(error)) => {
                tracing::warn!(error = %error, "final commit failed; the last messages will be redelivered")
            }
            Err(error) => tracing::error!(error = %error, "closing the consumer panicked"),
        }
    }
}

fn single(tp: &TopicPartition) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::with_capacity(1);
    tpl.add_partition(&tp.0, tp.1);
    tpl
}

/// One partition's worker: handles its messages in order.
struct PartitionJob<H> {
    shared: Arc<Shared<H>>,
    consumer: Arc<Kafka>,
    tp: TopicPartition,
    queued: Arc<AtomicUsize>,
    cancel: CancellationToken,
    resume_at: usize,
    max_batch: usize,
    condition: String,
}

impl<H: Handler> PartitionJob<H> {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<InboundMessage>) {
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
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let started = Instant::now();
            let result = shared.handler.handle(message).await;
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
                    let sent = self.dead_letter(message, &reason, attempt).await;
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

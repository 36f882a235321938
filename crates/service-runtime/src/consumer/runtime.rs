//! The poll loop: assignment, dispatch to the per-partition workers (`partition`), pause and
//! resume, and shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::topic_partition_list::TopicPartitionList;
use rdkafka::types::RDKafkaErrorCode;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::consumer::caught_up;
use crate::consumer::context::{Assignment, ConsumerCtx, TopicPartition, Worker};
use crate::consumer::partition::{PartitionJob, Shared};
use crate::consumer::{Backoff, Handler, InboundMessage};
use crate::health::Health;
use crate::kafka::{Producer, RuntimeContext, client_config};
use crate::metrics::PAUSED_PARTITIONS;
use crate::settings::{ConsumerSettings, KafkaSettings};

pub(super) type Kafka = StreamConsumer<ConsumerCtx>;

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
    /// How often idle partitions are checked for [`Handler::caught_up`]; `None`: never.
    caught_up_every: Option<Duration>,
    /// The caught-up checks in progress, per partition (a partition's checks never overlap;
    /// one that waits holds back no other partition's).
    checking: std::collections::HashMap<TopicPartition, tokio::task::JoinHandle<()>>,
}

impl<H: Handler> std::fmt::Debug for ConsumerRuntime<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerRuntime")
            .field("group", &self.shared.group)
            .field("topics", &self.topics)
            .finish_non_exhaustive()
    }
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
            caught_up_every: (settings.caught_up_interval_ms > 0)
                .then(|| Duration::from_millis(settings.caught_up_interval_ms)),
            checking: std::collections::HashMap::new(),
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
        let mut caught_up_tick = tokio::time::interval(self.caught_up_every.unwrap_or(Duration::from_secs(3600)));
        caught_up_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
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
                _ = caught_up_tick.tick(), if self.caught_up_every.is_some() => self.check_caught_up(),
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

    /// Starts a caught-up check of each partition with nothing queued or in flight (see
    /// `caught_up`) whose previous check has finished. The snapshot is taken here, in the poll
    /// loop, so no record is between `recv` and its worker meanwhile.
    fn check_caught_up(&mut self) {
        self.checking.retain(|_, check| !check.is_finished());
        let positions = match self.consumer.position() {
            Ok(positions) => positions,
            Err(error) => return tracing::debug!(error = %error, "no positions for the caught-up check"),
        };
        let candidates: Vec<caught_up::Candidate> = {
            let workers = self.assignment.workers();
            positions
                .elements()
                .iter()
                .filter_map(|element| {
                    let tp = (element.topic().to_owned(), element.partition());
                    if self.checking.contains_key(&tp) {
                        return None; // its previous check is still running
                    }
                    let worker = workers.get(&tp);
                    if worker.is_some_and(|w| w.queued.load(Ordering::Acquire) > 0) {
                        return None; // records still queued or in flight
                    }
                    match element.offset() {
                        rdkafka::Offset::Offset(position) => Some((tp, Some(position))),
                        // A worker exists only once a record arrived, which sets the position.
                        _ if worker.is_some() => None,
                        _ => Some((tp, None)),
                    }
                })
                .collect()
        };
        let timeout = self.caught_up_every.unwrap_or_default().max(Duration::from_secs(5));
        for (tp, position) in candidates {
            let check = caught_up::check(self.consumer.clone(), self.shared.clone(), tp.clone(), position, timeout);
            self.checking.insert(tp, tokio::spawn(check));
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
        for check in self.checking.values() {
            check.abort(); // a report more or less changes nothing
        }
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

//! Shared test plumbing: settings for a fast local group, unique names, producing, reading a
//! topic back, a recording handler, deadline-bounded waiting.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::Message;
use rdkafka::message::{Headers, OwnedMessage};
use service_runtime::CancellationToken;
use service_runtime::consumer::{ConsumerRuntime, Handler, HandlerError, InboundMessage};
use service_runtime::health::Health;
use service_runtime::kafka::{self, OutboundRecord, Producer, TopicPlan};
use service_runtime::settings::{
    BaseSettings, ConsumerSettings, HttpSettings, KafkaSettings, ProducerSettings, TopicConfig, TopicSettings,
};
use tokio::task::JoinHandle;

pub(crate) fn bootstrap() -> String {
    std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

pub(crate) fn kafka_settings() -> KafkaSettings {
    KafkaSettings { bootstrap_servers: bootstrap(), ..Default::default() }
}

/// A name no other test (or earlier run) uses.
pub(crate) fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}

/// Group timeouts kept short, as the broker notes in docs/local-broker.md recommend for tests.
pub(crate) fn consumer_settings(group: &str) -> ConsumerSettings {
    ConsumerSettings {
        group_id: group.into(),
        session_timeout_ms: 6_000,
        heartbeat_interval_ms: 500,
        max_poll_interval_ms: 10_000,
        auto_commit_interval_ms: 200,
        statistics_interval_ms: 1_000,
        retry_initial_ms: 20,
        retry_max_ms: 200,
        shutdown_grace_ms: 5_000,
        max_concurrency: 4,
        // Small (a dozen test messages), so that pausing and resuming partitions is exercised.
        partition_buffer_bytes: 2_048,
        ..Default::default()
    }
}

/// A service on port 0 whose event topics are its own (`task-events-<suffix>`,
/// `reminders-<suffix>`), consuming (if it does) in the group `group-<suffix>`.
pub(crate) fn service_settings(suffix: &str) -> BaseSettings {
    BaseSettings {
        http: HttpSettings { host: "127.0.0.1".into(), port: 0, ..HttpSettings::default() },
        kafka: kafka_settings(),
        consumer: consumer_settings(&format!("group-{suffix}")),
        topics: TopicSettings {
            task_events: TopicConfig { name: format!("task-events-{suffix}"), partitions: 2, retention_ms: 3_600_000 },
            reminders: TopicConfig { name: format!("reminders-{suffix}"), partitions: 1, retention_ms: 3_600_000 },
            ..Default::default()
        },
        ..Default::default()
    }
}

/// `GET <base>/readyz`: the status and the report.
pub(crate) async fn readyz(client: &reqwest::Client, base: &str) -> Option<(u16, serde_json::Value)> {
    let response = client.get(format!("{base}/readyz")).send().await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.json().await.ok()?))
}

/// `GET <base>/metrics`.
pub(crate) async fn metrics_text(client: &reqwest::Client, base: &str) -> String {
    client.get(format!("{base}/metrics")).send().await.expect("metrics").text().await.expect("metrics body")
}

pub(crate) fn producer() -> Producer {
    let settings = ProducerSettings { message_timeout_ms: 15_000, ..Default::default() };
    Producer::new(&kafka_settings(), &settings, "runtime-tests", Health::new()).expect("producer")
}

pub(crate) async fn create_topic(name: &str, partitions: i32) {
    let plan = TopicPlan { name: name.into(), partitions, replication_factor: 1, retention_ms: 3_600_000 };
    kafka::ensure_topics(&kafka_settings(), &[plan], Duration::from_secs(10)).await.expect("create topic");
}

/// A test topic and its group's dead-letter topic.
pub(crate) async fn topic_with_dead_letters(partitions: i32) -> (String, String) {
    let topic = unique("rt");
    let group = format!("{topic}-group");
    create_topic(&topic, partitions).await;
    create_topic(&format!("{group}.dlq"), 1).await;
    (topic, group)
}

/// Test payload: which key, which position within the key.
pub(crate) fn payload(key: &str, seq: usize) -> Vec<u8> {
    serde_json::json!({ "type": "test.message", "key": key, "seq": seq }).to_string().into_bytes()
}

pub(crate) async fn produce(
    producer: &Producer,
    topic: &str,
    key: &str,
    value: &[u8],
    headers: Vec<(&str, Option<&[u8]>)>,
) {
    producer.send(OutboundRecord { topic, key: Some(key.as_bytes()), payload: value, headers }).await.expect("produce");
}

/// Produces `per_key` messages for each of `keys` keys, interleaved, in key order.
pub(crate) async fn produce_keyed(producer: &Producer, topic: &str, keys: usize, per_key: usize) {
    let mut sends = Vec::new();
    for seq in 0..per_key {
        for k in 0..keys {
            let key = format!("key-{k}");
            let producer = producer.clone();
            let topic = topic.to_owned();
            sends.push(async move { produce(&producer, &topic, &key, &payload(&key, seq), vec![]).await });
        }
    }
    // Idempotent producer: per-partition order follows send order even with many in flight.
    futures::future::join_all(sends).await;
}

/// One handling: `(key, seq, partition, offset)`.
pub(crate) type Record = (String, usize, i32, i64);

/// What the recording handler saw, in handling order.
#[derive(Clone, Default)]
pub(crate) struct Seen(Arc<Mutex<Vec<Record>>>);

impl Seen {
    pub(crate) fn snapshot(&self) -> Vec<Record> {
        self.0.lock().expect("lock").clone()
    }

    pub(crate) fn len(&self) -> usize {
        self.0.lock().expect("lock").len()
    }

    pub(crate) fn distinct(&self) -> std::collections::HashSet<(String, usize)> {
        self.snapshot().into_iter().map(|(k, s, _, _)| (k, s)).collect()
    }
}

/// Records every message it handles; fails permanently on anything that is not a test payload,
/// and transiently `fail_times` times for the message `(fail_key, fail_seq)`.
#[derive(Clone, Default)]
pub(crate) struct RecordingHandler {
    pub(crate) seen: Seen,
    pub(crate) transient_failures: Arc<Mutex<HashMap<(String, usize), usize>>>,
}

impl RecordingHandler {
    pub(crate) fn failing_transiently(key: &str, seq: usize, times: usize) -> Self {
        let handler = Self::default();
        handler.transient_failures.lock().expect("lock").insert((key.into(), seq), times);
        handler
    }
}

#[derive(serde::Deserialize)]
struct TestPayload {
    key: String,
    seq: usize,
}

impl Handler for RecordingHandler {
    async fn handle(&self, message: &InboundMessage) -> Result<(), HandlerError> {
        let parsed: TestPayload = serde_json::from_slice(message.payload()).map_err(HandlerError::permanent)?;
        if let Some(left) = self.transient_failures.lock().expect("lock").get_mut(&(parsed.key.clone(), parsed.seq))
            && *left > 0
        {
            *left -= 1;
            return Err(HandlerError::transient(std::io::Error::other("database unavailable")));
        }
        tokio::task::yield_now().await;
        self.seen.0.lock().expect("lock").push((parsed.key, parsed.seq, message.partition, message.offset));
        Ok(())
    }
}

/// A consumer runtime running in the background.
pub(crate) struct Running {
    pub(crate) stop: CancellationToken,
    pub(crate) task: JoinHandle<()>,
    pub(crate) health: Health,
}

impl Running {
    pub(crate) async fn shutdown(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.task).await.expect("stops within 30 s").expect("no panic");
    }
}

pub(crate) fn start<H: Handler>(topic: &str, settings: &ConsumerSettings, handler: H) -> Running {
    let health = Health::new();
    let runtime = ConsumerRuntime::new(&kafka_settings(), settings, &[topic], handler, producer(), health.clone())
        .expect("runtime");
    let stop = CancellationToken::new();
    let token = stop.clone();
    let task = tokio::spawn(async move { runtime.run(token).await.expect("runtime runs") });
    Running { stop, task, health }
}

/// Polls `condition` until it holds; panics with `what` after `timeout`.
pub(crate) async fn eventually<F, Fut>(timeout: Duration, what: &str, condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    service_runtime::testing::eventually(timeout, what, condition).await;
}

/// Reads every record of `topic` from the beginning until `count` arrived (or panics after 20 s).
pub(crate) async fn read_topic(topic: &str, count: usize) -> Vec<OwnedMessage> {
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        service_runtime::testing::read_records(&kafka_settings(), &topic, count, Duration::from_secs(20))
            .expect("records arrive")
    })
    .await
    .expect("reader thread")
}

/// The number of records in `topic` (the tests never delete records).
pub(crate) async fn record_count(topic: &str) -> i64 {
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        service_runtime::testing::record_count(&kafka_settings(), &topic).expect("count")
    })
    .await
    .expect("counter thread")
}

pub(crate) fn header(message: &OwnedMessage, name: &str) -> Option<String> {
    let headers = message.headers()?;
    headers.iter().find(|h| h.key == name).and_then(|h| h.value).map(|v| String::from_utf8_lossy(v).into_owned())
}

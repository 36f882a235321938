//! The outbox tests' plumbing: two outbox configs sharing one database, events, committed
//! enqueues, a running relay, reading a topic back, deadline-bounded waiting.

use std::future::Future;
use std::sync::LazyLock;
use std::time::Duration;

use rdkafka::Message as _;
use service_runtime::CancellationToken;
use service_runtime::database::{Backend, Migrations, Pool};
use service_runtime::health::Health;
use service_runtime::kafka::{self, Producer, TopicPlan};
use service_runtime::outbox::{self, OutboxConfig, OutboxEvent, OutboxSignal, Relay, RelayError, RelaySettings};
use service_runtime::settings::{KafkaSettings, ProducerSettings};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::helpers::TestDb;

/// The outbox most tests use.
pub(crate) const FIRST: OutboxConfig = OutboxConfig::new("first_outbox", "first_outbox", 0x6669_7273_746f_7574);
/// Another service's outbox in the same database.
pub(crate) const SECOND: OutboxConfig = OutboxConfig::new("second_outbox", "second_outbox", 0x7365_636f_6e64_6f75);

/// Migration 1 creates both outbox tables from `outbox::migration_sql`, through the real
/// migration runner. (Migrations are `'static` text: leaked once per test process.)
static MIGRATIONS: LazyLock<Migrations> = LazyLock::new(|| {
    let files = |backend| -> &'static [(i64, &'static str, &'static str)] {
        let sql = format!("{}\n{}", outbox::migration_sql(backend, &FIRST), outbox::migration_sql(backend, &SECOND));
        Box::leak(vec![(1, "outboxes", &*Box::leak(sql.into_boxed_str()))].into_boxed_slice())
    };
    Migrations { table: "_outbox_test_migrations", postgres: files(Backend::Postgres), sqlite: files(Backend::Sqlite) }
});

/// A pool on `db` with both outbox tables.
pub(crate) async fn pool(db: &TestDb) -> Pool {
    db.pool(&MIGRATIONS).await.expect("connect and migrate")
}

/// Event `n` of `key`, for `topic`.
pub(crate) fn event(topic: &str, key: &str, n: usize) -> OutboxEvent {
    OutboxEvent {
        event_id: Uuid::now_v7(),
        event_type: "test.happened".to_owned(),
        topic: topic.to_owned(),
        key: key.to_owned(),
        payload: format!(r#"{{"key":"{key}","n":{n}}}"#).into_bytes(),
        headers: vec![("content-type".to_owned(), "application/json".to_owned()), ("n".to_owned(), n.to_string())],
    }
}

/// Enqueues `events` into `config`'s outbox in one committed transaction.
pub(crate) async fn enqueue(pool: &Pool, config: &OutboxConfig, events: &[OutboxEvent]) {
    let mut tx = pool.begin().await.expect("begin");
    outbox::enqueue(&mut tx, config, events).await.expect("enqueue");
    tx.commit().await.expect("commit");
}

/// The shared broker.
pub(crate) fn bootstrap() -> String {
    std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

fn kafka_settings(bootstrap: &str) -> KafkaSettings {
    KafkaSettings { bootstrap_servers: bootstrap.to_owned(), ..Default::default() }
}

/// A new topic of 3 partitions on `bootstrap`.
pub(crate) async fn topic(bootstrap: &str) -> String {
    let name = format!("outbox-test-{}", Uuid::now_v7().simple());
    let plan = TopicPlan { name: name.clone(), partitions: 3, replication_factor: 1, retention_ms: 3_600_000 };
    kafka::ensure_topics(&kafka_settings(bootstrap), &[plan], Duration::from_secs(10)).await.expect("create topic");
    name
}

/// A relay running in the background.
pub(crate) struct Running {
    pub(crate) signal: OutboxSignal,
    pub(crate) health: Health,
    stop: CancellationToken,
    task: JoinHandle<Result<(), RelayError>>,
}

impl Running {
    /// Starts a relay of `config`'s outbox in `pool`, publishing to `bootstrap`.
    pub(crate) fn start(pool: &Pool, config: OutboxConfig, bootstrap: &str) -> Self {
        let health = Health::new();
        // Short enough that a test with the broker down sees sends fail soon.
        let producer_settings = ProducerSettings { message_timeout_ms: 3_000, ..Default::default() };
        let producer = Producer::new(&kafka_settings(bootstrap), &producer_settings, "outbox-tests", health.clone())
            .expect("producer");
        let signal = OutboxSignal::default();
        // A fast poll: a standby takes over within 100 ms.
        let settings = RelaySettings { poll_interval_ms: 100, ..RelaySettings::default() };
        let relay = Relay::new(pool.clone(), producer, signal.clone(), settings, health.clone(), config);
        let stop = CancellationToken::new();
        let task = tokio::spawn(relay.run(stop.clone()));
        Self { signal, health, stop, task }
    }

    /// Stops it; what `run` returned.
    pub(crate) async fn stop(self) -> Result<(), RelayError> {
        self.stop.cancel();
        self.finished().await
    }

    /// What `run` returned, waiting for it (20 s at most) without stopping it.
    pub(crate) async fn finished(self) -> Result<(), RelayError> {
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("the relay returns in time")
            .expect("no panic")
    }
}

/// `(key, n)` of each record on `topic`, in partition order, reading until `count` arrived
/// (30 s at most).
pub(crate) async fn read(bootstrap: &str, topic: &str, count: usize) -> Vec<(String, usize)> {
    let (settings, topic) = (kafka_settings(bootstrap), topic.to_owned());
    let records = tokio::task::spawn_blocking(move || {
        service_runtime::testing::read_records(&settings, &topic, count, Duration::from_secs(30))
    })
    .await
    .expect("reader")
    .expect("records");
    records
        .iter()
        .map(|record| {
            let value: serde_json::Value = serde_json::from_slice(record.payload().unwrap_or_default()).expect("JSON");
            let key = String::from_utf8_lossy(record.key().unwrap_or_default()).into_owned();
            assert_eq!(value["key"].as_str(), Some(key.as_str()), "the record's key is the event's");
            (key, value["n"].as_u64().expect("n") as usize)
        })
        .collect()
}

/// How many records `topic` holds.
pub(crate) async fn count(bootstrap: &str, topic: &str) -> i64 {
    let (settings, topic) = (kafka_settings(bootstrap), topic.to_owned());
    tokio::task::spawn_blocking(move || service_runtime::testing::record_count(&settings, &topic))
        .await
        .expect("counter")
        .expect("count")
}

/// The `n`s of each key, in the order they were read (per key, partition order).
pub(crate) fn per_key(records: &[(String, usize)]) -> std::collections::BTreeMap<String, Vec<usize>> {
    let mut keys = std::collections::BTreeMap::<String, Vec<usize>>::new();
    for (key, n) in records {
        keys.entry(key.clone()).or_default().push(*n);
    }
    keys
}

/// Polls `condition` until it holds; panics naming `what` after 30 s.
pub(crate) async fn eventually<F, Fut>(what: &str, condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    service_runtime::testing::eventually(Duration::from_secs(30), what, condition).await;
}

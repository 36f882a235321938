//! `spawn_app()`: task-api on port 0 with its own database and topics; a client with tokens.

use std::time::Duration;

use rdkafka::Message;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use service_runtime::auth::AuthSettings;
use service_runtime::settings::{BaseSettings, HttpSettings, KafkaSettings, TopicConfig, TopicSettings};
use service_runtime::testing::Running;
use task_api::storage::DatabaseSettings;
use task_api::{Application, Settings, TaskApiSettings};

pub(crate) fn bootstrap() -> String {
    std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

fn admin_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub(crate) fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// A fresh, empty PostgreSQL database; its URL.
pub(crate) async fn fresh_database() -> String {
    service_runtime::testing::fresh_postgres_database(&admin_url(), "task_api_test")
        .await
        .expect("PostgreSQL on DATABASE_URL")
}

/// The audience task-api's test tokens are for.
pub(crate) const AUDIENCE: &str = "task-api";

pub(crate) fn auth_settings() -> AuthSettings {
    service_runtime::auth::testing::settings(AUDIENCE)
}

pub(crate) fn token(sub: &str) -> String {
    token_with(sub, serde_json::Map::new())
}

/// A token for `sub` with extra claims (`scope`, `roles`, …).
pub(crate) fn token_with(sub: &str, claims: serde_json::Map<String, Value>) -> String {
    service_runtime::auth::testing::token(AUDIENCE, sub, claims)
}

pub(crate) struct TestApp {
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    pub(crate) task_events: String,
    pub(crate) reminders: String,
    pub(crate) database_url: String,
    running: Running,
}

pub(crate) struct Options {
    pub(crate) database_url: Option<String>,
    pub(crate) topics: Option<(String, String)>,
    pub(crate) bootstrap: Option<String>,
}

pub(crate) async fn spawn_app() -> TestApp {
    spawn_with(Options { database_url: None, topics: None, bootstrap: None }).await
}

pub(crate) async fn spawn_with(options: Options) -> TestApp {
    spawn_tweaked(options, |_| {}).await
}

/// [`spawn_with`], with `tweak` applied to the settings before the service is built.
pub(crate) async fn spawn_tweaked(options: Options, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let database_url = match options.database_url {
        Some(url) => url,
        None => fresh_database().await,
    };
    let (task_events, reminders) = options.topics.unwrap_or_else(|| (unique("task-events"), unique("reminders")));
    let base = BaseSettings {
        http: HttpSettings { host: "127.0.0.1".into(), port: 0, ..HttpSettings::default() },
        kafka: KafkaSettings { bootstrap_servers: options.bootstrap.unwrap_or_else(bootstrap), ..Default::default() },
        topics: TopicSettings {
            task_events: TopicConfig { name: task_events.clone(), partitions: 3, retention_ms: 3_600_000 },
            reminders: TopicConfig { name: reminders.clone(), partitions: 1, retention_ms: 3_600_000 },
            ..Default::default()
        },
        producer: service_runtime::settings::ProducerSettings { message_timeout_ms: 5_000, ..Default::default() },
        ..Default::default()
    };
    let app = TaskApiSettings {
        database: DatabaseSettings { url: database_url.clone(), ..Default::default() },
        auth: auth_settings(),
        ..Default::default()
    };
    let mut settings = Settings { base, app };
    tweak(&mut settings);
    let application = Application::build(settings).await.expect("build");
    let running = Running::spawn(application.port(), |stop| application.run_until_stopped(stop));
    TestApp { base: running.base_url(), client: reqwest::Client::new(), task_events, reminders, database_url, running }
}

impl TestApp {
    pub(crate) fn request(&self, method: Method, path: &str, user: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base)).bearer_auth(token(user))
    }

    pub(crate) async fn create(&self, user: &str, body: Value) -> Value {
        let response = self.request(Method::POST, "/v1/tasks", user).json(&body).send().await.expect("send");
        assert_eq!(response.status(), 201, "{:?}", response.text().await);
        response.json().await.expect("json")
    }

    /// Waits until `/readyz` answers 200 (the service creates its topics after it starts).
    pub(crate) async fn ready(&self) {
        self.running.ready(Duration::from_secs(30)).await;
    }

    pub(crate) async fn shutdown(self) {
        self.running.shutdown().await;
    }

    /// The HTTP port.
    pub(crate) fn port(&self) -> u16 {
        self.running.port
    }
}

pub(crate) async fn body(response: Response) -> Value {
    response.json().await.expect("json body")
}

/// Reads `topic` of the shared broker from the beginning until `count` records arrived (or
/// panics after 30 s); returns (key, CloudEvent JSON) in topic-partition order.
pub(crate) async fn read_events(topic: &str, count: usize) -> Vec<(String, Value)> {
    read_events_from(&bootstrap(), topic, count).await
}

/// [`read_events`] against a given broker.
pub(crate) async fn read_events_from(bootstrap: &str, topic: &str, count: usize) -> Vec<(String, Value)> {
    let kafka = KafkaSettings { bootstrap_servers: bootstrap.to_owned(), ..Default::default() };
    let topic = topic.to_owned();
    let records = tokio::task::spawn_blocking(move || {
        service_runtime::testing::read_records(&kafka, &topic, count, Duration::from_secs(30)).expect("events arrive")
    })
    .await
    .expect("reader thread");
    records
        .iter()
        .map(|message| {
            let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
            let value = serde_json::from_slice(message.payload().unwrap_or_default()).expect("JSON event");
            (key, value)
        })
        .collect()
}

/// How many records `topic` of `bootstrap` holds: with [`read_events`], proves "exactly once"
/// without waiting for duplicates.
pub(crate) async fn record_count_on(bootstrap: &str, topic: &str) -> i64 {
    let kafka = KafkaSettings { bootstrap_servers: bootstrap.to_owned(), ..Default::default() };
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || service_runtime::testing::record_count(&kafka, &topic).expect("count"))
        .await
        .expect("counter thread")
}

/// [`record_count_on`] the shared broker.
pub(crate) async fn record_count(topic: &str) -> i64 {
    record_count_on(&bootstrap(), topic).await
}

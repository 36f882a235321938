//! `spawn_notification()`: the notification service on port 0 with its own database, topics and
//! group; `spawn_task_api()`: task-api on the same topics; reading `reminder.sent` back;
//! deadline-bounded waiting.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use notification::{Application, NotificationSettings, SchedulerSettings, Settings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use service_runtime::database::DatabaseSettings;
use service_runtime::health::Health;
use service_runtime::kafka::{OutboundRecord, Producer};
use service_runtime::settings::{
    BaseSettings, ConsumerSettings, HttpSettings, KafkaSettings, ProducerSettings, TopicConfig, TopicSettings,
};
use service_runtime::testing::Running;
use sqlx::Connection as _;
use uuid::Uuid;

pub(crate) const WAIT: Duration = Duration::from_secs(60);

pub(crate) fn kafka() -> KafkaSettings {
    let bootstrap = std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_else(|_| "127.0.0.1:9092".into());
    KafkaSettings { bootstrap_servers: bootstrap, ..Default::default() }
}

pub(crate) fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", Uuid::now_v7().simple())
}

pub(crate) async fn fresh_database() -> String {
    let admin = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    service_runtime::testing::fresh_postgres_database(&admin, "notification_test")
        .await
        .expect("PostgreSQL on DATABASE_URL")
}

/// The audiences of the tests' tokens: each service checks its own.
const NOTIFICATION: &str = "notification";
const TASK_API: &str = "task-api";

/// The topics one test's services share (`reminders` with 3 partitions, as in production).
#[derive(Clone, Debug)]
pub(crate) struct Topics {
    pub(crate) task_events: String,
    pub(crate) reminders: String,
}

impl Topics {
    pub(crate) fn new() -> Self {
        Self { task_events: unique("task-events"), reminders: unique("reminders") }
    }

    fn settings(&self) -> TopicSettings {
        TopicSettings {
            task_events: TopicConfig { name: self.task_events.clone(), partitions: 3, retention_ms: 3_600_000 },
            reminders: TopicConfig { name: self.reminders.clone(), partitions: 3, retention_ms: 3_600_000 },
            ..Default::default()
        }
    }
}

pub(crate) fn base(topics: &Topics, group: &str) -> BaseSettings {
    BaseSettings {
        http: HttpSettings { host: "127.0.0.1".into(), port: 0, ..HttpSettings::default() },
        kafka: kafka(),
        topics: topics.settings(),
        producer: ProducerSettings { message_timeout_ms: 5_000, linger_ms: 1, ..Default::default() },
        consumer: ConsumerSettings {
            group_id: group.into(),
            max_batch: 100,
            session_timeout_ms: 6_000,
            heartbeat_interval_ms: 500,
            auto_commit_interval_ms: 200,
            fetch_wait_max_ms: 50,
            caught_up_interval_ms: 100,
            retry_initial_ms: 20,
            retry_max_ms: 500,
            shutdown_grace_ms: 5_000,
            ..Default::default()
        },
    }
}

/// The scheduler's settings in tests: short leases and re-checks.
pub(crate) fn scheduler() -> SchedulerSettings {
    SchedulerSettings { lease_seconds: 5, recheck_ms: 500, hold_recheck_ms: 50, ..Default::default() }
}

/// The notification service's settings on `database_url`.
pub(crate) fn settings(topics: &Topics, database_url: &str, group: &str) -> Settings {
    let app = NotificationSettings {
        database: DatabaseSettings { url: database_url.to_owned(), ..Default::default() },
        auth: service_runtime::auth::testing::settings(NOTIFICATION),
        notification: scheduler(),
        ..Default::default()
    };
    Settings { base: base(topics, group), app }
}

/// Channel settings for receivers on this machine: http and loopback allowed, short attempt
/// timeouts, retries after 1 s (twice), no jitter.
pub(crate) fn local_channels(settings: &mut Settings) {
    let notification = &mut settings.app.notification;
    notification.webhook.allow_http = true;
    notification.webhook.allow_private = true;
    notification.webhook.timeout_ms = 1_000;
    notification.email.timeout_ms = 5_000;
    notification.retry.schedule_secs = vec![1, 1];
    notification.retry.jitter = 0.0;
}

/// A running notification service.
pub(crate) struct NotificationApp {
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    running: Running,
}

pub(crate) async fn spawn_notification(topics: &Topics, database_url: &str, group: &str) -> NotificationApp {
    spawn_with(settings(topics, database_url, group)).await
}

pub(crate) async fn spawn_with(settings: Settings) -> NotificationApp {
    let application = Application::build(settings).await.expect("build notification");
    let running = Running::spawn(application.port(), |stop| application.run_until_stopped(stop));
    running.ready(Duration::from_secs(30)).await;
    NotificationApp { base: running.base_url(), client: reqwest::Client::new(), running }
}

/// A token for the notification API.
pub(crate) fn token(user: &str) -> String {
    service_runtime::auth::testing::token(NOTIFICATION, user, serde_json::Map::new())
}

impl NotificationApp {
    /// `method path` as `user` with an optional JSON body: the status and the JSON body (or Null).
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        user: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base)).bearer_auth(token(user));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("send");
        let status = response.status();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The user's inbox items (`GET /v1/notifications`).
    pub(crate) async fn inbox(&self, user: &str) -> Vec<Value> {
        let (status, body) = self.call(Method::GET, "/v1/notifications?limit=200", user, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["items"].as_array().cloned().unwrap_or_default()
    }

    /// `/metrics`.
    pub(crate) async fn metrics(&self) -> String {
        self.client.get(format!("{}/metrics", self.base)).send().await.expect("metrics").text().await.expect("text")
    }

    pub(crate) async fn shutdown(self) {
        self.running.shutdown().await;
    }
}

/// A connection to a test database.
pub(crate) async fn connect(database_url: &str) -> sqlx::PgConnection {
    sqlx::PgConnection::connect(database_url).await.expect("connect")
}

/// The state of a reminder's schedule entry, if any.
pub(crate) async fn entry_state(database_url: &str, reminder_id: Uuid) -> Option<String> {
    let mut db = connect(database_url).await;
    sqlx::query_scalar("SELECT state FROM schedule WHERE reminder_id = $1")
        .bind(reminder_id)
        .fetch_optional(&mut db)
        .await
        .expect("entry")
}

/// Rows of the inbox for a reminder (every generation).
pub(crate) async fn inbox_rows(database_url: &str, reminder_id: Uuid) -> i64 {
    let mut db = connect(database_url).await;
    sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE reminder_id = $1")
        .bind(reminder_id)
        .fetch_one(&mut db)
        .await
        .expect("count")
}

/// A running task-api on `topics`.
pub(crate) struct TaskApi {
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    running: Running,
}

pub(crate) async fn spawn_task_api(topics: &Topics) -> TaskApi {
    let app = task_api::TaskApiSettings {
        database: DatabaseSettings { url: fresh_database().await, ..Default::default() },
        auth: service_runtime::auth::testing::settings(TASK_API),
        ..Default::default()
    };
    let settings = task_api::Settings { base: base(topics, "unused-by-task-api"), app };
    let application = task_api::Application::build(settings).await.expect("build task-api");
    let running = Running::spawn(application.port(), |stop| application.run_until_stopped(stop));
    running.ready(Duration::from_secs(30)).await;
    TaskApi { base: running.base_url(), client: reqwest::Client::new(), running }
}

impl TaskApi {
    /// Sends a request as `user`; returns the JSON body (or Null) after checking the status.
    pub(crate) async fn call(&self, method: Method, path: &str, user: &str, body: Option<Value>, expect: u16) -> Value {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(service_runtime::auth::testing::token(TASK_API, user, serde_json::Map::new()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("send");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        assert_eq!(status, expect, "{path}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Creates a task of `user` with one reminder at `at`; returns the task's id.
    pub(crate) async fn task_with_reminder(&self, user: &str, title: &str, at: DateTime<Utc>) -> Uuid {
        let body = json!({ "title": title, "reminders": [{ "at": at.to_rfc3339() }] });
        let task = self.call(Method::POST, "/v1/tasks", user, Some(body), 201).await;
        task["id"].as_str().and_then(|id| id.parse().ok()).expect("task id")
    }

    pub(crate) async fn shutdown(self) {
        self.running.shutdown().await;
    }
}

/// The reminders of `task` in the schedule, waiting (deadline-bounded) until there are `count`;
/// `(reminder_id, state, remind_at)`, earliest first.
pub(crate) async fn reminders_of(database_url: &str, task: Uuid, count: usize) -> Vec<(Uuid, String, DateTime<Utc>)> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let mut db = connect(database_url).await;
        let rows: Vec<(Uuid, String, DateTime<Utc>)> =
            sqlx::query_as("SELECT reminder_id, state, remind_at FROM schedule WHERE task_id = $1 ORDER BY remind_at")
                .bind(task)
                .fetch_all(&mut db)
                .await
                .expect("entries");
        if rows.len() >= count {
            return rows;
        }
        assert!(tokio::time::Instant::now() < deadline, "{count} reminder(s) of task {task} not scheduled in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) fn producer() -> Producer {
    Producer::new(
        &kafka(),
        &ProducerSettings { message_timeout_ms: 15_000, ..Default::default() },
        "notification-tests",
        Health::new(),
    )
    .expect("producer")
}

pub(crate) async fn produce(producer: &Producer, topic: &str, key: &str, value: &[u8]) {
    producer
        .send(OutboundRecord { topic, key: Some(key.as_bytes()), payload: value, headers: vec![] })
        .await
        .expect("produce");
}

/// Every `reminder.sent` on `topic`: `(reminder_id, channels)`.
pub(crate) async fn sent_events(topic: &str) -> Vec<(Uuid, Vec<String>)> {
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        use rdkafka::Message as _;
        let count = service_runtime::testing::record_count(&kafka(), &topic).expect("count");
        let records = service_runtime::testing::read_records(&kafka(), &topic, count as usize, Duration::from_secs(30))
            .expect("records");
        records
            .iter()
            .filter_map(|r| event_schema::decode(r.payload().unwrap_or_default()).ok())
            .filter_map(|e| match e.data {
                event_schema::EventData::ReminderSent(sent) => Some((sent.reminder_id, sent.channels)),
                _ => None,
            })
            .collect()
    })
    .await
    .expect("reader thread")
}

/// The records on `topic` (blocking count, for dead-letter topics).
pub(crate) async fn record_count(topic: &str) -> i64 {
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || service_runtime::testing::record_count(&kafka(), &topic).unwrap_or(0))
        .await
        .expect("counter thread")
}

/// Polls `condition` until it holds; panics with `what` after [`WAIT`].
pub(crate) async fn eventually<F, Fut>(what: &str, condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    service_runtime::testing::eventually(WAIT, what, condition).await;
}

/// An instant `seconds` from now, to the millisecond (task-api keeps microseconds).
pub(crate) fn in_seconds(seconds: i64) -> DateTime<Utc> {
    use chrono::SubsecRound as _;
    (Utc::now() + chrono::TimeDelta::seconds(seconds)).trunc_subsecs(3)
}

/// The inbox items of `reminder_id` among `items`.
pub(crate) fn items_of(items: &[Value], reminder_id: Uuid) -> Vec<Value> {
    items.iter().filter(|i| i["reminder_id"] == reminder_id.to_string()).cloned().collect()
}

/// An RFC 3339 field of a JSON item as an instant.
pub(crate) fn instant(value: &Value) -> DateTime<Utc> {
    value.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|t| t.to_utc()).expect("an instant")
}

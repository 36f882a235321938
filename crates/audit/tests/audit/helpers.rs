//! `spawn_audit()`: the audit service on port 0 with its own database, topics and group;
//! `spawn_task_api()`: task-api on the same topics; tokens; producing; waiting.

use std::future::Future;
use std::time::Duration;

use audit::{Application, AuditSettings, Settings};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;
use service_runtime::auth::AuthSettings;
use service_runtime::database::DatabaseSettings;
use service_runtime::health::Health;
use service_runtime::kafka::{OutboundRecord, Producer};
use service_runtime::settings::{
    BaseSettings, ConsumerSettings, HttpSettings, KafkaSettings, ProducerSettings, TopicConfig, TopicSettings,
};
use service_runtime::testing::Running;

pub(crate) const WAIT: Duration = Duration::from_secs(60);

pub(crate) fn bootstrap() -> String {
    std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

pub(crate) fn kafka() -> KafkaSettings {
    KafkaSettings { bootstrap_servers: bootstrap(), ..Default::default() }
}

pub(crate) fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}

pub(crate) async fn fresh_database() -> String {
    let admin = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    service_runtime::testing::fresh_postgres_database(&admin, "audit_test").await.expect("PostgreSQL on DATABASE_URL")
}

/// The audiences of the tests' tokens: each service checks its own.
const AUDIT: &str = "audit";
const TASK_API: &str = "task-api";

pub(crate) fn auth(audience: &str) -> AuthSettings {
    service_runtime::auth::testing::settings(audience)
}

/// A token for the audit API.
pub(crate) fn token(sub: &str) -> String {
    service_runtime::auth::testing::token(AUDIT, sub, serde_json::Map::new())
}

/// An administrator's token for the audit API.
pub(crate) fn admin_token(sub: &str) -> String {
    let mut claims = serde_json::Map::new();
    claims.insert("roles".into(), serde_json::json!(["admin"]));
    service_runtime::auth::testing::token(AUDIT, sub, claims)
}

/// The topics one test's services share.
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
            reminders: TopicConfig { name: self.reminders.clone(), partitions: 1, retention_ms: 3_600_000 },
            ..Default::default()
        }
    }
}

fn base(topics: &Topics, group: &str) -> BaseSettings {
    BaseSettings {
        http: HttpSettings { host: "127.0.0.1".into(), port: 0, ..HttpSettings::default() },
        kafka: kafka(),
        topics: topics.settings(),
        producer: ProducerSettings { message_timeout_ms: 5_000, ..Default::default() },
        consumer: ConsumerSettings {
            group_id: group.into(),
            max_batch: 500,
            session_timeout_ms: 6_000,
            heartbeat_interval_ms: 500,
            auto_commit_interval_ms: 200,
            retry_initial_ms: 20,
            retry_max_ms: 500,
            shutdown_grace_ms: 5_000,
            ..Default::default()
        },
    }
}

/// A running audit service.
pub(crate) struct AuditApp {
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    pub(crate) database_url: String,
    running: Running,
}

pub(crate) async fn spawn_audit(topics: &Topics, database_url: &str, group: &str) -> AuditApp {
    let app = AuditSettings {
        database: DatabaseSettings { url: database_url.to_owned(), ..Default::default() },
        auth: auth(AUDIT),
        ..Default::default()
    };
    let application = Application::build(Settings { base: base(topics, group), app }).await.expect("build audit");
    let running = Running::spawn(application.port(), |stop| application.run_until_stopped(stop));
    running.ready(Duration::from_secs(30)).await;
    AuditApp {
        base: running.base_url(),
        client: reqwest::Client::new(),
        database_url: database_url.to_owned(),
        running,
    }
}

impl AuditApp {
    pub(crate) fn get(&self, path: &str, token: &str) -> RequestBuilder {
        self.client.request(Method::GET, format!("{}{path}", self.base)).bearer_auth(token)
    }

    /// `GET path` as `token`, expecting 200 JSON.
    pub(crate) async fn json(&self, path: &str, token: &str) -> Value {
        let response = self.get(path, token).send().await.expect("send");
        assert_eq!(response.status(), StatusCode::OK, "{path}: {:?}", response.text().await);
        response.json().await.expect("json")
    }

    /// Rows in `audit_events`.
    pub(crate) async fn rows(&self) -> i64 {
        use sqlx::Connection as _;
        let mut db = sqlx::PgConnection::connect(&self.database_url).await.expect("connect");
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events").fetch_one(&mut db).await.expect("count")
    }

    pub(crate) async fn shutdown(self) {
        self.running.shutdown().await;
    }
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
        auth: auth(TASK_API),
        ..Default::default()
    };
    let settings = task_api::Settings { base: base(topics, "unused-by-task-api"), app };
    let application = task_api::Application::build(settings).await.expect("build task-api");
    let running = Running::spawn(application.port(), |stop| application.run_until_stopped(stop));
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

    pub(crate) async fn shutdown(self) {
        self.running.shutdown().await;
    }
}

pub(crate) fn producer() -> Producer {
    Producer::new(
        &kafka(),
        &ProducerSettings { message_timeout_ms: 15_000, ..Default::default() },
        "audit-tests",
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

/// A `reminder.sent` event of `user`'s task `task`, as a record value.
pub(crate) fn reminder_sent(user: &str, task: uuid::Uuid) -> Vec<u8> {
    let now = chrono::Utc::now();
    let data = event_schema::ReminderSent {
        reminder_id: uuid::Uuid::now_v7(),
        task_id: task,
        remind_at: now,
        sent_at: now,
        channels: vec!["email".into()],
    };
    event_schema::Envelope::new("/taskstream/notification", task.to_string(), user, 1, data).to_json().expect("json")
}

/// Polls `condition` until it holds; panics with `what` after [`WAIT`].
pub(crate) async fn eventually<F, Fut>(what: &str, condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    service_runtime::testing::eventually(WAIT, what, condition).await;
}

//! The parts every test runs on: task-api in-process on a fresh PostgreSQL database, the
//! recurring-task consumer in-process on the same topics with a group of its own, a user's
//! calls to task-api, and deadline-bounded waits. The group's offsets and producing records
//! are in `offsets`, re-exported here.

use std::future::Future;
use std::time::Duration;

use recurring_task::{Application, RecurringSettings, Settings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use service_runtime::client::{ClientSettings, DevelopmentTokenSettings, RetrySettings, TokenSettings};
use service_runtime::database::DatabaseSettings;
use service_runtime::settings::{
    BaseSettings, ConsumerSettings, HttpSettings, KafkaSettings, ProducerSettings, TopicConfig, TopicSettings,
};
use service_runtime::testing::Running;

pub(crate) use crate::offsets::*;

/// The longest any test waits for an effect.
pub(crate) const WAIT: Duration = Duration::from_secs(90);
/// Partitions of each test's `task-events`.
pub(crate) const PARTITIONS: i32 = 3;
/// The audience of task-api's tokens (its tests' auth settings check it).
const TASK_API: &str = "task-api";

pub(crate) fn kafka() -> KafkaSettings {
    let bootstrap = std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_else(|_| "127.0.0.1:9092".into());
    KafkaSettings { bootstrap_servers: bootstrap, ..Default::default() }
}

pub(crate) fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}

pub(crate) async fn fresh_database() -> String {
    let admin = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    service_runtime::testing::fresh_postgres_database(&admin, "recurring_test")
        .await
        .expect("PostgreSQL on DATABASE_URL")
}

/// The topics of one test, and the consumer group its recurring-task joins.
#[derive(Clone, Debug)]
pub(crate) struct Stack {
    pub(crate) task_events: String,
    pub(crate) reminders: String,
    pub(crate) group: String,
}

impl Stack {
    pub(crate) fn new() -> Self {
        Self { task_events: unique("task-events"), reminders: unique("reminders"), group: unique("recurring-task") }
    }

    fn topics(&self) -> TopicSettings {
        TopicSettings {
            task_events: TopicConfig {
                name: self.task_events.clone(),
                partitions: PARTITIONS,
                retention_ms: 3_600_000,
            },
            reminders: TopicConfig { name: self.reminders.clone(), partitions: 1, retention_ms: 3_600_000 },
            ..Default::default()
        }
    }

    fn base(&self, port: u16) -> BaseSettings {
        BaseSettings {
            http: HttpSettings { host: "127.0.0.1".into(), port, ..HttpSettings::default() },
            kafka: kafka(),
            topics: self.topics(),
            producer: ProducerSettings { message_timeout_ms: 5_000, ..Default::default() },
            consumer: ConsumerSettings {
                group_id: self.group.clone(),
                session_timeout_ms: 6_000,
                heartbeat_interval_ms: 500,
                auto_commit_interval_ms: 200,
                fetch_wait_max_ms: 50,
                retry_initial_ms: 20,
                retry_max_ms: 500,
                shutdown_grace_ms: 5_000,
                ..Default::default()
            },
        }
    }

    /// The dead-letter topic of the group.
    pub(crate) fn dead_letters(&self) -> String {
        format!("{}.dlq", self.group)
    }
}

/// task-api running in this process.
pub(crate) struct TaskApi {
    pub(crate) base: String,
    pub(crate) port: u16,
    pub(crate) database_url: String,
    client: reqwest::Client,
    running: Running,
}

/// Starts task-api on `stack`'s topics over `database_url`, on `port` (0: any).
pub(crate) async fn spawn_task_api(stack: &Stack, database_url: &str, port: u16) -> TaskApi {
    let app = task_api::TaskApiSettings {
        database: DatabaseSettings { url: database_url.to_owned(), ..Default::default() },
        auth: service_runtime::auth::testing::settings(TASK_API),
        ..Default::default()
    };
    let settings = task_api::Settings { base: stack.base(port), app };
    let application = task_api::Application::build(settings).await.expect("build task-api");
    let running = Running::spawn(application.port(), |stop| application.run_until_stopped(stop));
    running.ready(Duration::from_secs(30)).await;
    TaskApi {
        base: running.base_url(),
        port: running.port,
        database_url: database_url.to_owned(),
        client: reqwest::Client::new(),
        running,
    }
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

    /// Creates a task for `user`; returns it.
    pub(crate) async fn create(&self, user: &str, body: Value) -> Value {
        self.call(Method::POST, "/v1/tasks", user, Some(body), 201).await
    }

    /// Completes `user`'s task `id`; returns it.
    pub(crate) async fn complete(&self, user: &str, id: &str) -> Value {
        self.call(Method::POST, &format!("/v1/tasks/{id}/complete"), user, None, 200).await
    }

    /// Reopens `user`'s task `id`.
    pub(crate) async fn reopen(&self, user: &str, id: &str) -> Value {
        self.call(Method::POST, &format!("/v1/tasks/{id}/reopen"), user, None, 200).await
    }

    /// Every task of `user` matching `query` (e.g. `series_id=…`), following the pages, in
    /// the order of `sort=due_at,created_at`.
    pub(crate) async fn tasks(&self, user: &str, query: &str) -> Vec<Value> {
        let mut tasks = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = "/v1/tasks?limit=200&sort=due_at,created_at".to_owned();
            if !query.is_empty() {
                path.push_str(&format!("&{query}"));
            }
            if let Some(cursor) = &cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let page = self.call(Method::GET, &path, user, None, 200).await;
            tasks.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return tasks,
            }
        }
    }

    /// The tasks of the series `series_id`, by due date.
    pub(crate) async fn series(&self, user: &str, series_id: &str) -> Vec<Value> {
        self.tasks(user, &format!("series_id={series_id}")).await
    }

    /// Rows of task-api's outbox not yet published to the broker.
    pub(crate) async fn unpublished(&self) -> i64 {
        use sqlx::Connection as _;
        let mut db = sqlx::PgConnection::connect(&self.database_url).await.expect("connect");
        let sql = format!("SELECT COUNT(*) FROM {} WHERE published_at IS NULL", task_api::storage::OUTBOX.table());
        sqlx::query_scalar(&sql).fetch_one(&mut db).await.expect("count unpublished")
    }

    pub(crate) async fn shutdown(self) {
        self.running.shutdown().await;
    }
}

/// The client settings of a recurring-task calling task-api at `base_url` with development
/// tokens task-api's test settings accept.
pub(crate) fn client_settings(base_url: &str) -> ClientSettings {
    ClientSettings {
        base_url: base_url.to_owned(),
        connect_timeout_ms: 500,
        request_timeout_ms: 5_000,
        retry: RetrySettings { max_attempts: 2, initial_backoff_ms: 20, max_backoff_ms: 100, ..Default::default() },
        token: TokenSettings {
            development: DevelopmentTokenSettings {
                service: "recurring-task".into(),
                hs256_secret: Some(service_runtime::auth::testing::SECRET.into()),
                issuer: Some(service_runtime::auth::testing::ISSUER.into()),
                audience: Some(TASK_API.into()),
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The recurring-task consumer running in this process.
pub(crate) struct Consumer {
    pub(crate) base: String,
    client: reqwest::Client,
    running: Running,
}

/// Starts recurring-task on `stack`, calling task-api at `task_api` (a base URL), and waits
/// until it is ready.
pub(crate) async fn spawn_consumer(stack: &Stack, task_api: &str) -> Consumer {
    let app = RecurringSettings { task_api: client_settings(task_api) };
    let application = Application::build(Settings { base: stack.base(0), app }).await.expect("build recurring-task");
    let running = Running::spawn(application.port(), |stop| application.run_until_stopped(stop));
    running.ready(Duration::from_secs(30)).await;
    Consumer { base: running.base_url(), client: reqwest::Client::new(), running }
}

impl Consumer {
    /// `/readyz`: its status and report.
    pub(crate) async fn readiness(&self) -> (StatusCode, Value) {
        let response = self.client.get(format!("{}/readyz", self.base)).send().await.expect("readyz");
        (response.status(), response.json().await.expect("readiness report"))
    }

    /// A counter of `/metrics` (summed over its labels); 0 when absent.
    pub(crate) async fn counter(&self, name: &str) -> f64 {
        let text = self.client.get(format!("{}/metrics", self.base)).send().await.expect("metrics").text().await;
        text.expect("metrics text")
            .lines()
            .filter(|l| l.strip_prefix(name).is_some_and(|rest| rest.starts_with([' ', '{'])))
            .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
            .sum()
    }

    pub(crate) async fn shutdown(self) {
        self.running.shutdown().await;
    }
}

/// A recurring task's body: `rrule` from `due_at` in `time_zone`, anchored on the due date.
pub(crate) fn recurring(title: &str, due_at: &str, time_zone: &str, rrule: &str) -> Value {
    json!({
        "title": title,
        "due_at": due_at,
        "time_zone": time_zone,
        "recurrence": { "rrule": rrule, "anchor": "due" },
    })
}

/// The task's `field` as a string.
pub(crate) fn text<'a>(task: &'a Value, field: &str) -> &'a str {
    task[field].as_str().unwrap_or_else(|| panic!("{field} of {task}"))
}

/// Polls `condition` until it holds; panics with `what` after [`WAIT`].
pub(crate) async fn eventually<F, Fut>(what: &str, condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    service_runtime::testing::eventually(WAIT, what, condition).await;
}

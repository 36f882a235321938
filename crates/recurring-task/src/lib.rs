//! The recurring-task service: when an occurrence of a recurring task is completed, it creates
//! the next one, exactly once, correct across time zones and daylight saving.
//!
//! It consumes `task-events` in its own group (`recurring-task`). For each `task.completed`
//! of a task with a recurrence it computes the successor with the pure
//! [`task_domain::next_occurrence`] (the series' rule evaluated from the series start in the
//! task's time zone: `COUNT`, `UNTIL`, skipped past occurrences, reminders moved along) and
//! creates it through task-api's HTTP API as the service `service:recurring-task` acting for
//! the task's owner (`X-On-Behalf-Of`), so task-api stays the only writer of tasks. task-api
//! answers a successor that already exists (same series and occurrence) with that task, so
//! redelivered, replayed and repeated completions create nothing new. Every other event is
//! ignored and counted; a malformed one goes to `recurring-task.dlq`.
//!
//! # Layout
//! - [`Settings`]: this service's settings (the shared ones, plus `task_api`: where task-api
//!   is and where this service's token comes from).
//! - [`Application`]: build (binds the listener, checks the client settings) and run until
//!   shutdown.
//! - [`handler`]: [`handler::RecurringHandler`], the consumer's handling of one event.
//! - [`task_api`]: [`task_api::TaskApi`], the `POST /v1/tasks` call, its idempotency key, and
//!   what task-api's answers mean (new, duplicate, transient, permanent).
//! - [`metrics`]: the service's metric names.

pub mod handler;
pub mod metrics;
pub mod task_api;

use anyhow::Context as _;
use serde::Deserialize;
use service_runtime::CancellationToken;
use service_runtime::client::ClientSettings;
use service_runtime::service::Service;
use service_runtime::settings::{self, BaseSettings};

use crate::handler::RecurringHandler;
use crate::task_api::TaskApi;

/// Service name: client id, logs, metrics.
pub const SERVICE: &str = "recurring-task";

/// Built-in defaults, beneath `config/*.yaml` and the environment.
const DEFAULTS: &[(&str, &str)] = &[
    ("consumer.group_id", "recurring-task"),
    // A development token's subject is `service:recurring-task`.
    ("task_api.token.development.service", "recurring-task"),
];

/// The recurring-task service's own sections of the settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RecurringSettings {
    /// How to call task-api: `base_url` (required), timeouts, retries of one call, and the
    /// token source (`development`, `client_credentials` or `file`; see docs/service-calls.md).
    pub task_api: ClientSettings,
}

/// This service's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Settings every service shares.
    pub base: BaseSettings,
    /// The recurring-task service's own.
    pub app: RecurringSettings,
}

impl Settings {
    /// Loads defaults → `config/base.yaml` → `config/{APP_ENVIRONMENT}.yaml` → `APP__…`.
    pub fn load() -> Result<Self, service_runtime::Error> {
        Ok(Self { base: settings::load(DEFAULTS)?, app: settings::load(DEFAULTS)? })
    }
}

/// The running service.
#[derive(Debug)]
pub struct Application {
    service: Service,
    handler: RecurringHandler,
}

impl Application {
    /// Checks the task-api client settings (a missing base URL or token setting fails here),
    /// binds the listener and creates the Kafka clients. Nothing waits for the broker or
    /// task-api.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let task_api = TaskApi::new(&settings.app.task_api).context("while setting up the task-api client")?;
        let service = Service::build(SERVICE, settings.base).await.context("while starting the service")?;
        Ok(Self { service, handler: RecurringHandler::new(task_api) })
    }

    /// The HTTP port.
    pub fn port(&self) -> u16 {
        self.service.port()
    }

    /// Consumes `task-events` and serves `/healthz`, `/readyz` and `/metrics` until `shutdown`
    /// is cancelled.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self { service, handler } = self;
        let topics = vec![service.settings.topics.task_events.name.clone()];
        service.run_consumer(axum::Router::new(), handler, topics, shutdown).await
    }
}

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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};

    use secrecy::ExposeSecret as _;
    use service_runtime::auth::AuthSettings;
    use service_runtime::client::TokenSourceKind;

    use super::*;

    fn config(service: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(service).join("config")
    }

    fn load(environment: &str, variables: &[(&str, &str)]) -> RecurringSettings {
        let variables: HashMap<String, String> =
            variables.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        settings::load_from(DEFAULTS, &config("recurring-task"), environment, Some(variables)).expect("settings load")
    }

    #[test]
    fn under_make_run_task_api_is_called_on_its_port_with_tokens_its_local_settings_accept() {
        #[derive(Deserialize)]
        struct TaskApiLocal {
            auth: AuthSettings,
            http: service_runtime::settings::HttpSettings,
        }
        let task_api: TaskApiLocal =
            settings::load_from(&[], &config("task-api"), "local", Some(HashMap::new())).expect("task-api's settings");

        let client = load("local", &[]).task_api;

        assert_eq!(client.base_url, format!("http://127.0.0.1:{}", task_api.http.port));
        assert_eq!(client.token.source, TokenSourceKind::Development);
        let development = &client.token.development;
        let secret = |s: &Option<secrecy::SecretString>| s.as_ref().map(|s| s.expose_secret().to_owned());
        assert_eq!(secret(&development.hs256_secret), secret(&task_api.auth.hs256_secret));
        assert_eq!(development.issuer, task_api.auth.issuer);
        assert_eq!(development.audience, task_api.auth.audience);
        assert_eq!(development.service, SERVICE);
        TaskApi::new(&client).expect("a usable client");
    }

    #[test]
    fn in_production_the_client_credentials_come_from_the_environment_and_are_required() {
        let complete = load(
            "production",
            &[
                ("APP__TASK_API__TOKEN__CLIENT_CREDENTIALS__TOKEN_URL", "https://id.example.com/oauth2/token"),
                ("APP__TASK_API__TOKEN__CLIENT_CREDENTIALS__AUDIENCE", "taskstream"),
                ("APP__TASK_API__TOKEN__CLIENT_CREDENTIALS__CLIENT_SECRET", "s3cret"),
            ],
        )
        .task_api;
        assert_eq!(complete.base_url, "http://task-api");
        assert_eq!(complete.token.source, TokenSourceKind::ClientCredentials);
        assert_eq!(complete.token.client_credentials.client_id, SERVICE);
        TaskApi::new(&complete).expect("a usable client");

        let without_endpoint =
            load("production", &[("APP__TASK_API__TOKEN__CLIENT_CREDENTIALS__CLIENT_SECRET", "s3cret")]);
        let error = TaskApi::new(&without_endpoint.task_api).expect_err("no token endpoint");
        assert!(error.to_string().contains("token"), "{error}");
    }
}

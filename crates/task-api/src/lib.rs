//! The task REST API that frontends call. It owns the tasks database and publishes every
//! change as an event through a transactional outbox.
//!
//! Every write changes the task and inserts its events into the outbox in one transaction; the
//! relay (`service_runtime::outbox`, shared with the other services) publishes committed rows
//! to Kafka. A user only ever sees their own tasks.
//!
//! # Layout
//! - [`Settings`]: this service's settings (the shared ones from `service-runtime`, plus
//!   `database`, `auth`, `outbox`).
//! - [`Application`]: build (binds the listener, connects the database) and run until shutdown.
//! - [`api`]: the HTTP routes and handlers.
//! - [`events`]: a change of a task → its outbox rows (CloudEvents).
//! - [`token`]: the `task-api token` command (development tokens).
//! - [`storage`]: the tasks database (PostgreSQL or SQLite): tasks, idempotency keys, the outbox
//!   table ([`storage::OUTBOX`]).
//!
//! The task's rules (valid values, the [`task_domain::Task`] entity, recurrence and reminder
//! schedules) are the `task-domain` crate's, shared with the consumers.
//!
//! Bearer-token verification ([`service_runtime::auth`]) and RFC 9457 error responses
//! ([`service_runtime::problem`]) are shared with the other services; `api` converts this
//! service's validation errors into problems.

pub mod api;
pub mod events;
pub mod storage;
pub mod token;

use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;
use service_runtime::CancellationToken;
use service_runtime::auth::{AuthSettings, Verifier};
use service_runtime::jobs::Job;
use service_runtime::outbox::{OutboxSignal, Relay, RelaySettings};
use service_runtime::service::Service;
use service_runtime::settings::{self, BaseSettings};

use crate::api::AppState;
use crate::events::Topics;
use crate::storage::{DatabaseSettings, OUTBOX, Store};

/// Service name: client id, logs, metrics.
pub const SERVICE: &str = "task-api";

/// Built-in defaults, beneath `config/*.yaml` and the environment.
const DEFAULTS: &[(&str, &str)] = &[];

/// How long start-up waits for an unreachable database before giving up (Kubernetes then
/// restarts the pod).
const DATABASE_PATIENCE: Duration = Duration::from_secs(60);

/// task-api's own sections of the settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TaskApiSettings {
    /// The tasks database.
    pub database: DatabaseSettings,
    /// Bearer-token verification (`auth.*`, shared with every service: see
    /// [`service_runtime::auth`]).
    pub auth: AuthSettings,
    /// The outbox relay.
    pub outbox: RelaySettings,
}

/// This service's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Settings every service shares.
    pub base: BaseSettings,
    /// task-api's own.
    pub app: TaskApiSettings,
}

impl Settings {
    /// Loads defaults → `config/base.yaml` → `config/{APP_ENVIRONMENT}.yaml` → `APP__…`.
    pub fn load() -> Result<Self, service_runtime::Error> {
        Ok(Self { base: settings::load(DEFAULTS)?, app: settings::load(DEFAULTS)? })
    }
}

/// The name of the outbox relay's job (in `/readyz` as `job outbox-relay` while it is down).
pub const RELAY_JOB: &str = "outbox-relay";

/// The running service.
#[derive(Debug)]
pub struct Application {
    service: Service,
    state: AppState,
}

impl Application {
    /// Binds the listener, connects the database (running migrations; retried while it is
    /// unreachable, for up to `database.connect_timeout`) and creates the Kafka clients.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let verifier = Verifier::new(&settings.app.auth).context("while loading the token verification keys")?;
        let store = Store::connect_patiently(&settings.app.database, DATABASE_PATIENCE)
            .await
            .context("while connecting to the tasks database")?;
        let topics = Topics {
            task_events: settings.base.topics.task_events.name.clone(),
            reminders: settings.base.topics.reminders.name.clone(),
        };
        let mut service = Service::build(SERVICE, settings.base).await.context("while starting the service")?;
        service.health.add_probe("database", store.pool().clone());
        let signal = OutboxSignal::default();
        let relay = Relay::new(
            store.pool().clone(),
            service.producer.clone(),
            signal.clone(),
            settings.app.outbox,
            service.health.clone(),
            OUTBOX,
        );
        service.add_job(Job::new(RELAY_JOB, move |stop| {
            let relay = relay.clone();
            async move { relay.run(stop).await.map_err(anyhow::Error::from) }
        }));
        let kafka = service.settings.kafka.clone();
        let state = AppState { store, verifier, signal, topics, kafka, shutdown: CancellationToken::new() };
        Ok(Self { service, state })
    }

    /// The HTTP port.
    pub fn port(&self) -> u16 {
        self.service.port()
    }

    /// The shared state (tests use its store).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves the API and runs the outbox relay until `shutdown` is cancelled. The relay is a
    /// supervised job: it retries broker and database outages itself, and a failure it cannot
    /// retry (see `Relay::run`) or a panic restarts it with backoff, shown in `/readyz`.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self { service, state } = self;
        // Open event streams end when the service stops, so that the server can drain.
        let state = AppState { shutdown: shutdown.clone(), ..state };
        let store = state.store.clone();
        let served = service.run_without_consumer(api::router(state), false, shutdown).await;
        store.close().await;
        served
    }
}

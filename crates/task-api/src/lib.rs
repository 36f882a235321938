//! The task REST API that frontends call. It owns the tasks database and publishes every
//! change as an event through a transactional outbox.
//!
//! Every write changes the task and inserts its events into the outbox in one transaction; the
//! relay publishes committed rows to Kafka. A user only ever sees their own tasks.
//!
//! # Layout
//! - [`Settings`]: this service's settings (the shared ones from `service-runtime`, plus
//!   `database`, `auth`, `outbox`).
//! - [`Application`]: build (binds the listener, connects the database) and run until shutdown.
//! - [`api`]: the HTTP routes and handlers.
//! - [`events`]: a change of a task → its outbox rows (CloudEvents).
//! - [`token`]: the `task-api token` command (development tokens).
//! - [`storage`]: the tasks database (PostgreSQL or SQLite): tasks, idempotency keys, the outbox.
//! - [`outbox`]: the relay that publishes committed outbox rows to Kafka, in order.
//!
//! The task's rules (valid values, the [`task_domain::Task`] entity, recurrence and reminder
//! schedules) are the `task-domain` crate's, shared with the consumers.
//!
//! Bearer-token verification ([`service_runtime::auth`]) and RFC 9457 error responses
//! ([`service_runtime::problem`]) are shared with the other services; `api` converts this
//! service's validation errors into problems.

pub mod api;
pub mod events;
pub mod outbox;
pub mod storage;
pub mod token;

use std::time::Duration;

use anyhow::Context as _;
use futures::future::BoxFuture;
use serde::Deserialize;
use service_runtime::CancellationToken;
use service_runtime::auth::{AuthSettings, Verifier};
use service_runtime::health::Probe;
use service_runtime::service::Service;
use service_runtime::settings::{self, BaseSettings};

use crate::api::AppState;
use crate::events::Topics;
use crate::outbox::{OutboxSignal, Relay, RelaySettings};
use crate::storage::{DatabaseSettings, Store};

/// Service name: client id, logs, metrics.
pub const SERVICE: &str = "task-api";

/// Built-in defaults, beneath `config/*.yaml` and the environment.
const DEFAULTS: &[(&str, &str)] = &[];

/// How long start-up waits for an unreachable database before giving up (Kubernetes then
/// restarts the pod).
const DATABASE_PATIENCE: Duration = Duration::from_secs(60);

/// How long shutdown waits for the outbox relay to stop after the server has drained.
/// Together with the server's `http.shutdown_grace_ms` and the pool's close grace
/// ([`service_runtime::database::CLOSE_GRACE`]) it bounds the whole stop.
const STOP_GRACE: Duration = Duration::from_secs(5);

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

/// The running service.
#[derive(Debug)]
pub struct Application {
    service: Service,
    state: AppState,
    relay: Relay,
}

/// The database probe behind `/readyz`.
#[derive(Debug)]
struct DatabaseProbe(Store);

impl Probe for DatabaseProbe {
    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.0.ping().await.map_err(|e| e.to_string()) })
    }
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
        let service = Service::build(SERVICE, settings.base).await.context("while starting the service")?;
        service.health.add_probe("database", DatabaseProbe(store.clone()));
        let signal = OutboxSignal::default();
        let relay = Relay::new(
            store.clone(),
            service.producer.clone(),
            signal.clone(),
            settings.app.outbox,
            service.health.clone(),
        );
        let kafka = service.settings.kafka.clone();
        let state = AppState { store, verifier, signal, topics, kafka, shutdown: CancellationToken::new() };
        Ok(Self { service, state, relay })
    }

    /// The HTTP port.
    pub fn port(&self) -> u16 {
        self.service.port()
    }

    /// The shared state (tests use its store).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves the API and runs the outbox relay until `shutdown` is cancelled.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self { service, state, relay } = self;
        // Open event streams end when the service stops, so that the server can drain.
        let state = AppState { shutdown: shutdown.clone(), ..state };
        let store = state.store.clone();
        let mut relay = tokio::spawn(relay.run(shutdown.clone()));
        let served = service.run_without_consumer(api::router(state), false, shutdown).await;
        // The relay stops between rounds; a round stuck on the database or the broker is
        // bounded by their timeouts, and past STOP_GRACE it is abandoned (its rows stay
        // unpublished and the next start publishes them).
        match tokio::time::timeout(STOP_GRACE, &mut relay).await {
            Ok(joined) => joined.context("the outbox relay panicked")?,
            Err(_) => {
                tracing::warn!(
                    grace_ms = STOP_GRACE.as_millis() as u64,
                    "the outbox relay did not stop in time; abandoning it"
                );
                relay.abort();
            }
        }
        store.close().await;
        served
    }
}

//! The audit service: an append-only, tamper-evident, queryable trail of every event.
//!
//! It consumes `task-events` and `reminders` in its own group (`audit`), records each event
//! once (keyed by its id, so redeliveries and replays add nothing), links each user's entries
//! into a hash chain, and serves them over HTTP to their owner (and to administrators).
//!
//! # Layout
//! - [`Settings`]: this service's settings (the shared ones, plus `database`, `auth`,
//!   `retention`).
//! - [`Application`]: build (binds the listener, connects the database) and run until shutdown.
//! - [`entry`]: a consumed record → the entry it becomes (pure).
//! - [`chain`]: the hash chain: canonical encoding, appending, verifying (pure).
//! - [`handler`]: [`handler::AuditHandler`], the consumer's batch handling.
//! - [`store`]: the audit database: batched appends, queries, verification, retention.
//! - [`retention`]: the scheduled retention job.
//! - [`api`]: the HTTP query API.
//! - [`metrics`]: the service's metric names.

pub mod api;
pub mod chain;
pub mod entry;
pub mod handler;
pub mod metrics;
pub mod retention;
pub mod store;

use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;
use service_runtime::CancellationToken;
use service_runtime::auth::{AuthSettings, Verifier};
use service_runtime::database::DatabaseSettings;
use service_runtime::service::Service;
use service_runtime::settings::{self, BaseSettings};

use crate::api::ApiState;
use crate::handler::AuditHandler;
use crate::retention::RetentionSettings;
use crate::store::AuditStore;

/// Service name: client id, logs, metrics.
pub const SERVICE: &str = "audit";

/// Built-in defaults, beneath `config/*.yaml` and the environment.
const DEFAULTS: &[(&str, &str)] = &[
    ("consumer.group_id", "audit"),
    // Up to 500 waiting events of a partition are recorded in one transaction.
    ("consumer.max_batch", "500"),
    // Each handler holds a database connection for its transaction (and may wait on chain-head
    // locks): stay below the pool (database.max_connections, 10), leaving room for the query
    // API and the retention job.
    ("consumer.max_concurrency", "6"),
    ("database.url", "sqlite://.local/audit.db"),
];

/// How long start-up waits for an unreachable database before giving up (Kubernetes then
/// restarts the pod).
const DATABASE_PATIENCE: Duration = Duration::from_secs(60);

/// The audit service's own sections of the settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AuditSettings {
    /// The audit database.
    pub database: DatabaseSettings,
    /// Bearer-token verification, as in every service ([`service_runtime::auth`]).
    pub auth: AuthSettings,
    /// The retention job.
    pub retention: RetentionSettings,
}

/// This service's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Settings every service shares.
    pub base: BaseSettings,
    /// The audit service's own.
    pub app: AuditSettings,
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
    state: ApiState,
}

impl Application {
    /// Binds the listener, connects the database (running migrations; retried while it is
    /// unreachable, for up to a minute) and creates the Kafka clients.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let verifier = Verifier::new(&settings.app.auth).context("while loading the token verification keys")?;
        let store = AuditStore::connect(&settings.app.database, DATABASE_PATIENCE)
            .await
            .context("while connecting to the audit database")?;
        let mut service = Service::build(SERVICE, settings.base).await.context("while starting the service")?;
        service.health.add_probe("database", store.pool().clone());
        match retention::job(store.clone(), settings.app.retention) {
            Some(job) => service.add_job(job),
            None => tracing::info!("retention disabled (retention.days = 0): entries are kept forever"),
        }
        Ok(Self { service, state: ApiState { store, verifier } })
    }

    /// The HTTP port.
    pub fn port(&self) -> u16 {
        self.service.port()
    }

    /// The audit store (tests reach into it).
    pub fn store(&self) -> &AuditStore {
        &self.state.store
    }

    /// Consumes, serves the API and runs the retention job (a supervised job: restarted if it
    /// fails) until `shutdown` is cancelled.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self { service, state } = self;
        let store = state.store.clone();
        let topics =
            vec![service.settings.topics.task_events.name.clone(), service.settings.topics.reminders.name.clone()];
        let handler = AuditHandler::new(store.clone());
        let served = service.run_consumer(api::router(state), handler, topics, shutdown).await;
        store.close().await;
        served
    }
}

/// `audit verify [--user USER_ID]`: verifies one chain or all, prints the report as JSON on
/// stdout, and returns whether every chain verified.
pub async fn verify_command(settings: &Settings, user: Option<&str>) -> anyhow::Result<bool> {
    let store = AuditStore::connect(&settings.app.database, DATABASE_PATIENCE)
        .await
        .context("while connecting to the audit database")?;
    let report = match user {
        Some(user) => store.verify_user(user).await,
        None => store.verify_all().await,
    }
    .context("while verifying")?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    store.close().await;
    Ok(report.ok)
}

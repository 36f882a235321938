//! The task REST API that frontends call. It owns the tasks database and publishes every
//! change as an event through a transactional outbox.
//!
//! Status: skeleton. It loads settings, creates the event topics, serves `/healthz`,
//! `/readyz` and `/metrics`, and shuts down cleanly; the API, storage and outbox arrive with
//! their own issue.
//!
//! # Layout
//! - [`Settings`]: this service's settings (the shared ones from `service-runtime`).
//! - [`Application`]: build (binds the listener) and run until shutdown.
//! - [`domain`]: valid task values, the [`domain::Task`] entity and its reminder schedule (pure).
//! - [`storage`]: the tasks database (PostgreSQL or SQLite): tasks, idempotency keys, the outbox.
//! - [`auth`]: bearer-token (JWT) verification, the caller's identity, development tokens.
//! - [`problem`]: errors as RFC 9457 problem details.
//! - [`outbox`]: the relay that publishes committed outbox rows to Kafka, in order.

pub mod auth;
pub mod domain;
pub mod outbox;
pub mod problem;
pub mod storage;

use axum::Router;
use service_runtime::CancellationToken;
use service_runtime::service::Service;
use service_runtime::settings::{self, BaseSettings};

/// Service name: client id, logs, metrics.
pub const SERVICE: &str = "task-api";

/// Built-in defaults, beneath `config/*.yaml` and the environment.
const DEFAULTS: &[(&str, &str)] = &[];

/// This service's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Settings every service shares.
    pub base: BaseSettings,
}

impl Settings {
    /// Loads defaults → `config/base.yaml` → `config/{APP_ENVIRONMENT}.yaml` → `APP__…`.
    pub fn load() -> Result<Self, service_runtime::Error> {
        Ok(Self { base: settings::load(DEFAULTS)? })
    }
}

/// The running service.
#[derive(Debug)]
pub struct Application {
    service: Service,
}

impl Application {
    /// Binds the listener and creates the Kafka clients; does not wait for the broker.
    pub async fn build(settings: Settings) -> Result<Self, service_runtime::Error> {
        Ok(Self { service: Service::build(SERVICE, settings.base).await? })
    }

    /// The HTTP port.
    pub fn port(&self) -> u16 {
        self.service.port()
    }

    /// Serves until `shutdown` is cancelled.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        // Creates the topics this service will use (without a dead-letter topic).
        self.service.run_without_consumer(Router::new(), false, shutdown).await
    }
}

//! Creates the next occurrence of a recurring task (RFC 5545 RRULE, time-zone aware) when
//! one is completed, exactly once even if events are redelivered.
//!
//! Status: skeleton. It loads settings, creates its topics, serves `/healthz`, `/readyz` and
//! `/metrics`, and shuts down cleanly. It deliberately joins no consumer group yet: a group
//! that committed offsets for events it did not act on would make the real service skip them.
//!
//! # Layout
//! - [`Settings`]: this service's settings (the shared ones from `service-runtime`).
//! - [`Application`]: build (binds the listener) and run until shutdown.

use axum::Router;
use service_runtime::CancellationToken;
use service_runtime::service::Service;
use service_runtime::settings::{self, BaseSettings};

/// Service name: client id, logs, metrics.
pub const SERVICE: &str = "recurring-task";

/// Built-in defaults, beneath `config/*.yaml` and the environment.
const DEFAULTS: &[(&str, &str)] = &[("consumer.group_id", "recurring-task")];

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
        // Creates the topics this service will use (with a dead-letter topic).
        self.service.run_without_consumer(Router::new(), true, shutdown).await
    }
}

//! A service that is not written yet: everything such a crate would otherwise copy from its
//! neighbour. It loads its settings, creates its topics (with its dead-letter topic, since it
//! will consume), serves `/healthz`, `/readyz` and `/metrics`, and shuts down cleanly; its crate
//! holds only its docs, its name and its built-in defaults.
//!
//! It deliberately joins no consumer group: a group that committed offsets for events it did
//! not act on would make the real service skip them.

use anyhow::Context as _;
use axum::Router;
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::service::Service;
use crate::settings::{self, BaseSettings};

/// A skeleton service, built and ready to run.
#[derive(Debug)]
pub struct Skeleton {
    service: Service,
}

impl Skeleton {
    /// Loads the shared settings: `defaults` (dotted keys, e.g. `consumer.group_id`) beneath
    /// `config/base.yaml`, `config/{APP_ENVIRONMENT}.yaml` and `APP__…` (see
    /// [`settings::load`]).
    pub fn settings(defaults: &[(&str, &str)]) -> Result<BaseSettings, Error> {
        settings::load(defaults)
    }

    /// Binds the listener and creates the Kafka clients; does not wait for the broker.
    pub async fn build(name: &'static str, settings: BaseSettings) -> Result<Self, Error> {
        Ok(Self { service: Service::build(name, settings).await? })
    }

    /// The HTTP port.
    pub fn port(&self) -> u16 {
        self.service.port()
    }

    /// Creates the topics and serves the operational endpoints until `shutdown` is cancelled.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.service.run_without_consumer(Router::new(), true, shutdown).await
    }

    /// A skeleton's whole `main`: telemetry, settings, build, serve until SIGTERM or ctrl-c.
    pub async fn main(name: &'static str, defaults: &[(&str, &str)]) -> anyhow::Result<()> {
        crate::telemetry::init(name);
        let settings = Self::settings(defaults).context("while loading settings")?;
        let skeleton = Self::build(name, settings).await.context("while starting")?;
        skeleton.run_until_stopped(crate::shutdown::on_signal()).await
    }
}

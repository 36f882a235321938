//! The notification service: a durable schedule of due-date reminders, delivered once, on
//! time, to each user's channels, and never for a task that was completed, deleted or
//! rescheduled meanwhile.
//!
//! It consumes `reminders` in its own group (`notification`): `reminder.scheduled` and
//! `reminder.cancelled` upsert and tombstone schedule entries (ordered by `sequence`). A
//! supervised scheduler job sleeps until the earliest entry is due, claims due entries with a
//! lease (several replicas share one PostgreSQL schedule), holds any whose `reminders`
//! partition the consumer has not handled up to its time, and delivers the rest: the in-app
//! inbox always, plus the user's channels. `reminder.sent` leaves through the transactional
//! outbox once per reminder generation. See docs/notification.md.
//!
//! # Layout
//! - [`settings`]: [`Settings`] (the shared sections, plus `database`, `auth`, `outbox`,
//!   `notification`).
//! - [`Application`]: build (binds the listener, connects the database) and run until shutdown.
//! - [`handler`]: [`handler::ReminderHandler`], the consumer: events → schedule, partition
//!   progress, caught-up reports.
//! - [`store`]: the database: schedule, progress, deliveries, inbox, outbox table.
//! - [`scheduler`]: the job that sleeps until the next due entry and claims it.
//! - [`dispatch`]: one fired entry → delivery records, attempts, final state, `reminder.sent`.
//! - [`snooze`]: a snooze request → the next delivery's instant (pure).
//! - [`channels`]: one delivery attempt to an email address or a webhook endpoint (Standard
//!   Webhooks signing, the destination guard, the retry schedule).
//! - [`endpoints`]: the users' channel settings and webhook endpoints, and their routes.
//! - [`api`]: the inbox HTTP API and the service's OpenAPI document (the endpoints' included).
//! - [`metrics`]: the service's metric names.

pub mod api;
pub mod channels;
pub mod dispatch;
pub mod endpoints;
pub mod handler;
pub mod metrics;
pub mod scheduler;
pub mod settings;
pub mod snooze;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use service_runtime::CancellationToken;
use service_runtime::auth::Verifier;
use service_runtime::jobs::Job;
use service_runtime::outbox::{OutboxSignal, Relay};
use service_runtime::service::Service;
use tokio::sync::Notify;

pub use settings::{NotificationSettings, SchedulerSettings, Settings};

use crate::api::ApiState;
use crate::channels::Channels;
use crate::dispatch::Dispatcher;
use crate::endpoints::EndpointsState;
use crate::handler::ReminderHandler;
use crate::scheduler::Scheduler;
use crate::store::{OUTBOX, Store};

/// Service name: client id, logs, metrics.
pub const SERVICE: &str = "notification";

/// The name of the outbox relay's job (in `/readyz` as `job outbox-relay` while it is down).
pub const RELAY_JOB: &str = "outbox-relay";

/// How long start-up waits for an unreachable database before giving up (Kubernetes then
/// restarts the pod).
const DATABASE_PATIENCE: Duration = Duration::from_secs(60);

/// The running service.
#[derive(Debug)]
pub struct Application {
    service: Service,
    state: ApiState,
    endpoints: EndpointsState,
    owner: String,
}

impl Application {
    /// Binds the listener, connects the database (running migrations; retried while it is
    /// unreachable, for up to a minute), creates the Kafka clients and the jobs (the scheduler
    /// and the outbox relay).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let verifier = Verifier::new(&settings.app.auth).context("while loading the token verification keys")?;
        let store = Store::connect(&settings.app.database, DATABASE_PATIENCE)
            .await
            .context("while connecting to the notification database")?;
        let reminders = settings.base.topics.reminders.name.clone();
        let mut service = Service::build(SERVICE, settings.base).await.context("while starting the service")?;
        service.health.add_probe("database", store.pool().clone());
        // This replica's name in leases: unique per process, readable in the schedule table.
        let owner = format!(
            "{}-{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| SERVICE.to_owned()),
            uuid::Uuid::now_v7().simple()
        );
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
        let channels = Channels::new(&settings.app.notification.channels(), store.pool().clone())
            .context("while setting up the delivery channels")?;
        let endpoints = EndpointsState::new(&channels, verifier.clone());
        let wake = Arc::new(Notify::new());
        let dispatcher = Dispatcher::new(store.clone(), channels, owner.clone(), signal, reminders.clone());
        let scheduler = Scheduler::new(
            store.clone(),
            dispatcher,
            owner.clone(),
            reminders,
            settings.app.notification,
            wake.clone(),
        );
        service.add_job(Job::new(scheduler::JOB, move |stop| scheduler.clone().run(stop)));
        Ok(Self { service, state: ApiState { store, verifier, wake }, endpoints, owner })
    }

    /// The HTTP port.
    pub fn port(&self) -> u16 {
        self.service.port()
    }

    /// The notification store (tests reach into it).
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// This replica's name in the leases it takes.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Consumes `reminders`, serves the API and runs the scheduler and the relay (supervised
    /// jobs) until `shutdown` is cancelled.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self { service, state, endpoints, .. } = self;
        let store = state.store.clone();
        let topics = vec![service.settings.topics.reminders.name.clone()];
        let handler = ReminderHandler::new(store.clone(), state.wake.clone());
        let router = api::router(state).merge(endpoints::router(endpoints));
        let served = service.run_consumer(router, handler, topics, shutdown).await;
        store.close().await;
        served
    }
}

//! What every service does the same way: install metrics, create the producer and the broker
//! probe, bind the HTTP listener, create missing topics in the background (readiness waits for
//! them; liveness does not), run an optional consumer and the service's supervised background
//! jobs ([`crate::jobs`]), serve until shutdown.

use std::time::Duration;

use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::consumer::{Backoff, ConsumerRuntime, Handler};
use crate::health::Health;
use crate::jobs::{Job, Supervisor};
use crate::kafka::{self, Producer, TopicPlan};
use crate::settings::BaseSettings;

const TOPICS_CONDITION: &str = "topics";

/// A started service: everything it shares with the others.
#[derive(Debug)]
pub struct Service {
    /// Service name (client id, logs).
    pub name: &'static str,
    /// Its settings.
    pub settings: BaseSettings,
    /// Readiness state behind `/readyz`.
    pub health: Health,
    /// The process's Prometheus handle.
    pub metrics: PrometheusHandle,
    /// The idempotent producer (events, dead letters); also the broker probe.
    pub producer: Producer,
    listener: Option<TcpListener>,
    jobs: Vec<Job>,
}

impl Service {
    /// Binds the listener and creates the producer. Nothing here waits for the broker.
    pub async fn build(name: &'static str, settings: BaseSettings) -> Result<Self, Error> {
        let metrics = crate::metrics::recorder();
        metrics::gauge!(crate::metrics::BUILD_INFO, "service" => name, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        let health = Health::new();
        let producer = Producer::new(&settings.kafka, &settings.producer, name, health.clone())?;
        health.add_probe("broker", producer.clone());
        let listener = crate::http::bind(&settings.http).await?;
        Ok(Self { name, settings, health, metrics, producer, listener: Some(listener), jobs: Vec::new() })
    }

    /// Adds a background job run beside the server and the consumer from the start of
    /// `run_*` until shutdown: restarted with backoff when it fails, reported by `/readyz`
    /// (`job <name>`) while down, stopped within `consumer.shutdown_grace_ms` at shutdown.
    /// See [`crate::jobs`].
    pub fn add_job(&mut self, job: Job) {
        self.jobs.push(job);
    }

    /// The bound port (useful with port 0).
    pub fn port(&self) -> u16 {
        self.listener.as_ref().and_then(|l| l.local_addr().ok()).map(|a| a.port()).unwrap_or_default()
    }

    /// The topics this service needs: the event topics, plus its dead-letter topic if it consumes.
    pub fn topic_plans(&self, consumes: bool) -> Vec<TopicPlan> {
        let dead_letters = consumes.then(|| self.settings.consumer.dead_letter_topic());
        kafka::service_topics(&self.settings.topics, dead_letters.as_deref())
    }

    /// Makes sure the planned topics exist: creates missing ones (`topics.create_missing`), or
    /// else waits until whoever manages them (Strimzi) has. Retries with backoff while the broker
    /// is unreachable or refuses us: the service stays alive and not ready rather than
    /// crash-looping. `false` if `shutdown` came first.
    pub async fn prepare_topics(&self, plans: &[TopicPlan], shutdown: &CancellationToken) -> bool {
        let backoff = Backoff { initial: Duration::from_millis(500), max: Duration::from_secs(30) };
        let names: Vec<String> = plans.iter().map(|p| p.name.clone()).collect();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = if self.settings.topics.create_missing {
                kafka::ensure_topics(&self.settings.kafka, plans, Duration::from_secs(10)).await
            } else {
                match self.producer.missing_topics(&names, Duration::from_secs(10)).await {
                    Ok(missing) if missing.is_empty() => Ok(()),
                    Ok(missing) => Err(Error::MissingTopics(missing)),
                    Err(source) => Err(Error::Kafka { context: "listing topics".into(), source }),
                }
            };
            let error = match result {
                Ok(()) => {
                    self.health.clear(TOPICS_CONDITION);
                    return true;
                }
                Err(error) => error,
            };
            let delay = backoff.delay(attempt, &mut rand::rng());
            tracing::error!(error = %error, attempt, retry_in_ms = delay.as_millis() as u64, "topics not ready; retrying");
            self.health.raise(TOPICS_CONDITION, error.to_string());
            tokio::select! {
                () = shutdown.cancelled() => return false,
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// Serves `api` plus the operational routes and creates the topics (with the service's
    /// dead-letter topic when `dead_letters`), without consuming.
    pub async fn run_without_consumer(
        self,
        api: Router,
        dead_letters: bool,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        self.serve(api, Work::<Idle>::Topics { dead_letters }, shutdown).await
    }

    /// Serves `api` plus the operational routes, creates the topics, then runs `handler` over
    /// `topics` in the service's consumer group until shutdown.
    pub async fn run_consumer<H: Handler>(
        self,
        api: Router,
        handler: H,
        topics: Vec<String>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        self.serve(api, Work::Consume { handler, topics }, shutdown).await
    }

    async fn serve<H: Handler>(
        mut self,
        api: Router,
        work: Work<H>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        use anyhow::Context as _;
        self.health.raise(TOPICS_CONDITION, "not created yet");
        let router = api.merge(crate::http::ops_router(self.health.clone(), self.metrics.clone()));
        let name = self.name;
        let listener = self.listener.take().context("the service was already run")?;
        let address = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
        tracing::info!(service = name, %address, "serving");
        let plans = self.topic_plans(!matches!(work, Work::Topics { dead_letters: false }));
        // The same grace as the consumer's: both stop at once, so shutdown takes no longer.
        let grace = Duration::from_millis(self.settings.consumer.shutdown_grace_ms);
        let jobs = Supervisor::start(std::mem::take(&mut self.jobs), &self.health, &shutdown, grace);
        let consuming = async {
            if !self.prepare_topics(&plans, &shutdown).await {
                return Ok(());
            }
            let Work::Consume { handler, topics } = work else { return Ok(()) };
            let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
            let runtime = ConsumerRuntime::new(
                &self.settings.kafka,
                &self.settings.consumer,
                &topics,
                handler,
                self.producer.clone(),
                self.health.clone(),
            )?;
            runtime.run(shutdown.clone()).await
        };
        let server = crate::http::serve(listener, router, &self.settings.http, shutdown.clone());
        let (served, worked, ()) = tokio::join!(server, consuming, jobs.stopped());
        served.context("while serving HTTP")?;
        worked.context("while consuming")?;
        if let Err(error) = self.producer.flush(Duration::from_secs(5)).await {
            tracing::warn!(error = %error, "records still unsent at exit");
        }
        crate::telemetry::flush().await;
        tracing::info!(service = name, "stopped");
        Ok(())
    }
}

/// What a service does beside serving HTTP (and its jobs).
enum Work<H> {
    /// Only create topics.
    Topics { dead_letters: bool },
    /// Create topics, then consume.
    Consume { handler: H, topics: Vec<String> },
}

/// The handler type of a service that does not consume; it is never constructed.
enum Idle {}

impl Handler for Idle {
    async fn handle(&self, _: &crate::consumer::InboundMessage) -> Result<(), crate::consumer::HandlerError> {
        match *self {}
    }
}

//! Plumbing shared by every taskstream service, written once.
//!
//! # Layout
//! - [`settings`]: layered configuration (defaults → YAML files → `APP__…` environment).
//! - [`telemetry`]: `tracing` subscriber (JSON lines off a terminal, human-readable on one),
//!   OpenTelemetry export over OTLP when an endpoint is set, and the spans and `traceparent`
//!   helpers that make one request one trace across Kafka.
//! - [`kafka`]: client configuration (security included), the idempotent [`kafka::Producer`],
//!   topic creation at start-up, and the client context that logs and measures.
//! - [`consumer`]: the at-least-once consumer runtime: per-partition ordering, bounded
//!   concurrency, retries with backoff, dead-lettering, offsets stored only after success.
//! - [`database`]: PostgreSQL or SQLite by URL: pools, embedded migrations, SQL with typed
//!   binds for either backend, which errors are transient.
//! - [`outbox`]: the transactional outbox: events enqueued in the writer's transaction, the
//!   relay that publishes them in order (PostgreSQL leadership, LISTEN/NOTIFY, pruning).
//! - [`health`]: readiness probes and conditions behind `/readyz`.
//! - [`metrics`]: the Prometheus recorder and the names of the runtime's metrics.
//! - [`http`]: the `/healthz`, `/readyz`, `/metrics` router and a graceful server.
//! - [`shutdown`]: SIGTERM / ctrl-c as a cancellation token.
//! - `testing` (cargo feature `testing`, for tests and benchmarks only): a broker process of
//!   a test's own (stopped, restarted, secured), reading topics back, fresh databases, a
//!   service running in a test's background.
//! - [`service`]: what every service does at start-up (metrics, health, producer, listener,
//!   topics) and its serving loop.
//! - [`jobs`]: named background jobs run beside the server, supervised: restarted with
//!   backoff, reported by `/readyz` while down, stopped within the grace period.
//! - [`skeleton`]: a service not written yet (topics and operational endpoints only).
//! - [`auth`]: bearer-token (JWT) verification, the caller's identity (an axum extractor),
//!   development tokens.
//! - [`problem`]: HTTP errors as RFC 9457 problem details ([`problem::ApiError`]).
//! - [`dlq`]: dead letters after the fact: `<service> dlq list` and `dlq replay`.
//! - [`client`]: service-to-service HTTP calls with the service's own token (development,
//!   client credentials or a token file), on behalf of a user, retried where safe.

pub mod auth;
pub mod client;
pub mod consumer;
pub mod database;
pub mod dlq;
pub mod health;
pub mod http;
pub mod jobs;
pub mod kafka;
pub mod metrics;
pub mod outbox;
pub mod problem;
pub mod service;
pub mod settings;
pub mod shutdown;
pub mod skeleton;
pub mod telemetry;
/// Test and benchmark support; compiled only with the `testing` feature, which production
/// builds leave off (crates enable it in `[dev-dependencies]`).
#[cfg(feature = "testing")]
pub mod testing;

pub use tokio_util::sync::CancellationToken;

/// Errors of the runtime's own operations.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Settings could not be loaded or parsed.
    #[error("invalid settings: {0}")]
    Settings(#[from] config::ConfigError),
    /// Settings parsed but do not make sense together.
    #[error("invalid settings: {0}")]
    InvalidSettings(String),
    /// A Kafka operation failed.
    #[error("{context}: {source}")]
    Kafka {
        /// What was being done.
        context: String,
        /// librdkafka's error.
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// The brokers refused our credentials.
    #[error(
        "{context}: kafka authentication failed: {reason} (check kafka.username, kafka.password and kafka.sasl_mechanism)"
    )]
    Authentication {
        /// What was being done.
        context: String,
        /// The broker's or librdkafka's reason.
        reason: String,
    },
    /// Topics the service needs do not exist, and it is not allowed to create them.
    #[error("topics missing: {}", .0.join(", "))]
    MissingTopics(Vec<String>),
    /// An I/O operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn kafka(context: impl Into<String>) -> impl FnOnce(rdkafka::error::KafkaError) -> Self {
        let context = context.into();
        move |source| Error::Kafka { context, source }
    }
}

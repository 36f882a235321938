//! [`Relay`]: the loop that publishes an outbox, its metrics and its errors.

use std::time::Duration;

use chrono::Utc;
use futures::future::join_all;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::consumer::Backoff;
use crate::database::{Pool, is_transient};
use crate::health::Health;
use crate::kafka::{KafkaError, OutboundRecord, Producer};
use crate::telemetry::propagation::{self, TRACEPARENT};
use crate::telemetry::spans;

use super::leader::Leader;
use super::{Outbox, OutboxConfig, OutboxRow, OutboxSignal, RelaySettings};

/// Unpublished outbox rows. Gauge.
pub const OUTBOX_BACKLOG: &str = "taskstream_outbox_backlog";
/// Age in seconds of the oldest unpublished row (0 when none). Gauge.
pub const OUTBOX_OLDEST_AGE: &str = "taskstream_outbox_oldest_unpublished_seconds";
/// Rows published. Counter.
pub const OUTBOX_PUBLISHED: &str = "taskstream_outbox_published_total";
/// Published rows pruned. Counter.
pub const OUTBOX_PRUNED: &str = "taskstream_outbox_pruned_total";

/// The `/readyz` condition raised while publishing fails.
pub const RELAY_CONDITION: &str = "outbox relay";

/// Retrying a failure that heals by itself (the database or the broker back): short, so the
/// backlog drains soon after.
const RETRY: Backoff = Backoff { initial: Duration::from_millis(200), max: Duration::from_secs(10) };

/// The backlog gauges cost a COUNT query: refreshed at most this often, not per batch.
const STATS_EVERY: Duration = Duration::from_secs(1);

/// Publishes one outbox. See the [module docs](super). Cheap to clone (handles), so a
/// supervisor can start each run from a fresh copy.
#[derive(Debug, Clone)]
pub struct Relay {
    outbox: Outbox,
    producer: Producer,
    signal: OutboxSignal,
    settings: RelaySettings,
    health: Health,
}

/// Why publishing failed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The database failed (unreachable, or a row or statement it refused).
    #[error("outbox database: {0}")]
    Database(#[from] sqlx::Error),
    /// The broker did not acknowledge a record (that row and those after it stay pending).
    #[error("publishing outbox row {seq}: {source}")]
    Broker {
        /// The first row that failed.
        seq: i64,
        /// librdkafka's error.
        #[source]
        source: KafkaError,
    },
}

impl RelayError {
    /// Whether it heals by itself, so the relay retries it: a broker that does not acknowledge
    /// (down, unreachable, a leader moving) or a database that is unavailable. Anything else
    /// (an unreadable row, SQL the database refuses: a missing table) is returned by
    /// [`Relay::run`].
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Database(error) => is_transient(error),
            Self::Broker { .. } => true,
        }
    }
}

enum Round {
    /// Published this many rows; there may be more.
    Published(usize),
    /// Nothing to publish.
    Idle,
}

impl Relay {
    /// A relay of `config`'s outbox in `pool`'s database, publishing with `producer`, woken by
    /// `signal` (and, on PostgreSQL, by notifications on the config's channel), raising
    /// [`RELAY_CONDITION`] in `health` while it fails.
    pub fn new(
        pool: Pool,
        producer: Producer,
        signal: OutboxSignal,
        settings: RelaySettings,
        health: Health,
        config: OutboxConfig,
    ) -> Self {
        Self { outbox: Outbox::new(pool, config), producer, signal, settings, health }
    }

    /// Publishes until `shutdown` (then `Ok`): on PostgreSQL only while it leads (a standby
    /// tries again every `poll_interval_ms`).
    ///
    /// Failures that heal by themselves ([`RelayError::is_transient`]) are retried here, after
    /// a backoff of 200 ms growing to 10 s, with [`RELAY_CONDITION`] raised until a round
    /// succeeds: a broker outage leaves the relay running, and it drains the backlog soon after
    /// the broker returns. Any other failure raises the condition and is returned, for the
    /// service's job supervisor to report and restart the relay.
    #[tracing::instrument(name = "outbox_relay", skip_all, fields(table = self.outbox.config().table()))]
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), RelayError> {
        let mut attempt = 0;
        while !shutdown.is_cancelled() {
            let result = match self.outbox.pool().as_postgres() {
                Some(pool) => self.lead(pool, &shutdown).await,
                None => self.publish_until(&shutdown, None).await,
            };
            let Err(error) = result else {
                attempt = 0;
                continue;
            };
            self.health.raise(RELAY_CONDITION, error.to_string());
            if !error.is_transient() {
                tracing::error!(error = ?error, "outbox relay failed; retrying here would not help");
                return Err(error);
            }
            attempt += 1;
            let delay = RETRY.delay(attempt, &mut rand::rng());
            tracing::error!(error = %error, retry_in_ms = delay.as_millis() as u64, "outbox relay failed; retrying");
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = tokio::time::sleep(delay) => {}
            }
        }
        tracing::info!("outbox relay stopped");
        Ok(())
    }

    /// Publishes while leading (PostgreSQL); a standby waits a poll interval and returns.
    async fn lead(&self, pool: &sqlx::PgPool, shutdown: &CancellationToken) -> Result<(), RelayError> {
        let Some(mut leader) = Leader::try_acquire(pool, self.outbox.config()).await? else {
            tracing::debug!("another relay publishes; standing by");
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = tokio::time::sleep(Duration::from_millis(self.settings.poll_interval_ms)) => {}
            }
            return Ok(());
        };
        tracing::info!("this relay publishes the outbox");
        let result = self.publish_until(shutdown, Some(&mut leader)).await;
        leader.release().await;
        result
    }

    /// Publishes rounds until `shutdown` or a failure, waiting for a wake-up between them.
    async fn publish_until(
        &self,
        shutdown: &CancellationToken,
        mut leader: Option<&mut Leader>,
    ) -> Result<(), RelayError> {
        let poll = Duration::from_millis(self.settings.poll_interval_ms);
        let prune_every = Duration::from_secs(self.settings.prune_interval_secs);
        let mut last_prune = tokio::time::Instant::now() - prune_every;
        let mut last_stats = tokio::time::Instant::now() - STATS_EVERY;
        loop {
            if let Some(leader) = leader.as_mut() {
                // Still holding the lock? A lost leader connection means a standby may lead now.
                leader.check().await?;
            }
            let round = self.publish_round().await?;
            self.health.clear(RELAY_CONDITION);
            if last_stats.elapsed() >= STATS_EVERY {
                self.report_backlog().await;
                last_stats = tokio::time::Instant::now();
            }
            if last_prune.elapsed() >= prune_every {
                self.prune().await;
                last_prune = tokio::time::Instant::now();
            }
            if let Round::Published(count) = round {
                tracing::debug!(count, "outbox rows published");
                continue;
            }
            let listen = async {
                match leader.as_mut() {
                    Some(leader) => leader.notified().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = self.signal.notified() => {}
                received = listen => received?,
                () = tokio::time::sleep(poll) => {}
            }
        }
    }

    /// Publishes up to one batch; marks what was acknowledged.
    async fn publish_round(&self) -> Result<Round, RelayError> {
        let rows = self.outbox.pending(self.settings.batch_size).await?;
        if rows.is_empty() {
            return Ok(Round::Idle);
        }
        // join_all polls in order, so records are enqueued in seq order (the idempotent
        // producer keeps that order within each partition).
        let results = join_all(rows.iter().map(|row| self.send(row))).await;
        let mut published = Vec::with_capacity(rows.len());
        let mut failed = None;
        for (row, result) in rows.iter().zip(results) {
            match result {
                Ok(()) => published.push(row.seq),
                Err(error) => failed = failed.or(Some((row.seq, error))),
            }
        }
        if !published.is_empty() {
            self.outbox.mark_published(&published, Utc::now()).await?;
            metrics::counter!(OUTBOX_PUBLISHED).increment(published.len() as u64);
        }
        if let Some((seq, error)) = failed {
            tracing::warn!(seq, error = %error, published = published.len(), "publishing outbox rows failed; they stay pending");
            // The caller backs off instead of spinning against a down broker.
            return Err(RelayError::Broker { seq, source: error });
        }
        Ok(Round::Published(published.len()))
    }

    /// Sends one row in a producer span, a child of the trace context stored with the event.
    /// With traces on, the record's `traceparent` header names that span (replacing a stored
    /// one), so consumers continue from the send; the payload is sent as stored.
    async fn send(&self, row: &OutboxRow) -> Result<(), KafkaError> {
        let event = &row.event;
        let stored_header = event.headers.iter().find(|(k, _)| k == TRACEPARENT).map(|(_, v)| v.as_bytes());
        let stored = propagation::of_record(stored_header, &event.payload);
        let span = spans::outbox_send(&event.topic, row.seq, stored.as_deref());
        let sent = propagation::traceparent(&span);
        let mut headers: Vec<(&str, Option<&[u8]>)> = event
            .headers
            .iter()
            .filter(|(k, _)| sent.is_none() || k != TRACEPARENT)
            .map(|(k, v)| (k.as_str(), Some(v.as_bytes())))
            .collect();
        if let Some(sent) = &sent {
            headers.push((TRACEPARENT, Some(sent.as_bytes())));
        }
        let record =
            OutboundRecord { topic: &event.topic, key: Some(event.key.as_bytes()), payload: &event.payload, headers };
        self.producer.send(record).instrument(span).await.map(drop)
    }

    async fn report_backlog(&self) {
        match self.outbox.stats().await {
            Ok(stats) => {
                metrics::gauge!(OUTBOX_BACKLOG).set(stats.backlog as f64);
                let age = stats.oldest_unpublished_at.map_or(0.0, |t| (Utc::now() - t).as_seconds_f64().max(0.0));
                metrics::gauge!(OUTBOX_OLDEST_AGE).set(age);
            }
            Err(error) => tracing::warn!(error = %error, "cannot read outbox statistics"),
        }
    }

    async fn prune(&self) {
        let cutoff = Utc::now() - chrono::Duration::hours(self.settings.keep_published_hours);
        match self.outbox.prune(cutoff).await {
            Ok(0) => {}
            Ok(pruned) => {
                metrics::counter!(OUTBOX_PRUNED).increment(pruned);
                tracing::info!(pruned, "published outbox rows pruned");
            }
            Err(error) => tracing::warn!(error = %error, "pruning the outbox failed"),
        }
    }
}

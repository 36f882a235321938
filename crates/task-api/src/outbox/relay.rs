//! The relay loop.

use std::time::Duration;

use chrono::Utc;
use futures::future::join_all;
use serde::Deserialize;
use service_runtime::CancellationToken;
use service_runtime::consumer::Backoff;
use service_runtime::health::Health;
use service_runtime::kafka::{KafkaError, OutboundRecord, Producer};
use sqlx::postgres::PgListener;

use crate::outbox::OutboxSignal;
use crate::storage::{OutboxRow, StorageError, Store};

/// Unpublished outbox rows. Gauge.
pub const OUTBOX_BACKLOG: &str = "taskstream_outbox_backlog";
/// Age in seconds of the oldest unpublished row (0 when none). Gauge.
pub const OUTBOX_OLDEST_AGE: &str = "taskstream_outbox_oldest_unpublished_seconds";
/// Rows published. Counter.
pub const OUTBOX_PUBLISHED: &str = "taskstream_outbox_published_total";
/// Published rows pruned. Counter.
pub const OUTBOX_PRUNED: &str = "taskstream_outbox_pruned_total";

/// The PostgreSQL channel the write path notifies.
pub const CHANNEL: &str = "task_outbox";
/// The advisory lock key of the publishing relay ("tsoutbox" in ASCII).
const LEADER_LOCK: i64 = 0x7473_6f75_7462_6f78;
const CONDITION: &str = "outbox relay";

/// Relay tuning.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RelaySettings {
    /// Rows published per round trip.
    pub batch_size: i64,
    /// Safety-net poll when no wake-up arrives.
    pub poll_interval_ms: u64,
    /// Published rows are kept this long (for inspection), then pruned.
    pub keep_published_hours: i64,
    /// How often pruning runs.
    pub prune_interval_secs: u64,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self { batch_size: 500, poll_interval_ms: 1_000, keep_published_hours: 24, prune_interval_secs: 600 }
    }
}

/// Publishes the outbox. See the module docs of [`crate::outbox`].
#[derive(Debug)]
pub struct Relay {
    store: Store,
    producer: Producer,
    signal: OutboxSignal,
    settings: RelaySettings,
    health: Health,
}

/// Why a relay round failed; the relay backs off and tries again.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The database failed.
    #[error("outbox storage: {0}")]
    Storage(#[from] StorageError),
    /// The broker did not acknowledge a record (rows stay pending).
    #[error("publishing outbox row {seq}: {source}")]
    Broker {
        /// The first row that failed.
        seq: i64,
        /// librdkafka's error.
        #[source]
        source: KafkaError,
    },
}

enum Round {
    /// Published this many rows; there may be more.
    Published(usize),
    /// Nothing to publish.
    Idle,
}

impl Relay {
    /// A relay over `store`, publishing with `producer`, woken by `signal`.
    pub fn new(
        store: Store,
        producer: Producer,
        signal: OutboxSignal,
        settings: RelaySettings,
        health: Health,
    ) -> Self {
        Self { store, producer, signal, settings, health }
    }

    /// Runs until `shutdown`: waits for leadership (PostgreSQL), then publishes.
    #[tracing::instrument(name = "outbox_relay", skip_all)]
    pub async fn run(self, shutdown: CancellationToken) {
        let backoff = Backoff { initial: Duration::from_millis(200), max: Duration::from_secs(10) };
        let mut attempt = 0;
        while !shutdown.is_cancelled() {
            let result = match self.store.pg_pool() {
                Some(pool) => self.lead_postgres(pool.clone(), &shutdown).await,
                None => self.publish_until(&shutdown, None).await,
            };
            match result {
                Ok(()) => attempt = 0,
                Err(error) => {
                    attempt += 1;
                    let delay = backoff.delay(attempt, &mut rand::rng());
                    tracing::error!(error = %error, retry_in_ms = delay.as_millis() as u64, "outbox relay failed; retrying");
                    self.health.raise(CONDITION, error.to_string());
                    tokio::select! {
                        () = shutdown.cancelled() => {}
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
        tracing::info!("outbox relay stopped");
    }

    /// Holds the advisory lock on a dedicated connection while publishing; a standby retries
    /// every poll interval.
    async fn lead_postgres(&self, pool: sqlx::PgPool, shutdown: &CancellationToken) -> Result<(), RelayError> {
        let mut leader = pool.acquire().await.map_err(StorageError::Unavailable)?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(LEADER_LOCK)
            .fetch_one(&mut *leader)
            .await
            .map_err(StorageError::Unavailable)?;
        if !locked {
            tracing::debug!("another relay publishes; standing by");
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = tokio::time::sleep(Duration::from_millis(self.settings.poll_interval_ms)) => {}
            }
            return Ok(());
        }
        tracing::info!("this relay publishes the outbox");
        let mut listener = PgListener::connect_with(&pool).await.map_err(StorageError::Unavailable)?;
        listener.listen(CHANNEL).await.map_err(StorageError::Unavailable)?;
        let result = self.publish_until(shutdown, Some((&mut listener, &mut leader))).await;
        // Releasing explicitly lets a standby take over at once; if the connection is gone the
        // lock went with it.
        let _ = sqlx::query("SELECT pg_advisory_unlock($1)").bind(LEADER_LOCK).execute(&mut *leader).await;
        result
    }

    async fn publish_until(
        &self,
        shutdown: &CancellationToken,
        mut postgres: Option<(&mut PgListener, &mut sqlx::pool::PoolConnection<sqlx::Postgres>)>,
    ) -> Result<(), RelayError> {
        let poll = Duration::from_millis(self.settings.poll_interval_ms);
        let prune_every = Duration::from_secs(self.settings.prune_interval_secs);
        let mut last_prune = tokio::time::Instant::now() - prune_every;
        // The backlog gauges cost a COUNT query: refresh them at most once a second, not per batch.
        let stats_every = Duration::from_secs(1);
        let mut last_stats = tokio::time::Instant::now() - stats_every;
        loop {
            if let Some((_, leader)) = postgres.as_mut() {
                // Still holding the lock? A lost leader connection means a standby may lead now.
                sqlx::query("SELECT 1").execute(&mut ***leader).await.map_err(StorageError::Unavailable)?;
            }
            let round = self.publish_round().await?;
            self.health.clear(CONDITION);
            if last_stats.elapsed() >= stats_every {
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
                match postgres.as_mut() {
                    Some((listener, _)) => listener.recv().await.map(|_| ()),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = self.signal.notified() => {}
                received = listen => { received.map_err(StorageError::Unavailable)?; }
                () = tokio::time::sleep(poll) => {}
            }
        }
    }

    /// Publishes up to one batch; marks what was acknowledged.
    async fn publish_round(&self) -> Result<Round, RelayError> {
        let rows = self.store.outbox_pending(self.settings.batch_size).await?;
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
            self.store.outbox_mark_published(&published, Utc::now()).await?;
            metrics::counter!(OUTBOX_PUBLISHED).increment(published.len() as u64);
        }
        if let Some((seq, error)) = failed {
            tracing::warn!(seq, error = %error, published = published.len(), "publishing outbox rows failed; they stay pending");
            // The caller backs off instead of spinning against a down broker.
            return Err(RelayError::Broker { seq, source: error });
        }
        Ok(Round::Published(published.len()))
    }

    async fn send(&self, row: &OutboxRow) -> Result<(), KafkaError> {
        let headers = row.headers.iter().map(|(k, v)| (k.as_str(), Some(v.as_bytes()))).collect();
        self.producer
            .send(OutboundRecord { topic: &row.topic, key: Some(row.key.as_bytes()), payload: &row.payload, headers })
            .await
            .map(|_| ())
    }

    async fn report_backlog(&self) {
        match self.store.outbox_stats().await {
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
        match self.store.outbox_prune(cutoff).await {
            Ok(0) => {}
            Ok(pruned) => {
                metrics::counter!(OUTBOX_PRUNED).increment(pruned);
                tracing::info!(pruned, "published outbox rows pruned");
            }
            Err(error) => tracing::warn!(error = %error, "pruning the outbox failed"),
        }
    }
}

//! [`Leader`]: on PostgreSQL, the one relay (of all replicas) that publishes an outbox.
//!
//! Leadership is a session-level advisory lock ([`OutboxConfig::lock_key`]) held on a
//! connection of its own, taken out of the pool: when the relay stops, fails or is aborted,
//! the connection closes and PostgreSQL releases the lock with the session, so a standby takes
//! over. (A pooled connection would go back to the pool still holding the lock, and no relay,
//! this one included, could lead again until it closed.)

use sqlx::postgres::{PgConnection, PgListener};
use sqlx::{Connection as _, PgPool};

use super::OutboxConfig;

/// The lead of one outbox: its lock and a listener on its channel.
#[derive(Debug)]
pub(super) struct Leader {
    lock: PgConnection,
    listener: PgListener,
}

impl Leader {
    /// Takes the lead of `config`'s outbox, or `None` when another session holds it. Never
    /// waits for the lock.
    pub(super) async fn try_acquire(pool: &PgPool, config: &OutboxConfig) -> Result<Option<Self>, sqlx::Error> {
        let mut candidate = pool.acquire().await?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(config.lock_key())
            .fetch_one(&mut *candidate)
            .await?;
        if !locked {
            return Ok(None);
        }
        // Out of the pool from here on: if anything below fails, dropping it closes the session
        // and so releases the lock.
        let lock = candidate.detach();
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(config.channel()).await?;
        Ok(Some(Self { lock, listener }))
    }

    /// Whether the lock is still held: fails when its connection is gone (a standby may lead
    /// now).
    pub(super) async fn check(&mut self) -> Result<(), sqlx::Error> {
        self.lock.ping().await
    }

    /// Waits for the next notification on the channel (a commit that enqueued events).
    pub(super) async fn notified(&mut self) -> Result<(), sqlx::Error> {
        self.listener.recv().await.map(drop)
    }

    /// Gives up the lead at once, so that a standby can take over without waiting for a
    /// timeout. Closing the session releases the lock (and if the connection is already gone,
    /// the lock went with it).
    pub(super) async fn release(self) {
        let _ = self.lock.close().await;
    }
}

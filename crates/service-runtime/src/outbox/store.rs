//! The outbox's SQL, written once for both backends: [`enqueue`] in the writer's transaction,
//! and [`Outbox`], the relay's reads and writes.
//!
//! `seq` orders the rows. Writes to one entity are serialised by the writer (a row lock on
//! PostgreSQL, the write lock on SQLite), so one entity's events get increasing `seq`s in
//! commit order; across entities a smaller `seq` may commit later, which is why the relay asks
//! for every unpublished row rather than for rows after the last `seq` it saw.

use chrono::{DateTime, SubsecRound as _, Utc};

use crate::database::{Arg, Backend, Pool, Row, Sql, Tx};

use super::OutboxConfig;
use super::event::{OutboxEvent, OutboxRow, OutboxStats, headers_from_json, headers_to_json};

/// Most seqs marked published by one statement.
const MARK_CHUNK: usize = 500;

/// Adds `events` to `config`'s outbox in `tx`: pending once `tx` commits, gone if it rolls back.
/// On PostgreSQL it also notifies [`OutboxConfig::channel`], which PostgreSQL delivers on
/// commit (and drops on rollback), so relays of every replica wake up.
///
/// An event id already in the outbox is a unique violation
/// (`sqlx::error::DatabaseError::is_unique_violation`).
#[tracing::instrument(skip_all, fields(table = config.table(), events = events.len()), err(level = "debug"))]
pub async fn enqueue(tx: &mut Tx, config: &OutboxConfig, events: &[OutboxEvent]) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    let created_at = Utc::now().trunc_subsecs(6);
    let insert = format!(
        "INSERT INTO {} (event_id, event_type, topic, key, payload, headers, created_at) VALUES ",
        config.table()
    );
    for event in events {
        let mut sql = Sql::new(tx.backend(), &insert);
        sql.bind_list([
            Arg::Uuid(event.event_id),
            Arg::Text(event.event_type.clone()),
            Arg::Text(event.topic.clone()),
            Arg::Text(event.key.clone()),
            Arg::Bytes(event.payload.clone()),
            Arg::Text(headers_to_json(&event.headers)),
            Arg::Time(created_at),
        ]);
        tx.execute(sql).await?;
    }
    if tx.backend() == Backend::Postgres {
        let mut sql = Sql::new(Backend::Postgres, "SELECT pg_notify(");
        sql.bind(Arg::Text(config.channel().to_owned())).push(", '')");
        tx.execute(sql).await?;
    }
    Ok(())
}

/// A service's outbox table, as the relay reads and maintains it. Cheap to clone (a pool
/// handle).
#[derive(Debug, Clone)]
pub struct Outbox {
    pool: Pool,
    config: OutboxConfig,
}

impl Outbox {
    /// `config`'s outbox in the database of `pool` (whose migrations created its table).
    pub fn new(pool: Pool, config: OutboxConfig) -> Self {
        Self { pool, config }
    }

    /// The pool.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The configuration.
    pub fn config(&self) -> &OutboxConfig {
        &self.config
    }

    /// Up to `limit` unpublished events, oldest `seq` first.
    #[tracing::instrument(skip_all, fields(table = self.config.table()), err(level = "debug"))]
    pub async fn pending(&self, limit: i64) -> Result<Vec<OutboxRow>, sqlx::Error> {
        let mut sql = self.sql(
            "SELECT seq, event_id, event_type, topic, key, payload, headers, created_at FROM {table} \
             WHERE published_at IS NULL ORDER BY seq LIMIT ",
        );
        sql.bind(Arg::Int(limit.max(0)));
        self.pool.fetch_all(sql).await?.iter().map(outbox_row).collect()
    }

    /// Marks the events with these seqs published at `at` (already published ones keep their
    /// time).
    #[tracing::instrument(skip_all, fields(table = self.config.table(), events = seqs.len()), err(level = "debug"))]
    pub async fn mark_published(&self, seqs: &[i64], at: DateTime<Utc>) -> Result<(), sqlx::Error> {
        for chunk in seqs.chunks(MARK_CHUNK) {
            let mut sql = self.sql("UPDATE {table} SET published_at = ");
            sql.bind(Arg::Time(at.trunc_subsecs(6)));
            sql.push(" WHERE published_at IS NULL AND seq IN ").bind_list(chunk.iter().map(|&seq| Arg::Int(seq)));
            self.pool.execute(sql).await?;
        }
        Ok(())
    }

    /// Deletes events published before `published_before`; returns how many. Unpublished
    /// events are never deleted.
    #[tracing::instrument(skip_all, fields(table = self.config.table()), err(level = "debug"))]
    pub async fn prune(&self, published_before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        let mut sql = self.sql("DELETE FROM {table} WHERE published_at IS NOT NULL AND published_at < ");
        sql.bind(Arg::Time(published_before));
        self.pool.execute(sql).await
    }

    /// The backlog of unpublished events and the age of the oldest.
    #[tracing::instrument(skip_all, fields(table = self.config.table()), err(level = "debug"))]
    pub async fn stats(&self) -> Result<OutboxStats, sqlx::Error> {
        let sql =
            self.sql("SELECT COUNT(*) AS backlog, MIN(created_at) AS oldest FROM {table} WHERE published_at IS NULL");
        let row = self.pool.fetch_one(sql).await?;
        Ok(OutboxStats { backlog: row.i64("backlog")?, oldest_unpublished_at: row.opt_instant("oldest")? })
    }

    /// A statement on this outbox's table (`{table}` in `text`; a checked identifier).
    fn sql(&self, text: &str) -> Sql {
        Sql::new(self.pool.backend(), &text.replace("{table}", self.config.table()))
    }
}

/// A row of [`Outbox::pending`].
fn outbox_row(row: &Row) -> Result<OutboxRow, sqlx::Error> {
    Ok(OutboxRow {
        seq: row.i64("seq")?,
        event: OutboxEvent {
            event_id: row.uuid("event_id")?,
            event_type: row.text("event_type")?,
            topic: row.text("topic")?,
            key: row.text("key")?,
            payload: row.bytes("payload")?,
            headers: headers_from_json(&row.text("headers")?)?,
        },
        created_at: row.instant("created_at")?,
    })
}

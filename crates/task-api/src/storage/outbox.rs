//! The transactional outbox: events written in the same transaction as the change they
//! describe ([`Tx::enqueue`]), read and marked published by the relay.
//!
//! `seq` orders the rows. Changes to one task are serialized by its row lock (PostgreSQL)
//! or the write lock (SQLite), so one task's events get increasing `seq`s in commit order;
//! across tasks a smaller `seq` may commit later, which is why the relay asks for every
//! unpublished row rather than for rows after the last `seq` it saw.

use chrono::{DateTime, SubsecRound as _, Utc};
use uuid::Uuid;

use super::rows::{headers_from_json, headers_to_json};
use super::tx::Tx;
use super::{StorageError, Store};
use service_runtime::database::{Arg, Backend, Row, Sql};

/// The PostgreSQL notification channel [`Tx::enqueue`] notifies (with an empty payload) when
/// it commits; the relay LISTENs on it.
pub const OUTBOX_CHANNEL: &str = "task_outbox";

/// Most seqs marked published by one statement.
const MARK_CHUNK: usize = 500;

/// An event to publish once the transaction commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutboxEvent {
    /// CloudEvent id; unique.
    pub event_id: Uuid,
    /// CloudEvent type, e.g. `task.created`.
    pub event_type: String,
    /// Kafka topic.
    pub topic: String,
    /// Kafka key: the task id.
    pub key: String,
    /// The CloudEvent JSON.
    pub payload: Vec<u8>,
    /// Kafka headers, in order.
    pub headers: Vec<(String, String)>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// Position in the outbox.
    pub seq: i64,
    /// CloudEvent id.
    pub event_id: Uuid,
    /// CloudEvent type.
    pub event_type: String,
    /// Kafka topic.
    pub topic: String,
    /// Kafka key.
    pub key: String,
    /// The CloudEvent JSON.
    pub payload: Vec<u8>,
    /// Kafka headers, in order.
    pub headers: Vec<(String, String)>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
}

/// How far behind the relay is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxStats {
    /// Unpublished rows.
    pub backlog: i64,
    /// When the oldest unpublished row was enqueued.
    pub oldest_unpublished_at: Option<DateTime<Utc>>,
}

const SELECT_ROW: &str = "SELECT seq, event_id, event_type, topic, key, payload, headers, created_at FROM outbox";

impl Tx {
    /// Adds events to the outbox, pending once the transaction commits. On PostgreSQL it also
    /// notifies [`OUTBOX_CHANNEL`], which is delivered on commit (and dropped on rollback).
    #[tracing::instrument(skip_all, fields(events = events.len()), err(level = "debug"))]
    pub async fn enqueue(&mut self, events: &[NewOutboxEvent]) -> Result<(), StorageError> {
        if events.is_empty() {
            return Ok(());
        }
        let created_at = Utc::now().trunc_subsecs(6);
        for event in events {
            let mut sql = Sql::new(
                self.backend(),
                "INSERT INTO outbox (event_id, event_type, topic, key, payload, headers, created_at) VALUES ",
            );
            sql.bind_list([
                Arg::Uuid(event.event_id),
                Arg::Text(event.event_type.clone()),
                Arg::Text(event.topic.clone()),
                Arg::Text(event.key.clone()),
                Arg::Bytes(event.payload.clone()),
                Arg::Text(headers_to_json(&event.headers)),
                Arg::Time(created_at),
            ]);
            self.execute(sql).await?;
        }
        if self.backend() == Backend::Postgres {
            let mut sql = Sql::new(Backend::Postgres, "SELECT pg_notify(");
            sql.bind(Arg::Text(OUTBOX_CHANNEL.to_owned())).push(", '')");
            self.execute(sql).await?;
        }
        Ok(())
    }
}

impl Store {
    /// Up to `limit` unpublished events, oldest `seq` first.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn outbox_pending(&self, limit: i64) -> Result<Vec<OutboxRow>, StorageError> {
        let mut sql = Sql::new(self.backend(), SELECT_ROW);
        sql.push(" WHERE published_at IS NULL ORDER BY seq LIMIT ").bind(Arg::Int(limit.max(0)));
        self.pool.fetch_all(sql).await?.iter().map(outbox_row).collect()
    }

    /// Marks the events with these seqs published at `at` (already published ones keep
    /// their time).
    #[tracing::instrument(skip_all, fields(events = seqs.len()), err(level = "debug"))]
    pub async fn outbox_mark_published(&self, seqs: &[i64], at: DateTime<Utc>) -> Result<(), StorageError> {
        for chunk in seqs.chunks(MARK_CHUNK) {
            let mut sql = Sql::new(self.backend(), "UPDATE outbox SET published_at = ");
            sql.bind(Arg::Time(at.trunc_subsecs(6)));
            sql.push(" WHERE published_at IS NULL AND seq IN ").bind_list(chunk.iter().map(|&seq| Arg::Int(seq)));
            self.execute(sql).await?;
        }
        Ok(())
    }

    /// Deletes events published before `published_before`; returns how many. Unpublished
    /// events are never deleted.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn outbox_prune(&self, published_before: DateTime<Utc>) -> Result<u64, StorageError> {
        let mut sql = Sql::new(self.backend(), "DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < ");
        sql.bind(Arg::Time(published_before));
        self.execute(sql).await
    }

    /// The backlog of unpublished events and the age of the oldest.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn outbox_stats(&self) -> Result<OutboxStats, StorageError> {
        let sql = Sql::new(
            self.backend(),
            "SELECT COUNT(*) AS backlog, MIN(created_at) AS oldest FROM outbox WHERE published_at IS NULL",
        );
        let row = self.pool.fetch_one(sql).await?;
        Ok(OutboxStats { backlog: row.i64("backlog")?, oldest_unpublished_at: row.opt_instant("oldest")? })
    }
}

/// An outbox row.
fn outbox_row(row: &Row) -> Result<OutboxRow, StorageError> {
    let seq = row.i64("seq")?;
    Ok(OutboxRow {
        seq,
        event_id: row.uuid("event_id")?,
        event_type: row.text("event_type")?,
        topic: row.text("topic")?,
        key: row.text("key")?,
        payload: row.bytes("payload")?,
        headers: headers_from_json(seq, &row.text("headers")?)?,
        created_at: row.instant("created_at")?,
    })
}

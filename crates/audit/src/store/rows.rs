//! Decoding `audit_events` and `audit_chain_heads` rows of either backend.

use chrono::{DateTime, Utc};
use service_runtime::database::from_micros;
use sqlx::Row as _;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use super::query::StoredEntry;
use crate::chain::{ChainLink, ChainPoint, Entry};
use crate::entry::{Change, NewEntry, SourcePosition};

/// The columns every entry read selects, in this order.
pub(super) const ENTRY_COLUMNS: &str = "id, event_id, event_type, known_type, subject, user_id, actor, occurred_at, \
     recorded_at, source_topic, source_partition, source_offset, correlation_id, payload, changes, chain_seq, \
     prev_hash, hash";

/// A chain head: its last entry, when that was recorded, and the retention anchor.
#[derive(Debug, Clone)]
pub(super) struct Head {
    pub(super) user_id: String,
    pub(super) last: ChainPoint,
    pub(super) last_recorded_at: Option<DateTime<Utc>>,
    pub(super) anchor: ChainPoint,
}

/// The columns every head read selects, in this order.
pub(super) const HEAD_COLUMNS: &str = "user_id, last_seq, last_hash, last_recorded_at, anchor_seq, anchor_hash";

fn changes(text: Option<String>) -> Result<Option<Vec<Change>>, sqlx::Error> {
    text.map(|t| serde_json::from_str(&t).map_err(|e| sqlx::Error::Decode(Box::new(e)))).transpose()
}

fn instant(micros: i64) -> Result<DateTime<Utc>, sqlx::Error> {
    from_micros(micros).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

pub(super) fn entry_from_pg(row: &PgRow) -> Result<StoredEntry, sqlx::Error> {
    let event = NewEntry {
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        known_type: row.try_get("known_type")?,
        subject: row.try_get("subject")?,
        user_id: row.try_get("user_id")?,
        actor: row.try_get("actor")?,
        occurred_at: row.try_get("occurred_at")?,
        source: SourcePosition {
            topic: row.try_get("source_topic")?,
            partition: row.try_get("source_partition")?,
            offset: row.try_get("source_offset")?,
        },
        correlation_id: row.try_get("correlation_id")?,
        payload: row.try_get("payload")?,
        changes: changes(row.try_get("changes")?)?,
    };
    let entry = Entry {
        event,
        recorded_at: row.try_get("recorded_at")?,
        link: ChainLink {
            seq: row.try_get("chain_seq")?,
            prev_hash: row.try_get("prev_hash")?,
            hash: row.try_get("hash")?,
        },
    };
    Ok(StoredEntry { id: row.try_get("id")?, entry })
}

pub(super) fn entry_from_sqlite(row: &SqliteRow) -> Result<StoredEntry, sqlx::Error> {
    let event = NewEntry {
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        known_type: row.try_get("known_type")?,
        subject: row.try_get("subject")?,
        user_id: row.try_get("user_id")?,
        actor: row.try_get("actor")?,
        occurred_at: instant(row.try_get("occurred_at")?)?,
        source: SourcePosition {
            topic: row.try_get("source_topic")?,
            partition: row.try_get("source_partition")?,
            offset: row.try_get("source_offset")?,
        },
        correlation_id: row.try_get("correlation_id")?,
        payload: row.try_get("payload")?,
        changes: changes(row.try_get("changes")?)?,
    };
    let entry = Entry {
        event,
        recorded_at: instant(row.try_get("recorded_at")?)?,
        link: ChainLink {
            seq: row.try_get("chain_seq")?,
            prev_hash: row.try_get("prev_hash")?,
            hash: row.try_get("hash")?,
        },
    };
    Ok(StoredEntry { id: row.try_get("id")?, entry })
}

pub(super) fn head_from_pg(row: &PgRow) -> Result<Head, sqlx::Error> {
    Ok(Head {
        user_id: row.try_get("user_id")?,
        last: ChainPoint { seq: row.try_get("last_seq")?, hash: row.try_get("last_hash")? },
        last_recorded_at: row.try_get("last_recorded_at")?,
        anchor: ChainPoint { seq: row.try_get("anchor_seq")?, hash: row.try_get("anchor_hash")? },
    })
}

pub(super) fn head_from_sqlite(row: &SqliteRow) -> Result<Head, sqlx::Error> {
    Ok(Head {
        user_id: row.try_get("user_id")?,
        last: ChainPoint { seq: row.try_get("last_seq")?, hash: row.try_get("last_hash")? },
        last_recorded_at: row.try_get::<Option<i64>, _>("last_recorded_at")?.map(instant).transpose()?,
        anchor: ChainPoint { seq: row.try_get("anchor_seq")?, hash: row.try_get("anchor_hash")? },
    })
}

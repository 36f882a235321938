//! Decoding `audit_events` and `audit_chain_heads` rows (of either backend, through
//! `service_runtime::database::Row`).

use chrono::{DateTime, Utc};
use service_runtime::database::Row;

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

/// An `audit_events` row.
pub(super) fn entry(row: &Row) -> Result<StoredEntry, sqlx::Error> {
    let event = NewEntry {
        event_id: row.uuid("event_id")?,
        event_type: row.text("event_type")?,
        known_type: row.bool("known_type")?,
        subject: row.text("subject")?,
        user_id: row.text("user_id")?,
        actor: row.text("actor")?,
        occurred_at: row.instant("occurred_at")?,
        source: SourcePosition {
            topic: row.text("source_topic")?,
            partition: row.int("source_partition")?,
            offset: row.i64("source_offset")?,
        },
        correlation_id: row.opt_text("correlation_id")?,
        payload: row.text("payload")?,
        changes: changes(row.opt_text("changes")?)?,
    };
    let entry = Entry {
        event,
        recorded_at: row.instant("recorded_at")?,
        link: ChainLink { seq: row.i64("chain_seq")?, prev_hash: row.text("prev_hash")?, hash: row.text("hash")? },
    };
    Ok(StoredEntry { id: row.i64("id")?, entry })
}

/// An `audit_chain_heads` row.
pub(super) fn head(row: &Row) -> Result<Head, sqlx::Error> {
    Ok(Head {
        user_id: row.text("user_id")?,
        last: ChainPoint { seq: row.i64("last_seq")?, hash: row.text("last_hash")? },
        last_recorded_at: row.opt_instant("last_recorded_at")?,
        anchor: ChainPoint { seq: row.i64("anchor_seq")?, hash: row.text("anchor_hash")? },
    })
}

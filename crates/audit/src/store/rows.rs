//! Decoding `audit_events` and `audit_chain_heads` rows of either backend.

use chrono::{DateTime, Utc};
use service_runtime::database::InstantRow;

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

/// An `audit_events` row of either backend.
pub(super) fn entry<R>(row: &R) -> Result<StoredEntry, sqlx::Error>
where
    R: InstantRow,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> uuid::Uuid: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i32: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let event = NewEntry {
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        known_type: row.try_get("known_type")?,
        subject: row.try_get("subject")?,
        user_id: row.try_get("user_id")?,
        actor: row.try_get("actor")?,
        occurred_at: row.required_instant("occurred_at")?,
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
        recorded_at: row.required_instant("recorded_at")?,
        link: ChainLink {
            seq: row.try_get("chain_seq")?,
            prev_hash: row.try_get("prev_hash")?,
            hash: row.try_get("hash")?,
        },
    };
    Ok(StoredEntry { id: row.try_get("id")?, entry })
}

/// An `audit_chain_heads` row of either backend.
pub(super) fn head<R>(row: &R) -> Result<Head, sqlx::Error>
where
    R: InstantRow,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Head {
        user_id: row.try_get("user_id")?,
        last: ChainPoint { seq: row.try_get("last_seq")?, hash: row.try_get("last_hash")? },
        last_recorded_at: row.instant("last_recorded_at")?,
        anchor: ChainPoint { seq: row.try_get("anchor_seq")?, hash: row.try_get("anchor_hash")? },
    })
}

//! The JSON shape of entries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::entry::{Change, SourcePosition};
use crate::store::StoredEntry;

/// An entry's place in its user's hash chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainView {
    /// Position in the user's chain, from 1.
    pub seq: i64,
    /// The predecessor's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntryView {
    /// The event's id.
    pub event_id: Uuid,
    /// The event's type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// `false` when this build does not know the type (or version): `payload` is then the raw
    /// `data`, unchecked.
    pub known_type: bool,
    /// The task the event is about (the event's subject).
    pub task_id: String,
    /// The task's owner.
    pub user_id: String,
    /// Who caused it: the user, or a service acting for them.
    pub actor: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// When the audit service recorded it.
    pub recorded_at: DateTime<Utc>,
    /// Where it was read from.
    pub source: SourcePosition,
    /// Groups the events of one user action.
    pub correlation_id: Option<String>,
    /// The event's `data`.
    pub payload: serde_json::Value,
    /// Changed fields with before and after values (updates, completions, reopenings).
    pub changes: Option<Vec<Change>>,
    /// Its link in the hash chain.
    pub chain: ChainView,
}

impl From<StoredEntry> for EntryView {
    fn from(stored: StoredEntry) -> Self {
        let entry = stored.entry;
        let event = entry.event;
        let payload = serde_json::from_str(&event.payload).unwrap_or(serde_json::Value::String(event.payload));
        Self {
            event_id: event.event_id,
            event_type: event.event_type,
            known_type: event.known_type,
            task_id: event.subject,
            user_id: event.user_id,
            actor: event.actor,
            occurred_at: event.occurred_at,
            recorded_at: entry.recorded_at,
            source: event.source,
            correlation_id: event.correlation_id,
            payload,
            changes: event.changes,
            chain: ChainView { seq: entry.link.seq, prev_hash: entry.link.prev_hash, hash: entry.link.hash },
        }
    }
}

/// A page of `GET /v1/audit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntryPage {
    /// The entries.
    pub items: Vec<EntryView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `GET /v1/audit/tasks/{task_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskHistory {
    /// The task.
    pub task_id: String,
    /// Every entry about it, oldest first.
    pub entries: Vec<EntryView>,
}

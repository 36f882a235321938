//! What the outbox holds: [`OutboxEvent`]s to publish, stored as [`OutboxRow`]s, and the
//! backlog's [`OutboxStats`].

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// An event to publish once the transaction that enqueued it commits: one Kafka record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    /// CloudEvent id; unique in the outbox (enqueuing it twice is a unique violation).
    pub event_id: Uuid,
    /// CloudEvent type, e.g. `task.created`.
    pub event_type: String,
    /// Kafka topic.
    pub topic: String,
    /// Kafka key (e.g. the task id): records of one key keep their order.
    pub key: String,
    /// The record's value (the CloudEvent JSON).
    pub payload: Vec<u8>,
    /// Kafka headers, in order.
    pub headers: Vec<(String, String)>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// Position in the outbox: the relay publishes in `seq` order.
    pub seq: i64,
    /// The event.
    pub event: OutboxEvent,
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

/// Headers as stored: a JSON array of `[name, value]` pairs.
pub(super) fn headers_to_json(headers: &[(String, String)]) -> String {
    // A list of string pairs always serialises.
    serde_json::to_string(headers).unwrap_or_else(|_| "[]".to_owned())
}

/// Headers read back; unreadable ones are a decoding error naming the column.
pub(super) fn headers_from_json(json: &str) -> Result<Vec<(String, String)>, sqlx::Error> {
    serde_json::from_str(json)
        .map_err(|e| sqlx::Error::ColumnDecode { index: "\"headers\"".to_owned(), source: Box::new(e) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_survive_the_round_trip_in_order_and_garbage_is_a_decoding_error() {
        let headers = vec![("b".to_owned(), "2".to_owned()), ("a".to_owned(), "1".to_owned())];

        let back = headers_from_json(&headers_to_json(&headers)).expect("readable");
        let garbage = headers_from_json("{\"a\":1}");

        assert_eq!(back, headers);
        assert!(matches!(garbage, Err(sqlx::Error::ColumnDecode { .. })), "{garbage:?}");
    }
}

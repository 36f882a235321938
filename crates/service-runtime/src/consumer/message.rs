//! A consumed record, owned, independent of librdkafka's types (so handlers are testable
//! without a broker).

use event_schema::EventType;
use rdkafka::Message;
use rdkafka::message::Headers;

/// The `event_type` label of a message whose type the contract does not know.
const UNKNOWN_TYPE: &str = "unknown";

/// A consumed record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InboundMessage {
    /// Topic it was read from.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Key.
    pub key: Option<Vec<u8>>,
    /// Value.
    pub payload: Option<Vec<u8>>,
    /// Headers, in order.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Record timestamp (ms since the epoch), when the broker gave one.
    pub timestamp_ms: Option<i64>,
}

impl InboundMessage {
    /// A message with a value, for tests of handlers (feature `testing`).
    #[cfg(any(test, feature = "testing"))]
    pub fn with_payload(topic: &str, partition: i32, offset: i64, payload: impl Into<Vec<u8>>) -> Self {
        Self { topic: topic.into(), partition, offset, payload: Some(payload.into()), ..Default::default() }
    }

    /// The value, or an empty slice.
    pub fn payload(&self) -> &[u8] {
        self.payload.as_deref().unwrap_or_default()
    }

    /// A header's value by name (the first, if repeated).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().find(|(k, _)| k == name).and_then(|(_, v)| v.as_deref())
    }

    /// Approximate memory the message holds while it waits (for the partition buffer).
    pub(crate) fn buffered_size(&self) -> usize {
        const OVERHEAD: usize = 128;
        let headers: usize = self.headers.iter().map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len)).sum();
        OVERHEAD + self.topic.len() + self.key.as_ref().map_or(0, Vec::len) + self.payload().len() + headers
    }

    /// The CloudEvents `type` as a metric label: a type the contract's catalogue knows, or
    /// `unknown` for any other (or none). The wire value is never a label as such: any
    /// producer could mint types without bound, and each would become a series of every
    /// consumer's metrics (a 5,000-byte type became a label value once).
    pub(crate) fn event_type_label(&self) -> &'static str {
        #[derive(serde::Deserialize)]
        struct Peek<'a> {
            #[serde(rename = "type", borrow)]
            event_type: std::borrow::Cow<'a, str>,
        }
        serde_json::from_slice::<Peek<'_>>(self.payload())
            .ok()
            .and_then(|peek| EventType::parse(&peek.event_type))
            .map_or(UNKNOWN_TYPE, EventType::as_str)
    }
}

impl InboundMessage {
    /// Copies a librdkafka message.
    pub(crate) fn from_message<M: Message>(m: &M) -> Self {
        let headers = m
            .headers()
            .map(|h| h.iter().map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec))).collect())
            .unwrap_or_default();
        Self {
            topic: m.topic().to_owned(),
            partition: m.partition(),
            offset: m.offset(),
            key: m.key().map(<[u8]>::to_vec),
            payload: m.payload().map(<[u8]>::to_vec),
            headers,
            timestamp_ms: m.timestamp().to_millis(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(payload: &str) -> InboundMessage {
        InboundMessage { topic: "t".into(), payload: Some(payload.into()), ..Default::default() }
    }

    #[test]
    fn event_type_label_names_every_type_of_the_catalogue() {
        for event_type in EventType::ALL {
            let payload = serde_json::json!({ "type": event_type.as_str(), "data": {} }).to_string();
            assert_eq!(message(&payload).event_type_label(), event_type.as_str());
        }
    }

    #[test]
    fn event_type_label_says_unknown_for_types_outside_the_catalogue_and_for_garbage() {
        let long = format!(r#"{{"type":"{}"}}"#, "x".repeat(5_000));
        for payload in [r#"{"type":"task.exploded"}"#, r#"{"type":"Task.Created"}"#, &long, r#"{"data":{}}"#, "garbage"]
        {
            assert_eq!(message(payload).event_type_label(), "unknown", "{payload:.40}");
        }
    }

    #[test]
    fn event_type_label_reads_escaped_types() {
        assert_eq!(message(r#"{"type":"task\u002ecreated"}"#).event_type_label(), "task.created");
    }
}

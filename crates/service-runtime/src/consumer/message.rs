//! A consumed record, owned, independent of librdkafka's types (so handlers are testable
//! without a broker).

use rdkafka::Message;
use rdkafka::message::Headers;

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
    /// A message with a value, for tests of handlers.
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

    /// The CloudEvents `type`, read cheaply for metric labels; `unknown` when there is none.
    pub(crate) fn event_type_label(&self) -> String {
        #[derive(serde::Deserialize)]
        struct Peek {
            #[serde(rename = "type")]
            event_type: String,
        }
        serde_json::from_slice::<Peek>(self.payload()).map(|p| p.event_type).unwrap_or_else(|_| "unknown".into())
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

    #[test]
    fn event_type_label_reads_the_cloudevents_type_or_says_unknown() {
        let good = InboundMessage::with_payload("t", 0, 0, r#"{"type":"task.created","data":{}}"#);
        assert_eq!(good.event_type_label(), "task.created");
        let bad = InboundMessage::with_payload("t", 0, 1, "garbage");
        assert_eq!(bad.event_type_label(), "unknown");
    }
}

//! Putting a dead letter back on its original topic.

use rdkafka::error::KafkaError;

use super::DeadLetter;
use crate::kafka::{OutboundRecord, Producer};

pub use event_schema::topics::dead_letter_headers::REPLAYED_FROM;

/// Where a replayed record landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// The dead letter's coordinates (`dlq.replayed_from`).
    pub from: String,
    /// The original topic it went back to.
    pub topic: String,
    /// Its new partition there (the key decides it, as the first time).
    pub partition: i32,
    /// Its new offset there.
    pub offset: i64,
}

/// Why a dead letter was not replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// `dlq.original.topic` is missing: not a dead letter of ours.
    #[error("{0}: no dlq.original.topic header, so there is nowhere to replay it to")]
    NoOriginalTopic(String),
    /// The value was cut to fit the dead-letter topic.
    #[error("{0}: its value was truncated to fit the dead-letter topic (dlq.truncated); the original is lost")]
    Truncated(String),
    /// A null value (a tombstone) cannot be produced again as it was by this producer.
    #[error("{0}: its value is null; nothing to replay")]
    NullValue(String),
    /// The producer failed.
    #[error("{coordinates}: producing to {topic} failed: {source}")]
    Kafka {
        /// The dead letter.
        coordinates: String,
        /// The original topic.
        topic: String,
        /// librdkafka's error.
        #[source]
        source: KafkaError,
    },
}

/// Produces the dead letter's key, value and original headers (no `dlq.*` ones) back to its
/// original topic, plus [`REPLAYED_FROM`] naming the dead letter, and waits for the broker's
/// acknowledgement. The dead letter itself stays where it is.
pub async fn replay(producer: &Producer, letter: &DeadLetter) -> Result<Replayed, ReplayError> {
    let from = letter.coordinates();
    let topic = letter.original_topic().ok_or_else(|| ReplayError::NoOriginalTopic(from.clone()))?;
    if letter.truncated() {
        return Err(ReplayError::Truncated(from));
    }
    let value = letter.value.as_deref().ok_or_else(|| ReplayError::NullValue(from.clone()))?;
    let mut headers: Vec<(&str, Option<&[u8]>)> =
        letter.original_headers().map(|(key, value)| (key.as_str(), value.as_deref())).collect();
    headers.push((REPLAYED_FROM, Some(from.as_bytes())));
    let record = OutboundRecord { topic: &topic, key: letter.key.as_deref(), payload: value, headers };
    let delivery = producer.send(record).await.map_err(|source| ReplayError::Kafka {
        coordinates: from.clone(),
        topic: topic.clone(),
        source,
    })?;
    Ok(Replayed { from, topic, partition: delivery.partition, offset: delivery.offset })
}

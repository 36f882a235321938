//! Reading a dead-letter topic from its start to its end.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers as _, Message as _};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};

use super::DeadLetter;
use crate::Error;
use crate::kafka::client_config;
use crate::settings::KafkaSettings;

/// Every record of `topic` that exists when the call starts, in partition and offset order.
///
/// No consumer group is joined and nothing is committed: the partitions are assigned directly
/// from their low to their high watermark, so reading never disturbs the group that wrote the
/// dead letters (or anyone else). Fails if the topic does not exist, or if the records are not
/// all read within `timeout`.
pub async fn read_all(
    kafka: &KafkaSettings,
    client_id: &str,
    topic: &str,
    timeout: Duration,
) -> Result<Vec<DeadLetter>, Error> {
    let mut config = client_config(kafka, client_id)?;
    // librdkafka wants a group id for a consumer even when it only assigns; it is never joined
    // (no subscribe) and never committed to.
    config
        .set("group.id", format!("{client_id}.dlq-reader"))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "true");
    let consumer: BaseConsumer = config.create().map_err(Error::kafka("creating the dead-letter reader"))?;
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || read_blocking(&consumer, &topic, timeout))
        .await
        .unwrap_or_else(|_| Err(Error::kafka("reading the dead-letter topic")(KafkaError::Canceled)))
}

fn read_blocking(consumer: &BaseConsumer, topic: &str, timeout: Duration) -> Result<Vec<DeadLetter>, Error> {
    let deadline = Instant::now() + timeout;
    let left = || Timeout::After(deadline.saturating_duration_since(Instant::now()));
    let context = format!("reading the dead-letter topic {topic}");
    let metadata = consumer.fetch_metadata(Some(topic), left()).map_err(Error::kafka(context.clone()))?;
    let Some(described) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return Err(Error::InvalidSettings(format!("{context}: the broker does not describe it")));
    };
    if let Some(code) = described.error() {
        return Err(Error::InvalidSettings(format!("{context}: {:?}", rdkafka::types::RDKafkaErrorCode::from(code))));
    }
    // Up to which offset (exclusive) each partition is read.
    let mut ends = HashMap::new();
    let mut assignment = TopicPartitionList::new();
    for partition in described.partitions() {
        let (low, high) =
            consumer.fetch_watermarks(topic, partition.id(), left()).map_err(Error::kafka(context.clone()))?;
        if high > low {
            assignment
                .add_partition_offset(topic, partition.id(), Offset::Offset(low))
                .map_err(Error::kafka(context.clone()))?;
            ends.insert(partition.id(), high);
        }
    }
    let mut letters = Vec::new();
    if ends.is_empty() {
        return Ok(letters);
    }
    consumer.assign(&assignment).map_err(Error::kafka(context.clone()))?;
    while !ends.is_empty() {
        if Instant::now() >= deadline {
            return Err(Error::kafka(format!(
                "{context}: {} records read, partitions {:?} unfinished",
                letters.len(),
                ends.keys()
            ))(KafkaError::Canceled));
        }
        match consumer.poll(Duration::from_millis(200)) {
            None => {}
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                ends.remove(&partition);
            }
            Some(Err(error)) => return Err(Error::kafka(context.clone())(error)),
            Some(Ok(message)) => {
                let (partition, offset) = (message.partition(), message.offset());
                let Some(&end) = ends.get(&partition) else { continue };
                if offset >= end {
                    // Written after the call started.
                    ends.remove(&partition);
                    continue;
                }
                let headers = message
                    .headers()
                    .map(|hs| hs.iter().map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec))).collect())
                    .unwrap_or_default();
                letters.push(DeadLetter {
                    topic: topic.to_owned(),
                    partition,
                    offset,
                    key: message.key().map(<[u8]>::to_vec),
                    value: message.payload().map(<[u8]>::to_vec),
                    headers,
                });
                if offset + 1 >= end {
                    ends.remove(&partition);
                }
            }
        }
    }
    letters.sort_by_key(|l| (l.partition, l.offset));
    Ok(letters)
}

//! The consumer group's offsets on a test's `task-events` (read, reset, waited for), and
//! producing records to it directly.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _};
use rdkafka::{Offset, TopicPartitionList};
use service_runtime::health::Health;
use service_runtime::kafka::{OutboundRecord, Producer};
use service_runtime::settings::ProducerSettings;

use crate::helpers::{PARTITIONS, Stack, TaskApi, eventually, kafka};

/// A client of `group` that never joins it (it reads and commits offsets only), and the
/// partitions of `topic`.
fn group_client(group: &str, topic: &str, offset: Option<Offset>) -> (BaseConsumer, TopicPartitionList) {
    let consumer: BaseConsumer = service_runtime::kafka::client_config(&kafka(), "offset-tool")
        .expect("config")
        .set("group.id", group)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for partition in 0..PARTITIONS {
        match offset {
            Some(offset) => tpl.add_partition_offset(topic, partition, offset).expect("offset"),
            None => drop(tpl.add_partition(topic, partition)),
        }
    }
    (consumer, tpl)
}

/// The high watermark of each partition of `task-events`: the offset its next record gets.
async fn high_watermarks(stack: &Stack) -> Vec<i64> {
    let stack = stack.clone();
    tokio::task::spawn_blocking(move || {
        let (consumer, _) = group_client(&stack.group, &stack.task_events, None);
        (0..PARTITIONS)
            .map(|p| consumer.fetch_watermarks(&stack.task_events, p, Duration::from_secs(10)).expect("watermarks").1)
            .collect()
    })
    .await
    .expect("watermark thread")
}

/// The group's committed offset of each partition of `task-events` (0 where none).
async fn committed_offsets(stack: &Stack) -> Vec<i64> {
    let stack = stack.clone();
    tokio::task::spawn_blocking(move || {
        let (consumer, tpl) = group_client(&stack.group, &stack.task_events, None);
        let committed = consumer.committed_offsets(tpl, Duration::from_secs(10)).expect("committed offsets");
        (0..PARTITIONS)
            .map(|p| {
                committed.find_partition(&stack.task_events, p).and_then(|e| e.offset().to_raw()).unwrap_or(0).max(0)
            })
            .collect()
    })
    .await
    .expect("offset thread")
}

/// The group's committed offsets on `task-events`, summed.
pub(crate) async fn committed_total(stack: &Stack) -> i64 {
    committed_offsets(stack).await.iter().sum()
}

/// Waits until every event task-api has committed so far is published and handled by the
/// group (its offset committed): the barrier before asserting that something did *not*
/// happen. Events the handling itself causes (a successor's `task.created`) may follow; the
/// consumer ignores those.
pub(crate) async fn wait_until_consumed(stack: &Stack, api: &TaskApi) {
    eventually("task-api published every event", || async { api.unpublished().await == 0 }).await;
    let published = high_watermarks(stack).await;
    eventually("the consumer group handled every published event", || async {
        committed_offsets(stack).await.iter().zip(&published).all(|(committed, high)| committed >= high)
    })
    .await;
}

/// Commits offset 0 on every partition of `task-events` for the group (which must have no
/// members), as `kafka-consumer-groups --reset-offsets --to-earliest` does.
pub(crate) async fn reset_offsets_to_beginning(stack: &Stack) {
    let stack = stack.clone();
    tokio::task::spawn_blocking(move || {
        let (consumer, tpl) = group_client(&stack.group, &stack.task_events, Some(Offset::Offset(0)));
        consumer.commit(&tpl, CommitMode::Sync).expect("commit offsets");
    })
    .await
    .expect("reset thread");
}

pub(crate) fn producer() -> Producer {
    Producer::new(
        &kafka(),
        &ProducerSettings { message_timeout_ms: 15_000, ..Default::default() },
        "recurring-task-tests",
        Health::new(),
    )
    .expect("producer")
}

pub(crate) async fn produce(producer: &Producer, topic: &str, key: &str, value: &[u8]) {
    producer
        .send(OutboundRecord { topic, key: Some(key.as_bytes()), payload: value, headers: vec![] })
        .await
        .expect("produce");
}

//! Caught-up reports: which assigned partitions have every record handled, up to the end the
//! broker reports, and since when ([`CaughtUp`], [`crate::consumer::Handler::caught_up`]).
//!
//! A consumer's offsets say what it handled, not whether anything is still waiting. A service
//! that must not act while an event may still be unconsumed (the notification service holds a
//! reminder while a cancellation may be on the topic) needs the other half: "at instant T,
//! nothing was left". When `consumer.caught_up_interval_ms` > 0, the poll loop checks, every
//! interval, each assigned partition with nothing queued or in flight:
//!
//! 1. its handled position: librdkafka's application position (the offset after the last
//!    record handed to the runtime; every one of them has been handled, since nothing is
//!    queued), or, before any record arrived since the assignment, the group's committed
//!    offset (committed offsets are stored only after success);
//! 2. then `checked_at` (now), then the partition's end from the broker (ListOffsets: the
//!    high watermark).
//!
//! If the handled position is at or past that end, every record the partition held at
//! `checked_at` (earlier than the question reached the broker) has been handled, and the
//! handler is told. Each partition is checked on its own task (one that waits, on a lock
//! say, holds back no other partition), never twice at once; a failed one is logged and the next interval tries
//! again. Limits: the instant is the consumer host's clock; "handled" means the handler
//! returned `Ok` (or dead-lettered the record).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rdkafka::Offset;
use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaResult;
use rdkafka::topic_partition_list::TopicPartitionList;

use super::context::TopicPartition;
use super::partition::Shared;
use super::runtime::Kafka;
use crate::consumer::Handler;

/// A partition whose records the handler has all handled, as of an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaughtUp {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The partition's end (high watermark) the broker reported: every record below this
    /// offset has been handled.
    pub end_offset: i64,
    /// Read before the broker was asked for the end: every record the partition held at this
    /// instant has been handled.
    pub checked_at: DateTime<Utc>,
}

/// A partition to check: its handled position, `None` when no record has arrived since the
/// assignment (the committed offset is asked for then).
pub(super) type Candidate = (TopicPartition, Option<i64>);

/// Checks one partition and reports it to the handler if it is caught up.
pub(super) async fn check<H: Handler>(
    consumer: Arc<Kafka>,
    shared: Arc<Shared<H>>,
    (topic, partition): TopicPartition,
    position: Option<i64>,
    timeout: Duration,
) {
    let checked_at = Utc::now();
    let asked = {
        let consumer = consumer.clone();
        let topic = topic.clone();
        // Both calls block on a network round trip: off the async threads.
        tokio::task::spawn_blocking(move || handled_and_end(&consumer, &topic, partition, position, timeout)).await
    };
    let (handled, end) = match asked {
        Ok(Ok(pair)) => pair,
        Ok(Err(error)) => {
            return tracing::debug!(%topic, partition, error = %error, "caught-up check failed; next interval retries");
        }
        Err(error) => return tracing::warn!(%topic, partition, error = %error, "caught-up check panicked"),
    };
    if handled < end {
        return;
    }
    let report = CaughtUp { topic, partition, end_offset: end, checked_at };
    if let Err(error) = shared.handler.caught_up(&report).await {
        tracing::warn!(topic = %report.topic, partition, error = %error.reason(), "recording a caught-up report failed");
    }
}

/// The handled position (the committed offset if `position` is `None`; the partition's start
/// if nothing is committed) and the partition's end.
fn handled_and_end(
    consumer: &Kafka,
    topic: &str,
    partition: i32,
    position: Option<i64>,
    timeout: Duration,
) -> KafkaResult<(i64, i64)> {
    let handled = match position {
        Some(position) => Some(position),
        None => {
            let mut tpl = TopicPartitionList::with_capacity(1);
            tpl.add_partition(topic, partition);
            let committed = consumer.committed_offsets(tpl, timeout)?;
            committed.find_partition(topic, partition).and_then(|e| match e.offset() {
                Offset::Offset(offset) => Some(offset),
                _ => None,
            })
        }
    };
    let (low, high) = consumer.fetch_watermarks(topic, partition, timeout)?;
    // Nothing committed: the group starts at the partition's start, so only an empty
    // partition is caught up.
    Ok((handled.unwrap_or(low), high))
}

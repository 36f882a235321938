//! The topic catalogue: names, keys, default partitions and retention, consumer groups, and
//! the dead-letter topics with the headers the consumer runtime puts on dead letters.
//!
//! Partition counts and retention here are defaults; operators override them in each
//! service's settings (`topics.*`) or, on Kubernetes, in the Strimzi `KafkaTopic` resources.

use serde::Serialize;

/// Every task change (`task.*`). Key: task id.
pub const TASK_EVENTS: &str = "task-events";
/// Reminder scheduling and delivery (`reminder.*`). Key: task id.
pub const REMINDERS: &str = "reminders";

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A topic's place in the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TopicSpec {
    /// Topic name.
    pub name: &'static str,
    /// What the record key is.
    pub key: &'static str,
    /// Default number of partitions.
    pub partitions: i32,
    /// Default retention (`retention.ms`).
    pub retention_ms: i64,
    /// What flows on it.
    pub description: &'static str,
}

/// The event topics.
pub const EVENT_TOPICS: [TopicSpec; 2] = [
    TopicSpec {
        name: TASK_EVENTS,
        key: "task id",
        partitions: 6,
        retention_ms: 7 * DAY_MS,
        description: "Every change of a task, in per-task order (task.*).",
    },
    TopicSpec {
        name: REMINDERS,
        key: "task id",
        partitions: 3,
        retention_ms: 7 * DAY_MS,
        description: "Reminder scheduling and delivery (reminder.*).",
    },
];

/// Default partitions of a dead-letter topic: dead letters are rare, and one partition keeps
/// them in the order they failed.
pub const DEAD_LETTER_PARTITIONS: i32 = 1;
/// Default retention of a dead-letter topic: long enough to notice, investigate and replay.
pub const DEAD_LETTER_RETENTION_MS: i64 = 30 * DAY_MS;

/// The dead-letter topic of a consumer group: `<group>.dlq`.
pub fn dead_letter_topic(group_id: &str) -> String {
    format!("{group_id}.dlq")
}

/// A consumer group of the system and what it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ConsumerGroup {
    /// Default group id (configurable per deployment).
    pub group_id: &'static str,
    /// The service that runs it.
    pub service: &'static str,
    /// Topics it consumes.
    pub topics: &'static [&'static str],
}

/// The consumer groups of the system; each has its own dead-letter topic.
pub const CONSUMER_GROUPS: [ConsumerGroup; 3] = [
    ConsumerGroup { group_id: "notification", service: "notification", topics: &[REMINDERS] },
    ConsumerGroup { group_id: "recurring-task", service: "recurring-task", topics: &[TASK_EVENTS] },
    ConsumerGroup { group_id: "audit", service: "audit", topics: &[TASK_EVENTS, REMINDERS] },
];

/// Headers the consumer runtime adds to a dead letter. The original key, value and headers are
/// kept unchanged beside them.
pub mod dead_letter_headers {
    /// Human-readable reason the message could not be processed.
    pub const ERROR: &str = "dlq.error";
    /// The failure class: always `permanent` today.
    pub const ERROR_KIND: &str = "dlq.error.kind";
    /// Topic the message was read from.
    pub const ORIGINAL_TOPIC: &str = "dlq.original.topic";
    /// Partition it was read from (decimal).
    pub const ORIGINAL_PARTITION: &str = "dlq.original.partition";
    /// Offset it was read from (decimal).
    pub const ORIGINAL_OFFSET: &str = "dlq.original.offset";
    /// The consumer group that gave up on it.
    pub const GROUP: &str = "dlq.group";
    /// How many times the handler was called for it (decimal).
    pub const ATTEMPTS: &str = "dlq.attempts";
    /// When it was dead-lettered (RFC 3339, UTC).
    pub const FAILED_AT: &str = "dlq.failed_at";

    /// Present only when the original value did not fit in a dead letter (the dead letter adds
    /// these headers to a record that may already be near the size limit): the original value's
    /// size in bytes (decimal). The dead letter's value is then the original's first bytes.
    pub const TRUNCATED: &str = "dlq.truncated";

    /// Not on a dead letter but on a record replayed from one (`<service> dlq replay`): the dead
    /// letter it came from, `<dead-letter topic>/<partition>/<offset>`. Kept, like any original
    /// header, if the replayed record is dead-lettered again; dropped when that one is replayed.
    pub const REPLAYED_FROM: &str = "dlq.replayed_from";

    /// All of them, in the order above, but for the optional [`TRUNCATED`].
    pub const ALL: [&str; 8] =
        [ERROR, ERROR_KIND, ORIGINAL_TOPIC, ORIGINAL_PARTITION, ORIGINAL_OFFSET, GROUP, ATTEMPTS, FAILED_AT];
}

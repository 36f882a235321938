//! Dead letters after the fact: list what a consumer group gave up on, and put chosen records
//! back on their original topic once the cause is fixed. Every service binary offers these as
//! `<service> dlq list` and `<service> dlq replay` ([`command`]).
//!
//! # Layout
//! - [`DeadLetter`]: one record of a dead-letter topic, and what its `dlq.*` headers say.
//! - `read`: reading a dead-letter topic from its start to its end, without a consumer group
//!   (nothing is committed; the group's own offsets are never touched).
//! - `replay`: producing a dead letter's key, value and original headers back to its original
//!   topic, with `dlq.replayed_from` naming the dead letter.
//! - [`command`]: the `dlq` subcommands: arguments, filters, output.
//!
//! Replaying is safe to repeat: every consumer is idempotent (it recognises an event it has
//! already applied by its id), so a record replayed twice changes nothing the second time. A
//! replayed record that fails again is dead-lettered again by the consumer, like any other
//! record, with `dlq.replayed_from` among its original headers: nothing replays it by itself.

pub mod command;
mod read;
mod replay;

use chrono::{DateTime, Utc};
use event_schema::topics::dead_letter_headers as h;

pub use self::read::read_all;
pub use self::replay::{REPLAYED_FROM, ReplayError, Replayed, replay};

/// One record of a dead-letter topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The dead-letter topic it was read from.
    pub topic: String,
    /// Its partition there.
    pub partition: i32,
    /// Its offset there.
    pub offset: i64,
    /// The original key.
    pub key: Option<Vec<u8>>,
    /// The original value (`None`: a null value).
    pub value: Option<Vec<u8>>,
    /// Every header, the original ones first, then the `dlq.*` ones the consumer added.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl DeadLetter {
    /// A header's value as text (lossy), the last one if it occurs more than once.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .and_then(|(_, value)| value.as_deref())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// Why the consumer gave up (`dlq.error`).
    pub fn reason(&self) -> Option<String> {
        self.header(h::ERROR)
    }

    /// The topic it was read from before (`dlq.original.topic`).
    pub fn original_topic(&self) -> Option<String> {
        self.header(h::ORIGINAL_TOPIC)
    }

    /// Its partition there.
    pub fn original_partition(&self) -> Option<i32> {
        self.header(h::ORIGINAL_PARTITION)?.parse().ok()
    }

    /// Its offset there.
    pub fn original_offset(&self) -> Option<i64> {
        self.header(h::ORIGINAL_OFFSET)?.parse().ok()
    }

    /// When it was dead-lettered (`dlq.failed_at`).
    pub fn failed_at(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.header(h::FAILED_AT)?).ok().map(|t| t.to_utc())
    }

    /// How many times the handler was called for it.
    pub fn attempts(&self) -> Option<u32> {
        self.header(h::ATTEMPTS)?.parse().ok()
    }

    /// Whether its value was cut to fit the dead-letter topic (`dlq.truncated`): it is then
    /// not the original and cannot be replayed.
    pub fn truncated(&self) -> bool {
        self.headers.iter().any(|(key, _)| key == h::TRUNCATED)
    }

    /// `topic/partition/offset` of the dead letter itself: what `dlq.replayed_from` says.
    pub fn coordinates(&self) -> String {
        format!("{}/{}/{}", self.topic, self.partition, self.offset)
    }

    /// The headers to replay: the original ones, without any `dlq.*` header (those described
    /// this dead letter, or an earlier one).
    pub fn original_headers(&self) -> impl Iterator<Item = &(String, Option<Vec<u8>>)> {
        self.headers.iter().filter(|(key, _)| !key.starts_with("dlq."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(headers: &[(&str, &str)]) -> DeadLetter {
        DeadLetter {
            topic: "audit.dlq".into(),
            partition: 0,
            offset: 7,
            key: Some(b"task-1".to_vec()),
            value: Some(b"{}".to_vec()),
            headers: headers.iter().map(|(k, v)| ((*k).to_owned(), Some(v.as_bytes().to_vec()))).collect(),
        }
    }

    #[test]
    fn a_dead_letter_reads_its_reason_origin_and_time_from_its_headers() {
        let letter = letter(&[
            ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            (h::ERROR, "invalid data"),
            (h::ORIGINAL_TOPIC, "task-events"),
            (h::ORIGINAL_PARTITION, "4"),
            (h::ORIGINAL_OFFSET, "1200"),
            (h::ATTEMPTS, "3"),
            (h::FAILED_AT, "2026-12-01T10:00:00.000Z"),
        ]);

        assert_eq!(letter.reason().as_deref(), Some("invalid data"));
        assert_eq!(letter.original_topic().as_deref(), Some("task-events"));
        assert_eq!((letter.original_partition(), letter.original_offset()), (Some(4), Some(1200)));
        assert_eq!(letter.attempts(), Some(3));
        assert_eq!(letter.failed_at().map(|t| t.to_rfc3339()), Some("2026-12-01T10:00:00+00:00".into()));
        assert_eq!(letter.coordinates(), "audit.dlq/0/7");
        assert!(!letter.truncated());
    }

    #[test]
    fn only_the_original_headers_are_replayed() {
        let letter = letter(&[
            ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            (REPLAYED_FROM, "audit.dlq/0/3"),
            (h::ERROR, "invalid data"),
            (h::TRUNCATED, "1000"),
        ]);

        let kept: Vec<&str> = letter.original_headers().map(|(k, _)| k.as_str()).collect();

        assert_eq!(kept, ["traceparent"]);
        assert!(letter.truncated());
    }
}

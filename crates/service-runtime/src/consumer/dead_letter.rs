//! Building the dead-letter record: the original key, value and headers, plus headers that
//! say why and where from (names in [`event_schema::topics::dead_letter_headers`]).

use chrono::{SecondsFormat, Utc};
use event_schema::topics::dead_letter_headers as h;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use crate::consumer::InboundMessage;

/// The dead-letter headers for `message`, after the original headers.
pub(crate) fn headers(message: &InboundMessage, group: &str, reason: &str, attempts: u32) -> Vec<(String, Vec<u8>)> {
    vec![
        (h::ERROR.into(), reason.as_bytes().to_vec()),
        (h::ERROR_KIND.into(), b"permanent".to_vec()),
        (h::ORIGINAL_TOPIC.into(), message.topic.as_bytes().to_vec()),
        (h::ORIGINAL_PARTITION.into(), message.partition.to_string().into_bytes()),
        (h::ORIGINAL_OFFSET.into(), message.offset.to_string().into_bytes()),
        (h::GROUP.into(), group.as_bytes().to_vec()),
        (h::ATTEMPTS.into(), attempts.to_string().into_bytes()),
        (h::FAILED_AT.into(), Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true).into_bytes()),
    ]
}

/// Whether the record was refused for its size (librdkafka's `message.max.bytes`, or the
/// broker's or topic's `max.message.bytes`): sent again as it is, it can never succeed, so it
/// must be made smaller instead of retried. Every other producer error (broker down, topic
/// missing, not authorised) can be mended by time or an operator and is retried.
pub(crate) fn too_large(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::MessageSizeTooLarge | RDKafkaErrorCode::InvalidMessageSize)
    )
}

/// How much of the original value the next try keeps, after a try with `kept` bytes was too
/// large: half, so a value of any size fits after a few tries whatever the limit is.
pub(crate) fn shrink(kept: usize) -> usize {
    kept / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_letter_headers_name_error_origin_group_and_attempts() {
        let message = InboundMessage::with_payload("task-events", 2, 41, "garbage");
        let headers = headers(&message, "audit", "not a CloudEvents JSON envelope", 1);
        let get =
            |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| String::from_utf8_lossy(v).into_owned());
        assert_eq!(get(h::ERROR).as_deref(), Some("not a CloudEvents JSON envelope"));
        assert_eq!(get(h::ORIGINAL_TOPIC).as_deref(), Some("task-events"));
        assert_eq!(get(h::ORIGINAL_PARTITION).as_deref(), Some("2"));
        assert_eq!(get(h::ORIGINAL_OFFSET).as_deref(), Some("41"));
        assert_eq!(get(h::GROUP).as_deref(), Some("audit"));
        assert_eq!(get(h::ATTEMPTS).as_deref(), Some("1"));
        assert!(get(h::FAILED_AT).is_some_and(|t| t.ends_with('Z')));
        assert_eq!(headers.len(), h::ALL.len());
    }

    #[test]
    fn only_size_errors_count_as_too_large() {
        let size = KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge);
        let broker_down = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        let no_topic = KafkaError::MessageProduction(RDKafkaErrorCode::UnknownTopicOrPartition);

        assert!(too_large(&size));
        assert!(!too_large(&broker_down));
        assert!(!too_large(&no_topic));
        assert_eq!(shrink(999_800), 499_900);
        assert_eq!(shrink(1), 0);
    }
}

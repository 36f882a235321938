//! Building the dead-letter record: the original key, value and headers, plus headers that
//! say why and where from (names in [`event_schema::topics::dead_letter_headers`]).

use chrono::{SecondsFormat, Utc};
use event_schema::topics::dead_letter_headers as h;

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
}

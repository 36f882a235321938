//! Tolerant decoding: every well-formed envelope decodes, whatever its type or version.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::envelope::{EventMetadata, SPEC_VERSION};
use crate::payloads::*;
use crate::types::{EventType, parse_dataschema};

/// A decoded event: its envelope attributes and its payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The envelope attributes.
    pub meta: EventMetadata,
    /// The payload, typed when the contract knows the type and version.
    pub data: EventData,
}

/// The payload of a decoded event.
#[derive(Debug, Clone, PartialEq)]
pub enum EventData {
    /// `task.created` v1.
    TaskCreated(TaskCreated),
    /// `task.updated` v1.
    TaskUpdated(TaskUpdated),
    /// `task.completed` v1.
    TaskCompleted(TaskCompleted),
    /// `task.reopened` v1.
    TaskReopened(TaskReopened),
    /// `task.deleted` v1.
    TaskDeleted(TaskDeleted),
    /// `reminder.scheduled` v1.
    ReminderScheduled(ReminderScheduled),
    /// `reminder.cancelled` v1.
    ReminderCancelled(ReminderCancelled),
    /// `reminder.sent` v1.
    ReminderSent(ReminderSent),
    /// A type, or a version of a known type, that this build does not know. The raw payload is
    /// kept so that a consumer may store or forward it.
    Unknown(UnknownEvent),
}

/// An event whose type or version is not known to this build.
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownEvent {
    /// The `type` attribute.
    pub event_type: String,
    /// The version from `dataschema`, when it has the contract's form.
    pub version: Option<u32>,
    /// The raw `data`.
    pub data: serde_json::Value,
}

impl EventData {
    /// The known event type, or `None` for [`EventData::Unknown`].
    pub fn event_type(&self) -> Option<EventType> {
        Some(match self {
            EventData::TaskCreated(_) => EventType::TaskCreated,
            EventData::TaskUpdated(_) => EventType::TaskUpdated,
            EventData::TaskCompleted(_) => EventType::TaskCompleted,
            EventData::TaskReopened(_) => EventType::TaskReopened,
            EventData::TaskDeleted(_) => EventType::TaskDeleted,
            EventData::ReminderScheduled(_) => EventType::ReminderScheduled,
            EventData::ReminderCancelled(_) => EventType::ReminderCancelled,
            EventData::ReminderSent(_) => EventType::ReminderSent,
            EventData::Unknown(_) => return None,
        })
    }
}

/// Why a record could not be decoded. Every variant is permanent: redelivering the same bytes
/// cannot succeed, so consumers dead-letter them.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The record has no value (a tombstone or an empty record).
    #[error("the record has no value")]
    Empty,
    /// The value is not a JSON CloudEvent envelope (bad JSON or a missing attribute).
    #[error("not a CloudEvents JSON envelope: {0}")]
    NotAnEnvelope(#[source] serde_json::Error),
    /// The envelope has a `specversion` other than 1.0.
    #[error("unsupported CloudEvents specversion {0:?} (expected \"1.0\")")]
    UnsupportedSpecVersion(String),
    /// The type and version are known but `data` does not match their schema.
    #[error("invalid data for {event_type} v{version}: {source}")]
    InvalidData {
        /// The event type.
        event_type: EventType,
        /// The schema version.
        version: u32,
        /// What did not match.
        #[source]
        source: serde_json::Error,
    },
}

#[derive(Deserialize)]
struct RawEnvelope {
    #[serde(flatten)]
    meta: EventMetadata,
    #[serde(default)]
    data: serde_json::Value,
}

/// Decodes a record value. Unknown fields are ignored; an unknown type or version decodes to
/// [`EventData::Unknown`]; only a value that is not a valid envelope, or known-typed data that
/// does not match its schema, is an error.
pub fn decode(value: &[u8]) -> Result<Event, DecodeError> {
    if value.is_empty() {
        return Err(DecodeError::Empty);
    }
    let raw: RawEnvelope = serde_json::from_slice(value).map_err(DecodeError::NotAnEnvelope)?;
    if raw.meta.specversion != SPEC_VERSION {
        return Err(DecodeError::UnsupportedSpecVersion(raw.meta.specversion));
    }
    let version = parse_dataschema(&raw.meta.dataschema).filter(|(t, _)| *t == raw.meta.event_type).map(|(_, v)| v);
    let known = EventType::parse(&raw.meta.event_type).filter(|t| Some(t.version()) == version);
    let Some(event_type) = known else {
        let data =
            EventData::Unknown(UnknownEvent { event_type: raw.meta.event_type.clone(), version, data: raw.data });
        return Ok(Event { meta: raw.meta, data });
    };
    let data = typed(event_type, raw.data).map_err(|source| DecodeError::InvalidData {
        event_type,
        version: event_type.version(),
        source,
    })?;
    Ok(Event { meta: raw.meta, data })
}

fn typed(event_type: EventType, data: serde_json::Value) -> Result<EventData, serde_json::Error> {
    fn de<T: DeserializeOwned>(v: serde_json::Value) -> Result<T, serde_json::Error> {
        serde_json::from_value(v)
    }
    Ok(match event_type {
        EventType::TaskCreated => EventData::TaskCreated(de(data)?),
        EventType::TaskUpdated => EventData::TaskUpdated(de(data)?),
        EventType::TaskCompleted => EventData::TaskCompleted(de(data)?),
        EventType::TaskReopened => EventData::TaskReopened(de(data)?),
        EventType::TaskDeleted => EventData::TaskDeleted(de(data)?),
        EventType::ReminderScheduled => EventData::ReminderScheduled(de(data)?),
        EventType::ReminderCancelled => EventData::ReminderCancelled(de(data)?),
        EventType::ReminderSent => EventData::ReminderSent(de(data)?),
    })
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use uuid::Uuid;

    use super::*;
    use crate::envelope::Envelope;

    fn sent() -> Envelope<ReminderSent> {
        let task_id = Uuid::now_v7();
        Envelope::new(
            "/taskstream/notification",
            task_id.to_string(),
            "alice",
            3,
            ReminderSent {
                reminder_id: Uuid::now_v7(),
                task_id,
                remind_at: Utc::now(),
                sent_at: Utc::now(),
                channels: vec!["email".into()],
            },
        )
    }

    fn json(envelope: &Envelope<ReminderSent>) -> serde_json::Value {
        serde_json::to_value(envelope).expect("serialisable")
    }

    #[test]
    fn a_known_event_decodes_to_its_typed_payload() {
        let envelope = sent();
        let event = decode(&envelope.to_json().expect("serialisable")).expect("decodes");
        assert_eq!(event.meta, envelope.meta);
        assert_eq!(event.data, EventData::ReminderSent(envelope.data));
    }

    #[test]
    fn unknown_fields_in_envelope_and_data_are_ignored() {
        let mut value = json(&sent());
        value["newextension"] = "x".into();
        value["data"]["new_field"] = 42.into();
        let event = decode(value.to_string().as_bytes()).expect("decodes");
        assert_eq!(event.data.event_type(), Some(EventType::ReminderSent));
    }

    #[test]
    fn an_unknown_type_decodes_to_unknown_with_its_raw_data() {
        let mut value = json(&sent());
        value["type"] = "task.archived".into();
        value["dataschema"] = "urn:taskstream:schema:task.archived:v1".into();
        let event = decode(value.to_string().as_bytes()).expect("decodes");
        let EventData::Unknown(unknown) = event.data else { panic!("expected unknown") };
        assert_eq!(unknown.event_type, "task.archived");
        assert_eq!(unknown.version, Some(1));
        assert_eq!(unknown.data["channels"][0], "email");
    }

    #[test]
    fn a_future_version_of_a_known_type_decodes_to_unknown() {
        let mut value = json(&sent());
        value["dataschema"] = "urn:taskstream:schema:reminder.sent:v2".into();
        value["data"] = serde_json::json!({"completely": "different"});
        let event = decode(value.to_string().as_bytes()).expect("decodes");
        assert!(matches!(event.data, EventData::Unknown(UnknownEvent { version: Some(2), .. })));
    }

    #[test]
    fn known_type_with_invalid_data_is_an_error_naming_the_type() {
        let mut value = json(&sent());
        value["data"]["channels"] = "not-a-list".into();
        let err = decode(value.to_string().as_bytes()).expect_err("invalid");
        assert!(err.to_string().contains("reminder.sent v1"), "{err}");
    }

    #[test]
    fn garbage_empty_and_wrong_specversion_are_errors_not_panics() {
        assert!(matches!(decode(b"{not json"), Err(DecodeError::NotAnEnvelope(_))));
        assert!(matches!(decode(b""), Err(DecodeError::Empty)));
        assert!(matches!(decode(b"[1,2]"), Err(DecodeError::NotAnEnvelope(_))));
        let mut value = json(&sent());
        value["specversion"] = "0.3".into();
        assert!(matches!(
            decode(value.to_string().as_bytes()),
            Err(DecodeError::UnsupportedSpecVersion(v)) if v == "0.3"
        ));
    }
}

//! The CloudEvents 1.0 envelope in structured JSON mode.

use chrono::{DateTime, SubsecRound, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::types::EventPayload;

/// The Kafka `content-type` header of every taskstream record (CloudEvents structured mode).
pub const CONTENT_TYPE: &str = "application/cloudevents+json";
/// The only CloudEvents version this contract speaks.
pub const SPEC_VERSION: &str = "1.0";
/// The media type of `data`.
pub const DATA_CONTENT_TYPE: &str = "application/json";

/// Every envelope attribute except `data`.
///
/// Extensions (lower-case, as CloudEvents requires): `userid`, `actor`, `traceparent`,
/// `correlationid`, `causationid`, `sequence`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EventMetadata {
    /// Always `1.0`.
    pub specversion: String,
    /// Unique per event (UUIDv7, so ids sort by creation time). Consumers de-duplicate on it.
    pub id: Uuid,
    /// The producing service, as a URI reference, e.g. `/taskstream/task-api`.
    pub source: String,
    /// The event type, e.g. `task.created`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The task id the event is about (also the Kafka record key).
    pub subject: String,
    /// When the change happened (RFC 3339, UTC).
    #[serde(deserialize_with = "crate::checked::instant")]
    pub time: DateTime<Utc>,
    /// Always `application/json`.
    pub datacontenttype: String,
    /// Names the payload schema and its version: `urn:taskstream:schema:<type>:v<N>`.
    pub dataschema: String,
    /// The user who owns the task.
    pub userid: String,
    /// Who caused the change when it was not the owner (a service identity such as
    /// `service:recurring-task`); absent when the owner did it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// W3C trace context of the request that caused the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// Groups every event caused by one user action (for example the request id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlationid: Option<String>,
    /// The id of the event that caused this one, when an event caused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causationid: Option<String>,
    /// The task's version after the change: increases by one per change of a task, so a
    /// consumer can recognise a stale or repeated event. A JSON integer within CloudEvents'
    /// 32-bit Integer range. Reminder events carry the version of the task change that
    /// caused them (`reminder.sent`: the version of the scheduling change).
    #[schemars(range(min = 1, max = 2147483647))]
    #[serde(deserialize_with = "crate::checked::sequence")]
    pub sequence: i64,
}

impl EventMetadata {
    /// Metadata for a new event of payload type `P`, with a fresh UUIDv7 id and the current time
    /// (truncated to microseconds, the precision databases keep).
    pub fn new<P: EventPayload>(
        source: impl Into<String>,
        subject: impl Into<String>,
        userid: impl Into<String>,
        sequence: i64,
    ) -> Self {
        Self {
            specversion: SPEC_VERSION.to_owned(),
            id: Uuid::now_v7(),
            source: source.into(),
            event_type: P::TYPE.as_str().to_owned(),
            subject: subject.into(),
            time: Utc::now().trunc_subsecs(6),
            datacontenttype: DATA_CONTENT_TYPE.to_owned(),
            dataschema: P::TYPE.dataschema(),
            userid: userid.into(),
            actor: None,
            traceparent: None,
            correlationid: None,
            causationid: None,
            sequence,
        }
    }
}

/// A CloudEvent with typed `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Envelope<T> {
    /// The envelope attributes.
    #[serde(flatten)]
    pub meta: EventMetadata,
    /// The event payload.
    pub data: T,
}

impl<T: EventPayload> Envelope<T> {
    /// A new event carrying `data`; see [`EventMetadata::new`].
    pub fn new(
        source: impl Into<String>,
        subject: impl Into<String>,
        userid: impl Into<String>,
        sequence: i64,
        data: T,
    ) -> Self {
        Self { meta: EventMetadata::new::<T>(source, subject, userid, sequence), data }
    }

    /// Serialises the envelope as the Kafka record value.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

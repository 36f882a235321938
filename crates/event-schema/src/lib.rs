//! The taskstream event contract, shared by every service: pure data, no I/O clients.
//!
//! Events travel as [CloudEvents 1.0](https://github.com/cloudevents/spec) in structured JSON
//! mode: the Kafka record value is the whole envelope and the record carries the header
//! `content-type: application/cloudevents+json`. The record key is the task id.
//!
//! # Layout
//! - [`envelope`]: the CloudEvents envelope ([`Envelope`], [`EventMetadata`]) and its extensions.
//! - [`types`]: the event type catalogue ([`EventType`]), with each type's topic and version.
//! - [`task`]: the task snapshot carried by `task.*` events.
//! - [`payloads`]: the typed `data` of every event type.
//! - [`decode`]: tolerant decoding of a record into an [`Event`] (unknown types never panic).
//! - [`topics`]: the topic catalogue, consumer groups, dead-letter topics and their headers.
//! - [`checked`]: what decoding refuses beyond the types (the schemas' ranges and formats).
//! - [`contract`]: generation of the machine-readable files in `contracts/`.
//!
//! # Versioning
//! Each event type has a schema version, carried in `dataschema`
//! (`urn:taskstream:schema:task.created:v1`). Within a version, producers may only *add*
//! optional fields; consumers ignore fields they do not know. Anything else (removing or
//! renaming a field, changing a type or an enum's values) is a new version: see
//! `docs/event-contract.md` for the steps.

pub mod checked;
pub mod contract;
pub mod decode;
pub mod envelope;
pub mod payloads;
pub mod task;
pub mod topics;
pub mod types;

pub use decode::{DecodeError, Event, EventData, UnknownEvent, decode};
pub use envelope::{CONTENT_TYPE, Envelope, EventMetadata};
pub use payloads::*;
pub use task::{Priority, Recurrence, RecurrenceAnchor, ReminderRule, SeriesPosition, TaskSnapshot, TaskStatus};
pub use types::{EventPayload, EventType};

//! The event type catalogue.

use std::fmt;

use schemars::JsonSchema;
use serde::{Serialize, de::DeserializeOwned};

use crate::topics;

/// Every event type of the contract, at its current version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// A task was created.
    TaskCreated,
    /// A task's fields changed.
    TaskUpdated,
    /// A task was completed.
    TaskCompleted,
    /// A completed task was opened again.
    TaskReopened,
    /// A task was deleted.
    TaskDeleted,
    /// A reminder instant was scheduled (or moved: the old one is cancelled first).
    ReminderScheduled,
    /// A scheduled reminder will not fire.
    ReminderCancelled,
    /// A reminder was delivered to the user's channels.
    ReminderSent,
}

impl EventType {
    /// All event types, in catalogue order.
    pub const ALL: [EventType; 8] = [
        EventType::TaskCreated,
        EventType::TaskUpdated,
        EventType::TaskCompleted,
        EventType::TaskReopened,
        EventType::TaskDeleted,
        EventType::ReminderScheduled,
        EventType::ReminderCancelled,
        EventType::ReminderSent,
    ];

    /// The CloudEvents `type` attribute.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::TaskCreated => "task.created",
            EventType::TaskUpdated => "task.updated",
            EventType::TaskCompleted => "task.completed",
            EventType::TaskReopened => "task.reopened",
            EventType::TaskDeleted => "task.deleted",
            EventType::ReminderScheduled => "reminder.scheduled",
            EventType::ReminderCancelled => "reminder.cancelled",
            EventType::ReminderSent => "reminder.sent",
        }
    }

    /// The type named by a CloudEvents `type` attribute, if the contract knows it.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == value)
    }

    /// The schema version producers currently emit.
    pub const fn version(self) -> u32 {
        1
    }

    /// The topic the event type is published on.
    pub const fn topic(self) -> &'static str {
        match self {
            EventType::TaskCreated
            | EventType::TaskUpdated
            | EventType::TaskCompleted
            | EventType::TaskReopened
            | EventType::TaskDeleted => topics::TASK_EVENTS,
            EventType::ReminderScheduled | EventType::ReminderCancelled | EventType::ReminderSent => topics::REMINDERS,
        }
    }

    /// The `dataschema` URI of the current version.
    pub fn dataschema(self) -> String {
        dataschema_uri(self.as_str(), self.version())
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `dataschema` URI for an event type and version.
pub fn dataschema_uri(event_type: &str, version: u32) -> String {
    format!("urn:taskstream:schema:{event_type}:v{version}")
}

/// The (type, version) named by a `dataschema` URI, if it has the contract's form.
pub fn parse_dataschema(uri: &str) -> Option<(&str, u32)> {
    let rest = uri.strip_prefix("urn:taskstream:schema:")?;
    let (event_type, version) = rest.rsplit_once(":v")?;
    Some((event_type, version.parse().ok()?))
}

/// A payload type of the contract: ties the Rust type to its event type.
pub trait EventPayload: Serialize + DeserializeOwned + JsonSchema {
    /// The event type this payload belongs to.
    const TYPE: EventType;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_its_name() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(EventType::parse("task.archived"), None);
    }

    #[test]
    fn dataschema_names_type_and_version() {
        let uri = EventType::TaskCreated.dataschema();
        assert_eq!(uri, "urn:taskstream:schema:task.created:v1");
        assert_eq!(parse_dataschema(&uri), Some(("task.created", 1)));
        assert_eq!(parse_dataschema("urn:taskstream:schema:task.created:v12"), Some(("task.created", 12)));
        assert_eq!(parse_dataschema("https://example.com/schema.json"), None);
        assert_eq!(parse_dataschema("urn:taskstream:schema:task.created:vX"), None);
    }

    #[test]
    fn task_events_and_reminders_go_to_their_topics() {
        assert_eq!(EventType::TaskDeleted.topic(), "task-events");
        assert_eq!(EventType::ReminderSent.topic(), "reminders");
    }
}

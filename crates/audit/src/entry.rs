//! A consumed record → the audit entry it becomes ([`NewEntry`]), before the chain fields are
//! assigned. Pure: no I/O.
//!
//! - Any well-formed CloudEvents envelope is recorded, whatever its type: a type (or version)
//!   this build does not know is kept with its raw `data` and flagged (`known_type = false`).
//! - A record that is not an envelope, or whose known type's `data` does not match the
//!   contract, is refused ([`EntryError`]) and dead-lettered by the runtime.
//! - What the databases cannot store (a NUL character, an attribute too long for an index, a
//!   time outside the years 1–9999) is refused up front and dead-lettered, rather than retried
//!   for ever.

use chrono::{DateTime, SubsecRound as _, Utc};
use event_schema::{EventData, FieldChange};
use serde::{Deserialize, Serialize};
use service_runtime::consumer::InboundMessage;
use uuid::Uuid;

/// One changed field: its value before and after the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The field's JSON name, e.g. `title`.
    pub field: String,
    /// Its value before (`null` when unset).
    pub before: serde_json::Value,
    /// Its value after (`null` when unset).
    pub after: serde_json::Value,
}

/// Where a record was read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcePosition {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
}

/// An event as the audit trail records it, before it is placed in its user's chain.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    /// The CloudEvents `id`: one entry per event.
    pub event_id: Uuid,
    /// The CloudEvents `type`.
    pub event_type: String,
    /// Whether this build knows the type and version (else `payload` is kept raw, unchecked).
    pub known_type: bool,
    /// The CloudEvents `subject`: the task id.
    pub subject: String,
    /// The user whose task it is (`userid`).
    pub user_id: String,
    /// Who caused it: the `actor` extension (a service identity), or else the user.
    pub actor: String,
    /// The event's `time`, to the microsecond.
    pub occurred_at: DateTime<Utc>,
    /// Where it was read from.
    pub source: SourcePosition,
    /// The `correlationid` extension.
    pub correlation_id: Option<String>,
    /// The event's `data`, as JSON text.
    pub payload: String,
    /// The changed fields with before and after values (updates, completions, reopenings).
    pub changes: Option<Vec<Change>>,
}

/// Why a record cannot be recorded; retrying the same bytes cannot help.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    /// Not a CloudEvents envelope, or known-typed data that breaks the contract.
    #[error(transparent)]
    Decode(#[from] event_schema::DecodeError),
    /// A text attribute holds a character the databases cannot store.
    #[error("attribute {0} contains a NUL character")]
    Nul(&'static str),
    /// A text attribute is longer than [`MAX_ATTRIBUTE_BYTES`] (database indexes hold keys of
    /// bounded size; no legitimate id or type comes near it).
    #[error("attribute {0} is longer than {MAX_ATTRIBUTE_BYTES} bytes")]
    TooLong(&'static str),
}

/// The longest text attribute (type, subject, user, actor, correlation id) recorded.
pub const MAX_ATTRIBUTE_BYTES: usize = 1024;

impl NewEntry {
    /// The entry for `message`.
    pub fn from_message(message: &InboundMessage) -> Result<Self, EntryError> {
        let event = event_schema::decode(message.payload())?;
        // The raw `data` as sent (unknown fields included), not the typed view of it.
        let raw: RawData = serde_json::from_slice(message.payload())
            .map_err(|e| EntryError::Decode(event_schema::DecodeError::NotAnEnvelope(e)))?;
        let meta = &event.meta;
        let changes = changes(&event.data);
        let entry = Self {
            event_id: meta.id,
            event_type: meta.event_type.clone(),
            known_type: event.data.event_type().is_some(),
            subject: meta.subject.clone(),
            user_id: meta.userid.clone(),
            actor: meta.actor.clone().unwrap_or_else(|| meta.userid.clone()),
            occurred_at: meta.time.trunc_subsecs(6),
            source: SourcePosition {
                topic: message.topic.clone(),
                partition: message.partition,
                offset: message.offset,
            },
            correlation_id: meta.correlationid.clone(),
            payload: raw.into_payload().to_string(),
            changes,
        };
        entry.check_text()?;
        Ok(entry)
    }

    fn check_text(&self) -> Result<(), EntryError> {
        let fields: [(&'static str, Option<&str>); 6] = [
            ("type", Some(&self.event_type)),
            ("subject", Some(&self.subject)),
            ("userid", Some(&self.user_id)),
            ("actor", Some(&self.actor)),
            ("correlationid", self.correlation_id.as_deref()),
            ("source topic", Some(&self.source.topic)),
        ];
        // `payload` is serialised JSON: a NUL inside it is escaped as \u0000.
        for (name, value) in fields {
            match value {
                Some(v) if v.contains('\0') => return Err(EntryError::Nul(name)),
                Some(v) if v.len() > MAX_ATTRIBUTE_BYTES => return Err(EntryError::TooLong(name)),
                _ => {}
            }
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct RawData {
    #[serde(default)]
    data: serde_json::Value,
    /// CloudEvents' binary data in JSON format; kept (as `{"data_base64": …}`) when there is no
    /// `data`, so an unknown type's bytes are not lost.
    #[serde(default)]
    data_base64: Option<String>,
}

impl RawData {
    fn into_payload(self) -> serde_json::Value {
        match (self.data, self.data_base64) {
            (serde_json::Value::Null, Some(bytes)) => serde_json::json!({ "data_base64": bytes }),
            (data, _) => data,
        }
    }
}

/// The before/after values an event states or implies: `task.updated` lists them; completing
/// sets the status and `completed_at`; reopening sets the status back (the event does not say
/// when the task had been completed, so that is not invented). Creation and deletion carry the
/// whole task in `payload` instead.
fn changes(data: &EventData) -> Option<Vec<Change>> {
    let change = |field: &str, before: serde_json::Value, after: serde_json::Value| Change {
        field: field.into(),
        before,
        after,
    };
    match data {
        EventData::TaskUpdated(u) => Some(
            u.changes.iter().map(|c: &FieldChange| change(&c.field, c.previous.clone(), c.current.clone())).collect(),
        ),
        EventData::TaskCompleted(c) => Some(vec![
            change("status", "open".into(), to_json(&c.task.status)),
            change("completed_at", serde_json::Value::Null, to_json(&c.task.completed_at)),
        ]),
        EventData::TaskReopened(r) => Some(vec![change("status", "completed".into(), to_json(&r.task.status))]),
        _ => None,
    }
}

fn to_json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(value: &serde_json::Value) -> InboundMessage {
        InboundMessage::with_payload("reminders", 2, 41, value.to_string())
    }

    fn sent(user: &str) -> serde_json::Value {
        let task = Uuid::now_v7();
        let now = Utc::now();
        let data = event_schema::ReminderSent {
            reminder_id: Uuid::now_v7(),
            task_id: task,
            remind_at: now,
            sent_at: now,
            channels: vec!["email".into()],
        };
        let envelope = event_schema::Envelope::new("/taskstream/notification", task.to_string(), user, 1, data);
        serde_json::to_value(envelope).expect("json")
    }

    #[test]
    fn a_known_event_becomes_an_entry_with_its_position_and_raw_data() {
        let mut value = sent("alice");
        value["data"]["added_later"] = "kept".into();
        let entry = NewEntry::from_message(&message(&value)).expect("entry");
        assert_eq!(
            (entry.event_type.as_str(), entry.known_type, entry.user_id.as_str()),
            ("reminder.sent", true, "alice")
        );
        assert_eq!(entry.actor, "alice", "the owner acted when no actor is named");
        assert_eq!(entry.source, SourcePosition { topic: "reminders".into(), partition: 2, offset: 41 });
        let payload: serde_json::Value = serde_json::from_str(&entry.payload).expect("json");
        assert_eq!(payload["added_later"], "kept", "the data as sent, unknown fields included");
        assert_eq!(entry.changes, None);
    }

    #[test]
    fn an_unknown_type_is_kept_raw_and_flagged_and_a_service_actor_is_named() {
        let mut value = sent("alice");
        value["type"] = "task.archived".into();
        value["dataschema"] = "urn:taskstream:schema:task.archived:v1".into();
        value["actor"] = "service:janitor".into();
        let entry = NewEntry::from_message(&message(&value)).expect("entry");
        assert_eq!((entry.event_type.as_str(), entry.known_type), ("task.archived", false));
        assert_eq!(entry.actor, "service:janitor");

        value.as_object_mut().expect("object").remove("data");
        value["data_base64"] = "AAEC".into();
        let binary = NewEntry::from_message(&message(&value)).expect("entry");
        assert_eq!(binary.payload, r#"{"data_base64":"AAEC"}"#, "binary data of an unknown type is kept");
    }

    #[test]
    fn what_the_databases_cannot_store_is_refused_before_they_see_it() {
        let garbage = InboundMessage::with_payload("reminders", 0, 0, "{not json");
        assert!(matches!(NewEntry::from_message(&garbage), Err(EntryError::Decode(_))));
        let long = sent(&"u".repeat(MAX_ATTRIBUTE_BYTES + 1));
        assert!(matches!(NewEntry::from_message(&message(&long)), Err(EntryError::TooLong("userid"))));
        let nul = sent("al\0ice");
        assert!(matches!(NewEntry::from_message(&message(&nul)), Err(EntryError::Nul("userid"))));
        let mut ancient = sent("alice");
        ancient["time"] = "-05000-01-01T00:00:00Z".into();
        // The contract's decoder refuses instants outside years 1 to 9999 (what both databases store).
        assert!(matches!(NewEntry::from_message(&message(&ancient)), Err(EntryError::Decode(_))));
    }
}

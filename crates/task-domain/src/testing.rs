//! Test support: tasks and patches written as JSON bodies, as a client would send them.
//!
//! Deliberately lenient (serde's derive, no error collection): the strict reader with its
//! field-by-field errors is the HTTP layer's (`task-api`'s `api::input`). These tests are
//! about the entity, and JSON keeps them readable.

use chrono::{DateTime, Utc};
use event_schema::{Priority, Recurrence, RecurrenceAnchor, ReminderRule};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::input::{NewTask, TaskPatch, ValidNewTask, ValidTaskPatch};
use crate::task::Task;

pub(crate) fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("RFC 3339").to_utc()
}

/// `recurrence` with `anchor` defaulting to `due`, as in a request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecurrenceBody {
    rrule: String,
    #[serde(default = "due")]
    anchor: RecurrenceAnchor,
}

fn due() -> RecurrenceAnchor {
    RecurrenceAnchor::Due
}

impl From<RecurrenceBody> for Recurrence {
    fn from(body: RecurrenceBody) -> Self {
        Self { rrule: body.rrule, anchor: body.anchor }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTaskBody {
    title: String,
    description: Option<String>,
    #[serde(default)]
    priority: Priority,
    #[serde(default)]
    tags: Vec<String>,
    due_at: Option<DateTime<Utc>>,
    time_zone: Option<String>,
    #[serde(default)]
    reminders: Vec<ReminderRule>,
    recurrence: Option<RecurrenceBody>,
}

/// Present (even as `null`) → `Some`: the PATCH distinction between absent and `null`.
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    title: Option<String>,
    #[serde(default, deserialize_with = "present")]
    description: Option<Option<String>>,
    priority: Option<Priority>,
    tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    due_at: Option<Option<DateTime<Utc>>>,
    time_zone: Option<String>,
    reminders: Option<Vec<ReminderRule>>,
    #[serde(default, deserialize_with = "present")]
    recurrence: Option<Option<RecurrenceBody>>,
}

/// A new task from a JSON body (not yet validated).
pub(crate) fn new_task(body: &Value) -> NewTask {
    let b: NewTaskBody = serde_json::from_value(body.clone()).expect("a well-formed task body");
    NewTask {
        title: b.title,
        description: b.description,
        priority: b.priority,
        tags: b.tags,
        due_at: b.due_at,
        time_zone: b.time_zone,
        reminders: b.reminders,
        recurrence: b.recurrence.map(Into::into),
    }
}

/// A new task from a JSON body, validated.
pub(crate) fn valid_new_task(body: &Value) -> ValidNewTask {
    new_task(body).validate().expect("a valid task body")
}

/// A patch from a JSON body, validated.
pub(crate) fn valid_patch(body: &Value) -> ValidTaskPatch {
    let b: PatchBody = serde_json::from_value(body.clone()).expect("a well-formed patch body");
    TaskPatch {
        title: b.title,
        description: b.description,
        priority: b.priority,
        tags: b.tags,
        due_at: b.due_at,
        time_zone: b.time_zone,
        reminders: b.reminders,
        recurrence: b.recurrence.map(|r| r.map(Into::into)),
    }
    .validate()
    .expect("a valid patch")
}

/// A task created from a JSON body by `user-1` at 2026-02-01T12:00:00Z.
pub(crate) fn task(body: &Value) -> Task {
    Task::create(valid_new_task(body), "user-1", now())
}

/// The `now` of [`task`].
pub(crate) fn now() -> DateTime<Utc> {
    utc("2026-02-01T12:00:00Z")
}

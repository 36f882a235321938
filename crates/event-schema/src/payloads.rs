//! The typed `data` of each event type (version 1).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::task::{ReminderRule, TaskSnapshot};
use crate::types::{EventPayload, EventType};

/// `task.created`: the new task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskCreated {
    /// The task as created.
    pub task: TaskSnapshot,
}

/// One changed field of a `task.updated` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FieldChange {
    /// The field's JSON name, e.g. `due_at`.
    pub field: String,
    /// Its value before the change (`null` when it was unset).
    pub previous: serde_json::Value,
    /// Its value after the change (`null` when it is now unset).
    pub current: serde_json::Value,
}

/// `task.updated`: the task after the change, and each changed field with its previous value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskUpdated {
    /// The task after the change.
    pub task: TaskSnapshot,
    /// The fields that changed, in field order.
    pub changes: Vec<FieldChange>,
}

/// `task.completed`: the task as completed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskCompleted {
    /// The task, with `status = completed` and `completed_at` set.
    pub task: TaskSnapshot,
}

/// `task.reopened`: the task as reopened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskReopened {
    /// The task, with `status = open`.
    pub task: TaskSnapshot,
}

/// `task.deleted`: the task as it was when deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskDeleted {
    /// The last state of the task; its `version` is the deletion's sequence.
    pub task: TaskSnapshot,
    /// When it was deleted.
    #[serde(deserialize_with = "crate::checked::instant")]
    pub deleted_at: DateTime<Utc>,
}

/// `reminder.scheduled`: a reminder should fire at `remind_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReminderScheduled {
    /// Stable id of this reminder instant: the same task, rule and instant give the same id,
    /// so a repeated event schedules nothing twice.
    pub reminder_id: Uuid,
    /// The task it reminds of.
    pub task_id: Uuid,
    /// When to deliver it.
    #[serde(deserialize_with = "crate::checked::instant")]
    pub remind_at: DateTime<Utc>,
    /// The task's due instant, for the message text.
    #[serde(default)]
    #[serde(deserialize_with = "crate::checked::optional_instant")]
    pub due_at: Option<DateTime<Utc>>,
    /// The task's title, for the message text.
    pub title: String,
    /// The rule that produced this instant.
    pub rule: ReminderRule,
}

/// Why a reminder was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// The task was completed.
    TaskCompleted,
    /// The task was deleted.
    TaskDeleted,
    /// The due date or the rule changed; a new instant may be scheduled.
    Rescheduled,
    /// The rule was removed from the task.
    Removed,
}

/// `reminder.cancelled`: a scheduled reminder must not fire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReminderCancelled {
    /// The id from `reminder.scheduled`.
    pub reminder_id: Uuid,
    /// The task it belonged to.
    pub task_id: Uuid,
    /// The instant it would have fired at.
    #[serde(deserialize_with = "crate::checked::instant")]
    pub remind_at: DateTime<Utc>,
    /// Why.
    pub reason: CancelReason,
}

/// `reminder.sent`: a reminder was delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReminderSent {
    /// The id from `reminder.scheduled`.
    pub reminder_id: Uuid,
    /// The task it reminded of.
    pub task_id: Uuid,
    /// The instant it was due to fire.
    #[serde(deserialize_with = "crate::checked::instant")]
    pub remind_at: DateTime<Utc>,
    /// When it was delivered.
    #[serde(deserialize_with = "crate::checked::instant")]
    pub sent_at: DateTime<Utc>,
    /// The channels it was delivered to (e.g. `email`, `webhook`).
    pub channels: Vec<String>,
}

macro_rules! payload {
    ($($ty:ident => $variant:ident),* $(,)?) => {
        $(impl EventPayload for $ty {
            const TYPE: EventType = EventType::$variant;
        })*
    };
}

payload! {
    TaskCreated => TaskCreated,
    TaskUpdated => TaskUpdated,
    TaskCompleted => TaskCompleted,
    TaskReopened => TaskReopened,
    TaskDeleted => TaskDeleted,
    ReminderScheduled => ReminderScheduled,
    ReminderCancelled => ReminderCancelled,
    ReminderSent => ReminderSent,
}

//! The task snapshot carried by `task.*` events: the task as it is after the change.
//!
//! These are wire types. Validation (title length, tag rules, RRULE limits) belongs to
//! task-api's domain types; consumers can rely on it having happened.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A task's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Not done yet.
    Open,
    /// Done.
    Completed,
}

/// A task's priority; `none` unless set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// No priority set.
    #[default]
    None,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Urgent.
    Urgent,
}

/// When to remind the user of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ReminderRule {
    /// A fixed offset before `due_at`, as an ISO-8601 duration (`PT15M`).
    BeforeDue {
        /// ISO-8601 duration before the due instant.
        before_due: String,
    },
    /// An absolute instant.
    At {
        /// RFC 3339 instant.
        #[serde(deserialize_with = "crate::checked::instant")]
        at: DateTime<Utc>,
    },
}

/// What the next occurrence of a recurring task is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecurrenceAnchor {
    /// The next occurrence follows the previous due date (a fixed schedule).
    Due,
    /// The next occurrence follows the completion time (e.g. "water plants a week after").
    Completion,
}

/// A recurrence rule (RFC 5545 RRULE), evaluated in the task's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Recurrence {
    /// The RRULE value without the `RRULE:` prefix, e.g. `FREQ=WEEKLY;BYDAY=MO,WE`.
    pub rrule: String,
    /// What the next occurrence is computed from.
    pub anchor: RecurrenceAnchor,
}

/// A task as it is after the change the event describes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskSnapshot {
    /// Task id (UUIDv7).
    pub id: Uuid,
    /// 1 to 200 characters.
    pub title: String,
    /// Up to 4,000 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// Open or completed.
    pub status: TaskStatus,
    /// When it was completed, while it is.
    #[serde(default)]
    #[serde(deserialize_with = "crate::checked::optional_instant")]
    pub completed_at: Option<DateTime<Utc>>,
    /// Priority.
    #[serde(default)]
    pub priority: Priority,
    /// Lower-case tags, distinct.
    #[serde(default)]
    pub tags: Vec<String>,
    /// When the task is due.
    #[serde(default)]
    #[serde(deserialize_with = "crate::checked::optional_instant")]
    pub due_at: Option<DateTime<Utc>>,
    /// IANA time zone the user thinks of the task in (recurrence is evaluated in it).
    pub time_zone: String,
    /// Reminder rules.
    #[serde(default)]
    pub reminders: Vec<ReminderRule>,
    /// Recurrence, for a recurring task.
    #[serde(default)]
    pub recurrence: Option<Recurrence>,
    /// The series a recurring task's occurrences share.
    #[serde(default)]
    pub series_id: Option<Uuid>,
    /// The occurrence instant this task stands for, within its series.
    #[serde(default)]
    #[serde(deserialize_with = "crate::checked::optional_instant")]
    pub occurrence_at: Option<DateTime<Utc>>,
    /// Creation time.
    #[serde(deserialize_with = "crate::checked::instant")]
    pub created_at: DateTime<Utc>,
    /// Time of the last change.
    #[serde(deserialize_with = "crate::checked::instant")]
    pub updated_at: DateTime<Utc>,
    /// Version after the change; equals the envelope's `sequence`.
    pub version: i64,
}

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
    /// The instant the series' rule is evaluated from (its DTSTART), for a task in a series.
    /// Added within v1 (optional; absent in events of older producers).
    #[serde(default)]
    #[serde(deserialize_with = "crate::checked::optional_instant")]
    pub series_start: Option<DateTime<Utc>>,
    /// 1-based position of this occurrence in its series (the first task is 1). Added within v1.
    #[serde(default)]
    pub occurrence_number: Option<u32>,
    /// The `occurrence_at` of the completed occurrence this task succeeds; absent for the
    /// first task of a series. Added within v1.
    #[serde(default)]
    #[serde(deserialize_with = "crate::checked::optional_instant")]
    pub follows: Option<DateTime<Utc>>,
    /// Creation time.
    #[serde(deserialize_with = "crate::checked::instant")]
    pub created_at: DateTime<Utc>,
    /// Time of the last change.
    #[serde(deserialize_with = "crate::checked::instant")]
    pub updated_at: DateTime<Utc>,
    /// Version after the change; equals the envelope's `sequence`.
    pub version: i64,
}

/// Where a task stands in its recurring series: what the recurring-task service sends in the
/// `series` field of `POST /v1/tasks` when it creates a successor (see `docs/recurrence.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesPosition {
    /// The series id (the id of the series' first task).
    pub id: Uuid,
    /// The instant the series' rule is evaluated from (DTSTART).
    #[serde(deserialize_with = "crate::checked::instant")]
    pub start: DateTime<Utc>,
    /// The occurrence this task stands for; equals the task's `due_at` when created.
    #[serde(deserialize_with = "crate::checked::instant")]
    pub occurrence_at: DateTime<Utc>,
    /// 1-based position of the occurrence in the series.
    pub occurrence_number: u32,
    /// The `occurrence_at` of the completed predecessor; `null` for a series' first task.
    #[serde(default)]
    #[serde(deserialize_with = "crate::checked::optional_instant")]
    pub follows: Option<DateTime<Utc>>,
}

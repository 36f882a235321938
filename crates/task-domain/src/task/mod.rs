//! [`Task`], the domain entity: created from a [`ValidNewTask`], changed by patches,
//! completion and reopening, each change counted in `version`.

mod series;

use chrono::{DateTime, SubsecRound, Utc};
use event_schema::{FieldChange, Priority, TaskSnapshot, TaskStatus};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::{FieldError, Rule, ValidationErrors};
use crate::input::{NewTask, ValidNewTask, ValidTaskPatch, cross_field_errors};
use crate::instant::check_instant;
use crate::recurrence::RecurrenceRule;
use crate::reminder::Reminders;
use crate::tags::Tags;
use crate::text::{Description, Title};
use crate::time_zone::TimeZone;

/// The snapshot fields a change can touch, in snapshot order (`updated_at` and `version`
/// change with every change and are not listed as changes).
const CHANGE_FIELDS: &[&str] = &[
    "title",
    "description",
    "status",
    "completed_at",
    "priority",
    "tags",
    "due_at",
    "time_zone",
    "reminders",
    "recurrence",
    "series_id",
    "occurrence_at",
    "series_start",
    "occurrence_number",
    "follows",
];

/// A task. Every field is valid and the rules across fields hold; the only ways to change
/// it are [`Task::apply`], [`Task::complete`] and [`Task::reopen`], each of which bumps
/// `version` and `updated_at` when, and only when, something changed.
///
/// Instants are kept to the microsecond (what PostgreSQL keeps), so a task read back from
/// storage equals the one written.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    id: Uuid,
    owner: String,
    title: Title,
    description: Option<Description>,
    status: TaskStatus,
    completed_at: Option<DateTime<Utc>>,
    priority: Priority,
    tags: Tags,
    due_at: Option<DateTime<Utc>>,
    time_zone: TimeZone,
    reminders: Reminders,
    recurrence: Option<RecurrenceRule>,
    series_id: Option<Uuid>,
    occurrence_at: Option<DateTime<Utc>>,
    series_start: Option<DateTime<Utc>>,
    occurrence_number: Option<u32>,
    follows: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

impl Task {
    /// A new open task owned by `owner`, at version 1, with a fresh UUIDv7 id.
    ///
    /// A recurring task starts a series: `series_id` is its own id, `occurrence_at` and
    /// `series_start` its `due_at`, `occurrence_number` 1 (see
    /// [`Task::create_in_series`] for the later occurrences).
    pub fn create(new: ValidNewTask, owner: impl Into<String>, now: DateTime<Utc>) -> Self {
        let now = now.trunc_subsecs(6);
        let mut task = Self {
            id: Uuid::now_v7(),
            owner: owner.into(),
            title: new.title,
            description: new.description,
            status: TaskStatus::Open,
            completed_at: None,
            priority: new.priority,
            tags: new.tags,
            due_at: new.due_at,
            time_zone: new.time_zone,
            reminders: new.reminders,
            recurrence: new.recurrence,
            series_id: None,
            occurrence_at: None,
            series_start: None,
            occurrence_number: None,
            follows: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        task.join_series();
        task
    }

    /// Rebuilds a task from its stored snapshot, checking it against today's rules (an
    /// error means the row is corrupt or predates a rule, and names the field).
    pub fn restore(owner: impl Into<String>, snapshot: TaskSnapshot) -> Result<Self, ValidationErrors> {
        let raw = NewTask {
            title: snapshot.title,
            description: snapshot.description,
            priority: snapshot.priority,
            tags: snapshot.tags,
            due_at: snapshot.due_at,
            time_zone: Some(snapshot.time_zone),
            reminders: snapshot.reminders,
            recurrence: snapshot.recurrence,
        };
        let mut errors = ValidationErrors::default();
        let valid = raw.validate().map_err(|e| errors.extend(e)).ok();
        if (snapshot.status == TaskStatus::Completed) != snapshot.completed_at.is_some() {
            errors.push(FieldError::new(
                "completed_at",
                Rule::Inconsistent,
                "must be set exactly when the status is completed",
            ));
        }
        if snapshot.version < 1 {
            errors.push(FieldError::new("version", Rule::Range, "must be at least 1"));
        }
        let Some(valid) = valid.filter(|_| errors.is_empty()) else { return Err(errors) };
        Ok(Self {
            id: snapshot.id,
            owner: owner.into(),
            title: valid.title,
            description: valid.description,
            status: snapshot.status,
            completed_at: snapshot.completed_at.map(|t| t.trunc_subsecs(6)),
            priority: valid.priority,
            tags: valid.tags,
            due_at: valid.due_at,
            time_zone: valid.time_zone,
            reminders: valid.reminders,
            recurrence: valid.recurrence,
            series_id: snapshot.series_id,
            occurrence_at: snapshot.occurrence_at.map(|t| t.trunc_subsecs(6)),
            series_start: snapshot.series_start.map(|t| t.trunc_subsecs(6)),
            occurrence_number: snapshot.occurrence_number,
            follows: snapshot.follows.map(|t| t.trunc_subsecs(6)),
            created_at: snapshot.created_at.trunc_subsecs(6),
            updated_at: snapshot.updated_at.trunc_subsecs(6),
            version: snapshot.version,
        })
    }

    /// Applies a patch. Returns the changed fields, in snapshot order, with their previous
    /// and current JSON values; when nothing changed (every value given equals the current
    /// one) the list is empty and neither `version` nor `updated_at` moves.
    ///
    /// The rules across fields are checked on the result (a `before_due` reminder or a
    /// recurrence needs `due_at`, so clearing `due_at` while they remain fails); on error
    /// the task is unchanged.
    pub fn apply(&mut self, patch: ValidTaskPatch, now: DateTime<Utc>) -> Result<Vec<FieldChange>, ValidationErrors> {
        let mut next = self.clone();
        if let Some(title) = patch.title {
            next.title = title;
        }
        if let Some(description) = patch.description {
            next.description = description;
        }
        if let Some(priority) = patch.priority {
            next.priority = priority;
        }
        if let Some(tags) = patch.tags {
            next.tags = tags;
        }
        if let Some(due_at) = patch.due_at {
            // A patch built in code (its fields are public) has not been through validation.
            next.due_at = due_at.map(check_instant).transpose().map_err(|v| ValidationErrors::from(v.at("due_at")))?;
        }
        if let Some(time_zone) = patch.time_zone {
            next.time_zone = time_zone;
        }
        if let Some(reminders) = patch.reminders {
            next.reminders = reminders;
        }
        if let Some(recurrence) = patch.recurrence {
            next.recurrence = recurrence;
        }
        // The recurrence is only evaluated again when what it depends on changed: the result
        // is the same otherwise, and a rule can take a while to evaluate.
        let recheck =
            next.recurrence != self.recurrence || next.due_at != self.due_at || next.time_zone != self.time_zone;
        let errors = cross_field_errors(
            next.due_at,
            Some(next.time_zone),
            &next.reminders,
            next.recurrence.as_ref().filter(|_| recheck),
        );
        if !errors.is_empty() {
            return Err(errors);
        }
        next.place_in_series(self);
        let changes = changes(&self.snapshot(), &next.snapshot());
        if !changes.is_empty() {
            next.touch(now);
            *self = next;
        }
        Ok(changes)
    }

    /// Marks the task completed at `now`. `false`, and no change, when it already is.
    pub fn complete(&mut self, now: DateTime<Utc>) -> bool {
        if self.status == TaskStatus::Completed {
            return false;
        }
        self.status = TaskStatus::Completed;
        self.completed_at = Some(now.trunc_subsecs(6));
        self.touch(now);
        true
    }

    /// Reopens a completed task. `false`, and no change, when it is open.
    pub fn reopen(&mut self, now: DateTime<Utc>) -> bool {
        if self.status == TaskStatus::Open {
            return false;
        }
        self.status = TaskStatus::Open;
        self.completed_at = None;
        self.touch(now);
        true
    }

    /// The event-contract form of the task.
    pub fn snapshot(&self) -> TaskSnapshot {
        TaskSnapshot {
            id: self.id,
            title: self.title.as_str().to_owned(),
            description: self.description.as_ref().map(|d| d.as_str().to_owned()),
            status: self.status,
            completed_at: self.completed_at,
            priority: self.priority,
            tags: self.tags.as_slice().to_vec(),
            due_at: self.due_at,
            time_zone: self.time_zone.name().to_owned(),
            reminders: self.reminders.to_wire(),
            recurrence: self.recurrence.as_ref().map(Into::into),
            series_id: self.series_id,
            occurrence_at: self.occurrence_at,
            series_start: self.series_start,
            occurrence_number: self.occurrence_number,
            follows: self.follows,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        }
    }

    /// Id (UUIDv7).
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The owning user (the envelope's `userid`).
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Title.
    pub fn title(&self) -> &Title {
        &self.title
    }

    /// Description.
    pub fn description(&self) -> Option<&Description> {
        self.description.as_ref()
    }

    /// Open or completed.
    pub fn status(&self) -> TaskStatus {
        self.status
    }

    /// Whether the task is completed.
    pub fn is_completed(&self) -> bool {
        self.status == TaskStatus::Completed
    }

    /// When it was completed, while it is.
    pub fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.completed_at
    }

    /// Priority.
    pub fn priority(&self) -> Priority {
        self.priority
    }

    /// Tags.
    pub fn tags(&self) -> &Tags {
        &self.tags
    }

    /// Due instant.
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        self.due_at
    }

    /// Time zone.
    pub fn time_zone(&self) -> TimeZone {
        self.time_zone
    }

    /// Reminder rules.
    pub fn reminders(&self) -> &Reminders {
        &self.reminders
    }

    /// Recurrence.
    pub fn recurrence(&self) -> Option<&RecurrenceRule> {
        self.recurrence.as_ref()
    }

    /// The series of a recurring task.
    pub fn series_id(&self) -> Option<Uuid> {
        self.series_id
    }

    /// The occurrence this task stands for, within its series.
    pub fn occurrence_at(&self) -> Option<DateTime<Utc>> {
        self.occurrence_at
    }

    /// The instant the series' rule is evaluated from (DTSTART).
    pub fn series_start(&self) -> Option<DateTime<Utc>> {
        self.series_start
    }

    /// The 1-based position of this occurrence in its series.
    pub fn occurrence_number(&self) -> Option<u32> {
        self.occurrence_number
    }

    /// The `occurrence_at` of the completed predecessor (none for a series' first task).
    pub fn follows(&self) -> Option<DateTime<Utc>> {
        self.follows
    }

    /// Creation time.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// Time of the last change.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }

    /// Version: 1 when created, one more per change.
    pub fn version(&self) -> i64 {
        self.version
    }

    fn touch(&mut self, now: DateTime<Utc>) {
        self.updated_at = now.trunc_subsecs(6);
        self.version += 1;
    }
}

impl From<&Task> for TaskSnapshot {
    fn from(task: &Task) -> Self {
        task.snapshot()
    }
}

/// The fields that differ between two snapshots of one task, in snapshot order.
fn changes(before: &TaskSnapshot, after: &TaskSnapshot) -> Vec<FieldChange> {
    let (before, after) = (json!(before), json!(after));
    CHANGE_FIELDS
        .iter()
        .filter_map(|&field| {
            let previous = before.get(field).cloned().unwrap_or(Value::Null);
            let current = after.get(field).cloned().unwrap_or(Value::Null);
            (previous != current).then(|| FieldChange { field: field.to_owned(), previous, current })
        })
        .collect()
}

#[cfg(test)]
mod tests;

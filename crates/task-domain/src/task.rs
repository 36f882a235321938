//! [`Task`], the domain entity: created from a [`ValidNewTask`], changed by patches,
//! completion and reopening, each change counted in `version`.

use chrono::{DateTime, SubsecRound, TimeZone as _, Utc};
use event_schema::{FieldChange, Priority, RecurrenceAnchor, TaskSnapshot, TaskStatus};
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
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

impl Task {
    /// A new open task owned by `owner`, at version 1, with a fresh UUIDv7 id.
    ///
    /// A recurring task starts a series: `series_id` is its own id and `occurrence_at` its
    /// `due_at`.
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
        next.join_series();
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

    /// The first occurrence of the recurrence strictly after `after`, the rule starting at
    /// `due_at` in the task's time zone. `None` without recurrence or `due_at`, when the
    /// series ended, or when the next occurrence is over ten years away.
    pub fn next_occurrence(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.recurrence.as_ref()?.next_after(self.due_at?, self.time_zone, after)
    }

    /// The due instant of the occurrence after this one, as the recurrence's anchor says:
    /// - `due`: the first occurrence after `due_at` (a fixed schedule; occurrences missed
    ///   while the task was overdue are not skipped here: use [`Task::next_occurrence`]
    ///   with a later instant for that);
    /// - `completion`: the rule starts again on the day of completion, at `due_at`'s
    ///   wall-clock time, and the next occurrence is the first after both that start and
    ///   the completion (`FREQ=WEEKLY`: a week after completion). `None` while open.
    pub fn next_due_at(&self) -> Option<DateTime<Utc>> {
        let recurrence = self.recurrence.as_ref()?;
        let due_at = self.due_at?;
        match recurrence.anchor() {
            RecurrenceAnchor::Due => recurrence.next_after(due_at, self.time_zone, due_at),
            RecurrenceAnchor::Completion => {
                let completed_at = self.completed_at?;
                let tz = self.time_zone.tz();
                let local = completed_at.with_timezone(&tz).date_naive().and_time(due_at.with_timezone(&tz).time());
                // That wall-clock time may not exist on that day (a DST gap): start at the
                // completion itself then.
                let start = tz.from_local_datetime(&local).earliest().map_or(completed_at, |s| s.to_utc());
                recurrence.next_after(start, self.time_zone, start.max(completed_at))
            }
        }
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

    /// A recurring task that is in no series starts its own.
    fn join_series(&mut self) {
        if self.recurrence.is_some() && self.series_id.is_none() {
            self.series_id = Some(self.id);
            self.occurrence_at = self.due_at;
        }
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
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing::{now, task, utc, valid_patch as patch};

    fn changed_fields(changes: &[FieldChange]) -> Vec<&str> {
        changes.iter().map(|c| c.field.as_str()).collect()
    }

    #[test]
    fn a_created_task_is_open_at_version_1_with_a_uuid_v7() {
        let task = task(&json!({"title": "Write report"}));

        assert_eq!(task.status(), TaskStatus::Open);
        assert_eq!(task.version(), 1);
        assert_eq!(task.id().get_version_num(), 7);
        assert_eq!((task.created_at(), task.updated_at()), (now(), now()));
        assert_eq!(task.owner(), "user-1");
    }

    #[test]
    fn a_created_recurring_task_starts_its_own_series() {
        let task = task(&json!({
            "title": "Stand-up", "due_at": "2026-02-02T09:00:00Z", "recurrence": {"rrule": "FREQ=DAILY"}
        }));

        assert_eq!(task.series_id(), Some(task.id()));
        assert_eq!(task.occurrence_at(), Some(utc("2026-02-02T09:00:00Z")));
    }

    #[test]
    fn a_patch_returns_each_changed_field_with_previous_and_current_values() {
        let mut task = task(&json!({"title": "Old", "description": "keep me", "tags": ["a"]}));
        let later = utc("2026-02-01T13:00:00Z");

        let changes = task
            .apply(patch(&json!({"title": "New", "description": null, "priority": "high", "tags": ["a"]})), later)
            .expect("valid");

        assert_eq!(
            changes,
            [
                FieldChange { field: "title".into(), previous: json!("Old"), current: json!("New") },
                FieldChange { field: "description".into(), previous: json!("keep me"), current: Value::Null },
                FieldChange { field: "priority".into(), previous: json!("none"), current: json!("high") },
            ]
        );
        assert_eq!((task.version(), task.updated_at()), (2, later));
        assert_eq!(task.description(), None);
    }

    #[test]
    fn absent_fields_stay_as_they_are() {
        let mut task = task(&json!({"title": "t", "description": "d", "due_at": "2026-03-01T09:00:00Z"}));

        let changes = task.apply(patch(&json!({"priority": "low"})), now()).expect("valid");

        assert_eq!(changed_fields(&changes), ["priority"]);
        assert_eq!(task.description().map(Description::as_str), Some("d"));
        assert_eq!(task.due_at(), Some(utc("2026-03-01T09:00:00Z")));
    }

    #[test]
    fn a_patch_that_changes_nothing_returns_no_changes_and_keeps_the_version() {
        let mut task = task(&json!({"title": "Same", "tags": ["work"]}));
        let before = task.clone();

        let changes = task
            .apply(patch(&json!({"title": " Same ", "tags": ["WORK"]})), utc("2026-02-02T00:00:00Z"))
            .expect("valid");

        assert_eq!(changes, []);
        assert_eq!(task, before, "version and updated_at unchanged");
    }

    #[test]
    fn clearing_due_at_while_a_before_due_reminder_remains_is_rejected_and_changes_nothing() {
        let mut task = task(&json!({
            "title": "t", "due_at": "2026-03-01T09:00:00Z", "reminders": [{"before_due": "PT15M"}]
        }));
        let before = task.clone();

        let errors = task.apply(patch(&json!({"due_at": null})), now()).expect_err("needs due_at");

        assert!(errors.has("reminders[0].before_due", Rule::RequiresDueAt), "{errors}");
        assert_eq!(task, before);
    }

    #[test]
    fn clearing_due_at_and_the_reminders_together_is_accepted() {
        let mut task = task(&json!({
            "title": "t", "due_at": "2026-03-01T09:00:00Z", "reminders": [{"before_due": "PT15M"}]
        }));

        let changes = task.apply(patch(&json!({"due_at": null, "reminders": []})), now()).expect("valid");

        assert_eq!(changed_fields(&changes), ["due_at", "reminders"]);
    }

    #[test]
    fn clearing_due_at_of_a_recurring_task_is_rejected() {
        let mut task =
            task(&json!({"title": "t", "due_at": "2026-03-01T09:00:00Z", "recurrence": {"rrule": "FREQ=DAILY"}}));

        let errors = task.apply(patch(&json!({"due_at": null})), now()).expect_err("needs due_at");

        assert!(errors.has("recurrence", Rule::RequiresDueAt), "{errors}");
    }

    #[test]
    fn adding_a_recurrence_by_patch_starts_a_series() {
        let mut task = task(&json!({"title": "t", "due_at": "2026-03-01T09:00:00Z"}));

        let changes = task.apply(patch(&json!({"recurrence": {"rrule": "FREQ=WEEKLY"}})), now()).expect("valid");

        assert_eq!(changed_fields(&changes), ["recurrence", "series_id", "occurrence_at"]);
        assert_eq!(changes[0].current, json!({"rrule": "FREQ=WEEKLY", "anchor": "due"}));
    }

    #[test]
    fn completing_twice_changes_the_task_once() {
        let mut task = task(&json!({"title": "t"}));
        let done_at = utc("2026-02-01T15:00:00Z");

        assert!(task.complete(done_at));
        assert!(!task.complete(utc("2026-02-01T16:00:00Z")));

        assert_eq!(task.status(), TaskStatus::Completed);
        assert_eq!(task.completed_at(), Some(done_at));
        assert_eq!(task.version(), 2);
    }

    #[test]
    fn reopening_an_open_task_changes_nothing_and_reopening_a_completed_one_clears_completed_at() {
        let mut task = task(&json!({"title": "t"}));

        assert!(!task.reopen(now()));
        assert_eq!(task.version(), 1);

        task.complete(now());
        assert!(task.reopen(now()));
        assert_eq!((task.status(), task.completed_at(), task.version()), (TaskStatus::Open, None, 3));
    }

    #[test]
    fn the_snapshot_carries_every_field_in_wire_form() {
        let task = task(&json!({
            "title": "Stand-up",
            "tags": ["Work"],
            "due_at": "2026-03-02T08:00:00Z",
            "time_zone": "Europe/Berlin",
            "reminders": [{"before_due": "PT90M"}],
            "recurrence": {"rrule": "freq=weekly", "anchor": "completion"}
        }));

        let snapshot = TaskSnapshot::from(&task);

        assert_eq!(snapshot.id, task.id());
        assert_eq!(snapshot.tags, ["work"]);
        assert_eq!(snapshot.time_zone, "Europe/Berlin");
        assert_eq!(json!(snapshot.reminders), json!([{"before_due": "PT1H30M"}]));
        assert_eq!(json!(snapshot.recurrence), json!({"rrule": "FREQ=WEEKLY", "anchor": "completion"}));
        assert_eq!(snapshot.version, 1);
    }

    #[test]
    fn a_task_restored_from_its_snapshot_equals_the_original() {
        let mut original = task(&json!({
            "title": "t", "due_at": "2026-03-02T08:00:00.123456Z", "reminders": [{"before_due": "P1D"}],
            "recurrence": {"rrule": "FREQ=DAILY"}
        }));
        original.complete(now());

        let restored = Task::restore("user-1", original.snapshot());

        assert_eq!(restored, Ok(original));
    }

    #[test]
    fn restoring_a_contradictory_snapshot_names_the_fields() {
        let mut snapshot = task(&json!({"title": "t"})).snapshot();
        snapshot.status = TaskStatus::Completed;
        snapshot.version = 0;
        snapshot.title = String::new();

        let errors = Task::restore("user-1", snapshot).expect_err("inconsistent");

        assert!(errors.has("completed_at", Rule::Inconsistent), "{errors}");
        assert!(errors.has("version", Rule::Range), "{errors}");
        assert!(errors.has("title", Rule::MinLength), "{errors}");
    }

    #[test]
    fn next_occurrence_follows_the_rule_in_the_task_time_zone() {
        // Weekly on Monday 09:00 Berlin time, starting before the March DST change.
        let task = task(&json!({
            "title": "Plan the week",
            "due_at": "2026-03-23T08:00:00Z",
            "time_zone": "Europe/Berlin",
            "recurrence": {"rrule": "FREQ=WEEKLY;BYDAY=MO"}
        }));

        assert_eq!(task.next_occurrence(utc("2026-03-23T08:00:00Z")), Some(utc("2026-03-30T07:00:00Z")));
        assert_eq!(task.next_due_at(), Some(utc("2026-03-30T07:00:00Z")));
    }

    #[test]
    fn a_completion_anchored_task_repeats_a_period_after_completion_at_the_due_time_of_day() {
        let mut task = task(&json!({
            "title": "Water the plants",
            "due_at": "2026-03-02T09:00:00Z",
            "recurrence": {"rrule": "FREQ=WEEKLY", "anchor": "completion"}
        }));
        assert_eq!(task.next_due_at(), None, "not before completion");

        task.complete(utc("2026-03-05T18:30:00Z")); // a Thursday

        assert_eq!(task.next_due_at(), Some(utc("2026-03-12T09:00:00Z")));
    }

    #[test]
    fn a_task_without_recurrence_has_no_next_occurrence() {
        let task = task(&json!({"title": "once", "due_at": "2026-03-02T09:00:00Z"}));

        assert_eq!(task.next_occurrence(now()), None);
        assert_eq!(task.next_due_at(), None);
    }
}

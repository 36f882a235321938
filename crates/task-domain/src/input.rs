//! A task's fields before validation ([`NewTask`], [`TaskPatch`]: wire types, as a request
//! body or a stored snapshot carries them) and what they validate into ([`ValidNewTask`],
//! [`ValidTaskPatch`]).
//!
//! Validation collects every error, not the first: the rules of each field, then the rules
//! across fields. Reading JSON (unknown fields, wrong types, malformed instants) is the
//! HTTP layer's; it passes the fields it already reported to [`NewTask::validate_except`] so
//! that a field with a structural error never reports a second, misleading one.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use event_schema::{Priority, Recurrence, ReminderRule};

use crate::error::{FieldError, Rule, ValidationErrors, Violation};
use crate::instant::check_instant;
use crate::recurrence::RecurrenceRule;
use crate::reminder::Reminders;
use crate::tags::Tags;
use crate::text::{Description, Title};
use crate::time_zone::TimeZone;

/// A new task before validation: the fields of `POST /v1/tasks` (JSON names, wire types),
/// also what [`Task::restore`](crate::Task::restore) checks a stored snapshot as.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewTask {
    /// Required.
    pub title: String,
    /// Optional; `null` is the same as absent.
    pub description: Option<String>,
    /// `none` unless given.
    pub priority: Priority,
    /// Empty unless given.
    pub tags: Vec<String>,
    /// Optional; `null` is the same as absent.
    pub due_at: Option<DateTime<Utc>>,
    /// `UTC` unless given.
    pub time_zone: Option<String>,
    /// Empty unless given.
    pub reminders: Vec<ReminderRule>,
    /// Optional; `null` is the same as absent. In JSON, `anchor` defaults to `due`.
    pub recurrence: Option<Recurrence>,
}

/// A validated [`NewTask`]: every field valid, and the rules across fields hold
/// (`before_due` reminders and recurrence have a `due_at`; the recurrence repeats).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidNewTask {
    pub(crate) title: Title,
    pub(crate) description: Option<Description>,
    pub(crate) priority: Priority,
    pub(crate) tags: Tags,
    pub(crate) due_at: Option<DateTime<Utc>>,
    pub(crate) time_zone: TimeZone,
    pub(crate) reminders: Reminders,
    pub(crate) recurrence: Option<RecurrenceRule>,
}

impl NewTask {
    /// Validates every field and the rules across fields.
    pub fn validate(&self) -> Result<ValidNewTask, ValidationErrors> {
        validate_new(self, &HashSet::new())
    }

    /// Like [`NewTask::validate`], but skips the top-level fields in `already_reported`
    /// (`"recurrence"` covers `recurrence.rrule`; `""`, the body itself, covers all): a reader
    /// reported them as malformed, so checking their placeholder values would only add noise.
    /// With any such field the result is an error, listing only the errors found here (so
    /// possibly none): the reader's own make the body invalid.
    pub fn validate_except(&self, already_reported: &HashSet<&str>) -> Result<ValidNewTask, ValidationErrors> {
        validate_new(self, already_reported)
    }
}

/// The body of `PATCH /tasks/{id}`, before validation. For each field, `None` means absent
/// (unchanged); for the nullable fields `description`, `due_at` and `recurrence`,
/// `Some(None)` means `null` (clear it). `null` for any other field is an error
/// (`not_nullable`): send `"none"`, `[]` or `"UTC"` to reset those.
///
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskPatch {
    /// New title.
    pub title: Option<String>,
    /// New description, or `Some(None)` to clear it.
    pub description: Option<Option<String>>,
    /// New priority.
    pub priority: Option<Priority>,
    /// New tags (the whole list).
    pub tags: Option<Vec<String>>,
    /// New due instant, or `Some(None)` to clear it.
    pub due_at: Option<Option<DateTime<Utc>>>,
    /// New time zone.
    pub time_zone: Option<String>,
    /// New reminders (the whole list).
    pub reminders: Option<Vec<ReminderRule>>,
    /// New recurrence, or `Some(None)` to clear it.
    pub recurrence: Option<Option<Recurrence>>,
}

/// A validated [`TaskPatch`]: each field given is valid on its own. The rules across fields
/// are checked by [`Task::apply`](crate::Task::apply), against the task it changes.
/// Fields are public so that services can build a patch directly from domain values.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ValidTaskPatch {
    /// New title.
    pub title: Option<Title>,
    /// New description, or `Some(None)` to clear it.
    pub description: Option<Option<Description>>,
    /// New priority.
    pub priority: Option<Priority>,
    /// New tags.
    pub tags: Option<Tags>,
    /// New due instant (kept to the microsecond), or `Some(None)` to clear it.
    pub due_at: Option<Option<DateTime<Utc>>>,
    /// New time zone.
    pub time_zone: Option<TimeZone>,
    /// New reminders.
    pub reminders: Option<Reminders>,
    /// New recurrence, or `Some(None)` to clear it.
    pub recurrence: Option<Option<RecurrenceRule>>,
}

impl ValidTaskPatch {
    /// Whether the patch names no field at all.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl TaskPatch {
    /// Validates each field given.
    pub fn validate(&self) -> Result<ValidTaskPatch, ValidationErrors> {
        validate_patch(self, &HashSet::new())
    }

    /// Like [`TaskPatch::validate`], but skips the fields in `already_reported` (see
    /// [`NewTask::validate_except`]).
    pub fn validate_except(&self, already_reported: &HashSet<&str>) -> Result<ValidTaskPatch, ValidationErrors> {
        validate_patch(self, already_reported)
    }
}

// --- Validation -------------------------------------------------------------------------

/// Whether the top-level field of `path` (`recurrence` for `recurrence.rrule`), or the body
/// itself (`""`), failed structurally.
fn is_broken(broken: &HashSet<&str>, path: &str) -> bool {
    broken.contains("") || broken.contains(path.split(['.', '[']).next().unwrap_or(path))
}

/// Runs `check` unless `field` already failed structurally; records its violation at `field`.
fn check<T>(
    errors: &mut ValidationErrors,
    broken: &HashSet<&str>,
    field: &str,
    check: impl FnOnce() -> Result<T, Violation>,
) -> Option<T> {
    if is_broken(broken, field) {
        return None;
    }
    check().map_err(|v| errors.push(v.at(field))).ok()
}

/// Like [`check`], for checks that name their own fields.
fn check_all<T>(
    errors: &mut ValidationErrors,
    broken: &HashSet<&str>,
    field: &str,
    check: impl FnOnce() -> Result<T, ValidationErrors>,
) -> Option<T> {
    if is_broken(broken, field) {
        return None;
    }
    check().map_err(|e| errors.extend(e)).ok()
}

fn validate_new(raw: &NewTask, broken: &HashSet<&str>) -> Result<ValidNewTask, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let e = &mut errors;
    let title = check(e, broken, "title", || Title::parse(&raw.title));
    let description =
        check(e, broken, "description", || raw.description.as_deref().map(Description::parse).transpose());
    let tags = check_all(e, broken, "tags", || Tags::parse(&raw.tags));
    let time_zone =
        check(e, broken, "time_zone", || raw.time_zone.as_deref().map_or(Ok(TimeZone::UTC), TimeZone::parse));
    let reminders = check_all(e, broken, "reminders", || Reminders::parse(&raw.reminders));
    let recurrence =
        check(e, broken, "recurrence.rrule", || raw.recurrence.as_ref().map(RecurrenceRule::try_from).transpose());
    let due_at = check(e, broken, "due_at", || raw.due_at.map(check_instant).transpose());
    // Broken fields were reported already; checking them across would only add noise
    // ("needs due_at" when due_at was merely misspelt as a number).
    if let Some(due_at) = due_at {
        errors.extend(cross_field_errors(
            due_at,
            time_zone,
            reminders.as_ref().unwrap_or(&Reminders::default()),
            recurrence.as_ref().and_then(Option::as_ref),
        ));
    }
    match (title, description, tags, due_at, time_zone, reminders, recurrence) {
        (
            Some(title),
            Some(description),
            Some(tags),
            Some(due_at),
            Some(time_zone),
            Some(reminders),
            Some(recurrence),
        ) if errors.is_empty() => Ok(ValidNewTask {
            title,
            description,
            priority: raw.priority,
            tags,
            due_at,
            time_zone,
            reminders,
            recurrence,
        }),
        _ => Err(errors),
    }
}

fn validate_patch(raw: &TaskPatch, broken: &HashSet<&str>) -> Result<ValidTaskPatch, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let e = &mut errors;
    let mut patch = ValidTaskPatch { priority: raw.priority, ..ValidTaskPatch::default() };
    if let Some(due_at) = raw.due_at {
        patch.due_at = check(e, broken, "due_at", || due_at.map(check_instant).transpose());
    }
    if let Some(title) = &raw.title {
        patch.title = check(e, broken, "title", || Title::parse(title));
    }
    if let Some(description) = &raw.description {
        patch.description =
            check(e, broken, "description", || description.as_deref().map(Description::parse).transpose());
    }
    if let Some(tags) = &raw.tags {
        patch.tags = check_all(e, broken, "tags", || Tags::parse(tags));
    }
    if let Some(time_zone) = &raw.time_zone {
        patch.time_zone = check(e, broken, "time_zone", || TimeZone::parse(time_zone));
    }
    if let Some(reminders) = &raw.reminders {
        patch.reminders = check_all(e, broken, "reminders", || Reminders::parse(reminders));
    }
    if let Some(recurrence) = &raw.recurrence {
        patch.recurrence =
            check(e, broken, "recurrence.rrule", || recurrence.as_ref().map(RecurrenceRule::try_from).transpose());
    }
    errors.into_result(|| patch)
}

/// The rules across fields, for a task with these values. `time_zone` is `None` when it is
/// invalid (then neither the recurrence nor the reminder instants are evaluated); pass no
/// `recurrence` to skip its evaluation when nothing it depends on changed.
pub(crate) fn cross_field_errors(
    due_at: Option<DateTime<Utc>>,
    time_zone: Option<TimeZone>,
    reminders: &Reminders,
    recurrence: Option<&RecurrenceRule>,
) -> ValidationErrors {
    let mut errors = ValidationErrors::default();
    for (i, _) in reminders.iter().enumerate().filter(|(_, r)| r.needs_due_at()) {
        if due_at.is_none() {
            errors.push(FieldError::new(
                format!("reminders[{i}].before_due"),
                Rule::RequiresDueAt,
                "needs the task to have due_at",
            ));
        }
    }
    if let (Some(due_at), Some(time_zone)) = (due_at, time_zone) {
        for (i, _) in reminders.iter().enumerate().filter(|(_, r)| r.instant(Some(due_at), time_zone).is_none()) {
            // Only a before_due rule so near the start of year 1 that it would fire earlier.
            errors.push(FieldError::new(
                format!("reminders[{i}].before_due"),
                Rule::Range,
                "would fire before 0001-01-01T00:00:00Z",
            ));
        }
    }
    match (recurrence, due_at, time_zone) {
        (Some(_), None, _) => {
            errors.push(FieldError::new("recurrence", Rule::RequiresDueAt, "needs the task to have due_at"));
        }
        (Some(recurrence), Some(due_at), Some(time_zone)) => {
            if let Err(v) = recurrence.check_start(due_at, time_zone) {
                errors.push(v.at("recurrence.rrule"));
            }
        }
        _ => {}
    }
    errors
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing::new_task;

    fn fields(errors: &ValidationErrors) -> Vec<(&str, Rule)> {
        errors.errors().iter().map(|e| (e.field.as_str(), e.rule)).collect()
    }

    #[test]
    fn a_before_due_reminder_without_due_at_names_the_reminder() {
        let raw = new_task(&json!({
            "title": "t",
            "reminders": [{"at": "2026-03-01T08:00:00Z"}, {"before_due": "PT15M"}]
        }));

        let errors = raw.validate().expect_err("no due_at");

        assert_eq!(fields(&errors), [("reminders[1].before_due", Rule::RequiresDueAt)]);
    }

    #[test]
    fn a_recurrence_without_due_at_is_rejected() {
        let raw = new_task(&json!({"title": "t", "recurrence": {"rrule": "FREQ=DAILY"}}));

        assert_eq!(fields(&raw.validate().expect_err("no due_at")), [("recurrence", Rule::RequiresDueAt)]);
    }

    #[test]
    fn every_invalid_field_is_reported_not_just_the_first() {
        let raw = new_task(&json!({"title": " ", "tags": ["a", "A"], "time_zone": "Mars/Base"}));

        let errors = raw.validate().expect_err("invalid");

        assert_eq!(
            fields(&errors),
            [("title", Rule::MinLength), ("tags[1]", Rule::Duplicate), ("time_zone", Rule::UnknownTimeZone)]
        );
    }

    #[test]
    fn fields_already_reported_by_a_reader_are_not_checked_again() {
        // A reader that found `due_at` malformed leaves it out; "needs due_at" would mislead.
        let raw = new_task(&json!({"title": "t", "reminders": [{"before_due": "PT15M"}]}));

        let errors = raw.validate_except(&HashSet::from(["due_at"])).expect_err("due_at is broken");

        assert_eq!(fields(&errors), [], "only the reader's error stands");
    }

    #[test]
    fn a_patch_validates_each_field_given_and_ignores_the_rest() {
        let patch =
            TaskPatch { title: Some(" ".into()), tags: Some(vec!["a".into(), "a".into()]), ..TaskPatch::default() };

        let errors = patch.validate().expect_err("invalid");

        assert_eq!(fields(&errors), [("title", Rule::MinLength), ("tags[1]", Rule::Duplicate)]);
        assert!(TaskPatch::default().validate().is_ok_and(|p| p.is_empty()));
    }
}

//! Reading task request bodies: `POST /v1/tasks` ([`NewTask`]) and `PATCH /v1/tasks/{id}`
//! ([`TaskPatch`]), into the domain's validated forms.
//!
//! Reading a body collects every error, not the first: unknown and read-only fields, wrong
//! JSON types and malformed instants (structural errors, `reader`), then the rules of each
//! field and across fields (the domain's, `task_domain`). A field with a structural error is
//! not checked further, so it never reports a second, misleading error.
//!
//! # Layout
//! - `reader`: the JSON reader and its structural checks.
//! - this module: [`FromJson`], reading and validating in one step ([`NewTask`] for a user,
//!   [`NewTaskOnBehalf`] for a service, which may also send `series`).

mod reader;

use event_schema::SeriesPosition;
use serde_json::Value;
use task_domain::{NewTask, TaskPatch, ValidNewTask, ValidTaskPatch, ValidationErrors};

/// A request body type that can be read from JSON and validated, reporting every error.
pub trait FromJson {
    /// What a valid body becomes.
    type Valid;

    /// Reads and validates a body, collecting every error.
    fn from_json(body: &Value) -> Result<Self::Valid, ValidationErrors>;
}

/// A `POST /v1/tasks` body from a plain user: `series` is a `read_only` error.
impl FromJson for NewTask {
    type Valid = ValidNewTask;

    fn from_json(body: &Value) -> Result<ValidNewTask, ValidationErrors> {
        let (raw, _, reader) = reader::read_new(body, false);
        merge(reader.errors, raw.validate_except(&reader.broken))
    }
}

/// A `POST /v1/tasks` body from a service acting for the user: a new task and, optionally,
/// its place in an existing series (`series`, checked against the task by
/// `Task::create_in_series`).
#[derive(Debug)]
pub struct NewTaskOnBehalf;

impl FromJson for NewTaskOnBehalf {
    type Valid = (ValidNewTask, Option<SeriesPosition>);

    fn from_json(body: &Value) -> Result<Self::Valid, ValidationErrors> {
        let (raw, series, reader) = reader::read_new(body, true);
        merge(reader.errors, raw.validate_except(&reader.broken)).map(|valid| (valid, series))
    }
}

impl FromJson for TaskPatch {
    type Valid = ValidTaskPatch;

    fn from_json(body: &Value) -> Result<ValidTaskPatch, ValidationErrors> {
        let (raw, reader) = reader::read_patch(body);
        merge(reader.errors, raw.validate_except(&reader.broken))
    }
}

/// The structural errors first, then the domain's.
fn merge<T>(mut errors: ValidationErrors, validated: Result<T, ValidationErrors>) -> Result<T, ValidationErrors> {
    match validated {
        Ok(valid) if errors.is_empty() => Ok(valid),
        Ok(_) => Err(errors),
        Err(more) => {
            errors.extend(more);
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use event_schema::{Priority, RecurrenceAnchor, TaskStatus};
    use serde_json::json;
    use task_domain::{Rule, Task, TimeZone};

    use super::*;

    /// A task created from `body` (`ValidNewTask` keeps its fields to the domain).
    fn created(body: &Value) -> Task {
        Task::create(NewTask::from_json(body).expect("valid"), "user-1", Utc::now())
    }

    fn fields(errors: &ValidationErrors) -> Vec<(&str, Rule)> {
        errors.errors().iter().map(|e| (e.field.as_str(), e.rule)).collect()
    }

    #[test]
    fn a_minimal_body_gets_the_defaults() {
        let task = created(&json!({"title": "  Buy milk "}));

        assert_eq!(task.title().as_str(), "Buy milk");
        assert_eq!(task.priority(), Priority::None);
        assert_eq!(task.time_zone(), TimeZone::UTC);
        assert_eq!(task.status(), TaskStatus::Open);
        assert!(task.tags().is_empty() && task.reminders().is_empty() && task.recurrence().is_none());
    }

    #[test]
    fn a_full_body_is_read_into_domain_values() {
        let task = created(&json!({
            "title": "Stand-up",
            "description": "daily",
            "priority": "high",
            "tags": ["Work"],
            "due_at": "2026-03-02T09:00:00+01:00",
            "time_zone": "Europe/Berlin",
            "reminders": [{"before_due": "PT15M"}, {"at": "2026-03-01T18:00:00Z"}],
            "recurrence": {"rrule": "FREQ=WEEKLY;BYDAY=MO,WE"}
        }));

        assert_eq!(task.due_at(), DateTime::parse_from_rfc3339("2026-03-02T08:00:00Z").ok().map(|d| d.to_utc()));
        assert_eq!(task.tags().as_slice(), ["work"]);
        assert_eq!(task.reminders().len(), 2);
        assert_eq!(task.recurrence().map(|r| r.anchor()), Some(RecurrenceAnchor::Due), "anchor defaults to due");
    }

    #[test]
    fn every_invalid_field_is_reported_with_its_path_and_rule() {
        let errors = NewTask::from_json(&json!({
            "title": "x".repeat(201),
            "priority": "super",
            "tags": ["a", "A"],
            "time_zone": "Mars/Base",
            "reminders": [{"before_due": "PT15M"}, {"before_due": "P2Y"}, {"at": "tomorrow"}],
            "recurrence": {"rrule": "FREQ=MINUTELY", "anchor": "due"},
            "colour": "red",
            "version": 7
        }))
        .expect_err("invalid");

        let mut found = fields(&errors);
        found.sort();
        let mut expected = vec![
            ("colour", Rule::UnknownField),
            ("version", Rule::ReadOnly),
            ("priority", Rule::OneOf),
            ("reminders[2].at", Rule::Format),
            ("title", Rule::MaxLength),
            ("tags[1]", Rule::Duplicate),
            ("time_zone", Rule::UnknownTimeZone),
            ("recurrence.rrule", Rule::Unsupported),
        ];
        expected.sort();
        assert_eq!(found, expected, "{errors}");
    }

    #[test]
    fn a_missing_title_is_required_and_a_null_title_is_not_nullable() {
        assert_eq!(fields(&NewTask::from_json(&json!({})).expect_err("no title")), [("title", Rule::Required)]);
        assert_eq!(
            fields(&NewTask::from_json(&json!({"title": null})).expect_err("null title")),
            [("title", Rule::NotNullable)]
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_is_a_type_error_on_the_body() {
        assert_eq!(fields(&NewTask::from_json(&json!(["title"])).expect_err("array")), [("", Rule::Type)]);
    }

    #[test]
    fn wrong_json_types_are_type_errors_and_hide_further_checks_of_that_field() {
        let errors = NewTask::from_json(&json!({
            "title": 5,
            "tags": ["ok", 3, "ok"],
            "due_at": 1700000000,
            "reminders": [{"before_due": "PT1H"}]
        }))
        .expect_err("invalid");

        // No duplicate error for tags[2] and no "needs due_at" for the reminder: the type
        // errors come first.
        let mut found = fields(&errors);
        found.sort();
        assert_eq!(found, [("due_at", Rule::Type), ("tags[1]", Rule::Type), ("title", Rule::Type)], "{errors}");
    }

    #[test]
    fn a_before_due_reminder_without_due_at_names_the_reminder() {
        let errors = NewTask::from_json(&json!({
            "title": "t",
            "reminders": [{"at": "2026-03-01T08:00:00Z"}, {"before_due": "PT15M"}]
        }))
        .expect_err("no due_at");

        assert_eq!(fields(&errors), [("reminders[1].before_due", Rule::RequiresDueAt)]);
    }

    #[test]
    fn a_recurrence_without_due_at_is_rejected() {
        let errors =
            NewTask::from_json(&json!({"title": "t", "recurrence": {"rrule": "FREQ=DAILY"}})).expect_err("no due_at");

        assert_eq!(fields(&errors), [("recurrence", Rule::RequiresDueAt)]);
    }

    #[test]
    fn an_abusive_recurrence_is_rejected() {
        let errors = NewTask::from_json(&json!({
            "title": "t",
            "due_at": "2026-01-01T09:00:00Z",
            "recurrence": {"rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}
        }))
        .expect_err("never repeats");

        assert_eq!(fields(&errors), [("recurrence.rrule", Rule::NoNextOccurrence)]);
    }

    #[test]
    fn a_reminder_must_have_exactly_one_known_shape() {
        let errors = NewTask::from_json(&json!({
            "title": "t",
            "due_at": "2026-01-01T09:00:00Z",
            "reminders": [{}, {"before_due": "PT1M", "at": "2026-01-01T08:00:00Z"}, {"minutes": 5}, "PT5M"]
        }))
        .expect_err("invalid");

        let mut found = fields(&errors);
        found.sort();
        assert_eq!(
            found,
            [
                ("reminders[0]", Rule::OneOf),
                ("reminders[1]", Rule::OneOf),
                ("reminders[2]", Rule::OneOf),
                ("reminders[2].minutes", Rule::UnknownField),
                ("reminders[3]", Rule::Type),
            ],
            "{errors}"
        );
    }

    #[test]
    fn a_recurrence_needs_an_rrule_and_a_known_anchor() {
        let errors = NewTask::from_json(&json!({
            "title": "t",
            "due_at": "2026-01-01T09:00:00Z",
            "recurrence": {"anchor": "whenever", "every": "day"}
        }))
        .expect_err("invalid");

        let mut found = fields(&errors);
        found.sort();
        assert_eq!(
            found,
            [
                ("recurrence.anchor", Rule::OneOf),
                ("recurrence.every", Rule::UnknownField),
                ("recurrence.rrule", Rule::Required)
            ]
        );
    }

    #[test]
    fn a_patch_distinguishes_absent_null_and_a_value() {
        let patch =
            TaskPatch::from_json(&json!({"description": null, "due_at": "2026-01-01T09:00:00Z"})).expect("valid");

        assert_eq!(patch.title, None, "absent: unchanged");
        assert_eq!(patch.description, Some(None), "null: cleared");
        assert!(matches!(patch.due_at, Some(Some(_))), "value: set");
        assert_eq!(patch.recurrence, None);
    }

    #[test]
    fn a_patch_cannot_null_a_field_that_has_no_empty_state() {
        let errors = TaskPatch::from_json(&json!({
            "title": null, "priority": null, "tags": null, "time_zone": null, "reminders": null
        }))
        .expect_err("not nullable");

        let mut found = fields(&errors);
        found.sort();
        assert_eq!(
            found,
            [
                ("priority", Rule::NotNullable),
                ("reminders", Rule::NotNullable),
                ("tags", Rule::NotNullable),
                ("time_zone", Rule::NotNullable),
                ("title", Rule::NotNullable),
            ]
        );
    }

    #[test]
    fn an_empty_patch_is_valid_and_empty() {
        assert!(TaskPatch::from_json(&json!({})).expect("valid").is_empty());
    }

    #[test]
    fn a_patch_validates_each_field_given() {
        let errors = TaskPatch::from_json(&json!({"title": " ", "tags": ["a", "a"], "status": "completed"}))
            .expect_err("invalid");

        let mut found = fields(&errors);
        found.sort();
        assert_eq!(found, [("status", Rule::ReadOnly), ("tags[1]", Rule::Duplicate), ("title", Rule::MinLength)]);
    }

    #[test]
    fn an_instant_that_leaves_years_1_to_9999_once_in_utc_is_out_of_range() {
        // Both are valid RFC 3339 text; in UTC they would be +10000-01-01T13:59:59Z and
        // -0001-12-31T10:00:00Z, which no RFC 3339 reader can take back.
        for instant in ["9999-12-31T23:59:59-14:00", "0000-01-01T00:00:00+14:00"] {
            let new = NewTask::from_json(&json!({"title": "t", "due_at": instant})).expect_err(instant);
            let at = NewTask::from_json(&json!({"title": "t", "reminders": [{"at": instant}]})).expect_err(instant);
            let patch = TaskPatch::from_json(&json!({"due_at": instant})).expect_err(instant);

            assert_eq!(fields(&new), [("due_at", Rule::Range)], "{instant}");
            assert_eq!(fields(&at), [("reminders[0].at", Rule::Range)], "{instant}");
            assert_eq!(fields(&patch), [("due_at", Rule::Range)], "{instant}");
        }
    }

    #[test]
    fn the_extreme_instants_that_stay_within_years_1_to_9999_are_accepted() {
        for instant in ["9999-12-31T23:59:59.999999Z", "9999-12-31T09:59:59-14:00", "0001-01-01T00:00:00Z"] {
            assert!(NewTask::from_json(&json!({"title": "t", "due_at": instant})).is_ok(), "{instant}");
        }
    }

    #[test]
    fn a_before_due_reminder_that_would_fire_before_year_1_is_out_of_range() {
        let errors = NewTask::from_json(&json!({
            "title": "t", "due_at": "0001-01-01T12:00:00Z", "reminders": [{"before_due": "PT1H"}, {"before_due": "P1D"}]
        }))
        .expect_err("the reminder would fire in year 0");

        assert_eq!(fields(&errors), [("reminders[1].before_due", Rule::Range)]);
    }

    #[test]
    fn an_rrule_with_empty_parts_is_a_format_error() {
        for rrule in ["FREQ=DAILY;;;", "FREQ=DAILY;", ";FREQ=DAILY", "FREQ=DAILY;;INTERVAL=2"] {
            let errors = NewTask::from_json(&json!({
                "title": "t", "due_at": "2026-01-01T09:00:00Z", "recurrence": {"rrule": rrule}
            }))
            .expect_err(rrule);

            assert_eq!(fields(&errors), [("recurrence.rrule", Rule::Format)], "{rrule}");
        }
    }

    #[test]
    fn the_body_the_domain_builds_for_a_successor_is_read_back_with_its_series_position() {
        let mut first = created(&json!({
            "title": "Stand-up", "description": "notes", "tags": ["work"], "due_at": "2030-03-04T09:00:00Z",
            "time_zone": "Europe/Berlin", "reminders": [{"before_due": "PT15M"}, {"at": "2030-03-03T18:00:00Z"}],
            "recurrence": {"rrule": "FREQ=DAILY;COUNT=3", "anchor": "due"}
        }));
        first.complete(DateTime::parse_from_rfc3339("2030-03-04T10:00:00Z").expect("instant").to_utc());
        let task_domain::NextOccurrence::Create(successor) =
            task_domain::next_occurrence(&first.snapshot()).expect("valid")
        else {
            panic!("a daily task has a successor")
        };

        let (valid, series) = NewTaskOnBehalf::from_json(&successor.body()).expect("the API accepts the body");

        assert_eq!(series, Some(successor.series));
        let task = Task::create_in_series(valid, "alice", Utc::now(), successor.series).expect("a valid position");
        assert_eq!(task.due_at(), successor.task.due_at);
        assert_eq!(task.reminders().to_wire(), successor.task.reminders);
        assert!(
            NewTask::from_json(&successor.body()).is_err_and(|e| e.has("series", Rule::ReadOnly)),
            "a user may not send it"
        );
    }
}

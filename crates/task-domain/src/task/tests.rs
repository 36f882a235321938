//! Tests of [`Task`](super::Task).

use event_schema::SeriesPosition;
use serde_json::json;

use super::*;
use crate::testing::{now, task, utc, valid_new_task, valid_patch as patch};

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
    assert_eq!(task.series_start(), Some(utc("2026-02-02T09:00:00Z")));
    assert_eq!((task.occurrence_number(), task.follows()), (Some(1), None));
}

fn second_of_a_daily_series() -> Task {
    let first = task(&json!({"title": "t", "due_at": "2026-03-02T09:00:00Z", "recurrence": {"rrule": "FREQ=DAILY"}}));
    let series = SeriesPosition {
        id: first.id(),
        start: utc("2026-03-02T09:00:00Z"),
        occurrence_at: utc("2026-03-03T09:00:00Z"),
        occurrence_number: 2,
        follows: Some(utc("2026-03-02T09:00:00Z")),
    };
    let new = valid_new_task(&json!({
        "title": "t", "due_at": "2026-03-03T09:00:00Z", "recurrence": {"rrule": "FREQ=DAILY"}
    }));
    Task::create_in_series(new, "user-1", now(), series).expect("a valid position")
}

#[test]
fn a_task_created_in_a_series_keeps_the_position_it_was_given() {
    let task = second_of_a_daily_series();

    assert_ne!(task.series_id(), Some(task.id()));
    assert_eq!(task.occurrence_at(), Some(utc("2026-03-03T09:00:00Z")));
    assert_eq!(task.series_start(), Some(utc("2026-03-02T09:00:00Z")));
    assert_eq!((task.occurrence_number(), task.follows()), (Some(2), Some(utc("2026-03-02T09:00:00Z"))));
    assert_eq!(Task::restore("user-1", task.snapshot()), Ok(task));
}

#[test]
fn a_series_position_needs_a_recurrence_and_an_occurrence_equal_to_due_at() {
    let series = SeriesPosition {
        id: Uuid::now_v7(),
        start: utc("2026-03-05T09:00:00Z"),
        occurrence_at: utc("2026-03-03T09:00:00Z"),
        occurrence_number: 0,
        follows: Some(utc("2026-03-04T09:00:00Z")),
    };
    let plain = valid_new_task(&json!({"title": "t", "due_at": "2026-03-04T09:00:00Z"}));

    let errors = Task::create_in_series(plain, "user-1", now(), series).expect_err("invalid");

    assert!(errors.has("series", Rule::RequiresRecurrence), "{errors}");
    assert!(errors.has("series.occurrence_number", Rule::Range), "{errors}");
    assert!(errors.has("series.occurrence_at", Rule::Inconsistent), "{errors}");
    assert!(errors.has("series.start", Rule::Range), "{errors}");
    assert!(errors.has("series.follows", Rule::Range), "{errors}");
}

#[test]
fn a_series_position_beyond_the_rule_count_is_refused() {
    let series = SeriesPosition {
        id: Uuid::now_v7(),
        start: utc("2026-03-01T09:00:00Z"),
        occurrence_at: utc("2026-03-04T09:00:00Z"),
        occurrence_number: 4,
        follows: Some(utc("2026-03-03T09:00:00Z")),
    };
    let new = valid_new_task(&json!({
        "title": "t", "due_at": "2026-03-04T09:00:00Z", "recurrence": {"rrule": "FREQ=DAILY;COUNT=3"}
    }));

    let errors = Task::create_in_series(new, "user-1", now(), series).expect_err("beyond COUNT");

    assert!(errors.has("series.occurrence_number", Rule::Range), "{errors}");
}

#[test]
fn changing_the_recurrence_of_an_occurrence_restarts_the_series_position_at_it() {
    let mut task = second_of_a_daily_series();

    let changes = task.apply(patch(&json!({"recurrence": {"rrule": "FREQ=WEEKLY"}})), now()).expect("valid");

    assert_eq!(changed_fields(&changes), ["recurrence", "series_start", "occurrence_number"]);
    assert_eq!(task.series_start(), Some(utc("2026-03-03T09:00:00Z")));
    assert_eq!(task.occurrence_number(), Some(1));
    assert_eq!(task.follows(), Some(utc("2026-03-02T09:00:00Z")), "still the successor of its predecessor");
}

#[test]
fn changing_the_time_zone_of_a_recurring_task_restarts_the_series_position_at_it() {
    let mut task = second_of_a_daily_series();

    task.apply(patch(&json!({"time_zone": "Europe/Berlin"})), now()).expect("valid");

    assert_eq!((task.series_start(), task.occurrence_number()), (Some(utc("2026-03-03T09:00:00Z")), Some(1)));
}

#[test]
fn moving_a_later_occurrence_keeps_its_slot_and_moving_the_first_moves_the_schedule() {
    let mut later = second_of_a_daily_series();
    let mut first =
        task(&json!({"title": "t", "due_at": "2026-03-02T09:00:00Z", "recurrence": {"rrule": "FREQ=DAILY"}}));

    later.apply(patch(&json!({"due_at": "2026-03-03T17:00:00Z"})), now()).expect("valid");
    first.apply(patch(&json!({"due_at": "2026-03-02T17:00:00Z"})), now()).expect("valid");

    assert_eq!(later.occurrence_at(), Some(utc("2026-03-03T09:00:00Z")));
    assert_eq!((later.series_start(), later.occurrence_number()), (Some(utc("2026-03-02T09:00:00Z")), Some(2)));
    assert_eq!(first.occurrence_at(), Some(utc("2026-03-02T17:00:00Z")));
    assert_eq!(first.series_start(), Some(utc("2026-03-02T17:00:00Z")));
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

    let changes =
        task.apply(patch(&json!({"title": " Same ", "tags": ["WORK"]})), utc("2026-02-02T00:00:00Z")).expect("valid");

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

    assert_eq!(
        changed_fields(&changes),
        ["recurrence", "series_id", "occurrence_at", "series_start", "occurrence_number"]
    );
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

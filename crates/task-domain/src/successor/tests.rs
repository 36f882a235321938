//! Tests of [`next_occurrence`](super::next_occurrence): one per line of `docs/recurrence.md`.

use chrono::{DateTime, Utc};
use event_schema::{Priority, ReminderRule, TaskSnapshot};
use serde_json::{Value, json};

use super::*;
use crate::testing::{now, task, utc, valid_patch};

/// A task created from `body`, completed at `completed_at`, as its `task.completed` snapshot.
fn completed(body: &Value, completed_at: &str) -> TaskSnapshot {
    let mut task = task(body);
    task.complete(utc(completed_at));
    task.snapshot()
}

fn successor(snapshot: &TaskSnapshot) -> Successor {
    match next_occurrence(snapshot).expect("a valid snapshot") {
        NextOccurrence::Create(successor) => successor,
        other => panic!("expected a successor, got {other:?}"),
    }
}

/// The successor created (as task-api would), then completed at `completed_at`.
fn complete_successor(successor: &Successor, completed_at: &str) -> TaskSnapshot {
    let valid = successor.task.validate().expect("a valid successor");
    let mut task = Task::create_in_series(valid, "user-1", now(), successor.series).expect("a valid position");
    task.complete(utc(completed_at));
    task.snapshot()
}

fn due(successor: &Successor) -> Option<DateTime<Utc>> {
    successor.task.due_at
}

#[test]
fn completing_a_daily_task_on_time_creates_tomorrows_occurrence_with_its_fields_copied() {
    let done = completed(
        &json!({
            "title": "Stand-up", "description": "notes", "priority": "high", "tags": ["work"],
            "due_at": "2026-03-02T09:00:00Z", "time_zone": "Europe/Berlin",
            "recurrence": {"rrule": "FREQ=DAILY"}
        }),
        "2026-03-02T08:55:00Z",
    );

    let next = successor(&done);

    assert_eq!(next.task.title, "Stand-up");
    assert_eq!(next.task.description.as_deref(), Some("notes"));
    assert_eq!(next.task.priority, Priority::High);
    assert_eq!(next.task.tags, ["work"]);
    assert_eq!(next.task.time_zone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(next.task.recurrence, done.recurrence);
    assert_eq!(due(&next), Some(utc("2026-03-03T09:00:00Z")));
    assert_eq!(
        next.series,
        SeriesPosition {
            id: done.id,
            start: utc("2026-03-02T09:00:00Z"),
            occurrence_at: utc("2026-03-03T09:00:00Z"),
            occurrence_number: 2,
            follows: Some(utc("2026-03-02T09:00:00Z")),
        }
    );
    assert_eq!(next.skipped, 0);
}

#[test]
fn completing_the_successor_creates_the_next_one_in_the_same_series() {
    let first = successor(&completed(
        &json!({"title": "t", "due_at": "2026-03-02T09:00:00Z", "recurrence": {"rrule": "FREQ=DAILY"}}),
        "2026-03-02T10:00:00Z",
    ));

    let second = successor(&complete_successor(&first, "2026-03-03T10:00:00Z"));

    assert_eq!(due(&second), Some(utc("2026-03-04T09:00:00Z")));
    assert_eq!((second.series.id, second.series.start), (first.series.id, first.series.start));
    assert_eq!(second.series.occurrence_number, 3);
    assert_eq!(second.series.follows, Some(utc("2026-03-03T09:00:00Z")));
}

#[test]
fn a_daily_0900_task_completed_three_days_late_at_1500_yields_tomorrow_0900_with_three_skipped() {
    // Due Sunday 1 March 09:00; done Wednesday 4 March 15:00: 2, 3 and 4 March were due too.
    let done = completed(
        &json!({"title": "t", "due_at": "2026-03-01T09:00:00Z", "recurrence": {"rrule": "FREQ=DAILY"}}),
        "2026-03-04T15:00:00Z",
    );

    let next = successor(&done);

    assert_eq!(due(&next), Some(utc("2026-03-05T09:00:00Z")));
    assert_eq!(next.skipped, 3);
    assert_eq!(next.series.occurrence_number, 5, "the skipped occurrences are counted");
}

#[test]
fn a_task_completed_early_yields_the_occurrence_after_its_own() {
    let done = completed(
        &json!({"title": "t", "due_at": "2026-03-05T09:00:00Z", "recurrence": {"rrule": "FREQ=WEEKLY"}}),
        "2026-03-01T09:00:00Z",
    );

    assert_eq!(due(&successor(&done)), Some(utc("2026-03-12T09:00:00Z")));
}

#[test]
fn a_weekly_monday_0900_berlin_task_completed_across_the_march_change_stays_at_0900_local() {
    let done = completed(
        &json!({
            "title": "Plan the week", "due_at": "2026-03-23T08:00:00Z", "time_zone": "Europe/Berlin",
            "recurrence": {"rrule": "FREQ=WEEKLY;BYDAY=MO"}
        }),
        "2026-03-23T09:00:00Z",
    );

    assert_eq!(due(&successor(&done)), Some(utc("2026-03-30T09:00:00+02:00")));
}

#[test]
fn a_monthly_task_on_the_31st_skips_the_months_without_one() {
    let done = completed(
        &json!({"title": "t", "due_at": "2026-01-31T09:00:00Z", "recurrence": {"rrule": "FREQ=MONTHLY;BYMONTHDAY=31"}}),
        "2026-01-31T10:00:00Z",
    );

    assert_eq!(due(&successor(&done)), Some(utc("2026-03-31T09:00:00Z")));
}

#[test]
fn count_3_yields_exactly_two_successors_and_then_the_series_ends() {
    let body = json!({"title": "t", "due_at": "2026-03-02T09:00:00Z", "recurrence": {"rrule": "FREQ=DAILY;COUNT=3"}});

    let second = successor(&completed(&body, "2026-03-02T10:00:00Z"));
    let third = successor(&complete_successor(&second, "2026-03-03T10:00:00Z"));
    let after_third = next_occurrence(&complete_successor(&third, "2026-03-04T10:00:00Z"));

    assert_eq!((second.series.occurrence_number, third.series.occurrence_number), (2, 3));
    assert_eq!(after_third, Ok(NextOccurrence::Ended));
}

#[test]
fn skipping_occurrences_never_exceeds_count() {
    let done = completed(
        &json!({"title": "t", "due_at": "2026-03-02T09:00:00Z", "recurrence": {"rrule": "FREQ=DAILY;COUNT=3"}}),
        "2026-03-06T10:00:00Z",
    );

    assert_eq!(next_occurrence(&done), Ok(NextOccurrence::Ended));
}

#[test]
fn a_series_whose_until_passed_before_the_completion_ends() {
    let done = completed(
        &json!({
            "title": "t", "due_at": "2026-03-02T09:00:00Z",
            "recurrence": {"rrule": "FREQ=DAILY;UNTIL=20260304T090000Z"}
        }),
        "2026-03-10T10:00:00Z",
    );

    assert_eq!(next_occurrence(&done), Ok(NextOccurrence::Ended));
}

#[test]
fn until_is_inclusive() {
    let done = completed(
        &json!({
            "title": "t", "due_at": "2026-03-02T09:00:00Z",
            "recurrence": {"rrule": "FREQ=DAILY;UNTIL=20260303T090000Z"}
        }),
        "2026-03-02T10:00:00Z",
    );

    assert_eq!(due(&successor(&done)), Some(utc("2026-03-03T09:00:00Z")));
}

#[test]
fn a_completion_anchored_task_restarts_from_the_completion_day_at_the_due_time_of_day() {
    let done = completed(
        &json!({
            "title": "Water the plants", "due_at": "2026-03-02T09:00:00Z",
            "recurrence": {"rrule": "FREQ=WEEKLY", "anchor": "completion"}
        }),
        "2026-03-05T18:30:00Z", // Thursday
    );

    let next = successor(&done);

    assert_eq!(due(&next), Some(utc("2026-03-12T09:00:00Z")));
    assert_eq!(next.series.start, utc("2026-03-05T09:00:00Z"), "the restart point");
    assert_eq!((next.series.occurrence_number, next.skipped), (2, 0));
}

#[test]
fn a_completion_anchored_series_with_count_2_has_two_tasks() {
    let body = json!({
        "title": "t", "due_at": "2026-03-02T09:00:00Z",
        "recurrence": {"rrule": "FREQ=DAILY;COUNT=2", "anchor": "completion"}
    });

    let second = successor(&completed(&body, "2026-03-04T12:00:00Z"));
    let after_second = next_occurrence(&complete_successor(&second, "2026-03-07T12:00:00Z"));

    assert_eq!(due(&second), Some(utc("2026-03-05T09:00:00Z")));
    assert_eq!(after_second, Ok(NextOccurrence::Ended));
}

#[test]
fn before_due_reminders_are_kept_and_absolute_ones_shift_with_the_due_time() {
    let done = completed(
        &json!({
            "title": "t", "due_at": "2026-03-02T09:00:00Z", "recurrence": {"rrule": "FREQ=WEEKLY"},
            "reminders": [{"before_due": "PT15M"}, {"at": "2026-03-01T18:00:00Z"}]
        }),
        "2026-03-02T10:00:00Z",
    );

    let next = successor(&done);

    assert_eq!(
        next.task.reminders,
        [ReminderRule::BeforeDue { before_due: "PT15M".into() }, ReminderRule::At { at: utc("2026-03-08T18:00:00Z") }]
    );
}

#[test]
fn a_later_occurrence_whose_due_at_was_moved_keeps_its_slot_on_the_schedule() {
    // Weekly on Mondays; the occurrence of Monday 9 March is moved to Wednesday the 11th.
    let first = successor(&completed(
        &json!({"title": "t", "due_at": "2026-03-02T09:00:00Z", "recurrence": {"rrule": "FREQ=WEEKLY"},
                "reminders": [{"at": "2026-03-02T08:00:00Z"}]}),
        "2026-03-02T10:00:00Z",
    ));
    let valid = first.task.validate().expect("valid");
    let mut moved = Task::create_in_series(valid, "user-1", now(), first.series).expect("valid");
    moved.apply(valid_patch(&json!({"due_at": "2026-03-11T09:00:00Z"})), now()).expect("valid patch");
    moved.complete(utc("2026-03-11T10:00:00Z"));

    let next = successor(&moved.snapshot());

    assert_eq!(moved.occurrence_at(), Some(utc("2026-03-09T09:00:00Z")), "the slot");
    assert_eq!(due(&next), Some(utc("2026-03-16T09:00:00Z")), "back on Mondays");
    assert_eq!(next.series.follows, Some(utc("2026-03-09T09:00:00Z")));
    // The absolute reminder (9 March 08:00 on the moved task) shifts by as much as due_at
    // moved: from the 11th to the 16th, five days.
    assert_eq!(next.task.reminders, [ReminderRule::At { at: utc("2026-03-14T08:00:00Z") }]);
}

#[test]
fn a_daily_0230_task_in_the_spring_gap_is_due_at_0330_and_back_at_0230_the_day_after() {
    let done = completed(
        &json!({"title": "t", "due_at": "2026-03-28T02:30:00+01:00", "time_zone": "Europe/Berlin",
                "recurrence": {"rrule": "FREQ=DAILY"}}),
        "2026-03-28T03:00:00+01:00",
    );

    let gap_day = successor(&done);
    let day_after = successor(&complete_successor(&gap_day, "2026-03-29T04:00:00+02:00"));

    assert_eq!(due(&gap_day), Some(utc("2026-03-29T03:30:00+02:00")));
    assert_eq!(due(&day_after), Some(utc("2026-03-30T02:30:00+02:00")));
}

#[test]
fn a_daily_0230_task_on_the_autumn_change_is_due_at_the_first_0230() {
    let done = completed(
        &json!({"title": "t", "due_at": "2026-10-24T02:30:00+02:00", "time_zone": "Europe/Berlin",
                "recurrence": {"rrule": "FREQ=DAILY"}}),
        "2026-10-24T03:00:00+02:00",
    );

    assert_eq!(due(&successor(&done)), Some(utc("2026-10-25T02:30:00+02:00")));
}

#[test]
fn an_open_task_or_one_without_recurrence_has_nothing_to_create() {
    let open = task(&json!({"title": "t", "due_at": "2026-03-02T09:00:00Z", "recurrence": {"rrule": "FREQ=DAILY"}}));
    let once = completed(&json!({"title": "t", "due_at": "2026-03-02T09:00:00Z"}), "2026-03-02T10:00:00Z");

    assert_eq!(next_occurrence(&open.snapshot()), Ok(NextOccurrence::NotRecurring));
    assert_eq!(next_occurrence(&once), Ok(NextOccurrence::NotRecurring));
}

#[test]
fn an_occurrence_whose_recurrence_was_removed_ends_the_series() {
    let mut task =
        task(&json!({"title": "t", "due_at": "2026-03-02T09:00:00Z", "recurrence": {"rrule": "FREQ=DAILY"}}));
    task.apply(valid_patch(&json!({"recurrence": null})), now()).expect("valid");
    task.complete(utc("2026-03-02T10:00:00Z"));

    assert_eq!(task.series_id(), Some(task.id()), "the position is kept as a record");
    assert_eq!(next_occurrence(&task.snapshot()), Ok(NextOccurrence::NotRecurring));
}

#[test]
fn a_snapshot_from_before_series_start_existed_is_read_as_the_first_occurrence() {
    let mut done = completed(
        &json!({"title": "t", "due_at": "2026-03-02T09:00:00Z", "recurrence": {"rrule": "FREQ=DAILY"}}),
        "2026-03-02T10:00:00Z",
    );
    (done.series_start, done.occurrence_number, done.follows) = (None, None, None);

    let next = successor(&done);

    assert_eq!((due(&next), next.series.occurrence_number), (Some(utc("2026-03-03T09:00:00Z")), 2));
}

#[test]
fn a_snapshot_that_is_not_a_valid_task_is_an_error_naming_the_field() {
    let mut done = completed(&json!({"title": "t"}), "2026-03-02T10:00:00Z");
    done.title = String::new();

    let errors = next_occurrence(&done).expect_err("invalid");

    assert!(errors.has("title", crate::Rule::MinLength), "{errors}");
}

#[test]
fn the_body_is_a_create_request_with_the_series_position() {
    let next = successor(&completed(
        &json!({"title": "t", "due_at": "2026-03-02T09:00:00Z", "recurrence": {"rrule": "FREQ=DAILY"}}),
        "2026-03-02T10:00:00Z",
    ));

    let body = next.body();

    assert_eq!(body["due_at"], json!("2026-03-03T09:00:00Z"));
    assert_eq!(body["recurrence"], json!({"rrule": "FREQ=DAILY", "anchor": "due"}));
    assert_eq!(body["series"]["occurrence_number"], json!(2));
    assert_eq!(body["series"]["follows"], json!("2026-03-02T09:00:00Z"));
    assert_eq!(body["time_zone"], json!("UTC"));
}

//! A completed occurrence becomes one successor with the task's fields; completing it again
//! (after a reopen) creates nothing new.

use chrono::{DateTime, Days, NaiveTime, TimeZone as _, Utc};
use chrono_tz::America::New_York;
use serde_json::{Value, json};

use crate::helpers::*;

fn instant(task: &Value, field: &str) -> DateTime<Utc> {
    text(task, field).parse().unwrap_or_else(|e| panic!("{field} of {task}: {e}"))
}

/// The `at` reminder of `task`.
fn at_reminder(task: &Value) -> DateTime<Utc> {
    let reminders = task["reminders"].as_array().expect("reminders");
    let at = reminders.iter().find_map(|r| r["at"].as_str()).unwrap_or_else(|| panic!("an `at` reminder in {task}"));
    at.parse().expect("an instant")
}

/// 09:00 in New York `days` days from today (New York's today).
fn nine_in_new_york(days: u64) -> DateTime<Utc> {
    let today = Utc::now().with_timezone(&New_York).date_naive();
    let day = today.checked_add_days(Days::new(days)).expect("a date");
    let nine = NaiveTime::from_hms_opt(9, 0, 0).expect("09:00");
    New_York.from_local_datetime(&day.and_time(nine)).single().expect("09:00 exists every day").with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completing_a_daily_task_creates_one_successor_due_the_next_day_with_its_fields_and_completing_that_creates_the_next()
 {
    let stack = Stack::new();
    let api = spawn_task_api(&stack, &fresh_database().await, 0).await;
    let consumer = spawn_consumer(&stack, &api.base).await;
    let user = unique("alice");
    let due = nine_in_new_york(1);
    let first = api
        .create(
            &user,
            json!({
                "title": "Water the plants",
                "description": "The ones on the balcony",
                "priority": "high",
                "tags": ["home", "plants"],
                "due_at": due,
                "time_zone": "America/New_York",
                "reminders": [{ "before_due": "PT1H" }, { "at": due - chrono::Duration::hours(2) }],
                "recurrence": { "rrule": "FREQ=DAILY", "anchor": "due" },
            }),
        )
        .await;
    let series_id = text(&first, "series_id").to_owned();

    api.complete(&user, text(&first, "id")).await;

    eventually("the successor", || async { api.series(&user, &series_id).await.len() == 2 }).await;
    let series = api.series(&user, &series_id).await;
    let successor = &series[1];
    assert_ne!(successor["id"], first["id"]);
    assert_eq!(successor["status"], "open");
    assert_eq!(instant(successor, "due_at"), nine_in_new_york(2), "09:00 in New York the next day");
    assert_eq!(instant(successor, "occurrence_at"), nine_in_new_york(2));
    for field in ["title", "description", "priority", "tags", "time_zone", "recurrence", "series_id"] {
        assert_eq!(successor[field], first[field], "{field} is copied");
    }
    let shift = instant(successor, "due_at") - due;
    assert!(
        successor["reminders"].as_array().expect("reminders").contains(&json!({ "before_due": "PT1H" })),
        "a before_due reminder follows the new due time: {successor}"
    );
    assert_eq!(at_reminder(successor), at_reminder(&first) + shift, "an absolute reminder moves with the due time");

    api.complete(&user, text(successor, "id")).await;

    eventually("the successor's successor", || async { api.series(&user, &series_id).await.len() == 3 }).await;
    wait_until_consumed(&stack, &api).await;
    let series = api.series(&user, &series_id).await;
    assert_eq!(series.len(), 3, "exactly one successor per completion: {series:?}");
    assert_eq!(instant(&series[2], "due_at"), nine_in_new_york(3));
    assert_eq!(series[2]["status"], "open");
    consumer.shutdown().await;
    api.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completing_reopening_and_completing_the_same_occurrence_again_creates_one_successor() {
    let stack = Stack::new();
    let api = spawn_task_api(&stack, &fresh_database().await, 0).await;
    let consumer = spawn_consumer(&stack, &api.base).await;
    let user = unique("bob");
    let first = api
        .create(&user, recurring("Stretch", &nine_in_new_york(1).to_rfc3339(), "America/New_York", "FREQ=DAILY"))
        .await;
    let (id, series_id) = (text(&first, "id").to_owned(), text(&first, "series_id").to_owned());
    api.complete(&user, &id).await;
    eventually("the successor", || async { api.series(&user, &series_id).await.len() == 2 }).await;
    let successor = api.series(&user, &series_id).await[1].clone();
    let duplicates_before = consumer.counter("taskstream_recurring_duplicates_avoided_total").await;

    api.reopen(&user, &id).await;
    api.complete(&user, &id).await;

    wait_until_consumed(&stack, &api).await;
    let series = api.series(&user, &series_id).await;
    assert_eq!(series.len(), 2, "still one successor: {series:?}");
    assert_eq!(series[1]["id"], successor["id"], "the same successor");
    assert!(
        consumer.counter("taskstream_recurring_duplicates_avoided_total").await > duplicates_before,
        "the second completion was answered with the existing successor"
    );
    consumer.shutdown().await;
    api.shutdown().await;
}

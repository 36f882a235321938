//! Successors land where the rule says: local wall-clock time across a daylight-saving change,
//! the 31st only in months that have one, `COUNT` and `UNTIL` ending the series.
//!
//! Dates are computed from today (the first suitable one ahead), so the tests never go stale.

use chrono::{DateTime, Datelike as _, Days, NaiveDate, NaiveTime, TimeZone as _, Timelike as _, Utc, Weekday};
use chrono_tz::Europe::Berlin;
use serde_json::Value;

use crate::helpers::*;

fn due(task: &Value) -> DateTime<Utc> {
    text(task, "due_at").parse().unwrap_or_else(|e| panic!("due_at of {task}: {e}"))
}

fn nine() -> NaiveTime {
    NaiveTime::from_hms_opt(9, 0, 0).expect("09:00")
}

/// The Monday before the next spring change of Europe/Berlin (the last Sunday of March) that
/// is at least two days ahead, at 09:00 Berlin time.
fn monday_before_the_spring_change() -> DateTime<Utc> {
    let soon = Utc::now().date_naive() + Days::new(2);
    (soon.year()..)
        .map(|year| {
            let april = NaiveDate::from_ymd_opt(year, 4, 1).expect("1 April");
            let last_sunday = april
                - Days::new(match april.weekday().num_days_from_sunday() {
                    0 => 7,
                    back => u64::from(back),
                });
            last_sunday - Days::new(6)
        })
        .find(|monday| *monday >= soon)
        .map(|monday| Berlin.from_local_datetime(&monday.and_time(nine())).single().expect("09:00 exists"))
        .expect("a spring change ahead")
        .with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weekly_monday_task_at_nine_in_berlin_completed_across_the_march_change_stays_at_nine_local() {
    let stack = Stack::new();
    let api = spawn_task_api(&stack, &fresh_database().await, 0).await;
    let consumer = spawn_consumer(&stack, &api.base).await;
    let user = unique("carol");
    let before = monday_before_the_spring_change();
    assert_eq!(before.hour(), 8, "09:00 CET is 08:00 UTC");
    let first =
        api.create(&user, recurring("Team sync", &before.to_rfc3339(), "Europe/Berlin", "FREQ=WEEKLY;BYDAY=MO")).await;
    let series_id = text(&first, "series_id").to_owned();

    api.complete(&user, text(&first, "id")).await;

    eventually("the successor", || async { api.series(&user, &series_id).await.len() == 2 }).await;
    let after = due(&api.series(&user, &series_id).await[1]);
    assert_eq!(after.date_naive(), before.date_naive() + Days::new(7), "the next Monday");
    assert_eq!(after.hour(), 7, "09:00 CEST is 07:00 UTC: {after}");
    let local = after.with_timezone(&Berlin);
    assert_eq!((local.weekday(), local.time()), (Weekday::Mon, nine()), "Monday 09:00 in Berlin");
    consumer.shutdown().await;
    api.shutdown().await;
}

/// The first 31st at least two days ahead whose next month has no 31st, at 09:00 UTC.
fn a_31st_before_a_short_month() -> DateTime<Utc> {
    let soon = Utc::now().date_naive() + Days::new(2);
    (0..24)
        .filter_map(|months| soon.checked_add_months(chrono::Months::new(months)))
        .filter_map(|day| NaiveDate::from_ymd_opt(day.year(), day.month(), 31))
        .filter(|d| *d >= soon && (*d + Days::new(31)).day() != 31)
        .map(|d| Utc.from_utc_datetime(&d.and_time(nine())))
        .next()
        .expect("a 31st ahead")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monthly_task_on_the_31st_skips_the_months_without_one() {
    let stack = Stack::new();
    let api = spawn_task_api(&stack, &fresh_database().await, 0).await;
    let consumer = spawn_consumer(&stack, &api.base).await;
    let user = unique("dave");
    let first_due = a_31st_before_a_short_month();
    let first = api
        .create(&user, recurring("Pay the rent", &first_due.to_rfc3339(), "UTC", "FREQ=MONTHLY;BYMONTHDAY=31"))
        .await;
    let series_id = text(&first, "series_id").to_owned();

    api.complete(&user, text(&first, "id")).await;

    eventually("the successor", || async { api.series(&user, &series_id).await.len() == 2 }).await;
    let next = due(&api.series(&user, &series_id).await[1]);
    let expected = first_due.checked_add_months(chrono::Months::new(2)).expect("two months on");
    assert_eq!(next, expected, "the 31st two months on (the month between has none), not the 1st or the 30th");
    consumer.shutdown().await;
    api.shutdown().await;
}

/// 09:00 UTC `days` days from today.
fn nine_utc(days: u64) -> DateTime<Utc> {
    Utc.from_utc_datetime(&(Utc::now().date_naive() + Days::new(days)).and_time(nine()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_series_with_count_3_yields_exactly_two_successors_and_then_none() {
    let stack = Stack::new();
    let api = spawn_task_api(&stack, &fresh_database().await, 0).await;
    let consumer = spawn_consumer(&stack, &api.base).await;
    let user = unique("erin");
    let first =
        api.create(&user, recurring("Take the pills", &nine_utc(1).to_rfc3339(), "UTC", "FREQ=DAILY;COUNT=3")).await;
    let series_id = text(&first, "series_id").to_owned();

    let mut current = first;
    for occurrences in [2, 3] {
        api.complete(&user, text(&current, "id")).await;
        eventually(&format!("occurrence {occurrences}"), || async {
            api.series(&user, &series_id).await.len() == occurrences
        })
        .await;
        current = api.series(&user, &series_id).await[occurrences - 1].clone();
    }
    api.complete(&user, text(&current, "id")).await;

    wait_until_consumed(&stack, &api).await;
    let series = api.series(&user, &series_id).await;
    assert_eq!(series.len(), 3, "three occurrences in all: {series:?}");
    let dues: Vec<_> = series.iter().map(due).collect();
    assert_eq!(dues, [nine_utc(1), nine_utc(2), nine_utc(3)]);
    assert!(series.iter().all(|t| t["status"] == "completed"), "the last one completed, nothing open");
    consumer.shutdown().await;
    api.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_series_whose_until_has_passed_yields_no_successor() {
    let stack = Stack::new();
    let api = spawn_task_api(&stack, &fresh_database().await, 0).await;
    let consumer = spawn_consumer(&stack, &api.base).await;
    let user = unique("frank");
    // Due three days ago, repeating daily until yesterday: completed now, every occurrence
    // the rule has left is already past.
    let until = (Utc::now() - chrono::Duration::days(1)).format("%Y%m%dT%H%M%SZ");
    let three_days_ago = Utc.from_utc_datetime(&(Utc::now().date_naive() - Days::new(3)).and_time(nine()));
    let rule = format!("FREQ=DAILY;UNTIL={until}");
    let task = api.create(&user, recurring("Old habit", &three_days_ago.to_rfc3339(), "UTC", &rule)).await;
    let series_id = text(&task, "series_id").to_owned();

    api.complete(&user, text(&task, "id")).await;

    wait_until_consumed(&stack, &api).await;
    let series = api.series(&user, &series_id).await;
    assert_eq!(series.len(), 1, "no successor: {series:?}");
    consumer.shutdown().await;
    api.shutdown().await;
}

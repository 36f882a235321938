//! Replays create nothing; malformed events are dead-lettered and the consumer carries on.

use std::time::Duration;

use rdkafka::Message as _;
use rdkafka::message::Headers as _;

use crate::helpers::*;

/// `count` daily tasks of `user`, due tomorrow, completed; returns once each has its successor.
async fn complete_daily_tasks(api: &TaskApi, user: &str, count: usize) {
    let due = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    for i in 0..count {
        let task = api.create(user, recurring(&format!("Chore {i}"), &due, "UTC", "FREQ=DAILY")).await;
        api.complete(user, text(&task, "id")).await;
    }
    eventually("every successor", || async { api.tasks(user, "status=open").await.len() == count }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resetting_the_group_to_the_beginning_and_replaying_creates_no_task() {
    let stack = Stack::new();
    let api = spawn_task_api(&stack, &fresh_database().await, 0).await;
    let consumer = spawn_consumer(&stack, &api.base).await;
    let user = unique("gina");
    complete_daily_tasks(&api, &user, 6).await;
    wait_until_consumed(&stack, &api).await;
    assert_eq!(api.tasks(&user, "").await.len(), 12);
    // The process's metrics, which the next consumer (in this process) reports too.
    let duplicates_before = consumer.counter("taskstream_recurring_duplicates_avoided_total").await;
    consumer.shutdown().await;

    reset_offsets_to_beginning(&stack).await;
    assert_eq!(committed_total(&stack).await, 0, "offsets reset");
    let consumer = spawn_consumer(&stack, &api.base).await;
    wait_until_consumed(&stack, &api).await;

    assert_eq!(api.tasks(&user, "").await.len(), 12, "the replay created no task");
    assert!(
        consumer.counter("taskstream_recurring_duplicates_avoided_total").await >= duplicates_before + 6.0,
        "the six replayed completions were answered with their existing successors"
    );
    consumer.shutdown().await;
    api.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_event_lands_on_the_dead_letter_topic_and_later_completions_still_work() {
    let stack = Stack::new();
    let api = spawn_task_api(&stack, &fresh_database().await, 0).await;
    let consumer = spawn_consumer(&stack, &api.base).await;
    let garbage = b"{\"specversion\": \"1.0\", this is not json";
    let producer = producer();
    for key in ["a", "b", "c"] {
        produce(&producer, &stack.task_events, key, garbage).await;
    }

    let user = unique("hank");
    complete_daily_tasks(&api, &user, 3).await;

    let dead_letters = stack.dead_letters();
    let letters = tokio::task::spawn_blocking(move || {
        service_runtime::testing::read_records(&kafka(), &dead_letters, 3, Duration::from_secs(60))
            .expect("dead letters")
    })
    .await
    .expect("reader");
    for letter in &letters {
        assert_eq!(letter.payload(), Some(garbage.as_slice()));
        let error = letter
            .headers()
            .and_then(|h| {
                h.iter().find(|h| h.key == event_schema::topics::dead_letter_headers::ERROR).and_then(|h| h.value)
            })
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .expect("error header");
        assert!(error.contains("not a CloudEvents JSON envelope"), "{error}");
    }
    assert_eq!(api.tasks(&user, "").await.len(), 6, "three completions, three successors");
    consumer.shutdown().await;
    api.shutdown().await;
}

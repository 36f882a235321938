//! Never for a stale task: while the consumer is stuck before a cancellation that sits on the
//! topic, the due reminder is held; once the consumer resumes, nothing is delivered.

use reqwest::Method;
use sqlx::Connection as _;

use crate::helpers::*;

/// The `reminders` partition of a reminder's events.
async fn partition_of(database: &str, reminder: uuid::Uuid) -> i32 {
    let mut db = connect(database).await;
    sqlx::query_scalar("SELECT source_partition FROM schedule WHERE reminder_id = $1")
        .bind(reminder)
        .fetch_one(&mut db)
        .await
        .expect("partition")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_reminder_is_held_while_its_cancellation_waits_unconsumed_and_never_fires() {
    let topics = Topics::new();
    let database = fresh_database().await;
    let notification = spawn_notification(&topics, &database, &unique("notification")).await;
    let tasks = spawn_task_api(&topics).await;
    let at = in_seconds(5);
    let task = tasks.task_with_reminder("alice", "Pay the rent", at).await;
    let reminder = reminders_of(&database, task, 1).await[0].0;
    let partition = partition_of(&database, reminder).await;
    // A reminder due a second later on another partition: once it fired, the scheduler has
    // looked at everything due before it.
    let sentinel = loop {
        let candidate = tasks.task_with_reminder("alice", "sentinel", at + chrono::TimeDelta::seconds(1)).await;
        let candidate = reminders_of(&database, candidate, 1).await[0].0;
        if partition_of(&database, candidate).await != partition {
            break candidate;
        }
    };

    // Pause the consumer of the reminder's partition: its next transaction (which records
    // progress first) and its caught-up reports wait on this row lock, so the cancellation
    // below stays unapplied, as if it were still on the topic.
    let mut db = connect(&database).await;
    let mut lock = db.begin().await.expect("begin");
    sqlx::query("SELECT * FROM consumer_progress WHERE topic = $1 AND source_partition = $2 FOR UPDATE")
        .bind(&topics.reminders)
        .bind(partition)
        .execute(&mut *lock)
        .await
        .expect("lock");
    tasks.call(Method::POST, &format!("/v1/tasks/{task}/complete"), "alice", None, 200).await;

    eventually("the sentinel delivered", || async {
        !items_of(&notification.inbox("alice").await, sentinel).is_empty()
    })
    .await;
    assert_eq!(
        entry_state(&database, reminder).await.as_deref(),
        Some("scheduled"),
        "held: neither fired nor cancelled"
    );
    assert_eq!(inbox_rows(&database, reminder).await, 0);

    lock.rollback().await.expect("resume the consumer");
    eventually("the cancellation applied", || async {
        entry_state(&database, reminder).await.as_deref() == Some("cancelled")
    })
    .await;
    assert_eq!(inbox_rows(&database, reminder).await, 0, "the cancelled reminder was delivered");
    assert!(sent_events(&topics.reminders).await.iter().all(|(r, _)| *r != reminder));

    tasks.shutdown().await;
    notification.shutdown().await;
}

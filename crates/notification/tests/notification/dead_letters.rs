//! A malformed event goes to `notification.dlq`; later reminders still fire.

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_event_is_dead_lettered_and_later_reminders_still_fire() {
    let topics = Topics::new();
    let database = fresh_database().await;
    let group = unique("notification");
    let notification = spawn_notification(&topics, &database, &group).await;
    let tasks = spawn_task_api(&topics).await;
    let producer = producer();
    let key = uuid::Uuid::now_v7().to_string();
    produce(&producer, &topics.reminders, &key, b"{ not an event").await;
    let scheduled_without_title = serde_json::json!({
        "specversion": "1.0", "id": uuid::Uuid::now_v7(), "source": "/test", "type": "reminder.scheduled",
        "subject": key, "time": "2026-01-01T00:00:00Z", "datacontenttype": "application/json",
        "dataschema": "urn:taskstream:schema:reminder.scheduled:v1", "userid": "alice", "sequence": 1,
        "data": { "reminder_id": uuid::Uuid::now_v7(), "task_id": key, "remind_at": "2026-01-01T00:00:00Z" }
    });
    produce(&producer, &topics.reminders, &key, scheduled_without_title.to_string().as_bytes()).await;

    let task = tasks.task_with_reminder("alice", "after the bad ones", in_seconds(2)).await;

    eventually("both dead-lettered", || async { record_count(&format!("{group}.dlq")).await == 2 }).await;
    let reminder = reminders_of(&database, task, 1).await[0].0;
    eventually("the later reminder delivered", || async {
        !items_of(&notification.inbox("alice").await, reminder).is_empty()
    })
    .await;

    tasks.shutdown().await;
    notification.shutdown().await;
}

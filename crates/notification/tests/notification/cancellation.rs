//! Completing, deleting or rescheduling a task before its reminder: nothing at the old time; a
//! moved reminder fires at its new time only.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completing_deleting_or_moving_a_task_before_its_reminder_delivers_nothing_at_the_old_time() {
    let topics = Topics::new();
    let database = fresh_database().await;
    let notification = spawn_notification(&topics, &database, &unique("notification")).await;
    let tasks = spawn_task_api(&topics).await;
    let old = in_seconds(4);
    let completed = tasks.task_with_reminder("alice", "completed", old).await;
    let deleted = tasks.task_with_reminder("alice", "deleted", old).await;
    let body = json!({ "title": "moved", "due_at": (old + chrono::TimeDelta::minutes(15)).to_rfc3339(),
                       "reminders": [{ "before_due": "PT15M" }] });
    let moved = tasks.call(Method::POST, "/v1/tasks", "alice", Some(body), 201).await;
    let moved: uuid::Uuid = moved["id"].as_str().and_then(|id| id.parse().ok()).expect("id");
    // A reminder due after the old time: once it fired, the old time has passed for the others.
    let sentinel = tasks.task_with_reminder("alice", "sentinel", old + chrono::TimeDelta::seconds(2)).await;
    let mut old_reminders = Vec::new();
    for task in [completed, deleted, moved] {
        old_reminders.push(reminders_of(&database, task, 1).await[0].0);
    }

    tasks.call(Method::POST, &format!("/v1/tasks/{completed}/complete"), "alice", None, 200).await;
    tasks.call(Method::DELETE, &format!("/v1/tasks/{deleted}"), "alice", None, 204).await;
    let new_at = old + chrono::TimeDelta::seconds(3);
    let patch = json!({ "due_at": (new_at + chrono::TimeDelta::minutes(15)).to_rfc3339() });
    tasks.call(Method::PATCH, &format!("/v1/tasks/{moved}"), "alice", Some(patch), 200).await;

    let sentinel_reminder = reminders_of(&database, sentinel, 1).await[0].0;
    let moved_reminders = reminders_of(&database, moved, 2).await;
    let new_reminder = moved_reminders.iter().find(|r| r.2 == new_at).map(|r| r.0).expect("the moved reminder");
    eventually("the sentinel and the moved reminder delivered", || async {
        let items = notification.inbox("alice").await;
        !items_of(&items, sentinel_reminder).is_empty() && !items_of(&items, new_reminder).is_empty()
    })
    .await;

    let items = notification.inbox("alice").await;
    assert_eq!(items.len(), 2, "only the sentinel and the moved reminder: {items:?}");
    let moved_item = &items_of(&items, new_reminder)[0];
    assert!(instant(&moved_item["fired_at"]) >= new_at, "the moved reminder fired before its new time");
    for reminder in &old_reminders {
        assert_eq!(entry_state(&database, *reminder).await.as_deref(), Some("cancelled"), "{reminder}");
        assert_eq!(inbox_rows(&database, *reminder).await, 0);
    }
    let sent: Vec<_> = sent_events(&topics.reminders).await.into_iter().map(|(r, _)| r).collect();
    assert!(old_reminders.iter().all(|r| !sent.contains(r)), "a cancelled reminder was announced");

    tasks.shutdown().await;
    notification.shutdown().await;
}

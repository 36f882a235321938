//! A reminder fires once, on time, into the inbox, and is announced once.

use chrono::Utc;
use reqwest::Method;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_set_through_task_api_fires_once_into_the_inbox_within_a_second_and_is_announced_once() {
    let topics = Topics::new();
    let database = fresh_database().await;
    let notification = spawn_notification(&topics, &database, &unique("notification")).await;
    let tasks = spawn_task_api(&topics).await;
    let at = in_seconds(3);

    let task = tasks.task_with_reminder("alice", "Call the dentist", at).await;

    let reminder = reminders_of(&database, task, 1).await[0].0;
    eventually("the reminder in alice's inbox", || async { !notification.inbox("alice").await.is_empty() }).await;
    let items = notification.inbox("alice").await;
    assert_eq!(items.len(), 1, "{items:?}");
    let item = &items[0];
    assert_eq!(item["reminder_id"], reminder.to_string());
    assert_eq!(item["task_id"], task.to_string());
    assert_eq!(item["title"], "Call the dentist");
    assert_eq!(item["read"], false);
    assert_eq!(item["late"], false);
    let lateness = instant(&item["fired_at"]) - at;
    assert!(lateness >= chrono::TimeDelta::zero(), "fired before its time: {lateness}");
    assert!(lateness < chrono::TimeDelta::seconds(1), "fired {lateness} late");
    eventually("reminder.sent published", || async { !sent_events(&topics.reminders).await.is_empty() }).await;
    assert_eq!(sent_events(&topics.reminders).await, [(reminder, vec!["inbox".to_owned()])]);
    assert_eq!(entry_state(&database, reminder).await.as_deref(), Some("sent"));
    assert!(Utc::now() > at);
    let (status, count) = notification.call(Method::GET, "/v1/notifications/unread-count", "alice", None).await;
    assert_eq!((status.as_u16(), count["unread"].as_i64()), (200, Some(1)));

    tasks.shutdown().await;
    notification.shutdown().await;
}

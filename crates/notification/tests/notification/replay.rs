//! Replaying `reminders` from the beginning delivers nothing again and resurrects nothing.

use reqwest::Method;

use crate::helpers::*;

/// The sum of `taskstream_notification_events_total` samples with `outcome="stale"`.
async fn stale_events(app: &NotificationApp) -> f64 {
    app.metrics()
        .await
        .lines()
        .filter(|l| l.starts_with("taskstream_notification_events_total") && l.contains("outcome=\"stale\""))
        .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_the_topic_from_the_beginning_delivers_nothing_again_and_resurrects_nothing() {
    let topics = Topics::new();
    let database = fresh_database().await;
    let notification = spawn_notification(&topics, &database, &unique("notification")).await;
    let tasks = spawn_task_api(&topics).await;
    let fired = tasks.task_with_reminder("alice", "fired", in_seconds(2)).await;
    let cancelled = tasks.task_with_reminder("alice", "cancelled", in_seconds(30)).await;
    let fired_reminder = reminders_of(&database, fired, 1).await[0].0;
    let cancelled_reminder = reminders_of(&database, cancelled, 1).await[0].0;
    tasks.call(Method::POST, &format!("/v1/tasks/{cancelled}/complete"), "alice", None, 200).await;
    eventually("one delivered, one cancelled, one reminder.sent", || async {
        entry_state(&database, fired_reminder).await.as_deref() == Some("sent")
            && entry_state(&database, cancelled_reminder).await.as_deref() == Some("cancelled")
            && sent_events(&topics.reminders).await.len() == 1
    })
    .await;
    notification.shutdown().await;

    // A new group reads the whole topic again: 2 × scheduled, 1 × cancelled, 1 × sent.
    let replaying = spawn_notification(&topics, &database, &unique("replay")).await;
    let before = stale_events(&replaying).await;
    eventually("the three reminder events applied again, as stale", || async {
        stale_events(&replaying).await - before >= 3.0
    })
    .await;

    assert_eq!(entry_state(&database, fired_reminder).await.as_deref(), Some("sent"));
    assert_eq!(entry_state(&database, cancelled_reminder).await.as_deref(), Some("cancelled"));
    assert_eq!(inbox_rows(&database, fired_reminder).await, 1);
    assert_eq!(inbox_rows(&database, cancelled_reminder).await, 0);
    assert_eq!(sent_events(&topics.reminders).await.len(), 1, "announced again");

    tasks.shutdown().await;
    replaying.shutdown().await;
}

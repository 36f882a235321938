//! Replaying `reminders` from the beginning delivers nothing again and resurrects nothing.

use std::time::Duration;

use reqwest::Method;

use crate::helpers::*;

/// Whether `group` has committed, on every partition of `topic`, the partition's end: it has
/// handled (and stored) every record.
async fn group_at_end(group: &str, topic: &str) -> bool {
    let (group, topic) = (group.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        use rdkafka::consumer::{BaseConsumer, Consumer as _};
        let consumer: BaseConsumer = service_runtime::kafka::client_config(&kafka(), &group)
            .expect("config")
            .set("group.id", &group)
            .create()
            .expect("a client");
        let mut partitions = rdkafka::TopicPartitionList::new();
        for partition in 0..3 {
            partitions.add_partition(&topic, partition);
        }
        let Ok(committed) = consumer.committed_offsets(partitions, Duration::from_secs(5)) else { return false };
        (0..3).all(|partition| {
            let end = consumer.fetch_watermarks(&topic, partition, Duration::from_secs(5)).map(|(_, high)| high).ok();
            let done = committed.find_partition(&topic, partition).map(|e| e.offset());
            matches!((done, end), (Some(rdkafka::Offset::Offset(done)), Some(end)) if done >= end) || end == Some(0)
        })
    })
    .await
    .expect("checker thread")
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
    let group = unique("replay");
    let replaying = spawn_notification(&topics, &database, &group).await;
    eventually("the whole topic handled again", || async { group_at_end(&group, &topics.reminders).await }).await;

    assert_eq!(entry_state(&database, fired_reminder).await.as_deref(), Some("sent"));
    assert_eq!(entry_state(&database, cancelled_reminder).await.as_deref(), Some("cancelled"));
    assert_eq!(inbox_rows(&database, fired_reminder).await, 1);
    assert_eq!(inbox_rows(&database, cancelled_reminder).await, 0);
    assert_eq!(sent_events(&topics.reminders).await.len(), 1, "announced again");

    tasks.shutdown().await;
    replaying.shutdown().await;
}

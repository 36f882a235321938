//! Two replicas on one PostgreSQL database: each reminder is claimed and delivered once.

use std::collections::HashMap;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_database_deliver_each_reminder_once() {
    let topics = Topics::new();
    let database = fresh_database().await;
    let group = unique("notification");
    let first = spawn_notification(&topics, &database, &group).await;
    let second = spawn_notification(&topics, &database, &group).await;
    let tasks = spawn_task_api(&topics).await;
    let at = in_seconds(4);

    let mut created = Vec::new();
    for i in 0..40 {
        created.push(tasks.task_with_reminder(&format!("user-{}", i % 4), "shared", at).await);
    }

    let mut db = connect(&database).await;
    eventually("all 40 delivered", || async {
        let mut db = connect(&database).await;
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM schedule WHERE state = 'sent'")
            .fetch_one(&mut db)
            .await
            .expect("count")
            == 40
    })
    .await;
    let claims: Vec<i32> =
        sqlx::query_scalar("SELECT attempts FROM schedule").fetch_all(&mut db).await.expect("claims");
    assert_eq!(claims, vec![1; 40], "each entry claimed once");
    let attempts: Vec<i32> =
        sqlx::query_scalar("SELECT attempts FROM deliveries").fetch_all(&mut db).await.expect("attempts");
    assert_eq!(attempts, vec![1; 40], "each inbox delivery attempted once");
    eventually("40 reminder.sent", || async { sent_events(&topics.reminders).await.len() >= 40 }).await;
    let mut announced: HashMap<uuid::Uuid, usize> = HashMap::new();
    for (reminder, _) in sent_events(&topics.reminders).await {
        *announced.entry(reminder).or_default() += 1;
    }
    assert_eq!(announced.len(), 40);
    assert!(announced.values().all(|n| *n == 1), "a reminder announced twice: {announced:?}");
    assert_eq!(created.len(), 40);

    tasks.shutdown().await;
    first.shutdown().await;
    second.shutdown().await;
}

//! The inbox API: a user's own notifications, read, counted, paged, snoozed.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_lists_pages_reads_and_counts_only_their_own_notifications() {
    let topics = Topics::new();
    let database = fresh_database().await;
    let app = spawn_notification(&topics, &database, &unique("notification")).await;
    let tasks = spawn_task_api(&topics).await;
    let at = in_seconds(2);
    for title in ["one", "two", "three"] {
        tasks.task_with_reminder("alice", title, at).await;
    }
    tasks.task_with_reminder("bob", "bob's", at).await;
    eventually("all four delivered", || async {
        app.inbox("alice").await.len() == 3 && app.inbox("bob").await.len() == 1
    })
    .await;

    let (_, first) = app.call(Method::GET, "/v1/notifications?limit=2", "alice", None).await;
    assert_eq!(first["items"].as_array().map(Vec::len), Some(2));
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let (_, second) = app.call(Method::GET, &format!("/v1/notifications?limit=2&cursor={cursor}"), "alice", None).await;
    assert_eq!(second["items"].as_array().map(Vec::len), Some(1));
    assert!(second["next_cursor"].is_null());

    let id = first["items"][0]["id"].as_str().expect("id").to_owned();
    let (status, _) = app.call(Method::POST, &format!("/v1/notifications/{id}/read"), "bob", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "bob cannot read alice's");
    let (status, read) = app.call(Method::POST, &format!("/v1/notifications/{id}/read"), "alice", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["read"], true);
    let (_, count) = app.call(Method::GET, "/v1/notifications/unread-count", "alice", None).await;
    assert_eq!(count["unread"], 2);
    let (_, unread) = app.call(Method::GET, "/v1/notifications?unread=true", "alice", None).await;
    assert_eq!(unread["items"].as_array().map(Vec::len), Some(2));
    assert!(unread["items"].as_array().into_iter().flatten().all(|i| i["id"] != id.as_str()));
    let (_, count) = app.call(Method::GET, "/v1/notifications/unread-count", "bob", None).await;
    assert_eq!(count["unread"], 1);

    let (status, problem) = app.call(Method::GET, "/v1/notifications?limit=0", "alice", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "limit");
    let response = app.client.get(format!("{}/v1/notifications", app.base)).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    tasks.shutdown().await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snoozing_delivers_the_reminder_once_more_as_its_next_generation() {
    let topics = Topics::new();
    let database = fresh_database().await;
    let app = spawn_notification(&topics, &database, &unique("notification")).await;
    let tasks = spawn_task_api(&topics).await;
    let task = tasks.task_with_reminder("alice", "Stretch", in_seconds(2)).await;
    let reminder = reminders_of(&database, task, 1).await[0].0;
    eventually("delivered", || async { app.inbox("alice").await.len() == 1 }).await;
    let id = app.inbox("alice").await[0]["id"].as_str().expect("id").to_owned();
    let path = format!("/v1/notifications/{id}/snooze");

    let (status, problem) = app.call(Method::POST, &path, "alice", Some(json!({ "for": "ten minutes" }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "for");
    let (status, _) = app.call(Method::POST, &path, "bob", Some(json!({ "for": "PT2S" }))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    eventually("the first generation announced", || async { sent_events(&topics.reminders).await.len() == 1 }).await;
    let (status, snoozed) = app.call(Method::POST, &path, "alice", Some(json!({ "for": "PT2S" }))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{snoozed}");
    assert_eq!(snoozed["generation"], 1);
    let (status, _) = app.call(Method::POST, &path, "alice", Some(json!({ "for": "PT2S" }))).await;
    assert_eq!(status, StatusCode::CONFLICT, "a generation is snoozed once");

    eventually("delivered again", || async { app.inbox("alice").await.len() == 2 }).await;
    let items = items_of(&app.inbox("alice").await, reminder);
    let generations: Vec<_> = items.iter().map(|i| i["generation"].as_u64()).collect();
    assert_eq!(generations, [Some(1), Some(0)], "newest first");
    assert!(instant(&items[0]["fired_at"]) >= instant(&snoozed["fire_at"]));
    eventually("both generations announced", || async { sent_events(&topics.reminders).await.len() == 2 }).await;

    tasks.shutdown().await;
    app.shutdown().await;
}

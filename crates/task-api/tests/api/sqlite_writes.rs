//! On SQLite (the embedded default) concurrent writes queue for the database file's one writer
//! connection: a burst of creates all succeed (none fails busy) and all are published.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

const CREATES: usize = 32;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_concurrent_creates_on_sqlite_all_succeed_and_each_is_published_once() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("tasks.db").display());
    let app = spawn_with(Options { database_url: Some(url), topics: None, bootstrap: None }).await;

    let creates = (0..CREATES).map(|n| {
        app.request(Method::POST, "/v1/tasks", "sam")
            .json(&json!({"title": format!("task {n}"), "tags": ["burst"]}))
            .send()
    });
    let responses = futures::future::join_all(creates).await;

    for response in responses {
        let response = response.expect("send");
        assert_eq!(response.status(), 201, "{:?}", response.text().await);
    }
    let page = body(app.request(Method::GET, "/v1/tasks?limit=100&tag=burst", "sam").send().await.expect("send")).await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(CREATES));
    let events = read_events(&app.task_events, CREATES).await;
    assert!(events.iter().all(|(_, e)| e["type"] == "task.created"));
    assert_eq!(record_count(&app.task_events).await, CREATES as i64);
    app.shutdown().await;
}

//! task-api down for a while: the completions made before wait (retried, `/readyz` says why)
//! and become successors once it is back; none is lost or doubled.

use reqwest::StatusCode;

use crate::helpers::*;
use crate::proxy::Proxy;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_made_before_task_api_stopped_become_successors_once_it_is_back() {
    let stack = Stack::new();
    let database = fresh_database().await;
    let api = spawn_task_api(&stack, &database, 0).await;
    // The consumer reaches task-api through a proxy, so the test can take task-api away from
    // the consumer before the completions are made, and be sure none was handled early.
    let mut proxy = Proxy::start(api.port).await;
    let consumer = spawn_consumer(&stack, &proxy.base_url()).await;
    let user = unique("judy");
    let due = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let mut ids = Vec::new();
    for i in 0..6 {
        let task = api.create(&user, recurring(&format!("Errand {i}"), &due, "UTC", "FREQ=DAILY")).await;
        ids.push(text(&task, "id").to_owned());
    }
    api.complete(&user, &ids[0]).await;
    eventually("the first successor, task-api still up", || async { api.tasks(&user, "").await.len() == 7 }).await;

    proxy.cut().await;
    for id in &ids[1..] {
        api.complete(&user, id).await;
    }
    // Published before task-api stops, so the consumer has them to retry.
    eventually("task-api published every completion", || async { api.unpublished().await == 0 }).await;
    let port = api.port;
    api.shutdown().await;

    eventually("/readyz says the consumer is retrying task-api", || async {
        let (status, report) = consumer.readiness().await;
        status == StatusCode::SERVICE_UNAVAILABLE && report.to_string().contains("/v1/tasks")
    })
    .await;
    let api = spawn_task_api(&stack, &database, port).await;
    assert_eq!(api.tasks(&user, "").await.len(), 7, "nothing was created while task-api was away");
    proxy.restore().await;

    eventually("every successor", || async { api.tasks(&user, "").await.len() == 12 }).await;
    wait_until_consumed(&stack, &api).await;
    assert_eq!(api.tasks(&user, "").await.len(), 12, "one successor per completion, none lost, none doubled");
    assert_eq!(api.tasks(&user, "status=open").await.len(), 6);
    eventually("the consumer ready again", || async { consumer.readiness().await.0 == StatusCode::OK }).await;
    consumer.shutdown().await;
    api.shutdown().await;
}

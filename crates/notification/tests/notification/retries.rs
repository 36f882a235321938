//! Acceptance 6: a receiver that fails then succeeds is retried; one answering 410 has its
//! endpoint disabled; one that never answers times out and is retried. All visible in the
//! API (each notification's deliveries, the endpoint) and in the metrics.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::receivers::{Answer, Receiver};

/// The webhook delivery of the user's only notification (once its reminder was announced).
async fn webhook_delivery(app: &NotificationApp, user: &str) -> Value {
    let items = app.inbox(user).await;
    let id = items[0]["id"].as_str().expect("id");
    let (_, detail) = app.call(Method::GET, &format!("/v1/notifications/{id}"), user, None).await;
    detail["deliveries"].as_array().into_iter().flatten().find(|d| d["channel"] == "webhook").cloned().expect("webhook")
}

fn counter(metrics: &str, name: &str, labels: &[&str]) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|label| l.contains(label)))
        .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_and_silent_receivers_are_retried_with_the_same_id_and_a_gone_one_is_disabled() {
    let topics = Topics::new();
    let database = fresh_database().await;
    let flaky = Receiver::start(vec![Answer::Status(500)]).await;
    let gone = Receiver::start(vec![Answer::Status(410)]).await;
    let silent = Receiver::start(vec![Answer::Never]).await;
    let mut settings = settings(&topics, &database, &unique("notification"));
    local_channels(&mut settings);
    let app = spawn_with(settings).await;
    let tasks = spawn_task_api(&topics).await;
    let mut endpoints = Vec::new();
    for (user, receiver) in [("flaky", &flaky), ("gone", &gone), ("silent", &silent)] {
        let (status, endpoint) =
            app.call(Method::POST, "/v1/webhook-endpoints", user, Some(json!({ "url": receiver.url() }))).await;
        assert_eq!(status, StatusCode::CREATED, "{endpoint}");
        endpoints.push(endpoint["id"].as_str().expect("id").to_owned());
    }
    let at = in_seconds(2);

    for user in ["flaky", "gone", "silent"] {
        tasks.task_with_reminder(user, "Back up the laptop", at).await;
    }

    eventually("all three announced", || async { sent_events(&topics.reminders).await.len() == 3 }).await;
    let flaky_delivery = webhook_delivery(&app, "flaky").await;
    assert_eq!((flaky_delivery["state"].as_str(), flaky_delivery["attempts"].as_u64()), (Some("delivered"), Some(2)));
    let silent_delivery = webhook_delivery(&app, "silent").await;
    assert_eq!((silent_delivery["state"].as_str(), silent_delivery["attempts"].as_u64()), (Some("delivered"), Some(2)));
    let gone_delivery = webhook_delivery(&app, "gone").await;
    assert_eq!((gone_delivery["state"].as_str(), gone_delivery["attempts"].as_u64()), (Some("disabled"), Some(1)));
    for receiver in [&flaky, &silent] {
        let ids: Vec<String> = receiver.received().iter().map(|r| r.header("webhook-id")).collect();
        assert_eq!(ids.len(), 2, "tried twice");
        assert_eq!(ids[0], ids[1], "the retry carries the same webhook-id");
    }
    let (_, endpoint) = app.call(Method::GET, &format!("/v1/webhook-endpoints/{}", endpoints[1]), "gone", None).await;
    assert_eq!(endpoint["enabled"], false, "410 disabled the endpoint: {endpoint}");
    let mut announced = sent_events(&topics.reminders).await.into_iter().map(|(_, c)| c).collect::<Vec<_>>();
    announced.sort();
    let both = vec!["inbox".to_owned(), "webhook".to_owned()];
    assert_eq!(announced, [vec!["inbox".to_owned()], both.clone(), both]);
    let metrics = app.metrics().await;
    let deliveries = "taskstream_notification_deliveries_total";
    assert!(counter(&metrics, deliveries, &["channel=\"webhook\"", "outcome=\"retry\""]) >= 2.0, "{metrics}");
    assert!(counter(&metrics, deliveries, &["channel=\"webhook\"", "outcome=\"disabled\""]) >= 1.0);
    assert!(counter(&metrics, "taskstream_notification_retries_total", &["channel=\"webhook\""]) >= 2.0);

    tasks.shutdown().await;
    app.shutdown().await;
}

//! Acceptance 1: a reminder set through task-api reaches every channel once, on time.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;
use crate::receivers::{Receiver, SmtpSink, verify};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_reaches_the_webhook_the_mailbox_and_the_inbox_once_and_is_announced_once() {
    let topics = Topics::new();
    let database = fresh_database().await;
    let smtp = SmtpSink::start().await;
    let receiver = Receiver::start(vec![]).await;
    let mut settings = settings(&topics, &database, &unique("notification"));
    local_channels(&mut settings);
    settings.app.notification.email.transport = notification::channels::EmailTransport::Smtp;
    settings.app.notification.email.smtp.host = "127.0.0.1".into();
    settings.app.notification.email.smtp.port = smtp.port;
    settings.app.notification.email.smtp.tls = notification::channels::SmtpTls::None;
    let app = spawn_with(settings).await;
    let tasks = spawn_task_api(&topics).await;
    let body = json!({ "email_address": "alice@example.com", "email_enabled": true });
    let (status, _) = app.call(Method::PUT, "/v1/notification-settings", "alice", Some(body)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, endpoint) =
        app.call(Method::POST, "/v1/webhook-endpoints", "alice", Some(json!({ "url": receiver.url() }))).await;
    assert_eq!(status, StatusCode::CREATED, "{endpoint}");
    let secret = endpoint["secret"].as_str().expect("the secret").to_owned();
    let at = in_seconds(3);

    let task = tasks.task_with_reminder("alice", "Renew the passport", at).await;

    let reminder = reminders_of(&database, task, 1).await[0].0;
    eventually("reminder.sent published", || async { !sent_events(&topics.reminders).await.is_empty() }).await;
    let mut channels = vec!["email".to_owned(), "inbox".to_owned(), "webhook".to_owned()];
    channels.sort();
    assert_eq!(sent_events(&topics.reminders).await, [(reminder, channels)], "announced once, every channel");
    let received = receiver.received();
    assert_eq!(received.len(), 1, "the webhook once");
    let payload = verify(&secret, &received[0]).await.expect("the reference verifier accepts the signature");
    assert_eq!(payload["data"]["reminder_id"], reminder.to_string());
    assert_eq!(payload["data"]["title"], "Renew the passport");
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "one mail");
    assert!(mails[0].contains("Renew the passport") && mails[0].contains("alice@example.com"));
    let items = app.inbox("alice").await;
    assert_eq!(items.len(), 1);
    let lateness = instant(&items[0]["fired_at"]) - at;
    assert!(lateness >= chrono::TimeDelta::zero() && lateness < chrono::TimeDelta::seconds(1), "fired {lateness} late");
    let id = items[0]["id"].as_str().expect("id");
    let (_, detail) = app.call(Method::GET, &format!("/v1/notifications/{id}"), "alice", None).await;
    let states: Vec<_> =
        detail["deliveries"].as_array().expect("deliveries").iter().map(|d| d["state"].as_str()).collect();
    assert_eq!(states, [Some("delivered"); 3], "{detail}");

    tasks.shutdown().await;
    app.shutdown().await;
}

//! Webhook deliveries to a real HTTP receiver, verified by the Standard Webhooks library.

use std::time::{Duration, Instant};

use notification::channels::signing::webhook_id;
use notification::channels::{Attempt, Target};
use reqwest::Method;
use reqwest::StatusCode;

use crate::helpers::{Answer, Receiver, TestEnv, message, verify};

#[tokio::test]
async fn a_delivery_carries_a_signature_the_standard_webhooks_library_accepts() {
    let env = TestEnv::start().await;
    let receiver = Receiver::start(vec![]).await;
    let (endpoint, secret) = env.create_endpoint("alice", &receiver.url()).await;
    let message = message("alice");
    let target = Target::webhook(endpoint);

    let outcome = env.channels.deliver(&target, &message, 1).await;

    assert_eq!(outcome, Attempt::Delivered);
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].header("webhook-id"), webhook_id(message.reminder_id, 0, &target.key));
    assert_eq!(received[0].header("content-type"), "application/json");
    let payload = verify(&secret, &received[0]).await.expect("the reference verifier accepts the signature");
    assert_eq!(payload["type"], "reminder.due");
    assert_eq!(payload["data"]["reminder_id"], message.reminder_id.to_string());
    assert_eq!(payload["data"]["title"], message.title);
    assert_eq!(payload["data"]["late"], false);
    let other = notification::channels::signing::Secret::generate().encode();
    assert!(verify(&other, &received[0]).await.is_err(), "another secret must not verify");
}

#[tokio::test]
async fn after_a_rotation_both_the_old_and_the_new_secret_verify_a_delivery() {
    let env = TestEnv::start().await;
    let receiver = Receiver::start(vec![]).await;
    let (endpoint, old) = env.create_endpoint("alice", &receiver.url()).await;
    let path = format!("/v1/webhook-endpoints/{endpoint}/rotate-secret");
    let (status, rotated) = env.call(Method::POST, &path, Some("alice"), None).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["secret"].as_str().expect("the new secret").to_owned();
    assert_ne!(new, old);
    assert!(rotated["previous_secret_expires_at"].is_string(), "{rotated}");

    let outcome = env.channels.deliver(&Target::webhook(endpoint), &message("alice"), 1).await;

    assert_eq!(outcome, Attempt::Delivered);
    let received = &receiver.received()[0];
    assert_eq!(received.header("webhook-signature").split(' ').count(), 2);
    verify(&new, received).await.expect("the new secret verifies");
    verify(&old, received).await.expect("the old secret still verifies during the grace period");
}

#[tokio::test]
async fn once_the_grace_period_is_over_only_the_new_secret_verifies() {
    let env = TestEnv::start_with(|s| s.webhook.rotation_grace_secs = 0).await;
    let receiver = Receiver::start(vec![]).await;
    let (endpoint, old) = env.create_endpoint("alice", &receiver.url()).await;
    let path = format!("/v1/webhook-endpoints/{endpoint}/rotate-secret");
    let (_, rotated) = env.call(Method::POST, &path, Some("alice"), None).await;
    let new = rotated["secret"].as_str().expect("the new secret").to_owned();

    env.channels.deliver(&Target::webhook(endpoint), &message("alice"), 1).await;

    let received = &receiver.received()[0];
    verify(&new, received).await.expect("the new secret verifies");
    assert!(verify(&old, received).await.is_err(), "the old secret expired");
}

#[tokio::test]
async fn a_500_gets_a_retry_and_the_next_attempt_is_delivered_with_the_same_webhook_id() {
    let env = TestEnv::start().await;
    let receiver = Receiver::start(vec![Answer::Status(500, vec![])]).await;
    let (endpoint, _) = env.create_endpoint("alice", &receiver.url()).await;
    let message = message("alice");
    let target = Target::webhook(endpoint);

    let first = env.channels.deliver(&target, &message, 1).await;
    let second = env.channels.deliver(&target, &message, 2).await;

    assert!(matches!(&first, Attempt::Retry { after: None, reason } if reason.contains("500")), "{first:?}");
    assert_eq!(second, Attempt::Delivered);
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].header("webhook-id"), received[1].header("webhook-id"));
    assert_eq!(received[0].body, received[1].body, "the same body on every attempt");
    assert!(env.channels.retry_delay(1).is_some_and(|d| d >= Duration::from_secs(4) && d <= Duration::from_secs(6)));
}

#[tokio::test]
async fn retry_after_in_seconds_or_as_a_date_comes_back_with_the_retry() {
    let env = TestEnv::start().await;
    let in_two_minutes = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(120));
    let receiver = Receiver::start(vec![
        Answer::Status(429, vec![("retry-after", "7".into())]),
        Answer::Status(503, vec![("retry-after", in_two_minutes)]),
    ])
    .await;
    let (endpoint, _) = env.create_endpoint("alice", &receiver.url()).await;
    let message = message("alice");
    let target = Target::webhook(endpoint);

    let throttled = env.channels.deliver(&target, &message, 1).await;
    let unavailable = env.channels.deliver(&target, &message, 2).await;

    assert!(matches!(throttled, Attempt::Retry { after: Some(after), .. } if after == Duration::from_secs(7)));
    let Attempt::Retry { after: Some(after), .. } = unavailable else { panic!("{unavailable:?}") };
    assert!(after > Duration::from_secs(100) && after <= Duration::from_secs(120), "{after:?}");
    assert_eq!(env.channels.next_delay(1, Some(Duration::from_secs(3600))), Some(Duration::from_secs(3600)));
}

#[tokio::test]
async fn a_410_disables_the_endpoint_as_the_api_shows_and_counts() {
    let metrics = service_runtime::metrics::recorder();
    let env = TestEnv::start().await;
    let receiver = Receiver::start(vec![Answer::Status(410, vec![])]).await;
    let (endpoint, _) = env.create_endpoint("alice", &receiver.url()).await;
    let target = Target::webhook(endpoint);

    let outcome = env.channels.deliver(&target, &message("alice"), 1).await;
    let again = env.channels.deliver(&target, &message("alice"), 1).await;

    assert!(matches!(&outcome, Attempt::Disabled { reason } if reason.contains("410")), "{outcome:?}");
    assert!(matches!(again, Attempt::Disabled { .. }));
    assert_eq!(receiver.received().len(), 1, "nothing more is sent to a disabled endpoint");
    let (_, shown) = env.call(Method::GET, &format!("/v1/webhook-endpoints/{endpoint}"), Some("alice"), None).await;
    assert_eq!(shown["enabled"], false);
    assert!(shown["disabled_reason"].as_str().is_some_and(|r| r.contains("410")), "{shown}");
    assert!(shown["disabled_at"].is_string());
    assert!(env.channels.targets("alice").await.expect("targets").is_empty());
    assert!(metrics.render().contains("taskstream_notification_endpoints_disabled_total"));
}

#[tokio::test]
async fn a_receiver_that_never_answers_is_cut_off_by_the_timeout_and_retried() {
    let env = TestEnv::start_with(|s| s.webhook.timeout_ms = 500).await;
    let receiver = Receiver::start(vec![Answer::Never]).await;
    let (endpoint, _) = env.create_endpoint("alice", &receiver.url()).await;
    let started = Instant::now();

    let outcome = env.channels.deliver(&Target::webhook(endpoint), &message("alice"), 1).await;

    assert!(
        matches!(&outcome, Attempt::Retry { reason, .. } if reason.contains("no answer within 500 ms")),
        "{outcome:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert_eq!(receiver.received().len(), 1, "the request reached the receiver");
}

#[tokio::test]
async fn a_client_error_fails_a_closed_port_is_retried_and_a_deleted_endpoint_is_disabled() {
    let env = TestEnv::start().await;
    let receiver = Receiver::start(vec![Answer::Status(400, vec![])]).await;
    let (endpoint, _) = env.create_endpoint("alice", &receiver.url()).await;
    let closed = service_runtime::testing::free_port().expect("a port");
    let (unreachable, _) = env.create_endpoint("alice", &format!("http://127.0.0.1:{closed}/hook")).await;
    let message = message("alice");

    let rejected = env.channels.deliver(&Target::webhook(endpoint), &message, 1).await;
    let refused = env.channels.deliver(&Target::webhook(unreachable), &message, 1).await;
    env.call(Method::DELETE, &format!("/v1/webhook-endpoints/{endpoint}"), Some("alice"), None).await;
    let deleted = env.channels.deliver(&Target::webhook(endpoint), &message, 2).await;

    assert!(matches!(&rejected, Attempt::Failed { reason } if reason.contains("400")), "{rejected:?}");
    assert!(matches!(refused, Attempt::Retry { .. }), "{refused:?}");
    assert!(matches!(deleted, Attempt::Disabled { .. }), "{deleted:?}");
}

#[tokio::test]
async fn a_reminder_is_never_sent_to_another_users_endpoint() {
    let env = TestEnv::start().await;
    let receiver = Receiver::start(vec![]).await;
    let (bobs, _) = env.create_endpoint("bob", &receiver.url()).await;

    let outcome = env.channels.deliver(&Target::webhook(bobs), &message("alice"), 1).await;

    assert!(matches!(outcome, Attempt::Failed { .. }), "{outcome:?}");
    assert!(receiver.received().is_empty());
}

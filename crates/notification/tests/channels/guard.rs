//! The destination guard in production mode: `https` only, and no private or loopback
//! addresses, checked after DNS resolution both when an endpoint is created and at delivery.

use notification::channels::signing::Secret;
use notification::channels::{Attempt, Target};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Receiver, TestEnv, message};

#[tokio::test]
async fn production_refuses_endpoints_on_http_loopback_names_and_private_addresses_naming_url() {
    let env = TestEnv::start_with(|s| {
        s.webhook.allow_http = false;
        s.webhook.allow_private = false;
    })
    .await;

    for url in [
        "http://example.com/hook",
        // A name, refused only once resolved: localhost is 127.0.0.1 (and ::1).
        "https://localhost:8443/hook",
        "https://10.0.0.7/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data",
    ] {
        let (status, body) =
            env.call(Method::POST, "/v1/webhook-endpoints", Some("alice"), Some(json!({ "url": url }))).await;

        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
        assert_eq!(body["errors"][0]["field"], "url", "{url}: {body}");
        assert_eq!(body["errors"][0]["rule"], "destination_refused", "{url}: {body}");
    }
    let (_, list) = env.call(Method::GET, "/v1/webhook-endpoints", Some("alice"), None).await;
    assert_eq!(list["items"], json!([]));
}

#[tokio::test]
async fn a_name_that_resolves_to_loopback_at_delivery_is_refused_without_connecting() {
    // http is allowed, private addresses are not: only the check after resolution can stop it.
    let env = TestEnv::start_with(|s| s.webhook.allow_private = false).await;
    let receiver = Receiver::start(vec![]).await;
    // Stored directly, as if the name had resolved to a public address when it was created
    // (DNS rebinding).
    let url = format!("http://localhost:{}/hook", receiver.port);
    let endpoint = env.channels.store().create_endpoint("alice", &url, "", &Secret::generate()).await.expect("stored");

    let outcome = env.channels.deliver(&Target::webhook(endpoint.id), &message("alice"), 1).await;

    assert!(
        matches!(&outcome, Attempt::Failed { reason } if reason.contains("destination refused") && reason.contains("loopback")),
        "{outcome:?}"
    );
    assert!(receiver.received().is_empty(), "nothing reached the loopback receiver");
}

#[tokio::test]
async fn a_name_that_does_not_resolve_at_delivery_is_retried_not_failed() {
    let env = TestEnv::start().await;
    // `.invalid` never resolves (RFC 6761); stored directly, as creation would refuse it.
    let url = "http://reminders.invalid/hook";
    let endpoint = env.channels.store().create_endpoint("alice", url, "", &Secret::generate()).await.expect("stored");

    let outcome = env.channels.deliver(&Target::webhook(endpoint.id), &message("alice"), 1).await;

    assert!(matches!(&outcome, Attempt::Retry { reason, .. } if reason.contains("does not resolve")), "{outcome:?}");
}

#[tokio::test]
async fn the_local_setting_lets_a_loopback_receiver_through() {
    let env = TestEnv::start().await;
    let receiver = Receiver::start(vec![]).await;
    let (endpoint, _) = env.create_endpoint("alice", &format!("http://localhost:{}/hook", receiver.port)).await;

    let outcome = env.channels.deliver(&Target::webhook(endpoint), &message("alice"), 1).await;

    assert_eq!(outcome, Attempt::Delivered);
    assert_eq!(receiver.received().len(), 1);
}

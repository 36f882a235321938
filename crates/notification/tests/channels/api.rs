//! The settings and endpoint routes: a user sees and changes only their own; 401 without a
//! token; 422 naming the field; what they set decides the targets.

use notification::channels::Target;
use notification::endpoints::Store;
use reqwest::{Method, StatusCode};
use serde_json::json;
use service_runtime::database::{DatabaseSettings, Pool};

use crate::helpers::{MIGRATIONS, TestEnv};

#[tokio::test]
async fn a_user_sees_and_changes_only_their_own_endpoints_and_settings() {
    let env = TestEnv::start().await;
    let (endpoint, _) = env.create_endpoint("alice", "http://127.0.0.1:9/hook").await;
    let path = format!("/v1/webhook-endpoints/{endpoint}");
    env.call(
        Method::PUT,
        "/v1/notification-settings",
        Some("alice"),
        Some(json!({"email_address": "alice@example.com", "email_enabled": true})),
    )
    .await;

    let (status, list) = env.call(Method::GET, "/v1/webhook-endpoints", Some("bob"), None).await;
    assert_eq!((status, list), (StatusCode::OK, json!({ "items": [] })));
    for (method, path, body) in [
        (Method::GET, path.clone(), None),
        (Method::PATCH, path.clone(), Some(json!({ "enabled": false }))),
        (Method::DELETE, path.clone(), None),
        (Method::POST, format!("{path}/rotate-secret"), None),
    ] {
        let (status, _) = env.call(method.clone(), &path, Some("bob"), body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
    }
    let (_, bobs) = env.call(Method::GET, "/v1/notification-settings", Some("bob"), None).await;
    assert_eq!(bobs, json!({ "email_address": null, "email_enabled": false, "updated_at": null }));

    let (status, alices) = env.call(Method::GET, &path, Some("alice"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(alices["enabled"], true, "bob's attempts changed nothing");
    assert!(alices.get("secret").is_none(), "the secret is shown only at creation and rotation");
}

#[tokio::test]
async fn every_route_answers_401_without_a_token() {
    let env = TestEnv::start().await;
    let id = uuid::Uuid::now_v7();

    for (method, path) in [
        (Method::GET, "/v1/notification-settings".to_owned()),
        (Method::PUT, "/v1/notification-settings".to_owned()),
        (Method::GET, "/v1/webhook-endpoints".to_owned()),
        (Method::POST, "/v1/webhook-endpoints".to_owned()),
        (Method::GET, format!("/v1/webhook-endpoints/{id}")),
        (Method::PATCH, format!("/v1/webhook-endpoints/{id}")),
        (Method::DELETE, format!("/v1/webhook-endpoints/{id}")),
        (Method::POST, format!("/v1/webhook-endpoints/{id}/rotate-secret")),
    ] {
        let (status, body) = env.call(method.clone(), &path, None, Some(json!({}))).await;

        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(body["status"], 401);
    }
}

#[tokio::test]
async fn invalid_input_answers_422_naming_each_field() {
    let env = TestEnv::start().await;
    let (endpoint, _) = env.create_endpoint("alice", "http://127.0.0.1:9/hook").await;

    let cases = [
        (
            Method::PUT,
            "/v1/notification-settings".to_owned(),
            json!({ "email_address": "not-an-address", "email_enabled": true }),
            "email_address",
            "email",
        ),
        (
            Method::PUT,
            "/v1/notification-settings".to_owned(),
            json!({ "email_enabled": true }),
            "email_enabled",
            "requires_email_address",
        ),
        (Method::POST, "/v1/webhook-endpoints".to_owned(), json!({ "url": "not a url" }), "url", "destination_refused"),
        (
            Method::POST,
            "/v1/webhook-endpoints".to_owned(),
            json!({ "url": "http://127.0.0.1:9/", "colour": "red" }),
            "colour",
            "unknown_field",
        ),
        (Method::POST, "/v1/webhook-endpoints".to_owned(), json!({ "description": "no url" }), "url", "required"),
        (Method::PATCH, format!("/v1/webhook-endpoints/{endpoint}"), json!({ "enabled": "no" }), "enabled", "type"),
        (
            Method::PATCH,
            format!("/v1/webhook-endpoints/{endpoint}"),
            json!({ "url": "ftp://example.com/" }),
            "url",
            "destination_refused",
        ),
    ];
    for (method, path, body, field, rule) in cases {
        let (status, problem) = env.call(method.clone(), &path, Some("alice"), Some(body.clone())).await;

        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{method} {path} {body}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
        assert_eq!(problem["errors"][0]["rule"], rule, "{body}: {problem}");
    }
}

#[tokio::test]
async fn what_a_user_sets_decides_their_targets() {
    let env = TestEnv::start().await;
    assert!(env.channels.targets("alice").await.expect("targets").is_empty());

    let (status, settings) = env
        .call(
            Method::PUT,
            "/v1/notification-settings",
            Some("alice"),
            Some(json!({ "email_address": "alice@example.com", "email_enabled": true })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    assert!(settings["updated_at"].is_string());
    let (first, _) = env.create_endpoint("alice", "http://127.0.0.1:9/one").await;
    let (second, _) = env.create_endpoint("alice", "http://127.0.0.1:9/two").await;
    let path = format!("/v1/webhook-endpoints/{second}");
    let (_, disabled) = env
        .call(Method::PATCH, &path, Some("alice"), Some(json!({ "enabled": false, "disabled_reason": "on holiday" })))
        .await;

    assert_eq!(disabled["disabled_reason"], "on holiday");
    assert_eq!(
        env.channels.targets("alice").await.expect("targets"),
        [Target::email("alice@example.com"), Target::webhook(first)]
    );
    assert_eq!(
        env.channels.target("alice", &format!("webhook:{first}")).await.expect("a target"),
        Some(Target::webhook(first))
    );

    env.call(Method::PATCH, &path, Some("alice"), Some(json!({ "enabled": true }))).await;
    env.call(
        Method::PUT,
        "/v1/notification-settings",
        Some("alice"),
        Some(json!({ "email_address": "alice@example.com", "email_enabled": false })),
    )
    .await;
    let (status, _) = env.call(Method::DELETE, &format!("/v1/webhook-endpoints/{first}"), Some("alice"), None).await;

    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(env.channels.targets("alice").await.expect("targets"), [Target::webhook(second)]);
    let (status, _) = env.call(Method::GET, &format!("/v1/webhook-endpoints/{first}"), Some("alice"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_user_has_at_most_the_configured_number_of_endpoints() {
    let env = TestEnv::start_with(|s| s.webhook.max_endpoints_per_user = 1).await;
    env.create_endpoint("alice", "http://127.0.0.1:9/one").await;

    let (status, _) = env
        .call(Method::POST, "/v1/webhook-endpoints", Some("alice"), Some(json!({ "url": "http://127.0.0.1:9/two" })))
        .await;

    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_settings_and_endpoints_work_the_same_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("notification.db").display());
    let pool = Pool::connect(&DatabaseSettings { url, ..Default::default() }, &MIGRATIONS).await.expect("SQLite");
    let store = Store::new(pool.clone(), std::time::Duration::from_secs(60));
    let env = TestEnv::start_on(pool, |_| {}).await;

    let (endpoint, _) = env.create_endpoint("alice", "http://127.0.0.1:9/hook").await;
    let (_, rotated) =
        env.call(Method::POST, &format!("/v1/webhook-endpoints/{endpoint}/rotate-secret"), Some("alice"), None).await;
    env.call(
        Method::PUT,
        "/v1/notification-settings",
        Some("alice"),
        Some(json!({ "email_address": "a@example.com", "email_enabled": true })),
    )
    .await;

    assert!(rotated["previous_secret_expires_at"].is_string(), "{rotated}");
    let delivery = store.delivery_endpoint(endpoint).await.expect("read").expect("present");
    assert_eq!(delivery.secrets.len(), 2, "current and previous secret");
    assert_eq!(
        env.channels.targets("alice").await.expect("targets"),
        [Target::email("a@example.com"), Target::webhook(endpoint)]
    );
}

#[tokio::test]
async fn a_service_acting_for_a_user_may_not_read_or_change_their_channels() {
    let env = TestEnv::start().await;
    let claims = json!({ "scope": service_runtime::auth::ON_BEHALF_SCOPE, "act_for": "alice" });
    let token = crate::helpers::token_with("service:recurring-task", claims);

    for (method, path) in [
        (Method::GET, "/v1/webhook-endpoints"),
        (Method::POST, "/v1/webhook-endpoints"),
        (Method::PUT, "/v1/notification-settings"),
    ] {
        let response = env
            .client
            .request(method.clone(), format!("{}{path}", env.base))
            .bearer_auth(&token)
            .json(&json!({ "url": "http://127.0.0.1:9/hook", "email_enabled": false }))
            .send()
            .await
            .expect("an answer");

        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {path}");
    }
    assert!(env.channels.targets("alice").await.expect("targets").is_empty());
}

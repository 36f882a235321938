//! A service acting for a user per request (`X-On-Behalf-Of`), through the shared
//! `service_runtime::client` as the recurring-task consumer will call task-api.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use service_runtime::auth::testing::{ISSUER, SECRET};
use service_runtime::auth::{ON_BEHALF_OF_HEADER, ON_BEHALF_SCOPE};
use service_runtime::client::{ClientSettings, DevelopmentTokenSettings, ServiceClient, TokenSettings};

use crate::helpers::*;

/// A client of `app` with development tokens of `service:recurring-task` (the on-behalf scope
/// included), signed and addressed as the app's `auth` settings expect.
fn service_client(app: &TestApp) -> ServiceClient {
    let settings = ClientSettings {
        base_url: app.base.clone(),
        token: TokenSettings {
            development: DevelopmentTokenSettings {
                service: "recurring-task".into(),
                hs256_secret: Some(SECRET.into()),
                issuer: Some(ISSUER.into()),
                audience: Some(AUDIENCE.into()),
                ..DevelopmentTokenSettings::default()
            },
            ..TokenSettings::default()
        },
        ..ClientSettings::default()
    };
    ServiceClient::new(&settings).expect("a service client")
}

fn claims(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_naming_a_user_in_x_on_behalf_of_creates_the_users_task_and_the_event_records_the_service() {
    let app = spawn_app().await;
    let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    let created: Value = service_client(&app)
        .post("/v1/tasks")
        .on_behalf_of("alice")
        .idempotency_key("next-occurrence-1")
        .traceparent(Some(incoming))
        .json(&json!({ "title": "next occurrence" }))
        .send_json()
        .await
        .expect("created");

    let alices = body(app.request(Method::GET, "/v1/tasks", "alice").send().await.expect("list")).await;
    assert_eq!(alices["items"][0]["id"], created["id"], "the task belongs to alice");
    let events = read_events(&app.task_events, 1).await;
    let event = &events[0].1;
    assert_eq!(event["type"], "task.created");
    assert_eq!((event["subject"].as_str(), event["userid"].as_str()), (created["id"].as_str(), Some("alice")));
    assert_eq!(event["actor"], "service:recurring-task");
    let traceparent = event["traceparent"].as_str().expect("a traceparent");
    assert!(traceparent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"), "the caller's trace: {traceparent}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_on_behalf_of_is_refused_with_403_to_users_to_services_without_the_scope_and_when_it_names_a_service() {
    let app = spawn_app().await;
    let url = format!("{}/v1/tasks", app.base);
    let service_with_scope = token_with("service:recurring-task", claims(json!({ "scope": ON_BEHALF_SCOPE })));
    let cases = [
        (token("mallory"), "alice", "only a service token"),
        (token_with("service:recurring-task", claims(json!({}))), "alice", ON_BEHALF_SCOPE),
        (service_with_scope.clone(), "service:audit", "not a service"),
        (service_with_scope, "", "visible ASCII"),
    ];

    for (bearer, named, reason) in cases {
        let response = app
            .client
            .post(&url)
            .bearer_auth(bearer)
            .header(ON_BEHALF_OF_HEADER, named)
            .json(&json!({ "title": "x" }))
            .send()
            .await
            .expect("send");

        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{named:?}");
        let problem = body(response).await;
        assert!(problem["detail"].as_str().is_some_and(|d| d.contains(reason)), "{named:?}: {problem}");
    }
    let alices = body(app.request(Method::GET, "/v1/tasks", "alice").send().await.expect("list")).await;
    assert_eq!(alices["items"], json!([]), "nothing was created");
    let mallorys = body(app.request(Method::GET, "/v1/tasks", "mallory").send().await.expect("list")).await;
    assert_eq!(mallorys["items"], json!([]), "not even for the user token's own subject");
    app.shutdown().await;
}

//! Successors of recurring tasks through the API: `series` from a service acting for the user,
//! one task per occurrence (a repeat answers 200 with the existing task and publishes nothing).

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use service_runtime::auth::{ON_BEHALF_OF_HEADER, ON_BEHALF_SCOPE};

use crate::helpers::*;

/// A `POST /v1/tasks` as the recurring-task service acting for `user`.
fn as_service(app: &TestApp, user: &str) -> RequestBuilder {
    let scope = match json!({ "scope": ON_BEHALF_SCOPE }) {
        Value::Object(claims) => claims,
        _ => unreachable!("an object"),
    };
    app.client
        .post(format!("{}/v1/tasks", app.base))
        .bearer_auth(token_with("service:recurring-task", scope))
        .header(ON_BEHALF_OF_HEADER, user)
}

/// The first task of a daily series, created by alice, and the body of its successor.
async fn first_and_successor(app: &TestApp) -> (Value, Value) {
    let first = app
        .create(
            "alice",
            json!({
                "title": "Stand-up", "tags": ["work"], "due_at": "2030-03-04T09:00:00Z", "time_zone": "Europe/Berlin",
                "reminders": [{"before_due": "PT15M"}], "recurrence": {"rrule": "FREQ=DAILY;COUNT=5"}
            }),
        )
        .await;
    let successor = json!({
        "title": "Stand-up", "tags": ["work"], "due_at": "2030-03-05T09:00:00Z", "time_zone": "Europe/Berlin",
        "reminders": [{"before_due": "PT15M"}], "recurrence": {"rrule": "FREQ=DAILY;COUNT=5"},
        "series": {
            "id": first["id"], "start": "2030-03-04T09:00:00Z", "occurrence_at": "2030-03-05T09:00:00Z",
            "occurrence_number": 2, "follows": "2030-03-04T09:00:00Z"
        }
    });
    (first, successor)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_creates_a_successor_with_its_series_position_and_reading_returns_it() {
    let app = spawn_app().await;
    let (first, successor) = first_and_successor(&app).await;

    let response = as_service(&app, "alice").json(&successor).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::CREATED);
    let created = body(response).await;
    let read = body(
        app.request(Method::GET, &format!("/v1/tasks/{}", created["id"].as_str().expect("id")), "alice")
            .send()
            .await
            .expect("get"),
    )
    .await;

    assert_eq!(first["series_id"], first["id"]);
    assert_eq!((&first["series_start"], &first["occurrence_number"]), (&json!("2030-03-04T09:00:00Z"), &json!(1)));
    assert_eq!(first["follows"], Value::Null);
    assert_eq!(read["series_id"], first["id"]);
    assert_eq!(read["occurrence_at"], "2030-03-05T09:00:00Z");
    assert_eq!(read["series_start"], "2030-03-04T09:00:00Z");
    assert_eq!((&read["occurrence_number"], &read["follows"]), (&json!(2), &json!("2030-03-04T09:00:00Z")));
    let series = body(
        app.request(Method::GET, &format!("/v1/tasks?series_id={}", first["id"].as_str().expect("id")), "alice")
            .send()
            .await
            .expect("list"),
    )
    .await;
    assert_eq!(series["items"].as_array().map(Vec::len), Some(2), "the series filter lists both");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_successor_answers_200_with_the_existing_task_and_publishes_nothing() {
    let app = spawn_app().await;
    let (first, successor) = first_and_successor(&app).await;
    let created = body(as_service(&app, "alice").json(&successor).send().await.expect("send")).await;

    // Another delivery of the same completion: no Idempotency-Key, or another one.
    let again = as_service(&app, "alice").json(&successor).send().await.expect("send");
    let keyed =
        as_service(&app, "alice").header("idempotency-key", "other").json(&successor).send().await.expect("send");

    for response in [again, keyed] {
        assert_eq!(response.status(), StatusCode::OK);
        let location = format!("/v1/tasks/{}", created["id"].as_str().expect("id"));
        assert_eq!(response.headers()["location"], location.as_str());
        assert_eq!(response.headers()["etag"], "\"1\"");
        assert_eq!(body(response).await, created, "the existing task, as GET shows it");
    }
    let marker = app.create("alice", json!({"title": "marker"})).await;
    let events = read_events(&app.task_events, 3).await;
    let keys: Vec<&str> = events.iter().map(|(key, _)| key.as_str()).collect();
    for task in [&first, &created, &marker] {
        assert!(keys.contains(&task["id"].as_str().expect("id")), "{keys:?}");
    }
    assert_eq!(record_count(&app.task_events).await, 3, "the repeats published nothing");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_identical_successor_creates_answer_201_and_200_with_one_task() {
    let app = spawn_app().await;
    let (first, successor) = first_and_successor(&app).await;

    let (a, b) = tokio::join!(
        as_service(&app, "alice").json(&successor).send(),
        as_service(&app, "alice").json(&successor).send()
    );
    let (a, b) = (a.expect("send"), b.expect("send"));

    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 201]);
    assert_eq!(body(a).await["id"], body(b).await["id"]);
    let series = body(
        app.request(Method::GET, &format!("/v1/tasks?series_id={}", first["id"].as_str().expect("id")), "alice")
            .send()
            .await
            .expect("list"),
    )
    .await;
    assert_eq!(series["items"].as_array().map(Vec::len), Some(2));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_sending_series_gets_422_naming_the_field() {
    let app = spawn_app().await;
    let (_, successor) = first_and_successor(&app).await;

    let response = app.request(Method::POST, "/v1/tasks", "alice").json(&successor).send().await.expect("send");

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem = body(response).await;
    assert_eq!(problem["errors"][0]["field"], "series");
    assert_eq!(problem["errors"][0]["rule"], "read_only");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_series_position_that_contradicts_the_task_is_422_naming_its_fields() {
    let app = spawn_app().await;
    let (_, mut successor) = first_and_successor(&app).await;
    successor["series"]["occurrence_at"] = json!("2030-03-06T09:00:00Z");
    successor["series"]["occurrence_number"] = json!(6);
    let mut without_recurrence = successor.clone();
    without_recurrence["recurrence"] = Value::Null;

    let contradicting = as_service(&app, "alice").json(&successor).send().await.expect("send");
    let needs_recurrence = as_service(&app, "alice").json(&without_recurrence).send().await.expect("send");

    assert_eq!(contradicting.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<Value> =
        body(contradicting).await["errors"].as_array().expect("errors").iter().map(|e| e["field"].clone()).collect();
    assert!(fields.contains(&json!("series.occurrence_at")), "{fields:?}");
    assert!(fields.contains(&json!("series.occurrence_number")), "beyond COUNT=5: {fields:?}");
    assert_eq!(needs_recurrence.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body(needs_recurrence).await["errors"][0]["rule"], "requires_recurrence");
    app.shutdown().await;
}

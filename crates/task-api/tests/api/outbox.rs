//! The transactional outbox against the real broker: every committed write's event appears
//! once, in per-task order; a rolled-back write publishes nothing; writes succeed while the
//! broker is down and their events arrive after it returns; two relays publish each row once.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use service_runtime::auth::mint_dev_token;
use service_runtime::testing::{LocalBroker, free_port};

use crate::helpers::*;

fn of_type<'a>(events: &'a [(String, Value)], event_type: &str) -> Vec<&'a Value> {
    events.iter().filter(|(_, e)| e["type"] == event_type).map(|(_, e)| e).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_committed_write_is_published_once_in_per_task_order_and_rejected_writes_publish_nothing() {
    let app = spawn_app().await;
    let task = app
        .create(
            "alice",
            json!({"title": "t", "due_at": "2030-01-01T09:00:00Z", "reminders": [{"before_due": "PT15M"}]}),
        )
        .await;
    let id = task["id"].as_str().expect("id").to_owned();
    let path = format!("/v1/tasks/{id}");
    let send = |method: Method, suffix: &str, body: Value| {
        app.request(method, &format!("{path}{suffix}"), "alice")
            .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
            .json(&body)
            .send()
    };
    assert_eq!(send(Method::PATCH, "", json!({"priority": "high"})).await.expect("send").status(), 200);
    // Rejected: validation fails, and a stale If-Match; neither may publish anything.
    assert_eq!(send(Method::PATCH, "", json!({"title": ""})).await.expect("send").status(), 422);
    let stale = app
        .request(Method::PATCH, &path, "alice")
        .header("If-Match", "\"1\"")
        .json(&json!({"title": "x"}))
        .send()
        .await
        .expect("send");
    assert_eq!(stale.status(), 412);
    assert_eq!(send(Method::POST, "/complete", json!({})).await.expect("send").status(), 200);
    assert_eq!(
        send(Method::POST, "/complete", json!({})).await.expect("send").status(),
        200,
        "idempotent: no second event"
    );
    assert_eq!(send(Method::POST, "/reopen", json!({})).await.expect("send").status(), 200);
    assert_eq!(send(Method::DELETE, "", json!({})).await.expect("send").status(), 204);

    let events = read_events(&app.task_events, 5).await;
    assert_eq!(record_count(&app.task_events).await, 5, "nothing else was published");
    let types: Vec<&str> = events.iter().map(|(_, e)| e["type"].as_str().unwrap_or_default()).collect();
    assert_eq!(types, ["task.created", "task.updated", "task.completed", "task.reopened", "task.deleted"]);
    let sequences: Vec<i64> = events.iter().map(|(_, e)| e["sequence"].as_i64().unwrap_or_default()).collect();
    assert_eq!(sequences, [1, 2, 3, 4, 5]);
    assert!(events.iter().all(|(key, e)| *key == id && e["subject"] == id.as_str() && e["userid"] == "alice"));
    assert_eq!(events[1].1["data"]["changes"], json!([{"field": "priority", "previous": "none", "current": "high"}]));
    assert_eq!(events[1].1["traceparent"], "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    let ids: HashSet<&str> = events.iter().filter_map(|(_, e)| e["id"].as_str()).collect();
    assert_eq!(ids.len(), 5, "distinct event ids");

    // created: scheduled; completed: cancelled; reopened: scheduled; deleted: cancelled.
    let reminders = read_events(&app.reminders, 4).await;
    assert_eq!(record_count(&app.reminders).await, 4, "nothing else was published");
    let kinds: Vec<&str> = reminders.iter().map(|(_, e)| e["type"].as_str().unwrap_or_default()).collect();
    assert_eq!(kinds, ["reminder.scheduled", "reminder.cancelled", "reminder.scheduled", "reminder.cancelled"]);
    assert_eq!(reminders[0].1["data"]["remind_at"], "2030-01-01T08:45:00Z");
    assert_eq!(reminders[1].1["data"]["reason"], "task_completed");
    assert_eq!(reminders[3].1["data"]["reason"], "task_deleted");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_succeed_while_the_broker_is_down_and_all_their_events_arrive_after_it_returns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port().expect("port");
    let broker = LocalBroker::start(dir.path(), port, &[]).expect("broker");
    let app = spawn_with(Options { database_url: None, topics: None, bootstrap: Some(broker.bootstrap()) }).await;
    app.ready().await;
    broker.stop();

    for i in 0..100 {
        let response = app
            .request(Method::POST, "/v1/tasks", "alice")
            .json(&json!({"title": format!("offline {i}")}))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 201, "write {i} must succeed with the broker down");
    }

    let _broker = LocalBroker::start(dir.path(), port, &[]).expect("broker restarts over the same data");
    let restarted = format!("127.0.0.1:{port}");
    let events = read_events_from(&restarted, &app.task_events, 100).await;
    let titles: HashSet<&str> = events.iter().filter_map(|(_, e)| e["data"]["task"]["title"].as_str()).collect();
    assert_eq!(titles.len(), 100, "all 100 events arrived");
    assert_eq!(record_count_on(&restarted, &app.task_events).await, 100, "each once");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_on_one_database_publish_each_row_exactly_once() {
    let first = spawn_app().await;
    let second = spawn_with(Options {
        database_url: Some(first.database_url.clone()),
        topics: Some((first.task_events.clone(), first.reminders.clone())),
        bootstrap: None,
    })
    .await;
    let mut ids = Vec::new();
    for i in 0..60 {
        let app = if i % 2 == 0 { &first } else { &second };
        ids.push(
            app.create("alice", json!({"title": format!("task {i}")})).await["id"].as_str().expect("id").to_owned(),
        );
    }
    let events = read_events(&first.task_events, 60).await;
    assert_eq!(record_count(&first.task_events).await, 60, "each row published once, not twice");
    let created = of_type(&events, "task.created");
    assert_eq!(created.len(), 60);
    let mut per_id: HashMap<&str, usize> = HashMap::new();
    for event in &created {
        *per_id.entry(event["subject"].as_str().unwrap_or_default()).or_default() += 1;
    }
    assert!(ids.iter().all(|id| per_id.get(id.as_str()) == Some(&1)));
    second.shutdown().await;
    first.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_creates_for_a_user_only_with_the_on_behalf_scope_and_its_events_record_the_actor() {
    let app = spawn_app().await;
    let service_token = |claims: Value| {
        let claims = claims.as_object().cloned().unwrap_or_default();
        mint_dev_token(&auth_settings(), "service:recurring-task", Duration::from_secs(60), claims).expect("token")
    };
    let url = format!("{}/v1/tasks", app.base);
    let allowed = service_token(json!({"scope": "tasks:write_on_behalf", "act_for": "alice"}));
    let created = app
        .client
        .post(&url)
        .bearer_auth(allowed)
        .json(&json!({"title": "next occurrence"}))
        .send()
        .await
        .expect("send");
    assert_eq!(created.status(), 201);
    let created = body(created).await;

    for claims in [json!({"act_for": "alice"}), json!({"scope": "tasks:write_on_behalf"})] {
        let refused = app
            .client
            .post(&url)
            .bearer_auth(service_token(claims.clone()))
            .json(&json!({"title": "x"}))
            .send()
            .await
            .expect("send");
        assert_eq!(refused.status(), 403, "{claims}");
    }

    let mine = body(app.request(Method::GET, "/v1/tasks", "alice").send().await.expect("list")).await;
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(1), "the task belongs to alice");
    let events = read_events(&app.task_events, 1).await;
    assert_eq!(record_count(&app.task_events).await, 1, "the refused writes published nothing");
    let event = &events[0].1;
    assert_eq!((event["subject"].as_str(), event["userid"].as_str()), (created["id"].as_str(), Some("alice")));
    assert_eq!(event["actor"], "service:recurring-task");
    app.shutdown().await;
}

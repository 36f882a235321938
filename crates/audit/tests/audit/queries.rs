//! User isolation and administrator access on every query route; filters and pagination.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

fn users(entries: &Value) -> Vec<String> {
    let mut users: Vec<String> =
        entries.as_array().expect("array").iter().map(|e| e["user_id"].as_str().expect("user").to_owned()).collect();
    users.sort();
    users.dedup();
    users
}

fn ndjson(text: &str) -> Value {
    Value::Array(text.lines().map(|l| serde_json::from_str(l).expect("one JSON entry per line")).collect())
}

/// Records 3 events of alice's task and 2 of bob's; returns (alice's task, bob's task).
async fn recorded(audit: &AuditApp, topics: &Topics) -> (uuid::Uuid, uuid::Uuid) {
    let producer = producer();
    let (alices, bobs) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    for (user, task, n) in [("alice", alices, 3), ("bob", bobs, 2)] {
        for _ in 0..n {
            produce(&producer, &topics.reminders, &task.to_string(), &reminder_sent(user, task)).await;
        }
    }
    eventually("the 5 events recorded", || async { audit.rows().await == 5 }).await;
    (alices, bobs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_see_only_their_own_entries_on_every_route_and_administrators_see_everyones() {
    let topics = Topics::new();
    let audit = spawn_audit(&topics, &fresh_database().await, &unique("audit")).await;
    let (alices, bobs) = recorded(&audit, &topics).await;
    let alice = token("alice");
    let admin = admin_token("root");

    // GET /v1/audit
    let page = audit.json("/v1/audit", &alice).await;
    assert_eq!((users(&page["items"]), page["items"].as_array().map(Vec::len)), (vec!["alice".to_owned()], Some(3)));
    assert_eq!(audit.get("/v1/audit?user_id=bob", &alice).send().await.expect("send").status(), StatusCode::FORBIDDEN);
    assert_eq!(users(&audit.json("/v1/audit", &admin).await["items"]), ["alice", "bob"]);
    assert_eq!(users(&audit.json("/v1/audit?user_id=bob", &admin).await["items"]), ["bob"]);

    // GET /v1/audit/tasks/{task_id}
    assert_eq!(
        audit.json(&format!("/v1/audit/tasks/{alices}"), &alice).await["entries"].as_array().map(Vec::len),
        Some(3)
    );
    let foreign = audit.get(&format!("/v1/audit/tasks/{bobs}"), &alice).send().await.expect("send");
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND, "another user's task reads as absent");
    assert_eq!(
        audit.json(&format!("/v1/audit/tasks/{bobs}"), &admin).await["entries"].as_array().map(Vec::len),
        Some(2)
    );

    // GET /v1/audit/export
    let export = audit.get("/v1/audit/export", &alice).send().await.expect("send");
    assert_eq!(export.headers()["content-type"], "application/x-ndjson");
    assert_eq!(users(&ndjson(&export.text().await.expect("body"))), ["alice"]);
    assert_eq!(
        audit.get("/v1/audit/export?user_id=bob", &alice).send().await.expect("send").status(),
        StatusCode::FORBIDDEN
    );
    let all = ndjson(&audit.get("/v1/audit/export", &admin).send().await.expect("send").text().await.expect("body"));
    assert_eq!((users(&all), all.as_array().map(Vec::len)), (vec!["alice".to_owned(), "bob".to_owned()], Some(5)));

    // GET /v1/audit/verify
    let own = audit.json("/v1/audit/verify", &alice).await;
    assert_eq!((own["chains_checked"].as_u64(), own["chains"][0]["user_id"].as_str()), (Some(1), Some("alice")));
    assert_eq!(
        audit.get("/v1/audit/verify?user_id=bob", &alice).send().await.expect("send").status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(audit.json("/v1/audit/verify", &admin).await["chains_checked"], 2);
    assert_eq!(audit.json("/v1/audit/verify?user_id=bob", &admin).await["chains"][0]["user_id"], "bob");

    // No token, or a bad one: 401 on every route.
    for path in ["/v1/audit", &format!("/v1/audit/tasks/{alices}"), "/v1/audit/export", "/v1/audit/verify"] {
        let anonymous = audit.client.get(format!("{}{path}", audit.base)).send().await.expect("send");
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(
            audit.get(path, "not-a-jwt").send().await.expect("send").status(),
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    audit.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_and_cursor_pages_return_each_matching_entry_once() {
    let topics = Topics::new();
    let audit = spawn_audit(&topics, &fresh_database().await, &unique("audit")).await;
    let (alices, _) = recorded(&audit, &topics).await;
    let admin = admin_token("root");

    let mut seen = Vec::new();
    let mut path = "/v1/audit?limit=2".to_owned();
    loop {
        let page = audit.json(&path, &admin).await;
        seen.extend(
            page["items"].as_array().expect("items").iter().map(|e| e["event_id"].as_str().expect("id").to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/audit?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let mut distinct = seen.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!((seen.len(), distinct.len()), (5, 5), "three pages, each entry once");

    let filtered = audit.json(&format!("/v1/audit?task_id={alices}&type=reminder.sent"), &admin).await;
    assert_eq!(filtered["items"].as_array().map(Vec::len), Some(3));
    assert_eq!(audit.json("/v1/audit?type=task.created", &admin).await["items"].as_array().map(Vec::len), Some(0));
    let future = audit.json("/v1/audit?from=2999-01-01T00:00:00Z", &admin).await;
    assert_eq!(future["items"].as_array().map(Vec::len), Some(0));

    let invalid = audit.get("/v1/audit?from=yesterday&limit=9999", &admin).send().await.expect("send");
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid.headers()["content-type"], "application/problem+json");
    let problem: Value = invalid.json().await.expect("problem");
    let fields: Vec<&str> =
        problem["errors"].as_array().expect("errors").iter().map(|e| e["field"].as_str().expect("field")).collect();
    assert_eq!(fields, ["from", "limit"]);
    audit.shutdown().await;
}

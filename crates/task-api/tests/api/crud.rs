//! The HTTP contract: every endpoint, validation, auth, isolation, idempotency, If-Match.

use reqwest::Method;
use serde_json::json;
use service_runtime::auth::mint_dev_token;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_a_task_answers_201_with_location_etag_and_the_stored_task() {
    let app = spawn_app().await;
    let response = app
        .request(Method::POST, "/v1/tasks", "alice")
        .json(&json!({"title": "  Water the plants ", "priority": "high", "tags": ["Home"], "due_at": "2030-01-01T09:00:00Z", "time_zone": "Europe/Berlin"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().expect("ascii").to_owned();
    assert_eq!(response.headers()["etag"], "\"1\"");
    let created = body(response).await;
    assert_eq!(created["title"], "Water the plants");
    assert_eq!(created["tags"], json!(["home"]));
    assert_eq!(location, format!("/v1/tasks/{}", created["id"].as_str().expect("id")));

    let fetched = app.request(Method::GET, &location, "alice").send().await.expect("get");
    assert_eq!(fetched.status(), 200);
    assert_eq!(body(fetched).await, created);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_is_a_422_problem_naming_every_field_and_rule() {
    let app = spawn_app().await;
    let response = app
        .request(Method::POST, "/v1/tasks", "alice")
        .json(&json!({"title": "", "priority": "extreme", "reminders": [{"before_due": "PT15M"}], "colour": "red"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 422);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let problem = body(response).await;
    assert_eq!(problem["status"], 422);
    let errors = problem["errors"].as_array().expect("errors");
    for (field, rule) in [
        ("title", "min_length"),
        ("priority", "one_of"),
        ("reminders[0].before_due", "requires_due_at"),
        ("colour", "unknown_field"),
    ] {
        assert!(
            errors.iter().any(|e| e["field"] == field && e["rule"] == rule),
            "{field}/{rule} missing in {errors:?}"
        );
    }
    let list = app.request(Method::GET, "/v1/tasks", "alice").send().await.expect("list");
    assert_eq!(body(list).await["items"], json!([]), "nothing was created");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_bad_expired_and_wrong_audience_tokens_get_401_with_www_authenticate() {
    let app = spawn_app().await;
    let url = format!("{}/v1/tasks", app.base);
    let wrong_audience = {
        let mut settings = auth_settings();
        settings.audience = Some("someone-else".into());
        mint_dev_token(&settings, "alice", std::time::Duration::from_secs(60), Default::default()).expect("token")
    };
    let expired = {
        let mut claims = serde_json::Map::new();
        claims.insert("exp".into(), json!(1_000_000));
        mint_dev_token(&auth_settings(), "alice", std::time::Duration::from_secs(60), claims).expect("token")
    };
    let bad_signature = {
        let mut settings = auth_settings();
        settings.hs256_secret = Some("another-secret-of-thirty-two-bytes!!".into());
        mint_dev_token(&settings, "alice", std::time::Duration::from_secs(60), Default::default()).expect("token")
    };
    for (case, token) in [
        ("none", None),
        ("garbage", Some("not.a.jwt".to_owned())),
        ("bad signature", Some(bad_signature)),
        ("expired", Some(expired)),
        ("wrong audience", Some(wrong_audience)),
    ] {
        let mut request = app.client.get(&url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("send");
        assert_eq!(response.status(), 401, "{case}");
        assert!(response.headers()["www-authenticate"].to_str().expect("ascii").starts_with("Bearer"), "{case}");
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_task_is_not_found_for_every_operation() {
    let app = spawn_app().await;
    let task = app.create("alice", json!({"title": "private"})).await;
    let path = format!("/v1/tasks/{}", task["id"].as_str().expect("id"));
    for (method, suffix) in [
        (Method::GET, ""),
        (Method::PATCH, ""),
        (Method::DELETE, ""),
        (Method::POST, "/complete"),
        (Method::POST, "/reopen"),
    ] {
        let response = app
            .request(method.clone(), &format!("{path}{suffix}"), "mallory")
            .json(&json!({"title": "mine now"}))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 404, "{method} {suffix}");
    }
    let list = app.request(Method::GET, "/v1/tasks", "mallory").send().await.expect("list");
    assert_eq!(body(list).await["items"], json!([]));
    let still = app.request(Method::GET, &path, "alice").send().await.expect("get");
    assert_eq!(body(still).await["title"], "private");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeating_a_create_with_its_idempotency_key_answers_the_original_and_creates_nothing() {
    let app = spawn_app().await;
    let send = |title: &'static str| {
        app.request(Method::POST, "/v1/tasks", "alice")
            .header("Idempotency-Key", "k-1")
            .json(&json!({"title": title}))
            .send()
    };
    let first = send("once").await.expect("send");
    assert_eq!(first.status(), 201);
    let etag = first.headers()["etag"].clone();
    let first = body(first).await;
    let again = send("once").await.expect("send");
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["etag"], etag, "the replay carries the original ETag");
    assert_eq!(body(again).await, first);
    let different = send("twice").await.expect("send");
    assert_eq!(different.status(), 422);
    let list = app.request(Method::GET, "/v1/tasks", "alice").send().await.expect("list");
    assert_eq!(body(list).await["items"].as_array().expect("items").len(), 1);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_if_match_is_412_and_changes_nothing_while_the_current_one_updates() {
    let app = spawn_app().await;
    let task = app.create("alice", json!({"title": "v1"})).await;
    let path = format!("/v1/tasks/{}", task["id"].as_str().expect("id"));
    let updated = app
        .request(Method::PATCH, &path, "alice")
        .header("If-Match", "\"1\"")
        .json(&json!({"title": "v2"}))
        .send()
        .await
        .expect("send");
    assert_eq!(updated.status(), 200);
    assert_eq!(updated.headers()["etag"], "\"2\"");
    let stale = app
        .request(Method::PATCH, &path, "alice")
        .header("If-Match", "\"1\"")
        .json(&json!({"title": "v3"}))
        .send()
        .await
        .expect("send");
    assert_eq!(stale.status(), 412);
    let now = body(app.request(Method::GET, &path, "alice").send().await.expect("get")).await;
    assert_eq!((now["title"].as_str(), now["version"].as_i64()), (Some("v2"), Some(2)));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_and_reopen_are_idempotent_and_delete_answers_204() {
    let app = spawn_app().await;
    let task = app.create("alice", json!({"title": "t"})).await;
    let path = format!("/v1/tasks/{}", task["id"].as_str().expect("id"));
    for expected_version in [2, 2] {
        let done = app.request(Method::POST, &format!("{path}/complete"), "alice").send().await.expect("send");
        assert_eq!(done.status(), 200);
        let done = body(done).await;
        assert_eq!((done["status"].as_str(), done["version"].as_i64()), (Some("completed"), Some(expected_version)));
    }
    let reopened =
        body(app.request(Method::POST, &format!("{path}/reopen"), "alice").send().await.expect("send")).await;
    assert_eq!((reopened["status"].as_str(), reopened["version"].as_i64()), (Some("open"), Some(3)));
    let deleted = app.request(Method::DELETE, &path, "alice").send().await.expect("send");
    assert_eq!(deleted.status(), 204);
    assert_eq!(app.request(Method::GET, &path, "alice").send().await.expect("get").status(), 404);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_filter_sort_and_paginate_with_a_cursor() {
    let app = spawn_app().await;
    for (title, priority, tags) in [
        ("a", "low", vec!["home"]),
        ("b", "urgent", vec!["work"]),
        ("c", "high", vec!["work", "home"]),
        ("d", "urgent", vec![]),
        ("e", "none", vec!["home"]),
    ] {
        app.create("alice", json!({"title": title, "priority": priority, "tags": tags})).await;
    }
    let get = |query: &str| {
        let request = app.request(Method::GET, &format!("/v1/tasks?{query}"), "alice");
        async move { body(request.send().await.expect("send")).await }
    };
    let titles = |page: &serde_json::Value| {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|t| t["title"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(titles(&get("priority=urgent,high&sort=title").await), ["b", "c", "d"]);
    assert_eq!(titles(&get("tag=home&tag=work&tag_match=all").await), ["c"]);
    assert_eq!(titles(&get("tag=work&sort=-title").await), ["c", "b"]);
    assert_eq!(titles(&get("q=C").await), ["c"]);

    let mut seen = Vec::new();
    let mut query = "sort=-priority,title&limit=2".to_owned();
    loop {
        let page = get(&query).await;
        seen.extend(titles(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("sort=-priority,title&limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["b", "d", "c", "a", "e"], "priority rank, then title, across pages");
    let bad = app.request(Method::GET, "/v1/tasks?limit=0&sort=colour", "alice").send().await.expect("send");
    assert_eq!(bad.status(), 422);
    let first = get("sort=title&limit=2").await;
    let cursor = first["next_cursor"].as_str().expect("more pages");
    let other_sort = app
        .request(Method::GET, &format!("/v1/tasks?sort=-priority&cursor={cursor}"), "alice")
        .send()
        .await
        .expect("send");
    assert_eq!(other_sort.status(), 422, "a cursor only continues the sort that produced it");
    let problem = body(other_sort).await;
    assert_eq!(problem["errors"][0]["field"], "cursor");
    app.shutdown().await;
}

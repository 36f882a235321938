//! The limits of docs/limits.md, over HTTP: instants outside the years 1 to 9999 in UTC and
//! recurrence rules that would cost unbounded work are refused with a 422 naming the field.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// The `(field, rule)` pairs of a 422 problem.
async fn refused(response: reqwest::Response) -> Vec<(String, String)> {
    assert_eq!(response.status(), 422);
    let problem = body(response).await;
    let errors = problem["errors"].as_array().cloned().unwrap_or_default();
    errors
        .iter()
        .map(|e| {
            (e["field"].as_str().unwrap_or_default().to_owned(), e["rule"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

fn pair(field: &str, rule: &str) -> Vec<(String, String)> {
    vec![(field.to_owned(), rule.to_owned())]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instant_that_leaves_years_1_to_9999_once_in_utc_is_a_422_and_nothing_is_stored() {
    let app = spawn_app().await;
    let created = app.create("alice", json!({"title": "t", "due_at": "2030-01-01T09:00:00Z"})).await;
    let path = format!("/v1/tasks/{}", created["id"].as_str().expect("id"));

    for instant in ["9999-12-31T23:59:59-14:00", "0000-01-01T00:00:00+14:00"] {
        let post = app.request(Method::POST, "/v1/tasks", "alice").json(&json!({"title": "t", "due_at": instant}));
        let patch = app.request(Method::PATCH, &path, "alice").json(&json!({"due_at": instant}));

        assert_eq!(refused(post.send().await.expect("post")).await, pair("due_at", "range"), "{instant}");
        assert_eq!(refused(patch.send().await.expect("patch")).await, pair("due_at", "range"), "{instant}");
    }
    let list = body(app.request(Method::GET, "/v1/tasks", "alice").send().await.expect("list")).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "only the valid task: {list}");
    assert_eq!(list["items"][0]["due_at"], "2030-01-01T09:00:00Z", "unchanged");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_that_never_repeat_or_have_empty_parts_are_422s_naming_the_rrule() {
    let app = spawn_app().await;
    let with_rule = |rrule: &str| -> Value {
        json!({"title": "t", "due_at": "2026-01-01T09:00:00Z", "recurrence": {"rrule": rrule}})
    };
    // A burst of the rule that used to cost ~0.4 s of CPU each, beside an ordinary request.
    let never = (0..8).map(|_| {
        app.request(Method::POST, "/v1/tasks", "alice").json(&with_rule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30")).send()
    });
    let (never, ordinary) =
        tokio::join!(futures::future::join_all(never), app.request(Method::GET, "/v1/tasks", "alice").send());

    for response in never {
        assert_eq!(refused(response.expect("post")).await, pair("recurrence.rrule", "no_next_occurrence"));
    }
    assert_eq!(ordinary.expect("list").status(), 200);
    let empty_parts = app.request(Method::POST, "/v1/tasks", "alice").json(&with_rule("FREQ=DAILY;;;"));
    assert_eq!(refused(empty_parts.send().await.expect("post")).await, pair("recurrence.rrule", "format"));
    app.shutdown().await;
}

/// One rule for a token's subject at every service's boundary: a user whose events a consumer
/// could not store (audit refuses a NUL, and attributes over 1 KiB) cannot write at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subject_too_long_or_with_a_nul_is_a_401_naming_the_reason() {
    let app = spawn_app().await;

    for sub in ["u".repeat(1500), "al\0ice".to_owned()] {
        let response = app
            .client
            .post(format!("{}/v1/tasks", app.base))
            .bearer_auth(token(&sub))
            .json(&json!({"title": "t"}))
            .send()
            .await
            .expect("post");

        assert_eq!(response.status(), 401, "{sub:?}");
        let challenge = response.headers()["www-authenticate"].to_str().expect("ascii").to_owned();
        assert!(challenge.contains("invalid_subject"), "{challenge}");
        let problem = body(response).await;
        assert!(problem["detail"].as_str().is_some_and(|d| d.contains("`sub`")), "{problem}");
    }
}

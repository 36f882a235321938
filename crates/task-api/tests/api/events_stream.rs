//! `GET /v1/events` against the real broker: a client receives its own events in order and no
//! one else's, resumes after its `Last-Event-ID` without the events it had, and needs a token.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::helpers::*;

/// The longest any single wait in these tests may take.
const WAIT: Duration = Duration::from_secs(30);

/// One Server-Sent Events frame.
#[derive(Debug, Default)]
struct Frame {
    id: Option<String>,
    event: Option<String>,
    data: Option<String>,
    comments: Vec<String>,
}

impl Frame {
    fn parse(block: &str) -> Self {
        let mut frame = Self::default();
        for line in block.lines().filter(|l| !l.is_empty()) {
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
            match field {
                "" => frame.comments.push(value),
                "id" => frame.id = Some(value),
                "event" => frame.event = Some(value),
                // The server sends each event's JSON on one line.
                "data" => frame.data = Some(value),
                _ => {}
            }
        }
        frame
    }

    fn json(&self) -> Value {
        serde_json::from_str(self.data.as_deref().expect("an event has data")).expect("data is JSON")
    }
}

/// An open event stream.
struct Stream {
    response: reqwest::Response,
    buffer: Vec<u8>,
}

impl Stream {
    /// The next frame, or `None` when the stream ended; panics after `WAIT`.
    async fn next_frame(&mut self) -> Option<Frame> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
                return Some(Frame::parse(std::str::from_utf8(&block).expect("UTF-8")));
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .expect("a frame within the deadline")
                .expect("the stream reads");
            self.buffer.extend_from_slice(&chunk?);
        }
    }

    /// The next `count` events (comments skipped).
    async fn events(&mut self, count: usize) -> Vec<Frame> {
        let mut events = Vec::new();
        while events.len() < count {
            let frame = self.next_frame().await.expect("the stream stays open");
            if frame.event.is_some() {
                events.push(frame);
            }
        }
        events
    }
}

/// Opens `user`'s stream and waits until it is positioned (`: connected`): every event
/// committed from then on is on it.
async fn connect(app: &TestApp, user: &str, last_event_id: Option<&str>) -> Stream {
    let mut request = app.request(Method::GET, "/v1/events", user);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    let response = request.send().await.expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut stream = Stream { response, buffer: Vec::new() };
    let first = stream.next_frame().await.expect("a first frame");
    assert_eq!(first.comments, ["connected"], "{first:?}");
    stream
}

async fn patch(app: &TestApp, user: &str, id: &str, body: Value) {
    let response = app.request(Method::PATCH, &format!("/v1/tasks/{id}"), user).json(&body).send().await.expect("send");
    assert_eq!(response.status(), 200);
}

fn id_of(task: &Value) -> String {
    task["id"].as_str().expect("id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_receives_its_own_task_and_reminder_events_in_order_and_never_another_users() {
    let app = spawn_app().await;
    app.ready().await;
    let mut alice = connect(&app, "alice", None).await;
    let mut bob = connect(&app, "bob", None).await;

    // Bob's events are in the topic before any of Alice's: leaked, they would come first.
    let bobs = id_of(&app.create("bob", json!({"title": "bob's"})).await);
    patch(&app, "bob", &bobs, json!({"priority": "high"})).await;
    let bob_events = bob.events(2).await;
    assert!(bob_events.iter().all(|e| e.json()["userid"] == "bob"));
    let alices = id_of(
        &app.create(
            "alice",
            json!({"title": "alice's", "due_at": "2030-01-01T09:00:00Z", "reminders": [{"before_due": "PT15M"}]}),
        )
        .await,
    );
    patch(&app, "alice", &alices, json!({"priority": "high"})).await;

    // task.created, task.updated (task-events) and reminder.scheduled (reminders).
    let events = alice.events(3).await;
    for event in &events {
        let body = event.json();
        assert_eq!(body["userid"], "alice", "{body}");
        assert_eq!(body["subject"], alices.as_str());
        assert_eq!(event.id.as_deref(), body["id"].as_str(), "id: is the CloudEvents id");
        assert_eq!(event.event.as_deref(), body["type"].as_str(), "event: is the CloudEvents type");
    }
    let task_types: Vec<&str> =
        events.iter().filter_map(|e| e.event.as_deref()).filter(|t| t.starts_with("task.")).collect();
    assert_eq!(task_types, ["task.created", "task.updated"]);
    assert!(events.iter().any(|e| e.event.as_deref() == Some("reminder.scheduled")));

    // Shutting down ends the open streams (otherwise the server could not drain).
    app.shutdown().await;
    assert!(alice.next_frame().await.is_none(), "alice's stream ends with the service");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_with_last_event_id_delivers_the_events_after_it_and_not_earlier_ones() {
    let app = spawn_app().await;
    app.ready().await;
    // An event from before the first stream, in the same partition (same task): not resent.
    let mut first = connect(&app, "alice", None).await;
    let task = id_of(&app.create("alice", json!({"title": "t"})).await);
    let created = first.events(1).await;
    assert_eq!(created[0].event.as_deref(), Some("task.created"));
    drop(first);

    let mut second = connect(&app, "alice", None).await;
    patch(&app, "alice", &task, json!({"title": "t1"})).await;
    patch(&app, "alice", &task, json!({"title": "t2"})).await;
    let seen = second.events(2).await;
    let last_event_id = seen[0].id.clone().expect("an id");
    drop(second);
    // While disconnected.
    let completed =
        app.request(Method::POST, &format!("/v1/tasks/{task}/complete"), "alice").send().await.expect("send");
    assert_eq!(completed.status(), 200);

    let mut resumed = connect(&app, "alice", Some(&last_event_id)).await;
    let events = resumed.events(2).await;

    // One task, one partition, in order: the earlier events would have come first.
    let received: Vec<(Option<&str>, Value)> =
        events.iter().map(|e| (e.event.as_deref(), e.json()["data"]["task"]["title"].clone())).collect();
    assert_eq!(received, [(Some("task.updated"), json!("t2")), (Some("task.completed"), json!("t2"))]);
    assert_eq!(events[0].id, seen[1].id);
    app.shutdown().await;
}

#[tokio::test]
async fn the_stream_needs_a_token_and_a_well_formed_last_event_id() {
    let app = spawn_app().await;

    let anonymous = app.client.get(format!("{}/v1/events", app.base)).send().await.expect("send");
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().contains_key("www-authenticate"));

    let malformed = app
        .request(Method::GET, "/v1/events", "alice")
        .header("Last-Event-ID", "not-an-event-id")
        .send()
        .await
        .expect("send");
    assert_eq!(malformed.status(), 400);
    let problem = body(malformed).await;
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("Last-Event-ID")), "{problem}");
    app.shutdown().await;
}

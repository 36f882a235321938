//! One request is one trace from task-api through Kafka into audit: task-api and audit run
//! in this process against the real broker and PostgreSQL, exporting their spans over OTLP to
//! a small receiver of the test's own.
//!
//! A test binary of its own: the tracing subscriber and the tracer provider are process-wide,
//! and the other test binaries install theirs without an exporter. For the same reason both
//! services share one provider here, so one `service.name` (this binary's) for both; the
//! spans tell the services apart by their kind and attributes (a server span of task-api's
//! route, a producer span of task-api's relay, a consumer span of audit's group). Each
//! service's own process names itself (`telemetry::init(SERVICE)`).

// The audit tests' harness (services on their own topics, fresh databases); this binary uses
// only part of it.
#[allow(dead_code)]
#[path = "../audit/helpers.rs"]
mod helpers;
mod receiver;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use service_runtime::telemetry::{self, TelemetrySettings};
use sqlx::Connection as _;

use crate::helpers::*;
use crate::receiver::{ReceivedSpan, Receiver};

/// The `service.name` this process exports as.
const SERVICE: &str = "traces-test";
/// The caller's trace context: its trace continues through every service.
const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// OTLP span kinds.
const SERVER: i32 = 2;
const PRODUCER: i32 = 4;
const CONSUMER: i32 = 5;

fn find<'a>(spans: &'a [ReceivedSpan], kind: i32, name: &str) -> Option<&'a ReceivedSpan> {
    spans.iter().find(|s| s.trace_id == CALLER_TRACE && s.kind == kind && s.name == name)
}

/// Where audit's row of `task_id` came from: topic, partition, offset.
async fn audit_row(database_url: &str, task_id: &str) -> Option<(String, i32, i64)> {
    let mut db = sqlx::PgConnection::connect(database_url).await.expect("connect");
    sqlx::query_as("SELECT source_topic, source_partition, source_offset FROM audit_events WHERE subject = $1")
        .bind(task_id)
        .fetch_optional(&mut db)
        .await
        .expect("query")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_its_outbox_send_and_audits_handling_of_the_event_form_one_trace_of_parent_and_children() {
    let receiver = Receiver::start().await;
    let settings =
        TelemetrySettings { otlp_endpoint: Some(format!("http://{}", receiver.address)), sampling_ratio: 1.0 };
    telemetry::init_with(SERVICE, &settings);
    let topics = Topics::new();
    let group = unique("audit");
    let audit = spawn_audit(&topics, &fresh_database().await, &group).await;
    let api = spawn_task_api(&topics).await;

    let response = api
        .client
        .post(format!("{}/v1/tasks", api.base))
        .bearer_auth(service_runtime::auth::testing::token("task-api", "alice", serde_json::Map::new()))
        .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
        .json(&json!({"title": "Follow the trace"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::CREATED);
    let task: serde_json::Value = response.json().await.expect("json");
    let task_id = task["id"].as_str().expect("id").to_owned();

    let deadline = tokio::time::Instant::now() + WAIT;
    let (topic, partition, offset) = loop {
        if let Some(row) = audit_row(&audit.database_url, &task_id).await {
            break row;
        }
        assert!(tokio::time::Instant::now() < deadline, "no audit row of task.created after {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let consume_name = format!("process {}", topics.task_events);
    eventually("the consumer's span exported", || async {
        telemetry::flush().await;
        find(&receiver.spans(), CONSUMER, &consume_name).is_some()
    })
    .await;

    let spans = receiver.spans();
    let request = find(&spans, SERVER, "POST /v1/tasks").expect("task-api's request span");
    let send = find(&spans, PRODUCER, &format!("send {}", topics.task_events)).expect("the relay's send span");
    let consume = find(&spans, CONSUMER, &consume_name).expect("audit's consumer span");
    assert_eq!(request.parent_span_id, CALLER_SPAN, "the request continues the caller's trace");
    assert_eq!(send.parent_span_id, request.span_id, "the send is a child of the request");
    assert_eq!(consume.parent_span_id, send.span_id, "audit's handling is a child of the send");
    assert_eq!(request.attributes["http.route"], "/v1/tasks");
    assert_eq!(request.attributes["http.response.status_code"], "201");
    assert_eq!(send.attributes["messaging.destination.name"], topics.task_events);
    assert_eq!(consume.attributes["messaging.consumer.group.name"], group);
    assert_eq!(
        (
            consume.attributes["messaging.destination.name"].as_str(),
            &consume.attributes["messaging.destination.partition.id"],
            &consume.attributes["messaging.kafka.offset"]
        ),
        (topic.as_str(), &partition.to_string(), &offset.to_string()),
        "the span handled the record that became the audit row"
    );
    for span in [request, send, consume] {
        assert_eq!(span.service, SERVICE, "{}", span.name);
    }

    api.shutdown().await;
    audit.shutdown().await;
    tokio::time::timeout(Duration::from_secs(10), telemetry::flush()).await.expect("flushed within its bound");
}

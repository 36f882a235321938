//! The operational endpoints every service gets from `Service`.

use std::time::Duration;

use axum::Router;
use service_runtime::CancellationToken;
use service_runtime::service::Service;
use service_runtime::settings::{BaseSettings, HttpSettings, TopicConfig, TopicSettings};

use crate::helpers::{eventually, kafka_settings, unique};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_is_alive_at_once_ready_once_its_topics_exist_and_exports_metrics() {
    let suffix = unique("svc");
    let settings = BaseSettings {
        http: HttpSettings { host: "127.0.0.1".into(), port: 0, ..HttpSettings::default() },
        kafka: kafka_settings(),
        topics: TopicSettings {
            task_events: TopicConfig { name: format!("task-events-{suffix}"), partitions: 2, retention_ms: 3_600_000 },
            reminders: TopicConfig { name: format!("reminders-{suffix}"), partitions: 1, retention_ms: 3_600_000 },
            ..Default::default()
        },
        ..Default::default()
    };
    let service = Service::build("service-test", settings).await.expect("build");
    let base = format!("http://127.0.0.1:{}", service.port());
    let stop = CancellationToken::new();
    let task = tokio::spawn(service.run_without_consumer(Router::new(), false, stop.clone()));
    let client = reqwest::Client::new();

    let alive = client.get(format!("{base}/healthz")).send().await.expect("healthz");
    assert_eq!(alive.status(), 200);
    eventually(Duration::from_secs(30), "/readyz answers 200", || async {
        client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == 200)
    })
    .await;
    let report: serde_json::Value =
        client.get(format!("{base}/readyz")).send().await.expect("readyz").json().await.expect("json");
    assert_eq!(report["ready"], true);
    assert!(report["checks"].as_array().expect("checks").iter().any(|c| c["name"] == "broker" && c["ok"] == true));
    let metrics = client.get(format!("{base}/metrics")).send().await.expect("metrics");
    assert_eq!(metrics.status(), 200);
    assert!(metrics.headers()["content-type"].to_str().expect("ascii").starts_with("text/plain"));
    let text = metrics.text().await.expect("body");
    assert!(text.contains("taskstream_build_info{service=\"service-test\""), "{text}");

    stop.cancel();
    tokio::time::timeout(Duration::from_secs(15), task).await.expect("stops").expect("no panic").expect("clean");
    assert!(client.get(format!("{base}/healthz")).send().await.is_err(), "listener closed after shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_that_may_not_create_topics_is_ready_only_once_someone_else_has() {
    let suffix = unique("managed");
    let task_events = format!("task-events-{suffix}");
    let settings = BaseSettings {
        http: HttpSettings { host: "127.0.0.1".into(), port: 0, ..HttpSettings::default() },
        kafka: kafka_settings(),
        topics: TopicSettings {
            task_events: TopicConfig { name: task_events.clone(), partitions: 2, retention_ms: 3_600_000 },
            reminders: TopicConfig { name: format!("reminders-{suffix}"), partitions: 1, retention_ms: 3_600_000 },
            create_missing: false,
            ..Default::default()
        },
        ..Default::default()
    };
    let service = Service::build("managed-topics-test", settings).await.expect("build");
    let health = service.health.clone();
    let stop = CancellationToken::new();
    let task = tokio::spawn(service.run_without_consumer(Router::new(), false, stop.clone()));

    eventually(Duration::from_secs(30), "not ready, naming the missing topics", || async {
        let report = health.readiness().await;
        !report.ready
            && report
                .checks
                .iter()
                .any(|c| c.name == "topics" && c.detail.as_deref().is_some_and(|d| d.contains(&task_events)))
    })
    .await;
    crate::helpers::create_topic(&task_events, 2).await;
    crate::helpers::create_topic(&format!("reminders-{suffix}"), 1).await;
    eventually(Duration::from_secs(60), "ready once the operator created the topics", || async {
        health.readiness().await.ready
    })
    .await;
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(15), task).await.expect("stops").expect("no panic").expect("clean");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consuming_service_creates_its_topics_and_dead_letter_topic_then_handles_messages() {
    use crate::helpers::{RecordingHandler, consumer_settings, payload, produce, producer, read_topic};

    let suffix = unique("consuming");
    let task_events = format!("task-events-{suffix}");
    let group = format!("group-{suffix}");
    let settings = BaseSettings {
        http: HttpSettings { host: "127.0.0.1".into(), port: 0, ..HttpSettings::default() },
        kafka: kafka_settings(),
        consumer: consumer_settings(&group),
        topics: TopicSettings {
            task_events: TopicConfig { name: task_events.clone(), partitions: 2, retention_ms: 3_600_000 },
            reminders: TopicConfig { name: format!("reminders-{suffix}"), partitions: 1, retention_ms: 3_600_000 },
            ..Default::default()
        },
        ..Default::default()
    };
    let service = Service::build("consuming-test", settings).await.expect("build");
    let health = service.health.clone();
    let handler = RecordingHandler::default();
    let stop = CancellationToken::new();
    let task =
        tokio::spawn(service.run_consumer(Router::new(), handler.clone(), vec![task_events.clone()], stop.clone()));
    eventually(Duration::from_secs(30), "ready: topics created", || async { health.readiness().await.ready }).await;

    let producer = producer();
    produce(&producer, &task_events, "k", &payload("k", 0), vec![]).await;
    produce(&producer, &task_events, "k", b"not json", vec![]).await;
    eventually(Duration::from_secs(30), "the good message is handled", || async { handler.seen.len() == 1 }).await;
    let dead = read_topic(&format!("{group}.dlq"), 1).await;
    assert_eq!(rdkafka::Message::payload(&dead[0]), Some(b"not json".as_slice()), "the bad one is dead-lettered");

    stop.cancel();
    tokio::time::timeout(Duration::from_secs(15), task).await.expect("stops").expect("no panic").expect("clean");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skeleton_service_creates_its_topics_with_its_dead_letter_topic_and_serves_the_ops_endpoints() {
    use service_runtime::skeleton::Skeleton;
    use service_runtime::testing::Running;

    let suffix = unique("skeleton");
    let settings = crate::helpers::service_settings(&suffix);
    let topics = vec![
        settings.topics.task_events.name.clone(),
        settings.topics.reminders.name.clone(),
        settings.consumer.dead_letter_topic(),
    ];
    let skeleton = Skeleton::build("skeleton-test", settings).await.expect("build");
    let running = Running::spawn(skeleton.port(), |stop| skeleton.run_until_stopped(stop));

    running.ready(Duration::from_secs(30)).await;

    let missing = crate::helpers::producer().missing_topics(&topics, Duration::from_secs(10)).await.expect("metadata");
    assert!(missing.is_empty(), "topics missing: {missing:?}");
    let metrics = crate::helpers::metrics_text(&reqwest::Client::new(), &running.base_url()).await;
    assert!(metrics.contains("taskstream_build_info{service=\"skeleton-test\""), "{metrics}");
    running.shutdown().await;
}

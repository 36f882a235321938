//! Topic creation at start-up.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use service_runtime::kafka::{self, service_topics};
use service_runtime::settings::{TopicConfig, TopicSettings};

use crate::helpers::*;

#[tokio::test]
async fn missing_topics_are_created_with_the_configured_partitions_and_retention() {
    let suffix = unique("t");
    let settings = TopicSettings {
        task_events: TopicConfig { name: format!("task-events-{suffix}"), partitions: 6, retention_ms: 604_800_000 },
        reminders: TopicConfig { name: format!("reminders-{suffix}"), partitions: 3, retention_ms: 604_800_000 },
        ..Default::default()
    };
    let dead_letters = format!("audit-{suffix}.dlq");
    let plans = service_topics(&settings, Some(&dead_letters));

    kafka::ensure_topics(&kafka_settings(), &plans, Duration::from_secs(10)).await.expect("created");
    // A second start-up finds them and succeeds without changing anything.
    kafka::ensure_topics(&kafka_settings(), &plans, Duration::from_secs(10)).await.expect("idempotent");

    let names: Vec<String> = plans.iter().map(|p| p.name.clone()).collect();
    let counts = tokio::task::spawn_blocking(move || {
        let client: BaseConsumer =
            kafka::client_config(&kafka_settings(), "t").expect("config").create().expect("client");
        names
            .iter()
            .map(|name| {
                let metadata = client.fetch_metadata(Some(name), Duration::from_secs(5)).expect("metadata");
                (name.clone(), metadata.topics()[0].partitions().len())
            })
            .collect::<Vec<_>>()
    })
    .await
    .expect("thread");
    assert_eq!(counts[0].1, 6, "{counts:?}");
    assert_eq!(counts[1].1, 3, "{counts:?}");
    assert_eq!(counts[2].1, 1, "{counts:?}");

    let admin: AdminClient<DefaultClientContext> =
        kafka::client_config(&kafka_settings(), "t").expect("config").create().expect("admin");
    let described = admin
        .describe_configs(&[ResourceSpecifier::Topic(&dead_letters)], &AdminOptions::new())
        .await
        .expect("describe");
    let config = described[0].as_ref().expect("topic config");
    let retention = config.get("retention.ms").and_then(|e| e.value.clone());
    assert_eq!(retention.as_deref(), Some("2592000000"), "dead letters kept 30 days");
}

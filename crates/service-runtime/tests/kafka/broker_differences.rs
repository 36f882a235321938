//! Where the local broker (nisshi 0.8.1) behaves differently from Apache Kafka in ways that
//! matter to taskstream. Each test pins one difference described in docs/local-broker.md, so a
//! broker upgrade that changes it fails here and the document gets updated.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use service_runtime::health::Health;
use service_runtime::kafka::{self, OutboundRecord, Producer};
use service_runtime::settings::ProducerSettings;

use crate::helpers::{kafka_settings, unique};

fn partitions(topic: &str) -> Result<usize, String> {
    let consumer: BaseConsumer = kafka::client_config(&kafka_settings(), "difference-test")
        .expect("config")
        // A consumer's metadata request never asks for auto-creation.
        .set("allow.auto.create.topics", "false")
        .create()
        .expect("client");
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(5)).expect("metadata");
    let t = &metadata.topics()[0];
    match t.error() {
        Some(error) => Err(format!("{error:?}")),
        None => Ok(t.partitions().len()),
    }
}

#[tokio::test]
async fn producing_to_a_missing_topic_creates_it_with_four_partitions_not_the_configured_count() {
    let topic = unique("auto-created");
    let lookup = topic.clone();
    let before = tokio::task::spawn_blocking(move || partitions(&lookup)).await.expect("thread");
    assert!(before.is_err(), "a consumer's metadata request does not create the topic: {before:?}");

    let settings = ProducerSettings { message_timeout_ms: 10_000, ..Default::default() };
    let producer = Producer::new(&kafka_settings(), &settings, "difference-test", Health::new()).expect("producer");
    producer
        .send(OutboundRecord { topic: &topic, key: None, payload: b"x", headers: vec![] })
        .await
        .expect("Apache Kafka with auto.create.topics.enable=false would refuse this record");

    let after = tokio::task::spawn_blocking(move || partitions(&topic)).await.expect("thread");
    assert_eq!(after, Ok(4), "nisshi auto-creates with 4 partitions (Apache Kafka: num.partitions, default 1)");
}

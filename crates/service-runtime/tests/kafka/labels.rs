//! Metric labels stay bounded whatever producers write: an event type the contract does not
//! know is labelled `unknown`, never by its wire value.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use axum::Router;
use service_runtime::service::Service;
use service_runtime::settings::ConsumerSettings;
use service_runtime::testing::Running;

use crate::helpers::{RecordingHandler, eventually, metrics_text, produce, producer, service_settings, unique};

/// The series of `/metrics` that carry `group="<group>"`, by metric family (a histogram's
/// `_bucket`, `_sum` and `_count` lines are one series per label set, `le` aside).
fn series_of_group(metrics: &str, group: &str) -> BTreeMap<String, BTreeSet<String>> {
    let marker = format!("group=\"{group}\"");
    let mut families: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in metrics.lines().filter(|l| !l.starts_with('#') && l.contains(&marker)) {
        let Some((name, rest)) = line.split_once('{') else { continue };
        let Some((labels, _)) = rest.rsplit_once('}') else { continue };
        let family = ["_bucket", "_sum", "_count"].iter().fold(name, |n, suffix| n.strip_suffix(suffix).unwrap_or(n));
        let labels: Vec<&str> = labels.split(',').filter(|l| !l.starts_with("le=")).collect();
        families.entry(family.to_owned()).or_default().insert(labels.join(","));
    }
    families
}

fn event(event_type: &str, key: &str, seq: usize) -> Vec<u8> {
    serde_json::json!({ "type": event_type, "key": key, "seq": seq }).to_string().into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_unknown_event_types_add_at_most_one_series_per_metric() {
    let suffix = unique("labels");
    let mut settings = service_settings(&suffix);
    // One partition: per-partition series (lag) add at most one series too, whenever the
    // statistics first arrive.
    settings.topics.task_events.partitions = 1;
    // Backpressure is not under test here: the default buffer, not the helpers' tiny one.
    settings.consumer.partition_buffer_bytes = ConsumerSettings::default().partition_buffer_bytes;
    let (group, topic) = (settings.consumer.group_id.clone(), settings.topics.task_events.name.clone());
    let service = Service::build("labels-test", settings).await.expect("build");
    let handler = RecordingHandler::default();
    let (seen, topics) = (handler.seen.clone(), vec![topic.clone()]);
    let running = Running::spawn(service.port(), |stop| service.run_consumer(Router::new(), handler, topics, stop));
    let (client, base) = (reqwest::Client::new(), running.base_url());
    running.ready(Duration::from_secs(30)).await;
    let producer = producer();
    produce(&producer, &topic, "known", &event("task.created", "known", 0), vec![]).await;
    eventually(Duration::from_secs(30), "the known event is handled", || async { seen.len() == 1 }).await;
    let before = series_of_group(&metrics_text(&client, &base).await, &group);
    assert!(
        before.values().any(|series| series.iter().any(|s| s.contains("event_type=\"task.created\""))),
        "known types are labelled by name: {before:?}"
    );

    let long_type = "x".repeat(5_000);
    let sends = (0..1_000).map(|i| {
        let (producer, topic) = (producer.clone(), topic.clone());
        let event_type = if i == 0 { long_type.clone() } else { format!("unknown.type.{i}") };
        async move { produce(&producer, &topic, &format!("k{i}"), &event(&event_type, "k", i), vec![]).await }
    });
    futures::future::join_all(sends).await;
    eventually(Duration::from_secs(60), "the 1,000 unknown events are handled", || async { seen.len() == 1_001 }).await;

    let metrics = metrics_text(&client, &base).await;
    let after = series_of_group(&metrics, &group);
    for (family, series) in &after {
        let had = before.get(family).map_or(0, BTreeSet::len);
        assert!(series.len() <= had + 1, "{family} grew from {had} to {} series: {series:?}", series.len());
    }
    assert!(!metrics.contains("unknown.type.") && !metrics.contains(&long_type), "no wire type became a label");
    assert!(
        after.values().any(|series| series.iter().any(|s| s.contains("event_type=\"unknown\""))),
        "the unknown events are counted under `unknown`: {after:?}"
    );
    running.shutdown().await;
}

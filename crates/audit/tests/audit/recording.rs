//! Every event recorded once, in order, with its changes; replays and bad records.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _};
use rdkafka::{Offset, TopicPartitionList};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

fn types(history: &Value) -> Vec<String> {
    history["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["type"].as_str().expect("type").to_owned())
        .collect()
}

fn change<'a>(entry: &'a Value, field: &str) -> &'a Value {
    entry["changes"].as_array().expect("changes").iter().find(|c| c["field"] == field).expect("change of the field")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_lifecycle_made_through_task_api_is_recorded_once_each_in_order_with_before_and_after() {
    let topics = Topics::new();
    let audit = spawn_audit(&topics, &fresh_database().await, &unique("audit")).await;
    let api = spawn_task_api(&topics).await;

    let task = api.call(Method::POST, "/v1/tasks", "alice", Some(json!({"title": "Pay rent"})), 201).await;
    let id = task["id"].as_str().expect("id").to_owned();
    let path = format!("/v1/tasks/{id}");
    api.call(Method::PATCH, &path, "alice", Some(json!({"title": "Pay the rent", "priority": "high"})), 200).await;
    api.call(Method::POST, &format!("{path}/complete"), "alice", None, 200).await;
    api.call(Method::POST, &format!("{path}/reopen"), "alice", None, 200).await;
    api.call(Method::DELETE, &path, "alice", None, 204).await;

    let history_path = format!("/v1/audit/tasks/{id}");
    eventually("the five events recorded", || async {
        let response = audit.get(&history_path, &token("alice")).send().await.expect("send");
        response.status() == 200 && types(&response.json().await.expect("json")).len() >= 5
    })
    .await;
    let history = audit.json(&history_path, &token("alice")).await;
    assert_eq!(types(&history), ["task.created", "task.updated", "task.completed", "task.reopened", "task.deleted"]);
    let entries = history["entries"].as_array().expect("entries");
    assert_eq!(entries[0]["payload"]["task"]["title"], "Pay rent");
    assert_eq!(entries[0]["changes"], Value::Null, "a creation carries the whole task instead");
    assert_eq!(change(&entries[1], "title")["before"], "Pay rent");
    assert_eq!(change(&entries[1], "title")["after"], "Pay the rent");
    assert_eq!(change(&entries[1], "priority")["after"], "high");
    assert_eq!(
        (&change(&entries[2], "status")["before"], &change(&entries[2], "status")["after"]),
        (&json!("open"), &json!("completed"))
    );
    assert_eq!(
        (&change(&entries[3], "status")["before"], &change(&entries[3], "status")["after"]),
        (&json!("completed"), &json!("open"))
    );
    for entry in entries {
        assert_eq!(
            (entry["user_id"].as_str(), entry["actor"].as_str(), entry["task_id"].as_str()),
            (Some("alice"), Some("alice"), Some(id.as_str()))
        );
        assert_eq!(entry["source"]["topic"], topics.task_events.as_str());
    }
    let seqs: Vec<i64> = entries.iter().map(|e| e["chain"]["seq"].as_i64().expect("seq")).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5], "one chain link each, in order");
    assert_eq!(audit.rows().await, 5, "once each");

    api.shutdown().await;
    audit.shutdown().await;
}

/// A consumer of `group` that never joins it (it only reads and commits offsets), and the
/// partitions of `topics` (with `offset` when given).
fn group_client(group: &str, topics: &Topics, offset: Option<Offset>) -> (BaseConsumer, TopicPartitionList) {
    let consumer: BaseConsumer = service_runtime::kafka::client_config(&kafka(), "offset-tool")
        .expect("config")
        .set("group.id", group)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for (topic, partitions) in [(&topics.task_events, 3), (&topics.reminders, 1)] {
        for partition in 0..partitions {
            match offset {
                Some(offset) => tpl.add_partition_offset(topic, partition, offset).expect("offset"),
                None => drop(tpl.add_partition(topic, partition)),
            }
        }
    }
    (consumer, tpl)
}

/// Commits offset 0 for every partition of `topics` in `group` (the group must have no
/// members), as `kafka-consumer-groups --reset-offsets --to-earliest` does.
async fn reset_offsets_to_beginning(group: &str, topics: &Topics) {
    let (group, topics) = (group.to_owned(), topics.clone());
    tokio::task::spawn_blocking(move || {
        let (consumer, tpl) = group_client(&group, &topics, Some(Offset::Offset(0)));
        consumer.commit(&tpl, CommitMode::Sync).expect("commit offsets");
    })
    .await
    .expect("reset thread");
}

/// The group's committed offsets for `topics`, summed.
pub(crate) async fn committed_total(group: &str, topics: &Topics) -> i64 {
    let (group, topics) = (group.to_owned(), topics.clone());
    tokio::task::spawn_blocking(move || {
        let (consumer, tpl) = group_client(&group, &topics, None);
        let committed = consumer.committed_offsets(tpl, Duration::from_secs(10)).expect("committed offsets");
        committed.elements().iter().map(|e| e.offset().to_raw().unwrap_or(0).max(0)).sum()
    })
    .await
    .expect("offset thread")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resetting_the_groups_offsets_to_the_beginning_and_replaying_adds_no_rows() {
    let topics = Topics::new();
    let database = fresh_database().await;
    let group = unique("audit");
    let audit = spawn_audit(&topics, &database, &group).await;
    let producer = producer();
    let tasks: Vec<uuid::Uuid> = (0..20).map(|_| uuid::Uuid::now_v7()).collect();
    for task in &tasks {
        for user in ["alice", "bob"] {
            produce(&producer, &topics.reminders, &task.to_string(), &reminder_sent(user, *task)).await;
        }
    }
    eventually("the 40 events recorded", || async { audit.rows().await == 40 }).await;
    eventually("their offsets committed", || async { committed_total(&group, &topics).await == 40 }).await;
    audit.shutdown().await;

    reset_offsets_to_beginning(&group, &topics).await;
    assert_eq!(committed_total(&group, &topics).await, 0, "offsets reset");
    let audit = spawn_audit(&topics, &database, &group).await;
    eventually("the replay consumed everything again", || async { committed_total(&group, &topics).await == 40 }).await;

    assert_eq!(audit.rows().await, 40, "the replay added no rows");
    let metrics =
        audit.client.get(format!("{}/metrics", audit.base)).send().await.expect("send").text().await.expect("text");
    let skipped: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("taskstream_audit_duplicates_skipped_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("the duplicates metric");
    assert!(skipped >= 40.0, "the 40 replayed events were counted as duplicates: {skipped}");
    let report = audit.json("/v1/audit/verify", &admin_token("root")).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["entries_checked"], 40);
    audit.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_message_lands_on_the_dead_letter_topic_and_later_events_are_recorded() {
    let topics = Topics::new();
    let group = unique("audit");
    let audit = spawn_audit(&topics, &fresh_database().await, &group).await;
    let producer = producer();
    let task = uuid::Uuid::now_v7();
    produce(&producer, &topics.reminders, &task.to_string(), &reminder_sent("alice", task)).await;
    produce(&producer, &topics.reminders, &task.to_string(), b"{\"specversion\": \"1.0\", this is not json").await;
    for _ in 0..3 {
        produce(&producer, &topics.reminders, &task.to_string(), &reminder_sent("alice", task)).await;
    }

    eventually("the four good events recorded", || async { audit.rows().await == 4 }).await;
    let dead_letter_topic = format!("{group}.dlq");
    let letters = tokio::task::spawn_blocking(move || {
        service_runtime::testing::read_records(&kafka(), &dead_letter_topic, 1, Duration::from_secs(30))
            .expect("dead letter")
    })
    .await
    .expect("reader");
    use rdkafka::Message as _;
    use rdkafka::message::Headers as _;
    let letter = &letters[0];
    assert_eq!(letter.payload(), Some(b"{\"specversion\": \"1.0\", this is not json".as_slice()));
    let error = letter
        .headers()
        .and_then(|h| {
            h.iter().find(|h| h.key == event_schema::topics::dead_letter_headers::ERROR).and_then(|h| h.value)
        })
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .expect("error header");
    assert!(error.contains("not a CloudEvents JSON envelope"), "{error}");
    let history = audit.json(&format!("/v1/audit/tasks/{task}"), &token("alice")).await;
    assert_eq!(history["entries"].as_array().map(Vec::len), Some(4));
    audit.shutdown().await;
}

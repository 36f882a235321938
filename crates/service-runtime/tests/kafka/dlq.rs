//! `dlq list` and `dlq replay` against dead letters the consumer runtime really wrote.

use std::time::Duration;

use event_schema::topics::dead_letter_headers as h;
use rdkafka::Message;
use service_runtime::dlq::{self, REPLAYED_FROM, command};
use service_runtime::settings::BaseSettings;

use crate::helpers::*;

const WAIT: Duration = Duration::from_secs(60);

/// A topic with two good and two unparseable records (offsets 1 and 3), consumed until both bad
/// ones are dead-lettered.
async fn two_dead_letters() -> (String, String) {
    let (topic, group) = topic_with_dead_letters(1).await;
    let producer = producer();
    produce(&producer, &topic, "k", &payload("k", 0), vec![]).await;
    produce(&producer, &topic, "k", b"{first bad", vec![("trace", Some(b"t-1".as_slice()))]).await;
    produce(&producer, &topic, "k", &payload("k", 1), vec![]).await;
    produce(&producer, &topic, "k", b"{second bad", vec![]).await;
    let handler = RecordingHandler::default();
    let running = start(&topic, &consumer_settings(&group), handler.clone());
    eventually(WAIT, "both bad records dead-lettered", || async { record_count(&format!("{group}.dlq")).await == 2 })
        .await;
    running.shutdown().await;
    (topic, group)
}

fn settings_for(group: &str) -> BaseSettings {
    BaseSettings { kafka: kafka_settings(), consumer: consumer_settings(group), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_in_order_with_their_reason_and_origin() {
    let (topic, group) = two_dead_letters().await;

    let letters = dlq::read_all(&kafka_settings(), "dlq-test", &format!("{group}.dlq"), WAIT).await.expect("read");

    assert_eq!(letters.len(), 2);
    assert_eq!(letters.iter().map(|l| l.offset).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(letters[0].value.as_deref(), Some(b"{first bad".as_slice()));
    assert_eq!(letters[0].original_topic().as_deref(), Some(topic.as_str()));
    assert_eq!((letters[0].original_partition(), letters[0].original_offset()), (Some(0), Some(1)));
    assert_eq!(letters[1].original_offset(), Some(3));
    assert!(letters.iter().all(|l| l.reason().is_some_and(|r| r.contains("key must be a string"))));
    assert!(letters.iter().all(|l| l.failed_at().is_some() && l.attempts() == Some(1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_replays_nothing_and_a_replay_puts_the_record_back_with_where_it_came_from() {
    let (topic, group) = two_dead_letters().await;
    let settings = settings_for(&group);
    let args = |line: &str| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>();

    let dry = command::run("dlq-test", &settings, &args("replay --offset 0:0 --dry-run")).await.expect("dry run");
    assert!(dry);
    assert_eq!(record_count(&topic).await, 4, "a dry run produces nothing");

    let replayed = command::run("dlq-test", &settings, &args("replay --offset 0:0")).await.expect("replay");
    assert!(replayed);
    let records = read_topic(&topic, 5).await;
    let back = &records[4];
    assert_eq!(back.payload(), Some(b"{first bad".as_slice()), "the original value");
    assert_eq!(back.key(), Some(b"k".as_slice()), "the original key");
    assert_eq!(header(back, "trace").as_deref(), Some("t-1"), "the original headers");
    assert_eq!(header(back, REPLAYED_FROM), Some(format!("{group}.dlq/0/0")));
    assert_eq!(header(back, h::ERROR), None, "no dlq.* header of the dead letter");
    assert_eq!(record_count(&topic).await, 5, "only the chosen one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_record_that_fails_again_is_dead_lettered_again_and_not_replayed_by_itself() {
    let (topic, group) = two_dead_letters().await;
    let settings = settings_for(&group);
    let args: Vec<String> = ["replay", "--all", "--reason", "key must be"].map(str::to_owned).to_vec();
    assert!(command::run("dlq-test", &settings, &args).await.expect("replay"));
    assert_eq!(record_count(&topic).await, 6);

    // The group resumes after its committed offsets: it reads only the two replayed records.
    let handler = RecordingHandler::default();
    let running = start(&topic, &consumer_settings(&group), handler.clone());
    eventually(WAIT, "the replayed records dead-lettered again", || async {
        record_count(&format!("{group}.dlq")).await == 4
    })
    .await;
    running.shutdown().await;

    let letters = dlq::read_all(&kafka_settings(), "dlq-test", &format!("{group}.dlq"), WAIT).await.expect("read");
    let again: Vec<_> = letters.iter().filter(|l| l.offset >= 2).collect();
    assert_eq!(again.len(), 2);
    assert_eq!(again[0].header(REPLAYED_FROM), Some(format!("{group}.dlq/0/0")), "it says where it came from");
    assert_eq!(again[0].original_offset(), Some(4), "dead-lettered from its new offset");
    assert_eq!(record_count(&topic).await, 6, "nothing put it back on the topic again");
}

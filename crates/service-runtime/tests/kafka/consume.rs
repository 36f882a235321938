//! The consumer runtime's delivery guarantees, against the real broker.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use event_schema::topics::dead_letter_headers as dlq;
use rdkafka::Message;

use crate::helpers::*;

const WAIT: Duration = Duration::from_secs(60);

/// Asserts that, per key, first handlings happened in increasing `seq` order.
fn assert_per_key_order(seen: &[Record]) {
    let mut last: HashMap<&str, usize> = HashMap::new();
    let mut handled: HashSet<(&str, usize)> = HashSet::new();
    for (key, seq, _, _) in seen {
        if !handled.insert((key.as_str(), *seq)) {
            continue; // a redelivery of something already handled
        }
        if let Some(previous) = last.insert(key.as_str(), *seq) {
            assert!(*seq > previous, "key {key}: seq {seq} handled after {previous}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_messages_over_three_partitions_are_each_handled_in_per_key_order() {
    let (topic, group) = topic_with_dead_letters(3).await;
    produce_keyed(&producer(), &topic, 20, 50).await;

    let handler = RecordingHandler::default();
    let running = start(&topic, &consumer_settings(&group), handler.clone());
    eventually(WAIT, "1,000 distinct messages handled", || async { handler.seen.distinct().len() == 1000 }).await;
    running.shutdown().await;

    let seen = handler.seen.snapshot();
    assert_eq!(seen.len(), 1000, "a single member without failures handles each message exactly once");
    assert_per_key_order(&seen);
    let partitions: HashSet<i32> = seen.iter().map(|(_, _, p, _)| *p).collect();
    assert_eq!(partitions.len(), 3, "keys spread over all partitions");
    assert_eq!(record_count(&format!("{group}.dlq")).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_failure_is_retried_in_place_without_dead_lettering_or_overtaking() {
    let (topic, group) = topic_with_dead_letters(1).await;
    let producer = producer();
    for seq in 0..20 {
        produce(&producer, &topic, "only-key", &payload("only-key", seq), vec![]).await;
    }
    let handler = RecordingHandler::failing_transiently("only-key", 5, 3);
    let running = start(&topic, &consumer_settings(&group), handler.clone());
    eventually(WAIT, "all 20 handled", || async { handler.seen.distinct().len() == 20 }).await;
    running.shutdown().await;

    let order: Vec<usize> = handler.seen.snapshot().iter().map(|(_, s, _, _)| *s).collect();
    assert_eq!(order, (0..20).collect::<Vec<_>>(), "message 5 was handled before every later message");
    assert_eq!(
        handler.transient_failures.lock().expect("lock")[&("only-key".to_owned(), 5)],
        0,
        "failed 3 times first"
    );
    assert_eq!(record_count(&format!("{group}.dlq")).await, 0, "nothing dead-lettered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unparseable_message_is_dead_lettered_with_its_reason_and_the_rest_are_handled() {
    let (topic, group) = topic_with_dead_letters(1).await;
    let producer = producer();
    for seq in 0..5 {
        produce(&producer, &topic, "k", &payload("k", seq), vec![]).await;
    }
    produce(&producer, &topic, "k", b"{this is not json", vec![("trace", Some(b"abc".as_slice()))]).await;
    for seq in 5..10 {
        produce(&producer, &topic, "k", &payload("k", seq), vec![]).await;
    }

    let handler = RecordingHandler::default();
    let running = start(&topic, &consumer_settings(&group), handler.clone());
    eventually(WAIT, "the 10 good messages handled", || async { handler.seen.distinct().len() == 10 }).await;
    running.shutdown().await;

    let order: Vec<usize> = handler.seen.snapshot().iter().map(|(_, s, _, _)| *s).collect();
    assert_eq!(order, (0..10).collect::<Vec<_>>());
    let dead = read_topic(&format!("{group}.dlq"), 1).await;
    let letter = &dead[0];
    assert_eq!(letter.payload(), Some(b"{this is not json".as_slice()), "original value kept");
    assert_eq!(letter.key(), Some(b"k".as_slice()), "original key kept");
    assert_eq!(header(letter, "trace").as_deref(), Some("abc"), "original headers kept");
    assert!(
        header(letter, dlq::ERROR).is_some_and(|e| e.contains("key must be a string")),
        "{:?}",
        header(letter, dlq::ERROR)
    );
    assert_eq!(header(letter, dlq::ERROR_KIND).as_deref(), Some("permanent"));
    assert_eq!(header(letter, dlq::ORIGINAL_TOPIC).as_deref(), Some(topic.as_str()));
    assert_eq!(header(letter, dlq::ORIGINAL_PARTITION).as_deref(), Some("0"));
    assert_eq!(header(letter, dlq::ORIGINAL_OFFSET).as_deref(), Some("5"));
    assert_eq!(header(letter, dlq::GROUP).as_deref(), Some(group.as_str()));
    assert_eq!(header(letter, dlq::ATTEMPTS).as_deref(), Some("1"));
    assert!(header(letter, dlq::FAILED_AT).is_some());
    assert_eq!(record_count(&format!("{group}.dlq")).await, 1, "dead-lettered once");
}

/// The dead letter of a record near the size limit adds headers that push it over: it is
/// dead-lettered with the first part of its value (marked `dlq.truncated`) instead of being
/// retried for ever, and the records after it on the same partition are handled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_near_the_size_limit_is_dead_lettered_truncated_and_the_partition_moves_on() {
    let (topic, group) = topic_with_dead_letters(1).await;
    let producer = producer();
    let mut big = b"{this is not json ".to_vec();
    big.resize(999_800, b'x');
    produce(&producer, &topic, "k", &payload("k", 0), vec![]).await;
    produce(&producer, &topic, "k", &big, vec![("trace", Some(b"abc".as_slice()))]).await;
    for seq in 1..5 {
        produce(&producer, &topic, "k", &payload("k", seq), vec![]).await;
    }

    let handler = RecordingHandler::default();
    let running = start(&topic, &consumer_settings(&group), handler.clone());
    eventually(WAIT, "the 5 good messages handled", || async { handler.seen.distinct().len() == 5 }).await;
    running.shutdown().await;

    let dead = read_topic(&format!("{group}.dlq"), 1).await;
    let letter = &dead[0];
    let value = letter.payload().expect("a value");
    assert!(!value.is_empty() && value.len() < big.len(), "truncated to {} bytes", value.len());
    assert!(big.starts_with(value), "the value is the original's first bytes");
    assert_eq!(header(letter, dlq::TRUNCATED).as_deref(), Some("999800"), "marked with the original size");
    assert_eq!(header(letter, dlq::ORIGINAL_OFFSET).as_deref(), Some("1"));
    assert_eq!(header(letter, "trace").as_deref(), Some("abc"), "original headers kept");
    assert!(header(letter, dlq::ERROR).is_some());
    assert_eq!(record_count(&format!("{group}.dlq")).await, 1, "dead-lettered once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_restarted_in_the_same_group_handles_the_rest_without_skipping_any() {
    let (topic, group) = topic_with_dead_letters(3).await;
    produce_keyed(&producer(), &topic, 10, 100).await;

    let first = RecordingHandler::default();
    let running = start(&topic, &consumer_settings(&group), first.clone());
    eventually(WAIT, "about half handled", || async { first.seen.len() >= 500 }).await;
    running.shutdown().await;
    let before = first.seen.distinct();
    assert!(before.len() < 1000, "stopped before the end ({} handled)", before.len());

    let second = RecordingHandler::default();
    let running = start(&topic, &consumer_settings(&group), second.clone());
    eventually(WAIT, "every message handled by one of the two", || async {
        before.union(&second.seen.distinct()).count() == 1000
    })
    .await;
    running.shutdown().await;

    let after = second.seen.distinct();
    let twice = before.intersection(&after).count();
    println!("restart: first run handled {}, second {}, seen twice: {twice}", before.len(), after.len());
    assert_per_key_order(&second.seen.snapshot());
    assert!(twice <= 3 * 16, "only in-flight or uncommitted messages may repeat, got {twice}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consumers_in_one_group_split_the_partitions_and_one_takes_over_when_the_other_stops() {
    const KEYS: usize = 16;
    let (topic, group) = topic_with_dead_letters(4).await;
    let producer = producer();
    let batch = |seq: usize| {
        let (producer, topic) = (producer.clone(), topic.clone());
        async move {
            for k in 0..KEYS {
                let key = format!("key-{k}");
                produce(&producer, &topic, &key, &payload(&key, seq), vec![]).await;
            }
        }
    };
    let handled_batch = |h: &RecordingHandler, seq: usize| {
        h.seen.snapshot().into_iter().filter(|(_, s, _, _)| *s == seq).collect::<Vec<_>>()
    };
    let partitions_of = |records: &[Record]| records.iter().map(|r| r.2).collect::<HashSet<i32>>();

    let a = RecordingHandler::default();
    let b = RecordingHandler::default();
    let running_a = start(&topic, &consumer_settings(&group), a.clone());
    let running_b = start(&topic, &consumer_settings(&group), b.clone());

    // Produce batches until both members handle part of the same batch: the group has split.
    let mut seq = 0;
    loop {
        seq += 1;
        batch(seq).await;
        eventually(WAIT, "the batch is handled", || async {
            let handled: HashSet<String> =
                handled_batch(&a, seq).into_iter().chain(handled_batch(&b, seq)).map(|r| r.0).collect();
            handled.len() == KEYS
        })
        .await;
        if !handled_batch(&a, seq).is_empty() && !handled_batch(&b, seq).is_empty() {
            break;
        }
        assert!(seq < 100, "the second member never received partitions");
    }
    let (pa, pb) = (partitions_of(&handled_batch(&a, seq)), partitions_of(&handled_batch(&b, seq)));
    assert!(pa.is_disjoint(&pb), "each partition has one owner: {pa:?} vs {pb:?}");
    assert_eq!(pa.len() + pb.len(), 4, "{KEYS} keys cover all four partitions: {pa:?} + {pb:?}");

    running_a.shutdown().await;
    let takeover = seq + 1;
    batch(takeover).await;
    eventually(WAIT, "the remaining member handles every key after the other stopped", || async {
        handled_batch(&b, takeover).into_iter().map(|r| r.0).collect::<HashSet<_>>().len() == KEYS
    })
    .await;
    let now_b = partitions_of(&handled_batch(&b, takeover));
    assert!(pa.is_subset(&now_b), "the survivor took over {pa:?}, handled {now_b:?}");
    running_b.shutdown().await;
}

/// Fails transiently while the "database" is down.
#[derive(Clone)]
struct OutageHandler {
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    inner: RecordingHandler,
}

impl service_runtime::consumer::Handler for OutageHandler {
    async fn handle(
        &self,
        message: &service_runtime::consumer::InboundMessage,
    ) -> Result<(), service_runtime::consumer::HandlerError> {
        if !self.up.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(service_runtime::consumer::HandlerError::transient(std::io::Error::other("database down")));
        }
        self.inner.handle(message).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_holds_readiness_down_and_loses_nothing_when_it_ends() {
    let (topic, group) = topic_with_dead_letters(1).await;
    let producer = producer();
    for seq in 0..5 {
        produce(&producer, &topic, "k", &payload("k", seq), vec![]).await;
    }
    let handler = OutageHandler { up: Default::default(), inner: RecordingHandler::default() };
    let running = start(&topic, &consumer_settings(&group), handler.clone());

    eventually(WAIT, "readiness reports the stuck partition", || async {
        running
            .health
            .readiness()
            .await
            .checks
            .iter()
            .any(|c| !c.ok && c.detail.as_deref().is_some_and(|d| d.contains("database down")))
    })
    .await;
    assert_eq!(handler.inner.seen.len(), 0, "nothing is skipped while the database is down");

    handler.up.store(true, std::sync::atomic::Ordering::SeqCst);
    eventually(WAIT, "all messages handled after the outage", || async { handler.inner.seen.distinct().len() == 5 })
        .await;
    eventually(WAIT, "ready again", || async { running.health.readiness().await.ready }).await;
    running.shutdown().await;
    assert_eq!(record_count(&format!("{group}.dlq")).await, 0);
}

//! `Handler::handle_batch`: waiting messages are handled together, all or nothing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use service_runtime::consumer::{Handler, HandlerError, InboundMessage};
use service_runtime::settings::ConsumerSettings;

use crate::helpers::*;

const WAIT: Duration = Duration::from_secs(60);

/// Validates a whole batch before recording any of it (as one database transaction would),
/// and can fail its first `transient` batch calls.
#[derive(Clone, Default)]
struct BatchRecorder {
    inner: RecordingHandler,
    batch_sizes: Arc<Mutex<Vec<usize>>>,
    transient: Arc<AtomicUsize>,
}

impl Handler for BatchRecorder {
    async fn handle(&self, message: &InboundMessage) -> Result<(), HandlerError> {
        self.inner.handle(message).await
    }

    async fn handle_batch(&self, messages: &[InboundMessage]) -> Result<(), HandlerError> {
        if self.transient.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1)).is_ok() {
            return Err(HandlerError::transient(std::io::Error::other("database unavailable")));
        }
        for message in messages {
            serde_json::from_slice::<serde_json::Value>(message.payload())
                .map_err(HandlerError::permanent)?
                .get("seq")
                .ok_or_else(|| HandlerError::permanent("no seq"))?;
        }
        for message in messages {
            self.inner.handle(message).await?;
        }
        self.batch_sizes.lock().expect("lock").push(messages.len());
        Ok(())
    }
}

fn batch_settings(group: &str) -> ConsumerSettings {
    // A buffer large enough that the pre-filled partition is never paused.
    ConsumerSettings { max_batch: 50, partition_buffer_bytes: 4 * 1024 * 1024, ..consumer_settings(group) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_messages_are_handled_in_batches_and_a_bad_one_is_dead_lettered_alone() {
    let (topic, group) = topic_with_dead_letters(1).await;
    let producer = producer();
    for seq in 0..100 {
        produce(&producer, &topic, "k", &payload("k", seq), vec![]).await;
    }
    produce(&producer, &topic, "k", b"{not json", vec![]).await;
    for seq in 100..200 {
        produce(&producer, &topic, "k", &payload("k", seq), vec![]).await;
    }

    let handler = BatchRecorder::default();
    let running = start(&topic, &batch_settings(&group), handler.clone());
    eventually(WAIT, "the 200 good messages handled", || async { handler.inner.seen.distinct().len() == 200 }).await;
    eventually(WAIT, "the bad one dead-lettered", || async { record_count(&format!("{group}.dlq")).await == 1 }).await;
    running.shutdown().await;

    let order: Vec<usize> = handler.inner.seen.snapshot().iter().map(|(_, s, _, _)| *s).collect();
    assert_eq!(order, (0..200).collect::<Vec<_>>(), "each handled once, in order");
    let sizes = handler.batch_sizes.lock().expect("lock").clone();
    assert!(sizes.iter().any(|&n| n > 1), "some batches hold several messages: {sizes:?}");
    assert!(sizes.iter().all(|&n| n <= 50), "no batch exceeds max_batch: {sizes:?}");

    // The batches' offsets were committed: a restarted member sees only what came after.
    produce(&producer, &topic, "k", &payload("k", 200), vec![]).await;
    let after = BatchRecorder::default();
    let running = start(&topic, &batch_settings(&group), after.clone());
    eventually(WAIT, "the new message handled", || async { after.inner.seen.len() == 1 }).await;
    running.shutdown().await;
    assert_eq!(after.inner.seen.snapshot()[0].1, 200, "nothing before it was handled again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_batch_failure_retries_the_whole_batch_without_losing_or_repeating_any() {
    let (topic, group) = topic_with_dead_letters(1).await;
    produce_keyed(&producer(), &topic, 1, 120).await;

    let handler = BatchRecorder { transient: Arc::new(AtomicUsize::new(2)), ..Default::default() };
    let running = start(&topic, &batch_settings(&group), handler.clone());
    eventually(WAIT, "the 120 messages handled", || async { handler.inner.seen.distinct().len() == 120 }).await;
    running.shutdown().await;

    let order: Vec<usize> = handler.inner.seen.snapshot().iter().map(|(_, s, _, _)| *s).collect();
    assert_eq!(order, (0..120).collect::<Vec<_>>(), "each handled once, in order");
    assert_eq!(handler.transient.load(Ordering::Acquire), 0, "both failures happened");
    assert_eq!(record_count(&format!("{group}.dlq")).await, 0, "nothing dead-lettered");
}

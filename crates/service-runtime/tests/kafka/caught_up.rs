//! `Handler::caught_up`: a partition is reported only once every record it held has been
//! handled, with the partition's end and the instant of the check.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use service_runtime::consumer::{CaughtUp, Handler, HandlerError, InboundMessage};
use service_runtime::settings::ConsumerSettings;
use tokio::sync::Semaphore;

use crate::helpers::*;

const WAIT: Duration = Duration::from_secs(60);

/// Handles a message only once a permit is available (the test hands them out), and keeps
/// every caught-up report.
#[derive(Clone)]
struct Gated {
    gate: Arc<Semaphore>,
    handled: Arc<Mutex<Vec<i64>>>,
    reports: Arc<Mutex<Vec<CaughtUp>>>,
}

impl Handler for Gated {
    async fn handle(&self, message: &InboundMessage) -> Result<(), HandlerError> {
        self.gate.acquire().await.map_err(HandlerError::transient)?.forget();
        self.handled.lock().expect("lock").push(message.offset);
        Ok(())
    }

    async fn caught_up(&self, report: &CaughtUp) -> Result<(), HandlerError> {
        self.reports.lock().expect("lock").push(report.clone());
        Ok(())
    }
}

impl Gated {
    fn reports_since(&self, since: chrono::DateTime<Utc>) -> Vec<CaughtUp> {
        self.reports.lock().expect("lock").iter().filter(|r| r.checked_at >= since).cloned().collect()
    }
}

fn settings(group: &str) -> ConsumerSettings {
    ConsumerSettings { caught_up_interval_ms: 50, ..consumer_settings(group) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_is_reported_caught_up_only_after_its_last_record_was_handled() {
    let (topic, group) = topic_with_dead_letters(1).await;
    let handler = Gated { gate: Arc::new(Semaphore::new(0)), handled: Arc::default(), reports: Arc::default() };
    let running = start(&topic, &settings(&group), handler.clone());

    // An empty partition is caught up at once.
    let started = Utc::now();
    eventually(WAIT, "the empty partition reported", || async { !handler.reports_since(started).is_empty() }).await;
    assert!(handler.reports_since(started).iter().all(|r| r.end_offset == 0 && r.partition == 0));

    // Three records arrive; the handler may take two of them.
    let producer = producer();
    for seq in 0..3 {
        produce(&producer, &topic, "k", &payload("k", seq), vec![]).await;
    }
    let produced = Utc::now();
    handler.gate.add_permits(2);
    eventually(WAIT, "two records handled", || async { handler.handled.lock().expect("lock").len() == 2 }).await;
    // Several check intervals pass while the third waits: no report claims the partition.
    let waited = Utc::now();
    eventually(WAIT, "checks keep running", || async { Utc::now() - waited > chrono::TimeDelta::milliseconds(500) })
        .await;
    assert_eq!(handler.reports_since(produced), [], "reported caught up with a record unhandled");

    handler.gate.add_permits(1);
    eventually(WAIT, "caught up once the third is handled", || async {
        handler.reports_since(produced).iter().any(|r| r.end_offset == 3)
    })
    .await;
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_member_with_nothing_new_is_caught_up_from_its_committed_offsets() {
    let (topic, group) = topic_with_dead_letters(1).await;
    let producer = producer();
    for seq in 0..2 {
        produce(&producer, &topic, "k", &payload("k", seq), vec![]).await;
    }
    let first = Gated { gate: Arc::new(Semaphore::new(10)), handled: Arc::default(), reports: Arc::default() };
    let running = start(&topic, &settings(&group), first.clone());
    eventually(WAIT, "both handled", || async { first.handled.lock().expect("lock").len() == 2 }).await;
    running.shutdown().await;

    // No record arrives after the restart, so the position stays unknown: the committed
    // offsets (2) show that the end (2) was handled.
    let second = Gated { gate: Arc::new(Semaphore::new(10)), handled: Arc::default(), reports: Arc::default() };
    let started = Utc::now();
    let running = start(&topic, &settings(&group), second.clone());
    eventually(WAIT, "caught up after the restart", || async {
        second.reports_since(started).iter().any(|r| r.end_offset == 2)
    })
    .await;
    assert_eq!(second.handled.lock().expect("lock").len(), 0, "nothing handled twice");
    running.shutdown().await;
}

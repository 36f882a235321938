//! [`Scheduler`]: the supervised job that fires due reminders.
//!
//! It sleeps until the earliest of: the next entry's time, the next lease end (a retry due, or
//! a replica that may have died), `notification.recheck_ms`, or, while reminders are held,
//! `notification.hold_recheck_ms`; the consumer wakes it at once when it changed the schedule
//! or a partition caught up. Each round claims due entries (PostgreSQL: `FOR UPDATE SKIP
//! LOCKED` and a lease, so replicas never claim the same entry) and hands each to the
//! [`Dispatcher`], at most `notification.max_in_flight` at once.
//!
//! The bounded re-check is what lets a replica see entries written by another replica's
//! consumer (its own consumer wakes it in-process) and leases that ended elsewhere; it bounds
//! how late such an entry can fire when its writer died, and costs two indexed queries per
//! interval. See docs/notification.md.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{TimeDelta, Utc};
use service_runtime::CancellationToken;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use crate::dispatch::{Dispatcher, Outcome};
use crate::metrics::{EXPIRED, HELD, RECLAIMED, SCHEDULED};
use crate::settings::SchedulerSettings;
use crate::store::{ClaimParams, EntryState, Store};

/// How often the gauges (scheduled, held) are refreshed.
const GAUGE_INTERVAL: Duration = Duration::from_millis(500);

/// The name of the scheduler's job (in `/readyz` as `job scheduler` while it is down).
pub const JOB: &str = "scheduler";

/// Fires due reminders; one per replica.
#[derive(Debug, Clone)]
pub struct Scheduler {
    store: Store,
    dispatcher: Dispatcher,
    owner: String,
    topic: String,
    settings: SchedulerSettings,
    wake: Arc<Notify>,
}

impl Scheduler {
    /// A scheduler of replica `owner` gated by the progress of `topic` (`reminders`), woken
    /// through `wake`.
    pub fn new(
        store: Store,
        dispatcher: Dispatcher,
        owner: String,
        topic: String,
        settings: SchedulerSettings,
        wake: Arc<Notify>,
    ) -> Self {
        Self { store, dispatcher, owner, topic, settings, wake }
    }

    /// Runs until `stop`; deliveries in flight then finish (each attempt has its timeout). A
    /// database error ends the run, for the job supervisor to restart it with backoff.
    pub async fn run(self, stop: CancellationToken) -> anyhow::Result<()> {
        let permits = Arc::new(Semaphore::new(self.settings.max_in_flight.max(1)));
        let mut running = JoinSet::new();
        let result = self.rounds(&stop, &permits, &mut running).await;
        while let Some(joined) = running.join_next().await {
            if let Err(error) = joined {
                tracing::error!(error = %error, "a delivery task panicked");
            }
        }
        result
    }

    async fn rounds(
        &self,
        stop: &CancellationToken,
        permits: &Arc<Semaphore>,
        running: &mut JoinSet<()>,
    ) -> anyhow::Result<()> {
        let max_lateness = TimeDelta::from_std(self.settings.max_lateness()).unwrap_or(TimeDelta::MAX);
        let mut gauged = None;
        let mut held = 0;
        while !stop.is_cancelled() {
            while let Some(joined) = running.try_join_next() {
                if let Err(error) = joined {
                    tracing::error!(error = %error, "a delivery task panicked");
                }
            }
            let now = Utc::now();
            let free = permits.available_permits();
            let limit = self.settings.claim_batch.min(free as i64);
            let mut full = false;
            if limit > 0 {
                let params = ClaimParams {
                    owner: &self.owner,
                    topic: &self.topic,
                    now,
                    lease: TimeDelta::from_std(self.settings.lease()).unwrap_or(TimeDelta::MAX),
                    max_lateness,
                    late_after: TimeDelta::seconds(self.settings.late_after_seconds as i64),
                    limit,
                };
                let claimed = self.store.claim(&params).await.context("while claiming due reminders")?;
                full = claimed.len() as i64 == limit;
                for claimed in claimed {
                    let entry = claimed.entry;
                    if entry.state == EntryState::Expired {
                        metrics::counter!(EXPIRED).increment(1);
                        tracing::warn!(reminder_id = %entry.reminder_id, fire_at = %entry.fire_at,
                            "reminder expired: due longer ago than notification.max_lateness_seconds");
                        continue;
                    }
                    if entry.attempts > 1 {
                        metrics::counter!(RECLAIMED).increment(1);
                    }
                    let Ok(permit) = permits.clone().try_acquire_owned() else { break };
                    let dispatcher = self.dispatcher.clone();
                    running.spawn(async move {
                        match dispatcher.dispatch(&entry).await {
                            Ok(Outcome::LeaseLost) => tracing::warn!(reminder_id = %entry.reminder_id,
                                "lease lost while delivering: another replica took the reminder over"),
                            Ok(_) => {}
                            // Logged by `dispatch`; the lease ends and the entry is claimed again.
                            Err(_) => {}
                        }
                        drop(permit);
                    });
                }
            }
            if full {
                continue; // more may be due
            }
            // The gauges (and whether anything is held) at most every GAUGE_INTERVAL: counting
            // scans the due or scheduled entries, too much for every round under load.
            if gauged.is_none_or(|at: tokio::time::Instant| at.elapsed() >= GAUGE_INTERVAL) {
                held =
                    self.store.held(&self.topic, now, max_lateness).await.context("while counting held reminders")?;
                metrics::gauge!(HELD).set(held as f64);
                let scheduled = self.store.scheduled_count().await.context("while counting scheduled reminders")?;
                metrics::gauge!(SCHEDULED).set(scheduled as f64);
                gauged = Some(tokio::time::Instant::now());
            }
            let next = self.store.next_wake(now).await.context("while finding the next wake-up")?;
            let mut sleep = Duration::from_millis(self.settings.recheck_ms.max(1));
            if held > 0 {
                sleep = sleep.min(Duration::from_millis(self.settings.hold_recheck_ms.max(1)));
            }
            for at in [next.next_fire, next.next_lease].into_iter().flatten() {
                sleep = sleep.min((at - Utc::now()).to_std().unwrap_or_default());
            }
            let busy = permits.available_permits() == 0;
            tokio::select! {
                biased;
                () = stop.cancelled() => break,
                () = self.wake.notified() => {}
                Some(_) = running.join_next(), if busy => {}
                () = tokio::time::sleep(sleep) => {}
            }
        }
        Ok(())
    }
}

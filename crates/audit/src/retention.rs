//! The retention job: deletes entries older than the window, on a schedule.

use std::time::Duration;

use chrono::Utc;
use serde::Deserialize;
use service_runtime::CancellationToken;
use service_runtime::jobs::Job;

use crate::metrics::{RETENTION_DELETED, RETENTION_RUNS};
use crate::store::{AuditStore, RetentionOutcome};

/// `retention.*`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RetentionSettings {
    /// Entries recorded longer ago than this many days are deleted; 0 keeps them forever.
    pub days: u32,
    /// How often the job runs, in seconds (the first run is at start-up).
    pub interval_seconds: u64,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self { days: 90, interval_seconds: 3600 }
    }
}

/// One run: deletes what was recorded before `now - days`, logs and counts it.
pub async fn run_once(store: &AuditStore, days: u32) -> Result<RetentionOutcome, sqlx::Error> {
    // A window longer than the calendar reaches deletes nothing.
    let Some(cutoff) = Utc::now().checked_sub_signed(chrono::Duration::days(i64::from(days))) else {
        tracing::warn!(days, "retention window reaches before the earliest representable instant; nothing to delete");
        return Ok(RetentionOutcome::default());
    };
    match store.delete_recorded_before(cutoff).await {
        Ok(outcome) => {
            metrics::counter!(RETENTION_RUNS, "outcome" => "ok").increment(1);
            metrics::counter!(RETENTION_DELETED).increment(outcome.deleted);
            tracing::info!(%cutoff, deleted = outcome.deleted, chains = outcome.chains, "retention run finished");
            Ok(outcome)
        }
        Err(error) => {
            metrics::counter!(RETENTION_RUNS, "outcome" => "error").increment(1);
            tracing::error!(error = ?error, %cutoff, "retention run failed; the next run retries");
            Err(error)
        }
    }
}

/// The name of the retention job (in `/readyz` as `job retention` while it is down).
pub const JOB: &str = "retention";

/// The retention job, supervised by the service (restarted if it panics); `None` when `days`
/// is 0 (entries are kept forever).
pub fn job(store: AuditStore, settings: RetentionSettings) -> Option<Job> {
    (settings.days > 0).then(|| {
        Job::new(JOB, move |stop| {
            let (store, settings) = (store.clone(), settings.clone());
            async move {
                run(store, settings, stop).await;
                Ok(())
            }
        })
    })
}

/// Runs every `interval_seconds` (the first run at once) until `shutdown`. A failed run is
/// logged and counted, and the next tick retries: it does not stop the job.
pub async fn run(store: AuditStore, settings: RetentionSettings, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(settings.interval_seconds.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        // Errors are logged and counted in run_once; the next tick retries.
        let _ = run_once(&store, settings.days).await;
    }
}
